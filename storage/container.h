/* Containers in the store: ROOT/containers/<id>/ holds
 *   container.json  {"id","name","image","image_name","layers":[chain IDs,
 *                   bottom first],"cmd":[...],"created":N,"volatile":bool,
 *                   "run":{...launcher options...}} (one line, small)
 *   upper/          the container's own changes (an overlay upper dir)
 *   work/, merged/  made at mount time: the driver's scratch dir and the
 *                   mount point (merged/ is removed again at unmount)
 * and ROOT/containers/.names/<name> is a symlink to <id>: symlinkat's
 * EEXIST makes names unique, and resolving a name is one readlink.
 *
 * Creation copies nothing and chowns nothing. It does not fsync: a fresh
 * container holds nothing that cannot be made again, so after a power loss
 * it may be gone or found damaged by `cowbox check`, but a reader never
 * sees half a container (it is built in ROOT/tmp and renamed into place).
 *
 * Mounting, unmounting and removing one container are serialized by an
 * flock on its directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "digest.h"
#include "driver.h"
#include "error.h"

struct cb_store;
struct cb_image;

#define CB_CONTAINER_ID_LEN  64
#define CB_CONTAINER_ID_SIZE (CB_CONTAINER_ID_LEN + 1)
#define CB_CONTAINER_NAME_MAX 128

struct cb_container {
	char id[CB_CONTAINER_ID_SIZE];
	char *name;			  /* NULL when it has none */
	char image[CB_DIGEST_SIZE];	  /* the image ID it was made from */
	char *image_name;		  /* the name used to create it; may be NULL */
	size_t n_layers;		  /* bottom first */
	char (*layers)[CB_DIGEST_SIZE]; /* chain IDs */
	char **cmd;			  /* NULL-terminated; NULL when none was given */
	int64_t created;		  /* unix seconds */
	bool is_volatile;		  /* --rm: overlay volatile, removed after the run */
	char *run_json;			  /* the "run" object as JSON text, or NULL */
};
void cb_container_free(struct cb_container *c);

struct cb_container_options {
	const char *name;	/* may be NULL */
	const char *image_name; /* recorded as given; may be NULL */
	char *const *cmd;	/* NULL-terminated; may be NULL */
	bool is_volatile;
	const char *run_json; /* a JSON object stored as "run" (launcher options); may be NULL */
	/* The ID, from cb_container_new_id (a launcher that names things
	 * after it before the container exists); NULL: a new one. */
	const char *id;
};

/* A new random container ID. */
int cb_container_new_id(char ret_id[CB_CONTAINER_ID_SIZE]);

/* Is name a valid container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*, <= 128)? */
bool cb_container_name_valid(const char *name);

/* Make a container from img (its layers must be in the store). The caller
 * resolves the image; this takes the store's locks it needs. -EEXIST (err
 * names the holder) when the name is taken. */
int cb_container_create(struct cb_store *s, const struct cb_image *img,
			const struct cb_container_options *opts, struct cb_container **ret,
			struct cb_error *err);

/* Read container id's record. -ENOENT when there is no such container,
 * -EBADMSG when its container.json is damaged. */
int cb_container_get(struct cb_store *s, const char *id, struct cb_container **ret,
		     struct cb_error *err);

/* The container a name is given to: 0, -ENOENT (no such name, or one
 * left dangling by a create or remove killed half-way), -EBADMSG. */
int cb_container_lookup_name(struct cb_store *s, const char *name,
			     char ret_id[CB_CONTAINER_ID_SIZE]);

/* A full ID, a name, or a unique ID prefix (>= 3 hex digits) into an ID. */
int cb_container_resolve(struct cb_store *s, const char *what, char ret_id[CB_CONTAINER_ID_SIZE],
			 struct cb_error *err);

/* All container IDs (sorted), NULL-terminated, caller frees (strv_free). */
int cb_container_list(struct cb_store *s, char ***ret_ids, size_t *ret_n);

