/* `cowbox commit`: a container's upper dir becomes a new layer on its
 * image, and the result an ordinary image record.
 *
 * The upper dir is written as an OCI layer tar (storage/diff.h), compressed
 * (zstd by default, multithreaded; gzip on request) and streamed through
 * the store's layer writer, which verifies it and unpacks it as the new
 * top layer; the new config gets the diff ID and a history entry, the
 * manifest is made from it, and cb_import_record records it.
 *
 * A running container is not frozen: commit reads the upper dir as it is,
 * so a file being written meanwhile may be captured half-written. */
#pragma once

#include <stddef.h>
#include "digest.h"
#include "error.h"
#include "layer.h"
#include "diff.h"

struct cb_store;

/* A streaming compressor: bytes in, compressed bytes out to a sink.
 * gzip output is byte-for-byte the same for the same input (no name, no
 * time in the header); zstd with workers is deterministic too. */
struct cb_compressor;
int cb_compressor_new(enum cb_compression kind, cb_diff_sink sink, void *ctx,
		      struct cb_compressor **ret);
int cb_compressor_write(struct cb_compressor *c, const void *buf, size_t len);
/* Flush the end of the stream to the sink and free c (also on failure). */
int cb_compressor_finish(struct cb_compressor *c);
void cb_compressor_free(struct cb_compressor *c);
/* The OCI layer media type for a compression. */
const char *cb_compression_media_type(enum cb_compression kind);

struct cb_commit_options {
	const char *name;		 /* NAME[:TAG], normalized by the caller; may be NULL */
	enum cb_compression compression; /* NONE, GZIP or ZSTD; AUTO means ZSTD */
	const char *message;		 /* history comment; may be NULL */
	const char *author;		 /* may be NULL */
};

/* Commit container id. ret_id receives the new image ID. */
int cb_commit(struct cb_store *s, const char *id, const struct cb_commit_options *opts,
	      char ret_id[CB_DIGEST_SIZE], struct cb_error *err);
