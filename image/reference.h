/* Image references, normalized the way docker does: `busybox` is
 * docker.io/library/busybox:latest, `localhost:5000/app:v2` keeps its
 * registry, `name@sha256:<hex>` pins a digest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include "digest.h"
#include "error.h"

#define CB_DEFAULT_DOMAIN "docker.io"

struct cb_reference {
	char domain[256]; /* "docker.io", "localhost:5000" */
	char path[256];	  /* "library/busybox" */
	char tag[129];	  /* "" when only a digest was given */
	char digest[CB_DIGEST_SIZE]; /* "" when none */
};

/* Parse and normalize s. Fails with a message naming s and the reason. */
int cb_reference_parse(const char *s, struct cb_reference *ret, struct cb_error *err);
/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest". */
int cb_reference_format(const struct cb_reference *r, char *buf, size_t size);
/* "domain/path" alone. */
int cb_reference_repository(const struct cb_reference *r, char *buf, size_t size);
/* True when s is a plausible tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
bool cb_reference_valid_tag(const char *s);
