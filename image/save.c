#include "save.h"
#include "commit.h"
#include "diff.h"
#include "digest.h"
#include "fsutil.h"
#include "images.h"
#include "macro.h"
#include "manifest.h"
#include "store.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

struct saved_layer {
	int fd; /* an unlinked temporary file holding the blob */
	char digest[CB_DIGEST_SIZE], diff_id[CB_DIGEST_SIZE];
	uint64_t size;
};

/* tar bytes -> diff ID hasher -> compressor -> blob hasher -> file */
struct layer_pipe {
	struct cb_hasher *tar_hash, *blob_hash;
	struct cb_compressor *z;
	int fd;
	uint64_t size;
};

static int blob_sink(void *ctx, const void *buf, size_t len)
{
	struct layer_pipe *p = ctx;
	cb_hasher_update(p->blob_hash, buf, len);
	p->size += len;
	return cb_write_all(p->fd, buf, len);
}

static int tar_sink(void *ctx, const void *buf, size_t len)
{
	struct layer_pipe *p = ctx;
	cb_hasher_update(p->tar_hash, buf, len);
	return cb_compressor_write(p->z, buf, len);
}

static int make_layer(struct cb_store *s, const char *chain_id, enum cb_compression kind,
		      struct saved_layer *out, struct cb_error *err)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "layers/%s/diff", cb_digest_hex(chain_id));
	_cleanup_close_ int dir =
		openat(cb_store_root_fd(s), rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return cb_error_errno(err, errno, "layer %s", chain_id);
	_cleanup_close_ int tmp = openat(cb_store_root_fd(s), "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tmp < 0)
		return cb_error_errno(err, errno, "layer %s: temporary file", chain_id);
	struct layer_pipe p = {.fd = tmp};
	p.tar_hash = cb_hasher_new();
	p.blob_hash = cb_hasher_new();
	int r = (p.tar_hash && p.blob_hash) ? cb_compressor_new(kind, blob_sink, &p, &p.z) : -ENOMEM;
	if (r >= 0) {
		r = cb_diff_write_tar(dir, tar_sink, &p, err);
		if (r >= 0)
			r = cb_compressor_finish(p.z);
		else
			cb_compressor_free(p.z);
		if (r < 0)
			cb_error_ensure(err, r, "layer %s", chain_id);
	}
	if (r >= 0) {
		cb_hasher_final(p.tar_hash, out->diff_id);
		cb_hasher_final(p.blob_hash, out->digest);
		out->size = p.size;
		out->fd = TAKE_FD(tmp);
	}
	cb_hasher_free(p.tar_hash);
	cb_hasher_free(p.blob_hash);
	return r;
}

static int add_bytes(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, 0, 0);
	int ok = archive_write_header(a, e) == ARCHIVE_OK &&
		 (len == 0 || archive_write_data(a, data, len) == (la_ssize_t)len);
	archive_entry_free(e);
	return ok ? 0 : -EIO;
}

static int add_dir(struct archive *a, const char *name)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_mtime(e, 0, 0);
	int ok = archive_write_header(a, e) == ARCHIVE_OK;
	archive_entry_free(e);
	return ok ? 0 : -EIO;
}

static int add_fd(struct archive *a, const char *name, int fd, uint64_t size)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, 0, 0);
	int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -EIO;
	archive_entry_free(e);
	static char buf[1 << 16];
	off_t off = 0;
	while (r >= 0 && (uint64_t)off < size) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if (archive_write_data(a, buf, (size_t)n) != n)
			return -EIO;
		off += n;
	}
	return r;
}

