#include "supervisor.h"
#include "net-glue.h"
#include "cgroup.h"
#include "fsutil.h"
#include "macro.h"
#include "runtime.h"
#include "store.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* What the supervisor tells `run -d` once the container exec'd or failed. */
struct report {
	int ok;
	int exit_code;
	int code;
	char msg[CB_ERROR_MAX];
};

static void cgroup_path(const struct cb_spawn_spec *spec, char *buf, size_t size)
{
	const char *parent = spec->cgroup_parent ? spec->cgroup_parent : "cowbox";
	while (*parent == '/')
		parent++;
	if (spec->no_cgroup)
		buf[0] = '\0';
	else
		snprintf(buf, size, "%s/%s", parent, spec->id);
}

/* The state of o's container while this process supervises it (its
 * pid and start come when it runs). */
/* Running, held by this process: what every starter records first. */
static struct cb_state held_state(void)
{
	return (struct cb_state){
	    .status = CB_STATE_RUNNING,
	    .supervisor = getpid(),
	    .supervisor_start = cb_proc_start_time(getpid()),
	    .started = time(NULL),
	};
}

static struct cb_state running_state(const struct cb_run_options *o)
{
	struct cb_state st = held_state();
	st.argv = (char **)o->spec.argv;
	st.user = (char *)o->spec.user;
	st.workdir = (char *)o->spec.workdir;
	st.stop_signal = o->stop_signal;
	st.stop_timeout = o->stop_timeout;
	cgroup_path(&o->spec, st.cgroup, sizeof(st.cgroup));
	return st;
}

/* Let go of a claim: its lock, then its directory. */
static void release_claim(struct cli_foreground *fg)
{
	closep(&fg->lock);
	closep(&fg->dirfd);
}

static void foreground_started(void *opaque, pid_t pid)
{
	struct cli_foreground *fg = opaque;
	if (fg->rootfs_fd)
		closep(fg->rootfs_fd);
	fg->st.argv = (char **)fg->spec->argv;
	fg->st.user = (char *)fg->spec->user;
	fg->st.workdir = (char *)fg->spec->workdir;
	fg->st.pid = pid;
	fg->st.pid_start = cb_proc_start_time(pid);
	fg->st.started = time(NULL);
	(void)cb_state_write(fg->dirfd, &fg->st);
}

int cli_state_claim(struct cli_foreground *fg, const char *id, bool is_new, struct cb_error *err)
{
	*fg = (struct cli_foreground){.dirfd = -1, .lock = -1};
	int r = cb_state_open_locked(id, is_new, &fg->dirfd, &fg->lock);
	if (r == -EBUSY)
		return cb_error_set(err, EBUSY, "container %.12s is already running", id);
	if (r < 0)
		return cb_error_errno(err, -r, "state of container %.12s", id);
	return 0;
}

int cli_state_claim_restart(struct cli_foreground *fg, const char *id, struct cb_error *err)
{
	int r = cli_state_claim(fg, id, false, err);
	if (r < 0)
		return r;
	struct cb_state starting = held_state(); /* no process nor cgroup yet */
	if ((r = cb_state_write(fg->dirfd, &starting)) < 0) {
		release_claim(fg);
		return cb_error_errno(err, -r, "state of container %.12s", id);
	}
	return 0;
}

void cli_state_unclaim_restart(struct cli_foreground *fg, const struct cb_state *old)
{
	if (fg->dirfd < 0)
		return;
	(void)cb_state_write(fg->dirfd, old);
	release_claim(fg);
}

int cli_foreground_begin(struct cli_foreground *fg, struct cb_run_options *o, bool is_new,
			 struct cb_error *err)
{
	int r = cli_state_claim(fg, o->spec.id, is_new, err);
	if (r < 0)
		return r;
	fg->st = running_state(o);
	fg->spec = &o->spec;
	o->spec.on_started = foreground_started;
	o->spec.on_started_opaque = fg;
	return 0;
}

void cli_foreground_end(struct cli_foreground *fg, const char *id, bool remove,
			const struct cb_run_status *rs)
{
	if (fg->dirfd < 0)
		return;
	if (remove) {
		cb_state_remove_later(id);
	} else {
		fg->st.status = CB_STATE_EXITED;
		fg->st.exit_code = rs->exit_code;
		fg->st.oom = rs->oom_killed;
		fg->st.finished = time(NULL);
		(void)cb_state_write(fg->dirfd, &fg->st);
	}
	release_claim(fg);
}

