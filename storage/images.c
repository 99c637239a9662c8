#include "images.h"
#include "fsutil.h"
#include "macro.h"
#include "store.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

void cb_image_free(struct cb_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->n_layers; i++)
		free(img->layers[i].media_type);
	free(img->layers);
	free(img->manifest_media_type);
	strv_free(img->names);
	free(img);
}

static int load_json_at(int dirfd, const char *path, json_t **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = cb_read_file_at(dirfd, path, CB_BLOB_MAX, &text, &len);
	if (r < 0)
		return r;
	json_t *j = json_loadb(text, len, 0, NULL);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

static int save_json(struct cb_store *s, const char *path, json_t *j)
{
	_cleanup_free_ char *text = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1));
	if (!text)
		return -ENOMEM;
	return cb_store_write_file(s, path, text, strlen(text));
}

/* names.json, or an empty table when there is none yet. */
static int load_names(struct cb_store *s, json_t **ret)
{
	json_t *j = NULL;
	int r = load_json_at(cb_store_root_fd(s), "names.json", &j);
	if (r == -ENOENT) {
		j = json_pack("{s:{}}", "names");
		r = j ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	if (!json_is_object(json_object_get(j, "names"))) {
		json_decref(j);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

static int record_path(const char *id, char out[128])
{
	if (!cb_digest_valid(id))
		return -EINVAL;
	snprintf(out, 128, "images/%s.json", cb_digest_hex(id));
	return 0;
}

static json_t *image_to_json(const struct cb_image *img)
{
	json_t *layers = json_array();
	for (size_t i = 0; layers && i < img->n_layers; i++) {
		const struct cb_image_layer *l = &img->layers[i];
		json_array_append_new(layers,
				      json_pack("{s:s, s:s, s:s, s:s?, s:I}", "chain_id",
						l->chain_id, "diff_id", l->diff_id, "digest",
						l->digest, "media_type", l->media_type, "size",
						(json_int_t)l->size));
	}
	return json_pack("{s:s, s:s, s:s?, s:o, s:I}", "id", img->id, "manifest",
			 img->manifest_digest, "manifest_media_type", img->manifest_media_type,
			 "layers", layers, "added", (json_int_t)img->added);
}

static int image_from_json(json_t *j, struct cb_image **ret)
{
	const char *id = NULL, *manifest = NULL, *mt = NULL;
	json_t *layers = NULL;
	json_int_t added = 0;
	if (json_unpack(j, "{s:s, s:s, s?s, s:o, s?I}", "id", &id, "manifest", &manifest,
			"manifest_media_type", &mt, "layers", &layers, "added", &added) < 0 ||
	    !cb_digest_valid(id) || !cb_digest_valid(manifest) || !json_is_array(layers))
		return -EBADMSG;
	struct cb_image *img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	strcpy(img->id, id);
	strcpy(img->manifest_digest, manifest);
	img->manifest_media_type = mt ? strdup(mt) : NULL;
	img->added = added;
	img->layers = calloc(json_array_size(layers) + 1, sizeof(*img->layers));
	if (!img->layers) {
		cb_image_free(img);
		return -ENOMEM;
	}
	size_t i;
	json_t *l;
	json_array_foreach(layers, i, l)
	{
		const char *chain = NULL, *diff = NULL, *digest = NULL, *lmt = NULL;
		json_int_t size = -1;
		if (json_unpack(l, "{s:s, s:s, s:s, s?s, s?I}", "chain_id", &chain, "diff_id",
				&diff, "digest", &digest, "media_type", &lmt, "size", &size) < 0 ||
		    !cb_digest_valid(chain) || !cb_digest_valid(diff) || !cb_digest_valid(digest)) {
			cb_image_free(img);
			return -EBADMSG;
		}
		struct cb_image_layer *dst = &img->layers[i];
		strcpy(dst->chain_id, chain);
		strcpy(dst->diff_id, diff);
		strcpy(dst->digest, digest);
		dst->media_type = lmt ? strdup(lmt) : NULL;
		dst->size = size;
		img->n_layers++;
	}
	*ret = img;
	return 0;
}

static int names_of(json_t *names, const char *id, char ***ret)
{
	size_t n = 0, cap = 4;
	char **v = calloc(cap + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	const char *key;
	json_t *val;
	json_object_foreach(json_object_get(names, "names"), key, val)
	{
		if (!json_is_string(val) || strcmp(json_string_value(val), id) != 0)
			continue;
		if (n == cap) {
			char **nv = realloc(v, (cap * 2 + 1) * sizeof(char *));
			if (!nv) {
				strv_free(v);
				return -ENOMEM;
			}
			v = nv;
			cap *= 2;
		}
		v[n++] = strdup(key);
		v[n] = NULL;
	}
	*ret = v;
	return 0;
}

int cb_images_put(struct cb_store *s, const struct cb_image *img, char *const *names,
		  struct cb_error *err)
{
	char rel[128];
	if (record_path(img->id, rel) < 0)
		return cb_error_set(err, EINVAL, "image %s: invalid ID", img->id);
	_cleanup_json_ json_t *rec = image_to_json(img);
	if (!rec)
		return -ENOMEM;
	int r = cb_store_lock(s);
	if (r < 0)
		return cb_error_errno(err, r, "lock the store");
	_cleanup_json_ json_t *all = NULL;
	r = save_json(s, rel, rec);
	if (r < 0) {
		cb_error_errno(err, r, "write image record %s", img->id);
		goto out_unlock;
	}
	if (names && names[0]) {
		r = load_names(s, &all);
		if (r < 0) {
			cb_error_errno(err, r, "read names.json");
			goto out_unlock;
		}
		json_t *table = json_object_get(all, "names");
		for (char *const *n = names; *n; n++)
			json_object_set_new(table, *n, json_string(img->id));
		r = save_json(s, "names.json", all);
		if (r < 0)
			cb_error_errno(err, r, "write names.json");
	}
out_unlock:
	cb_store_unlock(s);
	return r;
}

int cb_images_get(struct cb_store *s, const char *id, struct cb_image **ret,
		  struct cb_error *err)
{
	char rel[128];
	if (record_path(id, rel) < 0)
		return cb_error_set(err, EINVAL, "image %s: invalid ID", id);
	_cleanup_json_ json_t *j = NULL;
	int r = load_json_at(cb_store_root_fd(s), rel, &j);
	if (r == -ENOENT)
		return cb_error_set(err, ENOENT, "image %s: not in the store", id);
	if (r < 0)
		return cb_error_errno(err, r, "image record %s", id);
	struct cb_image *img = NULL;
	r = image_from_json(j, &img);
	if (r < 0)
		return cb_error_errno(err, r, "image record %s", id);
	_cleanup_json_ json_t *names = NULL;
	if (load_names(s, &names) >= 0)
		names_of(names, img->id, &img->names);
	*ret = img;
	return 0;
}

int cb_images_lookup_name(struct cb_store *s, const char *name, char ret_id[CB_DIGEST_SIZE])
{
	_cleanup_json_ json_t *names = NULL;
	int r = load_names(s, &names);
	if (r < 0)
		return r;
	json_t *v = json_object_get(json_object_get(names, "names"), name);
	if (!json_is_string(v) || !cb_digest_valid(json_string_value(v)))
		return -ENOENT;
	strcpy(ret_id, json_string_value(v));
	return 0;
}

int cb_images_lookup_id_prefix(struct cb_store *s, const char *prefix,
			       char ret_id[CB_DIGEST_SIZE])
{
	if (strncmp(prefix, "sha256:", 7) == 0)
		prefix += 7;
	size_t n = strlen(prefix);
	if (n < 3 || n > CB_DIGEST_HEX_LEN || strspn(prefix, "0123456789abcdef") != n)
		return -EINVAL;
	_cleanup_close_ int dfd =
		openat(cb_store_root_fd(s), "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return -errno;
	int found = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len != CB_DIGEST_HEX_LEN + 5 || strcmp(de->d_name + CB_DIGEST_HEX_LEN, ".json"))
			continue;
		if (strncmp(de->d_name, prefix, n) != 0)
			continue;
		if (found++)
			return -EEXIST;
		snprintf(ret_id, CB_DIGEST_SIZE, "sha256:%.*s", CB_DIGEST_HEX_LEN, de->d_name);
	}
	return found ? 0 : -ENOENT;
}

static int compare_added(const void *a, const void *b)
{
	const struct cb_image *x = *(struct cb_image *const *)a, *y = *(struct cb_image *const *)b;
	if (x->added != y->added)
		return x->added < y->added ? 1 : -1;
	return strcmp(x->id, y->id);
}

void cb_images_list_free(struct cb_image **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cb_image_free(list[i]);
	free(list);
}

int cb_images_list(struct cb_store *s, struct cb_image ***ret, size_t *ret_n,
		   struct cb_error *err)
{
	_cleanup_close_ int dfd =
		openat(cb_store_root_fd(s), "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cb_error_errno(err, errno, "open images");
	int dirfd = dfd;
	_cleanup_closedir_ DIR *d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return cb_error_errno(err, errno, "open images");
	_cleanup_json_ json_t *names = NULL;
	int r = load_names(s, &names);
	if (r < 0)
		return cb_error_errno(err, r, "read names.json");
	struct cb_image **list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len != CB_DIGEST_HEX_LEN + 5 || strcmp(de->d_name + CB_DIGEST_HEX_LEN, ".json"))
			continue;
		_cleanup_json_ json_t *j = NULL;
		struct cb_image *img = NULL;
		if (load_json_at(dirfd, de->d_name, &j) < 0 || image_from_json(j, &img) < 0)
			continue; /* a damaged record: `cowbox gc` reports it */
		names_of(names, img->id, &img->names);
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct cb_image **nl = realloc(list, cap * sizeof(*nl));
			if (!nl) {
				cb_image_free(img);
				cb_images_list_free(list, n);
				return -ENOMEM;
			}
			list = nl;
		}
		list[n++] = img;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), compare_added);
	*ret = list;
	*ret_n = n;
	return 0;
}

