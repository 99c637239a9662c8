#include "overlay.h"
#include "fsutil.h"
#include "macro.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static bool force_legacy;

void cb_overlay_force_legacy(bool on)
{
	force_legacy = on;
}

static bool overlay_available(void)
{
	if (geteuid() != 0)
		return false;
	if (access("/sys/module/overlay", F_OK) == 0)
		return true;
	/* Not loaded yet: fsopen() would load it; look for it in the list of
	 * filesystems or trust the module loader. */
	_cleanup_free_ char *fs = NULL;
	if (cb_read_file_at(AT_FDCWD, "/proc/filesystems", 1 << 16, &fs, NULL) >= 0 &&
	    strstr(fs, "\toverlay\n"))
		return true;
	return access("/lib/modules", F_OK) == 0;
}

/* The kernel's own words about a failed fsconfig, read from the context fd
 * ("e overlayfs: failed to resolve 'x': -2"), joined into msg. */
static void read_fs_log(int fd, char *msg, size_t size)
{
	msg[0] = '\0';
	char line[512];
	ssize_t n;
	while ((n = read(fd, line, sizeof(line) - 1)) > 0) {
		line[n] = '\0';
		const char *text = line[0] && line[1] == ' ' ? line + 2 : line;
		size_t used = strlen(msg);
		snprintf(msg + used, size - used, "%s%s", used ? "; " : "", text);
	}
}

static int overlay_fail(int fsfd, struct cb_error *err, int code, const char *what,
			const char *step)
{
	char klog[512];
	read_fs_log(fsfd, klog, sizeof(klog));
	if (klog[0])
		return cb_error_set(err, code, "%s: overlay mount: %s: %s", what, step, klog);
	return cb_error_errno(err, code, "%s: overlay mount: %s", what, step);
}

static int set_string(int fsfd, const char *key, const char *value)
{
	return RET_NERRNO(fsconfig(fsfd, FSCONFIG_SET_STRING, key, value, 0));
}

int cb_overlay_legacy_lowerdir(size_t n, char **ret)
{
	size_t cap = n * 12 + 1;
	char *s = malloc(cap), *p = s;
	if (!s)
		return -ENOMEM;
	*p = '\0';
	for (size_t i = 0; i < n; i++)
		p += snprintf(p, cap - (size_t)(p - s), "%sl/%zu", i ? ":" : "", i);
	*ret = s;
	return 0;
}

/* Linux < 6.8 (and < 6.5, where overlay has no fs_context of its own and
 * fsconfig only collects a legacy option string): one mount(2) with short
 * relative lower paths. The symlinks live in ROOT/containers/<id>/l/ only
 * during the call; overlayfs resolves them at mount time. */
static int mount_legacy(const struct cb_mount_request *req, struct cb_error *err)
{
	int cfd = req->container_fd;
	_cleanup_free_ char *lower = NULL, *data = NULL;
	_cleanup_close_ int cwd = -1;
	/* Asked for a detached mount, which mount(2) cannot give: target may
	 * not exist yet. */
	if (req->ret_fd && mkdir(req->target, 0755) < 0 && errno != EEXIST)
		return cb_error_errno(err, errno, "%s: mkdir %s", req->what, req->target);
	int r = cb_rm_rf_at(cfd, "l");
	if (r < 0)
		return cb_error_errno(err, r, "%s: clear l/", req->what);
	if (mkdirat(cfd, "l", 0700) < 0)
		return cb_error_errno(err, errno, "%s: mkdir l/", req->what);
	for (size_t i = 0; i < req->n_lower; i++) {
		char name[32];
		snprintf(name, sizeof(name), "l/%zu", i);
		if (symlinkat(req->lower_dirs[i], cfd, name) < 0) {
			r = cb_error_errno(err, errno, "%s: symlink %s", req->what, name);
			goto remove_links;
		}
	}
	r = cb_overlay_legacy_lowerdir(req->n_lower, &lower);
	if (r < 0)
		goto remove_links;
	if (req->flags & CB_MOUNT_READONLY)
		r = asprintf(&data,
			     "lowerdir=%s,index=off,redirect_dir=off,metacopy=off,xino=off,"
			     "uuid=off",
			     lower);
	else
		r = asprintf(&data,
			     "lowerdir=%s,upperdir=%s,workdir=%s,index=off,redirect_dir=off,"
			     "metacopy=off,xino=off,uuid=off%s",
			     lower, req->upper_dir, req->work_dir,
			     req->flags & CB_MOUNT_VOLATILE ? ",volatile" : "");
	if (r < 0) {
		r = -ENOMEM;
		goto remove_links;
	}
	if (strlen(data) >= 4096) {
		r = cb_error_set(err, E2BIG, "%s: overlay mount: %zu layers do not fit the legacy "
					     "mount options on this kernel",
				 req->what, req->n_lower);
		goto remove_links;
	}
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || fchdir(cfd) < 0) {
		r = cb_error_errno(err, errno, "%s: enter the container directory", req->what);
		goto remove_links;
	}
	unsigned long flags = MS_NODEV | (req->flags & CB_MOUNT_READONLY ? MS_RDONLY : 0);
	r = RET_NERRNO(mount("cowbox", req->target, "overlay", flags, data));
	int saved = errno;
	if (fchdir(cwd) < 0) {
		/* cannot happen for an O_PATH dir fd we hold; keep going */
	}
	errno = saved;
	if (r < 0)
		cb_error_errno(err, -r, "%s: overlay mount (legacy, %zu layers)", req->what,
			       req->n_lower);
