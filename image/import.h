/* `cowbox import`: docker-save tarballs, OCI image layouts (a directory or
 * a tar of one) and plain rootfs tarballs. The format is found from the
 * content. Layers are streamed into the store's layer writer, several at
 * once; the image is recorded only after every layer is in, so a failed
 * import leaves the store as it was (apart from complete layers another
 * image may share, which gc removes when nothing uses them). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include "digest.h"
#include "error.h"
#include "layer.h"

struct cb_store;

struct cb_import_options {
	const char *name;  /* NAME[:TAG] to give the image (required for rootfs) */
	bool rootfs;	   /* the input is a plain rootfs tar */
	unsigned parallel; /* layers unpacked at once; 0 = the number of CPUs (>= 2) */
	struct cb_layer_limits limits;
	const char *platform; /* os/arch[/variant] to pick from an index; NULL = host */
};

struct cb_import_image {
	char id[CB_DIGEST_SIZE];
	char **names; /* NULL-terminated, may be empty */
};

struct cb_import_result {
	size_t n_images;
	struct cb_import_image *images;
	size_t layers_unpacked, layers_reused;
};
void cb_import_result_release(struct cb_import_result *r);

/* Import path ("-" = stdin). */
int cb_import(struct cb_store *s, const char *path, const struct cb_import_options *opts,
	      struct cb_import_result *ret, struct cb_error *err);

/* A layer as recorded: what the layer writer measured, plus the media
 * type the blob had (or should have, for a synthesized manifest). */
struct cb_record_layer {
	struct cb_layer_info info;
	const char *media_type;
};

/* Record an image whose layers are already in the store: stores the
 * manifest and config blobs (verifying them against their digests) and
 * writes the image record and names. manifest may be NULL: then an OCI
 * manifest is made from the config and layers (docker-save and rootfs
 * inputs have none). names are normalized references. Used by import and
 * pull. */
int cb_import_record(struct cb_store *s, const char *manifest, size_t manifest_len,
		     const char *config, size_t config_len, const struct cb_record_layer *layers,
		     size_t n_layers, char *const *names, char ret_id[CB_DIGEST_SIZE],
		     struct cb_error *err);

/* Normalize a user-given NAME[:TAG] into a full reference string. */
int cb_import_normalize_name(const char *name, char **ret, struct cb_error *err);
