/* The FUSE rootfs driver, mount side: see fuse.h. */
#include "fuse.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver.h"
#include "fsutil.h"
#include "macro.h"

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif
#ifndef CB_FUSE_HELPER_INSTALLED
#define CB_FUSE_HELPER_INSTALLED "/usr/local/libexec/cowbox/cowbox-fuse"
#endif

static bool executable_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int cb_fuse_find_helper(char **ret_path)
{
	const char *env = getenv("COWBOX_FUSE_HELPER");
	char *p = NULL;
	if (env && *env) {
		if (!executable_file(env))
			return -ENOENT;
		p = strdup(env);
		goto found;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		const char *dir = dirname(exe);
		static const char *const rel[] = {"cowbox-fuse", "../storage/fuse/cowbox-fuse",
						  "../libexec/cowbox/cowbox-fuse"};
		for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
			free(p);
			if (asprintf(&p, "%s/%s", dir, rel[i]) < 0)
				return -ENOMEM;
			if (executable_file(p))
				goto found;
		}
		free(p);
		p = NULL;
	}
	if (!executable_file(CB_FUSE_HELPER_INSTALLED))
		return -ENOENT;
	p = strdup(CB_FUSE_HELPER_INSTALLED);
found:
	if (!p)
		return -ENOMEM;
	*ret_path = p;
	return 0;
}

bool cb_fuse_is_mounted(const char *target)
{
	struct statfs sf;
	return statfs(target, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

int cb_fuse_mount(const char *const *lowers, const char *upper, const char *work,
		  const char *target, const struct cb_fuse_options *opts, struct cb_error *err)
{
	static const struct cb_fuse_options none;
	if (!opts)
		opts = &none;
	_cleanup_free_ char *helper = NULL;
	int r;
	if (opts->helper) {
		if (!(helper = strdup(opts->helper)))
			return cb_error_errno(err, ENOMEM, "fuse mount %s", target);
	} else if ((r = cb_fuse_find_helper(&helper)) < 0) {
		return cb_error_set(err, -r,
				    "fuse mount %s: cowbox-fuse not found "
				    "(set COWBOX_FUSE_HELPER)",
				    target);
	}
	if (access("/dev/fuse", R_OK | W_OK) < 0)
		return cb_error_errno(err, errno, "fuse mount %s: /dev/fuse", target);

	size_t n_lowers = 0;
	while (lowers && lowers[n_lowers])
		n_lowers++;
	if (n_lowers == 0)
		return cb_error_set(err, EINVAL, "fuse mount %s: no lower dirs", target);
	/* helper --daemon [--log F] [-o O] (--lower L)... --upper U --work W target */
	size_t argc = 0, max = 2 * n_lowers + 16;
	_cleanup_free_ const char **argv = calloc(max, sizeof(*argv));
	if (!argv)
		return cb_error_errno(err, ENOMEM, "fuse mount %s", target);
	argv[argc++] = helper;
	argv[argc++] = "--daemon";
	if (opts->log_path) {
		argv[argc++] = "--log";
		argv[argc++] = opts->log_path;
	}
	if (opts->server_options) {
		argv[argc++] = "-o";
		argv[argc++] = opts->server_options;
	}
	if (!upper) {
		argv[argc++] = "-o";
		argv[argc++] = "ro";
	}
	for (size_t i = 0; i < n_lowers; i++) {
		argv[argc++] = "--lower";
		argv[argc++] = lowers[i];
	}
	if (upper) {
		argv[argc++] = "--upper";
		argv[argc++] = upper;
		argv[argc++] = "--work";
		argv[argc++] = work;
	}
	argv[argc++] = "--";
	argv[argc++] = target;

	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return cb_error_errno(err, errno, "fuse mount %s: pipe", target);
	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return cb_error_errno(err, -r, "fuse mount %s: fork", target);
	}
	if (pid == 0) {
		/* the server must not keep the caller's fds (locks, sockets) */
		int nul = open("/dev/null", O_RDWR);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		(void)cb_close_fds_except(3, NULL, 0, false);
		/* Nor the signals a launcher blocks while it mounts (a rootfs
		 * made late is made inside cb_runtime_run). */
		sigset_t unblocked;
		sigemptyset(&unblocked);
		sigprocmask(SIG_SETMASK, &unblocked, NULL);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	char msg[512];
	size_t len = 0;
	ssize_t k;
	while (len < sizeof(msg) - 1 && (k = read(p[0], msg + len, sizeof(msg) - 1 - len)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += k;
	}
	close(p[0]);
	msg[len] = '\0';
	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		const char *line = strncmp(msg, "cowbox-fuse: ", 13) == 0 ? msg + 13 : msg;
		return cb_error_set(err, EIO, "fuse mount %s: %s", target,
				    *line ? line : "cowbox-fuse failed");
	}
	if (!cb_fuse_is_mounted(target))
		return cb_error_set(err, EIO, "fuse mount %s: server started but no mount appeared",
				    target);
	return 0;
}

int cb_fuse_unmount(const char *target, bool lazy)
{
	struct statfs sf;
	if (statfs(target, &sf) < 0) {
		/* a dead server's mount answers ENOTCONN: still ours to detach */
		if (errno != ENOTCONN)
			return -errno;
	} else if (sf.f_type != FUSE_SUPER_MAGIC) {
		return -EINVAL;
	}
	return RET_NERRNO(umount2(target, (lazy ? MNT_DETACH : 0) | UMOUNT_NOFOLLOW));
}

/* --- the rootfs driver (storage/driver.h) ----------------------------- */

static bool fuse_driver_available(void)
{
	_cleanup_free_ char *helper = NULL;
	return geteuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0 &&
	       cb_fuse_find_helper(&helper) == 0;
}

static int fuse_driver_mount(const struct cb_mount_request *req, struct cb_error *err)
{
	/* the server's log (damaged layers) goes beside the upper dir; it
	 * appears only when there is something in it */
	char fdpath[64], dir[PATH_MAX];
	_cleanup_free_ char *log = NULL;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", req->container_fd);
	ssize_t n = req->container_fd >= 0 ? readlink(fdpath, dir, sizeof(dir) - 1) : -1;
	if (n > 0) {
		dir[n] = '\0';
		if (asprintf(&log, "%s/fuse.log", dir) < 0)
			log = NULL;
	}
	const char *options = (req->flags & CB_MOUNT_READONLY)	 ? "ro"
			      : (req->flags & CB_MOUNT_VOLATILE) ? "volatile"
								 : NULL;
	struct cb_fuse_options opts = {.log_path = log, .server_options = options};
	int r = cb_fuse_mount(
	    req->lower_dirs, (req->flags & CB_MOUNT_READONLY) ? NULL : req->upper_dir,
	    (req->flags & CB_MOUNT_READONLY) ? NULL : req->work_dir, req->target, &opts, err);
	if (r < 0)
		return cb_error_prefix(err, "%s", req->what);
	return 0;
}

static int fuse_driver_unmount(const char *target, bool lazy, struct cb_error *err)
{
	int r = cb_fuse_unmount(target, lazy);
	if (r == -EBUSY)
		return cb_error_set(err, EBUSY,
				    "rootfs %s is busy (a process uses it): stop it, "
				    "or use -f to detach it lazily",
				    target);
	if (r < 0)
		return cb_error_errno(err, -r, "unmount %s", target);
	return 0;
}

const struct cb_rootfs_driver cb_fuse_driver = {
    .name = "fuse",
    .fs_magic = FUSE_SUPER_MAGIC,
    .available = fuse_driver_available,
    .mount = fuse_driver_mount,
    .unmount = fuse_driver_unmount,
};
