/* The glue of runtime/net.c and the launcher for `cowbox run` (and later
 * `create`/`start`): network state directories, the bridge lease, the
 * container's /etc/hosts, joining another container's namespace, and the
 * spawn hook that wires the veth in while the child sets up.
 *
 *   cli_net_prepare()   before cb_runtime_run(): bridge mode reserves an
 *                       address (so /etc/hosts can name it) and points
 *                       spec->net_hook at this glue; container:C / ns:PATH
 *                       opens the namespace and points spec->ns_path at it.
 *   the hook            attach: cb_net_connect() into the child's
 *                       namespace; detach: cb_net_detach() after reaping
 *                       (the runtime calls it, also on a failed start).
 *   cli_net_release()   after the run: detaches if the runtime did not
 *                       (a start that failed before it got the spec), and
 *                       frees. Safe on a zeroed struct.
 *
 * Container references (container:C, `network move IFACE C`) go through
 * cli_container_pid(). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "cli.h"
#include "error.h"
#include "net.h"
#include "run-options.h"

struct cli_net {
	struct cb_net_config *cfg; /* borrowed: the run options' */
	struct cb_net_lease lease; /* bridge mode, once reserved */
	struct cb_spawn_hook hook;
	char *networks_dir, *run_dir;
	char *hosts;		    /* /etc/hosts text (spec->etc_hosts points here) */
	int share_fd;		    /* container:C / ns:PATH; -1 otherwise */
	char share_path[32];	    /* /proc/self/fd/N for spec->ns_path */
	int shared_fds[3];	    /* --pid, --ipc, --uts container:C's; -1 otherwise */
	char shared_paths[3][32];   /* /proc/self/fd/N for spec->ns_path */
	bool reserved;		    /* a lease to detach */
	struct cb_error detach_err; /* what a failed detach said */
	int detach_r;
};

/* Fill n from o->net and point o->spec at it (net_hook, etc_hosts,
 * ns_path[net]); open the namespaces --pid, --ipc and --uts container:C
 * share, and point ns_path at them. o->spec.id and o->name must be final. n must outlive the
 * run; on failure n holds nothing (cli_net_release is still safe). */
int cli_net_prepare(struct cb_cli *cli, struct cb_run_options *o, struct cli_net *n,
		    struct cb_error *err);
/* Detach what is still attached and free n. Returns the detach's result
 * (< 0 with *err filled when a rule or lease could not be removed). */
int cli_net_release(struct cli_net *n, struct cb_error *err);

/* A running container's first process, for container:C and `network
 * move`: C is a live bridge lease's name or ID (or ID prefix), or a
 * store container (name, ID or prefix) whose cgroup holds a process.
 * A pid or a path is handled by cb_net_open_netns() before this is asked.
 * -ESRCH when C runs nowhere. This is the one place to teach about the
 * lifecycle's state files (/run/cowbox) when they exist. userdata: the
 * struct cb_cli. Matches cb_net_lookup_fn. */
int cli_container_pid(const char *ref, pid_t *ret_pid, void *userdata);
/* cb_net_open_netns() with container names resolved by
 * cli_container_pid(), and "C: no such container" when none runs. */
int cli_net_open_netns(struct cb_cli *cli, const char *ref, int *ret_fd, struct cb_error *err);
