#include "import.h"
#include "decompress.h"
#include "fsutil.h"
#include "images.h"
#include "macro.h"
#include "manifest.h"
#include "reference.h"
#include "source.h"
#include "store.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_json_ _cleanup_(json_decrefp)
#define MAX_INDEX_DEPTH 4

/* One layer to unpack, shared by every image of the input that has it. */
struct layer_job {
	char *path; /* entry in the source */
	char *what; /* for messages */
	char digest[CB_DIGEST_SIZE]; /* "" when the input gives none (docker-save) */
	int64_t size;		     /* from the manifest, or -1 */
	char diff_id[CB_DIGEST_SIZE];
	char parent_chain[CB_DIGEST_SIZE]; /* "" for a bottom layer */
	char chain_id[CB_DIGEST_SIZE];
	enum cb_compression compression;
	const char *media_type; /* static */
	struct cb_layer_info info;
	bool done;
};

/* One image found in the input. */
struct pending_image {
	char *manifest; /* NULL: synthesize */
	size_t manifest_len;
	char *config;
	size_t config_len;
	size_t n_layers;
	size_t *layer_jobs; /* indexes into jobs */
	char **names;
};

struct importer {
	struct cb_store *store;
	const struct cb_import_options *opts;
	struct cb_source *src;
	struct cb_platform want;
	struct layer_job *jobs;
	size_t n_jobs, cap_jobs;
	struct pending_image *images;
	size_t n_images, cap_images;
	/* workers */
	pthread_mutex_t lock;
	size_t next_job;
	volatile bool cancel;
	struct cb_error first_err;
	int first_r;
};

void cb_import_result_release(struct cb_import_result *r)
{
	for (size_t i = 0; i < r->n_images; i++)
		strv_free(r->images[i].names);
	free(r->images);
	memset(r, 0, sizeof(*r));
}

