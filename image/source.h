/* Where an import reads from: an OCI layout directory, or a tar (OCI
 * layout or docker-save) that can be read at any entry. A tar that cannot
 * be seeked (stdin) or is compressed is first spooled, decompressed, into
 * an unnamed O_TMPFILE inside the store, which vanishes with the process. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

struct cb_store;
struct cb_source;

/* Open path ("-" = stdin). */
int cb_source_open(struct cb_store *s, const char *path, struct cb_source **ret,
		   struct cb_error *err);
void cb_source_free(struct cb_source *src);

bool cb_source_is_dir(const struct cb_source *src);
bool cb_source_has(const struct cb_source *src, const char *name);
/* Read a whole entry of at most max bytes. -ENOENT when missing. */
int cb_source_read(struct cb_source *src, const char *name, size_t max, char **ret_data,
		   size_t *ret_len, struct cb_error *err);

/* Feed the bytes of an entry to push, in chunks. Stops with push's error.
 * Safe to call from several threads at once. */
typedef int (*cb_push_fn)(void *opaque, const void *buf, size_t len);
int cb_source_stream(struct cb_source *src, const char *name, cb_push_fn push, void *opaque,
		     const volatile bool *cancel, struct cb_error *err);
