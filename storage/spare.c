#include "spare.h"
#include "fsutil.h"
#include "macro.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

/* A name of the directory read at fd, other than . and .., one at a
 * time: 1 with it in *ret, 0 at the end, -errno. */
struct dir_reader {
	int fd;
	char buf[2048] __attribute__((aligned(8)));
	ssize_t len, off;
};

static int next_name(struct dir_reader *d, const char **ret)
{
	for (;;) {
		if (d->off >= d->len) {
			d->len = getdents64(d->fd, d->buf, sizeof(d->buf));
			d->off = 0;
			if (d->len <= 0)
				return d->len < 0 ? -errno : 0;
		}
		const struct dirent64 *de = (const struct dirent64 *)(d->buf + d->off);
		d->off += de->d_reclen;
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			*ret = de->d_name;
			return 1;
		}
	}
}

/* What a command knows of ROOT/spare: its fd, and names read from it
 * not yet tried (one getdents for the few a container takes). */
struct cb_spare_cache {
	bool off; /* no spare/, or a store where recycling does not pay */
	int fd;
	int count; /* spares there, read at the first keep (-1 before) */
	char names[8][64];
	unsigned n, next;
};

void cb_spare_cache_free(struct cb_spare_cache *c)
{
	if (!c)
		return;
	closep(&c->fd);
	free(c);
}

/* The store's spare/ fd, or -1 when spares are off: none there, or a
 * store in memory (a tmpfs), where a mkdir and an rmdir cost ~5 us each
 * and the renames and checks would cost more than they save. */
static int spare_fd(struct cb_store *s, struct cb_spare_cache **ret)
{
	struct cb_spare_cache **slot = cb_store_spare_cache(s);
	if (!*slot) {
		struct cb_spare_cache *c = calloc(1, sizeof(*c));
		if (!c)
			return -1;
		struct statfs sf;
		c->fd = c->count = -1;
		c->off = fstatfs(cb_store_root_fd(s), &sf) < 0 || sf.f_type == TMPFS_MAGIC ||
			 sf.f_type == RAMFS_MAGIC;
		if (!c->off)
			c->fd = openat(cb_store_root_fd(s), "spare",
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		c->off = c->off || c->fd < 0;
		*slot = c;
	}
	*ret = *slot;
	return (*slot)->off ? -1 : (*slot)->fd;
}

/* The next name in spare/ to try, read ahead a few at a time. */
static const char *next_spare(struct cb_spare_cache *c)
{
	if (c->next >= c->n) {
		struct dir_reader d = {.fd = c->fd};
		const char *e;
		c->n = c->next = 0;
		if (lseek(c->fd, 0, SEEK_SET) < 0)
			return NULL;
		while (c->n < ELEMENTSOF(c->names) && next_name(&d, &e) > 0)
			if (strlen(e) < sizeof(c->names[0]))
				snprintf(c->names[c->n++], sizeof(c->names[0]), "%s", e);
		if (c->n == 0)
			return NULL;
	}
	return c->names[c->next++];
}

int cb_spare_take(struct cb_store *s, int dirfd, const char *name, mode_t mode, bool check)
{
	struct cb_spare_cache *c;
	int sp = spare_fd(s, &c);
	if (sp < 0)
		return 0;
	const char *e;
	while ((e = next_spare(c))) {
		if (renameat2(sp, e, dirfd, name, RENAME_NOREPLACE) < 0) {
			if (errno == ENOENT)
				continue; /* another command took it */
			return -errno;
		}
		/* Kept empty (cb_spare_keep); one that is not after all (put
		 * there by hand) is deleted, never used. */
		if (check && cb_dir_is_empty_at(dirfd, name) != 1) {
			(void)cb_rm_rf_at(dirfd, name);
			continue;
		}
		static const struct timespec now[2] = {{.tv_nsec = UTIME_NOW},
						       {.tv_nsec = UTIME_NOW}};
		if (fchmodat(dirfd, name, mode, 0) < 0 ||
		    (check && utimensat(dirfd, name, now, AT_SYMLINK_NOFOLLOW) < 0)) {
			int r = -errno;
			(void)unlinkat(dirfd, name, AT_REMOVEDIR);
			return r;
		}
		if (c->count > 0)
			c->count--;
		return 1;
	}
	return 0;
}

/* Drop overlayfs's own attributes (the uuid it wrote on an upper dir's
 * root before cowbox mounted with uuid=off); true when no other is
 * left. */
static bool strip_xattrs(int fd)
{
	char list[1024];
	ssize_t n = flistxattr(fd, list, sizeof(list));
	if (n < 0)
		return errno == ENOTSUP;
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(list + off) + 1) {
		const char *x = list + off;
		if (strncmp(x, "trusted.overlay.", 16) != 0 || fremovexattr(fd, x) < 0)
			return false;
	}
	return true;
}

static unsigned count_spares(int sp)
{
	struct dir_reader d = {.fd = sp};
	const char *e;
	unsigned n = 0;
	while (n < CB_SPARE_MAX && next_name(&d, &e) > 0)
		n++;
	return n;
}

int cb_spare_keep(struct cb_store *s, int dirfd, const char *name)
{
	struct cb_spare_cache *c;
	int sp = spare_fd(s, &c);
	if (sp < 0)
		return 0;
	_cleanup_close_ int fd =
	    openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_uid != 0 || st.st_gid != 0 || cb_dir_is_empty(fd) != 1 || !strip_xattrs(fd))
		return 0;
	/* Counted once per command: the six of an entry need not read the
	 * directory six times (others' keeps in between may overshoot the
	 * limit by a few). */
	if (c->count < 0)
		c->count = lseek(sp, 0, SEEK_SET) < 0 ? CB_SPARE_MAX : (int)count_spares(sp);
	if (c->count >= CB_SPARE_MAX)
		return 0;
	char rnd[33];
	int r = cb_random_hex(rnd, 16);
	if (r < 0)
		return r;
	if (renameat2(dirfd, name, sp, rnd, RENAME_NOREPLACE) < 0)
		return errno == ENOENT ? 0 : -errno;
	c->count++;
	return 1;
}

int cb_spare_empty(struct cb_store *s, unsigned *ret_removed)
{
	if (ret_removed)
		*ret_removed = 0;
	_cleanup_close_ int sp =
	    openat(cb_store_root_fd(s), "spare", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sp < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -errno;
	return cb_rm_entries_at(sp, NULL, ret_removed);
}