/* Unmount the container (remove it with remove) through a store opened
 * here: the inherited one shares its lock files' open descriptions (and
 * so their flocks) with the cowbox that forked us. */
static void release_rootfs(struct cb_cli *cli, const char *id, bool remove)
{
	struct cb_store *s = cli_store(cli);
	struct cb_error err = {0};
	if (!s)
		return;
	int r = remove ? cb_container_remove(s, id, CB_REMOVE_FORCE, &err)
		       : cb_container_unmount(s, id, CB_UNMOUNT_LAZY, &err);
	if (r < 0 && r != -ENOENT)
		cli_fail(&err, r, "supervisor: container %.12s", id);
}

static void send_report(int fd, int exit_code, const struct cb_error *err)
{
	struct report rep = {.ok = err == NULL, .exit_code = exit_code};
	if (err) {
		rep.code = err->code ? err->code : EIO;
		snprintf(rep.msg, sizeof(rep.msg), "%s",
			 err->msg[0] ? err->msg : strerror(rep.code));
	}
	(void)!write(fd, &rep, sizeof(rep));
}

/* -t: the container's terminal goes to the log. Someone must read the pty
 * master or the container blocks once its buffer is full; nothing is
 * ever written to it, so a shell on it waits for input, as with docker's
 * `run -dt`. Returns when the process has exited (not reaped yet). */
static void pump_pty_to_log(struct cb_proc *proc, int logfd)
{
	int pty = cb_proc_pty(proc);
	char buf[16384];
	struct pollfd p[2] = {
	    {.fd = pty, .events = POLLIN},
	    {.fd = cb_proc_pidfd(proc), .events = POLLIN},
	};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents & POLLIN) {
			ssize_t n = read(pty, buf, sizeof(buf));
			if (n > 0)
				(void)!cb_write_all(logfd, buf, (size_t)n);
		} else if (p[0].revents & (POLLHUP | POLLERR)) {
			p[0].fd = -1; /* no slave open: wait for the exit alone */
		}
		if (p[1].revents & POLLIN)
			break;
	}
	/* What the process wrote just before it ended. */
	fcntl(pty, F_SETFL, fcntl(pty, F_GETFL) | O_NONBLOCK);
	ssize_t n;
	while ((n = read(pty, buf, sizeof(buf))) > 0)
		(void)!cb_write_all(logfd, buf, (size_t)n);
}

