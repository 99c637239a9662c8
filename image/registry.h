/* A client of the OCI distribution API (and Docker's registry v2) on
 * libcurl's multi interface.
 *
 * One struct cb_registry talks to one repository of one registry: it pings
 * GET /v2/, answers a 401 challenge with a Bearer token (realm, service,
 * scope; anonymous or with the user's credentials) or Basic auth, fetches
 * manifests (checking Docker-Content-Digest and the content's own digest)
 * and small blobs, and streams many blobs at once to callbacks that run on
 * one worker thread per blob, so hashing and unpacking overlap the download.
 *
 * HTTPS uses the system CAs. Plain HTTP is used only when tls_verify is
 * CB_TLS_VERIFY_NO or the registry is on localhost/127.0.0.0/8/::1, and
 * then only after HTTPS failed to connect. Redirects are followed (a blob
 * store's signed URLs); credentials are never sent to another host.
 * Transfers are retried with backoff on 5xx, 429 and broken or refused
 * connections, resuming with Range where the server allows it.
 *
 * Errors name the registry, the repository and the tag or digest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "digest.h"
#include "error.h"

/* ---- pure helpers (no network), exposed for unit tests ---- */

enum cb_auth_scheme { CB_AUTH_SCHEME_NONE, CB_AUTH_SCHEME_BASIC, CB_AUTH_SCHEME_BEARER };

/* A parsed WWW-Authenticate header. Strings are owned, NULL when absent. */
struct cb_auth_challenge {
	enum cb_auth_scheme scheme;
	char *realm;
	char *service;
	char *scope;
};

/* Parse `Bearer realm="https://auth",service="reg",scope="repository:a:pull"`
 * or `Basic realm="x"`. Scheme names are case-insensitive; values may be
 * quoted (with \-escapes) or bare tokens. -EINVAL for an unknown scheme or a
 * malformed header, and for a Bearer challenge without a realm. */
int cb_auth_challenge_parse(const char *header, struct cb_auth_challenge *ret);
void cb_auth_challenge_release(struct cb_auth_challenge *c);

/* The host that serves a reference domain's API: docker.io is served by
 * registry-1.docker.io; everything else by itself. */
const char *cb_registry_api_host(const char *domain);

/* True for localhost, 127.0.0.0/8 and [::1], with or without a port. */
bool cb_registry_is_local(const char *domain);

/* "SCHEME://HOST/v2/" when repository is NULL, else
 * "SCHEME://HOST/v2/REPOSITORY/KIND/REFERENCE" (kind "manifests" or
 * "blobs"). Caller frees. */
int cb_registry_url(const char *scheme, const char *domain, const char *repository,
		    const char *kind, const char *reference, char **ret);

/* The token request of a Bearer challenge:
 * REALM?service=SERVICE&scope=SCOPE, each value percent-encoded; scope
 * falls back to the challenge's own when NULL, and is left out when both
 * are NULL. Caller frees. */
int cb_registry_token_url(const struct cb_auth_challenge *c, const char *scope, char **ret);

/* The token of a token-server answer ("token", else "access_token"). */
int cb_registry_parse_token(const char *json, size_t len, char **ret_token);

/* The first message of a registry's error body
 * ({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})
 * into out: "manifest unknown". False when the body is not one. */
bool cb_registry_error_message(const char *body, size_t len, char *out, size_t outlen);

/* ---- the client ---- */

enum cb_tls_verify {
	CB_TLS_VERIFY_DEFAULT, /* verify; local registries may fall back to HTTP */
	CB_TLS_VERIFY_YES,     /* verify, never HTTP, even for local registries */
	CB_TLS_VERIFY_NO,      /* do not verify; fall back to HTTP */
};

