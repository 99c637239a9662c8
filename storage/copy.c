#include "copy.h"
#include "extract.h"
#include "fsutil.h"
#include "macro.h"

#include <archive.h>
#include <archive_entry.h>
#include <linux/openat2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define OVERFLOW_ID 65534

struct copy_ctx {
	const struct cb_copy_opts *o;
	struct cb_error *err;
	char path[PATH_MAX]; /* below the top, for messages */
	/* To a tar: the files with more than one link seen so far, so that
	 * the next name of one is a hard link entry, not its data again. */
	struct archive_entry_linkresolver *links;
};

static void owner_of(const struct copy_ctx *c, const struct stat *st, uid_t *uid, gid_t *gid)
{
	const struct cb_copy_opts *o = c->o;
	if (!o->keep_ids) {
		*uid = o->uid;
		*gid = o->gid;
		return;
	}
	int64_t u = o->map_uid ? o->map_uid(o->opaque, st->st_uid) : st->st_uid;
	int64_t g = o->map_gid ? o->map_gid(o->opaque, st->st_gid) : st->st_gid;
	*uid = u < 0 ? OVERFLOW_ID : (uid_t)u;
	*gid = g < 0 ? OVERFLOW_ID : (gid_t)g;
}

static int fail(struct copy_ctx *c, int e, const char *what)
{
	return cb_error_errno(c->err, e, "%s %s", what, c->path[0] ? c->path : ".");
}

/* A device node is not made: cowbox sets no device cgroup, so a node
 * would open its device wherever it lands (the container's /dev tmpfs is
 * not nodev; on the host any file system may not be), from an untrusted
 * image or tar as much as from the host (docs/commands/cp.md). */
static int refuse_device(struct copy_ctx *c)
{
	return cb_error_set(c->err, EPERM,
			    "%s%sa device node: not copied (it would open the device wherever "
			    "it lands)",
			    c->path, c->path[0] ? ": " : "");
}

/* Owner, then mode (a chown clears set-id bits), then times. */
static int finish_fd(struct copy_ctx *c, int fd, const struct stat *st)
{
	uid_t uid;
	gid_t gid;
	owner_of(c, st, &uid, &gid);
	if (fchown(fd, uid, gid) < 0)
		return fail(c, errno, "chown");
	mode_t mode = st->st_mode & 07777;
	if (c->o->drop_setid && S_ISREG(st->st_mode))
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
	if (fchmod(fd, mode) < 0)
		return fail(c, errno, "chmod");
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (futimens(fd, ts) < 0)
		return fail(c, errno, "set times of");
	return 0;
}

