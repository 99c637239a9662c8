/* The overlay model behind cowbox-fuse: layers, the node tree of the
 * merged view, lookup through the layers, copy-up and whiteouts. It knows
 * nothing of FUSE requests (ops.c turns requests into these calls), so the
 * rules that make the upper dir byte-compatible with the kernel's
 * overlayfs live in one place.
 *
 * Layer 0 is the upper dir; layers 1..n are the lower dirs, top first.
 * On disk everything uses the kernel overlayfs format: a whiteout is a
 * 0:0 character device, an opaque dir carries trusted.overlay.opaque=y.
 *
 * Locking: fs->tree is a rwlock over the shape of the merged view (node
 * parents and names, node layers). Calls that only read take it shared,
 * calls that change the view (create, remove, rename, copy-up) take it
 * exclusive, so a path built from the node tree is always the path of the
 * node in its layer, and no other thread can swap a component for a
 * symlink while a path is in use. Functions below say which they need.
 * Functions return >= 0 or -errno. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define CBF_OPAQUE_XATTR  "trusted.overlay.opaque"
#define CBF_PRIVATE_XATTR "trusted.overlay."

struct cbf_layer {
	char *path;	 /* absolute */
	int fd;		 /* O_PATH | O_DIRECTORY */
	unsigned dev_id; /* small index of st_dev, mixed into inode numbers */
	bool logged;	 /* one "damaged layer" line per layer */
};

/* Another name of a hard-linked upper file the kernel knows. */
struct cbf_alias {
	struct cbf_node *parent; /* holds a reference */
	char *name;
};

/* One object of the merged view. A hard-linked file of the upper dir is
 * one node (one kernel inode, so its cached size and times cannot differ
 * between names): parent/name is one of its names, aliases the others
 * the kernel looked up; when that name goes, an alias takes its place. */
struct cbf_node {
	struct cbf_node *parent; /* NULL for the root and for removed nodes */
	char *name;
	struct cbf_alias *aliases;
	size_t n_aliases;
	bool in_ino_table; /* registered by upper inode number */
	ino_t upper_ino;
	struct cbf_node *hash_next;
	uint64_t refs;	    /* kernel lookups + children: guarded by fs->nodes_lock */
	uint64_t nlookup;   /* kernel lookups alone */
	int layer;	    /* topmost layer holding it; 0 once in the upper dir */
	int lowest;	    /* dirs: lowest layer merged into it (== layer if none) */
	mode_t type;	    /* S_IFMT bits */
	uint64_t ino;	    /* the st_ino the kernel sees, fixed for the node's life */
	uint64_t size_hint; /* st_size at lookup (UINT64_MAX: unknown), for the loop */
	bool removed;	    /* gone from the merged view (may still be open) */
};

struct cbf_fs {
	struct cbf_layer *layers;
	int n_layers; /* upper + lowers */
	int work_fd;  /* O_DIRECTORY: our scratch dir inside the work dir */
	char *work_path;
	struct cbf_node *root;
	pthread_rwlock_t tree;
	pthread_mutex_t nodes_lock; /* the hash and reference counts */
	struct cbf_node **hash;
	size_t hash_size, hash_count;
	uint64_t tmp_counter;
	dev_t devs[16];
	unsigned n_devs;
	/* upper st_ino -> the inode number the file had before copy-up, so a
	 * file keeps its number (and hard links made after a copy-up agree);
	 * guarded by nodes_lock; lives as long as the mount */
	uint64_t *ino_map; /* pairs: key, value; key 0 = free */
	size_t ino_map_size, ino_map_count;
	/* upper st_ino -> node, for hard-linked upper files; nodes_lock */
	struct cbf_node **links;
	size_t links_size, links_count;
};

/* Open the layers (upper first, then lowers top first) and make our
 * scratch dir WORK/cowbox-fuse (emptied). upper and work NULL: a
 * read-only view (the mount must be ro). Errors name the bad dir in
 * *ret_what (static or points into the arguments). */
int cbf_fs_init(struct cbf_fs *fs, const char *upper, char *const *lowers, int n_lowers,
		const char *work, const char **ret_what);
void cbf_fs_release(struct cbf_fs *fs);

/* "a/b/c" of node (or "." for the root) into buf; -ENOENT for a removed
 * node, -ENAMETOOLONG. Needs fs->tree (shared). */
int cbf_node_path(struct cbf_fs *fs, struct cbf_node *n, char *buf, size_t size);
/* The same joined with name. */
int cbf_child_path(struct cbf_fs *fs, struct cbf_node *parent, const char *name, char *buf,
		   size_t size);

/* Look name up in the merged dir parent. On success *ret_node holds one new
 * reference (nlookup + 1) and *st the attributes with st_ino replaced.
 * -ENOENT when absent or whited out. Needs fs->tree (shared). */
