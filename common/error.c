#include "error.h"

#include <stdbool.h>

#include <stdio.h>
#include <string.h>

static void error_vformat(struct cb_error *err, int code, bool with_errno, const char *fmt,
			  va_list ap)
{
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(code));
	err->code = code;
}

int cb_error_set(struct cb_error *err, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	if (err && err->code == 0) {
		va_list ap;
		va_start(ap, fmt);
		error_vformat(err, code, false, fmt, ap);
		va_end(ap);
	}
	return -code;
}

int cb_error_errno(struct cb_error *err, int code, const char *fmt, ...)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	if (err && err->code == 0) {
		va_list ap;
		va_start(ap, fmt);
		error_vformat(err, code, true, fmt, ap);
		va_end(ap);
	}
	return -code;
}

int cb_error_prefix(struct cb_error *err, const char *fmt, ...)
{
	if (!err)
		return -EIO;
	if (err->code == 0)
		err->code = EIO;
	char prefix[CB_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	char joined[2 * CB_ERROR_MAX + 2];
	snprintf(joined, sizeof(joined), "%s: %s", prefix, err->msg);
	snprintf(err->msg, sizeof(err->msg), "%s", joined);
	return -err->code;
}

void cb_error_clear(struct cb_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

int cb_error_ensure(struct cb_error *err, int r, const char *fmt, ...)
{
	if (r >= 0 || !err || err->code != 0)
		return r;
	va_list ap;
	va_start(ap, fmt);
	error_vformat(err, -r, true, fmt, ap);
	va_end(ap);
	return r;
}