/* Make room for a new entry: what is there (not a directory) goes. */
static int clear_name(struct copy_ctx *c, int dir, const char *name)
{
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : fail(c, errno, "stat");
	if (unlinkat(dir, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		return fail(c, errno, S_ISDIR(st.st_mode) ? "replace the directory" : "replace");
	return 0;
}

/* The directory name in dir, made when missing: one there is merged
 * into, anything else (a symlink included: never followed) is replaced.
 * Its fd, or -errno with c->err set. */
static int open_made_dir(struct copy_ctx *c, int dir, const char *name)
{
	if (mkdirat(dir, name, 0700) < 0 && errno != EEXIST)
		return fail(c, errno, "mkdir");
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
		int r = clear_name(c, dir, name);
		if (r < 0)
			return r;
		if (mkdirat(dir, name, 0700) < 0)
			return fail(c, errno, "mkdir");
		fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	return fd < 0 ? fail(c, errno, "open the directory") : fd;
}

/* Open the entry name of dir that a stat said st is, for reading; -errno
 * (c->err set) when it is no longer that entry. */
static int open_checked(struct copy_ctx *c, int dir, const char *name, const struct stat *st,
			bool follow, struct stat *ret_now)
{
	/* O_NONBLOCK and O_NOCTTY: if the name became a fifo or a terminal
	 * since the stat, the open must not wait for a writer or take a
	 * terminal; the check below refuses it. */
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (follow ? 0 : O_NOFOLLOW) |
		    (S_ISDIR(st->st_mode) ? O_DIRECTORY : 0);
	int fd = openat(dir, name, flags);
	if (fd < 0 || fstat(fd, ret_now) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fail(c, e, "open");
	}
	/* Swapped for something else since the stat: no. */
	if ((ret_now->st_mode & S_IFMT) != (st->st_mode & S_IFMT) ||
	    ret_now->st_ino != st->st_ino) {
		close(fd);
		return fail(c, ESTALE, "open (it changed while copied)");
	}
	return fd;
}

/* A new regular file name in dir (what was there, not a directory, goes),
 * open for writing. */
static int create_file(struct copy_ctx *c, int dir, const char *name)
{
	int r = clear_name(c, dir, name);
	if (r < 0)
		return r;
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? fail(c, errno, "create") : fd;
}

/* A symlink to target, or with target NULL a fifo, named name in dir and
 * owned, moded and timed as st says. Nothing the other side swaps in
 * meanwhile is followed: the fifo is reopened O_PATH, checked, and
 * changed through its /proc/self/fd link (a chmod by name would follow a
 * symlink put there, onto the host through a container's absolute one). */
static int make_node(struct copy_ctx *c, int dir, const char *name, const struct stat *st,
		     const char *target)
{
	int r = clear_name(c, dir, name);
	if (r < 0)
		return r;
	uid_t uid;
	gid_t gid;
	owner_of(c, st, &uid, &gid);
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (target) {
		if (symlinkat(target, dir, name) < 0)
			return fail(c, errno, "make the link");
		if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(c, errno, "chown");
		if (utimensat(dir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return fail(c, errno, "set times of");
		return 0;
	}
	if (mknodat(dir, name, S_IFIFO | 0600, 0) < 0)
		return fail(c, errno, "mkfifo");
	_cleanup_close_ int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat now;
	if (fd < 0 || fstat(fd, &now) < 0)
		return fail(c, errno, "open");
	if (!S_ISFIFO(now.st_mode))
		return fail(c, ESTALE, "open (it changed while copied)");
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (fchownat(AT_FDCWD, self, uid, gid, 0) < 0)
		return fail(c, errno, "chown");
	if (fchmodat(AT_FDCWD, self, st->st_mode & 07777, 0) < 0)
		return fail(c, errno, "chmod");
	if (utimensat(AT_FDCWD, self, ts, 0) < 0)
		return fail(c, errno, "set times of");
	return 0;
}

static int copy_data(struct copy_ctx *c, int in, int out)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return fail(c, errno, "copy");
		break; /* not between these filesystems: by hand */
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(c, errno, "read");
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return fail(c, errno, "write");
			off += w;
		}
	}
}

static int copy_entry(struct copy_ctx *c, int src_dir, const char *name, int dst_dir,
		      const char *dst_name, bool follow, int depth);

/* fn for each entry of the directory src but . and .., with c->path
 * naming it while fn runs; stops at the first error. */
static int for_each_child(struct copy_ctx *c, int src,
			  int (*fn)(struct copy_ctx *c, int src, const char *name, void *opaque),
			  void *opaque)
{
	int dup = fcntl(src, F_DUPFD_CLOEXEC, 3);
	if (dup < 0)
		return fail(c, errno, "read the directory");
	_cleanup_closedir_ DIR *d = fdopendir(dup);
	if (!d) {
		close(dup);
		return fail(c, errno, "read the directory");
	}
	size_t len = strlen(c->path);
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (len + strlen(de->d_name) + 2 >= sizeof(c->path))
			return fail(c, ENAMETOOLONG, "copy");
		snprintf(c->path + len, sizeof(c->path) - len, "%s%s", len ? "/" : "", de->d_name);
		int r = fn(c, src, de->d_name, opaque);
		c->path[len] = '\0';
		if (r < 0)
			return r;
		errno = 0;
	}
	return errno ? fail(c, errno, "read the directory") : 0;
}

struct copy_child {
	int dst, depth;
};

static int copy_child(struct copy_ctx *c, int src, const char *name, void *opaque)
{
	const struct copy_child *k = opaque;
	return copy_entry(c, src, name, k->dst, name, false, k->depth);
}

