#include "container.h"
#include "fsutil.h"
#include "images.h"
#include "macro.h"
#include "store.h"
#include "spare.h"
#include "trash.h"

#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/statfs.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

#define _cleanup_json_ _cleanup_(json_decrefp)
#define CONTAINER_JSON_MAX (1u << 20)

/* "container 1a2b3c4d5e6f": how errors name a container. */
#define SHORT(id) 12, (id)

void cb_container_free(struct cb_container *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->image_name);
	free(c->layers);
	strv_free(c->cmd);
	free(c->run_json);
	free(c);
}

static void cb_container_freep(struct cb_container **c)
{
	cb_container_free(*c);
}
#define _cleanup_container_ _cleanup_(cb_container_freep)

bool cb_container_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > CB_CONTAINER_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

static bool id_valid(const char *id)
{
	if (strlen(id) != CB_CONTAINER_ID_LEN)
		return false;
	for (const char *p = id; *p; p++)
		if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
			return false;
	return true;
}

static int containers_fd(struct cb_store *s)
{
	int fd = openat(cb_store_root_fd(s), "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Open ROOT/containers/<id> and flock it (LOCK_EX). */
static int open_locked(struct cb_store *s, const char *id, struct cb_error *err)
{
	if (!id_valid(id))
		return cb_error_set(err, EINVAL, "%s: not a container ID", id);
	char rel[128];
	snprintf(rel, sizeof(rel), "containers/%s", id);
	_cleanup_close_ int fd = openat(cb_store_root_fd(s), rel,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return cb_error_set(err, ENOENT, "container %.*s: no such container",
					    SHORT(id));
		return cb_error_errno(err, errno, "container %.*s", SHORT(id));
	}
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return cb_error_errno(err, errno, "container %.*s: lock", SHORT(id));
	/* rm may have renamed it away between our open and our lock. */
	struct stat a, b;
	if (fstat(fd, &a) < 0 || fstatat(cb_store_root_fd(s), rel, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		return cb_error_set(err, ENOENT, "container %.*s: no such container", SHORT(id));
	return TAKE_FD(fd);
}

static char *json_to_text(json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static int strv_from_json(json_t *a, char ***ret)
{
	*ret = NULL;
	if (!json_is_array(a))
		return 0;
	size_t n = json_array_size(a);
	char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(a, i);
		if (!json_is_string(e) || !(v[i] = strdup(json_string_value(e)))) {
			strv_free(v);
			return json_is_string(e) ? -ENOMEM : -EBADMSG;
		}
	}
	*ret = v;
	return 0;
}

static int parse_container(const char *id, const char *text, size_t len,
			   struct cb_container **ret, struct cb_error *err)
{
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(text, len, 0, &jerr);
	if (!j || !json_is_object(j))
		return cb_error_set(err, EBADMSG, "container %.*s: container.json is damaged (%s)",
				    SHORT(id), j ? "not an object" : jerr.text);
	_cleanup_container_ struct cb_container *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->id, sizeof(c->id), "%s", id);
	const char *image = json_string_value(json_object_get(j, "image"));
	json_t *layers = json_object_get(j, "layers");
	if (!image || !cb_digest_valid(image) || !json_is_array(layers))
		return cb_error_set(err, EBADMSG,
				    "container %.*s: container.json is damaged (no image or layers)",
				    SHORT(id));
	strcpy(c->image, image);
	const char *str = json_string_value(json_object_get(j, "name"));
	if (str && !(c->name = strdup(str)))
		return -ENOMEM;
	str = json_string_value(json_object_get(j, "image_name"));
	if (str && !(c->image_name = strdup(str)))
		return -ENOMEM;
	c->n_layers = json_array_size(layers);
	c->layers = calloc(c->n_layers ? c->n_layers : 1, CB_DIGEST_SIZE);
	if (!c->layers)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_layers; i++) {
		const char *l = json_string_value(json_array_get(layers, i));
		if (!l || !cb_digest_valid(l))
			return cb_error_set(err, EBADMSG,
					    "container %.*s: container.json: bad layer %zu",
					    SHORT(id), i);
		strcpy(c->layers[i], l);
	}
	if (strv_from_json(json_object_get(j, "cmd"), &c->cmd) == -ENOMEM)
		return -ENOMEM;
	c->created = json_integer_value(json_object_get(j, "created"));
	c->is_volatile = json_is_true(json_object_get(j, "volatile"));
	json_t *run = json_object_get(j, "run");
	if (json_is_object(run) && !(c->run_json = json_to_text(run)))
		return -ENOMEM;
	*ret = TAKE_PTR(c);
	return 0;
}

int cb_container_get(struct cb_store *s, const char *id, struct cb_container **ret,
		     struct cb_error *err)
{
	if (!id_valid(id))
		return cb_error_set(err, EINVAL, "%s: not a container ID", id);
	char rel[128];
	snprintf(rel, sizeof(rel), "containers/%s/container.json", id);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = cb_read_file_at(cb_store_root_fd(s), rel, CONTAINER_JSON_MAX, &text, &len);
	if (r == -ENOENT) {
		char dir[128];
		snprintf(dir, sizeof(dir), "containers/%s", id);
		if (faccessat(cb_store_root_fd(s), dir, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return cb_error_set(err, EBADMSG,
					    "container %.*s: container.json is missing", SHORT(id));
		return cb_error_set(err, ENOENT, "container %.*s: no such container", SHORT(id));
	}
	if (r < 0)
		return cb_error_errno(err, r, "container %.*s: read container.json", SHORT(id));
	return parse_container(id, text, len, ret, err);
}

/* The container a name points to, if that container still exists. */
int cb_container_lookup_name(struct cb_store *s, const char *name,
			     char ret_id[CB_CONTAINER_ID_SIZE])
{
	if (!cb_container_name_valid(name))
		return -ENOENT;
	char rel[256], target[CB_CONTAINER_ID_SIZE + 8];
	snprintf(rel, sizeof(rel), "containers/.names/%s", name);
	ssize_t n = readlinkat(cb_store_root_fd(s), rel, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (!id_valid(target))
		return -EBADMSG;
	char dir[128];
	snprintf(dir, sizeof(dir), "containers/%s", target);
	if (faccessat(cb_store_root_fd(s), dir, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return -ENOENT; /* stale: its container was removed half-way */
	memcpy(ret_id, target, CB_CONTAINER_ID_SIZE);
	return 0;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cb_container_list(struct cb_store *s, char ***ret_ids, size_t *ret_n)
{
	int fd = containers_fd(s);
	if (fd < 0)
		return fd;
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	size_t n = 0, cap = 16;
	_cleanup_strv_ char **v = calloc(cap + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!id_valid(de->d_name))
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap * 2 + 1) * sizeof(char *));
			if (!nv)
				return -ENOMEM;
			v = nv;
			cap *= 2;
		}
		if (!(v[n] = strdup(de->d_name)))
			return -ENOMEM;
		v[++n] = NULL;
	}
	if (n > 1)
		qsort(v, n, sizeof(char *), cmp_strp);
	*ret_ids = TAKE_PTR(v);
	if (ret_n)
		*ret_n = n;
	return 0;
}

int cb_container_resolve(struct cb_store *s, const char *what, char ret_id[CB_CONTAINER_ID_SIZE],
			 struct cb_error *err)
{
	char rel[128];
	if (id_valid(what)) {
		snprintf(rel, sizeof(rel), "containers/%s", what);
		if (faccessat(cb_store_root_fd(s), rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			memcpy(ret_id, what, CB_CONTAINER_ID_SIZE);
			return 0;
		}
	}
	if (cb_container_lookup_name(s, what, ret_id) == 0)
		return 0;
	size_t len = strlen(what);
	bool hex = len >= 3 && len < CB_CONTAINER_ID_LEN;
	for (const char *p = what; *p && hex; p++)
		hex = isxdigit((unsigned char)*p) && !isupper((unsigned char)*p);
	if (hex) {
		_cleanup_strv_ char **ids = NULL;
		int r = cb_container_list(s, &ids, NULL);
		if (r < 0)
			return cb_error_errno(err, r, "%s: list containers", what);
		const char *found = NULL;
		for (char **i = ids; *i; i++)
			if (strncmp(*i, what, len) == 0) {
				if (found)
					return cb_error_set(err, EEXIST,
							    "%s: ambiguous container ID prefix", what);
				found = *i;
			}
		if (found) {
			memcpy(ret_id, found, CB_CONTAINER_ID_SIZE);
			return 0;
		}
	}
	return cb_error_set(err, ENOENT, "%s: no such container", what);
}

static json_t *container_to_json(const struct cb_container *c, const char *run_json)
{
	json_t *layers = json_array();
	for (size_t i = 0; layers && i < c->n_layers; i++)
		json_array_append_new(layers, json_string(c->layers[i]));
	json_t *j = json_object();
	if (!j || !layers) {
		json_decref(j);
		json_decref(layers);
		return NULL;
	}
	json_object_set_new(j, "id", json_string(c->id));
	if (c->name)
		json_object_set_new(j, "name", json_string(c->name));
	json_object_set_new(j, "image", json_string(c->image));
	if (c->image_name)
		json_object_set_new(j, "image_name", json_string(c->image_name));
	json_object_set_new(j, "layers", layers);
	if (c->cmd) {
		json_t *cmd = json_array();
		for (char **a = c->cmd; *a; a++)
			json_array_append_new(cmd, json_string(*a));
		json_object_set_new(j, "cmd", cmd);
	}
	json_object_set_new(j, "created", json_integer(c->created));
	if (c->is_volatile)
		json_object_set_new(j, "volatile", json_true());
	if (run_json) {
		json_t *run = json_loads(run_json, 0, NULL);
		if (!json_is_object(run)) {
			json_decref(run);
			json_decref(j);
			return NULL;
		}
		json_object_set_new(j, "run", run);
	}
	return j;
}

static char **strv_copy(char *const *v)
{
	size_t n = 0;
	while (v[n])
		n++;
	char **c = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; c && i < n; i++)
		if (!(c[i] = strdup(v[i]))) {
			strv_free(c);
			return NULL;
		}
	return c;
}

/* The merged root takes the upper root's mode and owner: give it those of
 * the image's root. */
static int copy_root_attrs(struct cb_store *s, const char *top_chain, int upper_fd)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "layers/%s/diff", cb_digest_hex(top_chain));
	struct stat top, up;
	if (fstatat(cb_store_root_fd(s), rel, &top, 0) < 0 || fstat(upper_fd, &up) < 0)
		return -errno;
	if ((top.st_uid != up.st_uid || top.st_gid != up.st_gid) &&
	    fchown(upper_fd, top.st_uid, top.st_gid) < 0)
		return -errno;
	if ((top.st_mode & 07777) != (up.st_mode & 07777) && fchmod(upper_fd, top.st_mode & 07777) < 0)
		return -errno;
	return 0;
}

/* Claim name for id: a symlink .names/<name> -> <id>. A name whose
 * container is gone (a remove killed half-way) is free. Store lock held. */
static int claim_name(struct cb_store *s, const char *name, const char *id, struct cb_error *err)
{
	int root = cb_store_root_fd(s);
	if (mkdirat(root, "containers/.names", 0700) < 0 && errno != EEXIST)
		return cb_error_errno(err, errno, "mkdir containers/.names");
	char rel[256];
	snprintf(rel, sizeof(rel), "containers/.names/%s", name);
	if (symlinkat(id, root, rel) == 0)
		return 0;
	if (errno != EEXIST)
		return cb_error_errno(err, errno, "name %s", name);
	char holder[CB_CONTAINER_ID_SIZE];
	if (cb_container_lookup_name(s, name, holder) == 0)
		return cb_error_set(err, EEXIST, "name %s is already used by container %.*s", name,
				    SHORT(holder));
	if (unlinkat(root, rel, 0) < 0 || symlinkat(id, root, rel) < 0)
		return cb_error_errno(err, errno, "name %s", name);
	return 0;
}

static void release_name(struct cb_store *s, const char *name, const char *id)
{
	char rel[256], target[CB_CONTAINER_ID_SIZE + 8];
	snprintf(rel, sizeof(rel), "containers/.names/%s", name);
	ssize_t n = readlinkat(cb_store_root_fd(s), rel, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = '\0';
	if (strcmp(target, id) == 0)
		unlinkat(cb_store_root_fd(s), rel, 0);
}

/* Can JSON (container.json) keep it? json_string refuses what is not
 * UTF-8, and a word dropped from a command changes what it means. */
static bool is_text(const char *s)
{
	json_t *t = s ? json_string(s) : json_null();
	json_decref(t);
	return t != NULL;
}

int cb_container_new_id(char ret_id[CB_CONTAINER_ID_SIZE])
{
	return cb_random_hex(ret_id, CB_CONTAINER_ID_LEN / 2);
}

int cb_container_create(struct cb_store *s, const struct cb_image *img,
			const struct cb_container_options *opts, struct cb_container **ret,
			struct cb_error *err)
{
	for (char *const *a = opts->cmd; a && *a; a++)
		if (!is_text(*a))
			return cb_error_set(err, EILSEQ, "command word %zu is not UTF-8 text",
					    (size_t)(a - opts->cmd) + 1);
	if (!is_text(opts->image_name))
		return cb_error_set(err, EILSEQ, "the image name is not UTF-8 text");
	if (img->n_layers == 0)
		return cb_error_set(err, EINVAL, "image %.19s has no layers", img->id);
	if (opts->name && !cb_container_name_valid(opts->name))
		return cb_error_set(err, EINVAL,
				    "name %s: use letters, digits, '_', '.', '-' (first a letter or "
				    "digit), at most %d",
				    opts->name, CB_CONTAINER_NAME_MAX);
	_cleanup_container_ struct cb_container *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int r = 0;
	if (opts->id && !id_valid(opts->id))
		return cb_error_set(err, EINVAL, "container ID %.70s: expected %d hex digits",
				    opts->id, CB_CONTAINER_ID_LEN);
	if (opts->id)
		memcpy(c->id, opts->id, CB_CONTAINER_ID_SIZE);
	else if ((r = cb_container_new_id(c->id)) < 0)
		return cb_error_errno(err, r, "random ID");
	strcpy(c->image, img->id);
	if ((opts->name && !(c->name = strdup(opts->name))) ||
	    (opts->image_name && !(c->image_name = strdup(opts->image_name))) ||
	    (opts->cmd && !(c->cmd = strv_copy(opts->cmd))))
		return -ENOMEM;
	c->n_layers = img->n_layers;
	if (!(c->layers = calloc(c->n_layers, CB_DIGEST_SIZE)))
		return -ENOMEM;
	for (size_t i = 0; i < c->n_layers; i++)
		strcpy(c->layers[i], img->layers[i].chain_id);
	c->created = time(NULL);
	c->is_volatile = opts->is_volatile;
	if (opts->run_json && !(c->run_json = strdup(opts->run_json)))
		return -ENOMEM;
	_cleanup_(json_decrefp) json_t *j = container_to_json(c, opts->run_json);
	if (!j)
		return cb_error_set(err, EINVAL, "container options: bad run JSON");
	_cleanup_free_ char *text = json_to_text(j);
	if (!text)
		return -ENOMEM;
	_cleanup_close_ int stage = -1;
	_cleanup_free_ char *stage_rel = NULL;

	/* gc must not drop the layers between our reading the image and the
	 * container.json that keeps them. */
	r = cb_store_hold(s);
	if (r < 0)
		return cb_error_errno(err, r, "store gc.lock");
	for (size_t i = 0; i < c->n_layers; i++)
		if (!cb_store_has_layer(s, c->layers[i])) {
			r = cb_error_set(err, ENOENT,
					 "image %.19s: layer %s is missing from the store "
					 "(`cowbox check`)",
					 img->id, c->layers[i]);
			goto release;
		}
	/* Its directory and upper dir: spares when there are (spare.h). */
	r = cb_store_stage_dir(s, true, &stage, &stage_rel);
	if (r < 0) {
		cb_error_errno(err, r, "stage a container");
		goto release;
	}
	if (cb_spare_take(s, stage, "upper", 0755, true) <= 0 &&
	    mkdirat(stage, "upper", 0755) < 0) {
		r = cb_error_errno(err, errno, "container %.*s: mkdir upper", SHORT(c->id));
		goto remove_stage;
	}
	{
		_cleanup_close_ int up = openat(stage, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (up < 0 || (r = copy_root_attrs(s, c->layers[c->n_layers - 1], up)) < 0) {
			r = cb_error_errno(err, up < 0 ? errno : -r,
					   "container %.*s: upper dir attributes", SHORT(c->id));
			goto remove_stage;
		}
		/* No fsync: see the header. */
		_cleanup_close_ int fd = openat(stage, "container.json",
						O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || (r = cb_write_all(fd, text, strlen(text))) < 0) {
			r = cb_error_errno(err, fd < 0 ? errno : -r,
					   "container %.*s: write container.json", SHORT(c->id));
			goto remove_stage;
		}
	}
	r = cb_store_lock(s);
	if (r < 0) {
		cb_error_errno(err, r, "store lock");
		goto remove_stage;
	}
	if (c->name && (r = claim_name(s, c->name, c->id, err)) < 0)
		goto unlock;
	char dest[128];
	snprintf(dest, sizeof(dest), "containers/%s", c->id);
	if (renameat(cb_store_root_fd(s), stage_rel, cb_store_root_fd(s), dest) < 0) {
		r = cb_error_errno(err, errno, "container %.*s: rename into place", SHORT(c->id));
		if (c->name)
			release_name(s, c->name, c->id);
		goto unlock;
	}
	cb_store_unlock(s);
	cb_store_release(s);
	if (ret)
		*ret = TAKE_PTR(c);
	return 0;

unlock:
	cb_store_unlock(s);
remove_stage:
	cb_rm_rf_at(cb_store_root_fd(s), stage_rel);
release:
	cb_store_release(s);
	return r;
}

int cb_container_rootfs_path(struct cb_store *s, const char *id, char **ret_path)
{
	return asprintf(ret_path, "%s/containers/%s/merged", cb_store_root(s), id) < 0 ? -ENOMEM
										   : 0;
}

static bool is_mount_root(int dirfd, const char *name)
{
	struct statx stx;
	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &stx) < 0)
		return false;
	if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	struct stat a, b;
	return fstatat(dirfd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 && fstat(dirfd, &b) == 0 &&
	       a.st_dev != b.st_dev;
}

bool cb_container_is_mounted(struct cb_store *s, const char *id)
{
	if (!id_valid(id))
		return false;
	char rel[128];
	snprintf(rel, sizeof(rel), "containers/%s/merged", id);
	return is_mount_root(cb_store_root_fd(s), rel);
}

int cb_container_open_upper(struct cb_store *s, const struct cb_container *c,
			    struct cb_error *err)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "containers/%s/upper", c->id);
	int fd = openat(cb_store_root_fd(s), rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return cb_error_set(err, ENOENT,
					    "container %.*s: its upper dir is missing (removed by "
					    "hand?); `cowbox check --repair` makes an empty one",
					    SHORT(c->id));
		return cb_error_errno(err, errno, "container %.*s: open upper dir", SHORT(c->id));
	}
	return fd;
}

void cb_container_close_layers(int *fds, size_t n)
{
	if (!fds)
		return;
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

static int layer_missing(const struct cb_container *c, size_t i, int code, struct cb_error *err)
{
	return cb_error_set(err, code,
			    "container %.*s: layer %s (%zu of %zu) is %s the store; re-import "
			    "its image, `cowbox check` lists what needs it",
			    SHORT(c->id), c->layers[i], i + 1, c->n_layers,
			    code == ENOENT ? "missing from" : "damaged in");
}

int cb_container_open_layers(struct cb_store *s, const struct cb_container *c, int **ret_fds,
			     struct cb_error *err)
{
	int *fds = calloc(c->n_layers ? c->n_layers : 1, sizeof(int));
	if (!fds)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_layers; i++)
		fds[i] = -1;
	for (size_t k = 0; k < c->n_layers; k++) {
		size_t i = c->n_layers - 1 - k; /* top first */
		char rel[128];
		snprintf(rel, sizeof(rel), "layers/%s/diff", cb_digest_hex(c->layers[i]));
		fds[k] = openat(cb_store_root_fd(s), rel,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fds[k] < 0) {
			int r = layer_missing(c, i, errno == ENOENT ? ENOENT : EUCLEAN, err);
			cb_container_close_layers(fds, c->n_layers);
			return r;
		}
	}
	*ret_fds = fds;
	return 0;
}

/* The init layer: empty etc/hostname, etc/hosts, etc/resolv.conf for an
 * image that lacks them, stacked over its layers as docker's "-init"
 * layer is. The launcher binds its own files over these and needs a file
 * there to bind over: without this layer it would create them in the
 * container's upper dir, on every run, where `diff` and `commit` see them.
 * It holds only the files the image lacks (its own stay visible, to
 * `cowbox mount` too): ROOT/init/<mask>, bit i for init_files[i], made
 * once per store (tmp + rename). */
static const char *const init_files[] = {"hostname", "hosts", "resolv.conf"};

static int init_layer_make(struct cb_store *s, unsigned mask)
{
	int root = cb_store_root_fd(s);
	char dest[32];
	snprintf(dest, sizeof(dest), "init/%u", mask);
	if (faccessat(root, dest, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (mkdirat(root, "init", 0700) < 0 && errno != EEXIST)
		return -errno;
	_cleanup_close_ int stage = -1;
	_cleanup_free_ char *rel = NULL;
	int r = cb_store_stage_dir(s, false, &stage, &rel);
	if (r < 0)
		return r;
	if (fchmod(stage, 0755) < 0 || mkdirat(stage, "etc", 0755) < 0) {
		r = -errno;
		goto out;
	}
	for (size_t i = 0; i < ELEMENTSOF(init_files); i++) {
		if (!(mask & (1u << i)))
			continue;
		char name[32];
		snprintf(name, sizeof(name), "etc/%s", init_files[i]);
		int fd = openat(stage, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			r = -errno;
			goto out;
		}
		close(fd);
	}
	if (renameat(root, rel, root, dest) == 0)
		return 0;
	/* Another command made it first: theirs is the same. */
	r = errno == EEXIST || errno == ENOTEMPTY ? 0 : -errno;
out:
	cb_rm_rf_at(root, rel);
	return r;
}

/* Which init files does c's image lack? Layers are looked at top down, as
 * overlayfs merges them: the first layer with an entry decides (a
 * whiteout means absent), an opaque /etc hides the layers below. -1 when
 * the image's /etc is not a directory (a symlink: a layer's etc/ would
 * hide all of it): then no init layer. */
static int init_layer_mask(struct cb_store *s, const struct cb_container *c)
{
	int root = cb_store_root_fd(s);
	unsigned decided = 0, missing = 0, all = (1u << ELEMENTSOF(init_files)) - 1;
	for (size_t k = 0; k < c->n_layers && decided != all; k++) {
		char rel[192];
		int n = snprintf(rel, sizeof(rel), "layers/%s/diff/etc",
				 cb_digest_hex(c->layers[c->n_layers - 1 - k]));
		struct stat st;
		if (fstatat(root, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		if (S_ISCHR(st.st_mode) && st.st_rdev == 0)
			break; /* /etc removed by this layer: nothing below counts */
		if (!S_ISDIR(st.st_mode))
			return -1;
		for (size_t i = 0; i < ELEMENTSOF(init_files); i++) {
			if (decided & (1u << i))
				continue;
			snprintf(rel + n, sizeof(rel) - (size_t)n, "/%s", init_files[i]);
			struct stat fst;
			if (fstatat(root, rel, &fst, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			decided |= 1u << i;
			if (S_ISCHR(fst.st_mode) && fst.st_rdev == 0)
				missing |= 1u << i;
		}
		rel[n] = '\0';
		char opq[2];
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", cb_store_root(s), rel);
		if (lgetxattr(path, "trusted.overlay.opaque", opq, sizeof(opq)) == 1 &&
		    opq[0] == 'y')
			break;
	}
	return (int)(missing | (all & ~decided));
}

static int container_mount(struct cb_store *s, const char *id, const struct cb_container *known,
			   enum cb_driver_kind kind, const struct cb_mount_idmap *idmap,
			   int *ret_fd, char **ret_path, struct cb_error *err)
{
	_cleanup_close_ int cfd = open_locked(s, id, err);
	if (cfd < 0)
		return cfd;
	_cleanup_free_ char *target = NULL;
	if (cb_container_rootfs_path(s, id, &target) < 0)
		return -ENOMEM;
	if (is_mount_root(cfd, "merged")) {
		if (ret_path)
			*ret_path = TAKE_PTR(target);
		return 0;
	}
	_cleanup_container_ struct cb_container *read = NULL;
	int r = 0;
	if (!known && (r = cb_container_get(s, id, &read, err)) < 0)
		return r;
	const struct cb_container *c = known ? known : read;
	const struct cb_rootfs_driver *drv = NULL;
	r = cb_driver_get(kind, &drv, err);
	if (r < 0)
		return cb_error_prefix(err, "container %.*s", SHORT(id));
	struct stat st;
	if (fstatat(cfd, "upper", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
		_cleanup_close_ int up = cb_container_open_upper(s, c, err);
		if (up < 0)
			return up;
		return cb_error_set(err, ENOTDIR, "container %.*s: upper is not a directory",
				    SHORT(id));
	}
	/* Every layer, checked before the kernel sees them, so the error
	 * names the layer and not an errno of overlayfs. */
	size_t n = c->n_layers, top = 0;
	_cleanup_free_ char *upper = NULL, *work = NULL, *what = NULL;
	_cleanup_free_ char **dirs = calloc(n + 2, sizeof(char *));
	_cleanup_free_ const char **names = calloc(n + 2, sizeof(char *));
	if (!dirs || !names)
		return -ENOMEM;
	/* Without the init layer (a store we may not write, an odd /etc)
	 * the launcher falls back to making the files in the upper dir. */
	int mask = init_layer_mask(s, c);
	if (mask > 0 && init_layer_make(s, (unsigned)mask) >= 0) {
		if (asprintf(&dirs[0], "%s/init/%d", cb_store_root(s), mask) < 0)
			return -ENOMEM;
		names[0] = "the init layer (ROOT/init)";
		top = 1;
	}
	for (size_t k = 0; k < n; k++) {
		size_t i = n - 1 - k;
		char rel[128];
		snprintf(rel, sizeof(rel), "layers/%s/diff", cb_digest_hex(c->layers[i]));
		if (fstatat(cb_store_root_fd(s), rel, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode)) {
			r = layer_missing(c, i, errno == ENOENT ? ENOENT : EUCLEAN, err);
			goto free_dirs;
		}
		if (cb_store_layer_diff_path(s, c->layers[i], &dirs[top + k]) < 0) {
			r = -ENOMEM;
			goto free_dirs;
		}
		names[top + k] = c->layers[i];
	}
	if (cb_spare_take(s, cfd, "work", 0700, false) <= 0 && mkdirat(cfd, "work", 0700) < 0 &&
	    errno != EEXIST) {
		r = cb_error_errno(err, errno, "container %.*s: mkdir work", SHORT(id));
		goto free_dirs;
	}
	if (faccessat(cfd, "work/work/incompat/volatile", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		r = cb_error_set(err, EUCLEAN,
				 "container %.*s: a volatile rootfs was not cleanly unmounted (a "
				 "crash?): its changes may be incomplete; remove the container",
				 SHORT(id));
		goto free_dirs;
	}
	/* A detached mount needs no mount point here (the overlay driver
	 * makes target itself when it has to mount it after all). */
	if ((!ret_fd || drv != &cb_overlay_driver) && mkdirat(cfd, "merged", 0755) < 0 &&
	    errno != EEXIST) {
		r = cb_error_errno(err, errno, "container %.*s: mkdir merged", SHORT(id));
		goto free_dirs;
	}
	if (asprintf(&upper, "%s/containers/%s/upper", cb_store_root(s), id) < 0 ||
	    asprintf(&work, "%s/containers/%s/work", cb_store_root(s), id) < 0 ||
	    asprintf(&what, "container %.12s", id) < 0) {
		r = -ENOMEM;
		goto free_dirs;
	}
	struct cb_mount_request req = {
		.what = what,
		.lower_dirs = (const char *const *)dirs,
		.lower_names = names,
		.n_lower = n + top,
		.upper_dir = upper,
		.work_dir = work,
		.target = target,
		.container_fd = cfd,
		.flags = c->is_volatile ? CB_MOUNT_VOLATILE : 0,
		.ret_fd = ret_fd,
		.idmapped = idmap != NULL,
		.idmap_userns_fd = idmap ? idmap->userns_fd : -1,
	};
	if (idmap && idmap->root_uid >= 0 &&
	    fchownat(cfd, "upper", (uid_t)idmap->root_uid, (gid_t)idmap->root_gid,
		     AT_SYMLINK_NOFOLLOW) < 0) {
		r = cb_error_errno(err, errno, "container %.*s: give the upper dir to its root",
				   SHORT(id));
		goto free_dirs;
	}
	r = drv->mount(&req, err);
	if (r >= 0 && ret_fd && *ret_fd >= 0) {
		free(target);
		target = NULL;
		if (asprintf(&target, "%s/containers/%s", cb_store_root(s), id) < 0) {
			closep(ret_fd);
			r = -ENOMEM;
		}
	}
	if (r < 0)
		unlinkat(cfd, "merged", AT_REMOVEDIR);
	else if (ret_path)
		*ret_path = TAKE_PTR(target);
free_dirs:
	for (size_t k = 0; k < n + top; k++)
		free(dirs[k]);
	return r;
}

int cb_container_mount(struct cb_store *s, const char *id, enum cb_driver_kind kind,
		       char **ret_path, struct cb_error *err)
{
	return container_mount(s, id, NULL, kind, NULL, NULL, ret_path, err);
}

int cb_container_mount_for_run(struct cb_store *s, const struct cb_container *c,
			       enum cb_driver_kind kind, const struct cb_mount_idmap *idmap,
			       int *ret_fd, char **ret_path, struct cb_error *err)
{
	if (ret_fd)
		*ret_fd = -1;
	return container_mount(s, c->id, c, kind, idmap, ret_fd, ret_path, err);
}

static int unmount_locked(struct cb_store *s, int cfd, const char *id, unsigned flags,
			  struct cb_error *err)
{
	if (!is_mount_root(cfd, "merged")) {
		unlinkat(cfd, "merged", AT_REMOVEDIR);
		return 0;
	}
	_cleanup_free_ char *target = NULL;
	if (cb_container_rootfs_path(s, id, &target) < 0)
		return -ENOMEM;
	struct statfs sf;
	const struct cb_rootfs_driver *drv = NULL;
	if (statfs(target, &sf) == 0)
		drv = cb_driver_for_magic((unsigned long)sf.f_type);
	if (!drv)
		drv = &cb_overlay_driver; /* a plain umount works for any filesystem */
	_cleanup_close_ int upper = openat(cfd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = drv->unmount(target, flags & CB_UNMOUNT_LAZY, err);
	if (r < 0)
		return cb_error_prefix(err, "container %.*s", SHORT(id));
	/* A cleanly unmounted volatile overlay: make its upper durable now and
	 * drop the marker that would refuse the next mount. After a lazy
	 * detach the overlay may live on, so the marker stays. */
	if (!(flags & CB_UNMOUNT_LAZY) &&
	    faccessat(cfd, "work/work/incompat/volatile", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if (upper >= 0)
			syncfs(upper);
		cb_rm_rf_at(cfd, "work/work/incompat");
	}
	unlinkat(cfd, "merged", AT_REMOVEDIR);
	return 0;
}

int cb_container_unmount(struct cb_store *s, const char *id, unsigned flags,
			 struct cb_error *err)
{
	_cleanup_close_ int cfd = open_locked(s, id, err);
	if (cfd < 0)
		return cfd;
	return unmount_locked(s, cfd, id, flags, err);
}

/* Did the container write nothing: is ROOT/containers/<id>/upper empty
 * (or missing)? */
static bool upper_empty(struct cb_store *s, const char *id)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "containers/%s/upper", id);
	int r = cb_dir_is_empty_at(cb_store_root_fd(s), rel);
	return r == 1 || r == -ENOENT;
}

static int container_remove(struct cb_store *s, const char *id, const struct cb_container *known,
			    unsigned flags, struct cb_error *err)
{
	_cleanup_close_ int cfd = open_locked(s, id, err);
	if (cfd < 0)
		return cfd;
	int r = unmount_locked(s, cfd, id, flags & CB_REMOVE_FORCE ? CB_UNMOUNT_LAZY : 0, err);
	if (r < 0)
		return r;
	/* The name, if container.json still says it; a damaged record is
	 * removed all the same (the name then goes stale and is free). */
	_cleanup_container_ struct cb_container *read = NULL;
	if (!known)
		cb_container_get(s, id, &read, NULL);
	const struct cb_container *c = known ? known : read;
	/* Only directories the container left empty are put off (to the
	 * trash, storage/trash.h); anything else is deleted before we return,
	 * through tmp/ (a kill -9 leaves a leftover there, not a half
	 * container). */
	bool defer = (flags & CB_REMOVE_DEFER_EMPTY) && upper_empty(s, id);
	char from[128], name[33], to[128];
	snprintf(from, sizeof(from), "containers/%s", id);
	if ((r = cb_random_hex(name, 16)) < 0)
		return cb_error_errno(err, r, "random name");
	snprintf(to, sizeof(to), "tmp/rm-%s", name);
	if ((r = cb_store_hold(s)) < 0)
		return cb_error_errno(err, r, "store gc.lock");
	if ((r = cb_store_lock(s)) < 0) {
		cb_store_release(s);
		return cb_error_errno(err, r, "store lock");
	}
	if (defer && cb_trash_put(s, from, name, flags & CB_REMOVE_RECYCLE) < 0)
		defer = false; /* no usable trash: deleted now */
	if (!defer && renameat(cb_store_root_fd(s), from, cb_store_root_fd(s), to) < 0)
		r = cb_error_errno(err, errno, "container %.*s: remove", SHORT(id));
	else if (c && c->name)
		release_name(s, c->name, id);
	cb_store_unlock(s);
	/* What fails to go now is a leftover in tmp/ for the next command. */
	if (r >= 0 && !defer)
		(void)cb_trash_delete_dir(s, to);
	cb_store_release(s);
	return r;
}

int cb_container_remove(struct cb_store *s, const char *id, unsigned flags,
			struct cb_error *err)
{
	return container_remove(s, id, NULL, flags, err);
}

int cb_container_remove_known(struct cb_store *s, const struct cb_container *c, unsigned flags,
			      struct cb_error *err)
{
	return container_remove(s, c->id, c, flags, err);
}
