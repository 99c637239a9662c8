/* Spare network namespaces, made ahead of need.
 *
 * Making a network namespace is the dearest step of a container's start
 * (setup_net: sysctl tables, the loopback device and its notifiers; 0.6 ms
 * of CPU on this machine, more than the other five namespaces together).
 * A foreground launch takes a spare one, made with `lo` up in an earlier
 * launch's idle time (while it only waited for its container), and makes
 * the next spare the same way. Each namespace serves one container: a
 * spare is claimed by renaming it, so it is never handed out twice, even
 * to launches racing for it or after a claimer was killed.
 *
 * The pool is a directory (docs/runtime.md, "Spare network namespaces"):
 *   N/ns            a spare (N = 0 .. CB_NETPOOL_SIZE-1): the namespace,
 *                   bound over an empty file as `ip netns add` does
 *   taken.PID.N/    claimed by the launch PID; removed once it is joined
 *   new.PID/        being made, under .lock
 *   .lock           flock()ed by whoever makes or removes spares
 * A spare older than CB_NETPOOL_MAX_AGE is not used (the host's sysctls
 * may have changed since); a stale claim or one half made is removed by
 * the next launch that makes spares. A directory that is not root's, or
 * that others may write, is not used at all (a planted entry could be
 * anyone's namespace); everything in it is reached through its fd. */
#pragma once

#include <stdbool.h>

#define CB_NETPOOL_SIZE	   1
#define CB_NETPOOL_MAX_AGE 300 /* seconds */

/* Bring `lo` up in the caller's network namespace. 0 or -errno. */
int cb_loopback_up(void);

/* A claimed spare: its namespace (an fd for setns) and its entry, removed
 * by cb_netpool_release. */
struct cb_netpool_claim {
	int fd;	       /* -1: none */
	char name[48]; /* taken.PID.N */
};

/* Claim a spare of the pool at dir: 1 and c->fd when there was one, 0
 * when there is none (no pool yet, all taken, too old: make a namespace
 * as usual). Never fails otherwise: a pool that cannot be used is as good
 * as an empty one. */
int cb_netpool_take(const char *dir, struct cb_netpool_claim *c);

/* Remove a claim's entry (its namespace lives on in whoever joined it) and
 * close its fd. */
void cb_netpool_release(const char *dir, struct cb_netpool_claim *c);

/* Make one missing spare (and first clear what stale claims and half-made
 * spares are left): 1 when there may be more to do, 0 when the pool is
 * full or someone else is filling it, -errno when spares cannot be made
 * here (no CAP_SYS_ADMIN, no directory): stop trying. The caller's
 * network namespace is left and rejoined in between; a failure to rejoin
 * it is -ENOTRECOVERABLE, and the caller must not go on using the
 * network. */
int cb_netpool_fill_step(const char *dir);

/* Remove every spare and claim and the directory itself (`network prune`):
 * the number of spares removed, or -errno. */
int cb_netpool_drain(const char *dir);