static int copy_dir(struct copy_ctx *c, int src, const struct stat *st, int dst_dir,
		    const char *dst_name, int depth)
{
	if (depth > 256)
		return fail(c, ELOOP, "copy (too deep)");
	int dst = open_made_dir(c, dst_dir, dst_name);
	if (dst < 0)
		return dst;
	_cleanup_close_ int dstfd = dst;
	struct copy_child k = {.dst = dst, .depth = depth + 1};
	int r = for_each_child(c, src, copy_child, &k);
	if (r < 0)
		return r;
	return finish_fd(c, dst, st);
}

static int copy_entry(struct copy_ctx *c, int src_dir, const char *name, int dst_dir,
		      const char *dst_name, bool follow, int depth)
{
	struct stat st;
	if (fstatat(src_dir, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, errno, "stat");
	int r;
	if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
		struct stat now;
		_cleanup_close_ int src = open_checked(c, src_dir, name, &st, follow, &now);
		if (src < 0)
			return src;
		if (S_ISDIR(st.st_mode))
			return copy_dir(c, src, &now, dst_dir, dst_name, depth);
		_cleanup_close_ int out = create_file(c, dst_dir, dst_name);
		if (out < 0)
			return out;
		if ((r = copy_data(c, src, out)) < 0)
			return r;
		return finish_fd(c, out, &now);
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		return refuse_device(c);
	if (S_ISFIFO(st.st_mode))
		return make_node(c, dst_dir, dst_name, &st, NULL);
	if (!S_ISLNK(st.st_mode))
		return 0; /* a socket: nothing to copy */
	char target[PATH_MAX + 1];
	ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
	if (n < 0)
		return fail(c, errno, "read the link");
	target[n] = '\0';
	return make_node(c, dst_dir, dst_name, &st, target);
}

/* The top given as an O_PATH fd: through its /proc/self/fd link, which
 * names that very inode (no path is walked again; the open checks it). */
static int copy_opened(struct copy_ctx *c, int fd, int dst_dir, const char *dst_name)
{
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	return copy_entry(c, AT_FDCWD, self, dst_dir, dst_name, true, 0);
}

int cb_copy_tree(int src_dir, const char *name, int dst_dir, const char *dst_name,
		 const struct cb_copy_opts *o, struct cb_error *err)
{
	struct copy_ctx c = {.o = o, .err = err};
	if (!name)
		return copy_opened(&c, src_dir, dst_dir, dst_name);
	if (strcmp(name, ".") == 0) {
		struct stat st;
		if (fstat(src_dir, &st) < 0)
			return fail(&c, errno, "stat");
		if (!S_ISDIR(st.st_mode))
			return fail(&c, ENOTDIR, "copy");
		return copy_dir(&c, src_dir, &st, dst_dir, dst_name, 0);
	}
	return copy_entry(&c, src_dir, name, dst_dir, dst_name, o->follow_top, 0);
}

/* ---- to a tar ------------------------------------------------------------ */

static int tar_fail(struct copy_ctx *c, struct archive *a, const char *what)
{
	return cb_error_set(c->err, EIO, "%s %s: %s", what, c->path[0] ? c->path : ".",
			    archive_error_string(a) ? archive_error_string(a) : "write error");
}

/* Write path's header. A regular file with more links than one is a
 * hard link entry when one of its names came before (*ret_data false:
 * no data follows); the first name carries the data. */
static int tar_header(struct copy_ctx *c, struct archive *a, const char *path,
		      const struct stat *st, const char *link, bool *ret_data)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return fail(c, ENOMEM, "tar");
	uid_t uid;
	gid_t gid;
	owner_of(c, st, &uid, &gid);
	archive_entry_copy_stat(e, st);
	archive_entry_set_uid(e, uid);
	archive_entry_set_gid(e, gid);
	bool linked = S_ISREG(st->st_mode) && st->st_nlink > 1 && c->links;
	archive_entry_set_nlink(e, S_ISDIR(st->st_mode) ? 2 : linked ? st->st_nlink : 1);
	archive_entry_copy_pathname(e, path);
	if (link)
		archive_entry_copy_symlink(e, link);
	if (!S_ISREG(st->st_mode))
		archive_entry_set_size(e, 0);
	struct archive_entry *spare = NULL;
	if (linked) {
		/* tar's strategy: the entry comes back at once, as a link to
		 * the first name when there was one (and without size). */
		archive_entry_linkify(c->links, &e, &spare);
		archive_entry_free(spare);
	}
	if (ret_data)
		*ret_data = !archive_entry_hardlink(e);
	int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : tar_fail(c, a, "tar header of");
	archive_entry_free(e);
	return r;
}

