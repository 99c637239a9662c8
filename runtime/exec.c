#include "exec.h"
#include "caps.h"
#include "landlock.h"
#include "fsutil.h"
#include "macro.h"
#include "runtime.h"
#include "report.h"
#include "seccomp-filter.h"
#include "user.h"

#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

extern char **environ;

/* Up the socket: an error ('E'), or the pty master ('P', SCM_RIGHTS). EOF
 * means the command exec'd. */
static const struct {
	unsigned ns;
	int flag;
	const char *name;
} ns_table[] = {
    {CB_NS_USER, CLONE_NEWUSER, "user"},       {CB_NS_MNT, CLONE_NEWNS, "mnt"},
    {CB_NS_PID, CLONE_NEWPID, "pid"},	       {CB_NS_UTS, CLONE_NEWUTS, "uts"},
    {CB_NS_IPC, CLONE_NEWIPC, "ipc"},	       {CB_NS_NET, CLONE_NEWNET, "net"},
    {CB_NS_CGROUP, CLONE_NEWCGROUP, "cgroup"},
};

/* The setns flags for the asked namespaces the caller does not share. */
static int ns_flags(pid_t pid, unsigned ns, struct cb_error *err)
{
	int flags = 0;
	for (size_t i = 0; i < ELEMENTSOF(ns_table); i++) {
		if (!(ns & ns_table[i].ns))
			continue;
		char path[64];
		struct stat theirs, ours;
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_table[i].name);
		if (stat(path, &theirs) < 0)
			return cb_error_errno(err, errno, "namespace %s", path);
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_table[i].name);
		if (stat(path, &ours) < 0)
			return cb_error_errno(err, errno, "namespace %s", path);
		if (theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev)
			flags |= ns_table[i].flag;
	}
	return flags;
}

/* Where a hierarchy of /proc/PID/cgroup is mounted: v1 "memory" or
 * "cpu,cpuacct" or "name=systemd" under /sys/fs/cgroup; the v2 one ("")
 * at /sys/fs/cgroup/unified on a hybrid machine, else /sys/fs/cgroup. */
static void hierarchy_dir(const char *controllers, char *buf, size_t size)
{
	if (controllers[0]) {
		const char *eq =
		    strncmp(controllers, "name=", 5) == 0 ? controllers + 5 : controllers;
		snprintf(buf, size, "/sys/fs/cgroup/%s", eq);
		return;
	}
	struct statfs sf;
	if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		snprintf(buf, size, "/sys/fs/cgroup/unified");
	else
		snprintf(buf, size, "/sys/fs/cgroup");
}

/* Move the calling process into cgroup in every hierarchy where pid is. */
static int join_cgroup(pid_t pid, const char *cgroup, struct cb_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *text = NULL;
	int r = cb_read_file_at(AT_FDCWD, path, 1 << 16, &text, NULL);
	if (r < 0)
		return cb_error_errno(err, -r, "read %s", path);
	while (*cgroup == '/')
		cgroup++;
	int joined = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		/* ID:CONTROLLERS:PATH */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || c2[1] != '/' || strcmp(c2 + 2, cgroup) != 0)
			continue;
		*c2 = '\0';
		char dir[256], procs[1024];
		hierarchy_dir(c1 + 1, dir, sizeof(dir));
		snprintf(procs, sizeof(procs), "%s/%s/cgroup.procs", dir, cgroup);
		_cleanup_close_ int fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			return cb_error_errno(err, errno, "join cgroup %s", procs);
		joined++;
	}
	if (!joined)
		return cb_error_set(err, ENOENT, "join cgroup %s: the container is not in it",
				    cgroup);
	return 0;
}

static char *read_small(const char *path)
{
	char *data = NULL;
	if (cb_read_file_at(AT_FDCWD, path, 4 << 20, &data, NULL) < 0)
		return NULL;
	return data;
}

/* -t: a pty from the devpts this process sees (the container's when it
 * joined its mount namespace); the master goes up the socket, the slave
 * becomes the controlling terminal and 0-2. */
