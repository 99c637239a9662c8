/* What a container changed, read straight from its upper dir and the image's
 * layer dirs (no mount needed), and the other direction of extract.h: a
 * layer directory (an image layer or an upper dir) written back as an OCI
 * layer tar.
 *
 * Meaning of a change (docker diff's), comparing the container's view
 * with the image's view (the lower layers merged):
 *   A /p  p is in the container's view and not in the image's
 *   D /p  p is in the image's view and was deleted (only the topmost path
 *         of a deleted tree is listed)
 *   C /p  p is in both and the container wrote it: a file, link or node
 *         in the upper dir; a directory whose type, mode, owner or mtime
 *         differ, or that gained or lost a direct child, or was deleted and
 *         made again (opaque)
 * Entries of an opaque (deleted and recreated) directory are compared with
 * the image's entries of that path too: an entry made again is C, one not
 * made again is D. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "error.h"

enum cb_change_kind {
	CB_CHANGE_NONE = 0,
	CB_CHANGE_ADDED = 'A',
	CB_CHANGE_CHANGED = 'C',
	CB_CHANGE_DELETED = 'D',
};

struct cb_change {
	char kind;  /* enum cb_change_kind */
	char *path; /* "/etc/motd" */
};

struct cb_changes {
	size_t n, cap;
	struct cb_change *v; /* sorted by path (strcmp) */
};
void cb_changes_release(struct cb_changes *c);

/* An overlay whiteout: a character device 0:0. */
bool cb_diff_is_whiteout(mode_t mode, dev_t rdev);

/* The tar name of the OCI whiteout for name in dir ("" is the root):
 * ("etc", "motd") -> "etc/.wh.motd"; opaque (name NULL) ->
 * "etc/.wh..wh..opq". -ENAMETOOLONG when it does not fit. */
int cb_diff_whiteout_name(const char *dir, const char *name, char *out, size_t size);

/* The facts cb_diff_classify decides from, for one path. */
struct cb_diff_facts {
	bool upper_whiteout; /* the upper entry is a whiteout */
	bool upper_dir;	     /* the upper entry is a directory */
	bool upper_opaque;   /* ... marked opaque */
	bool in_lower;	     /* the path is in the image's view */
	bool lower_dir;	     /* ... as a directory */
	bool attrs_differ;   /* upper dir vs lower dir: mode, owner or mtime */
	bool child_added_or_deleted;
};
/* Pure: the change kind of one upper entry (CB_CHANGE_NONE: not listed). */
char cb_diff_classify(const struct cb_diff_facts *f);

/* The changes of an upper dir over lower layer dirs (top first). */
int cb_diff_changes(int upper_fd, const int *lower_fds, size_t n_lower, struct cb_changes *ret,
		    struct cb_error *err);

/* Receives the tar stream cb_diff_write_tar makes; returns < 0 to stop. */
typedef int (*cb_diff_sink)(void *ctx, const void *buf, size_t len);

/* Write the tree below dir_fd as an OCI layer tar (pax): sorted entries,
 * numeric owners, mtimes, xattrs (but no trusted.overlay.* or
 * user.overlay.*), hard links within the tree, sparse files; overlay
 * whiteouts become `.wh.NAME`, opaque dirs get `.wh..wh..opq`. The same
 * tree always gives the same bytes. */
int cb_diff_write_tar(int dir_fd, cb_diff_sink sink, void *ctx, struct cb_error *err);
