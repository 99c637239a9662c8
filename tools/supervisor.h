/* Detached containers (`run -d`, `start` without -a): a per-container
 * supervisor that is cowbox itself, forked and setsid'd, with no helper
 * binary and no shell. It holds the state directory's lock for its whole
 * life (tools/state.h), spawns the container with stdout and stderr to the
 * log file, records the pid and its start time, reaps it, keeps its exit
 * status, removes its cgroup and unmounts its rootfs (removes it with
 * --rm). docs/runtime.md says why a supervisor and not pidfds alone. */
#pragma once

#include <stdbool.h>

#include "cli.h"
#include "container.h"
#include "launch.h"
#include "run-options.h"
#include "runtime.h"
#include "state.h"

/* What cli_supervise() returns in the supervisor process once the
 * container has ended and everything is cleaned: the caller frees its
 * memory and returns 0 without printing anything. */
#define CLI_SUPERVISOR_DONE 1

/* A foreground container (`run` without -d, `start -a`) is supervised by
 * the cowbox that runs it: begin takes its state lock (EBUSY when it runs
 * already) and makes o->spec record the running state when the command
 * starts, so ps lists it and exec, stop and kill reach it; end records
 * how it ended (or removes the state with remove). A cowbox killed with it
 * holds no lock: the next command cleans up, as after a supervisor. */
struct cli_foreground {
	int dirfd, lock;
	struct cb_state st;
	/* The launch's detached rootfs, closed once the container runs (NULL:
	 * none): the container's mount namespace holds it from then on, so it
	 * ends with the container, in its exit, and not in ours. */
	int *rootfs_fd;
	/* Its process, recorded when it starts: run's comes late (from the
	 * image, while the child is cloned), after begin. */
	const struct cb_spawn_spec *spec;
};
int cli_foreground_begin(struct cli_foreground *fg, struct cb_run_options *o, bool is_new,
			 struct cb_error *err);
/* Only the state lock of container id (fg's dirfd and lock; EBUSY when it
 * runs already): taken by run before it makes the container, so a run
 * killed at any point leaves its state directory unlocked, and --rm's
 * container is removed by the next command that looks (cli_state_get).
 * is_new: a container not made yet (cb_state_open_locked). */
int cli_state_claim(struct cli_foreground *fg, const char *id, bool is_new, struct cb_error *err);
void cli_foreground_end(struct cli_foreground *fg, const char *id, bool remove,
			const struct cb_run_status *rs);
/* A restart of an exited container by a supervisor (start -d): its
 * rootfs is mounted on the host before the supervisor records it running.
 * Take its state lock first and record it as starting (running, held by
 * this process, no pid yet): a start killed before the supervisor's own
 * state leaves a running state nobody holds, which the next command to
 * look repairs (cli_state_get: unmounted, exited 137), where the old
 * exited state kept the mount unnoticed. cli_state_unclaim_restart puts
 * the old state back when the start fails before a supervisor exists. */
int cli_state_claim_restart(struct cli_foreground *fg, const char *id, struct cb_error *err);
void cli_state_unclaim_restart(struct cli_foreground *fg, const struct cb_state *old);

/* Start o->spec (already pointed at l's mounted rootfs) under a new
 * supervisor, which takes over the state lock in claimed (taken by the
 * caller with cli_state_claim; NULL: taken here). In the caller: 0 once
 * the container has exec'd, or < 0 with err set and *ret_exit_code
 * 125/126/127 (the supervisor has cleaned up: unmounted, or removed with
 * remove). In the supervisor: CLI_SUPERVISOR_DONE. */
int cli_supervise(struct cb_cli *cli, struct cb_run_options *o, struct cli_launch *l, bool remove,
		  struct cli_foreground *claimed, int *ret_exit_code, struct cb_error *err);

/* The state of ctr, repaired when stale: a state that says running while
 * no supervisor holds its lock (the supervisor was killed) has what is
 * left of the container killed, its cgroup removed, its rootfs unmounted
 * (removed when volatile), and becomes exited (137). No state: created;
 * but of a container whose starter died before it ran (an unlocked state
 * directory with no state) a volatile (--rm) one is removed (137), a kept
 * one unmounted. */
int cli_state_get(struct cb_cli *cli, struct cb_store *s, const struct cb_container *ctr,
		  struct cb_state *ret);

/* Wait (blocking) until no supervisor holds id's state; 0 at once when
 * none does. */
int cli_state_wait_unsupervised(const char *id);

/* Resolve what (an ID, a name or a unique ID prefix), read its record and
 * its state (cli_state_get). On failure prints "cowbox: VERB WHAT: why"
 * and returns EXIT_COWBOX; 0 on success (free with cb_container_free and
 * cb_state_release). */
int cli_container_lookup(struct cb_cli *cli, struct cb_store *s, const char *verb, const char *what,
			 struct cb_container **ret_ctr, struct cb_state *ret_st);

/* For each of the n containers named in names: look it up (as above)
 * and call fn, which prints its own errors and returns 0 or an exit code;
 * the record and state are freed after. Returns 0 when every container
 * was found and fn returned 0, else the last nonzero code. */
typedef int (*cli_container_fn)(struct cb_cli *cli, struct cb_store *s, const char *what,
				struct cb_container *ctr, struct cb_state *st, void *opaque);
int cli_for_each_container(struct cb_cli *cli, const char *verb, char *const *names, int n,
			   cli_container_fn fn, void *opaque);

/* stop: st's stop signal (--stop-signal, the image's StopSignal, else
 * SIGTERM), SIGKILL after secs (< 0: its --stop-timeout, else 10), and
 * wait until its supervisor has reaped it and unmounted it; a paused one
 * is thawed after the signal. 0 at once when it is not running. */
int cli_container_stop(const struct cb_container *ctr, const struct cb_state *st, long secs);
/* stop's and restart's options: [-t SECS] and at least one operand
 * (from optind); *ret_secs -1 without -t. 0, or an exit code after
 * printing. */
int cli_stop_options(const char *verb, int argc, char **argv, long *ret_secs);
/* start (cmd-start.c): launch a created or exited container, detached to
 * its supervisor (prints what), or with attach in the foreground (its
 * exit code). -1: this process is a supervisor that has finished. */
int cli_container_start(struct cb_cli *cli, struct cb_store *s, const char *what, bool attach);

/* fn for every container of the store that runs, or with all for every
 * one but those removed just now (`--rm`), in ID order: ps's list. what
 * is the full ID. Returns the last nonzero code fn returned, else 0. */
int cli_for_each_listed(struct cb_cli *cli, const char *verb, bool all, cli_container_fn fn,
			void *opaque);

/* Send sig to a running container's first process (its pid checked
 * against its start time). With wait_ms >= 0, wait that long for it to
 * exit: 1 when it did, 0 when it still runs. -ESRCH when it is gone. */
int cli_container_signal(const struct cb_state *st, int sig, int wait_ms);