int cb_import_normalize_name(const char *name, char **ret, struct cb_error *err)
{
	struct cb_reference ref;
	int r = cb_reference_parse(name, &ref, err);
	if (r < 0)
		return r;
	char buf[1024];
	if (cb_reference_format(&ref, buf, sizeof(buf)) < 0)
		return cb_error_set(err, ENAMETOOLONG, "%s: name too long", name);
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

static int strv_push(char ***v, const char *s)
{
	size_t n = 0;
	while (*v && (*v)[n])
		n++;
	for (size_t i = 0; i < n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	char **nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	nv[n] = strdup(s);
	nv[n + 1] = NULL;
	*v = nv;
	return nv[n] ? 0 : -ENOMEM;
}

/* Add a layer job (or find the one with the same chain). */
static int add_job(struct importer *im, const char *path, const char *digest, int64_t size,
		   const char *diff_id, const char *parent_chain, enum cb_compression compression,
		   const char *media_type, size_t *ret_index)
{
	char chain[CB_DIGEST_SIZE];
	cb_chain_id(parent_chain[0] ? parent_chain : NULL, diff_id, chain);
	for (size_t i = 0; i < im->n_jobs; i++)
		if (strcmp(im->jobs[i].chain_id, chain) == 0) {
			*ret_index = i;
			return 0;
		}
	if (im->n_jobs == im->cap_jobs) {
		size_t cap = im->cap_jobs ? im->cap_jobs * 2 : 16;
		struct layer_job *n = realloc(im->jobs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		im->jobs = n;
		im->cap_jobs = cap;
	}
	struct layer_job *j = &im->jobs[im->n_jobs];
	memset(j, 0, sizeof(*j));
	j->path = strdup(path);
	if (!j->path || asprintf(&j->what, "layer %s", digest ? digest : path) < 0)
		return -ENOMEM;
	snprintf(j->digest, sizeof(j->digest), "%s", digest ? digest : "");
	j->size = size;
	strcpy(j->diff_id, diff_id);
	strcpy(j->parent_chain, parent_chain);
	strcpy(j->chain_id, chain);
	j->compression = compression;
	j->media_type = media_type;
	*ret_index = im->n_jobs++;
	return 0;
}

static struct pending_image *add_image(struct importer *im)
{
	if (im->n_images == im->cap_images) {
		size_t cap = im->cap_images ? im->cap_images * 2 : 4;
		struct pending_image *n = realloc(im->images, cap * sizeof(*n));
		if (!n)
			return NULL;
		im->images = n;
		im->cap_images = cap;
	}
	struct pending_image *p = &im->images[im->n_images++];
	memset(p, 0, sizeof(*p));
	return p;
}

/* Read config, check it against the layer list, and queue the layers. */
static int queue_image_layers(struct importer *im, struct pending_image *img,
			      const struct cb_image_config *cfg, size_t n_layers,
			      const char *const *paths, const char *const *digests,
			      const int64_t *sizes, const enum cb_compression *comps, const char *const *media_types,
			      struct cb_error *err)
{
	if (cfg->n_diff_ids != n_layers)
		return cb_error_set(err, EBADMSG,
				    "config lists %zu diff IDs but the manifest %zu layers",
				    cfg->n_diff_ids, n_layers);
	img->layer_jobs = calloc(n_layers + 1, sizeof(size_t));
	if (!img->layer_jobs)
		return -ENOMEM;
	char parent[CB_DIGEST_SIZE] = "";
	for (size_t i = 0; i < n_layers; i++) {
		size_t idx;
		int r = add_job(im, paths[i], digests ? digests[i] : NULL, sizes ? sizes[i] : -1,
				cfg->diff_ids[i], parent,
				comps[i], media_types[i], &idx);
		if (r < 0)
			return r;
		img->layer_jobs[i] = idx;
		img->n_layers++;
		strcpy(parent, im->jobs[idx].chain_id);
	}
	return 0;
}

static int add_name(struct pending_image *img, const char *name, struct cb_error *err)
{
	_cleanup_free_ char *norm = NULL;
	int r = cb_import_normalize_name(name, &norm, err);
	if (r < 0)
		return r;
	return strv_push(&img->names, norm);
}

/* docker save: manifest.json lists Config, RepoTags and Layers paths. */
static int scan_docker_save(struct importer *im, struct cb_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = cb_source_read(im->src, "manifest.json", CB_BLOB_MAX, &text, &len, err);
	if (r < 0)
		return r;
	json_error_t je;
	_cleanup_json_ json_t *j = json_loadb(text, len, 0, &je);
	if (!j)
		return cb_error_set(err, EBADMSG, "manifest.json: invalid JSON at line %d column %d: %s",
				    je.line, je.column, je.text);
	if (!json_is_array(j) || json_array_size(j) == 0)
		return cb_error_set(err, EBADMSG, "manifest.json: not a non-empty array");
	size_t i;
	json_t *entry;
	json_array_foreach(j, i, entry)
	{
		const char *config_path = NULL;
		json_t *tags = NULL, *layers = NULL;
		if (json_unpack(entry, "{s:s, s?o, s:o}", "Config", &config_path, "RepoTags", &tags,
				"Layers", &layers) < 0 ||
		    !json_is_array(layers))
			return cb_error_set(err, EBADMSG,
					    "manifest.json: [%zu]: needs Config and Layers", i);
		struct pending_image *img = add_image(im);
		if (!img)
			return -ENOMEM;
		r = cb_source_read(im->src, config_path, CB_BLOB_MAX, &img->config,
				   &img->config_len, err);
		if (r < 0)
			return r;
		struct cb_image_config cfg = {0};
		r = cb_config_parse(img->config, img->config_len, config_path, &cfg, err);
		if (r < 0)
			return r;
		size_t n = json_array_size(layers);
		const char **paths = calloc(n + 1, sizeof(char *));
		const char **digests = calloc(n + 1, sizeof(char *));
		char(*digest_buf)[CB_DIGEST_SIZE] = calloc(n + 1, CB_DIGEST_SIZE);
		enum cb_compression *comps = calloc(n + 1, sizeof(*comps));
		const char **mts = calloc(n + 1, sizeof(char *));
		if (!paths || !digests || !digest_buf || !comps || !mts)
			r = -ENOMEM;
		for (size_t k = 0; r >= 0 && k < n; k++) {
			json_t *p = json_array_get(layers, k);
			if (!json_is_string(p)) {
				r = cb_error_set(err, EBADMSG, "manifest.json: [%zu].Layers[%zu]: "
							       "not a string",
						 i, k);
				break;
			}
			paths[k] = json_string_value(p);
			/* Newer docker writes blobs/sha256/<hex>: that names a digest
			 * to check; the legacy <id>/layer.tar has only the diff ID. */
			const char *base = strrchr(paths[k], '/');
			if (strncmp(paths[k], "blobs/sha256/", 13) == 0 && base) {
				snprintf(digest_buf[k], CB_DIGEST_SIZE, "sha256:%s", base + 1);
				digests[k] = cb_digest_valid(digest_buf[k]) ? digest_buf[k] : NULL;
			}
			comps[k] = CB_COMPRESSION_AUTO;
		}
		if (r >= 0)
			r = queue_image_layers(im, img, &cfg, n, paths, digests, NULL, comps, mts,
					       err);
		cb_config_release(&cfg);
		free(paths);
		free(digests);
		free(digest_buf);
		free(comps);
		free(mts);
		if (r < 0)
			return r;
		size_t t;
		json_t *tag;
		json_array_foreach(tags, t, tag)
		{
			if (json_is_string(tag) &&
			    (r = add_name(img, json_string_value(tag), err)) < 0)
				return cb_error_prefix(err, "manifest.json: RepoTags");
		}
	}
	return 0;
}

static int read_blob(struct importer *im, const struct cb_descriptor *d, char **ret,
		     size_t *ret_len, struct cb_error *err)
{
	char path[128];
	snprintf(path, sizeof(path), "blobs/sha256/%s", cb_digest_hex(d->digest));
	if (!cb_source_has(im->src, path))
		return cb_error_set(err, ENOENT, "blob %s: missing from the archive", d->digest);
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = cb_source_read(im->src, path, CB_BLOB_MAX, &data, &len, err);
	if (r < 0)
		return r;
	char actual[CB_DIGEST_SIZE];
	cb_digest_of(data, len, actual);
	if (strcmp(actual, d->digest) != 0)
		return cb_error_set(err, EBADMSG, "blob %s: digest mismatch: expected %s, got %s",
				    d->digest, d->digest, actual);
	if (d->size >= 0 && (size_t)d->size != len)
		return cb_error_set(err, EBADMSG, "blob %s: size %zu, descriptor says %lld",
				    d->digest, len, (long long)d->size);
	*ret = TAKE_PTR(data);
	*ret_len = len;
	return 0;
}

static const char *media_type_for(enum cb_compression c);

static int scan_oci_manifest(struct importer *im, const struct cb_descriptor *d,
			     const char *name_hint, struct cb_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_blob(im, d, &text, &len, err);
	if (r < 0)
		return r;
	char what[96];
	snprintf(what, sizeof(what), "manifest %s", d->digest);
	struct cb_manifest m = {0};
	r = cb_manifest_parse(text, len, what, &m, err);
	if (r < 0)
		return r;
	struct pending_image *img = add_image(im);
	if (!img) {
		cb_manifest_release(&m);
		return -ENOMEM;
	}
	r = read_blob(im, &m.config, &img->config, &img->config_len, err);
	struct cb_image_config cfg = {0};
	if (r >= 0) {
		char cwhat[96];
		snprintf(cwhat, sizeof(cwhat), "config %s", m.config.digest);
		r = cb_config_parse(img->config, img->config_len, cwhat, &cfg, err);
	}
	if (r >= 0 && cfg.platform.os && !cb_platform_matches(&cfg.platform, &im->want))
		r = cb_error_set(err, ENOENT, "no manifest for this platform (%s/%s): the image is "
					      "%s/%s",
				 im->want.os, im->want.architecture, cfg.platform.os,
				 cfg.platform.architecture ? cfg.platform.architecture : "?");
	size_t n = m.n_layers;
	char(*paths)[128] = calloc(n + 1, 128);
	const char **pathv = calloc(n + 1, sizeof(char *));
	const char **digests = calloc(n + 1, sizeof(char *));
	enum cb_compression *comps = calloc(n + 1, sizeof(*comps));
	const char **mts = calloc(n + 1, sizeof(char *));
	int64_t *sizes = calloc(n + 1, sizeof(int64_t));
	if (r >= 0 && (!paths || !pathv || !digests || !comps || !mts || !sizes))
		r = -ENOMEM;
	for (size_t k = 0; r >= 0 && k < n; k++) {
		snprintf(paths[k], 128, "blobs/sha256/%s", cb_digest_hex(m.layers[k].digest));
		pathv[k] = paths[k];
		digests[k] = m.layers[k].digest;
		sizes[k] = m.layers[k].size;
		comps[k] = (enum cb_compression)cb_layer_media_type_compression(
			m.layers[k].media_type);
		mts[k] = media_type_for(comps[k]);
		if (!cb_source_has(im->src, paths[k]))
			r = cb_error_set(err, ENOENT, "layer %s: blob missing from the archive",
					 m.layers[k].digest);
	}
	if (r >= 0)
		r = queue_image_layers(im, img, &cfg, n, pathv, digests, sizes, comps, mts, err);
	if (r >= 0) {
		img->manifest = TAKE_PTR(text);
		img->manifest_len = len;
		if (name_hint)
			r = add_name(img, name_hint, err);
	}
	cb_config_release(&cfg);
	cb_manifest_release(&m);
	free(paths);
	free(pathv);
	free(digests);
	free(comps);
	free(mts);
	free(sizes);
	return r;
}

/* A name for an OCI layout entry: a full reference annotation wins; a bare
 * tag in ref.name becomes localhost/<file name>:<tag> (as podman does for
 * oci: references without a repository). */
static char *oci_name(const struct cb_descriptor *d, const char *path)
{
	char *name = NULL;
	if (d->image_name)
		return strdup(d->image_name);
	if (!d->ref_name)
		return NULL;
	if (strchr(d->ref_name, '/') || !cb_reference_valid_tag(d->ref_name))
		return strdup(d->ref_name);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char repo[256];
	snprintf(repo, sizeof(repo), "%s", strcmp(path, "-") == 0 ? "stdin" : base);
	for (char *c = repo; *c; c++) {
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
		else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			   *c == '_'))
			*c = *c == '.' ? '\0' : '-';
		if (!*c)
			break;
	}
	if (!repo[0])
		return NULL;
	if (asprintf(&name, "localhost/%s:%s", repo, d->ref_name) < 0)
		return NULL;
	return name;
}

static int scan_oci_index(struct importer *im, const char *json, size_t len, const char *what,
			  const char *path, int depth, const char *inherited_name,
			  struct cb_error *err);

static int scan_oci_descriptor(struct importer *im, const struct cb_descriptor *d,
			       const char *path, int depth, const char *name,
			       struct cb_error *err)
{
	if (cb_media_type_is_index(d->media_type)) {
		if (depth >= MAX_INDEX_DEPTH)
			return cb_error_set(err, ELOOP, "index %s: nested too deep", d->digest);
		_cleanup_free_ char *text = NULL;
		size_t len;
		int r = read_blob(im, d, &text, &len, err);
		if (r < 0)
			return r;
		char what[96];
		snprintf(what, sizeof(what), "index %s", d->digest);
		return scan_oci_index(im, text, len, what, path, depth + 1, name, err);
	}
	if (d->media_type && !cb_media_type_is_manifest(d->media_type))
		return cb_error_set(err, EPROTONOSUPPORT, "%s: unknown media type %s", d->digest,
				    d->media_type);
	return scan_oci_manifest(im, d, name, err);
}

static int scan_oci_index(struct importer *im, const char *json, size_t len, const char *what,
			  const char *path, int depth, const char *inherited_name,
			  struct cb_error *err)
{
	struct cb_index idx = {0};
	int r = cb_index_parse(json, len, what, &idx, err);
	if (r < 0)
		return r;
	if (idx.n_manifests == 0) {
		cb_index_release(&idx);
		return cb_error_set(err, ENOENT, "%s: lists no manifests", what);
	}
	/* Entries with a platform are alternatives: keep those for our
	 * platform (the best variant). Entries without one are images. */
	bool any_platform = false;
	for (size_t i = 0; i < idx.n_manifests; i++)
		any_platform |= idx.manifests[i].platform.os != NULL;
	if (any_platform) {
		int pick = cb_index_select(&idx, &im->want);
		if (pick < 0) {
			char have[512] = "";
			for (size_t i = 0; i < idx.n_manifests; i++) {
				const struct cb_platform *p = &idx.manifests[i].platform;
				size_t o = strlen(have);
				snprintf(have + o, sizeof(have) - o, "%s%s/%s%s%s", i ? ", " : "",
					 p->os ? p->os : "?", p->architecture ? p->architecture : "?",
					 p->variant ? "/" : "", p->variant ? p->variant : "");
			}
			r = cb_error_set(err, ENOENT,
					 "no manifest for this platform (%s/%s); the archive has %s",
					 im->want.os, im->want.architecture, have);
			cb_index_release(&idx);
			return r;
		}
		const struct cb_descriptor *d = &idx.manifests[pick];
		_cleanup_free_ char *name = oci_name(d, path);
		r = scan_oci_descriptor(im, d, path, depth, name ? name : inherited_name, err);
		cb_index_release(&idx);
		return r;
	}
	for (size_t i = 0; r >= 0 && i < idx.n_manifests; i++) {
		const struct cb_descriptor *d = &idx.manifests[i];
		_cleanup_free_ char *name = oci_name(d, path);
		r = scan_oci_descriptor(im, d, path, depth, name ? name : inherited_name, err);
	}
	cb_index_release(&idx);
	return r;
}

static int scan_oci_layout(struct importer *im, const char *path, struct cb_error *err)
{
	_cleanup_free_ char *layout = NULL;
	int r = cb_source_read(im->src, "oci-layout", 4096, &layout, NULL, err);
	if (r < 0)
		return r;
	json_t *lj = json_loads(layout, 0, NULL);
	const char *version = NULL;
	if (!lj || json_unpack(lj, "{s:s}", "imageLayoutVersion", &version) < 0) {
		json_decref(lj);
		return cb_error_set(err, EBADMSG, "oci-layout: invalid");
	}
	bool ok = strncmp(version, "1.", 2) == 0;
	json_decref(lj);
	if (!ok)
		return cb_error_set(err, EPROTONOSUPPORT, "oci-layout: unsupported version");
	_cleanup_free_ char *text = NULL;
	size_t len;
	r = cb_source_read(im->src, "index.json", CB_BLOB_MAX, &text, &len, err);
	if (r < 0)
		return r;
	return scan_oci_index(im, text, len, "index.json", path, 0, NULL, err);
}

struct push_ctx {
	struct cb_layer_writer *w;
};

static int push_to_writer(void *opaque, const void *buf, size_t len)
{
	struct push_ctx *c = opaque;
	return cb_layer_writer_write(c->w, buf, len);
}

static int unpack_job(struct importer *im, struct layer_job *j, struct cb_error *err)
{
	struct cb_layer_expect expect = {
		.digest = j->digest[0] ? j->digest : NULL,
		.size = j->size,
		.diff_id = j->diff_id,
		.parent_chain_id = j->parent_chain[0] ? j->parent_chain : NULL,
		.compression = j->compression,
		.media_type = j->media_type,
		.what = j->what,
		.cancel = &im->cancel,
	};
	struct cb_layer_writer *w = NULL;
	int r = cb_layer_writer_new(im->store, &expect, &im->opts->limits, &w, err);
	if (r < 0)
		return r;
	struct push_ctx ctx = {.w = w};
	r = cb_source_stream(im->src, j->path, push_to_writer, &ctx, &im->cancel, err);
	if (r < 0) {
		const struct cb_error *we = cb_layer_writer_error(w);
		if (we->code)
			cb_error_set(err, we->code, "%s", we->msg);
		cb_layer_writer_abort(w);
		return r;
	}
	return cb_layer_writer_finish(w, &j->info, err);
}

static void *worker(void *opaque)
{
	struct importer *im = opaque;
	for (;;) {
		pthread_mutex_lock(&im->lock);
		size_t i = im->next_job++;
		bool stop = im->cancel;
		pthread_mutex_unlock(&im->lock);
		if (stop || i >= im->n_jobs)
			return NULL;
		struct layer_job *j = &im->jobs[i];
		if (cb_store_has_layer(im->store, j->chain_id)) {
			j->done = true;
			j->info.existed = true;
			continue;
		}
		struct cb_error err = {0};
		int r = unpack_job(im, j, &err);
		pthread_mutex_lock(&im->lock);
		if (r < 0 && r != -ECANCELED && im->first_r == 0) {
			im->first_r = r;
			im->first_err = err;
			im->cancel = true;
		}
		if (r >= 0)
			j->done = true;
		pthread_mutex_unlock(&im->lock);
	}
}

static unsigned worker_count(const struct importer *im)
{
	unsigned n = im->opts->parallel;
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		n = cpus < 2 ? 2 : (unsigned)MIN(cpus, 8);
	}
	return (unsigned)MIN((size_t)n, MAX(im->n_jobs, (size_t)1));
}

