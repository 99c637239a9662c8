#include "manifest.h"
#include "layer.h"
#include "macro.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/utsname.h>

/* jansson.h provides json_decrefp for json_auto_t. */
#define _cleanup_json_ _cleanup_(json_decrefp)

static int load_json(const char *text, size_t len, const char *what, json_t **ret,
		     struct cb_error *err)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return cb_error_set(err, EBADMSG, "%s: invalid JSON at line %d column %d: %s", what,
				    je.line, je.column, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return cb_error_set(err, EBADMSG, "%s: invalid JSON: not an object", what);
	}
	*ret = j;
	return 0;
}

/* Optional string member: NULL when absent, error when not a string. */
static int get_string(json_t *obj, const char *key, const char *what, const char *field,
		      char **ret, struct cb_error *err)
{
	json_t *v = json_object_get(obj, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return cb_error_set(err, EBADMSG, "%s: %s: not a string", what, field);
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : -ENOMEM;
}

static int get_strv(json_t *obj, const char *key, const char *what, char ***ret,
		    struct cb_error *err)
{
	json_t *v = json_object_get(obj, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return cb_error_set(err, EBADMSG, "%s: %s: not an array", what, key);
	char **strv = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!strv)
		return -ENOMEM;
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item)
	{
		if (!json_is_string(item)) {
			strv_free(strv);
			return cb_error_set(err, EBADMSG, "%s: %s[%zu]: not a string", what, key, i);
		}
		strv[i] = strdup(json_string_value(item));
		if (!strv[i]) {
			strv_free(strv);
			return -ENOMEM;
		}
	}
	*ret = strv;
	return 0;
}

/* Keys of an object as a strv ("80/tcp"), or "key=value" pairs. */
static int get_keys(json_t *obj, const char *key, bool with_values, const char *what,
		    char ***ret, struct cb_error *err)
{
	json_t *v = json_object_get(obj, key);
	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return cb_error_set(err, EBADMSG, "%s: %s: not an object", what, key);
	char **strv = calloc(json_object_size(v) + 1, sizeof(char *));
	if (!strv)
		return -ENOMEM;
	size_t i = 0;
	const char *k;
	json_t *val;
	json_object_foreach(v, k, val)
	{
		int r;
		if (with_values) {
			if (!json_is_string(val)) {
				strv_free(strv);
				return cb_error_set(err, EBADMSG, "%s: %s.%s: not a string", what,
						    key, k);
			}
			r = asprintf(&strv[i], "%s=%s", k, json_string_value(val));
		} else {
			r = (strv[i] = strdup(k)) ? 0 : -1;
		}
		if (r < 0) {
			strv_free(strv);
			return -ENOMEM;
		}
		i++;
	}
	*ret = strv;
	return 0;
}

static void platform_release(struct cb_platform *p)
{
	free(p->os);
	free(p->architecture);
	free(p->variant);
	memset(p, 0, sizeof(*p));
}

void cb_platform_release(struct cb_platform *p)
{
	platform_release(p);
}

static void descriptor_release(struct cb_descriptor *d)
{
	free(d->media_type);
	free(d->ref_name);
	free(d->image_name);
	platform_release(&d->platform);
	memset(d, 0, sizeof(*d));
}

static int parse_descriptor(json_t *obj, const char *what, const char *field,
			    struct cb_descriptor *ret, struct cb_error *err)
{
	struct cb_descriptor d = {0};
	int r;
	if (!json_is_object(obj))
		return cb_error_set(err, EBADMSG, "%s: %s: not an object", what, field);
	char f[128];
	snprintf(f, sizeof(f), "%s.mediaType", field);
	if ((r = get_string(obj, "mediaType", what, f, &d.media_type, err)) < 0)
		goto out_release;
	json_t *dg = json_object_get(obj, "digest");
	if (!json_is_string(dg) || !cb_digest_valid(json_string_value(dg))) {
		r = cb_error_set(err, EBADMSG, "%s: %s.digest: %s", what, field,
				 !dg ? "missing"
				 : json_is_string(dg) && strncmp(json_string_value(dg), "sha256:", 7)
					 ? "unsupported digest algorithm (only sha256)"
					 : "not a sha256 digest");
		goto out_release;
	}
	strcpy(d.digest, json_string_value(dg));
	json_t *sz = json_object_get(obj, "size");
	if (sz && (!json_is_integer(sz) || json_integer_value(sz) < 0)) {
		r = cb_error_set(err, EBADMSG, "%s: %s.size: not a size", what, field);
		goto out_release;
	}
	d.size = sz ? json_integer_value(sz) : -1;
	json_t *plat = json_object_get(obj, "platform");
	if (json_is_object(plat)) {
		if ((r = get_string(plat, "os", what, "platform.os", &d.platform.os, err)) < 0 ||
		    (r = get_string(plat, "architecture", what, "platform.architecture",
				    &d.platform.architecture, err)) < 0 ||
		    (r = get_string(plat, "variant", what, "platform.variant", &d.platform.variant,
				    err)) < 0)
			goto out_release;
	}
	json_t *ann = json_object_get(obj, "annotations");
	if (json_is_object(ann)) {
		if ((r = get_string(ann, CB_ANNOTATION_REF_NAME, what, "annotations",
				    &d.ref_name, err)) < 0 ||
		    (r = get_string(ann, CB_ANNOTATION_IMAGE_NAME, what, "annotations",
				    &d.image_name, err)) < 0)
			goto out_release;
	}
	*ret = d;
	return 0;
out_release:
	descriptor_release(&d);
	return r;
}

