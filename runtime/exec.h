/* Run a command inside a running container (`cowbox exec`): join its
 * namespaces, optionally its cgroup, take its security context, exec.
 * Like the rest of runtime/ it knows nothing of the store: the caller
 * names the container's first process (a pidfd pins it against pid reuse)
 * and fills a cb_spawn_spec with the command and the container's security
 * settings.
 *
 * Steps: fork; the child writes itself into the container's cgroup (while
 * it still sees the host's cgroupfs and holds its capabilities), joins the
 * asked namespaces with one setns(pidfd, flags) (the kernel enters the
 * user namespace first), forks again when it joined the pid namespace (a
 * pid namespace applies to children), resolves the user in the
 * container's /etc/passwd, drops to the container's capabilities, sets
 * no_new_privs, loads the same seccomp filter, and execs. Failures come
 * back through a pipe as one message; the exit code comes back as run's
 * does (126/127, 128+N). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

struct cb_exec_spec {
	pid_t pid;   /* the container's first process */
	int pidfd;   /* a pidfd of it */
	unsigned ns; /* CB_NS_* to join; those the caller already shares are skipped */
	/* The container's cgroup below each hierarchy's root ("cowbox/<id>"):
	 * join every hierarchy where pid is in it. NULL: stay in the
	 * caller's (--no-cgroup, the debugger case). */
	const char *cgroup;
	/* argv, env (used as is), user, workdir (NULL: "/"), interactive,
	 * tty (a pty from the devpts it sees: the container's when it joins
	 * the mount namespace; the caller's terminal in raw mode meanwhile);
	 * caps, privileged, no_new_privs, seccomp as the container's. */
	const struct cb_spawn_spec *proc;
	/* -d: the command outlives the caller, its stdio is /dev/null, and
	 * cb_exec_run returns 0 once it runs (exec'd) without waiting. */
	bool detach;
	/* Add proc's group_add (the container's --group-add): when the
	 * command runs as the container's own user. proc's rlimits (the
	 * container's --ulimit) are always set. */
	bool inherit_groups;
};

/* Run it and wait. *ret_exit_code is always written: the command's
 * status, 128+N on signal N, or on failure 127 (not found), 126 (not
 * executable), 125 (anything else; err says which step). */
int cb_exec_run(const struct cb_exec_spec *x, int *ret_exit_code, struct cb_error *err);
