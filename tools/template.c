#include "template.h"
#include "macro.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing output buffer; on allocation failure it stays "failed". */
struct out {
	char *buf;
	size_t len, size;
	bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->size) {
		size_t size = o->size ? o->size : 256;
		while (o->len + n + 1 > size)
			size *= 2;
		char *b = realloc(o->buf, size);
		if (!b) {
			o->failed = true;
			return;
		}
		o->buf = b;
		o->size = size;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go's %v of a decoded JSON value. */
static void put_value(struct out *o, json_t *v)
{
	char num[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		put(o, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		puts_(o, num);
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		puts_(o, num);
		break;
	case JSON_TRUE:
		puts_(o, "true");
		break;
	case JSON_FALSE:
		puts_(o, "false");
		break;
	case JSON_NULL:
		puts_(o, "<nil>");
		break;
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		puts_(o, "[");
		json_array_foreach(v, i, e)
		{
			if (i)
				puts_(o, " ");
			put_value(o, e);
		}
		puts_(o, "]");
		break;
	}
	case JSON_OBJECT: {
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n ? n : 1, sizeof(char *));
		if (!keys) {
			o->failed = true;
			break;
		}
		const char *k;
		json_t *e;
		json_object_foreach(v, k, e) keys[i++] = k;
		qsort(keys, n, sizeof(char *), cmp_keys);
		puts_(o, "map[");
		for (i = 0; i < n; i++) {
			if (i)
				puts_(o, " ");
			puts_(o, keys[i]);
			puts_(o, ":");
			put_value(o, json_object_get(v, keys[i]));
		}
		puts_(o, "]");
		free(keys);
		break;
	}
	}
}

/* One action's words: an optional "json" and a field path ("." or
 * ".A.B"). On success *path points at the path within the action. */
static int parse_action(const char *a, size_t n, bool *json, const char **path, size_t *path_len)
{
	while (n && isspace((unsigned char)*a))
		a++, n--;
	while (n && isspace((unsigned char)a[n - 1]))
		n--;
	*json = false;
	if (n > 5 && strncmp(a, "json", 4) == 0 && isspace((unsigned char)a[4])) {
		*json = true;
		a += 5;
		n -= 5;
		while (n && isspace((unsigned char)*a))
			a++, n--;
	}
	if (n == 0 || a[0] != '.')
		return -EINVAL;
	for (size_t i = 1; i < n; i++) {
		char c = a[i];
		if (c == '.' ? a[i - 1] == '.' : !(isalnum((unsigned char)c) || c == '_'))
			return -EINVAL;
	}
	if (n > 1 && a[n - 1] == '.')
		return -EINVAL;
	*path = a;
	*path_len = n;
	return 0;
}

/* Walk v along ".A.B"; NULL when a field is missing. */
static json_t *lookup(json_t *v, const char *path, size_t n)
{
	size_t i = 1;
	while (v && i < n) {
		size_t j = i;
		while (j < n && path[j] != '.')
			j++;
		char key[256];
		if (j - i >= sizeof(key) || !json_is_object(v))
			return NULL;
		memcpy(key, path + i, j - i);
		key[j - i] = '\0';
		v = json_object_get(v, key);
		i = j + 1;
	}
	return v;
}

/* Each action of tmpl in turn: fn(text before it, the action) until the
 * end (the last call gets action NULL). Returns fn's first failure, or
 * -EINVAL for a {{ without }}. */
static int each_action(const char *tmpl,
		       int (*fn)(void *, const char *, size_t, const char *, size_t), void *opaque)
{
	const char *p = tmpl;
	for (;;) {
		const char *open = strstr(p, "{{");
		if (!open)
			return fn(opaque, p, strlen(p), NULL, 0);
		const char *close = strstr(open + 2, "}}");
		if (!close)
			return -EINVAL;
		int r = fn(opaque, p, (size_t)(open - p), open + 2, (size_t)(close - open - 2));
		if (r < 0)
			return r;
		p = close + 2;
	}
}

struct check {
	struct cb_error *err;
};

static int check_one(void *opaque, const char *text, size_t text_len, const char *action, size_t n)
{
	(void)text;
	(void)text_len;
	struct check *c = opaque;
	bool json;
	const char *path;
	size_t path_len;
	if (action && parse_action(action, n, &json, &path, &path_len) < 0)
		return cb_error_set(c->err, EINVAL,
				    "template action {{%.*s}}: only {{.Field.Path}} and {{json "
				    ".Field.Path}} are understood",
				    (int)n, action);
	return 0;
}

int cli_template_check(const char *tmpl, struct cb_error *err)
{
	struct check c = {.err = err};
	int r = each_action(tmpl, check_one, &c);
	if (r == -EINVAL && !err->code)
		return cb_error_set(err, EINVAL, "template %s: a {{ without }}", tmpl);
	return r;
}

struct render {
	struct out out;
	json_t *v;
};

static int render_one(void *opaque, const char *text, size_t text_len, const char *action, size_t n)
{
	struct render *rd = opaque;
	put(&rd->out, text, text_len);
	if (!action)
		return 0;
	bool json;
	const char *path;
	size_t path_len;
	if (parse_action(action, n, &json, &path, &path_len) < 0)
		return -EINVAL;
	json_t *v = lookup(rd->v, path, path_len);
	if (json) {
		_cleanup_free_ char *s =
		    v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
		puts_(&rd->out, s ? s : "null");
	} else if (v)
		put_value(&rd->out, v);
	else
		puts_(&rd->out, "<no value>");
	return 0;
}

char *cli_template_render(const char *tmpl, json_t *v)
{
	struct render rd = {.v = v};
	if (each_action(tmpl, render_one, &rd) < 0 || rd.out.failed) {
		free(rd.out.buf);
		return NULL;
	}
	return rd.out.buf ? rd.out.buf : strdup("");
}
