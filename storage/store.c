#include "store.h"
#include "digest.h"
#include "fsutil.h"
#include "macro.h"
#include "spare.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_VERSION "1\n"

struct cb_store {
	char *root;
	int root_fd;
	int lock_fd; /* ROOT/lock */
	unsigned lock_depth;
	int gc_fd; /* ROOT/gc.lock */
	unsigned hold_depth;
	struct cb_spare_cache *spare; /* storage/spare.c's, NULL until used */
	bool tmp_deferred;	      /* tmp/'s leftovers: cb_store_clean_tmp_deferred's */
};

static const char *const store_dirs[] = {
    "blobs", "blobs/sha256", "layers", "images", "containers", "tmp", "locks", "trash", "spare",
};

static int write_file_via_tmp(int root_fd, const char *relpath, const void *data, size_t len);

static int store_init_layout(int root_fd, struct cb_error *err)
{
	/* The directories are made in order: a store with the last one has
	 * them all (one lookup per command instead of seven mkdirs). */
	const char *last = store_dirs[ELEMENTSOF(store_dirs) - 1];
	if (faccessat(root_fd, last, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		for (size_t i = 0; i < ELEMENTSOF(store_dirs); i++)
			if (mkdirat(root_fd, store_dirs[i], 0700) < 0 && errno != EEXIST)
				return cb_error_errno(err, errno, "mkdir %s", store_dirs[i]);
	_cleanup_free_ char *v = NULL;
	int r = cb_read_file_at(root_fd, "version", 64, &v, NULL);
	if (r == -ENOENT) {
		struct stat st;
		/* Through tmp/ like every store write: a kill -9 here leaves
		 * only what the leftover cleaner removes. */
		r = write_file_via_tmp(root_fd, "version", STORE_VERSION, strlen(STORE_VERSION));
		/* Another command making the store at the same moment may have
		 * cleared our temporary file, and written the same version. */
		if (r < 0 && fstatat(root_fd, "version", &st, 0) == 0)
			r = 0;
		if (r < 0)
			return cb_error_errno(err, r, "write version");
	} else {
		if (r < 0)
			return cb_error_errno(err, r, "read version");
		if (strcmp(v, STORE_VERSION) != 0)
			return cb_error_set(err, EPROTO, "unsupported store version %.*s",
					    (int)strcspn(v, "\n"), v);
	}
	return 0;
}

static int open_lock_file(int root_fd, const char *name)
{
	int fd = openat(root_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int cb_store_open(const char *root, struct cb_store **ret, struct cb_error *err)
{
	return cb_store_open_flags(root, 0, ret, err);
}

/* The leftovers of killed commands in tmp/, when nobody is adding to the
 * store (their stages are there too). */
static void clean_tmp_if_idle(struct cb_store *s)
{
	if (flock(s->gc_fd, LOCK_EX | LOCK_NB) == 0) {
		cb_store_clean_tmp(s, NULL);
		flock(s->gc_fd, LOCK_UN);
	}
}

void cb_store_clean_tmp_deferred(struct cb_store *s)
{
	if (s->tmp_deferred) {
		s->tmp_deferred = false;
		clean_tmp_if_idle(s);
	}
}

int cb_store_open_flags(const char *root, unsigned flags, struct cb_store **ret,
			struct cb_error *err)
{
	if (!root || root[0] == '\0')
		return cb_error_set(err, EINVAL, "empty store root");
	_cleanup_free_ struct cb_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lock_fd = s->gc_fd = -1;
	/* Made on first use only: every later command just opens it. */
	s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0 && errno == ENOENT) {
		int r = cb_mkdirat_p(AT_FDCWD, root, 0700);
		if (r < 0)
			return cb_error_errno(err, r, "create");
		s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (s->root_fd < 0)
		return cb_error_errno(err, errno, "open");
	int r;
	r = store_init_layout(s->root_fd, err);
	if (r >= 0 && (r = s->lock_fd = open_lock_file(s->root_fd, "lock")) < 0)
		cb_error_errno(err, r, "open lock");
	if (r >= 0 && (r = s->gc_fd = open_lock_file(s->root_fd, "gc.lock")) < 0)
		cb_error_errno(err, r, "open gc.lock");
	if (r >= 0 && !(s->root = realpath(root, NULL)))
		r = cb_error_errno(err, errno, "resolve");
	if (r < 0) {
		closep(&s->root_fd);
		closep(&s->lock_fd);
		closep(&s->gc_fd);
		return r;
	}
	if (flags & CB_STORE_DEFER_TMP)
		s->tmp_deferred = true;
	else
		clean_tmp_if_idle(s);
	*ret = TAKE_PTR(s);
	return 0;
}

void cb_store_free(struct cb_store *s)
{
	if (!s)
		return;
	closep(&s->root_fd);
	closep(&s->lock_fd);
	closep(&s->gc_fd);
	cb_spare_cache_free(s->spare);
	free(s->root);
	free(s);
}

struct cb_spare_cache **cb_store_spare_cache(struct cb_store *s)
{
	return &s->spare;
}

const char *cb_store_root(const struct cb_store *s)
{
	return s->root;
}

int cb_store_root_fd(const struct cb_store *s)
{
	return s->root_fd;
}

static int flock_retry(int fd, int op)
{
	while (flock(fd, op) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int cb_store_lock(struct cb_store *s)
{
	if (s->lock_depth++ > 0)
		return 0;
	int r = flock_retry(s->lock_fd, LOCK_EX);
	if (r < 0)
		s->lock_depth = 0;
	return r;
}

void cb_store_unlock(struct cb_store *s)
{
	if (s->lock_depth > 0 && --s->lock_depth == 0)
		flock(s->lock_fd, LOCK_UN);
}

int cb_store_hold(struct cb_store *s)
{
	if (s->hold_depth++ > 0)
		return 0;
	int r = flock_retry(s->gc_fd, LOCK_SH);
	if (r < 0)
		s->hold_depth = 0;
	return r;
}

int cb_store_hold_exclusive(struct cb_store *s)
{
	if (s->hold_depth++ > 0)
		return -EDEADLK;
	int r = flock_retry(s->gc_fd, LOCK_EX);
	if (r < 0)
		s->hold_depth = 0;
	return r;
}

void cb_store_release(struct cb_store *s)
{
	if (s->hold_depth > 0 && --s->hold_depth == 0)
		flock(s->gc_fd, LOCK_UN);
}

int cb_store_lock_name(struct cb_store *s, const char *name)
{
	if (strchr(name, '/') || name[0] == '.' || name[0] == '\0')
		return -EINVAL;
	_cleanup_close_ int dir = openat(s->root_fd, "locks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	for (;;) {
		_cleanup_close_ int fd =
			openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		int r = flock_retry(fd, LOCK_EX);
		if (r < 0)
			return r;
		/* gc may have unlinked the file between our open and flock: then
		 * our lock guards nothing and we try again. */
		struct stat a, b;
		if (fstat(fd, &a) < 0)
			return -errno;
		if (fstatat(dir, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return TAKE_FD(fd);
	}
}

int cb_store_stage_dir(struct cb_store *s, bool spare, int *ret_fd, char **ret_relpath)
{
	char rnd[33];
	int r = cb_random_hex(rnd, 16);
	if (r < 0)
		return r;
	_cleanup_free_ char *rel = NULL;
	if (asprintf(&rel, "tmp/%s", rnd) < 0)
		return -ENOMEM;
	if ((!spare || cb_spare_take(s, s->root_fd, rel, 0700, false) <= 0) &&
	    mkdirat(s->root_fd, rel, 0700) < 0)
		return -errno;
	int fd = openat(s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		unlinkat(s->root_fd, rel, AT_REMOVEDIR);
		return r;
	}
	*ret_fd = fd;
	*ret_relpath = TAKE_PTR(rel);
	return 0;
}

int cb_store_clean_tmp(struct cb_store *s, unsigned *ret_removed)
{
	if (ret_removed)
		*ret_removed = 0;
	_cleanup_close_ int tmp = openat(s->root_fd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmp < 0)
		return -errno;
	/* Empty nearly always: one small getdents64 on the stack tells, where
	 * opendir would take 32 KB of heap (a foreground run does this at its
	 * peak, CB_STORE_DEFER_TMP: 56 KB more RSS) and four more calls. */
	int r = cb_dir_is_empty(tmp);
	if (r != 0)
		return r < 0 ? r : 0;
	if (lseek(tmp, 0, SEEK_SET) < 0)
		return -errno;
	return cb_rm_entries_at(tmp, NULL, ret_removed);
}

static int write_file_via_tmp(int root_fd, const char *relpath, const void *data, size_t len);

int cb_store_write_file(struct cb_store *s, const char *relpath, const void *data, size_t len)
{
	return write_file_via_tmp(s->root_fd, relpath, data, len);
}

static int write_file_via_tmp(int root_fd, const char *relpath, const void *data, size_t len)
{
	char rnd[33];
	int r = cb_random_hex(rnd, 16);
	if (r < 0)
		return r;
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "tmp/%s", rnd);
	_cleanup_close_ int fd =
		openat(root_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = cb_write_all(fd, data, len);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(root_fd, tmp, root_fd, relpath) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(root_fd, tmp, 0);
		return r;
	}
	/* The rename is durable once the directory that got the name is. */
	_cleanup_free_ char *dir = strdup(relpath);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	_cleanup_close_ int dfd = slash ? (*slash = '\0', openat(root_fd, dir,
								 O_RDONLY | O_DIRECTORY | O_CLOEXEC))
					: fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
	if (dfd >= 0)
		fsync(dfd);
	return 0;
}

static int blob_relpath(const char *digest, char out[128])
{
	if (!cb_digest_valid(digest))
		return -EINVAL;
	snprintf(out, 128, "blobs/sha256/%s", cb_digest_hex(digest));
	return 0;
}

bool cb_store_has_blob(struct cb_store *s, const char *digest)
{
	char rel[128];
	if (blob_relpath(digest, rel) < 0)
		return false;
	return faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int cb_store_put_blob(struct cb_store *s, const char *digest, const void *data, size_t len,
		      struct cb_error *err)
{
	char rel[128];
	if (blob_relpath(digest, rel) < 0)
		return cb_error_set(err, EINVAL, "blob %s: not a sha256 digest", digest);
	char actual[CB_DIGEST_SIZE];
	cb_digest_of(data, len, actual);
	if (strcmp(actual, digest) != 0)
		return cb_error_set(err, EBADMSG, "blob %s: digest mismatch: content is %s",
				    digest, actual);
	if (cb_store_has_blob(s, digest))
		return 0;
	int r = cb_store_write_file(s, rel, data, len);
	if (r < 0)
		return cb_error_errno(err, r, "write blob %s", digest);
	return 0;
}

int cb_store_get_blob(struct cb_store *s, const char *digest, size_t max, char **ret_data,
		      size_t *ret_len, struct cb_error *err)
{
	char rel[128];
	if (blob_relpath(digest, rel) < 0)
		return cb_error_set(err, EINVAL, "blob %s: not a sha256 digest", digest);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = cb_read_file_at(s->root_fd, rel, max, &data, &len);
	if (r == -ENOENT)
		return cb_error_set(err, ENOENT, "blob %s: missing from the store", digest);
	if (r < 0)
		return cb_error_errno(err, r, "read blob %s", digest);
	char actual[CB_DIGEST_SIZE];
	cb_digest_of(data, len, actual);
	if (strcmp(actual, digest) != 0)
		return cb_error_set(err, EBADMSG, "blob %s: damaged in the store (content is %s)",
				    digest, actual);
	*ret_data = TAKE_PTR(data);
	if (ret_len)
		*ret_len = len;
	return 0;
}

bool cb_store_has_layer(struct cb_store *s, const char *chain_id)
{
	if (!cb_digest_valid(chain_id))
		return false;
	char rel[128];
	snprintf(rel, sizeof(rel), "layers/%s/diff", cb_digest_hex(chain_id));
	return faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int cb_store_layer_diff_path(struct cb_store *s, const char *chain_id, char **ret_path)
{
	if (!cb_digest_valid(chain_id))
		return -EINVAL;
	return asprintf(ret_path, "%s/layers/%s/diff", s->root, cb_digest_hex(chain_id)) < 0
		       ? -ENOMEM
		       : 0;
}