static int run_jobs(struct importer *im, struct cb_error *err)
{
	unsigned n = worker_count(im);
	pthread_t threads[8];
	unsigned started = 0;
	for (; started < n && started < ELEMENTSOF(threads); started++)
		if (pthread_create(&threads[started], NULL, worker, im) != 0)
			break;
	if (started == 0)
		worker(im);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (im->first_r < 0)
		return cb_error_set(err, im->first_err.code, "%s", im->first_err.msg);
	return 0;
}

/* The manifest docker-save and rootfs inputs lack, made from what the
 * layer writer measured. */
static int synthesize_manifest(const char *config, size_t config_len,
			       const struct cb_record_layer *layers, size_t n, char **ret,
			       size_t *ret_len)
{
	char config_digest[CB_DIGEST_SIZE];
	cb_digest_of(config, config_len, config_digest);
	json_t *ls = json_array();
	for (size_t i = 0; ls && i < n; i++)
		json_array_append_new(ls, json_pack("{s:s, s:s, s:I}", "mediaType",
						    layers[i].media_type, "digest",
						    layers[i].info.digest, "size",
						    (json_int_t)layers[i].info.compressed_size));
	_cleanup_json_ json_t *m =
		json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
			  CB_MT_OCI_MANIFEST, "config", "mediaType", CB_MT_OCI_CONFIG, "digest",
			  config_digest, "size", (json_int_t)config_len, "layers", ls);
	if (!m)
		return -ENOMEM;
	char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	*ret = text;
	*ret_len = strlen(text);
	return 0;
}

