/* ROOT/trash/: the directories of removed containers whose deletion was
 * put off. On a disk mounted with `discard` every removed directory waits
 * for the disk (~0.1 ms), and a `run --rm` whose container wrote nothing
 * leaves seven empty ones: the next foreground launch deletes them a step
 * at a time while its container starts and runs, and `rm` and `gc` empty
 * the trash. Only such emptied directories are put here (the removal of
 * anything else is done before it returns, through ROOT/tmp): a step never
 * has a tree to walk. Everything in trash/ is garbage: any command may
 * delete any of it, at any time, concurrently. */
#pragma once

#include "store.h"

/* Rename ROOT/<rel> (a container's directory) to ROOT/trash/<name> (a
 * fresh random name). The caller holds the store lock. With recycle
 * (its overlay is known to be gone: nothing can write in it any more),
 * the steps below make its directories spares (storage/spare.h). */
int cb_trash_put(struct cb_store *s, const char *rel, const char *name, bool recycle);

/* Delete ROOT/<rel>, a removed container's directory, now: its known
 * layout by name, then a walk of anything else; never through a link or
 * into another mount. */
int cb_trash_delete_dir(struct cb_store *s, const char *rel);

/* Delete everything in the trash now; the count removed in *ret_removed. */
int cb_trash_empty(struct cb_store *s, unsigned *ret_removed);

/* Delete the trash a step at a time (common/fsutil.h cb_rm_steps): *ret
 * is NULL when there is no trash directory. */
struct cb_rm_steps;
int cb_trash_steps(struct cb_store *s, struct cb_rm_steps **ret);
