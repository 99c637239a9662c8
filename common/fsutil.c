#include "fsutil.h"
#include "macro.h"

#include <dirent.h>
#include <errno.h>
#include <linux/close_range.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int cb_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC,
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = resolve,
	};
	long fd;
	do
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : (int)fd;
}

int cb_mkdirat_p(int dirfd, const char *path, mode_t mode)
{
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	int cur = dirfd;
	_cleanup_close_ int owned = -1;
	if (path[0] == '/') {
		owned = cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cur < 0)
			return -errno;
	}
	char *save = NULL;
	for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0)
			return -EINVAL;
		if (mkdirat(cur, part, mode) < 0 && errno != EEXIST)
			return -errno;
		int next = openat(cur, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return -errno;
		closep(&owned);
		owned = cur = next;
	}
	return 0;
}

/* rm -rf with as few system calls as the kernel allows: a directory is
 * first simply rmdir'ed (most are empty: a container's work dirs), entry
 * types come from getdents64 instead of a stat each, and the directory is
 * read with the raw call (no DIR: no dup, no fstat, no fcntl). On ext4
 * every saved call is a saved journal touch: `run --rm` removes a
 * container after each run. */
static int rm_rf_dir(int parent, const char *name, dev_t dev);

static int rm_rf_entry(int parent, const char *name, unsigned char type, dev_t dev)
{
	if (type == DT_DIR)
		return rm_rf_dir(parent, name, dev);
	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno == EISDIR && type == DT_UNKNOWN)
		return rm_rf_dir(parent, name, dev);
	return -errno;
}

static int rm_rf_children(int fd, dev_t dev)
{
	/* On the heap: trees can be deeper than any stack. */
	enum { BUF_SIZE = 4096 };
	_cleanup_free_ char *buf = aligned_alloc(8, BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	int ret = 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, BUF_SIZE);
		if (n < 0)
			return errno == EINTR ? ret : -errno;
		if (n == 0)
			return ret;
		for (long off = 0; off < n;) {
			struct cb_dirent64 {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *de = (struct cb_dirent64 *)(buf + off);
			off += de->reclen;
			if (de->name[0] == '.' &&
			    (de->name[1] == '\0' || (de->name[1] == '.' && de->name[2] == '\0')))
				continue;
			int r = rm_rf_entry(fd, de->name, de->type, dev);
			if (r < 0 && ret == 0)
				ret = r;
		}
	}
}

static int rm_rf_dir(int parent, const char *name, dev_t dev)
{
	if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return -errno; /* EBUSY: a mount point, never removed across */
	_cleanup_close_ int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_dev != dev)
		return -EBUSY; /* a mount point: never remove across it */
	int r = rm_rf_children(fd, dev);
	if (r < 0)
		return r;
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int cb_rm_rf_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return rm_rf_entry(dirfd, name, S_ISDIR(st.st_mode) ? DT_DIR : DT_REG, st.st_dev);
}

/* Everything below an entry is resolved beneath it, never through a
 * symlink or into another mount: whoever could put a link there must not
 * make a deletion reach outside. */
#define RESOLVE_HERE (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)

static int open_entry(int dir, const char *name)
{
	return cb_openat2(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, RESOLVE_HERE);
}

/* A directory stream on a duplicate of fd (which stays the caller's). */
static DIR *opendir_dup(int fd)
{
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0)
		return NULL;
	DIR *d = fdopendir(dupfd);
	if (!d) {
		int e = errno;
		close(dupfd);
		errno = e;
	}
	return d;
}

/* A taker of what would be removed (cb_rm_steps_set_keep), or none. */
struct rm_keeper {
	bool (*keep)(void *opaque, int dirfd, const char *name, const char *entry);
	void *opaque;
	const char *entry;
};

/* Remove known[*next...] below the entry (an fd of open_entry) until one
 * goes (or, a directory, is kept); false when the list is done. */