static const char *const index_types[] = {CB_MT_OCI_INDEX, CB_MT_DOCKER_LIST};
static const char *const manifest_types[] = {CB_MT_OCI_MANIFEST, CB_MT_DOCKER_MANIFEST};

bool cb_media_type_is_index(const char *mt)
{
	for (size_t i = 0; mt && i < ELEMENTSOF(index_types); i++)
		if (strcmp(mt, index_types[i]) == 0)
			return true;
	return false;
}

bool cb_media_type_is_manifest(const char *mt)
{
	for (size_t i = 0; mt && i < ELEMENTSOF(manifest_types); i++)
		if (strcmp(mt, manifest_types[i]) == 0)
			return true;
	return false;
}

int cb_doc_kind(const char *json, size_t len, const char *what, enum cb_doc_kind *ret,
		struct cb_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	int r = load_json(json, len, what, &j, err);
	if (r < 0)
		return r;
	json_t *mt = json_object_get(j, "mediaType");
	const char *type = json_is_string(mt) ? json_string_value(mt) : NULL;
	json_t *sv = json_object_get(j, "schemaVersion");
	if ((type && (strcmp(type, CB_MT_DOCKER_SCHEMA1) == 0 ||
		      strcmp(type, CB_MT_DOCKER_SCHEMA1S) == 0)) ||
	    (json_is_integer(sv) && json_integer_value(sv) == 1))
		return cb_error_set(err, EPROTONOSUPPORT,
				    "%s: Docker schema 1 manifests are unsupported", what);
	if (cb_media_type_is_index(type))
		*ret = CB_DOC_INDEX;
	else if (cb_media_type_is_manifest(type))
		*ret = CB_DOC_MANIFEST;
	else if (type)
		return cb_error_set(err, EPROTONOSUPPORT, "%s: unknown media type %s", what, type);
	else if (json_object_get(j, "manifests"))
		*ret = CB_DOC_INDEX;
	else if (json_object_get(j, "layers") || json_object_get(j, "config"))
		*ret = CB_DOC_MANIFEST;
	else
		*ret = CB_DOC_UNKNOWN;
	return 0;
}

void cb_index_release(struct cb_index *idx)
{
	for (size_t i = 0; i < idx->n_manifests; i++)
		descriptor_release(&idx->manifests[i]);
	free(idx->manifests);
	free(idx->media_type);
	memset(idx, 0, sizeof(*idx));
}

int cb_index_parse(const char *json, size_t len, const char *what, struct cb_index *ret,
		   struct cb_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	int r = load_json(json, len, what, &j, err);
	if (r < 0)
		return r;
	struct cb_index idx = {0};
	if ((r = get_string(j, "mediaType", what, "mediaType", &idx.media_type, err)) < 0)
		return r;
	if (idx.media_type && !cb_media_type_is_index(idx.media_type)) {
		r = cb_error_set(err, EPROTONOSUPPORT, "%s: not an image index: media type %s",
				 what, idx.media_type);
		goto out_release;
	}
	json_t *ms = json_object_get(j, "manifests");
	if (!json_is_array(ms)) {
		r = cb_error_set(err, EBADMSG, "%s: manifests: %s", what,
				 ms ? "not an array" : "missing");
		goto out_release;
	}
	idx.manifests = calloc(json_array_size(ms) + 1, sizeof(*idx.manifests));
	if (!idx.manifests) {
		r = -ENOMEM;
		goto out_release;
	}
	size_t i;
	json_t *m;
	json_array_foreach(ms, i, m)
	{
		char field[64];
		snprintf(field, sizeof(field), "manifests[%zu]", i);
		r = parse_descriptor(m, what, field, &idx.manifests[i], err);
		if (r < 0)
			goto out_release;
		idx.n_manifests++;
	}
	*ret = idx;
	return 0;
out_release:
	cb_index_release(&idx);
	return r;
}

void cb_manifest_release(struct cb_manifest *m)
{
	descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_release(&m->layers[i]);
	free(m->layers);
	free(m->media_type);
	memset(m, 0, sizeof(*m));
}