static int open_tty(int sock, struct cb_error *err)
{
	_cleanup_close_ int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int unlock = 0;
	if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return cb_error_errno(err, errno, "open /dev/pts/ptmx");
	_cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return cb_error_errno(err, errno, "open the pty");
	/* The caller's terminal size, set here before the command can ask
	 * for it (cowbox syncs it again later, and on SIGWINCH). */
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(slave, TIOCSWINSZ, &ws);
	int r = cb_report_send_fd(sock, 'P', master);
	if (r < 0)
		return cb_error_errno(err, -r, "send the pty");
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		return cb_error_errno(err, errno, "make the pty the controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return cb_error_errno(err, errno, "dup the pty");
	if (slave <= 2)
		(void)TAKE_FD(slave);
	return 0;
}

/* In the container's namespaces: user, workdir, security, exec. */
static _Noreturn void setup_and_exec(const struct cb_exec_spec *x, struct cb_seccomp *filter,
				     uint64_t caps, int fd)
{
	const struct cb_spawn_spec *spec = x->proc;
	struct cb_error err = {0};
	int r;
	if (spec->tty && (r = open_tty(fd, &err)) < 0)
		cb_report_fail(fd, 125, &err);
	_cleanup_free_ char *passwd = read_small("/etc/passwd");
	_cleanup_free_ char *group = read_small("/etc/group");
	struct cb_user user;
	if (cb_user_resolve(spec->user, passwd, group, &user, &err) < 0 ||
	    (x->inherit_groups &&
	     cb_user_add_groups(&user, spec->group_add, spec->n_group_add, group, &err) < 0) ||
	    cb_rlimits_apply(spec, &err) < 0)
		cb_report_fail(fd, 125, &err);
	const char *dir = spec->workdir ? spec->workdir : "/";
	if (chdir(dir) < 0) {
		cb_error_errno(&err, errno, "workdir %s", dir);
		cb_report_fail(fd, 125, &err);
	}
	if (!spec->privileged && (r = cb_landlock_forbid_devices()) < 0) {
		cb_error_errno(&err, -r, "landlock");
		cb_report_fail(fd, 125, &err);
	}
	if (!spec->no_new_privs && (r = cb_seccomp_load(filter)) < 0) {
		cb_error_errno(&err, -r, "load seccomp filter");
		cb_report_fail(fd, 125, &err);
	}
	if ((r = cb_caps_apply_bounding(caps)) < 0) {
		cb_error_errno(&err, -r, "drop capabilities from the bounding set");
		cb_report_fail(fd, 125, &err);
	}
	if (prctl(PR_SET_KEEPCAPS, 1) < 0 || setgroups(user.n_groups, user.groups) < 0 ||
	    setresgid(user.gid, user.gid, user.gid) < 0 ||
	    setresuid(user.uid, user.uid, user.uid) < 0 || prctl(PR_SET_KEEPCAPS, 0) < 0) {
		cb_error_errno(&err, errno, "switch to user %u:%u", user.uid, user.gid);
		cb_report_fail(fd, 125, &err);
	}
	if ((r = cb_caps_apply(caps, false)) < 0) {
		cb_error_errno(&err, -r, "set capabilities");
		cb_report_fail(fd, 125, &err);
	}
	if (spec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		cb_error_errno(&err, errno, "set no_new_privs");
		cb_report_fail(fd, 125, &err);
	}
	if (spec->no_new_privs && (r = cb_seccomp_load(filter)) < 0) {
		cb_error_errno(&err, -r, "load seccomp filter");
		cb_report_fail(fd, 125, &err);
	}
	sigset_t none;
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The container's, never ours (cb_proc_hide cleared ours anyway). */
	static char *no_env[] = {NULL};
	environ = spec->env ? spec->env : no_env;
	cb_execvp(spec->argv[0], spec->argv);
	int e = errno;
	cb_error_errno(&err, e, "exec %s", spec->argv[0]);
	cb_report_fail(fd, e == ENOENT || e == ENOTDIR ? 127 : 126, &err);
}

static int wait_code(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 125;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A copy of spec whose strings the go-between reads after cb_proc_hide
 * (setup_and_exec's) are its own; never freed (it execs or exits). NULL
 * when out of memory. */
static const struct cb_spawn_spec *own_strings(const struct cb_spawn_spec *spec,
					       struct cb_spawn_spec *copy)
{
	*copy = *spec;
	size_t n = 0;
	while (spec->argv[n])
		n++;
	char **argv = calloc(n + 1, sizeof(char *));
	if (!argv)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(argv[i] = strdup(spec->argv[i])))
			return NULL;
	copy->argv = argv;
	if ((spec->workdir && !(copy->workdir = strdup(spec->workdir))) ||
	    (spec->user && !(copy->user = strdup(spec->user))))
		return NULL;
	for (size_t i = 0; i < spec->n_group_add; i++)
		if (!(copy->group_add[i] = strdup(spec->group_add[i])))
			return NULL;
	return copy;
}

static _Noreturn void exec_child(const struct cb_exec_spec *x, int flags, struct cb_seccomp *filter,
				 uint64_t caps, int fd)
{
	struct cb_error err = {0};
	if (!x->detach)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (x->detach) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int i = 0; null >= 0 && i < 3; i++)
			dup2(null, i);
		if (null > 2)
			close(null);
	} else if (!x->proc->interactive && !x->proc->tty) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			close(null);
		}
	}
	if (x->cgroup && join_cgroup(x->pid, x->cgroup, &err) < 0)
		cb_report_fail(fd, 125, &err);
	/* From here on the container may see us (its pid namespace). What
	 * is still to be read of the caller's argument strings (an option's
	 * value) goes out of the area cb_proc_hide clears first. */
	struct cb_spawn_spec own;
	struct cb_exec_spec xc = *x;
	xc.proc = own_strings(x->proc, &own);
	if (!xc.proc) {
		cb_error_set(&err, ENOMEM, "out of memory");
		cb_report_fail(fd, 125, &err);
	}
	x = &xc;
	cb_proc_hide((const char *const[]){"cowbox-exec", NULL});
	/* Only 0-2 reach the command (the caller's other fds could lead out
	 * of the container; the run's --preserve-fds is not exec's): marked
	 * here, with the host's /proc (the fallback's list) still ours. */
	int r = cb_fds_close_on_exec(0);
	if (r < 0) {
		cb_error_errno(&err, -r, "close inherited fds");
		cb_report_fail(fd, 125, &err);
	}
	/* The container's --oom-score-adj, while we are host root. */
	if (cb_oom_score_adj_apply(x->proc, 0, &err) < 0)
		cb_report_fail(fd, 125, &err);
	/* Joining a mount namespace puts us at its root mount, which is the
	 * container's root only when the cowbox that made it was not
	 * chrooted (pivot_root in a chroot swaps the chroot's mount, not the
	 * namespace's root): take the container process's own root instead. */
	_cleanup_close_ int root = -1;
	if (flags & CLONE_NEWNS) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/root", (int)x->pid);
		root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		/* The pid still names the container's process (not a reused
		 * one) once the open is done. */
		if (root < 0 || syscall(SYS_pidfd_send_signal, x->pidfd, 0, NULL, 0) < 0) {
			cb_error_errno(&err, errno, "open the root of pid %d", (int)x->pid);
			cb_report_fail(fd, 125, &err);
		}
	}
	if (flags && setns(x->pidfd, flags) < 0) {
		cb_error_errno(&err, errno, "join the namespaces of pid %d", (int)x->pid);
		cb_report_fail(fd, 125, &err);
	}
	if (root >= 0 && (fchdir(root) < 0 || chroot(".") < 0)) {
		cb_error_errno(&err, errno, "enter the root of pid %d", (int)x->pid);
		cb_report_fail(fd, 125, &err);
	}
	if (flags & CLONE_NEWPID) {
		pid_t pid = fork();
		if (pid < 0) {
			cb_error_errno(&err, errno, "fork into the pid namespace");
			cb_report_fail(fd, 125, &err);
		}
		if (pid > 0) {
			close(fd);
			/* Detached: we go, and the command (in the container's
			 * pid namespace, but our child) goes to the host's init,
			 * which reaps it. */
			_exit(x->detach ? 0 : wait_code(pid));
		}
		if (!x->detach)
			prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	setup_and_exec(x, filter, caps, fd);
}

