/* Rootfs drivers: the ways a container's layers and upper dir become one
 * mounted tree. storage/container.c picks a driver and hands it a mount
 * request; a driver knows nothing of images, names or container.json.
 *
 * Adding a driver (e.g. FUSE): write storage/<name>.c defining one
 * `const struct cb_rootfs_driver cb_<name>_driver`, declare it below, add
 * it to the table in storage/driver.c and the file to storage/meson.build. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

enum cb_driver_kind {
	CB_DRIVER_AUTO, /* overlay when the kernel lets us, else fuse */
	CB_DRIVER_OVERLAY,
	CB_DRIVER_FUSE,
};

enum cb_mount_flags {
	CB_MOUNT_VOLATILE = 1 << 0, /* no syncs to upper (a --rm container) */
	CB_MOUNT_READONLY = 1 << 1, /* no upper: a read-only view of the layers */
};

/* Everything a driver needs to mount one container rootfs. Paths are
 * absolute; the fds are O_DIRECTORY (O_PATH is fine) and stay open for
 * the call. */
struct cb_mount_request {
	const char *what;		/* names the container in errors: "container 1a2b3c4d5e6f" */
	const char *const *lower_dirs;	/* the layers' diff dirs, TOP FIRST */
	const char *const *lower_names; /* chain IDs in the same order, for errors */
	size_t n_lower;
	const char *upper_dir, *work_dir; /* work_dir: the driver's scratch space */
	const char *target;		  /* an existing empty directory */
	int container_fd;		  /* ROOT/containers/<id>: room for short-lived helpers */
	unsigned flags;			  /* enum cb_mount_flags */
	/* Non-NULL: the caller can take the rootfs as a detached mount (an
	 * fsmount fd, attached later in another mount namespace) instead of
	 * a mount on target. A driver that can sets *ret_fd and leaves target
	 * alone; one that cannot mounts target as usual (*ret_fd stays -1). */
	int *ret_fd;
	/* With idmapped, every lower dir is seen through an idmapped mount
	 * of user namespace idmap_userns_fd (files owned by 0 show as the
	 * namespace's root), so a container in that namespace owns its
	 * image. A driver that cannot (legacy overlay, fuse) ignores it. */
	bool idmapped;
	int idmap_userns_fd;
};

struct cb_rootfs_driver {
	const char *name;	 /* "overlay", "fuse": what --storage-driver says */
	unsigned long fs_magic; /* statfs f_type of a mounted rootfs, to pick unmount */
	/* Can this process use the driver here? (kernel support, privileges) */
	bool (*available)(void);
	/* Mount req->target. On failure nothing stays mounted. */
	int (*mount)(const struct cb_mount_request *req, struct cb_error *err);
	/* Unmount target (lazily: detach now, free when the last user goes).
	 * -EBUSY when it is in use and lazy is false. */
	int (*unmount)(const char *target, bool lazy, struct cb_error *err);
};

extern const struct cb_rootfs_driver cb_overlay_driver;
extern const struct cb_rootfs_driver cb_fuse_driver; /* storage/fuse.c */

/* "overlay" | "fuse" | "auto" | NULL (= auto) into a kind. */
int cb_driver_parse(const char *name, enum cb_driver_kind *ret);
/* The driver for kind: for AUTO the first available one. -ENOTSUP (err
 * says why) when the kind is not built in or cannot work here. */
int cb_driver_get(enum cb_driver_kind kind, const struct cb_rootfs_driver **ret,
		  struct cb_error *err);
/* The driver whose filesystem type is fs_magic, or NULL. */
const struct cb_rootfs_driver *cb_driver_for_magic(unsigned long fs_magic);
