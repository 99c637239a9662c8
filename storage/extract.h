/* Writing the entries of one layer tar into a directory, fd-relative and
 * beneath it: every name is normalized and checked, every parent opened
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so no entry can
 * create or change anything outside the directory: not by `..`, not by an
 * absolute name, not through a symlink (inside or outside) and not by a
 * hard link to outside. OCI whiteouts become overlay whiteouts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "layer.h"

struct archive;

/* Normalize a tar entry name into out: drop "./" and empty components and
 * a trailing "/"; refuse absolute names (-EPERM, "absolute path") and ".."
 * components (-EPERM, "path leaves the layer"). "" is the layer root.
 * why (may be NULL) receives a static reason on failure. */
int cb_path_normalize(const char *name, char *out, size_t out_size, const char **why);

enum cb_whiteout {
	CB_WHITEOUT_NONE,
	CB_WHITEOUT_FILE,   /* ".wh.NAME": hide NAME of the layers below */
	CB_WHITEOUT_OPAQUE, /* ".wh..wh..opq": hide the whole directory below */
	CB_WHITEOUT_INVALID /* ".wh." prefix without a usable name */
};
/* Classify a base name; for FILE, *ret_target points at NAME inside base. */
enum cb_whiteout cb_whiteout_classify(const char *base, const char **ret_target);

/* True for an xattr a tar must not set: trusted.overlay.* (and the
 * user.overlay.* of unprivileged overlay) would let a layer forge
 * whiteouts, opaque dirs or redirects. */
bool cb_xattr_is_forbidden(const char *name);

/* A hard link whose target is not in this layer: it names a file of a
 * lower layer, and the layer writer copies that file in (a link cannot
 * span layer directories). */
struct cb_lower_link {
	char *path, *target; /* normalized */
};

struct cb_extract_stats {
	uint64_t entries;
	size_t n_lower_links;
	struct cb_lower_link *lower_links; /* owned: cb_extract_stats_release */
};
void cb_extract_stats_release(struct cb_extract_stats *st);

/* Read every entry of a (decompressed) tar from a and write it below
 * dir_fd (an O_DIRECTORY fd). Stops at the first bad entry with err set
 * to "entry NAME: why". Directory mtimes are applied at the end. */
int cb_extract_tar(struct archive *a, int dir_fd, const struct cb_layer_limits *limits,
		   struct cb_extract_stats *ret_stats, struct cb_error *err);
