/* The container's filesystem, set up by the child in its new mount
 * namespace: `/` made rslave, the rootfs bound and pivoted into, the old
 * root detached; /proc, /sys (read-only), a tmpfs /dev with the usual
 * nodes, /dev/pts (newinstance), /dev/shm, /dev/mqueue; /etc/hostname,
 * /etc/hosts and /etc/resolv.conf bound from generated files (the rootfs
 * directory is not changed, except that a missing mount point is made);
 * volumes, tmpfs mounts; runc's masked and read-only paths; --read-only.
 *
 * Paths inside the container are resolved after pivot_root, so a symlink
 * in the rootfs can only point inside it. Host paths (volume sources, host
 * device nodes for a user namespace) are opened before the pivot. */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/* Run in the child. hostname is the final hostname; in_userns says the
 * child cannot mknod and binds host device nodes instead. rootfs_fd >= 0:
 * the rootfs is already mounted in this namespace (by cowbox, for a user
 * namespace: see runtime.c) and this is an fd of it, which is taken.
 * late_sock >= 0: the rootfs is a detached mount that comes as an 'R'
 * report on that socket (spec->rootfs_late), waited for only once what
 * needs no rootfs is done; with report_ready, a 'W' report says then
 * when that was (ns, CLOCK_MONOTONIC: the spare network namespaces'
 * rule, netpool.h). */
int cb_mounts_setup(const struct cb_spawn_spec *spec, const char *hostname, bool in_userns,
		    int rootfs_fd, int late_sock, bool report_ready, struct cb_error *err);
/* Attach a detached mount (fsmount, open_tree(OPEN_TREE_CLONE)) on the
 * path to. 0 or -1 with errno. */
int cb_mount_move(int from_fd, const char *to);
/* Without a mount namespace: just chroot into the rootfs (no mounts are
 * possible without touching the host's); mounts asked for are an error. */
int cb_mounts_chroot(const struct cb_spawn_spec *spec, struct cb_error *err);