struct cb_registry_options {
	enum cb_tls_verify tls_verify;
	/* NULL username: look the registry up in the auth files (auth.h). */
	const char *username;
	const char *password;
	unsigned retries;	  /* extra attempts per request; default 5 */
	unsigned connect_timeout; /* seconds; default 30 */
	unsigned stall_timeout;	  /* seconds without a byte before giving up; default 60 */
	uint64_t max_recv_speed;  /* bytes/s per transfer, 0 unlimited (tests, benchmarks) */
};

struct cb_registry;

/* Prepare a client of repository (NULL for just the registry, as login
 * does) on domain ("docker.io", "127.0.0.1:5000"). No traffic yet. */
int cb_registry_new(const char *domain, const char *repository,
		    const struct cb_registry_options *options, struct cb_registry **ret,
		    struct cb_error *err);
void cb_registry_free(struct cb_registry *r);

/* GET /v2/ and authenticate (pull scope for the repository). Done by the
 * calls below when needed; login calls it to check credentials: a wrong
 * password is -EACCES with err saying so. */
int cb_registry_ping(struct cb_registry *r, struct cb_error *err);

/* "https" or "http" once pinged. */
const char *cb_registry_scheme(const struct cb_registry *r);

/* GET a manifest or index by tag or digest, accepting OCI index, OCI
 * manifest, Docker manifest list v2 and Docker manifest v2 (schema 1 is
 * refused with -EOPNOTSUPP). The digest is checked against a digest
 * reference and against Docker-Content-Digest. ret_media_type is the
 * Content-Type (may be NULL when the registry sent none). */
int cb_registry_get_manifest(struct cb_registry *r, const char *reference, char **ret_data,
			     size_t *ret_len, char **ret_media_type,
			     char ret_digest[CB_DIGEST_SIZE], struct cb_error *err);

/* GET a small blob (a config) into memory, at most max bytes, verified
 * against digest. */
int cb_registry_get_blob(struct cb_registry *r, const char *digest, size_t max, char **ret_data,
			 size_t *ret_len, struct cb_error *err);

/* One blob to stream. The callbacks run on the blob's own worker thread, in
 * order; each returns >= 0 or a negative errno after filling err. */
struct cb_blob_fetch {
	const char *digest;
	uint64_t size; /* from the manifest; 0 when unknown */
	/* Bytes of the blob, in order. */
	int (*write)(void *userdata, const void *buf, size_t len, struct cb_error *err);
	/* A retry starts again from byte 0 (the server ignored Range): forget
	 * what write() got so far. */
	int (*restart)(void *userdata, struct cb_error *err);
	/* All bytes were written (verify and commit here). */
	int (*finish)(void *userdata, struct cb_error *err);
	void *userdata;

	/* Filled in by cb_registry_fetch_blobs. */
	int result;	     /* 0 done, < 0 failed, 1 not finished (cancelled) */
	uint64_t received;   /* bytes so far */
	struct cb_error err; /* why it failed */
};

enum cb_fetch_state {
	CB_FETCH_WAITING,
	CB_FETCH_DOWNLOADING,
	CB_FETCH_RETRYING,
	CB_FETCH_DONE,
	CB_FETCH_FAILED,
};

/* Called on the caller's thread, at most every 100 ms per fetch and at
 * every state change. */
typedef void (*cb_fetch_progress_fn)(void *userdata, size_t index, enum cb_fetch_state state,
				     uint64_t received, uint64_t size);

/* Download fetches[0..n) with at most concurrency (0: 4) transfers and
 * workers alive at once, started in order (so a callback may wait for an
 * earlier blob's finish()). Returns 0 when every blob's finish() succeeded.
 * On the first failure *cancel (when non-NULL) is set, so callbacks that
 * wait on it return, the others are stopped (their result stays 1; blobs
 * whose finish() already succeeded stay done) and the failure is
 * returned, with err set from the failing fetch's err. */
int cb_registry_fetch_blobs(struct cb_registry *r, struct cb_blob_fetch *fetches, size_t n,
			    unsigned concurrency, cb_fetch_progress_fn progress,
			    void *progress_userdata, volatile bool *cancel, struct cb_error *err);
