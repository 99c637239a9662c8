#include "auth.h"
#include "fsutil.h"
#include "macro.h"

#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUTH_FILE_MAX (4u << 20)

/* jansson's own json_decrefp (2.11+) releases a json_t * when it leaves scope. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* The host part of a key or a registry name: drop "scheme://" and anything
 * from the first '/', and fold Docker Hub's aliases into docker.io. */
static void normalize_host(const char *in, char *out, size_t outlen)
{
	const char *p = strstr(in, "://");
	p = p ? p + 3 : in;
	size_t n = strcspn(p, "/");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	if (strcmp(out, "index.docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0 ||
	    strcmp(out, "registry.hub.docker.com") == 0)
		snprintf(out, outlen, "docker.io");
}

bool cb_auth_key_matches(const char *file_key, const char *registry)
{
	char a[512], b[512];
	normalize_host(file_key, a, sizeof(a));
	normalize_host(registry, b, sizeof(b));
	return a[0] && strcmp(a, b) == 0;
}

int cb_auth_encode(const char *username, const char *password, char **ret)
{
	_cleanup_free_ char *plain = NULL;
	int n = asprintf(&plain, "%s:%s", username, password);
	if (n < 0)
		return -ENOMEM;
	char *out = malloc(4 * ((size_t)n / 3 + 1) + 1);
	if (!out)
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)plain, n);
	explicit_bzero(plain, n);
	*ret = out;
	return 0;
}

int cb_auth_decode(const char *auth, char **ret_username, char **ret_password)
{
	size_t len = strlen(auth);
	if (len == 0 || len % 4 != 0)
		return -EINVAL;
	_cleanup_free_ unsigned char *plain = malloc(len / 4 * 3 + 1);
	if (!plain)
		return -ENOMEM;
	int n = EVP_DecodeBlock(plain, (const unsigned char *)auth, (int)len);
	if (n < 0)
		return -EINVAL;
	/* EVP_DecodeBlock counts the '=' padding as zero bytes. */
	if (len >= 1 && auth[len - 1] == '=')
		n--;
	if (len >= 2 && auth[len - 2] == '=')
		n--;
	plain[n] = '\0';
	if (memchr(plain, '\0', n))
		return -EINVAL;
	char *colon = strchr((char *)plain, ':');
	if (!colon)
		return -EINVAL;
	char *user = strndup((char *)plain, colon - (char *)plain);
	char *pass = strdup(colon + 1);
	explicit_bzero(plain, n);
	if (!user || !pass) {
		free(user);
		free(pass);
		return -ENOMEM;
	}
	*ret_username = user;
	*ret_password = pass;
	return 0;
}

int cb_auth_parse(const char *json, size_t len, const char *registry, char **ret_username,
		  char **ret_password, struct cb_error *err)
{
	json_error_t jerr;
	_cleanup_json_ json_t *root = json_loadb(json, len, 0, &jerr);
	if (!root)
		return cb_error_set(err, EINVAL, "invalid JSON at line %d column %d: %s", jerr.line,
				    jerr.column, jerr.text);
	if (!json_is_object(root))
		return cb_error_set(err, EINVAL, "not a JSON object");
	json_t *auths = json_object_get(root, "auths");
	if (!auths)
		return -ENOENT;
	if (!json_is_object(auths))
		return cb_error_set(err, EINVAL, "\"auths\" is not an object");
	/* An exact key wins over one that only matches after normalization. */
	json_t *entry = json_object_get(auths, registry);
	const char *key = registry;
	if (!entry) {
		const char *k;
		json_t *v;
		json_object_foreach(auths, k, v)
		{
			if (cb_auth_key_matches(k, registry)) {
				entry = v;
				key = k;
				break;
			}
		}
	}
	if (!entry)
		return -ENOENT;
	if (!json_is_object(entry))
		return cb_error_set(err, EINVAL, "auths.\"%s\" is not an object", key);
	json_t *auth = json_object_get(entry, "auth");
	if (!auth || (json_is_string(auth) && json_string_length(auth) == 0)) {
		/* docker writes {"auth": ""} or {} when a helper holds the secret. */
		if (json_object_get(entry, "identitytoken"))
			return cb_error_set(err, ENOTSUP,
					    "auths.\"%s\": identity tokens are not supported", key);
		return -ENOENT;
	}
	if (!json_is_string(auth))
		return cb_error_set(err, EINVAL, "auths.\"%s\".auth is not a string", key);
	int r = cb_auth_decode(json_string_value(auth), ret_username, ret_password);
	if (r == -EINVAL)
		return cb_error_set(err, EINVAL,
				    "auths.\"%s\".auth is not base64 of \"user:password\"", key);
	return r;
}

/* Auth files are the user's own: symlinks in their paths (a dotfiles
 * checkout, a linked ~/.docker) are followed, unlike in the store. */
static int read_user_file(const char *path, char **ret_data, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return cb_read_fd(fd, AUTH_FILE_MAX, ret_data, ret_len);
}

/* mkdir -p for an absolute or relative directory path. */
static int mkdir_parents(char *dir, mode_t mode)
{
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		int k = mkdir(dir, mode) < 0 && errno != EEXIST ? -errno : 0;
		*p = saved;
		if (k < 0)
			return k;
		if (!saved)
			return 0;
	}
}

static int runtime_auth_path(char **ret)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n = xdg && xdg[0] == '/'
		    ? asprintf(ret, "%s/containers/auth.json", xdg)
		    : asprintf(ret, "/run/containers/%u/auth.json", (unsigned)getuid());
	return n < 0 ? -ENOMEM : 0;
}