static char *dump(json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

int cb_save(struct cb_store *s, const char *id, const char *path, const struct cb_save_options *o,
	    struct cb_error *err)
{
	struct cb_image *img = NULL;
	struct saved_layer *layers = NULL;
	struct archive *a = NULL;
	_cleanup_free_ char *config = NULL, *tmp_path = NULL;
	_cleanup_free_ char *cfg_text = NULL, *man_text = NULL, *idx_text = NULL;
	size_t config_len = 0, n = 0;
	_cleanup_json_ json_t *cj = NULL;
	enum cb_compression kind = o->format == CB_SAVE_DOCKER	       ? CB_COMPRESSION_NONE
				   : o->compression == CB_COMPRESSION_AUTO ? CB_COMPRESSION_GZIP
									   : o->compression;
	int r = cb_images_get(s, id, &img, err);
	if (r < 0)
		goto out;
	r = cb_store_get_blob(s, img->id, CB_BLOB_MAX, &config, &config_len, err);
	if (r < 0)
		goto out;
	n = img->n_layers;
	layers = calloc(n + 1, sizeof(*layers));
	if (!layers) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		layers[i].fd = -1;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = make_layer(s, img->layers[i].chain_id, kind, &layers[i], err);
	if (r < 0)
		goto out;

	/* The config, with the diff IDs of the tars just made. */
	json_error_t jerr;
	cj = json_loadb(config, config_len, 0, &jerr);
	if (!json_is_object(cj)) {
		r = cb_error_set(err, EBADMSG, "image %.19s: config: %s", id, jerr.text);
		goto out;
	}
	json_t *ids = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_string(layers[i].diff_id));
	json_object_set_new(cj, "rootfs", json_pack("{s:s, s:o}", "type", "layers", "diff_ids", ids));
	if (!(cfg_text = dump(cj))) {
		r = -ENOMEM;
		goto out;
	}
	char cfg_digest[CB_DIGEST_SIZE], man_digest[CB_DIGEST_SIZE];
	cb_digest_of(cfg_text, strlen(cfg_text), cfg_digest);

	if (asprintf(&tmp_path, "%s.tmp-%d", path, (int)getpid()) < 0) {
		r = -ENOMEM;
		goto out;
	}
	a = archive_write_new();
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_filename(a, strcmp(path, "-") == 0 ? NULL : tmp_path) != ARCHIVE_OK) {
		r = cb_error_set(err, EIO, "%s: %s", path, a ? archive_error_string(a) : "no memory");
		goto out;
	}
	char name[256];
	if (o->format == CB_SAVE_OCI) {
		json_t *ls = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(ls, json_pack("{s:s, s:s, s:I}", "mediaType",
							    cb_compression_media_type(kind), "digest",
							    layers[i].digest, "size",
							    (json_int_t)layers[i].size));
		_cleanup_json_ json_t *mj = json_pack(
			"{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
			CB_MT_OCI_MANIFEST, "config", "mediaType", CB_MT_OCI_CONFIG, "digest",
			cfg_digest, "size", (json_int_t)strlen(cfg_text), "layers", ls);
		if (!(man_text = dump(mj))) {
			r = -ENOMEM;
			goto out;
		}
		cb_digest_of(man_text, strlen(man_text), man_digest);
		json_t *desc = json_pack("{s:s, s:s, s:I}", "mediaType", CB_MT_OCI_MANIFEST, "digest",
					 man_digest, "size", (json_int_t)strlen(man_text));
		if (o->name)
			json_object_set_new(desc, "annotations",
					    json_pack("{s:s, s:s}", CB_ANNOTATION_REF_NAME, o->name,
						      CB_ANNOTATION_IMAGE_NAME, o->name));
		_cleanup_json_ json_t *ij = json_pack("{s:i, s:s, s:[o]}", "schemaVersion", 2,
						      "mediaType", CB_MT_OCI_INDEX, "manifests", desc);
		if (!(idx_text = dump(ij))) {
			r = -ENOMEM;
			goto out;
		}
		static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
		r = add_bytes(a, "oci-layout", layout, strlen(layout));
		if (r >= 0)
			r = add_bytes(a, "index.json", idx_text, strlen(idx_text));
		if (r >= 0)
			r = add_dir(a, "blobs/");
		if (r >= 0)
			r = add_dir(a, "blobs/sha256/");
		snprintf(name, sizeof(name), "blobs/sha256/%s", cb_digest_hex(cfg_digest));
		if (r >= 0)
			r = add_bytes(a, name, cfg_text, strlen(cfg_text));
		snprintf(name, sizeof(name), "blobs/sha256/%s", cb_digest_hex(man_digest));
		if (r >= 0)
			r = add_bytes(a, name, man_text, strlen(man_text));
		for (size_t i = 0; i < n && r >= 0; i++) {
			bool dup = false; /* the same layer twice in one image */
			for (size_t k = 0; k < i; k++)
				dup = dup || strcmp(layers[k].digest, layers[i].digest) == 0;
			snprintf(name, sizeof(name), "blobs/sha256/%s", cb_digest_hex(layers[i].digest));
			if (!dup)
				r = add_fd(a, name, layers[i].fd, layers[i].size);
		}
	} else {
		json_t *ls = json_array();
		for (size_t i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "%s/layer.tar", cb_digest_hex(layers[i].diff_id));
			json_array_append_new(ls, json_string(name));
		}
		snprintf(name, sizeof(name), "%s.json", cb_digest_hex(cfg_digest));
		json_t *tags = json_array();
		if (o->name)
			json_array_append_new(tags, json_string(o->name));
		_cleanup_json_ json_t *mj = json_pack("[{s:s, s:o, s:o}]", "Config", name, "RepoTags",
						      tags, "Layers", ls);
		if (!(man_text = dump(mj))) {
			r = -ENOMEM;
			goto out;
		}
		r = add_bytes(a, name, cfg_text, strlen(cfg_text));
		for (size_t i = 0; i < n && r >= 0; i++) {
			bool dup = false;
			for (size_t k = 0; k < i; k++)
				dup = dup || strcmp(layers[k].diff_id, layers[i].diff_id) == 0;
			if (dup)
				continue;
			snprintf(name, sizeof(name), "%s/", cb_digest_hex(layers[i].diff_id));
			r = add_dir(a, name);
			snprintf(name, sizeof(name), "%s/layer.tar", cb_digest_hex(layers[i].diff_id));
			if (r >= 0)
				r = add_fd(a, name, layers[i].fd, layers[i].size);
		}
		if (r >= 0)
			r = add_bytes(a, "manifest.json", man_text, strlen(man_text));
	}
	if (r < 0 || archive_write_close(a) != ARCHIVE_OK) {
		r = cb_error_set(err, EIO, "%s: %s", path,
				 archive_error_string(a) ? archive_error_string(a) : strerror(-r));
		goto out;
	}
	if (strcmp(path, "-") != 0) {
		_cleanup_close_ int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0 || rename(tmp_path, path) < 0) {
			r = cb_error_errno(err, errno, "%s", path);
			goto out;
		}
	}
out:
	if (a)
		archive_write_free(a);
	if (r < 0 && tmp_path && strcmp(path, "-") != 0)
		unlink(tmp_path);
	for (size_t i = 0; layers && i < n; i++)
		if (layers[i].fd >= 0)
			close(layers[i].fd);
	free(layers);
	cb_image_free(img);
	return r;
}
