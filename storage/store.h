/* The content-addressed store: its root directory, its locks, and its
 * blobs. The layout is documented in docs/store.md; every write follows
 * "stage in tmp/, fsync, rename into place", so a reader or a kill -9
 * never finds half a thing.
 *
 * Locks (flock, released by the kernel when a process dies):
 *   ROOT/lock     exclusive while the image/name records are changed
 *   ROOT/gc.lock  shared while a command adds to the store (import,
 *                 create, commit), exclusive while gc or the leftover
 *                 cleaner removes things; so gc never removes a layer an
 *                 import has unpacked but not yet recorded.
 *   ROOT/locks/layer-<hex>  exclusive while one layer is being unpacked,
 *                 so two imports that share it unpack it once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

struct cb_store;

/* Open (creating if needed) the store at root. Cleans leftovers of killed
 * commands in tmp/ when no other command is using the store. */
int cb_store_open(const char *root, struct cb_store **ret, struct cb_error *err);
/* CB_STORE_DEFER_TMP: leave tmp/'s leftovers of killed commands (which
 * every open removes, when nobody is adding to the store) to
 * cb_store_clean_tmp_deferred, for a command that has idle time later
 * (a foreground run): some 10 calls off its start. */
#define CB_STORE_DEFER_TMP 1u
int cb_store_open_flags(const char *root, unsigned flags, struct cb_store **ret,
			struct cb_error *err);
/* What CB_STORE_DEFER_TMP left, now (once; nothing without the flag). */
void cb_store_clean_tmp_deferred(struct cb_store *s);
void cb_store_free(struct cb_store *s);

const char *cb_store_root(const struct cb_store *s);
/* An O_PATH|O_DIRECTORY fd of the root, owned by the store. */
int cb_store_root_fd(const struct cb_store *s);

/* ROOT/lock: exclusive lock around record changes. Nestable: only the
 * outermost unlock releases. */
int cb_store_lock(struct cb_store *s);
void cb_store_unlock(struct cb_store *s);

/* ROOT/gc.lock in shared mode for a command that adds to the store. */
int cb_store_hold(struct cb_store *s);
/* ROOT/gc.lock in exclusive mode (gc). */
int cb_store_hold_exclusive(struct cb_store *s);
void cb_store_release(struct cb_store *s);

/* Lock ROOT/locks/<name> exclusively (blocking); returns an fd to close to
 * unlock. The lock file is never removed while held. */
int cb_store_lock_name(struct cb_store *s, const char *name);

/* storage/spare.c's per-store state. */
struct cb_spare_cache;
struct cb_spare_cache **cb_store_spare_cache(struct cb_store *s);

/* Make a fresh staging directory ROOT/tmp/<random> (with spare, a spare
 * directory when there is one: storage/spare.h); returns an O_DIRECTORY
 * fd and its name below the root ("tmp/<random>", caller frees). */
int cb_store_stage_dir(struct cb_store *s, bool spare, int *ret_fd, char **ret_relpath);
/* Remove leftovers in tmp/; with gc.lock held exclusively by the caller. */
int cb_store_clean_tmp(struct cb_store *s, unsigned *ret_removed);

/* Replace ROOT/relpath with data: written and fsynced under tmp/ (so a
 * kill -9 leaves only what the leftover cleaner removes), then renamed. */
int cb_store_write_file(struct cb_store *s, const char *relpath, const void *data, size_t len);

/* Blobs (manifests, configs, indexes): ROOT/blobs/sha256/<hex>. put checks
 * that data hashes to digest first; an existing blob is left alone. */
int cb_store_put_blob(struct cb_store *s, const char *digest, const void *data, size_t len,
		      struct cb_error *err);
int cb_store_get_blob(struct cb_store *s, const char *digest, size_t max, char **ret_data,
		      size_t *ret_len, struct cb_error *err);
bool cb_store_has_blob(struct cb_store *s, const char *digest);

/* Layers: ROOT/layers/<chain-hex>/ holds diff/ (the tree, an overlay
 * lower dir) and layer.json. A layer directory exists only complete. */
bool cb_store_has_layer(struct cb_store *s, const char *chain_id);
/* "ROOT/layers/<hex>/diff", caller frees. */
int cb_store_layer_diff_path(struct cb_store *s, const char *chain_id, char **ret_path);

/* Maximum size of a JSON blob cowbox reads (manifests, configs). */
#define CB_BLOB_MAX (16u << 20)
