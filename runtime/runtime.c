#include "runtime.h"
#include "report.h"
#include "caps.h"
#include "cgroup.h"
#include "fsutil.h"
#include "idmap.h"
#include "landlock.h"
#include "macro.h"
#include "mounts.h"
#include "netpool.h"
#include "seccomp-filter.h"
#include "user.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

struct cb_proc {
	struct cb_run_phases phases;
	pid_t pid;
	int pidfd;
	int pty;
	struct cb_cgroup cgroup;
	bool reaped;
	const struct cb_spawn_hook *net_hook; /* detached once, in cb_proc_free() */
	int (*idle_step)(void *opaque);	      /* NULL once it has no more to do */
	void *idle_opaque;
	/* Spare network namespaces (netpool.h): the one the child joined,
	 * released in the idle time, which then makes the next spare. */
	const char *netpool;
	struct cb_netpool_claim claim;
	enum { POOL_DONE, POOL_RELEASE, POOL_FILL } pool_step;
	bool pool_joined, pool_always;
};

/* Whether a spare pays for the idle time it takes to make: only when the
 * child waits for its network namespace rather than for the rootfs the
 * store makes beside it (cb_netpool_spare_pays). With a store slow to
 * make it (this machine's disk) the child waits for the rootfs either
 * way, and making a spare only delays the exit it overlaps: 8.02 ms a run
 * with spares always made, 7.38 without (200 interleaved rounds). When the
 * child was ready comes in its 'W' report, read before its exec. */
static bool spare_pays(const struct cb_proc *c)
{
	if (c->pool_always || !c->phases.child_ready || !c->phases.rootfs)
		return true;
	return cb_netpool_spare_pays(c->pool_joined,
				     (int64_t)(c->phases.rootfs - c->phases.child_ready));
}

/* When the next idle step is due, in ns from now: 0 now, -1 none (yet).
 * The caller's steps (its trash) are due at once; the pool's wait for the
 * container to have run a while (cb_netpool_steps_due_ns): in a start's
 * own path they only slow it. */
static int64_t idle_due_ns(const struct cb_proc *c)
{
	if (c->idle_step)
		return 0;
	if (c->pool_step == POOL_DONE)
		return -1;
	return cb_netpool_steps_due_ns(c->phases.exec_seen, cb_now_ns());
}

/* The caller's steps first, then the pool's. Only when one is due. */
static void idle_once(struct cb_proc *c)
{
	if (c->idle_step) {
		if (c->idle_step(c->idle_opaque) <= 0)
			c->idle_step = NULL;
		return;
	}
	if (c->pool_step == POOL_RELEASE) {
		cb_netpool_release(c->netpool, &c->claim);
		c->pool_step = POOL_FILL;
	} else if (c->pool_step == POOL_FILL &&
		   (!spare_pays(c) || cb_netpool_fill_step(c->netpool) <= 0))
		c->pool_step = POOL_DONE;
}

static const int forwarded_signals[] = {SIGINT,	 SIGTERM, SIGHUP,  SIGQUIT,
					SIGUSR1, SIGUSR2, SIGWINCH};

static void forward_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
		sigaddset(set, forwarded_signals[i]);
	sigaddset(set, SIGCHLD);
}

int cb_runtime_exit_code(int code, int status)
{
	if (code == CLD_EXITED)
		return status & 0xff;
	return 128 + status;
}

/* ---- the child ---------------------------------------------------------- */

static bool has_net_sysctl(const struct cb_spawn_spec *spec)
{
	for (size_t i = 0; i < spec->n_sysctls; i++)
		if (strncmp(spec->sysctls[i], "net.", 4) == 0 ||
		    strncmp(spec->sysctls[i], "net/", 4) == 0)
			return true;
	return false;
}

int cb_fds_close_on_exec(int preserve)
{
	if (preserve < 0)
		return -EINVAL;
	for (int fd = 3; fd < 3 + preserve; fd++)
		if (fcntl(fd, F_SETFD, 0) < 0)
			return -errno;
	return cb_close_fds_except(3 + preserve, NULL, 0, true);
}

/* --sysctl. A sysctl file under /proc/sys belongs to the namespace of
 * whoever opens it, so this runs once the child is in its namespaces and
 * before any capability is dropped. */
static int apply_sysctls(const struct cb_spawn_spec *spec, struct cb_error *err)
{
	char path[512];
	for (size_t i = 0; i < spec->n_sysctls; i++) {
		const char *kv = spec->sysctls[i];
		if (cb_sysctl_path(kv, path, sizeof(path)) < 0)
			return cb_error_set(err, EINVAL, "sysctl %s: not a sysctl name", kv);
		/* The host's /proc still: the container's replaces it in the
		 * mount setup that follows. */
		int r = cb_write_string_at(AT_FDCWD, path, strchr(kv, '=') + 1);
		if (r < 0)
			return cb_error_errno(err, -r, "sysctl %s", kv);
	}
	return 0;
}

int cb_oom_score_adj_apply(const struct cb_spawn_spec *spec, pid_t pid, struct cb_error *err)
{
	if (!spec->oom_score_adj_set)
		return 0;
	char path[64], v[16];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	else /* not getpid(): ours is another number in a new pid namespace */
		snprintf(path, sizeof(path), "/proc/self/oom_score_adj");
	snprintf(v, sizeof(v), "%d", spec->oom_score_adj);
	int r = cb_write_string_at(AT_FDCWD, path, v);
	if (r == -EACCES)
		return cb_error_errno(err, -r,
				      "oom_score_adj %d (lower than cowbox's own needs "
				      "CAP_SYS_RESOURCE)",
				      spec->oom_score_adj);
	if (r < 0)
		return cb_error_errno(err, -r, "oom_score_adj %d", spec->oom_score_adj);
	return 0;
}

/* A small regular file (an image's FIFO must not hang a start) at path,
 * below dirfd with openat2's resolve flags: 0 and *ret NULL when it is
 * missing, -errno when it cannot be read, or is not a regular file. */
static int read_regular(int dirfd, const char *path, uint64_t resolve, char **ret)
{
	*ret = NULL;
	_cleanup_close_ int fd =
	    cb_openat2(dirfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0, resolve);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return cb_read_fd(fd, 4 << 20, ret, NULL);
}

/* The child's own read: what cannot be read counts as missing. */
static char *read_small(const char *path)
{
	char *data;
	return read_regular(AT_FDCWD, path, 0, &data) < 0 ? NULL : data;
}

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The environment the process gets: spec->env plus PATH, HOSTNAME, HOME
 * and TERM when not given. */
