/* A user-facing error: an errno plus one line that names the thing and the
 * reason. Library functions that can fail for reasons a user must read
 * (a bad tar entry, a bad manifest field) take a `struct cb_error *` that
 * may be NULL; it is a fixed buffer so failing never allocates. Only
 * tools/ prints it. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include "macro.h"

#define CB_ERROR_MAX 1024

struct cb_error {
	int code;		  /* positive errno */
	char msg[CB_ERROR_MAX]; /* "what: why", no trailing newline */
};

/* Set err (if non-NULL and not already set) and return -code. The first
 * error wins: callers further up add context with cb_error_prefix(). */
int cb_error_set(struct cb_error *err, int code, const char *fmt, ...) _printf_(3, 4);
/* As cb_error_set, then append ": strerror(code)". */
int cb_error_errno(struct cb_error *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Prepend "context: " to an error already set; returns -err->code (or -EIO). */
int cb_error_prefix(struct cb_error *err, const char *fmt, ...) _printf_(2, 3);
/* Forget any error. */
void cb_error_clear(struct cb_error *err);
/* Make sure err holds a message for code r (< 0), using strerror when no
 * one set one; returns r. */
int cb_error_ensure(struct cb_error *err, int r, const char *fmt, ...) _printf_(3, 4);
