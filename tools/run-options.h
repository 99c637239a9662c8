/* The options of `cowbox run` (and later `create`): getopt_long over the
 * RUN OPTIONS of docs/commands/run.md into a cb_spawn_spec. */
#pragma once

#include <stdbool.h>

#include "net.h"
#include "spec.h"

struct cb_run_options {
	struct cb_spawn_spec spec; /* filled; spec.argv points into argv or cmd */
	const char *rootfs;	   /* --rootfs DIR */
	const char *name;	   /* --name */
	const char *entrypoint;	   /* --entrypoint */
	const char *cidfile;	   /* --cidfile: the ID written there (cli_cidfile_write) */
	/* --label KEY[=VALUE], as typed (borrowed): on top of the image's
	 * Labels, shown by inspect and matched by ps --filter label=. */
	const char *labels[CB_EXTRA_MAX];
	size_t n_labels;
	/* --preserve-fds N: run's alone (cli_preserve_fds), never a stored
	 * container's at its start. */
	int preserve_fds;
	bool rm, detach;
	/* The state lock alone for a foreground launch (no running state):
	 * bench's in-process containers (cli_launch_prepare). */
	bool claim_only;
	/* --stop-signal, else the image's StopSignal (at launch); 0: SIGTERM.
	 * --stop-timeout in seconds; -1: stop's 10. Recorded in the state
	 * for `stop`. */
	int stop_signal, stop_timeout;
	char **cmd; /* the command after the options (image or rootfs first when asked) */
	int n_cmd;
	char **argv_buf; /* owned: entrypoint + cmd when --entrypoint is given */
	char id[65];	 /* a fresh container ID */
	/* --network/--net and -p. Applied to spec.ns_create here; the rest
	 * (leases, /etc/hosts, container:C) is tools/net-glue.c's at start. */
	struct cb_net_config net;
	/* --userns auto: the map is picked at start (cli_userns_auto); the
	 * flock that holds the range lives as long as the container. */
	bool userns_auto, userns_locked;
	int userns_lock;
	int userns_range; /* the range picked (its index), -1 before */
};

/* Parse argv (argv[0] is the verb). Returns 0, or an exit code after
 * printing one `cowbox: ` line (or the usage). */
int run_options_parse(struct cb_run_options *o, int argc, char **argv);
/* The same for a container's stored options, whose environment was
 * resolved when it was made: -e and --env-file are skipped (the caller
 * adds the recorded K=V list). */
int run_options_parse_stored(struct cb_run_options *o, int argc, char **argv);
void run_options_release(struct cb_run_options *o);
/* run --preserve-fds N: fds 3 .. 3+N-1 must be open now, the caller's
 * (cowbox has opened nothing of its own yet); then the spec keeps them.
 * 0, or an exit code after printing. */
int cli_preserve_fds(struct cb_run_options *o);

/* --cidfile FILE, docker's way: made (empty, never over an existing one)
 * before the container, so a taken name fails first; finish writes the ID,
 * or removes the file when id is NULL (the container was not made). Each
 * returns 0, or an exit code after printing the error. No-ops without
 * --cidfile. */
int cli_cidfile_open(const struct cb_run_options *o, int *ret_fd);
int cli_cidfile_finish(const struct cb_run_options *o, int *fd, const char *id);

/* --userns auto: give o->spec a uid and gid map of 65536 host IDs that no
 * other running container holds, from the "containers" entry of
 * /etc/subuid and /etc/subgid (podman's), else from 1,000,000,000 up.
 * A range is held by an flock on RUNDIR/userns/<n>, released when every
 * process holding the fd (cowbox, the supervisor) is gone; the fd is
 * close-on-exec, so the container never has it. No-op without auto. */
int cli_userns_auto(struct cb_run_options *o, struct cb_error *err);
/* --userns auto for a container that has run before: the range it had
 * (kept in its run state) is tried first, so its files stay its own
 * across starts; then any free one. Remember records o's range for id. */
int cli_userns_auto_for(struct cb_run_options *o, const char *id, struct cb_error *err);
void cli_userns_remember(const struct cb_run_options *o, const char *id);