/* Read reports until EOF (the command exec'd) or an error; a pty master
 * lands in *pty. */
static int read_reports(int sock, int *pty, int *exit_code, struct cb_error *err)
{
	for (;;) {
		struct cb_report rep;
		int fd;
		int n = cb_report_recv(sock, &rep, &fd);
		if (n == -EIO)
			return cb_error_set(err, EIO, "short report from the container");
		if (n < 0)
			return cb_error_errno(err, -n, "read from the container");
		if (n == 0)
			return 0;
		if (rep.kind == 'P' && fd >= 0) {
			*pty = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		*exit_code = rep.exit_code;
		return cb_error_set(err, rep.code, "%s", rep.msg);
	}
}

static void sync_winsize(int pty)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(pty, TIOCSWINSZ, &ws);
}

/* Copy between the caller's terminal and the pty until the command's
 * side closes. */
static void relay_tty(int pty, bool interactive)
{
	struct termios saved;
	bool raw = false;
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios tio = saved;
		cfmakeraw(&tio);
		raw = tcsetattr(STDIN_FILENO, TCSANOW, &tio) == 0;
	}
	sync_winsize(pty);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, &old);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	bool in_open = interactive;
	char buf[8192];
	for (;;) {
		struct pollfd p[3] = {{.fd = pty, .events = POLLIN},
				      {.fd = in_open ? STDIN_FILENO : -1, .events = POLLIN},
				      {.fd = sfd, .events = POLLIN}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(pty, buf, sizeof(buf));
			if (n <= 0)
				break; /* EIO: the last slave fd closed */
			if (cb_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				break;
		}
		if (p[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;
				(void)!write(pty, "\x04", 1);
			} else
				(void)cb_write_all(pty, buf, (size_t)n);
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo ssi;
			if (read(sfd, &ssi, sizeof(ssi)) == sizeof(ssi))
				sync_winsize(pty);
		}
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int cb_exec_run(const struct cb_exec_spec *x, int *ret_exit_code, struct cb_error *err)
{
	*ret_exit_code = 125;
	const struct cb_spawn_spec *spec = x->proc;
	if (!spec->argv || !spec->argv[0])
		return cb_error_set(err, EINVAL, "no command given");
	int flags = ns_flags(x->pid, x->ns, err);
	if (flags < 0)
		return flags;
	uint64_t caps = spec->privileged ? cb_caps_all() & cb_caps_current() : spec->caps;
	struct cb_seccomp *filter = NULL;
	int r = cb_seccomp_build(spec, caps, &filter, err);
	if (r < 0)
		return r;
	int p[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0) {
		cb_seccomp_free(filter);
		return cb_error_errno(err, errno, "socketpair");
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		r = cb_error_errno(err, errno, "fork");
		close(p[0]);
		close(p[1]);
		cb_seccomp_free(filter);
		return r;
	}
	if (pid == 0) {
		close(p[0]);
		exec_child(x, flags, filter, caps, p[1]);
	}
	close(p[1]);
	cb_seccomp_free(filter);
	/* Signals a terminal sends reach the command through the process
	 * group; cowbox only waits for it. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	int pty = -1, fail_code = 125;
	r = read_reports(p[0], &pty, &fail_code, err);
	close(p[0]);
	if (r >= 0 && pty >= 0)
		relay_tty(pty, spec->interactive);
	closep(&pty);
	/* Detached, only the go-between that joined the pid namespace is
	 * ours to wait for; a command started directly runs on. */
	int code = x->detach ? ((flags & CLONE_NEWPID) ? (wait_code(pid), 0) : 0) : wait_code(pid);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (r < 0) {
		*ret_exit_code = fail_code;
		return r;
	}
	*ret_exit_code = code;
	return 0;
}

/* ---- cb_proc_hide: not on a run's path (at the end, with the pages of
 * exec's go-between) ---------------------------------------------------- */

/* Fields 48-51 of /proc/self/stat: where the kernel reads cmdline and
 * environ from (arg_start, arg_end, env_start, env_end). */
static bool args_area(unsigned long area[4])
{
	char buf[1024];
	_cleanup_close_ int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the name may hold anything */
	if (!p)
		return false;
	p++;
	/* p is before field 3: field f starts after f - 2 more spaces. */
	for (int field = 3; field <= 51; field++) {
		p = strchr(p, ' ');
		if (!p)
			return false;
		p++;
		if (field >= 48 && sscanf(p, "%lu", &area[field - 48]) != 1)
			return false;
	}
	return area[1] > area[0] && area[3] >= area[2];
}

void cb_proc_hide(const char *const *title)
{
	(void)prctl(PR_SET_DUMPABLE, 0);
	(void)prctl(PR_SET_NAME, title[0]);
	unsigned long a[4];
	if (!args_area(a))
		return;
	/* The title first (its words may lie in the area), the last byte
	 * left NUL, so the kernel reads the area as it is. */
	char *args = (char *)a[0];
	size_t size = a[1] - a[0], off = 0;
	char buf[4096];
	for (size_t i = 0; title[i]; i++) {
		size_t len = strlen(title[i]) + 1;
		if (off + len >= size || off + len > sizeof(buf))
			break;
		memcpy(buf + off, title[i], len);
		off += len;
	}
	memset(args, 0, size);
	memcpy(args, buf, off);
	memset((char *)a[2], 0, a[3] - a[2]);
}