int cb_layer_media_type_compression(const char *mt)
{
	static const struct {
		const char *type;
		enum cb_compression c;
	} table[] = {
		{CB_MT_OCI_LAYER, CB_COMPRESSION_NONE},
		{CB_MT_OCI_LAYER_GZIP, CB_COMPRESSION_GZIP},
		{CB_MT_OCI_LAYER_ZSTD, CB_COMPRESSION_ZSTD},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar", CB_COMPRESSION_NONE},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		 CB_COMPRESSION_GZIP},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		 CB_COMPRESSION_ZSTD},
		{CB_MT_DOCKER_LAYER, CB_COMPRESSION_GZIP},
		{"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", CB_COMPRESSION_GZIP},
		{"application/vnd.docker.image.rootfs.diff.tar", CB_COMPRESSION_NONE},
		{"application/vnd.docker.image.rootfs.diff.tar.zstd", CB_COMPRESSION_ZSTD},
	};
	for (size_t i = 0; mt && i < ELEMENTSOF(table); i++)
		if (strcmp(mt, table[i].type) == 0)
			return table[i].c;
	return -EPROTONOSUPPORT;
}

int cb_manifest_parse(const char *json, size_t len, const char *what, struct cb_manifest *ret,
		      struct cb_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	int r = load_json(json, len, what, &j, err);
	if (r < 0)
		return r;
	struct cb_manifest m = {0};
	if ((r = get_string(j, "mediaType", what, "mediaType", &m.media_type, err)) < 0)
		return r;
	if (m.media_type && !cb_media_type_is_manifest(m.media_type)) {
		r = cb_error_set(err, EPROTONOSUPPORT, "%s: not an image manifest: media type %s",
				 what, m.media_type);
		goto out_release;
	}
	json_t *sv = json_object_get(j, "schemaVersion");
	if (json_is_integer(sv) && json_integer_value(sv) != 2) {
		r = cb_error_set(err, EPROTONOSUPPORT, "%s: schemaVersion %lld is unsupported",
				 what, (long long)json_integer_value(sv));
		goto out_release;
	}
	json_t *cfg = json_object_get(j, "config");
	if (!cfg) {
		r = cb_error_set(err, EBADMSG, "%s: config: missing", what);
		goto out_release;
	}
	if ((r = parse_descriptor(cfg, what, "config", &m.config, err)) < 0)
		goto out_release;
	if (m.config.media_type && strcmp(m.config.media_type, CB_MT_OCI_CONFIG) != 0 &&
	    strcmp(m.config.media_type, CB_MT_DOCKER_CONFIG) != 0) {
		r = cb_error_set(err, EPROTONOSUPPORT, "%s: config: unknown media type %s", what,
				 m.config.media_type);
		goto out_release;
	}
	json_t *ls = json_object_get(j, "layers");
	if (!json_is_array(ls)) {
		r = cb_error_set(err, EBADMSG, "%s: layers: %s", what,
				 ls ? "not an array" : "missing");
		goto out_release;
	}
	m.layers = calloc(json_array_size(ls) + 1, sizeof(*m.layers));
	if (!m.layers) {
		r = -ENOMEM;
		goto out_release;
	}
	size_t i;
	json_t *l;
	json_array_foreach(ls, i, l)
	{
		char field[64];
		snprintf(field, sizeof(field), "layers[%zu]", i);
		r = parse_descriptor(l, what, field, &m.layers[i], err);
		if (r < 0)
			goto out_release;
		m.n_layers++;
		if (cb_layer_media_type_compression(m.layers[i].media_type) < 0) {
			r = cb_error_set(err, EPROTONOSUPPORT, "%s: %s: unknown media type %s",
					 what, field,
					 m.layers[i].media_type ? m.layers[i].media_type
								: "(none)");
			goto out_release;
		}
	}
	*ret = m;
	return 0;
out_release:
	cb_manifest_release(&m);
	return r;
}

void cb_config_release(struct cb_image_config *c)
{
	platform_release(&c->platform);
	strv_free(c->env);
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	strv_free(c->exposed_ports);
	strv_free(c->labels);
	free(c->working_dir);
	free(c->user);
	free(c->stop_signal);
	free(c->created);
	free(c->diff_ids);
	memset(c, 0, sizeof(*c));
}