int cb_auth_write_path(char **ret_path)
{
	const char *env = getenv("REGISTRY_AUTH_FILE");
	if (env && env[0]) {
		*ret_path = strdup(env);
		return *ret_path ? 0 : -ENOMEM;
	}
	return runtime_auth_path(ret_path);
}

int cb_auth_files(char ***ret_paths)
{
	char **v = calloc(4, sizeof(char *));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	const char *env = getenv("REGISTRY_AUTH_FILE");
	if (env && env[0] && !(v[n++] = strdup(env)))
		goto oom;
	if (runtime_auth_path(&v[n++]) < 0)
		goto oom;
	const char *home = getenv("HOME");
	if (home && home[0] == '/' && asprintf(&v[n++], "%s/.docker/config.json", home) < 0) {
		v[n - 1] = NULL;
		goto oom;
	}
	*ret_paths = v;
	return 0;
oom:
	strv_free(v);
	return -ENOMEM;
}

int cb_auth_lookup(const char *registry, char **ret_username, char **ret_password, char **ret_path,
		   struct cb_error *err)
{
	_cleanup_strv_ char **paths = NULL;
	int r = cb_auth_files(&paths);
	if (r < 0)
		return r;
	for (char **p = paths; *p; p++) {
		_cleanup_free_ char *data = NULL;
		size_t len;
		r = read_user_file(*p, &data, &len);
		if (r == -ENOENT || r == -ENOTDIR)
			continue;
		if (r < 0)
			return cb_error_errno(err, r, "auth file %s", *p);
		r = cb_auth_parse(data, len, registry, ret_username, ret_password, err);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return cb_error_prefix(err, "auth file %s", *p);
		if (ret_path && !(*ret_path = strdup(*p))) {
			free(*ret_username);
			free(*ret_password);
			return -ENOMEM;
		}
		return 0;
	}
	return -ENOENT;
}

/* Load path as a JSON object (an empty one when it does not exist). */
static int load_auth_file(const char *path, json_t **ret, struct cb_error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = read_user_file(path, &data, &len);
	if (r == -ENOENT) {
		*ret = json_object();
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return cb_error_errno(err, r, "auth file %s", path);
	json_error_t jerr;
	json_t *root = json_loadb(data, len, 0, &jerr);
	if (!root)
		return cb_error_set(err, EINVAL, "auth file %s: invalid JSON at line %d: %s", path,
				    jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return cb_error_set(err, EINVAL, "auth file %s: not a JSON object", path);
	}
	*ret = root;
	return 0;
}

static int save_auth_file(const char *path, json_t *root, struct cb_error *err)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	const char *base = path;
	_cleanup_close_ int dfd = -1;
	if (slash) {
		base = path + (slash - dir) + 1;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		int r = mkdir_parents(dir, 0700);
		if (r < 0)
			return cb_error_errno(err, r, "auth file %s: create directory", path);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dfd < 0)
		return cb_error_errno(err, errno, "auth file %s", path);
	_cleanup_free_ char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	char *grown = realloc(text, len + 2);
	if (!grown)
		return -ENOMEM;
	text = grown;
	text[len++] = '\n';
	text[len] = '\0';
	int r = cb_write_file_atomic_at(dfd, base, text, len, 0600);
	explicit_bzero(text, len);
	if (r < 0)
		return cb_error_errno(err, r, "auth file %s: write", path);
	return 0;
}

/* Remove every key of auths that names registry; returns how many. */
static size_t drop_matching(json_t *auths, const char *registry)
{
	size_t n = 0;
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(auths, tmp, k, v)
	{
		if (strcmp(k, registry) == 0 || cb_auth_key_matches(k, registry)) {
			json_object_del(auths, k);
			n++;
		}
	}
	return n;
}

int cb_auth_store(const char *path, const char *registry, const char *username,
		  const char *password, struct cb_error *err)
{
	if (strchr(username, ':'))
		return cb_error_set(err, EINVAL, "user name %s: contains ':'", username);
	_cleanup_json_ json_t *root = NULL;
	int r = load_auth_file(path, &root, err);
	if (r < 0)
		return r;
	json_t *auths = json_object_get(root, "auths");
	if (!auths) {
		auths = json_object();
		if (!auths || json_object_set_new(root, "auths", auths) < 0)
			return -ENOMEM;
	} else if (!json_is_object(auths)) {
		return cb_error_set(err, EINVAL, "auth file %s: \"auths\" is not an object", path);
	}
	drop_matching(auths, registry);
	_cleanup_free_ char *auth = NULL;
	r = cb_auth_encode(username, password, &auth);
	if (r < 0)
		return r;
	json_t *entry = json_pack("{s:s}", "auth", auth);
	explicit_bzero(auth, strlen(auth));
	if (!entry || json_object_set_new(auths, registry, entry) < 0)
		return -ENOMEM;
	return save_auth_file(path, root, err);
}

int cb_auth_remove(const char *path, const char *registry, struct cb_error *err)
{
	_cleanup_json_ json_t *root = NULL;
	int r = load_auth_file(path, &root, err);
	if (r < 0)
		return r;
	json_t *auths = json_object_get(root, "auths");
	if (!auths || !json_is_object(auths) || drop_matching(auths, registry) == 0)
		return -ENOENT;
	return save_auth_file(path, root, err);
}
