/* Copy a file tree between two directories by file descriptor, for
 * `cowbox cp`: nothing below the two directories given is ever reached
 * through a symlink (each step is an *at call with O_NOFOLLOW on a
 * directory fd), so a tree a container controls, even one it changes
 * while the copy runs, cannot send a write or a read outside it.
 *
 * Regular files, directories (merged into an existing one), symlinks
 * (copied as links), fifos and device nodes are copied with their mode
 * and times; what was at a destination name and is not a directory to
 * merge into is replaced. Hard links become separate files (in a tar, link
 * entries); extended attributes and sockets are not copied. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct cb_copy_opts {
	/* Follow a symlink at the top (the entry named), as cp -L. */
	bool follow_top;
	/* The owner of what is written: with keep_ids the source's ids,
	 * each through map_uid/map_gid when set; else uid:gid. A map
	 * returning -1 (an id with no place on the other side) gives the
	 * overflow id 65534. */
	bool keep_ids;
	uid_t uid;
	gid_t gid;
	/* Regular files lose their set-uid and set-gid bits: what comes out
	 * of a container is not to run as the host's root because an image
	 * said so (cp without -a). */
	bool drop_setid;
	int64_t (*map_uid)(void *opaque, uint32_t id);
	int64_t (*map_gid)(void *opaque, uint32_t id);
	void *opaque;
};

/* Copy the entry `name` of src_dir to `dst_name` in dst_dir. name "."
 * copies src_dir itself (its contents merged into dst_name); name NULL
 * copies what src_dir, an O_PATH fd, is (a file, a directory, a node):
 * how a caller copies a top it resolved itself (a container's symlink
 * followed inside the container's root, not the host's). err names the
 * path below the copy's top that failed. */
int cb_copy_tree(int src_dir, const char *name, int dst_dir, const char *dst_name,
		 const struct cb_copy_opts *o, struct cb_error *err);

struct archive;
/* The same walk written to the tar a (`cp C:SRC -`): the entry `name` of
 * src_dir (NULL: what src_dir, an O_PATH fd, is; "." the directory's
 * contents) as entries named below `as` ("as/..."; "." gives "./...").
 * Owners as o says (keep_ids with its maps, else uid:gid). */
int cb_copy_to_tar(int src_dir, const char *name, const char *as, struct archive *a,
		   const struct cb_copy_opts *o, struct cb_error *err);
/* The other way (`cp - C:DEST`): every entry of the tar a unpacked below
 * the directory dest, a path inside root (a container's root). Entry
 * names are normalized ("../" and absolute names refused); each entry's
 * directory is resolved inside root (RESOLVE_IN_ROOT: the container's own
 * symlinks, an entry's too, lead only inside it) and the entry made there
 * without following anything; a hard link's target likewise. Owners: the
 * tar's ids through map_uid/map_gid with keep_ids, else uid:gid. */
int cb_copy_from_tar(struct archive *a, int root, const char *dest, const struct cb_copy_opts *o,
		     struct cb_error *err);
