#include "trash.h"
#include "fsutil.h"
#include "macro.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a container's directory holds after a run that wrote nothing,
 * deepest first (cb_rm_known_at). */
static const char *const container_layout[] = {
    "work/work/incompat/volatile/dirty",
    "work/work/incompat/volatile/",
    "work/work/incompat/",
    "work/work/",
    "work/index/",
    "work/",
    "upper/",
    "merged/",
    "container.json",
    NULL,
};

static int trash_fd(struct cb_store *s, bool create)
{
	int fd = openat(cb_store_root_fd(s), "trash", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		/* Removed by hand since the store was opened. */
		if (mkdirat(cb_store_root_fd(s), "trash", 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(cb_store_root_fd(s), "trash", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

int cb_trash_put(struct cb_store *s, const char *rel, char ret_name[33])
{
	int r = cb_random_hex(ret_name, 16);
	if (r < 0)
		return r;
	char to[64];
	snprintf(to, sizeof(to), "trash/%s", ret_name);
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

int cb_trash_delete(struct cb_store *s, const char *name)
{
	_cleanup_close_ int fd = trash_fd(s, false);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	return cb_rm_known_at(fd, name, container_layout);
}

int cb_trash_steps(struct cb_store *s, struct cb_rm_steps **ret)
{
	*ret = NULL;
	int fd = trash_fd(s, false);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	return cb_rm_steps_new(fd, container_layout, ret);
}

int cb_trash_empty(struct cb_store *s, unsigned *ret_removed)
{
	if (ret_removed)
		*ret_removed = 0;
	_cleanup_close_ int fd = trash_fd(s, false);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dupfd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(dupfd);
	if (!d) {
		close(dupfd);
		return -errno;
	}
	int ret = 0;
	unsigned removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = cb_rm_known_at(fd, de->d_name, container_layout);
		if (r < 0 && ret == 0)
			ret = r;
		else if (r >= 0)
			removed++;
	}
	if (ret_removed)
		*ret_removed = removed;
	return ret;
}