static bool rm_next_known(int entry, const char *const *known, size_t *next,
			  const struct rm_keeper *keeper)
{
	while (known && known[*next]) {
		const char *k = known[(*next)++];
		size_t n = strlen(k);
		bool is_dir = n > 0 && k[n - 1] == '/';
		char path[512];
		snprintf(path, sizeof(path), "%.*s", (int)(n - is_dir), k);
		char *slash = strrchr(path, '/');
		_cleanup_close_ int parent = -1;
		if (slash) {
			*slash = '\0';
			if ((parent = cb_openat2(entry, path, O_PATH | O_DIRECTORY, 0, RESOLVE_HERE)) < 0)
				continue;
		}
		int at = slash ? parent : entry;
		const char *leaf = slash ? slash + 1 : path;
		if (is_dir && keeper && keeper->keep(keeper->opaque, at, leaf, keeper->entry))
			return true;
		if (unlinkat(at, leaf, is_dir ? AT_REMOVEDIR : 0) == 0)
			return true;
	}
	return false;
}

int cb_rm_known_at(int dirfd, const char *name, const char *const *known)
{
	int entry = open_entry(dirfd, name);
	if (entry >= 0) {
		size_t next = 0;
		while (rm_next_known(entry, known, &next, NULL))
			;
		close(entry); /* before the rmdir: the directory is freed there */
	}
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	int r = cb_rm_rf_at(dirfd, name); /* no-follow, no crossing: see there */
	return r < 0 ? r : 1;
}

int cb_rm_entries_at(int dirfd, const char *const *known, unsigned *ret_removed)
{
	if (ret_removed)
		*ret_removed = 0;
	_cleanup_closedir_ DIR *d = opendir_dup(dirfd);
	if (!d)
		return -errno;
	int ret = 0;
	unsigned removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = cb_rm_known_at(dirfd, de->d_name, known);
		if (r < 0 && ret == 0)
			ret = r;
		else if (r > 0)
			removed++;
	}
	if (ret_removed)
		*ret_removed = removed;
	return ret;
}

struct cb_rm_steps {
	DIR *dir;
	const char *const *known;
	struct rm_keeper keeper;
	bool done;
	int entry; /* the entry being removed (open_entry), known[next] onwards; -1 */
	bool in_entry;
	size_t next;
	char name[256];
};

int cb_rm_steps_new(int dirfd, const char *const *known, struct cb_rm_steps **ret)
{
	struct cb_rm_steps *t = calloc(1, sizeof(*t));
	if (!t || !(t->dir = fdopendir(dirfd))) {
		int r = t ? -errno : -ENOMEM;
		free(t);
		close(dirfd);
		return r;
	}
	t->known = known;
	t->entry = -1;
	*ret = t;
	return 0;
}

void cb_rm_steps_set_keep(struct cb_rm_steps *t,
			  bool (*keep)(void *opaque, int dirfd, const char *name,
				       const char *entry),
			  void *opaque)
{
	t->keeper.keep = keep;
	t->keeper.opaque = opaque;
}

void cb_rm_steps_free(struct cb_rm_steps *t)
{
	if (!t)
		return;
	closep(&t->entry);
	closedir(t->dir);
	free(t);
}

int cb_rm_steps_next(struct cb_rm_steps *t)
{
	if (t->done)
		return 0;
	int dir = dirfd(t->dir);
	if (!t->in_entry) {
		struct dirent *de;
		while ((de = readdir(t->dir)) &&
		       (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0))
			;
		if (!de) {
			t->done = true;
			return 0;
		}
		snprintf(t->name, sizeof(t->name), "%s", de->d_name);
		t->in_entry = true;
		t->next = 0;
		t->entry = open_entry(dir, t->name);
	}
	const struct rm_keeper *k = t->keeper.keep ? &t->keeper : NULL;
	t->keeper.entry = t->name;
	if (t->entry >= 0 && rm_next_known(t->entry, t->known, &t->next, k))
		return 1;
	closep(&t->entry);
	t->in_entry = false;
	/* The entry itself (a file or a link: unlinked, not followed). What
	 * is not empty now holds more than the known layout: it is left to a
	 * walk by `rm` or `gc`, so that a step stays one unlinkat. */
	if (k && k->keep(k->opaque, dir, t->name, t->name))
		return 1;
	if (unlinkat(dir, t->name, AT_REMOVEDIR) < 0 && errno == ENOTDIR)
		(void)unlinkat(dir, t->name, 0);
	return 1;
}

int cb_dir_is_empty_at(int dirfd, const char *path)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : cb_dir_is_empty(fd);
}