remove_links:
	cb_rm_rf_at(cfd, "l");
	return r;
}

static int overlay_mount_new(const struct cb_mount_request *req, int fsfd,
			     const char *const *lower, struct cb_error *err);

enum { IDPATH_SIZE = 32 };

/* Idmapped layers: a detached clone of each layer dir, idmapped through
 * req->idmap_userns_fd, named to overlayfs by its /proc/self/fd path in
 * paths (n_lower * IDPATH_SIZE) and ret_lower; the overlay keeps its own
 * references, so the caller closes fds after the create. On failure no
 * fd is left open. */
static int open_idmapped_layers(const struct cb_mount_request *req, int *fds, char *paths,
				const char **ret_lower, struct cb_error *err)
{
	for (size_t i = 0; i < req->n_lower; i++)
		fds[i] = -1;
	for (size_t i = 0; i < req->n_lower; i++) {
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP,
					  .userns_fd = (uint64_t)req->idmap_userns_fd};
		fds[i] = open_tree(AT_FDCWD, req->lower_dirs[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (fds[i] < 0 || mount_setattr(fds[i], "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
			int r = cb_error_errno(err, errno, "%s: idmap layer %s", req->what,
					       req->lower_names[i]);
			for (size_t k = 0; k <= i; k++)
				closep(&fds[k]);
			return r;
		}
		snprintf(paths + IDPATH_SIZE * i, IDPATH_SIZE, "/proc/self/fd/%d", fds[i]);
		ret_lower[i] = paths + IDPATH_SIZE * i;
	}
	return 0;
}

static int overlay_mount(const struct cb_mount_request *req, struct cb_error *err)
{
	if (req->n_lower == 0)
		return cb_error_set(err, EINVAL, "%s: an image without layers", req->what);
	if (force_legacy)
		return mount_legacy(req, err);
	_cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0) {
		/* ENODEV: the module is not loaded yet; mount(2) loads it. */
		if (errno == ENOSYS || errno == ENODEV)
			return mount_legacy(req, err);
		return cb_error_errno(err, errno, "%s: fsopen overlay", req->what);
	}
	/* Linux < 6.5 wraps overlay in a legacy context that accepts any key
	 * and only fails at create time; overlay's own context refuses an
	 * unknown key at once. */
	if (set_string(fsfd, "cowbox_probe", "1") >= 0)
		return mount_legacy(req, err);
	/* What mount(8) shows as the source, as with mount(2) (legacy). */
	if (set_string(fsfd, "source", "cowbox") < 0)
		return overlay_fail(fsfd, err, errno, req->what, "source");
	const char *const *lower = req->lower_dirs;
	_cleanup_free_ int *idfds = NULL;
	_cleanup_free_ char *idpaths = NULL;
	_cleanup_free_ const char **lower_idmapped = NULL;
	if (req->idmapped) {
		idfds = malloc(req->n_lower * sizeof(int));
		idpaths = malloc(req->n_lower * IDPATH_SIZE);
		lower_idmapped = calloc(req->n_lower, sizeof(char *));
		if (!idfds || !idpaths || !lower_idmapped)
			return -ENOMEM;
		int r = open_idmapped_layers(req, idfds, idpaths, lower_idmapped, err);
		if (r < 0)
			return r;
		lower = lower_idmapped;
	}
	int r = overlay_mount_new(req, fsfd, lower, err);
	if (idfds)
		for (size_t i = 0; i < req->n_lower; i++)
			closep(&idfds[i]);
	return r;
}

/* The new API with lowerdir+, a layer at a time (no page limit). */
static int overlay_mount_new(const struct cb_mount_request *req, int fsfd,
			     const char *const *lower, struct cb_error *err)
{
	int r = set_string(fsfd, "lowerdir+", lower[0]);
	if (r == -EINVAL) {
		char klog[512];
		read_fs_log(fsfd, klog, sizeof(klog));
		if (strstr(klog, "nknown parameter") || !klog[0])
			return mount_legacy(req, err); /* 6.5 - 6.7 */
		return cb_error_set(err, EINVAL, "%s: layer %s: %s", req->what,
				    req->lower_names[0], klog);
	}
	if (r < 0)
		return overlay_fail(fsfd, err, -r, req->what, "top layer");
	for (size_t i = 1; i < req->n_lower; i++) {
		r = set_string(fsfd, "lowerdir+", lower[i]);
		if (r < 0) {
			char step[160];
			snprintf(step, sizeof(step), "layer %s", req->lower_names[i]);
			return overlay_fail(fsfd, err, -r, req->what, step);
		}
	}
	if (!(req->flags & CB_MOUNT_READONLY)) {
		if ((r = set_string(fsfd, "upperdir", req->upper_dir)) < 0)
			return overlay_fail(fsfd, err, -r, req->what, "upper dir");
		if ((r = set_string(fsfd, "workdir", req->work_dir)) < 0)
			return overlay_fail(fsfd, err, -r, req->what, "work dir");
	}
	static const char *const opts[][2] = {
	    {"index", "off"}, {"redirect_dir", "off"}, {"metacopy", "off"},
	    {"xino", "off"},  {"uuid", "off"},
	};
	for (size_t i = 0; i < ELEMENTSOF(opts); i++)
		if ((r = set_string(fsfd, opts[i][0], opts[i][1])) < 0)
			return overlay_fail(fsfd, err, -r, req->what, opts[i][0]);
	if ((req->flags & CB_MOUNT_VOLATILE) && !(req->flags & CB_MOUNT_READONLY) &&
	    fsconfig(fsfd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
		return overlay_fail(fsfd, err, errno, req->what, "volatile");
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return overlay_fail(fsfd, err, errno, req->what, "create");
	unsigned attr = MOUNT_ATTR_NODEV | (req->flags & CB_MOUNT_READONLY ? MOUNT_ATTR_RDONLY : 0);
	_cleanup_close_ int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attr);
	if (mfd < 0)
		return overlay_fail(fsfd, err, errno, req->what, "fsmount");
	if (req->ret_fd) {
		*req->ret_fd = TAKE_FD(mfd);
		return 0;
	}
	if (move_mount(mfd, "", AT_FDCWD, req->target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cb_error_errno(err, errno, "%s: move_mount to %s", req->what, req->target);
	return 0;
}

static int overlay_unmount(const char *target, bool lazy, struct cb_error *err)
{
	if (umount2(target, UMOUNT_NOFOLLOW | (lazy ? MNT_DETACH : 0)) < 0) {
		if (errno == EBUSY)
			return cb_error_set(err, EBUSY,
					    "rootfs %s is busy (a process uses it): stop it, "
					    "or use -f to detach it lazily",
					    target);
		return cb_error_errno(err, errno, "unmount %s", target);
	}
	return 0;
}

const struct cb_rootfs_driver cb_overlay_driver = {
	.name = "overlay",
	.fs_magic = CB_OVERLAY_SUPER_MAGIC,
	.available = overlay_available,
	.mount = overlay_mount,
	.unmount = overlay_unmount,
};
