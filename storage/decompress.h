/* Streaming decompression of layer blobs: gzip through ISA-L's igzip
 * (measured ~2-3x faster than zlib's inflate, bench/inflate), zstd through
 * libzstd, or none. One push-style step function, zlib-like, so the layer
 * writer can decompress straight into the buffers its tar thread reads. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "layer.h"

struct cb_decompressor;

/* AUTO sniffs the magic of the first bytes (gzip 1f 8b, zstd 28 b5 2f fd,
 * anything else is taken as uncompressed). */
int cb_decompressor_new(enum cb_compression compression, struct cb_decompressor **ret);
void cb_decompressor_free(struct cb_decompressor *d);

/* Consume input from *in (advancing it and *in_len) and write at most
 * *out_len bytes to out (set to the bytes written). Returns 0 when more
 * input is wanted or output space ran out, -EBADMSG on corrupt data (the
 * reason in cb_decompressor_error), -ENOMEM. A finished gzip member may be
 * followed by another (multi-member gzip), a zstd frame by another. */
int cb_decompress(struct cb_decompressor *d, const uint8_t **in, size_t *in_len, uint8_t *out,
		  size_t *out_len);
/* After the last input: 0 when the stream ended cleanly, -EBADMSG when it
 * was cut short. Call only when cb_decompress produced no more output. */
int cb_decompress_end(struct cb_decompressor *d);
/* What the stream turned out to be (after the first bytes). */
enum cb_compression cb_decompressor_kind(const struct cb_decompressor *d);
const char *cb_decompressor_error(const struct cb_decompressor *d);
const char *cb_compression_name(enum cb_compression c);
