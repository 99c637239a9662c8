/* Registry credentials in the containers-auth.json format (the same as
 * docker's config.json "auths" section):
 *
 *   {"auths": {"registry.example:5000": {"auth": base64("user:password")}}}
 *
 * Read, first match wins, from $REGISTRY_AUTH_FILE, then
 * $XDG_RUNTIME_DIR/containers/auth.json (else /run/containers/<uid>/auth.json
 * when XDG_RUNTIME_DIR is unset), then ~/.docker/config.json. `cowbox login`
 * writes the first of those (mode 0600, atomically, keeping every other key
 * of the file). Credential helpers (credsStore, credHelpers) and identity
 * tokens are not supported. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include "error.h"

/* The key a registry is stored under: the reference domain as written,
 * without a scheme or a path ("docker.io" for Docker Hub). Keys in files
 * match when they name the same host after the same normalization
 * ("https://index.docker.io/v1/" matches docker.io). */
bool cb_auth_key_matches(const char *file_key, const char *registry);

/* "user:password" to base64 and back. decode fails with -EINVAL on bad
 * base64 or a missing colon. Caller frees the results. */
int cb_auth_encode(const char *username, const char *password, char **ret);
int cb_auth_decode(const char *auth, char **ret_username, char **ret_password);

/* Find registry's credentials in the JSON text of one auth file. Returns 0
 * and the pair, -ENOENT when the file has none for registry, or -EINVAL
 * (err says where) for a malformed file. */
int cb_auth_parse(const char *json, size_t len, const char *registry, char **ret_username,
		  char **ret_password, struct cb_error *err);

/* The auth files to read, in order; a NULL-terminated list the caller frees
 * with strv_free. */
int cb_auth_files(char ***ret_paths);

/* Look registry up in every auth file. -ENOENT when none has it. When
 * ret_path is non-NULL it gets the file the credentials came from. */
int cb_auth_lookup(const char *registry, char **ret_username, char **ret_password, char **ret_path,
		   struct cb_error *err);

/* The file login and logout change: REGISTRY_AUTH_FILE, else the
 * XDG_RUNTIME_DIR (or /run/containers/<uid>) one. */
int cb_auth_write_path(char **ret_path);

/* Store (login) or remove (logout) registry's credentials in path, creating
 * the file and its directory (mode 0700) if needed. logout returns -ENOENT
 * when path holds nothing for registry. */
int cb_auth_store(const char *path, const char *registry, const char *username,
		  const char *password, struct cb_error *err);
int cb_auth_remove(const char *path, const char *registry, struct cb_error *err);