/* "ROOT/containers/<id>/merged"; caller frees. */
int cb_container_rootfs_path(struct cb_store *s, const char *id, char **ret_path);
/* Is the container's rootfs mounted (in this mount namespace)? */
bool cb_container_is_mounted(struct cb_store *s, const char *id);

/* For a container in a user namespace: its layers are mounted idmapped
 * through userns_fd (a namespace with the container's maps), and its
 * upper dir's root is given to root_uid:root_gid (the host IDs of the
 * container's root; -1: left alone), so that its root owns its files. */
struct cb_mount_idmap {
	int userns_fd;
	int64_t root_uid, root_gid;
};

/* Mount the container's rootfs with the chosen driver and return its path
 * (caller frees). Already mounted: succeeds and returns the path. Checks
 * first that the upper dir and every layer are there, naming the
 * container and the layer when not. */
int cb_container_mount(struct cb_store *s, const char *id, enum cb_driver_kind kind,
		       char **ret_path, struct cb_error *err);
/* The same for a container about to run. With ret_fd, where the driver
 * can (kernel overlay with the new mount API) the rootfs comes back as a
 * detached mount: *ret_fd, to be attached in the container's own mount
 * namespace, and *ret_path is where ("ROOT/containers/<id>", hidden under
 * it there). The host never sees the mount: nothing to unmount, nothing
 * propagated to other namespaces, and it ends when the last holder (the
 * caller's fd, the container's namespace) goes. Otherwise (or ret_fd
 * NULL) *ret_fd is -1 and the rootfs is mounted as cb_container_mount
 * does. idmap (may be NULL): see struct cb_mount_idmap. c is the
 * container as cb_container_create or cb_container_get gave it (what the
 * mount needs of it never changes): not read again. */
int cb_container_mount_for_run(struct cb_store *s, const struct cb_container *c,
			       enum cb_driver_kind kind,
			       const struct cb_mount_idmap *idmap, int *ret_fd, char **ret_path,
			       struct cb_error *err);

enum cb_unmount_flags {
	CB_UNMOUNT_LAZY = 1 << 0, /* detach even when busy */
};
/* Unmount it (a no-op when not mounted). -EBUSY when in use, unless lazy. */
int cb_container_unmount(struct cb_store *s, const char *id, unsigned flags,
			 struct cb_error *err);

enum cb_remove_flags {
	CB_REMOVE_FORCE = 1 << 0, /* lazily unmount a busy rootfs */
	/* When the container wrote nothing, leave its empty directories in
	 * the trash for a later command to delete (storage/trash.h). */
	CB_REMOVE_DEFER_EMPTY = 1 << 1,
	/* With DEFER_EMPTY: its overlay is known to be gone (nothing can
	 * write in its directories any more): they may become spares
	 * (storage/spare.h). */
	CB_REMOVE_RECYCLE = 1 << 2,
};
/* Unmount and remove it with its name. Busy (without force): -EBUSY and
 * nothing is changed. The directory is renamed into ROOT/tmp (or, put off,
 * ROOT/trash) first, so the container vanishes at once and a kill -9
 * leaves only garbage there. */
int cb_container_remove(struct cb_store *s, const char *id, unsigned flags,
			struct cb_error *err);
/* The same for a container the caller has read (its name is known). */
int cb_container_remove_known(struct cb_store *s, const struct cb_container *c, unsigned flags,
			      struct cb_error *err);

/* Open the container's layer diff dirs (O_PATH), TOP FIRST, for diff and
 * commit. A missing layer fails naming the container and the layer. */
int cb_container_open_layers(struct cb_store *s, const struct cb_container *c, int **ret_fds,
			     struct cb_error *err);
void cb_container_close_layers(int *fds, size_t n);
/* Open its upper dir (O_RDONLY|O_DIRECTORY); a missing one fails clearly. */
int cb_container_open_upper(struct cb_store *s, const struct cb_container *c,
			    struct cb_error *err);