static int tar_entry(struct copy_ctx *c, int src_dir, const char *name, const char *path,
		     struct archive *a, bool follow, int depth);

struct tar_child {
	const char *path; /* the directory's name in the tar */
	struct archive *a;
	int depth;
};

static int tar_child(struct copy_ctx *c, int src, const char *name, void *opaque)
{
	const struct tar_child *k = opaque;
	char child[PATH_MAX];
	if ((size_t)snprintf(child, sizeof(child), "%s/%s", k->path, name) >= sizeof(child))
		return fail(c, ENAMETOOLONG, "copy");
	return tar_entry(c, src, name, child, k->a, false, k->depth);
}

static int tar_dir(struct copy_ctx *c, int src, const struct stat *st, const char *path,
		   struct archive *a, int depth)
{
	if (depth > 256)
		return fail(c, ELOOP, "copy (too deep)");
	int r = tar_header(c, a, path, st, NULL, NULL);
	if (r < 0)
		return r;
	struct tar_child k = {.path = path, .a = a, .depth = depth + 1};
	return for_each_child(c, src, tar_child, &k);
}

static int tar_file(struct copy_ctx *c, int src, const struct stat *st, const char *path,
		    struct archive *a)
{
	bool data;
	int r = tar_header(c, a, path, st, NULL, &data);
	if (r < 0 || !data)
		return r;
	char buf[1 << 16];
	off_t left = st->st_size;
	while (left > 0) {
		ssize_t n = read(src, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(c, errno, "read");
		if (n == 0)
			break; /* it shrank: the header said more, libarchive pads */
		if (n > left)
			n = (ssize_t)left; /* it grew: as much as the header said */
		if (archive_write_data(a, buf, (size_t)n) != n)
			return tar_fail(c, a, "tar data of");
		left -= n;
	}
	return 0;
}

static int tar_entry(struct copy_ctx *c, int src_dir, const char *name, const char *path,
		     struct archive *a, bool follow, int depth)
{
	struct stat st;
	if (fstatat(src_dir, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return fail(c, errno, "stat");
	if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
		struct stat now;
		_cleanup_close_ int src = open_checked(c, src_dir, name, &st, follow, &now);
		if (src < 0)
			return src;
		return S_ISDIR(now.st_mode) ? tar_dir(c, src, &now, path, a, depth)
					    : tar_file(c, src, &now, path, a);
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
		if (n < 0)
			return fail(c, errno, "read the link");
		target[n] = '\0';
		return tar_header(c, a, path, &st, target, NULL);
	}
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		return tar_header(c, a, path, &st, NULL, NULL);
	return 0; /* a socket */
}

int cb_copy_to_tar(int src_dir, const char *name, const char *as, struct archive *a,
		   const struct cb_copy_opts *o, struct cb_error *err)
{
	struct copy_ctx c = {.o = o, .err = err};
	c.links = archive_entry_linkresolver_new();
	if (!c.links)
		return cb_error_set(err, ENOMEM, "out of memory");
	archive_entry_linkresolver_set_strategy(c.links, archive_format(a));
	int r;
	if (name && strcmp(name, ".") != 0)
		r = tar_entry(&c, src_dir, name, as, a, o->follow_top, 0);
	else {
		/* The directory itself (".") or the opened top (NULL), through
		 * its /proc/self/fd link: that very inode, no path walked
		 * again. */
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", src_dir);
		r = tar_entry(&c, AT_FDCWD, self, as, a, true, 0);
	}
	archive_entry_linkresolver_free(c.links);
	return r;
}

/* ---- from a tar ---------------------------------------------------------- */

/* The directory of container path dir/rel's parent, resolved inside root;
 * *ret_base points at rel's last component. */
static int open_parent_in_root(int root, const char *dest, const char *rel, const char **ret_base)
{
	char path[PATH_MAX];
	const char *slash = strrchr(rel, '/');
	*ret_base = slash ? slash + 1 : rel;
	int n = slash ? snprintf(path, sizeof(path), "%s/%.*s", dest, (int)(slash - rel), rel)
		      : snprintf(path, sizeof(path), "%s", dest);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return cb_openat2(root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
			  RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

static int untar_data(struct copy_ctx *c, struct archive *a, int out)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return cb_error_set(c->err, EIO, "read %s from the tar: %s", c->path,
					    archive_error_string(a));
		ssize_t n = pwrite(out, buf, size, off);
		if (n != (ssize_t)size)
			return fail(c, n < 0 ? errno : EIO, "write");
	}
}

static int untar_entry(struct copy_ctx *c, struct archive *a, struct archive_entry *e, int root,
		       const char *dest)
{
	const char *why = NULL;
	int r = cb_path_normalize(archive_entry_pathname(e), c->path, sizeof(c->path), &why);
	if (r < 0) /* normalize's words are a layer's */
		return cb_error_set(c->err, EPERM, "entry %s: %s", archive_entry_pathname(e),
				    why && strstr(why, "leaves") ? "path leaves the directory"
				    : why			 ? why
								 : "bad name");
	struct stat st = *archive_entry_stat(e);
	if (!c->path[0]) { /* the directory itself: its mode and times only */
		_cleanup_close_ int d = cb_openat2(root, dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
						   0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		return d < 0 ? fail(c, -d, "open") : S_ISDIR(st.st_mode) ? finish_fd(c, d, &st) : 0;
	}
	const char *base;
	int fd = open_parent_in_root(root, dest, c->path, &base);
	if (fd < 0)
		return fail(c, -fd, "open the directory of");
	_cleanup_close_ int dir = fd;
	const char *hard = archive_entry_hardlink(e);
	if (hard) {
		char target[PATH_MAX];
		if (cb_path_normalize(hard, target, sizeof(target), &why) < 0 || !target[0])
			return cb_error_set(
			    c->err, EPERM, "entry %s: link to %s: %s", c->path, hard,
			    why && strstr(why, "leaves") ? "path leaves the directory"
			    : why			 ? why
							 : "bad name");
		const char *tbase;
		_cleanup_close_ int tdir = open_parent_in_root(root, dest, target, &tbase);
		if (tdir < 0)
			return fail(c, -tdir, "link (its target's directory)");
		if ((r = clear_name(c, dir, base)) < 0)
			return r;
		return linkat(tdir, tbase, dir, base, 0) < 0 ? fail(c, errno, "link") : 0;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR: {
		_cleanup_close_ int d = open_made_dir(c, dir, base);
		return d < 0 ? d : finish_fd(c, d, &st);
	}
	case S_IFREG: {
		_cleanup_close_ int out = create_file(c, dir, base);
		if (out < 0)
			return out;
		if ((r = untar_data(c, a, out)) < 0)
			return r;
		/* A sparse entry may end in a hole that no block wrote. */
		if (ftruncate(out, st.st_size) < 0)
			return fail(c, errno, "truncate");
		return finish_fd(c, out, &st);
	}
	case S_IFLNK:
		return make_node(c, dir, base, &st,
				 archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
	case S_IFCHR:
	case S_IFBLK:
		return refuse_device(c);
	case S_IFIFO:
		return make_node(c, dir, base, &st, NULL);
	default:
		return 0; /* sockets and the like: nothing to make */
	}
}

int cb_copy_from_tar(struct archive *a, int root, const char *dest, const struct cb_copy_opts *o,
		     struct cb_error *err)
{
	struct copy_ctx c = {.o = o, .err = err};
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return cb_error_set(err, EINVAL, "read the tar: %s",
					    archive_error_string(a));
		if ((r = untar_entry(&c, a, e, root, dest)) < 0)
			return r;
	}
}
