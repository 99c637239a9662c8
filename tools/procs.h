/* The processes of a running container, as the host sees them (`top`,
 * `stats`). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* The host pids of every process in the pid namespace of first (its
 * first process), sorted; when that namespace is the host's own (--pid
 * host), the processes of its cgroup (cgroup as the state records it,
 * "cowbox/<id>"), or only first without one. *ret freed by the caller. */
int cli_container_pids(pid_t first, const char *cgroup, pid_t **ret, size_t *ret_n);
