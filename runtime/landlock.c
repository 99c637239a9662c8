/* cowbox keeps the capability to mknod (docker's default set has it) but
 * has no device cgroup: without a guard, a container's root could
 * `mknod /dev/sda b 8 0` in its /dev (a tmpfs: device nodes work there)
 * and read the host's disk. Every other mount of a container is nodev
 * (the overlay rootfs, /dev/shm, tmpfs mounts), so the nodes cowbox made
 * in /dev are the only ones that open; this Landlock domain keeps the
 * container from adding any. Creating nodes needs --privileged.
 * Landlock is checked against the creds of the task that asks, so
 * overlayfs, which makes its whiteouts (0:0 character devices) with the
 * mounter's creds, is not affected. */
#include "landlock.h"

#include <errno.h>
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

int cb_landlock_forbid_devices(void)
{
	if (syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) < 0)
		return errno == ENOSYS || errno == EOPNOTSUPP ? 0 : -errno;
	struct landlock_ruleset_attr attr = {
	    .handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK,
	};
	int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return -errno;
	int r = syscall(SYS_landlock_restrict_self, fd, 0) < 0 ? -errno : 1;
	close(fd);
	return r;
}
