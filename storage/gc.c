#include "gc.h"
#include "spare.h"
#include "trash.h"
#include "container.h"
#include "digest.h"
#include "fsutil.h"
#include "images.h"
#include "macro.h"
#include "store.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

/* A sorted set of hex digests kept in a growing array. */
struct hexset {
	char **v;
	size_t n, cap;
};

static int hexset_add(struct hexset *s, const char *digest)
{
	if (!cb_digest_valid(digest))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **n = realloc(s->v, cap * sizeof(char *));
		if (!n)
			return -ENOMEM;
		s->v = n;
		s->cap = cap;
	}
	s->v[s->n] = strdup(cb_digest_hex(digest));
	return s->v[s->n++] ? 0 : -ENOMEM;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hexset_sort(struct hexset *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(char *), cmp_str);
}

static bool hexset_has(const struct hexset *s, const char *hex)
{
	return s->n > 0 && bsearch(&hex, s->v, s->n, sizeof(char *), cmp_str) != NULL;
}

static void hexset_release(struct hexset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static bool is_leftover_name(const char *name)
{
	return strstr(name, ".tmp-") != NULL;
}

/* Containers keep their layers even when their image was removed. */
static int collect_container_layers(struct cb_store *s, struct hexset *layers,
				    unsigned *ret_damaged)
{
	char **ids = NULL;
	size_t n = 0;
	int r = cb_container_list(s, &ids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct cb_container *c = NULL;
		if (cb_container_get(s, ids[i], &c, NULL) < 0) {
			(*ret_damaged)++; /* its layers are unknown: keep them all */
			continue;
		}
		for (size_t k = 0; r >= 0 && k < c->n_layers; k++)
			r = hexset_add(layers, c->layers[k]);
		cb_container_free(c);
	}
	strv_free(ids);
	return r;
}

static int sweep_dir(struct cb_store *s, const char *dirname, const struct hexset *keep,
		     bool strip_json, unsigned *removed, unsigned *leftovers, uint64_t *bytes)
{
	_cleanup_close_ int dfd =
		openat(cb_store_root_fd(s), dirname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int dirfd = dfd;
	_cleanup_closedir_ DIR *d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (is_leftover_name(de->d_name)) {
			if (cb_rm_rf_at(dirfd, de->d_name) >= 0)
				(*leftovers)++;
			continue;
		}
		if (!keep)
			continue;
		char hex[CB_DIGEST_HEX_LEN + 1];
		snprintf(hex, sizeof(hex), "%s", de->d_name);
		if (strlen(de->d_name) < CB_DIGEST_HEX_LEN)
			continue;
		if (strip_json && strcmp(de->d_name + CB_DIGEST_HEX_LEN, ".json") != 0)
			continue;
		if (hexset_has(keep, hex))
			continue;
		uint64_t size = 0;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(st.st_mode))
				cb_disk_usage_at(dirfd, de->d_name, &size);
			else
				size = (uint64_t)st.st_blocks * 512;
		}
		if (cb_rm_rf_at(dirfd, de->d_name) >= 0) {
			(*removed)++;
			*bytes += size;
		}
	}
	return 0;
}

int cb_store_gc(struct cb_store *s, struct cb_gc_report *ret, struct cb_error *err)
{
	struct cb_gc_report rep = {0};
	struct hexset layers = {0}, blobs = {0};
	int r = cb_store_hold_exclusive(s);
	if (r < 0)
		return cb_error_errno(err, r, "lock the store");
	r = cb_store_clean_tmp(s, &rep.leftovers_removed);
	if (r < 0) {
		cb_error_errno(err, r, "clean tmp");
		goto out_release;
	}
	unsigned trashed = 0;
	r = cb_trash_empty(s, &trashed);
	rep.leftovers_removed += trashed;
	if (r < 0) {
		cb_error_errno(err, r, "empty the trash");
		goto out_release;
	}
	/* Not garbage (storage/spare.h), but gc leaves nothing unused. */
	r = cb_spare_empty(s, NULL);
	if (r < 0) {
		cb_error_errno(err, r, "delete the spare directories");
		goto out_release;
	}
	struct cb_image **list = NULL;
	size_t n = 0;
	r = cb_images_list(s, &list, &n, err);
	if (r < 0)
		goto out_release;
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = hexset_add(&blobs, list[i]->id);
		if (r >= 0)
			r = hexset_add(&blobs, list[i]->manifest_digest);
		for (size_t k = 0; r >= 0 && k < list[i]->n_layers; k++)
			r = hexset_add(&layers, list[i]->layers[k].chain_id);
	}
	cb_images_list_free(list, n);
	if (r >= 0)
		r = collect_container_layers(s, &layers, &rep.damaged_records);
	if (r < 0) {
		cb_error_errno(err, r, "collect references");
		goto out_release;
	}
	hexset_sort(&layers);
	hexset_sort(&blobs);
	/* A container whose record cannot be read may use any layer: then no
	 * layer goes (`cowbox check` names the container). */
	if (rep.damaged_records == 0)
		sweep_dir(s, "layers", &layers, false, &rep.layers_removed,
			  &rep.leftovers_removed, &rep.bytes_freed);
	sweep_dir(s, "blobs/sha256", &blobs, false, &rep.blobs_removed, &rep.leftovers_removed,
		  &rep.bytes_freed);
	sweep_dir(s, "images", NULL, true, &rep.blobs_removed, &rep.leftovers_removed,
		  &rep.bytes_freed);
	sweep_dir(s, ".", NULL, false, &rep.blobs_removed, &rep.leftovers_removed,
		  &rep.bytes_freed);
	/* Lock files are made on demand, and no command that takes them runs
	 * while gc holds the store: clear them all. */
	if (cb_rm_rf_at(cb_store_root_fd(s), "locks") >= 0)
		mkdirat(cb_store_root_fd(s), "locks", 0700);
	*ret = rep;
	r = 0;
out_release:
	hexset_release(&layers);
	hexset_release(&blobs);
	cb_store_release(s);
	return r;
}
