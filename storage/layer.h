/* Unpacking one layer into the store, streamed: the caller pushes the
 * layer's bytes as they arrive (from a file, a tar entry or a download);
 * the writer hashes them (the compressed digest), decompresses them (gzip
 * through ISA-L, zstd, or none), hashes the tar stream (the diff ID) and
 * hands it to a second thread that parses the tar and writes the entries
 * fd-relative into ROOT/tmp/<random>/diff, refusing any entry that would
 * land outside it. finish() checks both digests, syncs, and renames the
 * directory to ROOT/layers/<chain-hex>; abort() or any failure removes it.
 *
 * Whiteouts become overlay whiteouts: `.wh.NAME` a 0:0 char device NAME,
 * `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "digest.h"
#include "error.h"

struct cb_store;

enum cb_compression {
	CB_COMPRESSION_AUTO, /* sniff the first bytes */
	CB_COMPRESSION_NONE,
	CB_COMPRESSION_GZIP,
	CB_COMPRESSION_ZSTD,
};

/* Caps on what one layer may hold; 0 means the default. */
struct cb_layer_limits {
	uint64_t max_entries; /* default 2,000,000 */
	uint64_t max_bytes;   /* uncompressed tar bytes; default 64 GiB */
	uint32_t max_name;    /* bytes in one path; default 4096 */
};

/* What the writer must verify. digest may be NULL (a rootfs tar: nothing
 * to check it against); diff_id may be NULL when unknown (then the chain
 * is computed from the measured diff ID). */
struct cb_layer_expect {
	const char *digest;	     /* compressed blob digest, from the manifest */
	int64_t size;		     /* its size from the manifest; <= 0: unknown */
	const char *diff_id;	     /* uncompressed digest, from the config */
	const char *parent_chain_id; /* NULL for the bottom layer */
	enum cb_compression compression;
	const char *media_type; /* recorded in layer.json; may be NULL */
	const char *what;	/* names the layer in errors, e.g. "layer sha256:ab12…" */
	/* A hard link to a file of a lower layer is stored as a copy, so the
	 * writer waits for the lower layers to be in the store; *cancel set
	 * stops that wait (a sibling layer failed). May be NULL. */
	const volatile bool *cancel;
};

struct cb_layer_info {
	char digest[CB_DIGEST_SIZE];   /* measured compressed digest */
	char diff_id[CB_DIGEST_SIZE];  /* measured diff ID */
	char chain_id[CB_DIGEST_SIZE]; /* where it now lives */
	uint64_t compressed_size;
	uint64_t tar_size;
	uint64_t entries;
	enum cb_compression compression; /* what the bytes turned out to be */
	bool existed; /* someone else had already stored it */
};

struct cb_layer_writer;

/* Start unpacking. When expect->diff_id and parent give a chain ID that is
 * already in the store, the writer still consumes the bytes (to verify the
 * digest) but writes nothing; check cb_store_has_layer() first to skip it.
 * The caller must hold cb_store_hold() until the image is recorded. */
int cb_layer_writer_new(struct cb_store *s, const struct cb_layer_expect *expect,
			const struct cb_layer_limits *limits, struct cb_layer_writer **ret,
			struct cb_error *err);
/* Push len bytes. Fails fast (with err set) once the layer is known bad. */
int cb_layer_writer_write(struct cb_layer_writer *w, const void *buf, size_t len);
/* End of input: verify, commit, free w. On failure nothing is left. */
int cb_layer_writer_finish(struct cb_layer_writer *w, struct cb_layer_info *ret_info,
			   struct cb_error *err);
/* Discard everything and free w (NULL is fine). */
void cb_layer_writer_abort(struct cb_layer_writer *w);
/* The error that failed a write(), to report. */
const struct cb_error *cb_layer_writer_error(const struct cb_layer_writer *w);

/* The unpacked tar size recorded for a stored layer. */
int cb_layer_tar_size(struct cb_store *s, const char *chain_id, uint64_t *ret);
