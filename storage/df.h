/* `cowbox df`: disk space of images, layers (each counted once however
 * many images share it) and containers (their own bytes: upper dir and
 * record). No mounting. A layer never changes, so its size is measured
 * once and cached in ROOT/layers/<hex>/disk-usage; containers are walked
 * each time (an unmodified one is three entries). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "error.h"

struct cb_store;

struct cb_df {
	size_t images;
	uint64_t images_bytes; /* sum over images of their layers (shared ones repeat) */
	size_t layers, layers_unused;
	uint64_t layers_bytes, layers_unused_bytes; /* each layer once */
	size_t containers, containers_mounted;
	uint64_t containers_bytes;
};

int cb_store_df(struct cb_store *s, struct cb_df *ret, struct cb_error *err);
/* A layer's bytes on disk (cached). */
int cb_layer_disk_usage(struct cb_store *s, const char *chain_id, uint64_t *ret);