static char **build_env(const struct cb_spawn_spec *spec, const char *hostname, const char *home)
{
	char **env = calloc(spec->n_env + 5, sizeof(char *));
	if (!env)
		return NULL;
	size_t n = 0;
	if (!cb_spawn_spec_getenv(spec, "PATH"))
		env[n++] = "PATH=" DEFAULT_PATH;
	if (!cb_spawn_spec_getenv(spec, "HOSTNAME") &&
	    asprintf(&env[n], "HOSTNAME=%s", hostname) > 0)
		n++;
	if (!cb_spawn_spec_getenv(spec, "HOME") && asprintf(&env[n], "HOME=%s", home) > 0)
		n++;
	if (spec->tty && !cb_spawn_spec_getenv(spec, "TERM"))
		env[n++] = "TERM=xterm";
	for (size_t i = 0; i < spec->n_env; i++)
		env[n++] = spec->env[i];
	env[n] = NULL;
	return env;
}

/* pid 1 with --init: forward signals to the command, reap everything,
 * exit with the command's status. */
static _Noreturn void init_loop(pid_t child)
{
	sigset_t set;
	forward_set(&set);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		for (;;) {
			int status;
			pid_t p = waitpid(-1, &status, WNOHANG);
			if (p <= 0)
				break;
			if (p == child) {
				/* pid 1 cannot die of its own signal: report 128+N. */
				_exit(WIFEXITED(status) ? WEXITSTATUS(status)
							: 128 + WTERMSIG(status));
			}
		}
	}
}

struct child_args {
	const struct cb_spawn_spec *spec;
	const char *hostname;
	int sock;
	bool in_userns;	   /* wait for the id maps first */
	bool rootfs_from_parent; /* in_userns: the "go" is the rootfs's fd */
	bool rootfs_late;	 /* spec->rootfs_late: it comes on sock, see there */
	bool process_late;	 /* spec->process_late: the process comes after it */
	int unshare_late;	 /* CLONE_NEW* to make ourselves, first thing */
	int v1_tasks[CB_CGROUP_V1_MAX]; /* cgroup v1: `tasks` files to join first */
	size_t n_v1_tasks;
	bool cgroup_late;  /* v1: they come in a 'G' report after the process */
	bool v1_cgroup_ns; /* unshare the cgroup ns after joining (v1) */
	bool wait_net;	   /* wait for the network hook before exec */
	int ns_fds[7];	   /* setns targets for net, uts, ipc */
	int spare_net;	   /* a spare network namespace to join (netpool.h), -1 */
	bool report_ready; /* say when we wait for the rootfs ('W') */
	struct cb_seccomp *seccomp;
	uint64_t caps;
};

