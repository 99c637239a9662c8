/* Launch a process in a rootfs directory: namespaces, mounts, cgroup,
 * capabilities, seccomp, user; then wait for it.
 *
 *   cb_runtime_run()   spawn, relay the terminal and signals, wait, clean
 *                      up: what `cowbox run` does in the foreground.
 *   cb_runtime_spawn() start only: returns once the process has exec'd (or
 *                      failed to); a supervisor (`run -d`) then owns the
 *                      handle and calls cb_proc_wait().
 *
 * There are no helper processes: cowbox clones the child, which sets
 * itself up and execs. Failed setup steps come back through a socket as
 * one message ("mount /proc: Operation not permitted"). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

struct cb_proc;

/* Where the time of one start goes (CLOCK_MONOTONIC ns; 0 when a step
 * was not reached or not recorded). The child's three are recorded only
 * with spec->record_phases (one more message before exec). */
struct cb_run_phases {
	uint64_t start;	      /* cb_runtime_spawn() entered */
	uint64_t cgroup_begin; /* parent: making the cgroup began */
	uint64_t cgroup;       /* parent: cgroup made and limited */
	uint64_t cloned;      /* parent: clone3 returned */
	uint64_t rootfs;      /* parent: spec->rootfs_late returned (0 without it) */
	uint64_t net;	      /* parent: spec->net_hook attached (0 without one) */
	uint64_t child_start; /* child: first step */
	uint64_t child_ready; /* child: ready for its rootfs (0: not known) */
	uint64_t mounts_done; /* child: filesystem ready, old root gone */
	uint64_t exec;	      /* child: about to execve */
	uint64_t exec_seen;   /* parent: the child exec'd (EOF on the socket) */
	uint64_t exited;      /* parent: reaped */
	uint64_t cleaned;     /* parent: cgroup removed, everything closed */
};

struct cb_run_status {
	int exit_code;	 /* the process's status, 128+N on signal N; 125/126/127 on failure */
	int term_signal; /* N when the process was killed by a signal, else 0 */
	bool oom_killed; /* the cgroup's memory limit killed it (exit_code 137) */
	struct cb_run_phases phases;
};

/* Start spec's process. On success *ret owns the running container (its
 * cgroup, pidfd and, with spec->tty, the pty master). On failure nothing
 * is left behind (no cgroup, no child) and, when fail_exit_code is
 * non-NULL, it gets 127 (command not found), 126 (not executable) or 125
 * (any other failure). */
int cb_runtime_spawn(const struct cb_spawn_spec *spec, struct cb_proc **ret,
		     int *fail_exit_code, struct cb_error *err);

pid_t cb_proc_pid(const struct cb_proc *c);
int cb_proc_pidfd(const struct cb_proc *c);
/* The pty master with spec->tty, else -1. Owned by the container. */
int cb_proc_pty(const struct cb_proc *c);
/* Send sig to the container's first process. */
int cb_proc_kill(struct cb_proc *c, int sig);
/* The phases recorded so far. */
const struct cb_run_phases *cb_proc_phases(const struct cb_proc *c);

/* Reap the container's first process (blocking) and fill *ret_status;
 * an OOM kill is reported as such. Does not free c. */
int cb_proc_wait(struct cb_proc *c, struct cb_run_status *ret_status,
		      struct cb_error *err);
/* Kill what still runs, remove the cgroup, close the fds, free c.
 * NULL-safe. */
void cb_proc_free(struct cb_proc *c);

/* Spawn, forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and
 * SIGWINCH to the process, with spec->tty put the caller's terminal in raw
 * mode and copy between it and the pty, wait, clean up. status is always
 * written: exit_code is 125/126/127 when the return value is < 0. The
 * signals above are blocked in the caller for the duration. */
int cb_runtime_run(const struct cb_spawn_spec *spec, struct cb_run_status *status,
		   struct cb_error *err);

/* The process's exit code for a wait status (128+N on signal N). */
int cb_runtime_exit_code(int code, int status);

/* Set the spec's --ulimit limits on this process (the container's first
 * process, or one exec'd into it). */
int cb_rlimits_apply(const struct cb_spawn_spec *spec, struct cb_error *err);
/* Before exec: fds 3 .. 3+preserve-1 lose close-on-exec, every fd above
 * them gets it (close_range), so the new program has only those and
 * 0-2. -errno. */
int cb_fds_close_on_exec(int preserve);
/* --oom-score-adj: write spec's value to process pid's oom_score_adj (0:
 * our own, through /proc/self; as host root: in a user namespace the file
 * is not its root's). No-op when unset. Lowering it below ours needs CAP_SYS_RESOURCE. */
int cb_oom_score_adj_apply(const struct cb_spawn_spec *spec, pid_t pid, struct cb_error *err);
/* For a process of cowbox's own that a container can see (--init's
 * reaper, exec's go-between, a run's child in a pid namespace it shares):
 * hide what it inherited from the caller. Non-dumpable, its
 * /proc/PID/{environ,exe,maps,mem,fd} need CAP_SYS_PTRACE in the host's
 * user namespace: the caller's environment stays the caller's, and the
 * host's binary cannot be opened from inside (the way to overwrite a
 * runtime's binary, CVE-2019-5736). /proc/PID/cmdline, which anyone may
 * read (`cowbox run -e KEY=SECRET ...`), is overwritten in place with
 * title, NUL-separated words as many as fit, and the environment's
 * strings with NULs; the name (comm) becomes title[0]. Best effort. */
void cb_proc_hide(const char *const *title);