int cb_images_tag(struct cb_store *s, const char *id, const char *name, struct cb_error *err)
{
	char *names[] = {(char *)name, NULL};
	int r = cb_store_lock(s);
	if (r < 0)
		return cb_error_errno(err, r, "lock the store");
	struct cb_image *img = NULL;
	r = cb_images_get(s, id, &img, err);
	if (r >= 0)
		r = cb_images_put(s, img, names, err);
	cb_image_free(img);
	cb_store_unlock(s);
	return r;
}

int cb_images_untag(struct cb_store *s, const char *name, char ret_id[CB_DIGEST_SIZE],
		    struct cb_error *err)
{
	int r = cb_store_lock(s);
	if (r < 0)
		return cb_error_errno(err, r, "lock the store");
	_cleanup_json_ json_t *names = NULL;
	r = load_names(s, &names);
	if (r < 0) {
		cb_error_errno(err, r, "read names.json");
		goto out_unlock;
	}
	json_t *table = json_object_get(names, "names");
	json_t *v = json_object_get(table, name);
	if (!json_is_string(v)) {
		r = cb_error_set(err, ENOENT, "%s: no such image", name);
		goto out_unlock;
	}
	if (ret_id)
		snprintf(ret_id, CB_DIGEST_SIZE, "%s", json_string_value(v));
	json_object_del(table, name);
	r = save_json(s, "names.json", names);
	if (r < 0)
		cb_error_errno(err, r, "write names.json");
out_unlock:
	cb_store_unlock(s);
	return r;
}

