/* Image records: names -> image ID -> manifest -> config and layers.
 *   ROOT/images/<id-hex>.json  one record per image (id = config digest)
 *   ROOT/names.json            {"names": {"docker.io/library/x:tag": id}}
 * Both are replaced atomically under the store lock; the blobs and layers
 * a record names are stored before the record is written. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "digest.h"
#include "error.h"

struct cb_store;

struct cb_image_layer {
	char chain_id[CB_DIGEST_SIZE];
	char diff_id[CB_DIGEST_SIZE];
	char digest[CB_DIGEST_SIZE]; /* the blob it came from (not kept) */
	char *media_type;
	int64_t size; /* of that blob */
};

struct cb_image {
	char id[CB_DIGEST_SIZE];	      /* the config digest */
	char manifest_digest[CB_DIGEST_SIZE]; /* a blob in the store */
	char *manifest_media_type;
	size_t n_layers; /* bottom first */
	struct cb_image_layer *layers;
	int64_t added; /* unix seconds */
	char **names;  /* filled from names.json by get/list; NULL-terminated */
};

void cb_image_free(struct cb_image *img);

/* Write img's record and point each of names at it (a name moves from
 * whatever image had it). The store lock is taken inside. */
int cb_images_put(struct cb_store *s, const struct cb_image *img, char *const *names,
		  struct cb_error *err);
/* The record of an ID ("sha256:<hex>") with its names; -ENOENT if none. */
int cb_images_get(struct cb_store *s, const char *id, struct cb_image **ret,
		  struct cb_error *err);
/* The ID a full name points to; -ENOENT if none. */
int cb_images_lookup_name(struct cb_store *s, const char *name, char ret_id[CB_DIGEST_SIZE]);
/* The ID whose hex starts with prefix (at least 3 hex digits, with or
 * without "sha256:"); -ENOENT if none, -EEXIST if ambiguous. */
int cb_images_lookup_id_prefix(struct cb_store *s, const char *prefix,
			       char ret_id[CB_DIGEST_SIZE]);
/* All images, newest first. */
int cb_images_list(struct cb_store *s, struct cb_image ***ret, size_t *ret_n,
		   struct cb_error *err);
void cb_images_list_free(struct cb_image **list, size_t n);
/* Point name at id. */
int cb_images_tag(struct cb_store *s, const char *id, const char *name, struct cb_error *err);
/* Remove name; ret_id receives the image it named. */
int cb_images_untag(struct cb_store *s, const char *name, char ret_id[CB_DIGEST_SIZE],
		    struct cb_error *err);
/* Remove an image's record and all its names (blobs and layers stay for
 * gc). */
int cb_images_remove(struct cb_store *s, const char *id, struct cb_error *err);
/* Containers using image id (from ROOT/containers/<id>/container.json's
 * "image"); *ret_n is 0 when none. */
int cb_images_users(struct cb_store *s, const char *id, size_t *ret_n);
