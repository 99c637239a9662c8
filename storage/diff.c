#include "diff.h"
#include "macro.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define OPAQUE_XATTR "trusted.overlay.opaque"

void cb_changes_release(struct cb_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].path);
	free(c->v);
	*c = (struct cb_changes){0};
}

bool cb_diff_is_whiteout(mode_t mode, dev_t rdev)
{
	return S_ISCHR(mode) && major(rdev) == 0 && minor(rdev) == 0;
}

int cb_diff_whiteout_name(const char *dir, const char *name, char *out, size_t size)
{
	int n = snprintf(out, size, "%s%s.wh.%s", dir, dir[0] ? "/" : "", name ? name : ".wh..opq");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

char cb_diff_classify(const struct cb_diff_facts *f)
{
	if (f->upper_whiteout)
		return f->in_lower ? CB_CHANGE_DELETED : CB_CHANGE_NONE;
	if (!f->in_lower)
		return CB_CHANGE_ADDED;
	if (!f->upper_dir || !f->lower_dir)
		return CB_CHANGE_CHANGED;
	if (f->upper_opaque || f->attrs_differ || f->child_added_or_deleted)
		return CB_CHANGE_CHANGED;
	return CB_CHANGE_NONE;
}

static bool fd_is_opaque(int fd)
{
	char v[4];
	ssize_t n = fgetxattr(fd, OPAQUE_XATTR, v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

/* Look path (relative, "a/b/c") up in the image's view: the lower layers
 * top first, honouring whiteouts, opaque dirs and non-directories that
 * hide what is below them. Never follows a symlink. */
static bool lower_lookup(const int *lower, size_t n, const char *path, struct stat *ret)
{
	for (size_t l = 0; l < n; l++) {
		int cur = lower[l];
		_cleanup_close_ int owned = -1;
		bool opaque_above = false;
		const char *p = path;
		for (;;) {
			const char *slash = strchr(p, '/');
			char comp[NAME_MAX + 1];
			size_t len = slash ? (size_t)(slash - p) : strlen(p);
			if (len > NAME_MAX)
				return false;
			memcpy(comp, p, len);
			comp[len] = '\0';
			struct stat st;
			if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
				break; /* not in this layer */
			if (cb_diff_is_whiteout(st.st_mode, st.st_rdev))
				return false;
			if (!slash) {
				*ret = st;
				return true;
			}
			if (!S_ISDIR(st.st_mode))
				return false; /* a file here hides the lower tree */
			int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0)
				return false;
			closep(&owned);
			owned = cur = next;
			if (fd_is_opaque(cur))
				opaque_above = true;
			p = slash + 1;
		}
		if (opaque_above)
			return false;
	}
	return false;
}

struct name_list {
	char **v;
	size_t n, cap;
};

static void name_list_release(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct name_list){0};
}

static int name_list_add(struct name_list *l, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		char **v = realloc(l->v, cap * sizeof(char *));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	return (l->v[l->n++] = strdup(name)) ? 0 : -ENOMEM;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory fd, sorted. */
static int list_dir(int fd, struct name_list *ret)
{
	int dup = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(dup);
	if (!d) {
		close(dup);
		return -errno;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (name_list_add(ret, de->d_name) < 0)
			return -ENOMEM;
	}
	if (ret->n > 1)
		if (ret->n > 1)
			qsort(ret->v, ret->n, sizeof(char *), cmp_strp);
	return 0;
}

static bool name_list_has(const struct name_list *l, const char *name)
{
	return l->n > 0 && bsearch(&name, l->v, l->n, sizeof(char *), cmp_strp) != NULL;
}

/* The names the image's view has in directory path (the union of the
 * layers down to an opaque one, without whited-out names). */
static int lower_list(const int *lower, size_t n, const char *path, struct name_list *ret)
{
	struct name_list hidden = {0};
	int r = 0;
	for (size_t l = 0; l < n; l++) {
		_cleanup_close_ int fd =
			path[0] ? openat(lower[l], path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
				: openat(lower[l], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue; /* lower_lookup decided the path exists; a layer without it is fine */
		struct name_list here = {0};
		if ((r = list_dir(fd, &here)) < 0) {
			name_list_release(&here);
			break;
		}
		/* Names are unique within a layer: check against what the upper
		 * layers gave (sorted), append, and sort once per layer. */
		struct name_list seen_hidden = hidden, seen = *ret;
		for (size_t i = 0; i < here.n && r >= 0; i++) {
			struct stat st;
			if (name_list_has(&seen_hidden, here.v[i]) || name_list_has(&seen, here.v[i]))
				continue;
			if (fstatat(fd, here.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    cb_diff_is_whiteout(st.st_mode, st.st_rdev)) {
				r = name_list_add(&hidden, here.v[i]);
			} else {
				r = name_list_add(ret, here.v[i]);
			}
			/* name_list_add may move the arrays */
			seen_hidden.v = hidden.v;
			seen.v = ret->v;
		}
		if (hidden.n > 1)
			qsort(hidden.v, hidden.n, sizeof(char *), cmp_strp);
		if (ret->n > 1)
			qsort(ret->v, ret->n, sizeof(char *), cmp_strp);
		name_list_release(&here);
		if (r < 0 || fd_is_opaque(fd))
			break;
	}
	name_list_release(&hidden);
	return r;
}

static int changes_add(struct cb_changes *c, char kind, const char *path)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct cb_change *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	char *p = malloc(strlen(path) + 2);
	if (!p)
		return -ENOMEM;
	p[0] = '/';
	strcpy(p + 1, path);
	c->v[c->n++] = (struct cb_change){.kind = kind, .path = p};
	return 0;
}

struct diff_walk {
	const int *lower;
	size_t n_lower;
	struct cb_changes *out;
	struct cb_error *err;
};

static int join(char *out, size_t size, const char *dir, const char *name)
{
	int n = snprintf(out, size, "%s%s%s", dir, dir[0] ? "/" : "", name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Walk the upper dir fd at path; *ret_child_ad is set when a direct child
 * was added or deleted. */
static int diff_dir(struct diff_walk *w, int fd, const char *path, bool opaque, bool *ret_child_ad)
{
	struct name_list names = {0};
	int r = list_dir(fd, &names);
	if (r < 0) {
		name_list_release(&names);
		return cb_error_errno(w->err, -r, "upper /%s", path);
	}
	bool child_ad = false;
	for (size_t i = 0; i < names.n && r >= 0; i++) {
		char sub[PATH_MAX];
		if ((r = join(sub, sizeof(sub), path, names.v[i])) < 0) {
			cb_error_set(w->err, ENAMETOOLONG, "upper /%s/%s: path too long", path,
				     names.v[i]);
			break;
		}
		struct stat st, lst = {0};
		if (fstatat(fd, names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = cb_error_errno(w->err, errno, "upper /%s", sub);
			break;
		}
		struct cb_diff_facts f = {
			.upper_whiteout = cb_diff_is_whiteout(st.st_mode, st.st_rdev),
			.upper_dir = S_ISDIR(st.st_mode),
		};
		f.in_lower = lower_lookup(w->lower, w->n_lower, sub, &lst);
		f.lower_dir = f.in_lower && S_ISDIR(lst.st_mode);
		if (f.upper_dir) {
			_cleanup_close_ int cfd =
				openat(fd, names.v[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				r = cb_error_errno(w->err, errno, "upper /%s", sub);
				break;
			}
			f.upper_opaque = fd_is_opaque(cfd);
			if (f.lower_dir)
				f.attrs_differ = (st.st_mode & 07777) != (lst.st_mode & 07777) ||
						 st.st_uid != lst.st_uid || st.st_gid != lst.st_gid ||
						 st.st_mtim.tv_sec != lst.st_mtim.tv_sec ||
						 st.st_mtim.tv_nsec != lst.st_mtim.tv_nsec;
			/* Children are listed after their parent is decided, so
			 * remember where the parent goes. */
			size_t slot = w->out->n;
			if ((r = changes_add(w->out, CB_CHANGE_NONE, sub)) < 0)
				break;
			bool grand = false;
			r = diff_dir(w, cfd, sub, f.upper_opaque && f.lower_dir, &grand);
			if (r < 0)
				break;
			f.child_added_or_deleted = grand;
			w->out->v[slot].kind = cb_diff_classify(&f);
		} else {
			char k = cb_diff_classify(&f);
			if (k != CB_CHANGE_NONE && (r = changes_add(w->out, k, sub)) < 0)
				break;
		}
		char k = cb_diff_classify(&f);
		if (k == CB_CHANGE_ADDED || k == CB_CHANGE_DELETED)
			child_ad = true;
	}
	/* An opaque dir hides the image's entries it did not make again. */
	if (r >= 0 && opaque) {
		struct name_list below = {0};
		r = lower_list(w->lower, w->n_lower, path, &below);
		for (size_t i = 0; i < below.n && r >= 0; i++) {
			if (name_list_has(&names, below.v[i]))
				continue;
			char sub[PATH_MAX];
			if (join(sub, sizeof(sub), path, below.v[i]) < 0)
				continue;
			r = changes_add(w->out, CB_CHANGE_DELETED, sub);
			child_ad = true;
		}
		name_list_release(&below);
		if (r < 0)
			cb_error_errno(w->err, -r, "image /%s", path);
	}
	name_list_release(&names);
	*ret_child_ad = child_ad;
	return r;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const struct cb_change *)a)->path, ((const struct cb_change *)b)->path);
}

int cb_diff_changes(int upper_fd, const int *lower_fds, size_t n_lower, struct cb_changes *ret,
		    struct cb_error *err)
{
	struct cb_changes all = {0};
	struct diff_walk w = {.lower = lower_fds, .n_lower = n_lower, .out = &all, .err = err};
	bool child_ad = false;
	int r = diff_dir(&w, upper_fd, "", fd_is_opaque(upper_fd), &child_ad);
	if (r < 0) {
		cb_changes_release(&all);
		return r;
	}
	/* Drop the directories that turned out unchanged. */
	size_t k = 0;
	for (size_t i = 0; i < all.n; i++) {
		if (all.v[i].kind == CB_CHANGE_NONE)
			free(all.v[i].path);
		else
			all.v[k++] = all.v[i];
	}
	all.n = k;
	if (all.n > 1)
		qsort(all.v, all.n, sizeof(*all.v), cmp_change);
	*ret = all;
	return 0;
}

/* ---- writing a layer tar ---- */

struct inode_seen {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct tar_walk {
	struct archive *a;
	struct archive_entry *e;
	struct inode_seen *links;
	size_t n_links, cap_links;
	struct cb_error *err;
	char *buf;
};

static int tar_fail(struct tar_walk *t, const char *path)
{
	return cb_error_set(t->err, EIO, "layer tar /%s: %s", path, archive_error_string(t->a));
}

static bool xattr_skipped(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0;
}

/* Copy name's xattrs into the entry; the names sorted, so the bytes are
 * the same every time. */
static int add_xattrs(struct tar_walk *t, int dirfd, const char *name, const char *path)
{
	char proc[64 + NAME_MAX];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name);
	char list[8192];
	ssize_t n = llistxattr(proc, list, sizeof(list));
	if (n < 0)
		return errno == ENOTSUP ? 0 : cb_error_errno(t->err, errno, "layer tar /%s: xattrs", path);
	const char *names[256];
	size_t count = 0;
	for (char *p = list; p < list + n && count < ELEMENTSOF(names); p += strlen(p) + 1)
		if (!xattr_skipped(p))
			names[count++] = p;
	if (count > 1)
		qsort(names, count, sizeof(char *), cmp_strp);
	for (size_t i = 0; i < count; i++) {
		char value[65536];
		ssize_t vn = lgetxattr(proc, names[i], value, sizeof(value));
		if (vn < 0)
			return cb_error_errno(t->err, errno, "layer tar /%s: xattr %s", path, names[i]);
		archive_entry_xattr_add_entry(t->e, names[i], value, (size_t)vn);
	}
	return 0;
}

static int write_marker(struct tar_walk *t, const char *name, const struct stat *st)
{
	archive_entry_clear(t->e);
	archive_entry_set_pathname(t->e, name);
	archive_entry_set_filetype(t->e, AE_IFREG);
	archive_entry_set_perm(t->e, 0644);
	archive_entry_set_size(t->e, 0);
	archive_entry_set_uid(t->e, 0);
	archive_entry_set_gid(t->e, 0);
	archive_entry_set_mtime(t->e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	if (archive_write_header(t->a, t->e) != ARCHIVE_OK)
		return tar_fail(t, name);
	return 0;
}

static int write_data(struct tar_walk *t, int dirfd, const char *name, const char *path,
		      const struct stat *st)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cb_error_errno(t->err, errno, "layer tar /%s: open", path);
	uint64_t left = (uint64_t)st->st_size;
	while (left > 0) {
		ssize_t n = read(fd, t->buf, MIN(left, (uint64_t)(1 << 20)));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cb_error_errno(t->err, errno, "layer tar /%s: read", path);
		if (n == 0)
			return cb_error_set(t->err, EIO, "layer tar /%s: changed while read", path);
		if (archive_write_data(t->a, t->buf, (size_t)n) != n)
			return tar_fail(t, path);
		left -= (uint64_t)n;
	}
	return 0;
}

/* The data regions of a sparse file, as the pax writer wants them. */
static void add_sparse_map(struct tar_walk *t, int dirfd, const char *name, const struct stat *st)
{
	if ((uint64_t)st->st_blocks * 512 >= (uint64_t)st->st_size)
		return;
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t pos = 0;
	while (pos < st->st_size) {
		off_t data = lseek(fd, pos, SEEK_DATA);
		if (data < 0)
			break;
		off_t hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st->st_size;
		archive_entry_sparse_add_entry(t->e, data, hole - data);
		pos = hole;
	}
	/* A file that ends in a hole still needs its end recorded. */
	if (archive_entry_sparse_count(t->e) > 0 && pos < st->st_size)
		archive_entry_sparse_add_entry(t->e, st->st_size, 0);
}

static int tar_dir(struct tar_walk *t, int fd, const char *path);

static int tar_one(struct tar_walk *t, int dirfd, const char *name, const char *path)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cb_error_errno(t->err, errno, "layer tar /%s", path);
	if (cb_diff_is_whiteout(st.st_mode, st.st_rdev)) {
		char wh[PATH_MAX];
		const char *slash = strrchr(path, '/');
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 0, path);
		if (cb_diff_whiteout_name(dir, name, wh, sizeof(wh)) < 0)
			return cb_error_set(t->err, ENAMETOOLONG, "layer tar /%s: name too long", path);
		return write_marker(t, wh, &st);
	}
	if (S_ISSOCK(st.st_mode))
		return 0; /* a socket is not content */
	archive_entry_clear(t->e);
	archive_entry_set_pathname(t->e, path);
	archive_entry_set_perm(t->e, st.st_mode & 07777);
	archive_entry_set_uid(t->e, st.st_uid);
	archive_entry_set_gid(t->e, st.st_gid);
	archive_entry_set_mtime(t->e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	int r = add_xattrs(t, dirfd, name, path);
	if (r < 0)
		return r;
	bool data = false;
	if (S_ISREG(st.st_mode)) {
		archive_entry_set_filetype(t->e, AE_IFREG);
		if (st.st_nlink > 1) {
			for (size_t i = 0; i < t->n_links; i++)
				if (t->links[i].dev == st.st_dev && t->links[i].ino == st.st_ino) {
					archive_entry_set_hardlink(t->e, t->links[i].path);
					archive_entry_set_size(t->e, 0);
					archive_entry_xattr_clear(t->e);
					if (archive_write_header(t->a, t->e) != ARCHIVE_OK)
						return tar_fail(t, path);
					return 0;
				}
			if (t->n_links == t->cap_links) {
				size_t cap = t->cap_links ? t->cap_links * 2 : 16;
				struct inode_seen *v = realloc(t->links, cap * sizeof(*v));
				if (!v)
					return -ENOMEM;
				t->links = v;
				t->cap_links = cap;
			}
			char *copy = strdup(path);
			if (!copy)
				return -ENOMEM;
			t->links[t->n_links++] =
				(struct inode_seen){.dev = st.st_dev, .ino = st.st_ino, .path = copy};
		}
		archive_entry_set_size(t->e, st.st_size);
		add_sparse_map(t, dirfd, name, &st);
		data = st.st_size > 0;
	} else if (S_ISDIR(st.st_mode)) {
		archive_entry_set_filetype(t->e, AE_IFDIR);
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return cb_error_errno(t->err, errno, "layer tar /%s: readlink", path);
		target[n] = '\0';
		archive_entry_set_filetype(t->e, AE_IFLNK);
		archive_entry_set_symlink(t->e, target);
	} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		archive_entry_set_filetype(t->e, S_ISCHR(st.st_mode) ? AE_IFCHR : AE_IFBLK);
		archive_entry_set_rdevmajor(t->e, major(st.st_rdev));
		archive_entry_set_rdevminor(t->e, minor(st.st_rdev));
	} else if (S_ISFIFO(st.st_mode)) {
		archive_entry_set_filetype(t->e, AE_IFIFO);
	}
	if (archive_write_header(t->a, t->e) != ARCHIVE_OK)
		return tar_fail(t, path);
	if (data && (r = write_data(t, dirfd, name, path, &st)) < 0)
		return r;
	if (!S_ISDIR(st.st_mode))
		return 0;
	_cleanup_close_ int cfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0)
		return cb_error_errno(t->err, errno, "layer tar /%s: open", path);
	if (fd_is_opaque(cfd)) {
		char wh[PATH_MAX];
		if (cb_diff_whiteout_name(path, NULL, wh, sizeof(wh)) < 0)
			return cb_error_set(t->err, ENAMETOOLONG, "layer tar /%s: name too long", path);
		if ((r = write_marker(t, wh, &st)) < 0)
			return r;
	}
	return tar_dir(t, cfd, path);
}

static int tar_dir(struct tar_walk *t, int fd, const char *path)
{
	struct name_list names = {0};
	int r = list_dir(fd, &names);
	if (r < 0)
		cb_error_errno(t->err, -r, "layer tar /%s: read dir", path);
	for (size_t i = 0; i < names.n && r >= 0; i++) {
		char sub[PATH_MAX];
		if (join(sub, sizeof(sub), path, names.v[i]) < 0) {
			r = cb_error_set(t->err, ENAMETOOLONG, "layer tar /%s/%s: path too long",
					 path, names.v[i]);
			break;
		}
		r = tar_one(t, fd, names.v[i], sub);
	}
	name_list_release(&names);
	return r;
}

struct sink_ctx {
	cb_diff_sink sink;
	void *ctx;
	int r;
};

static la_ssize_t sink_write(struct archive *a, void *data, const void *buf, size_t len)
{
	struct sink_ctx *s = data;
	int r = s->sink(s->ctx, buf, len);
	if (r < 0) {
		s->r = r;
		archive_set_error(a, -r, "write: %s", strerror(-r));
		return -1;
	}
	return (la_ssize_t)len;
}

int cb_diff_write_tar(int dir_fd, cb_diff_sink sink, void *ctx, struct cb_error *err)
{
	struct sink_ctx sc = {.sink = sink, .ctx = ctx};
	struct tar_walk t = {.err = err};
	t.a = archive_write_new();
	t.e = archive_entry_new();
	t.buf = malloc(1 << 20);
	int r = -ENOMEM;
	if (!t.a || !t.e || !t.buf)
		goto out;
	if (archive_write_set_format_pax_restricted(t.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(t.a, 10240) != ARCHIVE_OK ||
	    archive_write_open(t.a, &sc, NULL, sink_write, NULL) != ARCHIVE_OK) {
		r = cb_error_set(err, EIO, "layer tar: %s", archive_error_string(t.a));
		goto out;
	}
	r = tar_dir(&t, dir_fd, "");
	if (r >= 0 && archive_write_close(t.a) != ARCHIVE_OK)
		r = sc.r < 0 ? cb_error_errno(err, -sc.r, "layer tar")
			     : cb_error_set(err, EIO, "layer tar: %s", archive_error_string(t.a));
	if (r < 0 && sc.r < 0 && err && !err->code)
		cb_error_errno(err, -sc.r, "layer tar");
out:
	for (size_t i = 0; i < t.n_links; i++)
		free(t.links[i].path);
	free(t.links);
	free(t.buf);
	archive_entry_free(t.e);
	archive_write_free(t.a);
	return r;
}
