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

struct cb_store;

struct cli_launch {
	struct cb_container *ctr; /* the store's record */
	char *rootfs;		  /* the mounted rootfs (owned) */
	struct cb_image_config cfg;
	char **argv; /* entrypoint + cmd (owned, strings borrowed) */
	uint64_t t_begin, t_created, t_mounted; /* CLOCK_MONOTONIC ns */
};

/* Resolve image, create the container (named o->name, volatile with
 * o->rm), mount it with the chosen driver, and point o->spec at it: id,
 * rootfs, argv, env, workdir, user. user_cmd is what followed IMAGE on the
 * command line. On failure nothing is left in the store. */
int cli_launch_prepare(struct cb_cli *cli, struct cb_store *s, const char *image,
		       struct cb_run_options *o, char *const *user_cmd, struct cli_launch *l,
		       struct cb_error *err);

/* Unmount the rootfs; with remove, remove the container too. Frees l. */
int cli_launch_finish(struct cb_cli *cli, struct cb_store *s, struct cli_launch *l, bool remove,
		      struct cb_error *err);
