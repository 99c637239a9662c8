#include "pull.h"
#include "import.h"
#include "layer.h"
#include "macro.h"
#include "manifest.h"
#include "reference.h"
#include "registry.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INDEX_DEPTH 4

struct pull_layer {
	struct cb_store *store;
	const struct cb_descriptor *desc;
	char diff_id[CB_DIGEST_SIZE];
	char parent_chain[CB_DIGEST_SIZE]; /* "" for the bottom layer */
	char chain_id[CB_DIGEST_SIZE];
	enum cb_compression compression;
	char what[700];
	const volatile bool *cancel;
	struct cb_layer_writer *w; /* while downloading */
	struct cb_layer_info info;
	bool existed; /* in the store before the pull */
	bool done;
};

static void release_platform(struct cb_platform *p)
{
	cb_platform_release(p);
}

static int layer_open(struct pull_layer *l, struct cb_error *err)
{
	struct cb_layer_expect expect = {
	    .digest = l->desc->digest,
	    .diff_id = l->diff_id,
	    .parent_chain_id = l->parent_chain[0] ? l->parent_chain : NULL,
	    .compression = l->compression,
	    .media_type = l->desc->media_type,
	    .what = l->what,
	    .cancel = l->cancel,
	};
	return cb_layer_writer_new(l->store, &expect, NULL, &l->w, err);
}

static int layer_write(void *userdata, const void *buf, size_t len, struct cb_error *err)
{
	struct pull_layer *l = userdata;
	int r;
	if (!l->w && (r = layer_open(l, err)) < 0)
		return r;
	r = cb_layer_writer_write(l->w, buf, len);
	if (r < 0) {
		const struct cb_error *we = cb_layer_writer_error(l->w);
		if (we && we->code)
			cb_error_set(err, we->code, "%s", we->msg);
		else
			cb_error_errno(err, r, "%s", l->what);
	}
	return r;
}

/* The registry ignored Range: start the layer again. */
static int layer_restart(void *userdata, struct cb_error *err)
{
	struct pull_layer *l = userdata;
	cb_layer_writer_abort(l->w);
	l->w = NULL;
	return 0;
}

static int layer_finish(void *userdata, struct cb_error *err)
{
	struct pull_layer *l = userdata;
	int r;
	if (!l->w && (r = layer_open(l, err)) < 0)
		return r;
	r = cb_layer_writer_finish(TAKE_PTR(l->w), &l->info, err);
	if (r < 0)
		return cb_error_ensure(err, r, "%s", l->what);
	l->done = true;
	return 0;
}

struct progress_ctx {
	const struct cb_pull_options *opts;
	struct pull_layer *layers;
	size_t n_layers;
	size_t *fetch_to_layer;
};

static void report(const struct progress_ctx *pc, size_t i, enum cb_pull_layer_state state,
		   uint64_t received)
{
	if (!pc->opts->progress)
		return;
	struct cb_pull_progress p = {
	    .index = i,
	    .n_layers = pc->n_layers,
	    .digest = pc->layers[i].desc->digest,
	    .state = state,
	    .received = received,
	    .size = pc->layers[i].desc->size > 0 ? (uint64_t)pc->layers[i].desc->size : 0,
	};
	pc->opts->progress(pc->opts->progress_userdata, &p);
}

static void on_fetch_progress(void *userdata, size_t index, enum cb_fetch_state state,
			      uint64_t received, uint64_t size)
{
	const struct progress_ctx *pc = userdata;
	static const enum cb_pull_layer_state map[] = {
	    [CB_FETCH_WAITING] = CB_PULL_LAYER_WAITING,
	    [CB_FETCH_DOWNLOADING] = CB_PULL_LAYER_DOWNLOADING,
	    [CB_FETCH_RETRYING] = CB_PULL_LAYER_RETRYING,
	    [CB_FETCH_DONE] = CB_PULL_LAYER_DONE,
	    [CB_FETCH_FAILED] = CB_PULL_LAYER_FAILED,
	};
	report(pc, pc->fetch_to_layer[index], map[state], received);
}

/* Fetch reference's manifest, following indexes (nested ones too) to the
 * one for want. */
