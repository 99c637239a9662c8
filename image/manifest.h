/* The JSON documents of OCI and Docker images, parsed with jansson into
 * plain structs: image indexes and Docker manifest lists, manifests, and
 * image configs. Every error names the document and the field, or the
 * line and column of bad JSON. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "digest.h"
#include "error.h"

#define CB_MT_OCI_INDEX	      "application/vnd.oci.image.index.v1+json"
#define CB_MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define CB_MT_OCI_CONFIG      "application/vnd.oci.image.config.v1+json"
#define CB_MT_OCI_LAYER	      "application/vnd.oci.image.layer.v1.tar"
#define CB_MT_OCI_LAYER_GZIP  "application/vnd.oci.image.layer.v1.tar+gzip"
#define CB_MT_OCI_LAYER_ZSTD  "application/vnd.oci.image.layer.v1.tar+zstd"
#define CB_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define CB_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define CB_MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"
#define CB_MT_DOCKER_LAYER    "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define CB_MT_DOCKER_SCHEMA1  "application/vnd.docker.distribution.manifest.v1+json"
#define CB_MT_DOCKER_SCHEMA1S "application/vnd.docker.distribution.manifest.v1+prettyjws"

#define CB_ANNOTATION_REF_NAME	 "org.opencontainers.image.ref.name"
#define CB_ANNOTATION_IMAGE_NAME "io.containerd.image.name"

enum cb_doc_kind { CB_DOC_UNKNOWN, CB_DOC_INDEX, CB_DOC_MANIFEST };

struct cb_platform {
	char *os, *architecture, *variant;
};

struct cb_descriptor {
	char *media_type;
	char digest[CB_DIGEST_SIZE];
	int64_t size;
	struct cb_platform platform; /* fields NULL when absent */
	char *ref_name;		     /* org.opencontainers.image.ref.name */
	char *image_name;	     /* io.containerd.image.name */
};

struct cb_index {
	char *media_type;
	size_t n_manifests;
	struct cb_descriptor *manifests;
};

struct cb_manifest {
	char *media_type;
	struct cb_descriptor config;
	size_t n_layers;
	struct cb_descriptor *layers;
};

struct cb_image_config {
	struct cb_platform platform;
	char **env, **entrypoint, **cmd; /* NULL-terminated; NULL when absent */
	char *working_dir, *user;
	char *stop_signal; /* StopSignal as written ("SIGQUIT", "3"); NULL when absent */
	char **exposed_ports; /* "80/tcp" */
	char **labels;	      /* "key=value" */
	char *created;
	size_t n_diff_ids;
	char (*diff_ids)[CB_DIGEST_SIZE];
};

/* What a document is, from mediaType or, when absent, its shape. Fails on
 * bad JSON and on Docker schema 1 (unsupported). */
int cb_doc_kind(const char *json, size_t len, const char *what, enum cb_doc_kind *ret,
		struct cb_error *err);

int cb_index_parse(const char *json, size_t len, const char *what, struct cb_index *ret,
		   struct cb_error *err);
void cb_index_release(struct cb_index *idx);

int cb_manifest_parse(const char *json, size_t len, const char *what, struct cb_manifest *ret,
		      struct cb_error *err);
void cb_manifest_release(struct cb_manifest *m);

int cb_config_parse(const char *json, size_t len, const char *what, struct cb_image_config *ret,
		    struct cb_error *err);
void cb_config_release(struct cb_image_config *c);

/* What a layer media type says of its compression (an enum
 * cb_compression), or -EPROTONOSUPPORT for an unknown type. */
int cb_layer_media_type_compression(const char *media_type);
bool cb_media_type_is_index(const char *media_type);
bool cb_media_type_is_manifest(const char *media_type);

/* The host's platform as OCI spells it (linux/amd64, linux/arm64/v8...). */
void cb_platform_host(struct cb_platform *ret);
/* Parse "os/arch[/variant]" into ret (strings point into a copy owned by
 * ret; release with cb_platform_release). */
int cb_platform_parse(const char *s, struct cb_platform *ret);
void cb_platform_release(struct cb_platform *p);
/* Does a descriptor's platform satisfy want? A descriptor without a
 * platform matches anything. */
bool cb_platform_matches(const struct cb_platform *have, const struct cb_platform *want);
/* Pick the manifest for want from idx (exact variant first, then any
 * variant). Returns the index in idx->manifests, or -ENOENT. */
int cb_index_select(const struct cb_index *idx, const struct cb_platform *want);