static const char *media_type_for(enum cb_compression c)
{
	switch (c) {
	case CB_COMPRESSION_GZIP:
		return CB_MT_OCI_LAYER_GZIP;
	case CB_COMPRESSION_ZSTD:
		return CB_MT_OCI_LAYER_ZSTD;
	default:
		return CB_MT_OCI_LAYER;
	}
}

int cb_import_record(struct cb_store *s, const char *manifest, size_t manifest_len,
		     const char *config, size_t config_len, const struct cb_record_layer *layers,
		     size_t n_layers, char *const *names, char ret_id[CB_DIGEST_SIZE],
		     struct cb_error *err)
{
	_cleanup_free_ char *made = NULL;
	int r;
	if (!manifest) {
		r = synthesize_manifest(config, config_len, layers, n_layers, &made,
					&manifest_len);
		if (r < 0)
			return r;
		manifest = made;
	}
	struct cb_image img = {0};
	cb_digest_of(config, config_len, img.id);
	cb_digest_of(manifest, manifest_len, img.manifest_digest);
	/* Which manifest type it is matters to save; docker's or OCI's. */
	json_t *mj = json_loadb(manifest, manifest_len, 0, NULL);
	const char *mt = mj ? json_string_value(json_object_get(mj, "mediaType")) : NULL;
	img.manifest_media_type = (char *)(mt ? mt : CB_MT_OCI_MANIFEST);
	img.n_layers = n_layers;
	img.layers = calloc(n_layers + 1, sizeof(*img.layers));
	img.added = (int64_t)time(NULL);
	r = img.layers ? 0 : -ENOMEM;
	for (size_t i = 0; r >= 0 && i < n_layers; i++) {
		struct cb_image_layer *l = &img.layers[i];
		strcpy(l->chain_id, layers[i].info.chain_id);
		strcpy(l->diff_id, layers[i].info.diff_id);
		strcpy(l->digest, layers[i].info.digest);
		l->media_type = (char *)layers[i].media_type;
		l->size = (int64_t)layers[i].info.compressed_size;
		if (!cb_store_has_layer(s, l->chain_id))
			r = cb_error_set(err, ENOENT, "layer %s: not in the store", l->chain_id);
	}
	if (r >= 0)
		r = cb_store_put_blob(s, img.id, config, config_len, err);
	if (r >= 0)
		r = cb_store_put_blob(s, img.manifest_digest, manifest, manifest_len, err);
	if (r >= 0)
		r = cb_images_put(s, &img, names, err);
	if (r >= 0 && ret_id)
		strcpy(ret_id, img.id);
	free(img.layers);
	json_decref(mj);
	return r;
}

