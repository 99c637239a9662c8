/* Garbage collection: remove what no image or container refers to, and
 * the leftovers of commands that were killed. Runs with ROOT/gc.lock held
 * exclusively, so no import or create is half-way while it looks. */
#pragma once

#include <stdint.h>
#include "error.h"

struct cb_store;

struct cb_gc_report {
	unsigned layers_removed, blobs_removed, leftovers_removed;
	unsigned damaged_records; /* containers whose record is unreadable: no layer was removed */
	uint64_t bytes_freed;
};

int cb_store_gc(struct cb_store *s, struct cb_gc_report *ret, struct cb_error *err);
