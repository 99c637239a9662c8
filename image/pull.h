/* `cowbox pull`: an image from a registry into the store.
 *
 * The reference is normalized (reference.h), the manifest fetched by tag
 * or digest; an index (nested ones too) selects the platform. The config
 * comes from the store when it is there, else from the registry. Layers
 * whose chain ID is already in the store are not fetched; the others are
 * downloaded at once (opts->concurrency at a time), each streamed into a
 * cb_layer_writer while it downloads, so hashing, decompression and
 * unpacking overlap the transfer. The image is recorded (import.h) only
 * after every layer is in; a failed pull records nothing, and the layers
 * that finished stay for the next pull to reuse (or for gc). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "digest.h"
#include "error.h"
#include "registry.h"

struct cb_store;

enum cb_pull_layer_state {
	CB_PULL_LAYER_WAITING,
	CB_PULL_LAYER_DOWNLOADING,
	CB_PULL_LAYER_RETRYING,
	CB_PULL_LAYER_EXISTS, /* already in the store, not fetched */
	CB_PULL_LAYER_DONE,
	CB_PULL_LAYER_FAILED,
};

struct cb_pull_progress {
	size_t index; /* layer, bottom first */
	size_t n_layers;
	const char *digest; /* the layer blob */
	enum cb_pull_layer_state state;
	uint64_t received, size;
};

/* Called on the pulling thread: once per layer when the manifest is known,
 * then on every change (at most every 100 ms per layer while it downloads). */
typedef void (*cb_pull_progress_fn)(void *userdata, const struct cb_pull_progress *p);

struct cb_pull_options {
	const char *platform; /* "os/arch[/variant]"; NULL: the host's */
	enum cb_tls_verify tls_verify;
	unsigned concurrency;	 /* layers at once; 0: 4 */
	uint64_t max_recv_speed; /* bytes/s per layer, 0 unlimited */
	cb_pull_progress_fn progress;
	void *progress_userdata;
};

struct cb_pull_result {
	char id[CB_DIGEST_SIZE];	      /* the image ID (config digest) */
	char manifest_digest[CB_DIGEST_SIZE]; /* of the platform's manifest */
	char name[600];			      /* the normalized reference */
	char scheme[8];			      /* "https" or "http" */
	size_t n_layers, layers_fetched, layers_reused;
	uint64_t bytes_fetched;
};

int cb_pull(struct cb_store *s, const char *reference, const struct cb_pull_options *opts,
	    struct cb_pull_result *ret, struct cb_error *err);