static int supervisor_main(struct cb_cli *cli, struct cb_run_options *o, bool remove, int dirfd,
			   int lock, int logfd, int report_fd)
{
	const char *id = o->spec.id;
	setsid();
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int errfd =
	    openat(dirfd, "supervisor.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		dup2(errfd >= 0 ? errfd : devnull, STDERR_FILENO);
	}
	closep(&errfd);
	cb_store_free(cli->store);
	cli->store = NULL;
	/* It lives as long as the container: of the caller's fds it keeps
	 * only --preserve-fds's (for the container), or a pipe's reader
	 * would wait for it, a lock stay held. */
	int keep[] = {dirfd,   lock,
		      logfd,   report_fd,
		      devnull, o->userns_locked ? o->userns_lock : -1};
	(void)cb_close_fds_except(3 + o->spec.preserve_fds, keep, ELEMENTSOF(keep), false);
	/* The container inherits ignored signals: a shell starts background
	 * jobs with SIGINT and SIGQUIT ignored. setsid() already keeps the
	 * terminal's signals away. */
	static const int defaults[] = {SIGINT,	SIGTERM, SIGHUP,  SIGQUIT,
				       SIGUSR1, SIGUSR2, SIGWINCH};
	for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
		signal(defaults[i], SIG_DFL);

	struct cb_error err = {0};
	struct cb_state st = running_state(o);
	o->spec.stdio[0] = devnull;
	o->spec.stdio[1] = logfd;
	o->spec.stdio[2] = logfd;
	/* -i without -t: a stdin that stays open (the supervisor holds its
	 * write end and never writes), so `sh` does not read EOF and exit. */
	_cleanup_close_ int stdin_r = -1, stdin_w = -1;
	if (o->spec.interactive && !o->spec.tty) {
		int sp[2];
		if (pipe2(sp, O_CLOEXEC) == 0) {
			stdin_r = sp[0];
			stdin_w = sp[1];
			o->spec.stdio[0] = stdin_r;
		}
	}
	struct cb_proc *proc = NULL;
	int fail_code = 125;
	/* The network is attached by the spawn's hook and detached when the
	 * process handle is freed; net must outlive proc. */
	struct cli_net net = {0};
	struct cb_error nerr = {0};
	int r = cli_net_prepare(cli, o, &net, &err);
	if (r >= 0)
		r = cb_runtime_spawn(&o->spec, &proc, &fail_code, &err);
	if (r < 0) {
		cli_net_release(&net, &nerr);
		st.status = remove ? CB_STATE_REMOVED : CB_STATE_EXITED;
		st.exit_code = fail_code;
		st.finished = time(NULL);
		release_rootfs(cli, id, remove);
		cb_state_write(dirfd, &st);
		send_report(report_fd, fail_code, &err);
		close(report_fd);
		closep(&devnull);
		return CLI_SUPERVISOR_DONE;
	}
	closep(&stdin_r);
	/* The container has its copies of --preserve-fds's: a reader of a
	 * pipe among them must see its end when the container closes it. */
	for (int fd = 3; fd < 3 + o->spec.preserve_fds; fd++)
		close(fd);
	st.pid = cb_proc_pid(proc);
	st.pid_start = cb_proc_start_time(st.pid);
	st.started = time(NULL);
	if ((r = cb_state_write(dirfd, &st)) < 0)
		cli_fail(NULL, r, "supervisor: container %.12s: write state", id);
	send_report(report_fd, 0, NULL);
	close(report_fd);

	struct cb_run_status rs = {.exit_code = 125};
	if (o->spec.tty)
		pump_pty_to_log(proc, logfd);
	r = cb_proc_wait(proc, &rs, &err);
	if (r < 0)
		cli_fail(&err, r, "supervisor: container %.12s: wait", id);
	cb_proc_free(proc); /* removes the cgroup, detaches the network */
	if (cli_net_release(&net, &nerr) < 0)
		cli_fail(&nerr, -nerr.code, "supervisor: container %.12s: network", id);
	if (rs.oom_killed) {
		char line[160];
		int n = snprintf(line, sizeof(line), "cowbox: container %s killed: out of memory\n",
				 id);
		(void)!write(logfd, line, (size_t)n);
	}
	closep(&devnull);
	release_rootfs(cli, id, remove);
	st.status = remove ? CB_STATE_REMOVED : CB_STATE_EXITED;
	st.exit_code = rs.exit_code;
	st.oom = rs.oom_killed;
	st.finished = time(NULL);
	if ((r = cb_state_write(dirfd, &st)) < 0)
		cli_fail(NULL, r, "supervisor: container %.12s: write state", id);
	return CLI_SUPERVISOR_DONE;
}

