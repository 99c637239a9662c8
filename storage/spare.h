/* ROOT/spare/: empty directories kept to become the next containers' own
 * (their directory, upper and work) instead of being deleted while new
 * ones are made. On a disk mounted with `discard` and no journal (this
 * project's test machine) every removed directory waits for the disk and
 * every new one costs an inode and a block; a rename costs neither.
 *
 * They come from the trash (storage/trash.h): a `run --rm` whose overlay
 * is known to be gone (its superblock shut down: nothing can write
 * through it any more) puts its directory there marked for taking apart,
 * and its directories (the container's, upper, work, and overlayfs's
 * work/work, incompat and volatile) become spares, up to CB_SPARE_MAX;
 * the rest are deleted as any trash is.
 *
 * Everything in spare/ is an empty directory owned by root with no
 * extended attribute, under a random name. A spare is taken by a rename
 * only one command can win; any command may delete any of it. */
#pragma once

#include "store.h"

#include <stdbool.h>
#include <sys/types.h>

#define CB_SPARE_MAX 24

/* Move a spare to dirfd/name (which must not exist), with this mode: 1;
 * 0 when there is none (the caller makes one); -errno (-EEXIST when name
 * exists). With check (for an upper dir, whose content the container
 * sees) it is checked empty and gets the time of now. None on a store in
 * memory (a tmpfs): there recycling costs more than it saves. */
int cb_spare_take(struct cb_store *s, int dirfd, const char *name, mode_t mode, bool check);

/* Keep the directory dirfd/name as a spare when it is empty, root's, has
 * no extended attribute but overlayfs's own (those are removed) and the
 * spares are fewer than CB_SPARE_MAX: 1; 0 when it is not kept (the
 * caller deletes it); -errno. */
int cb_spare_keep(struct cb_store *s, int dirfd, const char *name);

/* Delete every spare; the count in *ret_removed. */
int cb_spare_empty(struct cb_store *s, unsigned *ret_removed);

/* For cb_store_free. */
void cb_spare_cache_free(struct cb_spare_cache *c);
