#include "trash.h"
#include "fsutil.h"
#include "macro.h"
#include "spare.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a container's directory holds after a run that wrote nothing,
 * deepest first (cb_rm_known_at), with either rootfs driver. */
static const char *const container_layout[] = {
    "work/work/incompat/volatile/dirty",
    "work/work/incompat/volatile/",
    "work/work/incompat/",
    "work/work/",
    "work/index/",
    "work/cowbox-fuse/", /* the FUSE driver's (storage/fuse) */
    "work/",
    "upper/",
    "merged/",
    "container.json",
    NULL,
};

static int trash_fd(struct cb_store *s, bool create)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(cb_store_root_fd(s), "trash", flags);
	if (fd < 0 && errno == ENOENT && create) {
		/* Removed by hand since the store was opened. */
		if (mkdirat(cb_store_root_fd(s), "trash", 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(cb_store_root_fd(s), "trash", flags);
	}
	return fd < 0 ? -errno : fd;
}

/* No trash, or something else where it should be (a link, a file): none
 * to delete; cb_trash_put fails on it and the caller deletes in place. */
static bool no_trash(int r)
{
	return r == -ENOENT || r == -ENOTDIR || r == -ELOOP;
}

/* The trash's name for an entry to take apart into spares. */
#define RECYCLE_PREFIX "r-"

int cb_trash_put(struct cb_store *s, const char *rel, const char *name, bool recycle)
{
	char to[128];
	snprintf(to, sizeof(to), "trash/%s%s", recycle ? RECYCLE_PREFIX : "", name);
	int root = cb_store_root_fd(s);
	if (renameat(root, rel, root, to) == 0)
		return 0;
	if (errno != ENOENT || faccessat(root, rel, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	_cleanup_close_ int fd = trash_fd(s, true);
	if (fd < 0)
		return fd;
	return renameat(root, rel, root, to) < 0 ? -errno : 0;
}

int cb_trash_delete_dir(struct cb_store *s, const char *rel)
{
	int r = cb_rm_known_at(cb_store_root_fd(s), rel, container_layout);
	return r < 0 ? r : 0;
}

/* The steps' keeper: the directories of an entry put to be recycled
 * become spares while there is room. */
static bool keep_spare(void *opaque, int dirfd, const char *name, const char *entry)
{
	return strncmp(entry, RECYCLE_PREFIX, strlen(RECYCLE_PREFIX)) == 0 &&
	       cb_spare_keep(opaque, dirfd, name) > 0;
}

int cb_trash_steps(struct cb_store *s, struct cb_rm_steps **ret)
{
	*ret = NULL;
	int fd = trash_fd(s, false);
	if (fd < 0)
		return no_trash(fd) ? 0 : fd;
	int r = cb_rm_steps_new(fd, container_layout, ret);
	if (r >= 0)
		cb_rm_steps_set_keep(*ret, keep_spare, s);
	return r;
}

int cb_trash_empty(struct cb_store *s, unsigned *ret_removed)
{
	if (ret_removed)
		*ret_removed = 0;
	_cleanup_close_ int fd = trash_fd(s, false);
	if (fd < 0)
		return no_trash(fd) ? 0 : fd;
	return cb_rm_entries_at(fd, container_layout, ret_removed);
}
