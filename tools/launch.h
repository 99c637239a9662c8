/* The glue of storage/ and runtime/ for `run IMAGE` and `bench`: make a
 * container from an image, mount its rootfs, and fill the launcher's spec
 * from the image config with docker's rules (Entrypoint + Cmd, --entrypoint,
 * Env under -e, WorkingDir under -w, User under -u, the hostname the short
 * ID). runtime/ never learns about images; storage/ never about processes. */
#pragma once

#include <stdbool.h>
#include <stdint.h>


#include "cli.h"
#include "container.h"
#include "manifest.h"
#include "run-options.h"

struct cli_foreground;

struct cb_store;
struct cb_rm_steps;

struct cli_launch {
	char id[CB_CONTAINER_ID_SIZE]; /* the container's, also while it is still to be made */
	struct cb_container *ctr;      /* the store's record; NULL until made */
	char *rootfs;		  /* the mounted rootfs (owned) */
	int rootfs_fd;		  /* or its detached mount (see spec.rootfs_detached), -1 */
	int gone_watch;		  /* inotify on that mount's root (watch_superblock), -1 */
	/* A container made late (the spec's rootfs_late): what it is made
	 * of, until then. */
	struct cb_cli *cli;
	struct cb_store *store; /* where it is made */
	struct cb_run_options *o;
	struct cb_image *img;
	const char *image_name, *run_json;
	char *const *user_cmd;
	bool late_failed; /* making it late failed (the error names the image) */
	/* A foreground launch's state (begun by cli_launch_prepare), given
	 * the detached rootfs to close once the container runs; else NULL. */
	struct cli_foreground *fg;
	struct cb_image_config cfg;
	char **argv; /* entrypoint + cmd (owned, strings borrowed) */
	uint64_t t_begin, t_created, t_mounted; /* CLOCK_MONOTONIC ns */
	/* The run state's trash, then the store's, deleted while the
	 * container starts and runs (the spec's idle_step), the rest when it
	 * has ended. */
	bool delete_trash; /* a foreground launch's (the spec's idle_step) */
	struct cb_rm_steps *trash;
	unsigned trash_phase; /* 0: state's to open, 1: state's, 2, 3: store's, 4: done */
	char *netns_pool;     /* spare network namespaces (the spec's netns_pool), or NULL */
};

/* o->stop_signal from the image's StopSignal unless --stop-signal gave
 * one; an image naming no signal is an error. */
int cli_stop_signal(struct cb_run_options *o, const struct cb_image_config *cfg,
		    struct cb_error *err);
/* Resolve image, create the container (named o->name, volatile with
 * o->rm), mount it with the chosen driver, and point o->spec at it: id,
 * rootfs, argv, env, workdir, user. user_cmd is what followed IMAGE on the
 * command line. On failure nothing is left in the store.
 * A foreground container with a mount namespace and no user namespace is
 * made late: here it only gets its ID (l->id, o->spec.id); the spec's
 * rootfs_late reads the image, fills the process (o->spec.process_late),
 * makes and mounts the container while the launcher's child makes its
 * namespaces (l->ctr is set from then on; o, image, user_cmd and
 * run_json must live until then).
 * Before the container is made, its state lock goes to fg (NULL: none,
 * for bench): begun as a foreground state (cli_foreground_begin), or only
 * claimed with o->detach (for cli_supervise); on failure it is ended. */
int cli_launch_prepare(struct cb_cli *cli, struct cb_store *s, const char *image,
		       struct cb_run_options *o, char *const *user_cmd, const char *run_json,
		       struct cli_foreground *fg, struct cli_launch *l, struct cb_error *err);
/* Make the container now if it is still to be made late (its start
 * failed before its rootfs was needed): a run without --rm that fails
 * leaves its container, as docker's. */
int cli_launch_create_now(struct cli_launch *l, struct cb_error *err);
/* The same for a container that exists (`start`): its recorded command,
 * its image's config; mounts it (late, as above, in the foreground). On
 * failure it is left as it was. */
int cli_launch_existing(struct cb_cli *cli, struct cb_store *s, const char *id,
			struct cb_run_options *o, struct cli_launch *l, struct cb_error *err);
/* Docker's rules for a container's process, without mounting anything:
 * *ret_ep the Entrypoint (--entrypoint's, in ep_buf; NULL for "" or
 * none; else the image's), *ret_cmd the Cmd (user_cmd, what followed
 * IMAGE, else the image's unless --entrypoint was given). Borrowed. */
void cli_process_parts(const struct cb_image_config *cfg, const struct cb_run_options *o,
		       char *const *user_cmd, char *ep_buf[2], char *const **ret_ep,
		       char *const **ret_cmd);
/* spec's env becomes the image's Env with -e/--env-file over it, and PATH
 * when neither sets one. */
int cli_launch_env(struct cb_spawn_spec *spec, const struct cb_image_config *cfg);

/* Free l without touching the store (the supervisor unmounts later). */
void cli_launch_release(struct cli_launch *l);

/* The RUN OPTIONS args[0..n) as the container.json "run" object
 * ({"args":[...],"env":[...],"cwd":DIR}); env is spec's -e and --env-file
 * as resolved now (a bare -e KEY takes this caller's value, a file is
 * read from here), as docker resolves them at create. Caller frees.
 * -EILSEQ when an argument is not UTF-8 (JSON keeps text). */
int cli_run_json_encode(char *const *args, int n, const struct cb_spawn_spec *spec, char **ret_json);
/* Parse a stored "run" object (NULL: no options) into o as `verb` would;
 * *ret_argv owns the strings o points into (free with strv_free after
 * run_options_release). Returns 0 or an exit code after printing. */
int cli_run_options_load(const char *verb, const char *run_json, struct cb_run_options *o,
			 char ***ret_argv);

/* Delete what the wait for the container left of the trash (the spec's
 * idle_step), before this run's own state and container go there: so it
 * never holds more than one entry per run that ended since. */
void cli_launch_drain_trash(struct cli_launch *l);

/* Unmount the rootfs; with remove, remove the container too (its empty
 * directories, when it wrote nothing, go to the trash that the next
 * launch deletes while its container runs). Frees l. */
int cli_launch_finish(struct cb_cli *cli, struct cb_store *s, struct cli_launch *l, bool remove,
		      struct cb_error *err);
