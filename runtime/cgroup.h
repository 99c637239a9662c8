/* One cgroup per container, on cgroup v2 or v1, found at run time.
 *
 * Detection looks at which hierarchy carries the controllers cowbox needs
 * (memory and pids), never at whether a cgroup2 mount exists: a hybrid
 * machine may mount cgroup2 with only hugetlb in it. Pure v2 puts the
 * child in its cgroup with CLONE_INTO_CGROUP; v1 has the parent write the
 * child's pid into each controller before the child goes on. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

enum {
	CB_CG_V1_MEMORY = 1 << 0,
	CB_CG_V1_PIDS = 1 << 1,
	CB_CG_V1_CPU = 1 << 2,
	CB_CG_V1_CPUSET = 1 << 3
};

struct cb_cgroup {
	int version;	  /* 1 or 2; 0: none made */
	char *path;	  /* "cowbox/<id>" below the hierarchy root; owned */
	int v2_fd;	  /* v2: the cgroup directory, for CLONE_INTO_CGROUP; else -1 */
	unsigned v1_mask; /* v1: the controllers a directory was made in */
};

/* Which version to use here: 2 or 1, or -ENOENT when there is no usable
 * hierarchy. The answer is cached for the life of the process. */
int cb_cgroup_detect(void);

/* Make the container's cgroup under spec->cgroup_parent (default
 * "cowbox") and write its limits. On failure nothing is left behind and
 * *cg stays unused. */
int cb_cgroup_create(const struct cb_spawn_spec *spec, struct cb_cgroup *cg, struct cb_error *err);
/* v1: move pid into each controller's cgroup. v2: nothing (clone did it). */
int cb_cgroup_enter(struct cb_cgroup *cg, pid_t pid, struct cb_error *err);
/* v1: open the `tasks` file of each hierarchy cg was made in (O_CLOEXEC),
 * for the child to join by writing "0": a thread moving itself through
 * `tasks` skips the threadgroup lock whose RCU grace period makes a write
 * of another pid to cgroup.procs take 8-20 ms here (0.3 ms this way). */
#define CB_CGROUP_V1_MAX 4
int cb_cgroup_open_v1_tasks(struct cb_cgroup *cg, int fds[CB_CGROUP_V1_MAX], size_t *ret_n,
			    struct cb_error *err);
/* True when the kernel OOM-killed a process of this cgroup. */
bool cb_cgroup_oom_killed(const struct cb_cgroup *cg);
/* Kill what is left in the cgroup, remove it and free *cg. NULL-safe and
 * idempotent. */
int cb_cgroup_destroy(struct cb_cgroup *cg);
/* What a container's cgroup has used (`cowbox stats`); -1 where its
 * hierarchy does not say (on v1 a container joins only the controllers
 * it is limited by, plus memory). */
struct cb_cgroup_usage {
	int64_t memory;	      /* bytes in use without the inactive page cache, as docker shows it */
	int64_t memory_limit; /* bytes; -1: no limit */
	int64_t cpu_ns;	      /* cpu time used so far */
	int64_t pids;	      /* tasks (threads) */
	int64_t io_read, io_write; /* bytes read from and written to block devices */
};
/* path: below each hierarchy's root, as cb_cgroup.path ("cowbox/<id>").
 * -ENOENT when the container has no cgroup (any more). */
int cb_cgroup_usage(const char *path, struct cb_cgroup_usage *ret);

/* The value of `key` in a "key value" per line file (memory.stat,
 * cpu.stat, /proc/PID/io with "key: value"); -1 when absent. */
int64_t cb_kv_value(const char *text, const char *key);
/* Bytes read and written over all devices of v2's io.stat ("8:0 rbytes=N
 * wbytes=N ...") or v1's blkio.throttle.io_service_bytes ("8:0 Read N"). */
void cb_io_stat_sum(const char *text, int version, int64_t *ret_read, int64_t *ret_write);

/* Pause (freeze) or resume (thaw) every process of the container's
 * cgroup (path as above): on v2 its cgroup.freeze; on v1 the freezer
 * hierarchy, which a container joins only when first paused (each of its
 * processes is moved into freezer/<path>; cb_cgroup_destroy removes it).
 * Returns once the kernel says it is done. */
int cb_cgroup_freeze(const char *path, bool freeze, struct cb_error *err);
/* Is the container's cgroup frozen (or freezing)? */
bool cb_cgroup_frozen(const char *path);

/* Remove empty cgroups below the cowbox parent that are older than
 * min_age_s seconds: leftovers of a cowbox that was killed. */
int cb_cgroup_prune(const char *parent, int min_age_s);