int cbf_lookup(struct cbf_fs *fs, struct cbf_node *parent, const char *name,
	       struct cbf_node **ret_node, struct stat *st);
/* The same; *ret_upper_whiteout (may be NULL) tells whether -ENOENT came
 * from a whiteout in the upper dir (cbf_prepare_create's upper_whiteout). */
int cbf_lookup_ex(struct cbf_fs *fs, struct cbf_node *parent, const char *name,
		  struct cbf_node **ret_node, struct stat *st, bool *ret_upper_whiteout);
/* Drop n kernel references; frees the node (and parents no longer used)
 * when none are left. Needs fs->tree (shared or exclusive), so no rename
 * moves the node meanwhile. */
void cbf_forget(struct cbf_fs *fs, struct cbf_node *node, uint64_t n);

/* Attributes of a node from its current layer. Needs fs->tree (shared). */
int cbf_getattr(struct cbf_fs *fs, struct cbf_node *node, struct stat *st);
/* Replace the st_ino (and st_dev) the layer gave with the node's. */
void cbf_fix_stat(struct cbf_fs *fs, struct cbf_node *node, struct stat *st);

/* Make the node live in the upper dir, copying its parents first; data
 * is copied when with_data (not for an open with O_TRUNC). Built in the
 * work dir and renamed in: a failure leaves nothing half-copied. Needs
 * fs->tree (exclusive). */
int cbf_copy_up(struct cbf_fs *fs, struct cbf_node *node, bool with_data);

/* How name looks in the layers below the upper one, for dir parent. */
enum cbf_below { CBF_BELOW_NONE, CBF_BELOW_WHITEOUT, CBF_BELOW_ENTRY };
/* Search layers 1..parent->lowest for name; the first hit decides. */
enum cbf_below cbf_probe_lower(struct cbf_fs *fs, struct cbf_node *parent, const char *name);
/* True when the upper dir holds a whiteout at parent/name. */
bool cbf_upper_is_whiteout(struct cbf_fs *fs, struct cbf_node *parent, const char *name);

/* Prepare parent/name in the upper dir for a new entry: copy the parent
 * up and (unless keep_whiteout) drop a whiteout the upper dir has there
 * (upper_whiteout: 1 or 0 when the caller knows from cbf_lookup_ex made
 * under the same lock, -1 to look).
 * *ret_over_whiteout says whether there was one: a dir made there must
 * be opaque, as overlayfs makes it. Exclusive. */
int cbf_prepare_create(struct cbf_fs *fs, struct cbf_node *parent, const char *name,
		       bool keep_whiteout, int upper_whiteout, bool *ret_over_whiteout);
/* A fresh name for a scratch object in fs->work_fd. */
void cbf_tmp_name(struct cbf_fs *fs, char *buf, size_t size);
/* Register a node for an entry just made in the upper dir at parent/name
 * (one kernel reference) and fill st; a new hard link becomes a name of
 * its file's node. Exclusive. */
int cbf_new_upper_node(struct cbf_fs *fs, struct cbf_node *parent, const char *name,
		       struct cbf_node *link_src, struct cbf_node **ret_node, struct stat *st);

/* Remove parent/name from the merged view (unlink or rmdir), leaving a
 * whiteout where a lower layer still has the name. Exclusive. */
int cbf_remove(struct cbf_fs *fs, struct cbf_node *parent, const char *name, bool is_dir);
/* Rename in the merged view. Dirs with lower layers give -EXDEV (as
 * overlayfs without redirect_dir); flags: RENAME_NOREPLACE. Exclusive. */
int cbf_rename(struct cbf_fs *fs, struct cbf_node *oldparent, const char *oldname,
	       struct cbf_node *newparent, const char *newname, unsigned flags);

/* One entry of a merged directory listing. */
struct cbf_dirent {
	char *name;
	uint64_t ino;
	unsigned char type; /* DT_* */
};
/* The merged listing of dir, "." and ".." first, no whiteouts, each name
 * once. Shared. */
int cbf_read_merged(struct cbf_fs *fs, struct cbf_node *dir, struct cbf_dirent **ret_entries,
		    size_t *ret_count);
void cbf_dirents_free(struct cbf_dirent *e, size_t n);

/* An absolute path of the node in its layer, for the *xattr calls that
 * have no fd form for symlinks and devices. Shared. */
int cbf_abs_path(struct cbf_fs *fs, struct cbf_node *node, char *buf, size_t size);

/* Turn an unexpected error (not ENOENT, ENOTDIR) from a layer, or a file
 * the node tree says exists but the layer lost, into -EIO, logging one
 * line per layer that names it. */
int cbf_layer_fault(struct cbf_fs *fs, int layer, const char *path, int err);

/* Logging with a "cowbox-fuse: " prefix: to stderr, or to the file set
 * with cbf_log_to(), created on the first line. */
void cbf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cbf_log_to(const char *path);
