#include "extract.h"
#include "fsutil.h"
#include "macro.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OPAQUE_XATTR	"trusted.overlay.opaque"

int cb_path_normalize(const char *name, char *out, size_t out_size, const char **why)
{
	const char *reason = NULL;
	size_t n = 0;
	if (!name || name[0] == '/') {
		reason = "absolute path";
		goto refuse;
	}
	for (const char *p = name; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* "" or ".": nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			reason = "path leaves the layer";
			goto refuse;
		} else {
			if (n + (n > 0) + len + 1 > out_size) {
				reason = "name too long";
				goto refuse;
			}
			if (n > 0)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	if (out_size == 0)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
refuse:
	if (why)
		*why = reason;
	return -EPERM;
}

enum cb_whiteout cb_whiteout_classify(const char *base, const char **ret_target)
{
	if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) != 0)
		return CB_WHITEOUT_NONE;
	if (strcmp(base, WHITEOUT_OPAQUE) == 0)
		return CB_WHITEOUT_OPAQUE;
	const char *target = base + strlen(WHITEOUT_PREFIX);
	if (target[0] == '\0' || strcmp(target, ".") == 0 || strcmp(target, "..") == 0 ||
	    strchr(target, '/'))
		return CB_WHITEOUT_INVALID;
	if (ret_target)
		*ret_target = target;
	return CB_WHITEOUT_FILE;
}

bool cb_xattr_is_forbidden(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) == 0 ||
	       strncmp(name, "user.overlay.", 13) == 0;
}

struct dir_time {
	char *path;
	struct timespec times[2];
};

struct extractor {
	int root_fd;
	const struct cb_layer_limits *limits;
	struct cb_error *err;
	const char *entry; /* the raw name, for messages */
	/* The last parent directory opened: tar entries come grouped by
	 * directory, so this saves most openat2 calls. */
	char *cached_dir;
	int cached_fd;
	struct dir_time *dirs;
	size_t n_dirs, cap_dirs;
	struct cb_lower_link *links;
	size_t n_links, cap_links;
	bool as_root;
	char buf[1 << 16];
};

static int entry_error(struct extractor *x, int code, const char *why)
{
	return cb_error_set(x->err, code, "entry '%s': %s", x->entry, why);
}

static int entry_errno(struct extractor *x, int code, const char *what)
{
	return cb_error_errno(x->err, code, "entry '%s': %s", x->entry, what);
}

static const uint64_t beneath = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
				RESOLVE_NO_XDEV;

/* Open dir (normalized, "" = root) beneath the root, creating missing
 * components as root-owned 0755 directories, never following a symlink. */
static int open_dir_beneath(struct extractor *x, const char *dir, bool create)
{
	if (dir[0] == '\0')
		return RET_NERRNO(fcntl(x->root_fd, F_DUPFD_CLOEXEC, 3));
	int fd = cb_openat2(x->root_fd, dir, O_RDONLY | O_DIRECTORY, 0, beneath);
	if (fd != -ENOENT || !create)
		return fd;
	/* Walk down, making what is missing. */
	_cleanup_free_ char *copy = strdup(dir);
	if (!copy)
		return -ENOMEM;
	_cleanup_close_ int cur = fcntl(x->root_fd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return -errno;
	char *save = NULL;
	for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (mkdirat(cur, part, 0755) < 0 && errno != EEXIST)
			return -errno;
		int next = cb_openat2(cur, part, O_RDONLY | O_DIRECTORY, 0, beneath);
		if (next < 0)
			return next;
		closep(&cur);
		cur = next;
	}
	return TAKE_FD(cur);
}

static int parent_fd(struct extractor *x, const char *dir)
{
	if (x->cached_dir && strcmp(x->cached_dir, dir) == 0)
		return x->cached_fd;
	int fd = open_dir_beneath(x, dir, true);
	if (fd == -ELOOP)
		return entry_error(x, EPERM, "writes through a symlink");
	if (fd == -ENOTDIR)
		return entry_error(x, ENOTDIR, "a parent is not a directory");
	if (fd == -EXDEV)
		return entry_error(x, EPERM, "path leaves the layer");
	if (fd < 0)
		return entry_errno(x, fd, "open parent directory");
	closep(&x->cached_fd);
	free(x->cached_dir);
	x->cached_dir = strdup(dir);
	if (!x->cached_dir) {
		close(fd);
		x->cached_fd = -1;
		return -ENOMEM;
	}
	x->cached_fd = fd;
	return fd;
}

