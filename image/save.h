/* `cowbox save`: an image out of the store as an OCI layout tar or a
 * docker-archive (`docker save` form).
 *
 * The store keeps no compressed blobs, so each layer tar is made again from
 * its directory (storage/diff.h: deterministic, so saving twice gives the
 * same bytes) and compressed; the config's rootfs.diff_ids are rewritten
 * to the new tars' digests, so the saved image has a new image ID and new
 * layer digests (docs/store.md: "save and digests"). */
#pragma once

#include "error.h"
#include "layer.h"

struct cb_store;

enum cb_save_format {
	CB_SAVE_OCI,	/* oci-layout + index.json + blobs/sha256/ */
	CB_SAVE_DOCKER, /* manifest.json + <hex>.json + <hex>/layer.tar (plain tars) */
};

struct cb_save_options {
	enum cb_save_format format;
	enum cb_compression compression; /* OCI only; AUTO means gzip */
	const char *name;		 /* full reference to record (RepoTags/ref.name); may be NULL */
};

/* Write image id to path ("-" = stdout) atomically (a temporary sibling
 * renamed into place). */
int cb_save(struct cb_store *s, const char *id, const char *path,
	    const struct cb_save_options *opts, struct cb_error *err);