/* Block until the parent says go (one byte); false when it went away. */
static bool wait_parent(int sock)
{
	char c;
	ssize_t n;
	do
		n = read(sock, &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

int cb_rlimits_apply(const struct cb_spawn_spec *spec, struct cb_error *err)
{
	for (size_t i = 0; i < spec->n_rlimits; i++) {
		const struct cb_rlimit *l = &spec->rlimits[i];
		struct rlimit rl = {.rlim_cur = (rlim_t)l->soft, .rlim_max = (rlim_t)l->hard};
		if (setrlimit(l->resource, &rl) < 0)
			return cb_error_errno(err, errno, "ulimit %s", cb_rlimit_name(l->resource));
	}
	return 0;
}

/* cgroup v1: join the container's cgroup by moving ourselves (see
 * cb_cgroup_open_v1_tasks); the fds are closed. */
static void join_v1_cgroup(int sock, const int *tasks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ssize_t w;
		do
			w = write(tasks[i], "0", 1);
		while (w < 0 && errno == EINTR);
		if (w != 1) {
			struct cb_error err = {0};
			cb_error_errno(&err, errno, "cgroup: join");
			cb_report_fail(sock, 125, &err);
		}
		close(tasks[i]);
	}
}

static _Noreturn void child_main(struct child_args *a)
{
	const struct cb_spawn_spec *spec = a->spec;
	struct cb_error err = {0};
	int r;

	uint64_t t_start = spec->record_phases ? cb_now_ns() : 0, t_mounts = 0;
	/* cgroup v1: join the container's cgroup before anything is charged
	 * (unless it comes late: see cgroup_late). */
	join_v1_cgroup(a->sock, a->v1_tasks, a->n_v1_tasks);
	/* Die with cowbox: a foreground container must not outlive it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* In a pid namespace it shares (--pid container:C), other processes
	 * see us until we exec: not our environment nor the host's binary
	 * (cb_proc_hide). The command line stays (the spec points into it)
	 * until the exec replaces it. */
	if (!(spec->ns_create & CB_NS_PID))
		(void)prctl(PR_SET_DUMPABLE, 0);
	/* Making the namespaces takes most of a clone's time (a network one
	 * ~0.7 ms of setup_net here): made here, they are made while the
	 * parent makes the rootfs (spec->rootfs_late). The pid namespace
	 * must come with the clone (it is the children's), and so does a
	 * cgroup v2 one (rooted where CLONE_INTO_CGROUP put us). */
	if (a->unshare_late && unshare(a->unshare_late) < 0) {
		cb_error_errno(&err, errno, "unshare namespaces");
		cb_report_fail(a->sock, 125, &err);
	}
	if (a->spare_net >= 0 && setns(a->spare_net, CLONE_NEWNET) < 0) {
		cb_error_errno(&err, errno, "join a spare network namespace");
		cb_report_fail(a->sock, 125, &err);
	}
	/* With a user namespace, wait for the maps before acting as root
	 * (and for the rootfs, mounted for us: see attach_rootfs_for). */
	int rootfs_fd = -1;
	if (a->in_userns && a->rootfs_from_parent) {
		rootfs_fd = cb_report_recv_fd(a->sock, 'R');
		if (rootfs_fd < 0)
			_exit(125);
	} else if (a->in_userns && !wait_parent(a->sock))
		_exit(125);
	if (a->in_userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		cb_error_errno(&err, errno, "become root in the user namespace");
		cb_report_fail(a->sock, 125, &err);
	}
	for (int i = 0; i < 7; i++)
		if (a->ns_fds[i] >= 0 && setns(a->ns_fds[i], 0) < 0) {
			cb_error_errno(&err, errno, "join namespace %s", spec->ns_path[i]);
			cb_report_fail(a->sock, 125, &err);
		}
	/* The network is attached while we set up, and we wait for it at
	 * the end; net.* sysctls may name its interface (eth0): wait now. */
	bool wait_net = a->wait_net;
	if (wait_net && has_net_sysctl(spec)) {
		if (!wait_parent(a->sock))
			_exit(125);
		wait_net = false;
	}
	/* oom_score_adj is host root's to write: in a user namespace the
	 * parent wrote it before letting us go. */
	if (apply_sysctls(spec, &err) < 0 ||
	    (!a->in_userns && cb_oom_score_adj_apply(spec, 0, &err) < 0))
		cb_report_fail(a->sock, 125, &err);
	/* What needs no rootfs first: with a late one, while it is made. */
	if ((spec->ns_create & CB_NS_UTS) && sethostname(a->hostname, strlen(a->hostname)) < 0) {
		cb_error_errno(&err, errno, "sethostname %s", a->hostname);
		cb_report_fail(a->sock, 125, &err);
	}
	if ((spec->ns_create & CB_NS_NET) && a->spare_net < 0 && (r = cb_loopback_up()) < 0) {
		cb_error_errno(&err, -r, "bring lo up");
		cb_report_fail(a->sock, 125, &err);
	}
	umask(0);
	if (spec->ns_create & CB_NS_MNT)
		r = cb_mounts_setup(spec, a->hostname, a->in_userns, rootfs_fd,
				    a->rootfs_late ? a->sock : -1, a->report_ready, &err);
	else
		r = cb_mounts_chroot(spec, &err);
	if (r < 0)
		cb_report_fail(a->sock, 125, &err);
	umask(022);
	/* A late process comes right after the rootfs; from here on the
	 * spec is our copy with it. */
	struct cb_spawn_spec with_process;
	struct cb_process p = {0}; /* its ahead: the parent's work */
	if (a->process_late) {
		char *buf; /* ours until exec */
		if ((r = cb_report_recv_process(a->sock, &buf, &p)) < 0) {
			cb_error_errno(&err, -r, "receive the process");
			cb_report_fail(a->sock, 125, &err);
		}
		with_process = *spec;
		with_process.argv = p.argv;
		with_process.env = p.env;
		with_process.n_env = p.n_env;
		with_process.workdir = p.workdir;
		with_process.user = p.user;
		a->spec = spec = &with_process;
	}
	if (spec->record_phases)
		t_mounts = cb_now_ns();
	if (a->cgroup_late) {
		int tasks[CB_CGROUP_V1_MAX];
		size_t n;
		if ((r = cb_report_recv_fds(a->sock, 'G', tasks, ELEMENTSOF(tasks), &n)) < 0) {
			cb_error_errno(&err, -r, "receive the cgroup");
			cb_report_fail(a->sock, 125, &err);
		}
		join_v1_cgroup(a->sock, tasks, n);
	}

	/* Standard input and output, and the terminal. */
	for (int fd = 0; fd < 3; fd++)
		if (spec->stdio[fd] >= 0 && spec->stdio[fd] != fd &&
		    dup2(spec->stdio[fd], fd) < 0) {
			cb_error_errno(&err, errno, "stdio fd %d", fd);
			cb_report_fail(a->sock, 125, &err);
		}
	if (spec->tty) {
		int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		int unlock = 0;
		if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0) {
			cb_error_errno(&err, errno, "open /dev/pts/ptmx");
			cb_report_fail(a->sock, 125, &err);
		}
		int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
		if (slave < 0) {
			cb_error_errno(&err, errno, "open the pty");
			cb_report_fail(a->sock, 125, &err);
		}
		/* The caller's terminal size (our stdin still is it), set
		 * before the command can ask for it: cowbox's own sync comes
		 * after the spawn returns, too late for a quick `stty size`. */
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
			(void)ioctl(slave, TIOCSWINSZ, &ws);
		if ((r = cb_report_send_fd(a->sock, 'P', master)) < 0) {
			cb_error_errno(&err, -r, "send the pty");
			cb_report_fail(a->sock, 125, &err);
		}
		close(master);
		if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
			cb_error_errno(&err, errno, "make the pty the controlling terminal");
			cb_report_fail(a->sock, 125, &err);
		}
		for (int fd = 0; fd < 3; fd++)
			if (slave != fd && dup2(slave, fd) < 0) {
				cb_error_errno(&err, errno, "dup the pty");
				cb_report_fail(a->sock, 125, &err);
			}
		if (slave > 2)
			close(slave);
	} else if (!spec->interactive && spec->stdio[0] < 0) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
	}

	/* The user, from the container's own files (unless the parent read
	 * them already: work_out_ahead). */
	struct cb_user user = p.user_ahead;
	if (!p.have_user) {
		_cleanup_free_ char *passwd = read_small("/etc/passwd");
		_cleanup_free_ char *group =
		    spec->user || passwd || spec->n_group_add ? read_small("/etc/group") : NULL;
		if (cb_user_resolve(spec->user, passwd, group, &user, &err) < 0 ||
		    cb_user_add_groups(&user, spec->group_add, spec->n_group_add, group, &err) < 0)
			cb_report_fail(a->sock, 125, &err);
	}
	char **env = build_env(spec, a->hostname, user.home);
	if (!env) {
		cb_error_set(&err, ENOMEM, "out of memory");
		cb_report_fail(a->sock, 125, &err);
	}
	if (spec->workdir) {
		if (chdir(spec->workdir) < 0 &&
		    (errno != ENOENT || cb_mkdirat_p(AT_FDCWD, spec->workdir, 0755) < 0 ||
		     chdir(spec->workdir) < 0)) {
			cb_error_errno(&err, errno, "workdir %s", spec->workdir);
			cb_report_fail(a->sock, 125, &err);
		}
	}

	/* On cgroup v1 we joined our cgroup first thing: now make the cgroup
	 * namespace rooted at it. */
	if (a->v1_cgroup_ns && unshare(CLONE_NEWCGROUP) < 0) {
		cb_error_errno(&err, errno, "unshare cgroup namespace");
		cb_report_fail(a->sock, 125, &err);
	}

	/* --init: the command waits on this gate until its pid 1 has hidden
	 * itself and closed what it must not keep (the container would see
	 * both); made before seccomp, which might refuse pipe2. */
	int gate[2] = {-1, -1};
	if (spec->init && pipe2(gate, O_CLOEXEC) < 0) {
		cb_error_errno(&err, errno, "pipe");
		cb_report_fail(a->sock, 125, &err);
	}
	/* No fd of the caller's reaches the container but those asked for
	 * (an open directory would be a way out of its root): close on exec
	 * every other one, before seccomp could refuse the call. */
	const int keep[] = {a->sock, gate[0], gate[1]};
	if ((r = cb_fds_close_on_exec(spec->preserve_fds)) < 0 ||
	    /* --init's reaper never execs: nothing it does not need stays open
	     * (our reports' socket goes at the fork, --preserve-fds's with
	     * it: plain close calls, which no seccomp filter refuses). */
	    (spec->init && (r = cb_close_fds_except(3 + spec->preserve_fds, keep, ELEMENTSOF(keep),
						    false)) < 0)) {
		cb_error_errno(&err, -r, "close inherited fds");
		cb_report_fail(a->sock, 125, &err);
	}

	/* --ulimit, while we may still lower and raise what root may. */
	if (cb_rlimits_apply(spec, &err) < 0)
		cb_report_fail(a->sock, 125, &err);

	/* Security, in the order that keeps each step possible (Landlock
	 * first: it needs CAP_SYS_ADMIN without no_new_privs, and the
	 * seccomp filter may not let its calls through). */
	if (!spec->privileged && (r = cb_landlock_forbid_devices()) < 0) {
		cb_error_errno(&err, -r, "landlock");
		cb_report_fail(a->sock, 125, &err);
	}
	if (!spec->no_new_privs && (r = cb_seccomp_load(a->seccomp)) < 0) {
		cb_error_errno(&err, -r, "load seccomp filter");
		cb_report_fail(a->sock, 125, &err);
	}
	if ((r = cb_caps_apply_bounding(a->caps)) < 0) {
		cb_error_errno(&err, -r, "drop capabilities from the bounding set");
		cb_report_fail(a->sock, 125, &err);
	}
	if (prctl(PR_SET_KEEPCAPS, 1) < 0 || setgroups(user.n_groups, user.groups) < 0 ||
	    setresgid(user.gid, user.gid, user.gid) < 0 ||
	    setresuid(user.uid, user.uid, user.uid) < 0 || prctl(PR_SET_KEEPCAPS, 0) < 0) {
		cb_error_errno(&err, errno, "switch to user %u:%u", user.uid, user.gid);
		cb_report_fail(a->sock, 125, &err);
	}
	if ((r = cb_caps_apply(a->caps, false)) < 0) {
		cb_error_errno(&err, -r, "set capabilities");
		cb_report_fail(a->sock, 125, &err);
	}
	if (spec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		cb_error_errno(&err, errno, "set no_new_privs");
		cb_report_fail(a->sock, 125, &err);
	}
	if (spec->no_new_privs && (r = cb_seccomp_load(a->seccomp)) < 0) {
		cb_error_errno(&err, -r, "load seccomp filter");
		cb_report_fail(a->sock, 125, &err);
	}

	/* The parent attaches the network while we set up: wait for it as
	 * late as possible, so the two overlap. */
	if (wait_net && !wait_parent(a->sock))
		_exit(125);

	if (spec->init) {
		sigset_t set;
		forward_set(&set);
		sigprocmask(SIG_BLOCK, &set, NULL);
		pid_t child = fork();
		if (child < 0) {
			cb_error_errno(&err, errno, "fork the command");
			cb_report_fail(a->sock, 125, &err);
		}
		if (child > 0) {
			/* pid 1 for the container's life: it shows
			 * "cowbox-init -- CMD...", as docker-init does, and
			 * nothing of the caller's. */
			close(gate[0]);
			const char *title[16] = {"cowbox-init", "--"};
			for (size_t i = 0; i + 3 < ELEMENTSOF(title) && spec->argv[i]; i++)
				title[i + 2] = spec->argv[i];
			cb_proc_hide(title);
			/* The reaper keeps nothing: not even the fds the
			 * command was given. */
			close(a->sock);
			for (int fd = 3; fd < 3 + spec->preserve_fds; fd++)
				close(fd);
			close(gate[1]); /* the command goes on */
			if (chdir("/") < 0) {
				/* the reaper needs no working directory */
			}
			init_loop(child);
		}
		close(gate[1]);
		char c;
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		close(gate[0]);
	}

	if (spec->record_phases) {
		struct cb_report rep = {.kind = 'T'};
		uint64_t t[3] = {t_start, t_mounts, cb_now_ns()};
		memcpy(rep.msg, t, sizeof(t));
		(void)!send(a->sock, &rep, sizeof(rep), MSG_NOSIGNAL);
	}
	sigset_t none;
	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	environ = env;
	/* The file the parent found along $PATH (work_out_ahead), then our
	 * own search: a file this user may not run, or gone, ends the same. */
	if (p.exec_path)
		execvp(p.exec_path, spec->argv);
	cb_execvp(spec->argv[0], spec->argv);
	int e = errno;
	cb_error_errno(&err, e, "exec %s", spec->argv[0]);
	cb_report_fail(a->sock, e == ENOENT || e == ENOTDIR ? 127 : 126, &err);
}