int cli_supervise(struct cb_cli *cli, struct cb_run_options *o, struct cli_launch *l, bool remove,
		  struct cli_foreground *claimed, int *ret_exit_code, struct cb_error *err)
{
	const char *id = l->ctr->id;
	*ret_exit_code = 125;
	/* The state lock, taken here (or by the caller, before it made the
	 * container) and inherited by the supervisor: never a moment when the
	 * container is being started and its state directory unlocked. */
	struct cli_foreground own;
	if (!claimed || claimed->lock < 0) {
		int r = cli_state_claim(&own, id, false, err);
		if (r < 0)
			return r;
		claimed = &own;
	}
	_cleanup_close_ int dirfd = TAKE_FD(claimed->dirfd), lock = TAKE_FD(claimed->lock);
	_cleanup_close_ int logfd = -1;
	int r;
	logfd = openat(dirfd, "log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return cb_error_errno(err, errno, "log of container %.12s", id);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return cb_error_errno(err, errno, "pipe");
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		r = cb_error_errno(err, errno, "fork the supervisor");
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		close(p[0]);
		return supervisor_main(cli, o, remove, dirfd, lock, logfd, p[1]);
	}
	close(p[1]);
	struct report rep;
	ssize_t n;
	do
		n = read(p[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n != (ssize_t)sizeof(rep))
		return cb_error_set(err, EIO, "the supervisor of container %.12s died", id);
	if (!rep.ok) {
		*ret_exit_code = rep.exit_code;
		rep.msg[sizeof(rep.msg) - 1] = '\0';
		return cb_error_set(err, rep.code, "%s", rep.msg);
	}
	*ret_exit_code = 0;
	return 0;
}

int cli_state_wait_unsupervised(const char *id)
{
	_cleanup_close_ int dirfd = -1;
	int r = cb_state_open(id, false, &dirfd);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	_cleanup_close_ int lock = cb_state_open_lock(dirfd);
	if (lock < 0)
		return lock == -ENOENT ? 0 : lock;
	while (flock(lock, LOCK_SH) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Kill what is left of a container whose supervisor died, and wait (a
 * little) for it to go. */
static void kill_leftover(const struct cb_state *st)
{
	_cleanup_close_ int pidfd = cb_proc_open_checked(st->pid, st->pid_start);
	if (pidfd < 0)
		return;
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	(void)poll(&p, 1, 5000);
}

/* A container whose starter (run, start) or supervisor died: nothing
 * will run it or clean up after it any more. Its state lock is free (the
 * starter makes the state directory already locked, cb_state_open_locked,
 * and hands the lock to the supervisor): take it, so one command repairs
 * it, and read the state again under it. No state at all: the starter was
 * killed before the command ran. A --rm container goes, as --rm asked; a
 * kept one is unmounted, and stays created when it never ran. A running
 * one's processes are killed and its cgroup removed first. *st is the
 * state as read unlocked, replaced by what is true now. */
static void repair_dead(struct cb_cli *cli, struct cb_store *s, const struct cb_container *ctr,
			int dirfd, struct cb_state *st)
{
	_cleanup_close_ int lock = cb_state_open_lock(dirfd);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0)
		return; /* its starter or supervisor is at work */
	struct cb_state now;
	int r = cb_state_read(dirfd, &now);
	if (r < 0 && r != -ENOENT)
		return;
	bool never_ran = r == -ENOENT;
	if (!never_ran && now.status != CB_STATE_RUNNING) {
		/* It ran or ended meanwhile (its state written before the
		 * lock was let go), or another command repaired it. */
		cb_state_release(st);
		*st = now;
		return;
	}
	if (never_ran) {
		now = (struct cb_state){.status = CB_STATE_CREATED};
		if (ctr->is_volatile)
			cli_log(cli, CB_LOG_INFO,
				"container %.12s: its cowbox was killed before it ran: removing it",
				ctr->id);
	} else {
		cli_log(cli, CB_LOG_INFO, "container %.12s: its supervisor is gone: cleaning up",
			ctr->id);
		kill_leftover(&now);
		if (now.cgroup[0]) {
			struct cb_cgroup cg = {.version = cb_cgroup_detect(),
					       .path = strdup(now.cgroup),
					       .v2_fd = -1,
					       .v1_mask = ~0u};
			if (cg.version > 0 && cg.path)
				cb_cgroup_destroy(&cg);
			else
				free(cg.path);
		}
	}
	struct cb_error err = {0};
	r = ctr->is_volatile
		? cb_container_remove_known(s, ctr, CB_REMOVE_FORCE, &err)
		: cb_container_unmount(s, ctr->id, never_ran ? 0 : CB_UNMOUNT_LAZY, &err);
	bool gone = ctr->is_volatile && (r >= 0 || r == -ENOENT);
	if (r < 0 && r != -ENOENT)
		cli_fail(&err, r, "container %.12s", ctr->id);
	if (gone || !never_ran) {
		/* Killed, as far as anyone can tell: 137. */
		now.status = gone ? CB_STATE_REMOVED : CB_STATE_EXITED;
		now.exit_code = 128 + SIGKILL;
		now.finished = time(NULL);
		if ((r = cb_state_write(dirfd, &now)) < 0)
			cli_fail(NULL, r, "container %.12s: write state", ctr->id);
	}
	cb_state_release(st);
	*st = now;
}

int cli_state_get(struct cb_cli *cli, struct cb_store *s, const struct cb_container *ctr,
		  struct cb_state *ret)
{
	_cleanup_close_ int dirfd = -1;
	int r = cb_state_open(ctr->id, false, &dirfd);
	if (r == -ENOENT) {
		*ret = (struct cb_state){.status = CB_STATE_CREATED};
		return 0;
	}
	if (r < 0)
		return r;
	r = cb_state_read(dirfd, ret);
	if (r == -ENOENT) {
		*ret = (struct cb_state){.status = CB_STATE_CREATED};
		repair_dead(cli, s, ctr, dirfd, ret);
		return 0;
	}
	if (r < 0)
		return r;
	if (ret->status == CB_STATE_RUNNING && !cb_state_supervised(dirfd))
		repair_dead(cli, s, ctr, dirfd, ret);
	return 0;
}

int cli_container_lookup(struct cb_cli *cli, struct cb_store *s, const char *verb, const char *what,
			 struct cb_container **ret_ctr, struct cb_state *ret_st)
{
	struct cb_error err = {0};
	char id[CB_CONTAINER_ID_SIZE];
	struct cb_container *ctr = NULL;
	int r = cb_container_resolve(s, what, id, &err);
	if (r >= 0)
		r = cb_container_get(s, id, &ctr, &err);
	if (r == -ENOENT) /* the store's words would name it a second time */
		return cli_error("%s %s: no such container", verb, what);
	if (r < 0)
		return cli_fail(&err, r, "%s %s", verb, what);
	r = cli_state_get(cli, s, ctr, ret_st);
	if (r < 0) {
		cb_container_free(ctr);
		return cli_fail(NULL, r, "%s %s: state", verb, what);
	}
	*ret_ctr = ctr;
	return 0;
}

int cli_for_each_container(struct cb_cli *cli, const char *verb, char *const *names, int n,
			   cli_container_fn fn, void *opaque)
{
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	int ret = 0;
	for (int i = 0; i < n; i++) {
		struct cb_container *ctr = NULL;
		struct cb_state st;
		int r = cli_container_lookup(cli, s, verb, names[i], &ctr, &st);
		if (r == 0)
			r = fn(cli, s, names[i], ctr, &st, opaque);
		if (r != 0)
			ret = r;
		if (ctr) {
			cb_state_release(&st);
			cb_container_free(ctr);
		}
	}
	return ret;
}

int cli_for_each_listed(struct cb_cli *cli, const char *verb, bool all, cli_container_fn fn,
			void *opaque)
{
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	_cleanup_strv_ char **ids = NULL;
	size_t n = 0;
	int r = cb_container_list(s, &ids, &n);
	if (r < 0)
		return cli_fail(NULL, r, "%s", verb);
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		struct cb_container *ctr = NULL;
		if (cb_container_get(s, ids[i], &ctr, NULL) < 0)
			continue; /* removed meanwhile */
		struct cb_state st;
		if (cli_state_get(cli, s, ctr, &st) < 0)
			st = (struct cb_state){.status = CB_STATE_CREATED};
		/* REMOVED: a --rm container cleaned up just now. */
		if ((all && st.status != CB_STATE_REMOVED) || st.status == CB_STATE_RUNNING)
			r = fn(cli, s, ctr->id, ctr, &st, opaque);
		else
			r = 0;
		cb_state_release(&st);
		cb_container_free(ctr);
		if (r != 0)
			ret = r;
	}
	return ret;
}

int cli_container_signal(const struct cb_state *st, int sig, int wait_ms)
{
	_cleanup_close_ int pidfd = cb_proc_open_checked(st->pid, st->pid_start);
	if (pidfd < 0)
		return pidfd;
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		return -errno;
	/* A paused container dies only once thawed (cgroup v1). */
	if (sig == SIGKILL && cb_cgroup_frozen(st->cgroup))
		(void)cb_cgroup_freeze(st->cgroup, false, NULL);
	if (wait_ms < 0)
		return 0;
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, wait_ms);
	while (n < 0 && errno == EINTR);
	return n > 0 ? 1 : 0;
}
