#include "commit.h"
#include "container.h"
#include "fsutil.h"
#include "images.h"
#include "import.h"
#include "macro.h"
#include "manifest.h"
#include "store.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define _cleanup_json_ _cleanup_(json_decrefp)
#define OUT_CHUNK      (256 * 1024)

struct cb_compressor {
	enum cb_compression kind;
	cb_diff_sink sink;
	void *ctx;
	ZSTD_CCtx *zstd;
	z_stream z;
	bool z_init;
	unsigned char *out;
};

void cb_compressor_free(struct cb_compressor *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->zstd);
	if (c->z_init)
		deflateEnd(&c->z);
	free(c->out);
	free(c);
}

int cb_compressor_new(enum cb_compression kind, cb_diff_sink sink, void *ctx,
		      struct cb_compressor **ret)
{
	struct cb_compressor *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->kind = kind == CB_COMPRESSION_AUTO ? CB_COMPRESSION_ZSTD : kind;
	c->sink = sink;
	c->ctx = ctx;
	c->out = malloc(OUT_CHUNK);
	if (!c->out)
		goto fail;
	if (c->kind == CB_COMPRESSION_ZSTD) {
		c->zstd = ZSTD_createCCtx();
		if (!c->zstd)
			goto fail;
		ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_compressionLevel, 3);
		ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_checksumFlag, 1);
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		/* Ignored (an error we do not need) by a libzstd without threads. */
		ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_nbWorkers, (int)MIN(MAX(n, 1), 16));
	} else if (c->kind == CB_COMPRESSION_GZIP) {
		if (deflateInit2(&c->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			goto fail;
		c->z_init = true;
	}
	*ret = c;
	return 0;
fail:
	cb_compressor_free(c);
	return -ENOMEM;
}

static int zstd_push(struct cb_compressor *c, const void *buf, size_t len, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = {buf, len, 0};
	for (;;) {
		ZSTD_outBuffer out = {c->out, OUT_CHUNK, 0};
		size_t left = ZSTD_compressStream2(c->zstd, &out, &in, end);
		if (ZSTD_isError(left))
			return -EIO;
		if (out.pos > 0) {
			int r = c->sink(c->ctx, c->out, out.pos);
			if (r < 0)
				return r;
		}
		if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static int gzip_push(struct cb_compressor *c, const void *buf, size_t len, int flush)
{
	c->z.next_in = (Bytef *)buf;
	c->z.avail_in = (uInt)len;
	for (;;) {
		c->z.next_out = c->out;
		c->z.avail_out = OUT_CHUNK;
		int zr = deflate(&c->z, flush);
		if (zr == Z_STREAM_ERROR)
			return -EIO;
		size_t have = OUT_CHUNK - c->z.avail_out;
		if (have > 0) {
			int r = c->sink(c->ctx, c->out, have);
			if (r < 0)
				return r;
		}
		if (flush == Z_FINISH ? zr == Z_STREAM_END : c->z.avail_in == 0 && c->z.avail_out > 0)
			return 0;
	}
}

int cb_compressor_write(struct cb_compressor *c, const void *buf, size_t len)
{
	switch (c->kind) {
	case CB_COMPRESSION_ZSTD:
		return zstd_push(c, buf, len, ZSTD_e_continue);
	case CB_COMPRESSION_GZIP:
		return gzip_push(c, buf, len, Z_NO_FLUSH);
	default:
		return c->sink(c->ctx, buf, len);
	}
}

int cb_compressor_finish(struct cb_compressor *c)
{
	int r = 0;
	if (c->kind == CB_COMPRESSION_ZSTD)
		r = zstd_push(c, NULL, 0, ZSTD_e_end);
	else if (c->kind == CB_COMPRESSION_GZIP)
		r = gzip_push(c, NULL, 0, Z_FINISH);
	cb_compressor_free(c);
	return r;
}

const char *cb_compression_media_type(enum cb_compression kind)
{
	switch (kind) {
	case CB_COMPRESSION_GZIP:
		return CB_MT_OCI_LAYER_GZIP;
	case CB_COMPRESSION_NONE:
		return CB_MT_OCI_LAYER;
	default:
		return CB_MT_OCI_LAYER_ZSTD;
	}
}

static int compress_sink(void *ctx, const void *buf, size_t len)
{
	return cb_compressor_write(ctx, buf, len);
}

static int writer_sink(void *ctx, const void *buf, size_t len)
{
	return cb_layer_writer_write(ctx, buf, len);
}

static void rfc3339_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The base config with the new diff ID and a history entry appended. */
static int make_config(const char *base, size_t base_len, const char *diff_id,
		       const struct cb_commit_options *o, char **ret, size_t *ret_len,
		       struct cb_error *err)
{
	json_error_t jerr;
	_cleanup_json_ json_t *j = json_loadb(base, base_len, 0, &jerr);
	if (!json_is_object(j))
		return cb_error_set(err, EBADMSG, "image config: %s", j ? "not an object" : jerr.text);
	char now[32];
	rfc3339_now(now);
	json_t *rootfs = json_object_get(j, "rootfs");
	if (!json_is_object(rootfs)) {
		rootfs = json_pack("{s:s, s:[]}", "type", "layers", "diff_ids");
		json_object_set_new(j, "rootfs", rootfs);
	}
	json_t *ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(ids)) {
		ids = json_array();
		json_object_set_new(rootfs, "diff_ids", ids);
	}
	json_array_append_new(ids, json_string(diff_id));
	json_t *hist = json_object_get(j, "history");
	if (!json_is_array(hist)) {
		hist = json_array();
		json_object_set_new(j, "history", hist);
	}
	json_t *h = json_pack("{s:s, s:s}", "created", now, "created_by", "cowbox commit");
	if (o->message)
		json_object_set_new(h, "comment", json_string(o->message));
	if (o->author) {
		json_object_set_new(h, "author", json_string(o->author));
		json_object_set_new(j, "author", json_string(o->author));
	}
	json_array_append_new(hist, h);
	json_object_set_new(j, "created", json_string(now));
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	*ret = text;
	*ret_len = strlen(text);
	return 0;
}

static const char *oci_media_type(const char *mt, enum cb_compression fallback)
{
	if (mt && strncmp(mt, "application/vnd.oci.image.layer.", 32) == 0)
		return mt;
	int c = mt ? cb_layer_media_type_compression(mt) : -1;
	return cb_compression_media_type(c >= 0 ? (enum cb_compression)c : fallback);
}

int cb_commit(struct cb_store *s, const char *id, const struct cb_commit_options *o,
	      char ret_id[CB_DIGEST_SIZE], struct cb_error *err)
{
	struct cb_container *c = NULL;
	struct cb_image *img = NULL;
	_cleanup_free_ char *config = NULL, *new_config = NULL;
	_cleanup_free_ struct cb_record_layer *layers = NULL;
	_cleanup_close_ int upper = -1;
	struct cb_layer_writer *w = NULL;
	struct cb_compressor *z = NULL;
	size_t config_len = 0, new_len = 0;
	bool held = false;
	enum cb_compression kind = o->compression == CB_COMPRESSION_AUTO ? CB_COMPRESSION_ZSTD
									 : o->compression;
	int r = cb_container_get(s, id, &c, err);
	if (r < 0)
		goto out;
	r = cb_images_get(s, c->image, &img, err);
	if (r < 0) {
		cb_error_clear(err);
		r = cb_error_set(err, ENOENT, "container %.12s: its image %.19s was removed", id,
				 c->image);
		goto out;
	}
	r = cb_store_get_blob(s, img->id, CB_BLOB_MAX, &config, &config_len, err);
	if (r < 0)
		goto out;
	r = upper = cb_container_open_upper(s, c, err);
	if (r < 0)
		goto out;
	r = cb_store_hold(s);
	if (r < 0) {
		cb_error_errno(err, r, "store gc.lock");
		goto out;
	}
	held = true;
	char what[64];
	snprintf(what, sizeof(what), "commit of container %.12s", id);
	struct cb_layer_expect expect = {
		.parent_chain_id = img->layers[img->n_layers - 1].chain_id,
		.compression = kind,
		.media_type = cb_compression_media_type(kind),
		.what = what,
	};
	r = cb_layer_writer_new(s, &expect, NULL, &w, err);
	if (r < 0)
		goto out;
	r = cb_compressor_new(kind, writer_sink, w, &z);
	if (r < 0)
		goto out;
	r = cb_diff_write_tar(upper, compress_sink, z, err);
	if (r >= 0) {
		r = cb_compressor_finish(z);
		z = NULL;
	}
	if (r < 0) {
		const struct cb_error *we = cb_layer_writer_error(w);
		if (we && we->code && err && !err->code)
			*err = *we;
		cb_error_ensure(err, r, "%s", what);
		goto out;
	}
	struct cb_layer_info info;
	r = cb_layer_writer_finish(w, &info, err);
	w = NULL;
	if (r < 0)
		goto out;
	r = make_config(config, config_len, info.diff_id, o, &new_config, &new_len, err);
	if (r < 0)
		goto out;
	layers = calloc(img->n_layers + 1, sizeof(*layers));
	if (!layers) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < img->n_layers; i++) {
		struct cb_image_layer *l = &img->layers[i];
		strcpy(layers[i].info.chain_id, l->chain_id);
		strcpy(layers[i].info.diff_id, l->diff_id);
		strcpy(layers[i].info.digest, l->digest[0] ? l->digest : l->diff_id);
		layers[i].info.compressed_size = (uint64_t)(l->size > 0 ? l->size : 0);
		layers[i].media_type = oci_media_type(l->media_type, CB_COMPRESSION_GZIP);
	}
	layers[img->n_layers].info = info;
	layers[img->n_layers].media_type = cb_compression_media_type(kind);
	char *names[2] = {(char *)o->name, NULL};
	r = cb_import_record(s, NULL, 0, new_config, new_len, layers, img->n_layers + 1,
			     o->name ? names : (char *[]){NULL}, ret_id, err);
out:
	cb_compressor_free(z);
	cb_layer_writer_abort(w);
	if (held)
		cb_store_release(s);
	cb_image_free(img);
	cb_container_free(c);
	return r;
}
