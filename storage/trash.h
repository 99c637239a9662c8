/* ROOT/trash/: what a removal has taken out of the store's view but not
 * yet deleted. A container is removed by renaming its directory into
 * trash/ (one atomic step under the store lock); deleting the tree
 * follows at once, or later for the few empty directories that a
 * `run --rm` leaves: on a disk mounted with `discard` every removed
 * directory waits for the disk (~0.1 ms), so the next foreground run
 * deletes them a step at a time while its container starts and runs,
 * and `rm` and `gc` empty the trash. Everything in trash/ is garbage:
 * any command may delete any of it, at any time, concurrently. */
#pragma once

#include "store.h"

/* Rename ROOT/<rel> (a container's directory) into the trash under a new
 * random name, written to ret_name (33 bytes). The caller holds the
 * store lock. */
int cb_trash_put(struct cb_store *s, const char *rel, char ret_name[33]);

/* Delete trash/<name> now. */
int cb_trash_delete(struct cb_store *s, const char *name);

/* Delete everything in the trash now; the count removed in *ret_removed. */
int cb_trash_empty(struct cb_store *s, unsigned *ret_removed);

/* Delete the trash a step at a time (common/fsutil.h cb_rm_steps): *ret
 * is NULL when there is no trash directory. */
struct cb_rm_steps;
int cb_trash_steps(struct cb_store *s, struct cb_rm_steps **ret);