int cb_dir_is_empty(int fd)
{
	char buf[512] __attribute__((aligned(8)));
	for (;;) {
		ssize_t n = getdents64(fd, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		if (n == 0)
			return 1;
		for (ssize_t off = 0; off < n;) {
			const struct dirent64 *de = (const struct dirent64 *)(buf + off);
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				return 0;
			off += de->d_reclen;
		}
	}
}

void cb_stdio_sanitize(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			int n = open("/dev/null", O_RDWR);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

static int cmp_int(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static int close_one(int fd, bool cloexec_only)
{
	if (!cloexec_only)
		return close(fd) < 0 && errno != EINTR ? -errno : 0;
	int fl = fcntl(fd, F_GETFD);
	return fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0 ? -errno : 0;
}

static bool is_kept(int fd, const int *keep, size_t n_keep)
{
	for (size_t k = 0; k < n_keep; k++)
		if (keep[k] == fd)
			return true;
	return false;
}

/* Before Linux 5.9 (close_range) or 5.11 (its CLOEXEC flag): one by one,
 * as the directory of open fds lists them (closing while it is read is
 * what glibc's closefrom does too). */
static int close_fds_slowly(int from, const int *keep, size_t n_keep, bool cloexec_only)
{
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	if (!d) {
		/* No /proc: every number up to the limit. */
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = from; fd < (max > 0 && max < (1 << 20) ? max : 1 << 20); fd++)
			if (!is_kept((int)fd, keep, n_keep) && fcntl((int)fd, F_GETFD) >= 0 &&
			    close_one((int)fd, cloexec_only) < 0)
				return -errno;
		return 0;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || fd < from || fd == dirfd(d) ||
		    is_kept((int)fd, keep, n_keep))
			continue;
		int r = close_one((int)fd, cloexec_only);
		if (r < 0)
			return r;
	}
	return 0;
}

int cb_close_fds_except(int from, const int *keep, size_t n_keep, bool cloexec_only)
{
	int sorted[16];
	if (n_keep > ELEMENTSOF(sorted))
		return -E2BIG;
	if (n_keep)
		memcpy(sorted, keep, n_keep * sizeof(int));
	qsort(sorted, n_keep, sizeof(int), cmp_int);
	unsigned flags = cloexec_only ? CLOSE_RANGE_CLOEXEC : 0;
	unsigned lo = (unsigned)from;
	for (size_t k = 0; k <= n_keep; k++) {
		unsigned hi = k < n_keep ? (unsigned)sorted[k] : 0;
		if (k < n_keep && (sorted[k] < from || hi < lo))
			continue;
		if (k == n_keep || hi > lo) {
			/* ENOSYS, EINVAL before 5.9 and 5.11; EPERM from a seccomp
			 * filter: one by one then. */
			if (close_range(lo, k < n_keep ? hi - 1 : ~0U, flags) < 0)
				return close_fds_slowly(from, keep, n_keep, cloexec_only);
		}
		lo = hi + 1;
	}
	return 0;
}

int cb_write_string_at(int dirfd, const char *path, const char *value)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int cb_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_file_renamed(int dirfd, const char *name, const void *data, size_t len,
			      mode_t mode, bool durable);

int cb_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len,
			    mode_t mode)
{
	return write_file_renamed(dirfd, name, data, len, mode, true);
}

int cb_write_file_replace_at(int dirfd, const char *name, const void *data, size_t len,
			     mode_t mode)
{
	return write_file_renamed(dirfd, name, data, len, mode, false);
}

static int write_file_renamed(int dirfd, const char *name, const void *data, size_t len,
			      mode_t mode, bool durable)
{
	char rnd[17];
	int r = cb_random_hex(rnd, 8);
	if (r < 0)
		return r;
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp-%s", name, rnd) < 0)
		return -ENOMEM;
	_cleanup_close_ int fd =
		openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = cb_write_all(fd, data, len);
	if (r >= 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0)
		goto out_unlink_tmp;
	if (durable && fsync(dirfd) < 0 && errno != EBADF && errno != EINVAL)
		return -errno;
	return 0;
out_unlink_tmp:
	unlinkat(dirfd, tmp, 0);
	return r;
}