static int record_images(struct importer *im, struct cb_import_result *res,
			 struct cb_error *err)
{
	res->images = calloc(im->n_images + 1, sizeof(*res->images));
	if (!res->images)
		return -ENOMEM;
	for (size_t i = 0; i < im->n_images; i++) {
		struct pending_image *p = &im->images[i];
		struct cb_record_layer *layers = calloc(p->n_layers + 1, sizeof(*layers));
		if (!layers)
			return -ENOMEM;
		for (size_t k = 0; k < p->n_layers; k++) {
			struct layer_job *j = &im->jobs[p->layer_jobs[k]];
			layers[k].info = j->info;
			if (j->info.existed && !j->info.digest[0]) {
				/* Reused without reading: the blob digest is what the
				 * input said (or, for docker-save, the diff ID). */
				strcpy(layers[k].info.digest, j->digest[0] ? j->digest : j->diff_id);
				strcpy(layers[k].info.diff_id, j->diff_id);
				strcpy(layers[k].info.chain_id, j->chain_id);
				if (j->digest[0] && j->size > 0)
					layers[k].info.compressed_size = (uint64_t)j->size;
				else
					cb_layer_tar_size(im->store, j->chain_id,
							  &layers[k].info.compressed_size);
			}
			/* Reused docker-save layers were not read: describe them
			 * as the uncompressed tar their diff ID names. */
			layers[k].media_type =
				j->media_type			      ? j->media_type
				: j->info.existed && !j->digest[0] ? CB_MT_OCI_LAYER
								   : media_type_for(j->info.compression);
		}
		int r = cb_import_record(im->store, p->manifest, p->manifest_len, p->config,
					 p->config_len, layers, p->n_layers, p->names,
					 res->images[i].id, err);
		free(layers);
		if (r < 0)
			return r;
		res->images[i].names = TAKE_PTR(p->names);
		res->n_images++;
	}
	for (size_t j = 0; j < im->n_jobs; j++) {
		if (im->jobs[j].info.existed)
			res->layers_reused++;
		else
			res->layers_unpacked++;
	}
	return 0;
}