/* Make room for a new entry called base: a later entry replaces an earlier
 * one, except that a directory stays when the new entry is a directory. */
static int clear_target(struct extractor *x, int dir, const char *base, bool new_is_dir)
{
	struct stat st;
	if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : entry_errno(x, errno, "stat");
	if (S_ISDIR(st.st_mode)) {
		if (new_is_dir)
			return 1; /* keep it, update its metadata */
		int r = cb_rm_rf_at(dir, base);
		return r < 0 ? entry_errno(x, r, "replace directory") : 0;
	}
	if (unlinkat(dir, base, 0) < 0)
		return entry_errno(x, errno, "replace");
	return 0;
}

static int apply_xattrs(struct extractor *x, struct archive_entry *e, int fd)
{
	const char *name;
	const void *value;
	size_t size;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (cb_xattr_is_forbidden(name))
			return entry_error(x, EPERM, "sets a reserved overlay xattr");
		if (fsetxattr(fd, name, value, size, 0) < 0)
			return cb_error_errno(x->err, errno, "entry '%s': set xattr %s", x->entry,
					      name);
	}
	return 0;
}

static int apply_owner_mode(struct extractor *x, struct archive_entry *e, int fd)
{
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	/* Files we create belong to us already; chown would also clear
	 * setuid and capabilities, so it must precede chmod and xattrs. */
	if ((!x->as_root || uid != 0 || gid != 0) && fchown(fd, uid, gid) < 0)
		return entry_errno(x, errno, "chown");
	if (fchmod(fd, archive_entry_mode(e) & 07777) < 0)
		return entry_errno(x, errno, "chmod");
	return apply_xattrs(x, e, fd);
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

static int write_file_data(struct extractor *x, struct archive *a, int fd, int64_t size)
{
	const void *block;
	size_t len;
	la_int64_t offset;
	int64_t end = 0;
	for (;;) {
		int r = archive_read_data_block(a, &block, &len, &offset);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
			return cb_error_set(x->err, EBADMSG, "entry '%s': %s", x->entry,
					    archive_error_string(a));
		/* Holes of sparse files stay holes: write at the offsets given. */
		const char *p = block;
		while (len > 0) {
			ssize_t n = pwrite(fd, p, len, offset);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return entry_errno(x, errno, "write");
			}
			p += n;
			len -= (size_t)n;
			offset += n;
		}
		end = MAX(end, offset);
	}
	if (end < size && ftruncate(fd, size) < 0)
		return entry_errno(x, errno, "truncate");
	return 0;
}

static int extract_regular(struct extractor *x, struct archive *a, struct archive_entry *e,
			   int dir, const char *base)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	/* Names are almost always new: try first, clear only on EEXIST. */
	_cleanup_close_ int fd = openat(dir, base, flags, 0600);
	int r;
	if (fd < 0 && errno == EEXIST) {
		if ((r = clear_target(x, dir, base, false)) < 0)
			return r;
		fd = openat(dir, base, flags, 0600);
	}
	if (fd < 0)
		return entry_errno(x, errno, "create");
	r = write_file_data(x, a, fd, archive_entry_size(e));
	if (r < 0)
		return r;
	r = apply_owner_mode(x, e, fd);
	if (r < 0)
		return r;
	struct timespec ts[2];
	entry_times(e, ts);
	if (futimens(fd, ts) < 0)
		return entry_errno(x, errno, "set times");
	return 0;
}