static int resolve_manifest(struct cb_registry *reg, const char *name, const char *reference,
			    const struct cb_platform *want, char **ret_manifest, size_t *ret_len,
			    char ret_digest[CB_DIGEST_SIZE], struct cb_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	char digest[CB_DIGEST_SIZE];
	char ref[CB_DIGEST_SIZE + 130];
	snprintf(ref, sizeof(ref), "%s", reference);
	for (int depth = 0;; depth++) {
		free(TAKE_PTR(data));
		int r = cb_registry_get_manifest(reg, ref, &data, &len, NULL, digest, err);
		if (r < 0)
			return r;
		enum cb_doc_kind kind;
		char what[800];
		snprintf(what, sizeof(what), "%s manifest %s", name, digest);
		if ((r = cb_doc_kind(data, len, what, &kind, err)) < 0)
			return r;
		if (kind == CB_DOC_MANIFEST) {
			*ret_manifest = TAKE_PTR(data);
			*ret_len = len;
			memcpy(ret_digest, digest, CB_DIGEST_SIZE);
			return 0;
		}
		if (kind != CB_DOC_INDEX)
			return cb_error_set(err, EPROTONOSUPPORT,
					    "%s: neither a manifest nor an index", what);
		if (depth >= MAX_INDEX_DEPTH)
			return cb_error_set(err, ELOOP, "%s: indexes nested deeper than %d", what,
					    MAX_INDEX_DEPTH);
		struct cb_index idx = {0};
		if ((r = cb_index_parse(data, len, what, &idx, err)) < 0)
			return r;
		r = cb_index_select(&idx, want);
		if (r < 0) {
			char have[512] = "";
			size_t used = 0;
			for (size_t i = 0; i < idx.n_manifests && used < sizeof(have) - 1; i++) {
				const struct cb_platform *p = &idx.manifests[i].platform;
				if (!p->os)
					continue;
				used +=
				    snprintf(have + used, sizeof(have) - used, "%s%s/%s%s%s",
					     used ? ", " : "", p->os,
					     p->architecture ? p->architecture : "?",
					     p->variant ? "/" : "", p->variant ? p->variant : "");
			}
			cb_index_release(&idx);
			return cb_error_set(
			    err, ENOENT, "%s: no manifest for %s/%s%s%s (it has %s)", name,
			    want->os, want->architecture, want->variant ? "/" : "",
			    want->variant ? want->variant : "", have[0] ? have : "none");
		}
		snprintf(ref, sizeof(ref), "%s", idx.manifests[r].digest);
		cb_index_release(&idx);
	}
}

int cb_pull(struct cb_store *s, const char *reference, const struct cb_pull_options *opts,
	    struct cb_pull_result *ret, struct cb_error *err)
{
	static const struct cb_pull_options no_options = {0};
	if (!opts)
		opts = &no_options;
	struct cb_reference ref;
	int r = cb_reference_parse(reference, &ref, err);
	if (r < 0)
		return r;
	struct cb_pull_result res = {0};
	cb_reference_format(&ref, res.name, sizeof(res.name));

	_cleanup_(release_platform) struct cb_platform want = {0};
	if (opts->platform) {
		if (cb_platform_parse(opts->platform, &want) < 0)
			return cb_error_set(err, EINVAL,
					    "--platform %s: expected os/arch[/variant]",
					    opts->platform);
	} else {
		cb_platform_host(&want);
	}
	if (!want.os || !want.architecture)
		return -ENOMEM;

	struct cb_registry_options ro = {
	    .tls_verify = opts->tls_verify,
	    .max_recv_speed = opts->max_recv_speed,
	};
	struct cb_registry *reg = NULL;
	if ((r = cb_registry_new(ref.domain, ref.path, &ro, &reg, err)) < 0)
		return r;

	_cleanup_free_ char *manifest_text = NULL, *config_text = NULL;
	_cleanup_free_ struct pull_layer *layers = NULL;
	_cleanup_free_ struct cb_blob_fetch *fetches = NULL;
	_cleanup_free_ size_t *fetch_to_layer = NULL;
	_cleanup_free_ struct cb_record_layer *records = NULL;
	struct cb_manifest m = {0};
	struct cb_image_config config = {0};
	size_t manifest_len = 0, config_len = 0;
	volatile bool cancel = false;
	bool held = false;

	r = resolve_manifest(reg, res.name, ref.digest[0] ? ref.digest : ref.tag, &want,
			     &manifest_text, &manifest_len, res.manifest_digest, err);
	if (r < 0)
		goto out;
	char what[800];
	snprintf(what, sizeof(what), "%s manifest %s", res.name, res.manifest_digest);
	if ((r = cb_manifest_parse(manifest_text, manifest_len, what, &m, err)) < 0)
		goto out;

	/* The config: from the store when an earlier pull or import left it. */
	if (cb_store_has_blob(s, m.config.digest))
		r = cb_store_get_blob(s, m.config.digest, CB_BLOB_MAX, &config_text, &config_len,
				      err);
	else
		r = cb_registry_get_blob(reg, m.config.digest, CB_BLOB_MAX, &config_text,
					 &config_len, err);
	if (r < 0)
		goto out;
	snprintf(what, sizeof(what), "%s config %s", res.name, m.config.digest);
	if ((r = cb_config_parse(config_text, config_len, what, &config, err)) < 0)
		goto out;
	if (config.n_diff_ids != m.n_layers) {
		r = cb_error_set(err, EBADMSG, "%s: %zu layers in the manifest, %zu diff IDs", what,
				 m.n_layers, config.n_diff_ids);
		goto out;
	}