static void importer_release(struct importer *im)
{
	for (size_t i = 0; i < im->n_jobs; i++) {
		free(im->jobs[i].path);
		free(im->jobs[i].what);
	}
	free(im->jobs);
	for (size_t i = 0; i < im->n_images; i++) {
		free(im->images[i].manifest);
		free(im->images[i].config);
		free(im->images[i].layer_jobs);
		strv_free(im->images[i].names);
	}
	free(im->images);
	cb_source_free(im->src);
	cb_platform_release(&im->want);
	pthread_mutex_destroy(&im->lock);
}

static char *rfc3339_now(void)
{
	char buf[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return strdup(buf);
}

/* A rootfs tar is one layer; its config is made here. */
static int import_rootfs(struct cb_store *s, const char *path, const struct cb_import_options *o,
			 struct cb_import_result *res, struct cb_error *err)
{
	_cleanup_free_ char *name = NULL;
	int r = cb_import_normalize_name(o->name, &name, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = strcmp(path, "-") == 0 ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)
							 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cb_error_errno(err, errno, "open");
	struct cb_layer_expect expect = {.compression = CB_COMPRESSION_AUTO, .what = "rootfs"};
	struct cb_layer_writer *w = NULL;
	r = cb_layer_writer_new(s, &expect, &o->limits, &w, err);
	if (r < 0)
		return r;
	_cleanup_free_ uint8_t *buf = malloc(1 << 20);
	if (!buf) {
		cb_layer_writer_abort(w);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cb_layer_writer_abort(w);
			return cb_error_errno(err, errno, "read");
		}
		if (n == 0)
			break;
		r = cb_layer_writer_write(w, buf, (size_t)n);
		if (r < 0) {
			const struct cb_error *we = cb_layer_writer_error(w);
			cb_error_set(err, we->code ? we->code : -r, "%s",
				     we->code ? we->msg : "write");
			cb_layer_writer_abort(w);
			return r;
		}
	}
	struct cb_record_layer layer = {0};
	r = cb_layer_writer_finish(w, &layer.info, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *created = rfc3339_now();
	struct cb_platform host = {0};
	cb_platform_host(&host);
	json_t *cfg = json_pack(
		"{s:s, s:s, s:s?, s:s, s:{s:[s]}, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "architecture",
		host.architecture, "os", host.os, "variant", host.variant, "created", created,
		"config", "Env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"rootfs", "type", "layers", "diff_ids", layer.info.diff_id, "history", "created",
		created, "created_by", "cowbox import --rootfs");
	cb_platform_release(&host);
	if (!cfg)
		return -ENOMEM;
	_cleanup_free_ char *config = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cfg);
	if (!config)
		return -ENOMEM;
	layer.media_type = media_type_for(layer.info.compression);
	char *names[] = {name, NULL};
	res->images = calloc(2, sizeof(*res->images));
	if (!res->images)
		return -ENOMEM;
	r = cb_import_record(s, NULL, 0, config, strlen(config), &layer, 1, names,
			     res->images[0].id, err);
	if (r < 0)
		return r;
	res->images[0].names = calloc(2, sizeof(char *));
	if (res->images[0].names)
		res->images[0].names[0] = TAKE_PTR(name);
	res->n_images = 1;
	if (layer.info.existed)
		res->layers_reused = 1;
	else
		res->layers_unpacked = 1;
	return 0;
}