int cb_images_remove(struct cb_store *s, const char *id, struct cb_error *err)
{
	char rel[128];
	if (record_path(id, rel) < 0)
		return cb_error_set(err, EINVAL, "image %s: invalid ID", id);
	int r = cb_store_lock(s);
	if (r < 0)
		return cb_error_errno(err, r, "lock the store");
	_cleanup_json_ json_t *names = NULL;
	r = load_names(s, &names);
	if (r < 0) {
		cb_error_errno(err, r, "read names.json");
		goto out_unlock;
	}
	json_t *table = json_object_get(names, "names");
	const char *key;
	json_t *val;
	void *tmp;
	bool changed = false;
	json_object_foreach_safe(table, tmp, key, val)
	{
		if (json_is_string(val) && strcmp(json_string_value(val), id) == 0) {
			json_object_del(table, key);
			changed = true;
		}
	}
	/* Names first: a crash in between leaves an unnamed image, not a
	 * name pointing nowhere. */
	if (changed && (r = save_json(s, "names.json", names)) < 0) {
		cb_error_errno(err, r, "write names.json");
		goto out_unlock;
	}
	if (unlinkat(cb_store_root_fd(s), rel, 0) < 0 && errno != ENOENT)
		r = cb_error_errno(err, errno, "remove image record %s", id);
out_unlock:
	cb_store_unlock(s);
	return r;
}

int cb_images_users(struct cb_store *s, const char *id, size_t *ret_n)
{
	_cleanup_close_ int dfd =
		openat(cb_store_root_fd(s), "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*ret_n = 0;
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	int dirfd = dfd;
	_cleanup_closedir_ DIR *d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char rel[512];
		snprintf(rel, sizeof(rel), "%s/container.json", de->d_name);
		_cleanup_json_ json_t *j = NULL;
		if (load_json_at(dirfd, rel, &j) < 0)
			continue;
		json_t *img = json_object_get(j, "image");
		if (json_is_string(img) && strcmp(json_string_value(img), id) == 0)
			(*ret_n)++;
	}
	return 0;
}