int cb_config_parse(const char *json, size_t len, const char *what, struct cb_image_config *ret,
		    struct cb_error *err)
{
	_cleanup_json_ json_t *j = NULL;
	int r = load_json(json, len, what, &j, err);
	if (r < 0)
		return r;
	struct cb_image_config c = {0};
	if ((r = get_string(j, "os", what, "os", &c.platform.os, err)) < 0 ||
	    (r = get_string(j, "architecture", what, "architecture", &c.platform.architecture,
			    err)) < 0 ||
	    (r = get_string(j, "variant", what, "variant", &c.platform.variant, err)) < 0 ||
	    (r = get_string(j, "created", what, "created", &c.created, err)) < 0)
		goto out_release;
	json_t *cfg = json_object_get(j, "config");
	if (cfg && !json_is_null(cfg) && !json_is_object(cfg)) {
		r = cb_error_set(err, EBADMSG, "%s: config: not an object", what);
		goto out_release;
	}
	if (json_is_object(cfg)) {
		if ((r = get_strv(cfg, "Env", what, &c.env, err)) < 0 ||
		    (r = get_strv(cfg, "Entrypoint", what, &c.entrypoint, err)) < 0 ||
		    (r = get_strv(cfg, "Cmd", what, &c.cmd, err)) < 0 ||
		    (r = get_string(cfg, "WorkingDir", what, "config.WorkingDir", &c.working_dir,
				    err)) < 0 ||
		    (r = get_string(cfg, "User", what, "config.User", &c.user, err)) < 0 ||
		    (r = get_string(cfg, "StopSignal", what, "config.StopSignal", &c.stop_signal,
				    err)) < 0 ||
		    (r = get_keys(cfg, "ExposedPorts", false, what, &c.exposed_ports, err)) < 0 ||
		    (r = get_keys(cfg, "Labels", true, what, &c.labels, err)) < 0)
			goto out_release;
	}
	json_t *rootfs = json_object_get(j, "rootfs");
	json_t *ids = json_is_object(rootfs) ? json_object_get(rootfs, "diff_ids") : NULL;
	if (!json_is_array(ids)) {
		r = cb_error_set(err, EBADMSG, "%s: rootfs.diff_ids: %s", what,
				 ids ? "not an array" : "missing");
		goto out_release;
	}
	c.diff_ids = calloc(json_array_size(ids) + 1, sizeof(*c.diff_ids));
	if (!c.diff_ids) {
		r = -ENOMEM;
		goto out_release;
	}
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id)
	{
		if (!json_is_string(id) || !cb_digest_valid(json_string_value(id))) {
			r = cb_error_set(err, EBADMSG, "%s: rootfs.diff_ids[%zu]: not a sha256 digest",
					 what, i);
			goto out_release;
		}
		strcpy(c.diff_ids[i], json_string_value(id));
		c.n_diff_ids++;
	}
	*ret = c;
	return 0;
out_release:
	cb_config_release(&c);
	return r;
}

void cb_platform_host(struct cb_platform *ret)
{
	struct utsname u;
	const char *arch = "amd64", *variant = NULL;
	if (uname(&u) == 0) {
		if (strcmp(u.machine, "aarch64") == 0)
			arch = "arm64", variant = "v8";
		else if (strncmp(u.machine, "armv7", 5) == 0)
			arch = "arm", variant = "v7";
		else if (strncmp(u.machine, "armv6", 5) == 0)
			arch = "arm", variant = "v6";
		else if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i386") == 0)
			arch = "386";
		else if (strcmp(u.machine, "ppc64le") == 0)
			arch = "ppc64le";
		else if (strcmp(u.machine, "s390x") == 0)
			arch = "s390x";
		else if (strcmp(u.machine, "riscv64") == 0)
			arch = "riscv64";
	}
	ret->os = strdup("linux");
	ret->architecture = strdup(arch);
	ret->variant = variant ? strdup(variant) : NULL;
}

int cb_platform_parse(const char *s, struct cb_platform *ret)
{
	_cleanup_free_ char *copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	char *os = strtok_r(copy, "/", &save);
	char *arch = strtok_r(NULL, "/", &save);
	char *variant = strtok_r(NULL, "/", &save);
	if (!os || !arch || strtok_r(NULL, "/", &save))
		return -EINVAL;
	ret->os = strdup(os);
	ret->architecture = strdup(arch);
	ret->variant = variant ? strdup(variant) : NULL;
	return 0;
}

static bool str_eq_or_absent(const char *have, const char *want)
{
	return !have || !want || strcmp(have, want) == 0;
}

bool cb_platform_matches(const struct cb_platform *have, const struct cb_platform *want)
{
	return str_eq_or_absent(have->os, want->os) &&
	       str_eq_or_absent(have->architecture, want->architecture);
}

int cb_index_select(const struct cb_index *idx, const struct cb_platform *want)
{
	int any = -ENOENT;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct cb_platform *have = &idx->manifests[i].platform;
		/* Attestation manifests (buildkit) say "unknown/unknown". */
		if (have->os && strcmp(have->os, "unknown") == 0)
			continue;
		if (!cb_platform_matches(have, want))
			continue;
		if (want->variant && have->variant && strcmp(have->variant, want->variant) == 0)
			return (int)i;
		if (any < 0)
			any = (int)i;
	}
	return any;
}