int cb_import(struct cb_store *s, const char *path, const struct cb_import_options *opts,
	      struct cb_import_result *ret, struct cb_error *err)
{
	struct cb_import_result res = {0};
	int r = cb_store_hold(s);
	if (r < 0)
		return cb_error_errno(err, r, "lock the store");
	if (opts->rootfs) {
		if (!opts->name)
			r = cb_error_set(err, EINVAL, "--rootfs needs a NAME");
		else
			r = import_rootfs(s, path, opts, &res, err);
		cb_store_release(s);
		if (r < 0) {
			cb_import_result_release(&res);
			return r;
		}
		*ret = res;
		return 0;
	}
	struct importer im = {.store = s, .opts = opts};
	pthread_mutex_init(&im.lock, NULL);
	if (opts->platform) {
		if (cb_platform_parse(opts->platform, &im.want) < 0) {
			r = cb_error_set(err, EINVAL, "--platform %s: expected os/arch[/variant]",
					 opts->platform);
			goto out;
		}
	} else {
		cb_platform_host(&im.want);
	}
	r = cb_source_open(s, path, &im.src, err);
	if (r < 0)
		goto out;
	if (cb_source_has(im.src, "manifest.json"))
		r = scan_docker_save(&im, err);
	else if (cb_source_has(im.src, "index.json"))
		r = scan_oci_layout(&im, path, err);
	else
		r = cb_error_set(err, EBADMSG,
				 "not an image archive (no manifest.json or index.json); "
				 "a root filesystem tar needs --rootfs");
	if (r < 0)
		goto out;
	if (opts->name) {
		if (im.n_images != 1) {
			r = cb_error_set(err, EINVAL, "a NAME was given but the input holds %zu images",
					 im.n_images);
			goto out;
		}
		strv_free(im.images[0].names);
		im.images[0].names = NULL;
		r = add_name(&im.images[0], opts->name, err);
		if (r < 0)
			goto out;
	}
	r = run_jobs(&im, err);
	if (r >= 0)
		r = record_images(&im, &res, err);
out:
	importer_release(&im);
	cb_store_release(s);
	if (r < 0) {
		cb_import_result_release(&res);
		return r;
	}
	*ret = res;
	return 0;
}
