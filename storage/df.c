#include "df.h"
#include "container.h"
#include "digest.h"
#include "fsutil.h"
#include "images.h"
#include "macro.h"
#include "store.h"

#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

int cb_layer_disk_usage(struct cb_store *s, const char *chain_id, uint64_t *ret)
{
	if (!cb_digest_valid(chain_id))
		return -EINVAL;
	char rel[160];
	snprintf(rel, sizeof(rel), "layers/%s/disk-usage", cb_digest_hex(chain_id));
	_cleanup_free_ char *text = NULL;
	if (cb_read_file_at(cb_store_root_fd(s), rel, 64, &text, NULL) >= 0) {
		char *end;
		unsigned long long v = strtoull(text, &end, 10);
		if (end != text && *end == '\n') {
			*ret = v;
			return 0;
		}
	}
	char dir[160];
	snprintf(dir, sizeof(dir), "layers/%s", cb_digest_hex(chain_id));
	uint64_t bytes = 0;
	int r = cb_disk_usage_at(cb_store_root_fd(s), dir, &bytes);
	if (r < 0)
		return r;
	/* A cache: no fsync, and a failure to write it is no failure. The
	 * file's own block is counted in the next measurement, not this one;
	 * add it now so the number stays put. */
	char num[32];
	bytes += 4096;
	snprintf(num, sizeof(num), "%" PRIu64 "\n", bytes);
	_cleanup_close_ int fd = openat(cb_store_root_fd(s), rel,
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		(void)cb_write_all(fd, num, strlen(num));
	*ret = bytes;
	return 0;
}

struct layer_use {
	char hex[CB_DIGEST_HEX_LEN + 1];
	uint64_t bytes;
	bool used;
};

static int cmp_use(const void *a, const void *b)
{
	return strcmp(((const struct layer_use *)a)->hex, ((const struct layer_use *)b)->hex);
}

static struct layer_use *find_use(struct layer_use *v, size_t n, const char *chain_id)
{
	struct layer_use key;
	snprintf(key.hex, sizeof(key.hex), "%s", cb_digest_hex(chain_id));
	return n ? bsearch(&key, v, n, sizeof(*v), cmp_use) : NULL;
}

int cb_store_df(struct cb_store *s, struct cb_df *ret, struct cb_error *err)
{
	struct cb_df df = {0};
	/* Every layer in the store. */
	int fd = openat(cb_store_root_fd(s), "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cb_error_errno(err, errno, "layers");
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	_cleanup_free_ struct layer_use *uses = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != CB_DIGEST_HEX_LEN)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct layer_use *v = realloc(uses, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			uses = v;
		}
		memset(&uses[n], 0, sizeof(uses[n]));
		memcpy(uses[n].hex, de->d_name, CB_DIGEST_HEX_LEN + 1);
		char chain[CB_DIGEST_SIZE];
		snprintf(chain, sizeof(chain), "sha256:%s", de->d_name);
		if (cb_layer_disk_usage(s, chain, &uses[n].bytes) < 0)
			continue; /* vanished under us (gc): skip */
		df.layers_bytes += uses[n].bytes;
		n++;
	}
	df.layers = n;
	if (n)
		qsort(uses, n, sizeof(*uses), cmp_use);

	struct cb_image **imgs = NULL;
	size_t n_imgs = 0;
	int r = cb_images_list(s, &imgs, &n_imgs, err);
	if (r < 0)
		return r;
	df.images = n_imgs;
	for (size_t i = 0; i < n_imgs; i++)
		for (size_t k = 0; k < imgs[i]->n_layers; k++) {
			struct layer_use *u = find_use(uses, n, imgs[i]->layers[k].chain_id);
			if (u) {
				u->used = true;
				df.images_bytes += u->bytes;
			}
		}
	cb_images_list_free(imgs, n_imgs);

	_cleanup_strv_ char **ids = NULL;
	r = cb_container_list(s, &ids, &df.containers);
	if (r < 0)
		return cb_error_errno(err, r, "containers");
	for (char **id = ids; *id; id++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "containers/%s", *id);
		uint64_t bytes = 0;
		if (cb_disk_usage_at(cb_store_root_fd(s), rel, &bytes) >= 0)
			df.containers_bytes += bytes;
		if (cb_container_is_mounted(s, *id))
			df.containers_mounted++;
		/* Its layers are in use even when its image is gone. */
		struct cb_container *c = NULL;
		if (cb_container_get(s, *id, &c, NULL) >= 0) {
			for (size_t k = 0; k < c->n_layers; k++) {
				struct layer_use *u = find_use(uses, n, c->layers[k]);
				if (u)
					u->used = true;
			}
			cb_container_free(c);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!uses[i].used) {
			df.layers_unused++;
			df.layers_unused_bytes += uses[i].bytes;
		}
	*ret = df;
	return 0;
}
