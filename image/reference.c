#include "reference.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool cb_reference_valid_tag(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '_';
		if (!word && (i == 0 || (c != '.' && c != '-')))
			return false;
	}
	return true;
}

/* One path component: [a-z0-9]+ joined by ".", "_", "__" or "-"s. */
static bool valid_component(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (alnum)
			continue;
		if (c != '.' && c != '_' && c != '-')
			return false;
		if (i == 0 || i == n - 1)
			return false;
	}
	return true;
}

static bool looks_like_domain(const char *s, size_t n)
{
	if (n == 9 && strncmp(s, "localhost", 9) == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.' || s[i] == ':')
			return true;
	/* docker also takes an upper-case first component as a host */
	for (size_t i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return true;
	return false;
}

int cb_reference_parse(const char *s, struct cb_reference *ret, struct cb_error *err)
{
	struct cb_reference r = {0};
	char buf[512];
	if (!s || !s[0])
		return cb_error_set(err, EINVAL, "empty image reference");
	if (strlen(s) >= sizeof(buf))
		return cb_error_set(err, EINVAL, "image reference '%.40s…': too long", s);
	strcpy(buf, s);

	char *at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		if (!cb_digest_valid(at + 1))
			return cb_error_set(err, EINVAL,
					    "image reference '%s': '%s' is not a sha256 digest", s,
					    at + 1);
		strcpy(r.digest, at + 1);
	}
	char *last_slash = strrchr(buf, '/');
	char *colon = strrchr(last_slash ? last_slash : buf, ':');
	if (colon) {
		*colon = '\0';
		if (!cb_reference_valid_tag(colon + 1))
			return cb_error_set(err, EINVAL, "image reference '%s': invalid tag '%s'",
					    s, colon + 1);
		strcpy(r.tag, colon + 1);
	}
	char *name = buf;
	char *slash = strchr(name, '/');
	if (slash && looks_like_domain(name, (size_t)(slash - name))) {
		size_t n = (size_t)(slash - name);
		if (n >= sizeof(r.domain))
			return cb_error_set(err, EINVAL, "image reference '%s': registry too long", s);
		memcpy(r.domain, name, n);
		name = slash + 1;
	} else {
		strcpy(r.domain, CB_DEFAULT_DOMAIN);
	}
	if (strcmp(r.domain, "index.docker.io") == 0)
		strcpy(r.domain, CB_DEFAULT_DOMAIN);
	for (const char *c = r.domain; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == ':' ||
		      *c == '[' || *c == ']'))
			return cb_error_set(err, EINVAL, "image reference '%s': invalid registry",
					    s);
	const char *port = strrchr(r.domain, ':');
	if (port && !strchr(port, ']') &&
	    (port[1] == '\0' || strspn(port + 1, "0123456789") != strlen(port + 1)))
		return cb_error_set(err, EINVAL, "image reference '%s': invalid registry port", s);
	if (!name[0])
		return cb_error_set(err, EINVAL, "image reference '%s': no repository", s);
	for (const char *p = name; *p;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		for (size_t i = 0; i < n; i++)
			if (p[i] >= 'A' && p[i] <= 'Z')
				return cb_error_set(err, EINVAL,
						    "image reference '%s': repository name must be "
						    "lowercase",
						    s);
		if (!valid_component(p, n))
			return cb_error_set(err, EINVAL,
					    "image reference '%s': invalid repository name", s);
		p += n;
		if (*p == '/')
			p++;
	}
	bool official = strcmp(r.domain, CB_DEFAULT_DOMAIN) == 0 && !strchr(name, '/');
	int n = snprintf(r.path, sizeof(r.path), "%s%s", official ? "library/" : "", name);
	if (n < 0 || (size_t)n >= sizeof(r.path))
		return cb_error_set(err, EINVAL, "image reference '%s': repository too long", s);
	if (!r.tag[0] && !r.digest[0])
		strcpy(r.tag, "latest");
	*ret = r;
	return 0;
}

int cb_reference_repository(const struct cb_reference *r, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", r->domain, r->path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int cb_reference_format(const struct cb_reference *r, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s%s%s%s%s", r->domain, r->path, r->tag[0] ? ":" : "",
			 r->tag, r->digest[0] ? "@" : "", r->digest);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
