/* The run-time state of a container the store knows: one directory per
 * container under RUNDIR/<id>/, RUNDIR being /run/cowbox (root),
 * $XDG_RUNTIME_DIR/cowbox (others) or what --runroot / COWBOX_RUN_DIR say:
 *
 *   state           JSON, replaced atomically (temp file + rename):
 *                   {"status":"created|running|exited|removed","pid":N,
 *                    "pid_start":T,"supervisor":N,"supervisor_start":T,
 *                    "cgroup":"cowbox/<id>","ns":{"pid":"/proc/N/ns/pid",...},
 *                    "argv":[...],"user":"...","workdir":"...",
 *                    "exit_code":N,"oom":bool,"started":S,"finished":S}
 *   (the directory itself) flock'd (exclusive) by the supervisor (or the
 *                   cowbox running it in the foreground) for its whole
 *                   life: `wait` blocks on it (shared), and a state that says
 *                   running while nobody holds it is stale (killed supervisor)
 *   log             the container's stdout and stderr, for `logs`
 *   supervisor.log  the supervisor's own stderr
 *
 * T is the process's start time (field 22 of /proc/PID/stat, clock ticks
 * since boot): a pid whose start time differs is a reused pid. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum cb_state_status {
	CB_STATE_CREATED,
	CB_STATE_RUNNING,
	CB_STATE_EXITED,
	CB_STATE_REMOVED, /* --rm: the container is gone; kept for `wait` */
};

struct cb_state {
	enum cb_state_status status;
	pid_t pid;
	uint64_t pid_start;
	pid_t supervisor;
	uint64_t supervisor_start;
	char cgroup[512];     /* below each hierarchy's root; "" without one */
	char **argv;	      /* owned; NULL-terminated, may be NULL */
	char *user, *workdir; /* owned; may be NULL */
	int exit_code;
	bool oom;
	int stop_signal;  /* what `stop` sends first; 0: SIGTERM */
	int stop_timeout; /* seconds before SIGKILL; -1: stop's default */
	int64_t started, finished; /* unix seconds; 0: not yet */
};
void cb_state_release(struct cb_state *st);
const char *cb_state_status_name(enum cb_state_status s);

/* Use dir (absolute) as the run directory instead of the default:
 * --runroot, COWBOX_RUN_DIR. NULL or "" restores the default. */
void cb_state_set_run_dir(const char *dir);
bool cb_state_run_dir_is_set(void);
/* The run directory: the one set above, else /run/cowbox for root, else
 * $XDG_RUNTIME_DIR/cowbox; caller frees. */
int cb_state_base_dir(char **ret);
/* The same, kept for the life of the process; NULL when out of memory. */
const char *cb_state_run_dir(void);
/* The default run directory, whatever was set (for what is host-wide:
 * the --userns auto ID ranges). */
int cb_state_default_dir(char **ret);
/* The state directory of id ("/run/cowbox/<id>"); caller frees. */
int cb_state_dir(const char *id, char **ret_path);
/* Open (with create, make) the state directory of id. -ENOENT when absent. */
int cb_state_open(const char *id, bool create, int *ret_dirfd);
/* Open (making it) id's state directory and take its lock, as whoever
 * starts the container does for as long as it runs: -EBUSY when another
 * holds it. A new directory appears already locked, so one found unlocked
 * without a state file was left by a starter that died before its
 * container ran (cli_state_get). is_new: id was just made (run, create),
 * so there is no directory to look for first. */
int cb_state_open_locked(const char *id, bool is_new, int *ret_dirfd, int *ret_lock);
/* Read the state; -ENOENT when there is none yet. */
int cb_state_read(int dirfd, struct cb_state *ret);
/* Replace the state file atomically. */
int cb_state_write(int dirfd, const struct cb_state *st);
/* Record that an attached run of id (run in the foreground, start -a)
 * ended, for ps and wait; argv is borrowed. */
int cb_state_record_exit(const char *id, char *const *argv, int64_t started, int exit_code,
			 bool oom);
/* Remove id's state directory (a missing one is fine). */
int cb_state_remove(const char *id);
/* The same, the directory itself put off: it is renamed into
 * RUNDIR/.trash, whose entries a later launch deletes while its container
 * runs (cb_state_trash_steps), and rm and ps empty. Where /run is not a
 * tmpfs (this machine: ext4 mounted with discard) removing a directory
 * waits for the disk, ~0.25 ms at the end of every foreground run. */
int cb_state_remove_later(const char *id);
struct cb_rm_steps;
/* RUNDIR/.trash a step at a time (fsutil.h); *ret NULL when there is none. */
int cb_state_trash_steps(struct cb_rm_steps **ret);
void cb_state_trash_empty(void);

/* Open a state directory's lock: a new open of the directory (O_CLOEXEC). */
int cb_state_open_lock(int dirfd);
/* True when a supervisor holds dirfd's lock. */
bool cb_state_supervised(int dirfd);
/* Start time of pid from /proc/PID/stat; 0 when it is gone. */
uint64_t cb_proc_start_time(pid_t pid);
/* A pidfd for pid when it still is the process that started at start;
 * -ESRCH when it is gone or the pid was reused. */
int cb_proc_open_checked(pid_t pid, uint64_t start);

/* Remove what nobody holds and is older than min_age_s: "removed" states,
 * and what starters killed early left (empty state directories, and
 * half-made ones). */
void cb_state_prune(int min_age_s);
