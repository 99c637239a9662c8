/* Spare network namespaces, made ahead of need.
 *
 * Making a network namespace is the dearest step of a container's start
 * (setup_net: sysctl tables, the loopback device and its notifiers; 0.6 ms
 * of CPU on this machine, more than the other five namespaces together).
 * A foreground launch takes a spare one, made with `lo` up in an earlier
 * launch's idle time (while it only waited for its container), and makes
 * the next spare the same way when one pays (cb_netpool_spare_pays).
 * Each namespace serves one container: a
 * spare is claimed by renaming it, so it is never handed out twice, even
 * to launches racing for it or after a claimer was killed.
 *
 * The pool is a directory (docs/runtime.md, "Spare network namespaces"):
 *   N/ns            a spare (N = 0 .. CB_NETPOOL_SIZE-1): the namespace,
 *                   bound over an empty file as `ip netns add` does
 *   taken.PID.N/    claimed by the launch PID; removed once it is joined
 *   new.PID/        being made, under the lock (the parent directory,
 *                   flock()ed by whoever makes or removes spares)
 * On a disk the directory gets a tmpfs of its own first: spares come and
 * go at every launch, and a disk's inodes and discards cost more.
 * A spare older than CB_NETPOOL_MAX_AGE is not used (the host's sysctls
 * may have changed since); a stale claim or one half made is removed by
 * the next launch that makes spares. A directory that is not root's, or
 * that others may write, is not used at all (a planted entry could be
 * anyone's namespace); everything in it is reached through its fd. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define CB_NETPOOL_SIZE	   1
#define CB_NETPOOL_MAX_AGE 300 /* seconds */
/* About what a spare saves a start: unshare(CLONE_NEWNET) and lo up take
 * 0.6-0.7 ms of CPU here. */
#define CB_NETPOOL_GAIN_NS 600000
/* What a spare must save to be made: making one takes 0.7 ms of the
 * launch's idle time, and delays the exit when it overlaps it. */
#define CB_NETPOOL_MARGIN_NS 200000
/* How long a container must have run, from its exec, before its launch
 * releases its claim and makes the next spare. Both steps cost about what
 * a spare saves (the release's unmount waits for an RCU grace period;
 * making one is unshare, lo up, a bind mount), and a container that ends
 * meanwhile has its exit wait for them: with the steps at once, `run --rm
 * IMAGE true` took 0.2-0.5 ms longer than with no spares at all on a
 * 2-core nested guest (600 paired rounds, tmpfs and disk). A container
 * that lives past this leaves idle time; one that does not leaves its
 * claim to the next launch that makes a spare (stale by then). */
#define CB_NETPOOL_AFTER_NS (5 * 1000000)

/* Whether the next spare pays, judged by this start: waited_ns, how long
 * its child waited for its rootfs (negative: the rootfs was ready first
 * and waited for the child), and whether the child joined a spare. The
 * gain is what the child would have been late without one: GAIN - waited
 * when it joined one, -waited when it made its own; it must exceed
 * CB_NETPOOL_MARGIN_NS. When the store is slow to make the rootfs (this
 * machine's disk) the child waits either way: no spares. Pure. */
bool cb_netpool_spare_pays(bool joined, int64_t waited_ns);

/* When a launch's own pool steps (release its claim, make a spare) are
 * due, in ns from now: -1 while its container has not exec'd
 * (exec_seen 0), else what is left of CB_NETPOOL_AFTER_NS since
 * exec_seen (0: now). Pure. */
int64_t cb_netpool_steps_due_ns(uint64_t exec_seen, uint64_t now);

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

/* Close a claim's fd and leave its entry, stale once the caller is gone,
 * to the next cb_netpool_fill_step: its unmount would delay an exit. */
void cb_netpool_leave(struct cb_netpool_claim *c);

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