	if ((r = cb_store_hold(s)) < 0) {
		r = cb_error_errno(err, r, "lock the store");
		goto out;
	}
	held = true;

	size_t n = m.n_layers;
	layers = calloc(n + 1, sizeof(*layers));
	fetches = calloc(n + 1, sizeof(*fetches));
	fetch_to_layer = calloc(n + 1, sizeof(*fetch_to_layer));
	records = calloc(n + 1, sizeof(*records));
	if (!layers || !fetches || !fetch_to_layer || !records) {
		r = -ENOMEM;
		goto out;
	}
	struct progress_ctx pc = {
	    .opts = opts, .layers = layers, .n_layers = n, .fetch_to_layer = fetch_to_layer};
	size_t n_fetch = 0;
	for (size_t i = 0; i < n; i++) {
		struct pull_layer *l = &layers[i];
		l->store = s;
		l->desc = &m.layers[i];
		l->cancel = &cancel;
		memcpy(l->diff_id, config.diff_ids[i], CB_DIGEST_SIZE);
		if (i > 0)
			memcpy(l->parent_chain, layers[i - 1].chain_id, CB_DIGEST_SIZE);
		if ((r = cb_chain_id(i ? l->parent_chain : NULL, l->diff_id, l->chain_id)) < 0)
			goto out;
		snprintf(l->what, sizeof(l->what), "%s/%s@%s", ref.domain, ref.path,
			 l->desc->digest);
		int c = cb_layer_media_type_compression(l->desc->media_type);
		if (c < 0) {
			r = cb_error_set(err, EPROTONOSUPPORT,
					 "%s: unsupported layer media type %s", l->what,
					 l->desc->media_type ? l->desc->media_type : "(none)");
			goto out;
		}
		l->compression = (enum cb_compression)c;
		if (cb_store_has_layer(s, l->chain_id)) {
			l->existed = l->done = true;
			report(&pc, i, CB_PULL_LAYER_EXISTS, 0);
			continue;
		}
		fetch_to_layer[n_fetch] = i;
		fetches[n_fetch++] = (struct cb_blob_fetch){
		    .digest = l->desc->digest,
		    .size = l->desc->size > 0 ? (uint64_t)l->desc->size : 0,
		    .write = layer_write,
		    .restart = layer_restart,
		    .finish = layer_finish,
		    .userdata = l,
		};
		report(&pc, i, CB_PULL_LAYER_WAITING, 0);
	}

	r = cb_registry_fetch_blobs(reg, fetches, n_fetch, opts->concurrency, on_fetch_progress,
				    &pc, &cancel, err);
	for (size_t k = 0; k < n_fetch; k++) {
		struct pull_layer *l = &layers[fetch_to_layer[k]];
		cb_layer_writer_abort(TAKE_PTR(l->w));
		res.bytes_fetched += fetches[k].received;
	}
	if (r < 0)
		goto out;

	for (size_t i = 0; i < n; i++) {
		struct pull_layer *l = &layers[i];
		struct cb_record_layer *rec = &records[i];
		if (l->existed) {
			/* Not read: describe it as the manifest does. */
			memcpy(rec->info.digest, l->desc->digest, CB_DIGEST_SIZE);
			memcpy(rec->info.diff_id, l->diff_id, CB_DIGEST_SIZE);
			memcpy(rec->info.chain_id, l->chain_id, CB_DIGEST_SIZE);
			rec->info.compressed_size = l->desc->size > 0 ? (uint64_t)l->desc->size : 0;
			rec->info.compression = l->compression;
			rec->info.existed = true;
			res.layers_reused++;
		} else {
			rec->info = l->info;
			res.layers_fetched++;
		}
		rec->media_type = l->desc->media_type;
	}
	res.n_layers = n;
	snprintf(res.scheme, sizeof(res.scheme), "%s", cb_registry_scheme(reg));
	char *names[] = {ref.tag[0] ? res.name : NULL, NULL};
	char tagged[600];
	if (ref.tag[0] && ref.digest[0]) {
		/* name:tag@digest records the name with its tag. */
		snprintf(tagged, sizeof(tagged), "%s/%s:%s", ref.domain, ref.path, ref.tag);
		names[0] = tagged;
	}
	r = cb_import_record(s, manifest_text, manifest_len, config_text, config_len, records, n,
			     names, res.id, err);
	if (r < 0)
		goto out;
	*ret = res;
	r = 0;
out:
	if (held)
		cb_store_release(s);
	cb_config_release(&config);
	cb_manifest_release(&m);
	cb_registry_free(reg);
	return r;
}
