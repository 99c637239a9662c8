/* Reaching a container from the host, for the verbs that are not on
 * run's path: for `cp` and `export` its root directory (a running
 * container's as its process sees it, or its rootfs alone; a stopped
 * one's rootfs mounted for the while) and the maps of its user namespace,
 * to give owners as the container sees them (out) or as the host must
 * write them (in); for `inspect` and `ps` its labels. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "cli.h"
#include "container.h"
#include "manifest.h"
#include "spec.h"
#include "run-options.h"
#include "state.h"

struct cli_ctr_maps {
	struct cb_idmap uid[CB_IDMAP_MAX], gid[CB_IDMAP_MAX];
	size_t n_uid, n_gid; /* 0: no user namespace (ids as they are) */
};

/* For struct cb_copy_opts's map_uid/map_gid, opaque a cli_ctr_maps: an id
 * into the container (inside -> host) or out of it (host -> inside). */
int64_t cli_ctr_map_in_uid(void *opaque, uint32_t id);
int64_t cli_ctr_map_in_gid(void *opaque, uint32_t id);
int64_t cli_ctr_map_out_uid(void *opaque, uint32_t id);
int64_t cli_ctr_map_out_gid(void *opaque, uint32_t id);

enum cli_ctr_root_kind {
	/* A running container's root as its process sees it
	 * (/proc/PID/root): its volumes, tmpfs mounts, /proc included. */
	CLI_CTR_ROOT_AS_SEEN,
	/* Its root filesystem alone: for a running one, a private clone of
	 * its root mount without anything mounted on it. */
	CLI_CTR_ROOT_ROOTFS,
};

struct cli_ctr_root {
	int fd; /* the root directory (O_PATH or a detached mount), -1 */
	struct cli_ctr_maps maps;
	bool we_mounted; /* a stopped container's rootfs, mounted for us */
	struct cb_store *store;
	char id[CB_CONTAINER_ID_SIZE];
};

/* Open ctr's root for verb (messages say "VERB: container NAME ..."). A
 * stopped container is mounted with cli's --storage-driver (and unmounted by
 * cli_ctr_root_close unless it was mounted before); one with a user
 * namespace must be running (its files are owned through the map it
 * gets at start). Returns 0 or an exit code after printing. */
int cli_ctr_root_open(struct cb_cli *cli, struct cb_store *s, const char *verb, const char *name,
		      const struct cb_container *ctr, const struct cb_state *st,
		      enum cli_ctr_root_kind what, struct cli_ctr_root *ret);
/* Close it (and unmount what was mounted for it); returns 0 or an exit
 * code after printing, ret_code when it is already nonzero. */
int cli_ctr_root_close(struct cli_ctr_root *r, const char *verb, const char *name, int ret_code);

/* A file to remove should SIGINT, SIGTERM or SIGHUP end cowbox before it
 * is renamed into place (NULL: none any more). A rootfs mounted by
 * cli_ctr_root_open is unmounted then too. */
void cli_ctr_remove_on_signal(const char *path);

/* o[KEY] = VALUE for "KEY=VALUE" ("KEY": ""). */
void cli_json_set_kv(json_t *o, const char *kv);
/* A container's labels, docker's way: its image's Labels (cfg, its
 * image's config; NULL when gone) with its --label ones (o, its parsed
 * RUN OPTIONS; may be NULL) over them. */
json_t *cli_container_labels(const struct cb_image_config *cfg, const struct cb_run_options *o);
/* docker's state word: created, running, paused (a frozen cgroup) or
 * exited. */
const char *cli_state_name(const struct cb_state *st);