static int remember_dir_time(struct extractor *x, const char *path, struct archive_entry *e)
{
	if (x->n_dirs == x->cap_dirs) {
		size_t cap = x->cap_dirs ? x->cap_dirs * 2 : 256;
		struct dir_time *n = realloc(x->dirs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		x->dirs = n;
		x->cap_dirs = cap;
	}
	struct dir_time *d = &x->dirs[x->n_dirs];
	d->path = strdup(path);
	if (!d->path)
		return -ENOMEM;
	entry_times(e, d->times);
	x->n_dirs++;
	return 0;
}

static int extract_dir(struct extractor *x, struct archive_entry *e, const char *path, int dir,
		       const char *base)
{
	_cleanup_close_ int fd = -1;
	if (path[0] == '\0') {
		fd = fcntl(x->root_fd, F_DUPFD_CLOEXEC, 3);
	} else {
		if (mkdirat(dir, base, 0700) < 0) {
			int r = errno == EEXIST ? clear_target(x, dir, base, true)
						: entry_errno(x, errno, "mkdir");
			if (r < 0)
				return r;
			if (r == 0 && mkdirat(dir, base, 0700) < 0)
				return entry_errno(x, errno, "mkdir");
		}
		fd = openat(dir, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return entry_errno(x, errno, "open directory");
	int r = apply_owner_mode(x, e, fd);
	if (r < 0)
		return r;
	/* Writing children changes a directory's mtime: set it at the end. */
	return remember_dir_time(x, path, e);
}

static int extract_symlink(struct extractor *x, struct archive_entry *e, int dir,
			   const char *base)
{
	const char *target = archive_entry_symlink(e);
	if (!target || !target[0])
		return entry_error(x, EINVAL, "symlink without a target");
	if (symlinkat(target, dir, base) < 0) {
		int r = errno == EEXIST ? clear_target(x, dir, base, false)
					: entry_errno(x, errno, "symlink");
		if (r < 0)
			return r;
		if (symlinkat(target, dir, base) < 0)
			return entry_errno(x, errno, "symlink");
	}
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	if ((!x->as_root || uid != 0 || gid != 0) &&
	    fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_errno(x, errno, "chown");
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(dir, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_errno(x, errno, "set times");
	return 0;
}

static int extract_special(struct extractor *x, struct archive_entry *e, int dir,
			   const char *base)
{
	mode_t type = archive_entry_filetype(e);
	dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
	if (mknodat(dir, base, type | 0600, dev) < 0) {
		int r = errno == EEXIST ? clear_target(x, dir, base, false)
					: entry_errno(x, errno, "mknod");
		if (r < 0)
			return r;
		if (mknodat(dir, base, type | 0600, dev) < 0)
			return entry_errno(x, errno, "mknod");
	}
	/* A device or fifo cannot be opened for its metadata without side
	 * effects: an O_PATH fd and /proc-free *at calls do it. */
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	if ((!x->as_root || uid != 0 || gid != 0) &&
	    fchownat(dir, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_errno(x, errno, "chown");
	if (fchmodat(dir, base, archive_entry_mode(e) & 07777, 0) < 0)
		return entry_errno(x, errno, "chmod");
	if (archive_entry_xattr_count(e) > 0) {
		_cleanup_close_ int fd = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		char proc[64];
		if (fd < 0)
			return entry_errno(x, errno, "open");
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		const char *name;
		const void *value;
		size_t size;
		archive_entry_xattr_reset(e);
		while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
			if (cb_xattr_is_forbidden(name))
				return entry_error(x, EPERM, "sets a reserved overlay xattr");
			if (setxattr(proc, name, value, size, 0) < 0)
				return cb_error_errno(x->err, errno, "entry '%s': set xattr %s",
						      x->entry, name);
		}
	}
	struct timespec ts[2];
	entry_times(e, ts);
	if (utimensat(dir, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_errno(x, errno, "set times");
	return 0;
}

static void split_path(char *path, const char **ret_dir, const char **ret_base)
{
	char *slash = strrchr(path, '/');
	if (!slash) {
		*ret_dir = "";
		*ret_base = path;
	} else {
		*slash = '\0';
		*ret_dir = path;
		*ret_base = slash + 1;
	}
}

/* split_path() cut target at its last slash; put the slash back. */
static void tdir_restore(char *target, const char *tdir)
{
	if (tdir != target || tdir[0] == '\0')
		return;
	target[strlen(target)] = '/';
}

static int remember_lower_link(struct extractor *x, const char *path, const char *target)
{
	if (x->n_links == x->cap_links) {
		size_t cap = x->cap_links ? x->cap_links * 2 : 8;
		struct cb_lower_link *n = realloc(x->links, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		x->links = n;
		x->cap_links = cap;
	}
	struct cb_lower_link *l = &x->links[x->n_links];
	l->path = strdup(path);
	l->target = strdup(target);
	if (!l->path || !l->target) {
		free(l->path);
		free(l->target);
		return -ENOMEM;
	}
	x->n_links++;
	return 0;
}

static int extract_hardlink(struct extractor *x, const char *link_name, const char *full_path,
			    int dir, const char *base)
{
	char target[PATH_MAX];
	const char *why = NULL;
	if (cb_path_normalize(link_name, target, sizeof(target), &why) < 0)
		return cb_error_set(x->err, EPERM, "entry '%s': hard link target '%s': %s",
				    x->entry, link_name, why);
	if (target[0] == '\0')
		return entry_error(x, EPERM, "hard link to the layer root");
	const char *tdir, *tbase;
	split_path(target, &tdir, &tbase);
	_cleanup_close_ int tfd = open_dir_beneath(x, tdir, false);
	if (tfd == -ELOOP || tfd == -EXDEV)
		return entry_error(x, EPERM, "hard link through a symlink");
	struct stat st;
	if (tfd == -ENOENT || (tfd >= 0 && fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
			       errno == ENOENT)) {
		/* Not (yet) in this layer: a later entry may make it, else it
		 * is a lower layer's file. */
		tdir_restore(target, tdir);
		return remember_lower_link(x, full_path, target);
	}
	if (tfd < 0)
		return cb_error_errno(x->err, tfd, "entry '%s': hard link target '%s'", x->entry,
				      link_name);
	if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cb_error_errno(x->err, errno, "entry '%s': hard link target '%s'",
				      x->entry, link_name);
	if (S_ISDIR(st.st_mode))
		return entry_error(x, EPERM, "hard link to a directory");
	/* A link to itself (or to what the name already is) is done. */
	struct stat self;
	if (fstatat(dir, base, &self, AT_SYMLINK_NOFOLLOW) == 0 && self.st_ino == st.st_ino &&
	    self.st_dev == st.st_dev)
		return 0;
	int r = clear_target(x, dir, base, false);
	if (r < 0)
		return r;
	if (linkat(tfd, tbase, dir, base, 0) < 0)
		return entry_errno(x, errno, "link");
	return 0;
}

static int extract_whiteout(struct extractor *x, enum cb_whiteout kind, const char *target,
			    int dir)
{
	if (kind == CB_WHITEOUT_INVALID)
		return entry_error(x, EINVAL, "whiteout without a name");
	if (kind == CB_WHITEOUT_OPAQUE) {
		if (fsetxattr(dir, OPAQUE_XATTR, "y", 1, 0) < 0)
			return entry_errno(x, errno, "mark directory opaque");
		return 0;
	}
	/* A whiteout hides only lower layers: a name this layer already made
	 * stays (OCI layer.md). */
	struct stat st;
	if (fstatat(dir, target, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (mknodat(dir, target, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return entry_errno(x, errno, "make whiteout");
	return 0;
}

static int extract_entry(struct extractor *x, struct archive *a, struct archive_entry *e)
{
	char path[PATH_MAX];
	const char *why = NULL;
	const char *raw = archive_entry_pathname(e);
	x->entry = raw ? raw : "?";
	if (!raw)
		return entry_error(x, EINVAL, "name is not valid");
	if (strlen(raw) > x->limits->max_name)
		return cb_error_set(x->err, ENAMETOOLONG,
				    "entry '%.64s…': name longer than %u bytes", raw,
				    x->limits->max_name);
	if (cb_path_normalize(raw, path, sizeof(path), &why) < 0)
		return entry_error(x, EPERM, why);

	mode_t type = archive_entry_filetype(e);
	const char *hardlink = archive_entry_hardlink(e);
	if (path[0] == '\0') {
		if (type != AE_IFDIR || hardlink)
			return entry_error(x, EINVAL, "the layer root must be a directory");
		return extract_dir(x, e, path, -1, "");
	}
	char full[PATH_MAX];
	memcpy(full, path, strlen(path) + 1);
	const char *dir_name, *base;
	split_path(path, &dir_name, &base);
	int dir = parent_fd(x, dir_name);
	if (dir < 0)
		return dir;

	const char *wh_target = NULL;
	enum cb_whiteout wh = cb_whiteout_classify(base, &wh_target);
	if (wh != CB_WHITEOUT_NONE)
		return extract_whiteout(x, wh, wh_target, dir);
	if (hardlink)
		return extract_hardlink(x, hardlink, full, dir, base);
	switch (type) {
	case AE_IFREG:
		return extract_regular(x, a, e, dir, base);
	case AE_IFDIR:
		return extract_dir(x, e, full, dir, base);
	case AE_IFLNK:
		return extract_symlink(x, e, dir, base);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return extract_special(x, e, dir, base);
	case AE_IFSOCK:
		return 0; /* a socket in a tar means nothing: skip, as tar does */
	default:
		return entry_error(x, EINVAL, "unknown entry type");
	}
}

/* Links to a target a later entry made are links within the layer after
 * all; the rest stay for the layer writer. */
static int resolve_links_in_layer(struct extractor *x)
{
	size_t kept = 0;
	for (size_t i = 0; i < x->n_links; i++) {
		struct cb_lower_link *l = &x->links[i];
		struct stat st;
		_cleanup_close_ int fd = cb_openat2(x->root_fd, l->target, O_PATH | O_NOFOLLOW, 0,
						    beneath);
		if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s", l->path);
			const char *dname, *base;
			split_path(path, &dname, &base);
			x->entry = l->path;
			int dir = parent_fd(x, dname);
			if (dir < 0)
				return dir;
			int r = clear_target(x, dir, base, false);
			if (r < 0)
				return r;
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			if (linkat(AT_FDCWD, proc, dir, base, AT_SYMLINK_FOLLOW) < 0)
				return entry_errno(x, errno, "link");
			free(l->path);
			free(l->target);
			continue;
		}
		x->links[kept++] = *l;
	}
	x->n_links = kept;
	return 0;
}

void cb_extract_stats_release(struct cb_extract_stats *st)
{
	for (size_t i = 0; i < st->n_lower_links; i++) {
		free(st->lower_links[i].path);
		free(st->lower_links[i].target);
	}
	free(st->lower_links);
	st->lower_links = NULL;
	st->n_lower_links = 0;
}

static int apply_dir_times(struct extractor *x)
{
	/* Deepest first does not matter for mtimes, but reverse order keeps a
	 * parent's time from being disturbed by anything done after it. */
	for (size_t i = x->n_dirs; i > 0; i--) {
		struct dir_time *d = &x->dirs[i - 1];
		_cleanup_close_ int fd = open_dir_beneath(x, d->path, false);
		if (fd < 0)
			continue; /* replaced by a later entry */
		futimens(fd, d->times);
	}
	return 0;
}

int cb_extract_tar(struct archive *a, int dir_fd, const struct cb_layer_limits *limits,
		   struct cb_extract_stats *ret_stats, struct cb_error *err)
{
	_cleanup_free_ struct extractor *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->root_fd = dir_fd;
	x->limits = limits;
	x->err = err;
	x->cached_fd = -1;
	x->as_root = geteuid() == 0 && getegid() == 0;
	uint64_t entries = 0;
	int r = 0;
	for (;;) {
		struct archive_entry *e;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			const char *msg = archive_error_string(a);
			r = cb_error_set(err, EBADMSG, "%s",
					 entries == 0 && msg && strstr(msg, "Unrecognized")
						 ? "not a tar archive"
						 : (msg ? msg : "bad tar header"));
			break;
		}
		if (++entries > limits->max_entries) {
			r = cb_error_set(err, EFBIG, "more than %llu entries",
					 (unsigned long long)limits->max_entries);
			break;
		}
		r = extract_entry(x, a, e);
		if (r < 0)
			break;
	}
	if (r >= 0)
		r = resolve_links_in_layer(x);
	if (r >= 0)
		r = apply_dir_times(x);
	for (size_t i = 0; i < x->n_dirs; i++)
		free(x->dirs[i].path);
	free(x->dirs);
	free(x->cached_dir);
	closep(&x->cached_fd);
	if (r >= 0 && ret_stats) {
		ret_stats->entries = entries;
		ret_stats->lower_links = TAKE_PTR(x->links);
		ret_stats->n_lower_links = x->n_links;
	}
	for (size_t i = 0; x->links && i < x->n_links; i++) {
		free(x->links[i].path);
		free(x->links[i].target);
	}
	free(x->links);
	return r;
}
