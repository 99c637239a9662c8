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
 * deepest first: removed by name, one unlinkat each, before a walk takes
 * whatever is left (on ext4 each readdir and stat saved is measurable).
 * A failure (ENOENT, ENOTEMPTY) just leaves it to the walk. */
static const struct {
	const char *name;
	bool dir;
} known_layout[] = {
    {"work/work/incompat/volatile/dirty", false},
    {"work/work/incompat/volatile", true},
    {"work/work/incompat", true},
    {"work/work", true},
    {"work/index", true},
    {"work", true},
    {"upper", true},
    {"merged", true},
    {"container.json", false},
};

static int trash_fd(struct cb_store *s, bool create)
{
	int fd = openat(cb_store_root_fd(s), "trash", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		/* Stores made before the trash existed get it at first use. */
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

/* Remove known_layout[*next...] under dir/name until one removal happens;
 * false when the list is done. */
static bool remove_next_known(int dir, const char *name, size_t *next)
{
	while (*next < ELEMENTSOF(known_layout)) {
		char path[256];
		size_t i = (*next)++;
		snprintf(path, sizeof(path), "%s/%s", name, known_layout[i].name);
		if (unlinkat(dir, path, known_layout[i].dir ? AT_REMOVEDIR : 0) == 0)
			return true;
	}
	return false;
}

static int delete_entry(int dir, const char *name)
{
	size_t next = 0;
	while (remove_next_known(dir, name, &next))
		;
	if (unlinkat(dir, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	return cb_rm_rf_at(dir, name);
}

int cb_trash_delete(struct cb_store *s, const char *name)
{
	_cleanup_close_ int fd = trash_fd(s, false);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	return delete_entry(fd, name);
}

struct cb_trash_cursor {
	struct cb_store *store;
	DIR *dir; /* trash/, opened at the first step */
	bool done;
	bool in_entry; /* name is being deleted, known_layout[next] onwards */
	size_t next;
	char name[256];
};

int cb_trash_cursor_new(struct cb_store *s, struct cb_trash_cursor **ret)
{
	struct cb_trash_cursor *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->store = s;
	*ret = t;
	return 0;
}

void cb_trash_cursor_free(struct cb_trash_cursor *t)
{
	if (!t)
		return;
	if (t->dir)
		closedir(t->dir);
	free(t);
}

/* The next entry of trash/ into t->name; false at the end. */
static bool next_entry(struct cb_trash_cursor *t)
{
	if (!t->dir) {
		int fd = trash_fd(t->store, false);
		if (fd < 0 || !(t->dir = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			return false;
		}
	}
	struct dirent *de;
	while ((de = readdir(t->dir)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			snprintf(t->name, sizeof(t->name), "%s", de->d_name);
			return true;
		}
	return false;
}

int cb_trash_step(struct cb_trash_cursor *t)
{
	if (t->done)
		return 0;
	if (!t->in_entry) {
		if (!next_entry(t)) {
			t->done = true;
			return 0;
		}
		t->in_entry = true;
		t->next = 0;
	}
	int dir = dirfd(t->dir);
	if (remove_next_known(dir, t->name, &t->next))
		return 1;
	/* Its known layout is gone: the directory itself, or a walk of what
	 * else it held. Another command deleting it too is no error. */
	t->in_entry = false;
	if (unlinkat(dir, t->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		(void)cb_rm_rf_at(dir, t->name);
	return 1;
}

int cb_trash_empty(struct cb_store *s, unsigned *ret_removed)
{
	_cleanup_close_ int fd = trash_fd(s, false);
	if (ret_removed)
		*ret_removed = 0;
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
		int r = delete_entry(fd, de->d_name);
		if (r < 0 && ret == 0)
			ret = r;
		else if (r >= 0)
			removed++;
	}
	if (ret_removed)
		*ret_removed = removed;
	return ret;
}