int cb_read_fd(int fd, size_t max, char **ret_data, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap >= max)
				return -EFBIG;
			cap = MIN(cap * 2, max);
			char *n = realloc(buf, cap + 1);
			if (!n)
				return -ENOMEM;
			buf = n;
		}
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret_data = TAKE_PTR(buf);
	return 0;
}

int cb_read_file_at(int dirfd, const char *name, size_t max, char **ret_data, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return cb_read_fd(fd, max, ret_data, ret_len);
}

int cb_random_hex(char *buf, size_t nbytes)
{
	unsigned char raw[64];
	if (nbytes > sizeof(raw))
		return -EINVAL;
	size_t got = 0;
	while (got < nbytes) {
		ssize_t n = getrandom(raw + got, nbytes - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < nbytes; i++) {
		buf[2 * i] = hex[raw[i] >> 4];
		buf[2 * i + 1] = hex[raw[i] & 15];
	}
	buf[2 * nbytes] = '\0';
	return 0;
}

struct inode_set {
	struct {
		dev_t dev;
		ino_t ino;
	} *v;
	size_t n, cap;
};

/* Hard links are counted once: remember inodes with st_nlink > 1. */
static bool inode_set_add(struct inode_set *s, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].dev == dev && s->v[i].ino == ino)
			return false;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		void *n = realloc(s->v, cap * sizeof(*s->v));
		if (!n)
			return true;
		s->v = n;
		s->cap = cap;
	}
	s->v[s->n].dev = dev;
	s->v[s->n].ino = ino;
	s->n++;
	return true;
}

static int disk_usage_fd(int fd, dev_t dev, struct inode_set *seen, uint64_t *sum)
{
	_cleanup_closedir_ DIR *d = opendir_dup(fd);
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (st.st_dev != dev)
			continue;
		if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) &&
		    !inode_set_add(seen, st.st_dev, st.st_ino))
			continue;
		*sum += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = openat(fd, de->d_name,
							 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
								 O_CLOEXEC);
			if (sub >= 0)
				disk_usage_fd(sub, dev, seen, sum);
		}
	}
	return 0;
}

int cb_disk_usage_at(int dirfd, const char *name, uint64_t *ret_bytes)
{
	_cleanup_close_ int fd =
		openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	struct inode_set seen = {0};
	uint64_t sum = (uint64_t)st.st_blocks * 512;
	int r = disk_usage_fd(fd, st.st_dev, &seen, &sum);
	free(seen.v);
	if (r < 0)
		return r;
	*ret_bytes = sum;
	return 0;
}

uint64_t cb_proc_stat_field(const char *stat, int field)
{
	/* The command name may hold spaces and parentheses: fields start
	 * after the last ')', with field 3. */
	const char *p = stat ? strrchr(stat, ')') : NULL;
	if (!p || field < 3)
		return 0;
	p++;
	for (int f = 3; f < field && p; f++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

uint64_t cb_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The first executable regular file named file along $PATH (glibc's
 * default when unset), into buf; false when none, or when execvp would
 * stop at an error it does not pass over (ELOOP, EPERM...) before: it
 * is then left to execvp. Executable by the effective credentials
 * (AT_EACCESS), capabilities included, as execve judges. */
static bool path_lookup(const char *file, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	size_t flen = strlen(file);
	for (const char *p = path;;) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		/* An empty entry is the working directory. */
		const char *dir = dlen ? p : ".";
		if (!dlen)
			dlen = 1;
		struct stat st;
		if (dlen + 1 + flen < size) {
			memcpy(buf, dir, dlen);
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			if (stat(buf, &st) < 0) {
				if (errno != ENOENT && errno != ENOTDIR && errno != EACCES &&
				    errno != ESTALE && errno != ENODEV && errno != ETIMEDOUT)
					return false;
			} else if (S_ISREG(st.st_mode)) {
				if (faccessat(AT_FDCWD, buf, X_OK, AT_EACCESS) == 0)
					return true;
				if (errno != EACCES)
					return false;
			}
		}
		if (!*end)
			return false;
		p = end + 1;
	}
}

int cb_execvp(const char *file, char *const argv[])
{
	char buf[4096];
	if (*file && !strchr(file, '/') && path_lookup(file, buf, sizeof(buf)))
		execvp(buf, argv); /* a '/': no search, and a script without #! still runs */
	return execvp(file, argv);
}
