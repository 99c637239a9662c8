/* Keep the host's cowbox binary out of a container's reach (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

int cli_reexec_readonly(struct cb_cli *cli)
{
	struct statvfs sv;
	if (statvfs("/proc/self/exe", &sv) == 0 && (sv.f_flag & ST_RDONLY))
		return 0; /* already (or installed on a read-only /usr) */
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
			      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0)
		syscall(SYS_execveat, fd, "", cli->argv, environ, AT_EMPTY_PATH);
	int e = errno;
	close(fd);
	return -e;
}
