/* The FUSE rootfs driver, mount side: start a cowbox-fuse server for an
 * overlay of layer dirs and an upper dir, and take it down again. The
 * server writes the upper dir in the kernel overlayfs format (whiteouts as
 * 0:0 char devices, trusted.overlay.opaque=y), so a stopped container can
 * be mounted by either driver. Nothing here knows about containers or the
 * store: callers pass directories. */
#pragma once

#include <stdbool.h>
#include "error.h"

struct cb_fuse_options {
	/* The cowbox-fuse program; NULL: $COWBOX_FUSE_HELPER, then next to the
	 * running executable, then the build tree (../storage/fuse/), then the
	 * install location (LIBEXECDIR/cowbox/cowbox-fuse). */
	const char *helper;
	/* The server's log (one line per damaged layer, fatal errors); NULL:
	 * none. Appended to, created 0600. */
	const char *log_path;
	/* Extra server options as for its -o (e.g. "no_writeback,timeout=1");
	 * NULL: the defaults. */
	const char *server_options;
};

/* Mount lowers (NULL-terminated, top layer first), upper and work at
 * target through a new cowbox-fuse server (upper and work NULL: a
 * read-only view of the lowers), and return once the mount is
 * live: the caller can use target at once. The server runs detached (its
 * own session, no fds of the caller but stdio on /dev/null) and exits
 * when target is unmounted. work must be on the filesystem of upper;
 * the server uses WORK/cowbox-fuse and leaves WORK/work to overlayfs.
 * opts may be NULL. On failure err says which dir or step failed (the
 * server's own line when it refused) and nothing is mounted. */
int cb_fuse_mount(const char *const *lowers, const char *upper, const char *work,
		  const char *target, const struct cb_fuse_options *opts, struct cb_error *err);

/* Unmount a cowbox-fuse mount; its server then exits by itself. lazy
 * detaches a busy mount (MNT_DETACH): the only way out after the server
 * was killed while files were open. -EINVAL when target is not a FUSE
 * mount, -EBUSY when busy and not lazy. */
int cb_fuse_unmount(const char *target, bool lazy);

/* True when target is the root of a FUSE mount. */
bool cb_fuse_is_mounted(const char *target);

/* The rootfs driver "fuse" for storage/driver.c's table is
 * cb_fuse_driver, declared in driver.h. */

/* Find the cowbox-fuse program as cb_fuse_mount would (opts->helper
 * aside); *ret_path is the caller's to free. -ENOENT when there is none. */
int cb_fuse_find_helper(char **ret_path);
