/* Finding an image from what a user typed: a full ID, a name (normalized
 * like docker: `busybox` is docker.io/library/busybox:latest), or a unique
 * ID prefix of at least 3 hex digits. */
#pragma once

#include "digest.h"
#include "manifest.h"
#include "error.h"

struct cb_store;

int cb_image_resolve(struct cb_store *s, const char *what, char ret_id[CB_DIGEST_SIZE],
		     struct cb_error *err);

/* The parsed config of image id (verified against its digest). */
int cb_image_load_config(struct cb_store *s, const char *id, struct cb_image_config *ret,
			 struct cb_error *err);