/* ---- the parent --------------------------------------------------------- */

/* Where $PATH (the container's, as build_env makes it) finds file in the
 * rootfs: the first regular file with an execute bit. Not when an entry
 * on the way is relative (the workdir's) or in /proc, /sys or /dev (the
 * child's own, not the rootfs's). */
static bool path_in_root(const struct cb_spawn_spec *spec, int rootfd, char *buf, size_t size)
{
	const char *file = spec->argv[0];
	if (!*file || strchr(file, '/'))
		return false;
	const char *path = cb_spawn_spec_getenv(spec, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	for (const char *p = path;;) {
		const char *end = strchrnul(p, ':');
		int dlen = (int)(end - p);
		if (p[0] != '/' || !strncmp(p, "/proc", 5) || !strncmp(p, "/sys", 4) ||
		    !strncmp(p, "/dev", 4))
			return false;
		if (snprintf(buf, size, "%.*s/%s", dlen, p, file) < (int)size) {
			struct stat st;
			_cleanup_close_ int fd =
			    cb_openat2(rootfd, buf, O_PATH | O_CLOEXEC, 0,
				       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
			if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
			    (st.st_mode & 0111))
				return true;
		}
		if (!*end)
			return false;
		p = end + 1;
	}
}

/* What the child would work out once its mounts are done, worked out here
 * while it makes them (it is then the one waited for): the user (its
 * /etc/passwd and /etc/group) and the file $PATH finds the command in.
 * Only when nothing but /proc, /sys, /dev and /etc's three files will be
 * mounted on the rootfs (no volume, no tmpfs): they change neither.
 * Best effort: what is missing the child looks up itself (an unknown
 * user fails there, with its own error), and it execs the path found
 * here before its own search, which stays as the fallback. */
static void work_out_ahead(const struct cb_spawn_spec *spec, int rootfd, struct cb_process *ahead,
			   char *exec_path, size_t size)
{
	if (spec->n_mounts || rootfd < 0)
		return;
	_cleanup_free_ char *passwd = NULL, *group = NULL;
	/* Through the rootfs's fd, no link followed (one could lead where
	 * the child's own mounts will be); what is not a plain file the child
	 * reads itself. */
	const uint64_t in_root = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS;
	bool read = read_regular(rootfd, "/etc/passwd", in_root, &passwd) >= 0;
	if (read && (spec->user || passwd || spec->n_group_add))
		read = read_regular(rootfd, "/etc/group", in_root, &group) >= 0;
	struct cb_error e = {0};
	ahead->have_user =
	    read && cb_user_resolve(spec->user, passwd, group, &ahead->user_ahead, &e) >= 0 &&
	    cb_user_add_groups(&ahead->user_ahead, spec->group_add, spec->n_group_add, group, &e) >=
		0;
	if (path_in_root(spec, rootfd, exec_path, size))
		ahead->exec_path = exec_path;
}

/* A child in a new user namespace has no rights over the host's files:
 * the store's 0700 directories stop it on the way to its rootfs, and the
 * kernel does not let it attach a mount made in the host's namespace. So
 * a helper with cowbox's own credentials enters the child's mount
 * namespace, makes it a slave of the host's (nothing propagates back),
 * attaches or binds the rootfs there, and sends the child an fd of it:
 * that fd is also the child's "go". A failure comes back through a pipe. */
static int attach_rootfs_for(const struct cb_proc *c, const struct cb_spawn_spec *spec, int sock,
			     struct cb_error *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return cb_error_errno(err, errno, "pipe");
	pid_t h = fork();
	if (h < 0) {
		close(p[0]);
		close(p[1]);
		return cb_error_errno(err, errno, "fork");
	}
	if (h == 0) {
		struct cb_error e = {0};
		int fd = -1;
		close(p[0]);
		if (setns(c->pidfd, CLONE_NEWNS) < 0)
			cb_error_errno(&e, errno, "enter the container's mount namespace");
		else if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
			cb_error_errno(&e, errno, "make / rslave");
		else if (spec->rootfs_detached && cb_mount_move(spec->rootfs_fd, spec->rootfs) < 0)
			cb_error_errno(&e, errno, "attach rootfs on %s", spec->rootfs);
		else if (!spec->rootfs_detached &&
			 mount(spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
			cb_error_errno(&e, errno, "bind rootfs %s", spec->rootfs);
		else if ((fd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			cb_error_errno(&e, errno, "open rootfs %s", spec->rootfs);
		else if ((e.code = -cb_report_send_fd(sock, 'R', fd)) != 0)
			cb_error_errno(&e, e.code, "send the rootfs");
		if (e.code)
			(void)!write(p[1], &e, sizeof(e));
		_exit(e.code ? 1 : 0);
	}
	close(p[1]);
	struct cb_error e = {0};
	ssize_t n;
	do
		n = read(p[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	int status;
	while (waitpid(h, &status, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(e) && e.code) {
		if (err)
			*err = e;
		return -e.code;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return cb_error_set(err, EIO, "the rootfs helper failed");
	return 0;
}


/* Read the child's reports until EOF (it exec'd) or an error report. */
static int read_reports(int sock, struct cb_proc *c, int *fail_exit_code, struct cb_error *err)
{
	for (;;) {
		struct cb_report rep;
		int fd;
		if (idle_due_ns(c) == 0) {
			struct pollfd p = {.fd = sock, .events = POLLIN};
			if (poll(&p, 1, 0) == 0) {
				idle_once(c);
				continue;
			}
		}
		int n = cb_report_recv(sock, &rep, &fd);
		/* ECONNRESET: the child exited with our "go" byte unread; the
		 * error is reported once, and its report is still queued. */
		if (n == -ECONNRESET)
			continue;
		if (n == -EIO)
			return cb_error_set(err, EIO, "short report from the container");
		if (n < 0)
			return cb_error_errno(err, -n, "read from the container");
		if (n == 0) {
			c->phases.exec_seen = cb_now_ns();
			return 0;
		}
		if (rep.kind == 'P') {
			if (fd < 0)
				return cb_error_set(err, EIO, "no pty from the container");
			c->pty = fd;
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (rep.kind == 'W') {
			memcpy(&c->phases.child_ready, rep.msg, sizeof(uint64_t));
			continue;
		}
		if (rep.kind == 'T') {
			uint64_t t[3];
			memcpy(t, rep.msg, sizeof(t));
			c->phases.child_start = t[0];
			c->phases.mounts_done = t[1];
			c->phases.exec = t[2];
			continue;
		}
		if (fail_exit_code)
			*fail_exit_code = rep.exit_code;
		return cb_error_set(err, rep.code, "%s", rep.msg);
	}
}

static void reap(struct cb_proc *c)
{
	if (c->reaped || c->pid <= 0)
		return;
	siginfo_t si;
	while (waitid(P_PID, (id_t)c->pid, &si, WEXITED) < 0 && errno == EINTR)
		;
	c->reaped = true;
}

void cb_proc_free(struct cb_proc *c)
{
	if (!c)
		return;
	if (!c->reaped && c->pid > 0) {
		kill(c->pid, SIGKILL);
		reap(c);
	}
	if (c->net_hook && c->net_hook->detach)
		c->net_hook->detach(c->net_hook->userdata);
	c->net_hook = NULL;
	if (c->netpool)
		cb_netpool_leave(&c->claim);
	cb_cgroup_destroy(&c->cgroup);
	closep(&c->pidfd);
	closep(&c->pty);
	free(c);
}

/* The network hook's attach, while the child sets up. */
struct attach_job {
	const struct cb_spawn_hook *hook;
	pid_t pid;
	int r;
	struct cb_error err;
};

static void attach_run(struct attach_job *j)
{
	j->r = j->hook->attach(j->hook->userdata, j->pid, &j->err);
}

/* Let the child just cloned run beside us, on another CPU. A kernel that
 * does not balance new tasks (this one: no scheduling domains,
 * `sched_vcpu_pack`) starts a child on its parent's CPU and leaves it
 * waiting there for the parent to block (0.8 ms, with the other CPU
 * idle), when the two are meant to run side by side
 * (spec->rootfs_late). Allowing the child every CPU it may use but ours,
 * then all of them again, moves a child queued here to one of the
 * others, where it starts at once (the scheduler then leaves it there);
 * one already running elsewhere stays where it is. Its CPUs end as they
 * were read here: those it was born with (on v2 its cgroup's); on v1 it
 * joins its cgroup (a cpuset, perhaps) only after its 'G' report, long
 * after. Best effort. */
static void leave_cpu_to_child(pid_t child)
{
	cpu_set_t mask, others;
	int cpu = sched_getcpu();
	if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(child, sizeof(mask), &mask) < 0)
		return;
	others = mask;
	CPU_CLR(cpu, &others);
	if (CPU_COUNT(&others) > 0 && sched_setaffinity(child, sizeof(others), &others) == 0)
		(void)sched_setaffinity(child, sizeof(mask), &mask);
}

static int open_ns_paths(const struct cb_spawn_spec *spec, int fds[7], struct cb_error *err)
{
	for (int i = 0; i < 7; i++) {
		fds[i] = -1;
		if (!spec->ns_path[i])
			continue;
		fds[i] = open(spec->ns_path[i], O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return cb_error_errno(err, errno, "namespace %s", spec->ns_path[i]);
	}
	return 0;
}

static bool has_command(const struct cb_spawn_spec *spec)
{
	return spec->argv && spec->argv[0];
}

/* Make the container's cgroup and write its limits; on v1 open its
 * `tasks` files for the child to move itself in. */
static int make_cgroup(struct cb_proc *c, const struct cb_spawn_spec *spec, bool v1,
		       int tasks[CB_CGROUP_V1_MAX], size_t *n_tasks, struct cb_error *err)
{
	c->phases.cgroup_begin = cb_now_ns();
	int r = cb_cgroup_create(spec, &c->cgroup, err);
	if (r >= 0 && v1)
		r = cb_cgroup_open_v1_tasks(&c->cgroup, tasks, n_tasks, err);
	if (r >= 0)
		c->phases.cgroup = cb_now_ns();
	return r;
}

static void close_tasks(int *tasks, size_t *n)
{
	while (*n > 0)
		close(tasks[--*n]);
}

static void close_fds(int fds[7])
{
	for (int i = 0; i < 7; i++)
		closep(&fds[i]);
}

/* Back to the pid namespace we were born in (its fd, which is closed)
 * after joining another for a child: a pid namespace joined applies to
 * every later child, such as a fork of LeakSanitizer's, which could not
 * see us from in there. */
static void pid_ns_back(int *own)
{
	if (*own >= 0)
		(void)setns(*own, CLONE_NEWPID);
	closep(own);
}

int cb_runtime_spawn(const struct cb_spawn_spec *spec, struct cb_proc **ret,
		     int *fail_exit_code, struct cb_error *err)
{
	int own_pid_ns = -1; /* see pid_ns_back */
	struct cb_spawn_spec early;
	int r;
	if (fail_exit_code)
		*fail_exit_code = 125;
	bool process_late = spec->rootfs_late && spec->process_late;
	if (!spec->id || !spec->rootfs || (!process_late && !has_command(spec)))
		return cb_error_set(err, EINVAL, "spec needs an id, a rootfs and a command");
	for (unsigned ns = CB_NS_PID; ns <= CB_NS_USER; ns <<= 1)
		if ((spec->ns_create & ns) && spec->ns_path[cb_ns_index(ns)])
			return cb_error_set(err, EINVAL,
					    "namespace %s: both made new and joined (%s)",
					    cb_ns_name(ns), spec->ns_path[cb_ns_index(ns)]);
	for (size_t i = 0; i < spec->n_sysctls; i++)
		if (cb_sysctl_check(spec->sysctls[i], cb_spawn_spec_own_ns(spec), err) < 0)
			return -EINVAL;
	if (spec->oom_score_adj_set && (spec->oom_score_adj < -1000 || spec->oom_score_adj > 1000))
		return cb_error_set(err, EINVAL, "oom_score_adj %d: expected -1000 to 1000",
				    spec->oom_score_adj);

	char hostname[65];
	snprintf(hostname, sizeof(hostname), "%.*s", spec->hostname ? 64 : 12,
		 spec->hostname ? spec->hostname : spec->id);
	bool userns = spec->n_uidmap > 0;
	uint64_t caps = spec->privileged ? cb_caps_all() & cb_caps_current() : spec->caps;

	struct cb_proc *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->phases.start = cb_now_ns();
	c->pidfd = c->pty = -1;
	c->cgroup.v2_fd = -1;
	c->claim.fd = -1;
	c->net_hook = spec->net_hook;
	c->idle_step = spec->idle_step;
	c->idle_opaque = spec->idle_opaque;
	bool net_attach = spec->net_hook && spec->net_hook->attach;
	bool late = spec->rootfs_late != NULL;
	if (late && !(spec->ns_create & CB_NS_MNT)) {
		cb_proc_free(c);
		return cb_error_set(err, EINVAL, "a late rootfs needs a mount namespace");
	}
	if (late && (userns || net_attach)) {
		/* The rootfs goes to such a child another way (a helper in its
		 * mount namespace; the network's "go" would cross it): made
		 * now, it is a detached rootfs like any other. */
		int fd = -1;
		if ((r = spec->rootfs_late(spec->rootfs_late_opaque, &fd, err)) < 0) {
			cb_proc_free(c);
			return r;
		}
		early = *spec;
		early.rootfs_late = NULL;
		early.rootfs_detached = true;
		early.rootfs_fd = fd;
		spec = &early;
		late = process_late = false;
		if (!has_command(spec)) {
			cb_proc_free(c);
			return cb_error_set(err, EINVAL, "spec needs a command");
		}
	}
	int ns_fds[7];
	int v1_tasks[CB_CGROUP_V1_MAX];
	size_t n_v1_tasks = 0;
	_cleanup_close_ int sock_parent = -1;
	int sock_child = -1;
	struct cb_seccomp *filter = NULL;
	r = open_ns_paths(spec, ns_fds, err);
	if (r < 0)
		goto fail;
	r = cb_seccomp_build(spec, caps, &filter, err);
	if (r < 0)
		goto fail;
	/* The cgroup exists, limited, before the clone: on v2 for
	 * CLONE_INTO_CGROUP, on v1 so the child can move itself in first
	 * thing. With a late rootfs on v1 it is made just after the clone
	 * instead (while the child makes its namespaces: its mkdir, a memory
	 * cgroup ~0.11 ms, then delays neither), and the child joins it
	 * before it execs, its `tasks` files sent after its process ('G').
	 * What the child's setup allocates before is charged to the caller's
	 * cgroup. */
	bool v1 = false, cgroup_late = false;
	if (!spec->no_cgroup) {
		v1 = cb_cgroup_detect() == 1;
		cgroup_late = v1 && late;
	}
	if (!spec->no_cgroup && !cgroup_late &&
	    (r = make_cgroup(c, spec, v1, v1_tasks, &n_v1_tasks, err)) < 0)
		goto fail;
	/* A network namespace of its own, with nothing to attach to it: a
	 * spare one will do, and this launch's idle time makes the next. Not
	 * in a user namespace (it must own the network namespace). */
	if (spec->netns_pool && (spec->ns_create & CB_NS_NET) && !userns && !net_attach) {
		c->netpool = spec->netns_pool;
		c->pool_always = spec->netns_pool_always;
		c->pool_joined = cb_netpool_take(c->netpool, &c->claim) > 0;
		c->pool_step = c->pool_joined ? POOL_RELEASE : POOL_FILL;
	}
	int pid_idx = cb_ns_index(CB_NS_PID);
	if (ns_fds[pid_idx] >= 0) {
		/* The pid namespace applies to children: join it here, and
		 * come back to ours once the child is made (own_pid_ns), so
		 * what we fork later is not born in the container's. */
		own_pid_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (own_pid_ns < 0 || setns(ns_fds[pid_idx], CLONE_NEWPID) < 0) {
			r = cb_error_errno(err, errno, "join namespace %s", spec->ns_path[pid_idx]);
			goto fail;
		}
		closep(&ns_fds[pid_idx]);
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = cb_error_errno(err, errno, "socketpair");
		goto fail;
	}
	sock_parent = sv[0];
	sock_child = sv[1];

	uint64_t flags = CLONE_PIDFD;
	static const struct {
		unsigned ns;
		uint64_t flag;
	} ns_flags[] = {
	    {CB_NS_PID, CLONE_NEWPID}, {CB_NS_MNT, CLONE_NEWNS},  {CB_NS_UTS, CLONE_NEWUTS},
	    {CB_NS_IPC, CLONE_NEWIPC}, {CB_NS_NET, CLONE_NEWNET}, {CB_NS_CGROUP, CLONE_NEWCGROUP},
	};
	for (size_t i = 0; i < ELEMENTSOF(ns_flags); i++)
		if (spec->ns_create & ns_flags[i].ns)
			flags |= ns_flags[i].flag;
	if (userns)
		flags |= CLONE_NEWUSER;
	if (c->claim.fd >= 0)
		flags &= ~(uint64_t)CLONE_NEWNET;
	if (v1)
		flags &= ~(uint64_t)CLONE_NEWCGROUP; /* unshared after joining */
	/* With a late rootfs the child makes them, while it is made. */
	uint64_t unshare_late =
	    late ? flags & (uint64_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) : 0;
	flags &= ~unshare_late;
	if (c->cgroup.version == 2)
		flags |= CLONE_INTO_CGROUP;

	struct child_args a = {
	    .spec = spec,
	    .hostname = hostname,
	    .sock = sock_child,
	    .n_v1_tasks = n_v1_tasks,
	    .cgroup_late = cgroup_late,
	    .in_userns = userns,
	    .rootfs_from_parent = userns && (spec->ns_create & CB_NS_MNT),
	    .rootfs_late = late,
	    .process_late = process_late,
	    .unshare_late = (int)unshare_late,
	    .v1_cgroup_ns = v1 && (spec->ns_create & CB_NS_CGROUP),
	    .wait_net = net_attach,
	    .seccomp = filter,
	    .caps = caps,
	    .spare_net = c->claim.fd,
	    .report_ready = late && (c->netpool || spec->record_phases),
	};
	memcpy(a.ns_fds, ns_fds, sizeof(ns_fds));
	memcpy(a.v1_tasks, v1_tasks, n_v1_tasks * sizeof(int));
	struct clone_args ca = {
	    .flags = flags,
	    .pidfd = (uint64_t)(uintptr_t)&c->pidfd,
	    .exit_signal = SIGCHLD,
	    .cgroup = c->cgroup.version == 2 ? (uint64_t)c->cgroup.v2_fd : 0,
	};
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid != 0)
		pid_ns_back(&own_pid_ns);
	if (pid < 0) {
		r = cb_error_errno(err, errno, "clone3");
		goto fail;
	}
	if (pid == 0) {
		close(sock_parent);
		if (own_pid_ns >= 0)
			close(own_pid_ns);
		child_main(&a);
	}
	c->pid = (pid_t)pid;
	c->phases.cloned = cb_now_ns();
	close_tasks(v1_tasks, &n_v1_tasks); /* the child has its copies */
	closep(&sock_child);
	close_fds(ns_fds);
	if (late)
		leave_cpu_to_child(c->pid);
	if (cgroup_late && (r = make_cgroup(c, spec, true, v1_tasks, &n_v1_tasks, err)) < 0)
		goto fail_child;

	if (userns) {
		size_t ng;
		const struct cb_idmap *gmap = cb_spawn_spec_gidmap(spec, &ng);
		if ((r = cb_idmap_write(c->pid, "uid_map", spec->uidmap, spec->n_uidmap)) < 0) {
			r = cb_error_errno(err, -r, "write uid_map");
			goto fail;
		}
		if ((r = cb_idmap_write(c->pid, "gid_map", gmap, ng)) < 0) {
			r = cb_error_errno(err, -r, "write gid_map");
			goto fail;
		}
		if ((r = cb_oom_score_adj_apply(spec, c->pid, err)) < 0)
			goto fail;
	}
	if (a.rootfs_from_parent) {
		if ((r = attach_rootfs_for(c, spec, sock_parent, err)) < 0)
			goto fail_child;
	} else if (userns && send(sock_parent, "u", 1, MSG_NOSIGNAL) != 1) {
		r = cb_error_errno(err, errno, "start the container");
		goto fail_child;
	}
	if (late) {
		int fd = -1;
		if ((r = spec->rootfs_late(spec->rootfs_late_opaque, &fd, err)) < 0)
			goto fail_child;
		c->phases.rootfs = cb_now_ns();
		if (process_late && !has_command(spec)) {
			r = cb_error_set(err, EINVAL, "spec needs a command");
			goto fail_child;
		}
		if ((r = cb_report_send_fd(sock_parent, 'R', fd)) < 0) {
			r = cb_error_errno(err, -r, "send the rootfs");
			goto fail_child;
		}
		struct cb_process ahead = {0};
		char exec_path[PATH_MAX];
		if (process_late)
			work_out_ahead(spec, fd, &ahead, exec_path, sizeof(exec_path));
		if (process_late && (r = cb_report_send_process(sock_parent, spec, &ahead)) < 0) {
			r = cb_error_errno(err, -r, "send the process");
			goto fail_child;
		}
		if (cgroup_late) {
			r = cb_report_send_fds(sock_parent, 'G', v1_tasks, n_v1_tasks);
			close_tasks(v1_tasks, &n_v1_tasks);
			if (r < 0) {
				r = cb_error_errno(err, -r, "send the cgroup");
				goto fail_child;
			}
		}
	}
	if (net_attach) {
		struct attach_job job = {.hook = spec->net_hook, .pid = c->pid};
		attach_run(&job);
		if (job.r < 0) {
			if (err)
				*err = job.err;
			r = job.r;
			goto fail_child;
		}
		c->phases.net = cb_now_ns();
		if (send(sock_parent, "n", 1, MSG_NOSIGNAL) != 1) {
			r = cb_error_errno(err, errno, "start the container");
			goto fail_child;
		}
	}
	r = read_reports(sock_parent, c, fail_exit_code, err);
	if (r < 0)
		goto fail;
	cb_seccomp_free(filter);
	*ret = c;
	return 0;

fail_child:
	/* The child may have failed first (and so made our step fail): its
	 * report is the one the user needs. */
	c->idle_step = NULL;
	c->pool_step = POOL_DONE;
	if (c->pid > 0) {
		struct cb_error child_err = {0};
		kill(c->pid, SIGKILL);
		if (read_reports(sock_parent, c, fail_exit_code, &child_err) < 0 &&
		    child_err.code) {
			if (err)
				*err = child_err;
			r = -child_err.code;
		}
	}
fail:
	pid_ns_back(&own_pid_ns);
	close_tasks(v1_tasks, &n_v1_tasks);
	cb_seccomp_free(filter);
	close_fds(ns_fds);
	closep(&sock_child);
	cb_proc_free(c);
	return r;
}

pid_t cb_proc_pid(const struct cb_proc *c)
{
	return c->pid;
}

int cb_proc_pidfd(const struct cb_proc *c)
{
	return c->pidfd;
}

int cb_proc_pty(const struct cb_proc *c)
{
	return c->pty;
}

int cb_proc_kill(struct cb_proc *c, int sig)
{
	if (c->reaped)
		return -ESRCH;
	return RET_NERRNO(syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0));
}

const struct cb_run_phases *cb_proc_phases(const struct cb_proc *c)
{
	return &c->phases;
}

static int finish(struct cb_proc *c, const siginfo_t *si, struct cb_run_status *ret_status)
{
	c->reaped = true;
	c->phases.exited = cb_now_ns();
	struct cb_run_status st = {
	    .phases = c->phases,
	    .exit_code = cb_runtime_exit_code(si->si_code, si->si_status),
	    .term_signal = si->si_code == CLD_EXITED ? 0 : si->si_status,
	};
	if (st.exit_code == 128 + SIGKILL && cb_cgroup_oom_killed(&c->cgroup))
		st.oom_killed = true;
	*ret_status = st;
	return 0;
}

int cb_proc_wait(struct cb_proc *c, struct cb_run_status *ret_status,
		      struct cb_error *err)
{
	siginfo_t si = {0};
	if (c->reaped)
		return cb_error_set(err, ECHILD, "container already reaped");
	while (waitid(P_PID, (id_t)c->pid, &si, WEXITED) < 0)
		if (errno != EINTR)
			return cb_error_errno(err, errno, "wait");
	return finish(c, &si, ret_status);
}

/* Try to reap without blocking: 1 when it was reaped. */
static int try_reap(struct cb_proc *c, struct cb_run_status *ret_status)
{
	siginfo_t si = {0};
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG) < 0)
		return -errno;
	if (si.si_pid == 0)
		return 0;
	finish(c, &si, ret_status);
	return 1;
}

static void sync_winsize(int pty)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(pty, TIOCSWINSZ, &ws);
}

/* Copy what is readable from in to out; false on EOF or error. */
static bool pump(int in, int out)
{
	char buf[8192];
	ssize_t n = read(in, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR);
	return cb_write_all(out, buf, (size_t)n) >= 0;
}

static int relay_tty(struct cb_proc *c, const struct cb_spawn_spec *spec, int sfd,
		     struct cb_run_status *status)
{
	int pty = c->pty;
	bool stdin_open = spec->interactive;
	for (;;) {
		struct pollfd p[3] = {
		    {.fd = sfd, .events = POLLIN},
		    {.fd = pty, .events = POLLIN},
		    {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents & POLLIN)
			pump(pty, STDOUT_FILENO);
		else if (p[1].revents & (POLLHUP | POLLERR))
			p[1].fd = -1; /* the last slave fd closed; wait for the exit */
		if (p[2].revents & (POLLIN | POLLHUP)) {
			if (!pump(STDIN_FILENO, pty)) {
				stdin_open = false;
				(void)!write(pty, "\x04", 1); /* EOF for the line discipline */
			}
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo ssi;
			if (read(sfd, &ssi, sizeof(ssi)) != sizeof(ssi))
				continue;
			if (ssi.ssi_signo == SIGWINCH) {
				sync_winsize(pty);
				continue;
			}
			if (ssi.ssi_signo != SIGCHLD) {
				cb_proc_kill(c, (int)ssi.ssi_signo);
				continue;
			}
			int r = try_reap(c, status);
			if (r < 0)
				return r;
			if (r == 1) {
				/* Drain what the process wrote before it ended. */
				int fl = fcntl(pty, F_GETFL);
				fcntl(pty, F_SETFL, fl | O_NONBLOCK);
				while (pump(pty, STDOUT_FILENO))
					;
				return 0;
			}
		}
		if (p[1].fd < 0 && !(p[0].revents & POLLIN)) {
			/* Nothing more to read: block on the exit alone. */
			struct cb_error e = {0};
			return cb_proc_wait(c, status, &e);
		}
	}
}

int cb_runtime_run(const struct cb_spawn_spec *spec, struct cb_run_status *status,
		   struct cb_error *err)
{
	*status = (struct cb_run_status){.exit_code = 125};
	sigset_t set, old;
	forward_set(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	/* An ignored signal is dropped before it can be waited for (a shell
	 * starts background jobs with SIGINT ignored): take them back to the
	 * default while blocked, and hand the command the default too. */
	struct sigaction saved_act[ELEMENTSOF(forwarded_signals)];
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
		sigaction(forwarded_signals[i], &dfl, &saved_act[i]);

	struct cb_proc *c = NULL;
	int fail_code = 125, r;
	struct termios saved_tio;
	bool raw = false;
	r = cb_runtime_spawn(spec, &c, &fail_code, err);
	if (r < 0) {
		status->exit_code = fail_code;
		goto out;
	}
	if (spec->on_started)
		spec->on_started(spec->on_started_opaque, c->pid);
	if (spec->tty) {
		if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
			struct termios tio = saved_tio;
			cfmakeraw(&tio);
			raw = tcsetattr(STDIN_FILENO, TCSANOW, &tio) == 0;
		}
		sync_winsize(c->pty);
		_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
		if (sfd < 0) {
			r = cb_error_errno(err, errno, "signalfd");
			goto out;
		}
		r = relay_tty(c, spec, sfd, status);
		if (r < 0) {
			cb_error_errno(err, -r, "relay the terminal");
			goto out;
		}
	} else {
		for (;;) {
			siginfo_t si;
			int64_t due = idle_due_ns(c);
			struct timespec ts = {due / 1000000000, due % 1000000000};
			int sig = due >= 0 ? sigtimedwait(&set, &si, &ts) : sigwaitinfo(&set, &si);
			if (sig < 0) {
				if (errno == EAGAIN && idle_due_ns(c) == 0)
					idle_once(c);
				continue;
			}
			if (sig != SIGCHLD) {
				cb_proc_kill(c, sig);
				continue;
			}
			r = try_reap(c, status);
			if (r < 0) {
				cb_error_errno(err, -r, "wait");
				goto out;
			}
			if (r == 1)
				break;
		}
	}
	r = 0;
out:
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	bool spawned = c != NULL;
	cb_proc_free(c);
	if (spawned)
		status->phases.cleaned = cb_now_ns();
	for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
		sigaction(forwarded_signals[i], &saved_act[i], NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
