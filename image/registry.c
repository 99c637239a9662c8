#include "registry.h"
#include "auth.h"
#include "config.h"
#include "macro.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define USER_AGENT "cowbox/" COWBOX_VERSION

#define MT_OCI_INDEX	   "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST	   "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST	   "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_SCHEMA1  "application/vnd.docker.distribution.manifest.v1"

#define ACCEPT_MANIFESTS                                                                           \
	"Accept: " MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST

#define MANIFEST_MAX   (8u << 20)
#define ERROR_BODY_MAX (64u << 10)
#define TOKEN_BODY_MAX (1u << 20)
#define QUEUE_MAX      (8u << 20) /* bytes a download may run ahead of its worker */
#define QUEUE_LOW      (QUEUE_MAX / 2)
#define CURL_BUFFER    (256u << 10)
#define PROGRESS_EVERY (100ull * 1000 * 1000)
#define BACKOFF_FIRST  (250ull * 1000 * 1000)
#define BACKOFF_MAX    (8ull * 1000 * 1000 * 1000)

/* ---------------------------------------------------------------- pure */

/* jansson's own json_decrefp (2.11+) releases a json_t * when it leaves scope. */
#define _cleanup_json_ _cleanup_(json_decrefp)

void cb_auth_challenge_release(struct cb_auth_challenge *c)
{
	if (!c)
		return;
	free(c->realm);
	free(c->service);
	free(c->scope);
	*c = (struct cb_auth_challenge){0};
}

static bool is_token_char(char c)
{
	return c && !isspace((unsigned char)c) && !strchr("\",=", c);
}

int cb_auth_challenge_parse(const char *header, struct cb_auth_challenge *ret)
{
	struct cb_auth_challenge c = {0};
	const char *p = header;
	while (isspace((unsigned char)*p))
		p++;
	size_t n = strcspn(p, " \t");
	if (n == 6 && strncasecmp(p, "bearer", 6) == 0)
		c.scheme = CB_AUTH_SCHEME_BEARER;
	else if (n == 5 && strncasecmp(p, "basic", 5) == 0)
		c.scheme = CB_AUTH_SCHEME_BASIC;
	else
		return -EINVAL;
	p += n;
	int r = -EINVAL;
	for (;;) {
		while (isspace((unsigned char)*p) || *p == ',')
			p++;
		if (!*p)
			break;
		const char *name = p;
		while (is_token_char(*p))
			p++;
		size_t name_len = p - name;
		while (isspace((unsigned char)*p))
			p++;
		if (name_len == 0 || *p != '=')
			goto fail;
		p++;
		while (isspace((unsigned char)*p))
			p++;
		_cleanup_free_ char *value = malloc(strlen(p) + 1);
		if (!value) {
			r = -ENOMEM;
			goto fail;
		}
		size_t vlen = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				value[vlen++] = *p++;
			}
			if (*p != '"')
				goto fail;
			p++;
		} else {
			while (is_token_char(*p))
				value[vlen++] = *p++;
		}
		value[vlen] = '\0';
		char **slot = NULL;
		if (name_len == 5 && strncasecmp(name, "realm", 5) == 0)
			slot = &c.realm;
		else if (name_len == 7 && strncasecmp(name, "service", 7) == 0)
			slot = &c.service;
		else if (name_len == 5 && strncasecmp(name, "scope", 5) == 0)
			slot = &c.scope;
		if (slot) {
			free(*slot);
			*slot = TAKE_PTR(value);
		}
		while (isspace((unsigned char)*p))
			p++;
		if (*p && *p != ',')
			goto fail;
	}
	if (c.scheme == CB_AUTH_SCHEME_BEARER && (!c.realm || !c.realm[0]))
		goto fail;
	*ret = c;
	return 0;
fail:
	cb_auth_challenge_release(&c);
	return r;
}

const char *cb_registry_api_host(const char *domain)
{
	if (strcmp(domain, "docker.io") == 0 || strcmp(domain, "index.docker.io") == 0)
		return "registry-1.docker.io";
	return domain;
}

bool cb_registry_is_local(const char *domain)
{
	char host[256];
	if (domain[0] == '[') {
		const char *end = strchr(domain, ']');
		if (!end || (size_t)(end - domain - 1) >= sizeof(host))
			return false;
		memcpy(host, domain + 1, end - domain - 1);
		host[end - domain - 1] = '\0';
		if (end[1] && end[1] != ':')
			return false;
		struct in6_addr a6;
		return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	size_t n = strcspn(domain, ":");
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, domain, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return true;
	struct in_addr a4;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

int cb_registry_url(const char *scheme, const char *domain, const char *repository,
		    const char *kind, const char *reference, char **ret)
{
	const char *host = cb_registry_api_host(domain);
	int n = repository ? asprintf(ret, "%s://%s/v2/%s/%s/%s", scheme, host, repository, kind,
				      reference)
			   : asprintf(ret, "%s://%s/v2/", scheme, host);
	return n < 0 ? -ENOMEM : 0;
}

/* Append s percent-encoded (RFC 3986 unreserved characters stay). */
static int append_escaped(char **out, size_t *len, const char *s)
{
	size_t need = *len + 3 * strlen(s) + 1;
	char *grown = realloc(*out, need);
	if (!grown)
		return -ENOMEM;
	*out = grown;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p))
			grown[(*len)++] = (char)*p;
		else
			*len += sprintf(grown + *len, "%%%02X", *p);
	}
	grown[*len] = '\0';
	return 0;
}

static int append_raw(char **out, size_t *len, const char *s)
{
	size_t n = strlen(s);
	char *grown = realloc(*out, *len + n + 1);
	if (!grown)
		return -ENOMEM;
	memcpy(grown + *len, s, n + 1);
	*out = grown;
	*len += n;
	return 0;
}

int cb_registry_token_url(const struct cb_auth_challenge *c, const char *scope, char **ret)
{
	if (!c->realm)
		return -EINVAL;
	_cleanup_free_ char *url = NULL;
	size_t len = 0;
	char sep = strchr(c->realm, '?') ? '&' : '?';
	int r = append_raw(&url, &len, c->realm);
	if (r < 0)
		return r;
	if (c->service) {
		char lead[] = {sep, 0};
		if ((r = append_raw(&url, &len, lead)) < 0 ||
		    (r = append_raw(&url, &len, "service=")) < 0 ||
		    (r = append_escaped(&url, &len, c->service)) < 0)
			return r;
		sep = '&';
	}
	if (!scope)
		scope = c->scope;
	if (scope) {
		char lead[] = {sep, 0};
		if ((r = append_raw(&url, &len, lead)) < 0 ||
		    (r = append_raw(&url, &len, "scope=")) < 0 ||
		    (r = append_escaped(&url, &len, scope)) < 0)
			return r;
	}
	*ret = TAKE_PTR(url);
	return 0;
}

int cb_registry_parse_token(const char *json, size_t len, char **ret_token)
{
	_cleanup_json_ json_t *root = json_loadb(json, len, 0, NULL);
	if (!root || !json_is_object(root))
		return -EINVAL;
	const char *tok = json_string_value(json_object_get(root, "token"));
	if (!tok || !tok[0])
		tok = json_string_value(json_object_get(root, "access_token"));
	if (!tok || !tok[0])
		return -EINVAL;
	*ret_token = strdup(tok);
	return *ret_token ? 0 : -ENOMEM;
}

/* Messages start lowercase ("Manifest unknown." -> "manifest unknown"),
 * but names stay as they are ("OpenSSL/3.0: ..."). */
static void lowercase_first_word(char *s)
{
	size_t n = strcspn(s, " /:");
	for (size_t i = 1; i < n; i++)
		if (isupper((unsigned char)s[i]))
			return;
	s[0] = (char)tolower((unsigned char)s[0]);
}

bool cb_registry_error_message(const char *body, size_t len, char *out, size_t outlen)
{
	if (!body || len == 0)
		return false;
	_cleanup_json_ json_t *root = json_loadb(body, len, 0, NULL);
	json_t *errors = root ? json_object_get(root, "errors") : NULL;
	json_t *first = json_is_array(errors) ? json_array_get(errors, 0) : NULL;
	if (!json_is_object(first))
		return false;
	const char *msg = json_string_value(json_object_get(first, "message"));
	const char *code = json_string_value(json_object_get(first, "code"));
	if (msg && msg[0])
		snprintf(out, outlen, "%s", msg);
	else if (code && code[0])
		snprintf(out, outlen, "%s", code);
	else
		return false;
	/* Registries write "Manifest unknown." as well as "manifest unknown". */
	lowercase_first_word(out);
	size_t n = strlen(out);
	while (n > 0 && (out[n - 1] == '.' || isspace((unsigned char)out[n - 1])))
		out[--n] = '\0';
	return true;
}

/* ---------------------------------------------------------- responses */

struct buf {
	char *data;
	size_t len, cap, max;
	bool overflow;
};

static bool buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->max) {
		b->overflow = true;
		return false;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = MAX(b->cap * 2, b->len + n + 1);
		cap = MAX(cap, (size_t)4096);
		char *grown = realloc(b->data, cap);
		if (!grown) {
			b->overflow = true;
			return false;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

struct response {
	long status;
	char *content_type;
	char *docker_digest;
	char *www_authenticate;
	int64_t range_start; /* from Content-Range, -1 when absent */
	struct buf body;
};

static void response_reset_headers(struct response *resp)
{
	free(resp->content_type);
	free(resp->docker_digest);
	free(resp->www_authenticate);
	resp->content_type = resp->docker_digest = resp->www_authenticate = NULL;
	resp->range_start = -1;
}

static void response_release(struct response *resp)
{
	response_reset_headers(resp);
	free(resp->body.data);
	*resp = (struct response){.range_start = -1};
}

static void response_init(struct response *resp, size_t max)
{
	*resp = (struct response){.range_start = -1, .body = {.max = max}};
}

static bool header_is(const char *name, size_t len, const char *want)
{
	return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct response *resp = userdata;
	size_t n = size * nmemb;
	/* A new status line: the headers of a redirect are not the answer's. */
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		response_reset_headers(resp);
		return n;
	}
	const char *colon = memchr(p, ':', n);
	if (!colon)
		return n;
	size_t name_len = colon - p;
	const char *v = colon + 1, *end = p + n;
	while (v < end && isspace((unsigned char)*v))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	char **slot = NULL;
	if (header_is(p, name_len, "content-type"))
		slot = &resp->content_type;
	else if (header_is(p, name_len, "docker-content-digest"))
		slot = &resp->docker_digest;
	else if (header_is(p, name_len, "www-authenticate")) {
		/* Prefer a Bearer challenge when a server offers several. */
		if (!resp->www_authenticate || strncasecmp(v, "bearer", 6) == 0)
			slot = &resp->www_authenticate;
	} else if (header_is(p, name_len, "content-range")) {
		unsigned long long start;
		if (sscanf(v, "bytes %llu-", &start) == 1)
			resp->range_start = (int64_t)start;
	}
	if (slot) {
		free(*slot);
		*slot = strndup(v, end - v);
	}
	return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct response *resp = userdata;
	size_t n = size * nmemb;
	return buf_append(&resp->body, p, n) ? n : 0;
}

/* ------------------------------------------------------------- client */

enum auth_kind { AUTH_NONE, AUTH_BASIC, AUTH_BEARER };

struct cb_registry {
	char *domain;
	char *repository; /* NULL for login */
	const char *scheme;
	bool http_allowed;
	struct cb_registry_options o;
	char *username, *password;
	bool credentials_looked_up;
	enum auth_kind auth;
	char *token;
	unsigned auth_generation;
	bool pinged;
	CURLM *multi; /* for one request at a time */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;
static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cb_registry_new(const char *domain, const char *repository,
		    const struct cb_registry_options *options, struct cb_registry **ret,
		    struct cb_error *err)
{
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return cb_error_set(err, EIO, "libcurl: %s", curl_easy_strerror(curl_init_result));
	struct cb_registry *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (options)
		r->o = *options;
	r->o.username = r->o.password = NULL;
	if (!r->o.retries)
		r->o.retries = 5;
	if (!r->o.connect_timeout)
		r->o.connect_timeout = 30;
	if (!r->o.stall_timeout)
		r->o.stall_timeout = 60;
	r->domain = strdup(domain);
	r->repository = repository ? strdup(repository) : NULL;
	r->multi = curl_multi_init();
	if (options && options->username) {
		r->username = strdup(options->username);
		r->password = strdup(options->password ? options->password : "");
		r->credentials_looked_up = true;
		if (!r->username || !r->password)
			goto oom;
	}
	if (!r->domain || (repository && !r->repository) || !r->multi)
		goto oom;
	r->http_allowed =
	    r->o.tls_verify == CB_TLS_VERIFY_NO ||
	    (r->o.tls_verify == CB_TLS_VERIFY_DEFAULT && cb_registry_is_local(domain));
	r->scheme = "https";
	*ret = r;
	return 0;
oom:
	cb_registry_free(r);
	return -ENOMEM;
}

void cb_registry_free(struct cb_registry *r)
{
	if (!r)
		return;
	if (r->multi)
		curl_multi_cleanup(r->multi);
	free(r->domain);
	free(r->repository);
	if (r->password)
		explicit_bzero(r->password, strlen(r->password));
	free(r->username);
	free(r->password);
	if (r->token)
		explicit_bzero(r->token, strlen(r->token));
	free(r->token);
	free(r);
}

const char *cb_registry_scheme(const struct cb_registry *r)
{
	return r->scheme;
}

/* "domain/repository:tag", "domain/repository@digest" or "domain". */
static const char *name_of(const struct cb_registry *r, const char *reference, char *buf,
			   size_t len)
{
	if (!r->repository)
		snprintf(buf, len, "%s", r->domain);
	else if (!reference)
		snprintf(buf, len, "%s/%s", r->domain, r->repository);
	else
		snprintf(buf, len, "%s/%s%c%s", r->domain, r->repository,
			 strchr(reference, ':') ? '@' : ':', reference);
	return buf;
}

static void apply_auth(const struct cb_registry *r, CURL *e)
{
	switch (r->auth) {
	case AUTH_BASIC:
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, r->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, r->password);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, NULL);
		break;
	case AUTH_BEARER:
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, r->token);
		curl_easy_setopt(e, CURLOPT_USERNAME, NULL);
		curl_easy_setopt(e, CURLOPT_PASSWORD, NULL);
		break;
	case AUTH_NONE:
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_NONE);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, NULL);
		curl_easy_setopt(e, CURLOPT_USERNAME, NULL);
		curl_easy_setopt(e, CURLOPT_PASSWORD, NULL);
		break;
	}
}

/* Options every request shares. Credentials set with CURLOPT_USERNAME or
 * CURLOPT_XOAUTH2_BEARER are sent only to the host of the first URL
 * (CURLOPT_UNRESTRICTED_AUTH stays 0), so a redirect to a blob store on
 * another host never gets them. */
static CURL *new_easy(const struct cb_registry *r, const char *url, struct response *resp,
		      char *errbuf)
{
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, r->http_allowed ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)r->o.connect_timeout);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)r->o.stall_timeout);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	/* curl reads up to 100 buffers before it looks at the rate limit again,
	 * so a large buffer would defeat max_recv_speed on a fast link. */
	if (!r->o.max_recv_speed)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)CURL_BUFFER);
	if (r->o.tls_verify == CB_TLS_VERIFY_NO) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (r->o.max_recv_speed)
		curl_easy_setopt(e, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)r->o.max_recv_speed);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, resp);
	if (errbuf) {
		errbuf[0] = '\0';
		curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	}
	apply_auth(r, e);
	return e;
}

/* Drive one request to its end on r's multi handle. */
static CURLcode run_one(struct cb_registry *r, CURL *e)
{
	if (curl_multi_add_handle(r->multi, e) != CURLM_OK)
		return CURLE_FAILED_INIT;
	CURLcode res = CURLE_FAILED_INIT;
	for (;;) {
		int running;
		if (curl_multi_perform(r->multi, &running) != CURLM_OK)
			break;
		CURLMsg *m;
		int queued;
		bool done = false;
		while ((m = curl_multi_info_read(r->multi, &queued)))
			if (m->msg == CURLMSG_DONE && m->easy_handle == e) {
				res = m->data.result;
				done = true;
			}
		if (done)
			break;
		curl_multi_poll(r->multi, NULL, 0, 1000, NULL);
	}
	curl_multi_remove_handle(r->multi, e);
	return res;
}

static bool curl_retryable(CURLcode res)
{
	switch (res) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static int curl_errno(CURLcode res)
{
	switch (res) {
	case CURLE_COULDNT_CONNECT:
		return ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return ENOMEM;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return ECONNRESET;
	default:
		return EIO;
	}
}

static bool status_retryable(long status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

static uint64_t backoff_ns(unsigned attempt)
{
	uint64_t d = BACKOFF_FIRST << MIN(attempt, 10u);
	return MIN(d, BACKOFF_MAX);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A curl failure as one line: "couldn't connect to server (...)". */
static void describe_curl(CURLcode res, const char *errbuf, char *out, size_t len)
{
	snprintf(out, len, "%s", errbuf && errbuf[0] ? errbuf : curl_easy_strerror(res));
	lowercase_first_word(out);
	if (res == CURLE_SSL_CONNECT_ERROR) {
		size_t n = strlen(out);
		snprintf(out + n, len - n,
			 " (TLS handshake failed; a plain HTTP registry needs "
			 "--tls-verify=false)");
	}
}

struct request {
	const char *url;
	const char *accept; /* a full "Accept: ..." header or NULL */
	size_t max;	    /* body limit */
	unsigned retries;
	bool basic_with_credentials; /* token servers: send user:password */
	bool no_auth;
};

/* One GET, retried on transient failures. On return resp holds the last
 * answer; a failure to get any answer is an error naming `what`. */
static int request_get(struct cb_registry *r, const struct request *q, struct response *resp,
		       CURLcode *ret_res, const char *what, struct cb_error *err)
{
	char errbuf[CURL_ERROR_SIZE];
	CURLcode res = CURLE_OK;
	for (unsigned attempt = 0;; attempt++) {
		response_release(resp);
		response_init(resp, q->max);
		CURL *e = new_easy(r, q->url, resp, errbuf);
		if (!e)
			return cb_error_set(err, ENOMEM, "%s: out of memory", what);
		struct curl_slist *headers = NULL;
		if (q->accept)
			headers = curl_slist_append(headers, q->accept);
		if (headers)
			curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
		if (q->no_auth || q->basic_with_credentials) {
			enum auth_kind saved = r->auth;
			r->auth = q->basic_with_credentials && r->username ? AUTH_BASIC : AUTH_NONE;
			apply_auth(r, e);
			r->auth = saved;
		}
		res = run_one(r, e);
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
		curl_easy_cleanup(e);
		curl_slist_free_all(headers);
		if (res == CURLE_WRITE_ERROR && resp->body.overflow)
			return cb_error_set(err, EFBIG, "%s: answer larger than %zu bytes", what,
					    q->max);
		bool again = res != CURLE_OK ? curl_retryable(res) : status_retryable(resp->status);
		if (!again || attempt >= q->retries)
			break;
		sleep_ns(backoff_ns(attempt));
	}
	if (ret_res)
		*ret_res = res;
	if (res != CURLE_OK) {
		char msg[CURL_ERROR_SIZE + 64];
		describe_curl(res, errbuf, msg, sizeof(msg));
		return cb_error_set(err, curl_errno(res), "%s: %s", what, msg);
	}
	return 0;
}

/* An HTTP failure as "what: message (HTTP n)". */
static int http_error(const struct response *resp, const char *what, struct cb_error *err)
{
	char msg[512];
	int code = resp->status == 404				? ENOENT
		   : resp->status == 401 || resp->status == 403 ? EACCES
		   : resp->status == 429			? EAGAIN
								: EIO;
	if (!cb_registry_error_message(resp->body.data, resp->body.len, msg, sizeof(msg)))
		snprintf(msg, sizeof(msg), "%s",
			 resp->status == 404   ? "not found"
			 : resp->status == 401 ? "authentication required"
			 : resp->status == 403 ? "access denied"
					       : "unexpected answer");
	return cb_error_set(err, code, "%s: %s (HTTP %ld)", what, msg, resp->status);
}

static int load_credentials(struct cb_registry *r, struct cb_error *err)
{
	if (r->credentials_looked_up)
		return 0;
	int k = cb_auth_lookup(r->domain, &r->username, &r->password, NULL, err);
	if (k < 0 && k != -ENOENT)
		return k;
	r->credentials_looked_up = true;
	return 0;
}

/* Ask the token server of a Bearer challenge for a pull token, with the
 * user's credentials when there are some. */
static int fetch_token(struct cb_registry *r, const struct cb_auth_challenge *ch, const char *name,
		       struct cb_error *err)
{
	_cleanup_free_ char *scope = NULL, *url = NULL, *token = NULL;
	if (r->repository && asprintf(&scope, "repository:%s:pull", r->repository) < 0)
		return -ENOMEM;
	int k = cb_registry_token_url(ch, scope, &url);
	if (k < 0)
		return k;
	struct response resp;
	response_init(&resp, TOKEN_BODY_MAX);
	struct request q = {.url = url,
			    .max = TOKEN_BODY_MAX,
			    .retries = r->o.retries,
			    .basic_with_credentials = true};
	char what[600];
	snprintf(what, sizeof(what), "%s: token from %s", name, ch->realm);
	k = request_get(r, &q, &resp, NULL, what, err);
	if (k >= 0 && resp.status != 200) {
		if ((resp.status == 401 || resp.status == 403) && r->username)
			k = cb_error_set(err, EACCES, "%s: wrong username or password", name);
		else
			k = http_error(&resp, what, err);
	}
	if (k >= 0 && cb_registry_parse_token(resp.body.data, resp.body.len, &token) < 0)
		k = cb_error_set(err, EPROTO, "%s: no token in the answer", what);
	response_release(&resp);
	if (k < 0)
		return k;
	if (r->token)
		explicit_bzero(r->token, strlen(r->token));
	free(r->token);
	r->token = TAKE_PTR(token);
	r->auth = AUTH_BEARER;
	r->auth_generation++;
	return 0;
}

/* Answer a challenge: fetch a token, or switch to Basic auth. */
static int authenticate(struct cb_registry *r, const char *header, struct cb_error *err)
{
	char name[512];
	name_of(r, NULL, name, sizeof(name));
	struct cb_auth_challenge ch = {0};
	if (!header || cb_auth_challenge_parse(header, &ch) < 0)
		return cb_error_set(err, EACCES,
				    "%s: authentication required, but the challenge "
				    "'%s' is not Bearer or Basic",
				    name, header ? header : "(none)");
	int k = load_credentials(r, err);
	if (k >= 0 && ch.scheme == CB_AUTH_SCHEME_BASIC) {
		if (!r->username) {
			k = cb_error_set(err, EACCES,
					 "%s: authentication required (try `cowbox login %s`)",
					 name, r->domain);
		} else {
			r->auth = AUTH_BASIC;
			r->auth_generation++;
		}
	} else if (k >= 0) {
		k = fetch_token(r, &ch, name, err);
	}
	cb_auth_challenge_release(&ch);
	return k;
}

int cb_registry_ping(struct cb_registry *r, struct cb_error *err)
{
	if (r->pinged)
		return 0;
	char name[512];
	name_of(r, NULL, name, sizeof(name));
	struct response resp;
	response_init(&resp, ERROR_BODY_MAX);
	int k = 0;
	const char *schemes[] = {"https", "http"};
	for (size_t i = 0; i < (r->http_allowed ? 2u : 1u); i++) {
		_cleanup_free_ char *url = NULL;
		if ((k = cb_registry_url(schemes[i], r->domain, NULL, NULL, NULL, &url)) < 0)
			goto out;
		/* When HTTP may follow, a failed HTTPS attempt is not retried; a
		 * registry that is not there at all is not waited for long. */
		bool last = i + 1 == (r->http_allowed ? 2u : 1u);
		struct request q = {.url = url,
				    .max = ERROR_BODY_MAX,
				    .retries = last ? MIN(r->o.retries, 2u) : 0,
				    .no_auth = true};
		struct cb_error tmp = {0};
		CURLcode res = CURLE_OK;
		k = request_get(r, &q, &resp, &res, name, last ? err : &tmp);
		if (k >= 0) {
			r->scheme = schemes[i];
			break;
		}
		/* A server that speaks TLS with a certificate we do not trust is
		 * not a plain HTTP server: say so instead of trying HTTP. */
		if (!last && res == CURLE_PEER_FAILED_VERIFICATION) {
			k = cb_error_set(err, tmp.code,
					 "%s (use --tls-verify=false to skip the check)", tmp.msg);
			break;
		}
	}
	if (k < 0)
		goto out;
	if (resp.status == 401) {
		k = authenticate(r, resp.www_authenticate, err);
		if (k < 0 || r->auth != AUTH_BASIC)
			goto out;
		/* Basic: the registry checks the password on any request. */
		_cleanup_free_ char *url = NULL;
		if ((k = cb_registry_url(r->scheme, r->domain, NULL, NULL, NULL, &url)) < 0)
			goto out;
		struct request q = {.url = url, .max = ERROR_BODY_MAX, .retries = r->o.retries};
		k = request_get(r, &q, &resp, NULL, name, err);
		if (k >= 0 && resp.status == 401)
			k = cb_error_set(err, EACCES, "%s: wrong username or password", name);
		else if (k >= 0 && resp.status != 200)
			k = http_error(&resp, name, err);
	} else if (resp.status == 404) {
		k = cb_error_set(err, EPROTO, "%s: not a registry (GET /v2/ answered 404)", name);
	} else if (resp.status != 200) {
		k = http_error(&resp, name, err);
	}
out:
	response_release(&resp);
	if (k >= 0)
		r->pinged = true;
	return k < 0 ? k : 0;
}

/* GET an URL of the repository with retries and one re-authentication. */
static int repo_get(struct cb_registry *r, const char *kind, const char *reference,
		    const char *accept, size_t max, struct response *resp, const char *what,
		    struct cb_error *err)
{
	int k = cb_registry_ping(r, err);
	if (k < 0)
		return k;
	_cleanup_free_ char *url = NULL;
	if ((k = cb_registry_url(r->scheme, r->domain, r->repository, kind, reference, &url)) < 0)
		return k;
	struct request q = {.url = url, .accept = accept, .max = max, .retries = r->o.retries};
	for (int round = 0;; round++) {
		k = request_get(r, &q, resp, NULL, what, err);
		if (k < 0)
			return k;
		if (resp->status != 401 || round > 0)
			break;
		/* A token for another scope, or one that expired. */
		_cleanup_free_ char *challenge =
		    resp->www_authenticate ? strdup(resp->www_authenticate) : NULL;
		if ((k = authenticate(r, challenge, err)) < 0)
			return k;
	}
	if (resp->status == 401 && r->username)
		return cb_error_set(err, EACCES, "%s: access denied for user %s", what,
				    r->username);
	if (resp->status != 200)
		return http_error(resp, what, err);
	return 0;
}

static bool is_schema1(const char *content_type, const char *data, size_t len)
{
	if (content_type &&
	    strncmp(content_type, MT_DOCKER_SCHEMA1, strlen(MT_DOCKER_SCHEMA1)) == 0)
		return true;
	_cleanup_json_ json_t *root = json_loadb(data, len, 0, NULL);
	json_t *v = root ? json_object_get(root, "schemaVersion") : NULL;
	return json_is_integer(v) && json_integer_value(v) == 1;
}

int cb_registry_get_manifest(struct cb_registry *r, const char *reference, char **ret_data,
			     size_t *ret_len, char **ret_media_type,
			     char ret_digest[CB_DIGEST_SIZE], struct cb_error *err)
{
	char what[600];
	name_of(r, reference, what, sizeof(what));
	bool by_digest = strchr(reference, ':') != NULL;
	if (by_digest && !cb_digest_valid(reference))
		return cb_error_set(err, EINVAL, "%s: only sha256 digests are supported", what);
	struct response resp;
	response_init(&resp, MANIFEST_MAX);
	int k =
	    repo_get(r, "manifests", reference, ACCEPT_MANIFESTS, MANIFEST_MAX, &resp, what, err);
	if (k < 0)
		goto out;
	if (is_schema1(resp.content_type, resp.body.data, resp.body.len)) {
		k = cb_error_set(err, EOPNOTSUPP,
				 "%s: unsupported manifest: Docker schema 1 (push the image again "
				 "with a current client)",
				 what);
		goto out;
	}
	char digest[CB_DIGEST_SIZE];
	cb_digest_of(resp.body.data ? resp.body.data : "", resp.body.len, digest);
	if (by_digest && strcmp(digest, reference) != 0) {
		k = cb_error_set(err, EBADMSG, "%s: manifest digest mismatch: got %s", what,
				 digest);
		goto out;
	}
	if (resp.docker_digest && strncmp(resp.docker_digest, "sha256:", 7) == 0 &&
	    strcmp(resp.docker_digest, digest) != 0) {
		k = cb_error_set(err, EBADMSG,
				 "%s: manifest digest mismatch: got %s, Docker-Content-Digest "
				 "says %s",
				 what, digest, resp.docker_digest);
		goto out;
	}
	char *media_type = NULL;
	if (ret_media_type && resp.content_type) {
		size_t n = strcspn(resp.content_type, "; ");
		if (!(media_type = strndup(resp.content_type, n))) {
			k = -ENOMEM;
			goto out;
		}
	}
	if (!resp.body.data && !(resp.body.data = strdup(""))) {
		free(media_type);
		k = -ENOMEM;
		goto out;
	}
	*ret_data = TAKE_PTR(resp.body.data);
	if (ret_len)
		*ret_len = resp.body.len;
	if (ret_media_type)
		*ret_media_type = media_type;
	memcpy(ret_digest, digest, CB_DIGEST_SIZE);
	k = 0;
out:
	response_release(&resp);
	return k;
}

int cb_registry_get_blob(struct cb_registry *r, const char *digest, size_t max, char **ret_data,
			 size_t *ret_len, struct cb_error *err)
{
	char what[600];
	name_of(r, digest, what, sizeof(what));
	if (!cb_digest_valid(digest))
		return cb_error_set(err, EINVAL, "%s: only sha256 digests are supported", what);
	struct response resp;
	response_init(&resp, max);
	int k = repo_get(r, "blobs", digest, NULL, max, &resp, what, err);
	if (k >= 0) {
		char got[CB_DIGEST_SIZE];
		cb_digest_of(resp.body.data ? resp.body.data : "", resp.body.len, got);
		if (strcmp(got, digest) != 0)
			k = cb_error_set(err, EBADMSG, "%s: digest mismatch: got %s", what, got);
	}
	if (k >= 0 && !resp.body.data && !(resp.body.data = strdup("")))
		k = -ENOMEM;
	if (k >= 0) {
		*ret_data = TAKE_PTR(resp.body.data);
		if (ret_len)
			*ret_len = resp.body.len;
		k = 0;
	}
	response_release(&resp);
	return k;
}

/* ---------------------------------------------------- streaming blobs */

struct chunk {
	struct chunk *next;
	size_t len;
	bool reset; /* start again from byte 0 */
	char data[];
};

struct transfer {
	struct cb_registry *r;
	struct cb_blob_fetch *f;
	size_t index;
	CURLM *multi;
	CURL *easy;
	char *url;
	struct response resp; /* headers, and the body of a failed answer */
	char errbuf[CURL_ERROR_SIZE];
	enum cb_fetch_state state;
	unsigned attempts;
	unsigned auth_generation;
	bool reauthed;
	bool no_range;	 /* the server answered a Range with the wrong bytes */
	bool started;	 /* worker running */
	bool in_multi;	 /* easy added to the multi handle */
	bool checked;	 /* status of this attempt looked at */
	bool to_sink;	 /* this attempt's body is the blob */
	bool paused;	 /* CURL_WRITEFUNC_PAUSE returned */
	bool too_big;	 /* more bytes than the manifest said */
	bool downloaded; /* every byte queued, EOF sent */
	bool failed;	 /* failed by the loop; f->err says why */
	bool joined;
	uint64_t offset;	 /* bytes queued since the last reset */
	uint64_t attempt_offset; /* offset when this attempt started */
	uint64_t retry_at;	 /* CLOCK_MONOTONIC ns */
	uint64_t reported_at;
	uint64_t reported_bytes;

	/* Shared with the worker, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	struct chunk *head, *tail;
	size_t queued;
	bool eof, cancel, want_wake, worker_done;
	int worker_result;
	struct cb_hasher *hasher; /* the worker's */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The worker: feeds the blob's bytes to write() and hashes them itself.
 * When write() fails the rest is still read and hashed, so that a blob the
 * registry serves corrupted is reported as a digest mismatch rather than
 * as whatever the corruption did to decompression. */
static void *worker_main(void *p)
{
	struct transfer *t = p;
	struct cb_blob_fetch *f = t->f;
	int k = 0, sink_r = 0;
	for (;;) {
		pthread_mutex_lock(&t->mu);
		while (!t->head && !t->eof && !t->cancel)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->cancel) {
			pthread_mutex_unlock(&t->mu);
			k = 1;
			break;
		}
		struct chunk *c = t->head;
		if (!c) {
			pthread_mutex_unlock(&t->mu);
			char got[CB_DIGEST_SIZE];
			cb_hasher_final(t->hasher, got);
			if (strcmp(got, f->digest) != 0) {
				char what[600];
				cb_error_clear(&f->err);
				k = cb_error_set(&f->err, EBADMSG, "%s: digest mismatch: got %s",
						 name_of(t->r, f->digest, what, sizeof(what)), got);
			} else if (sink_r < 0) {
				k = sink_r;
			} else {
				k = f->finish ? f->finish(f->userdata, &f->err) : 0;
				if (k > 0)
					k = 0;
			}
			break;
		}
		t->head = c->next;
		if (!t->head)
			t->tail = NULL;
		t->queued -= c->len;
		bool wake = t->want_wake && t->queued <= QUEUE_LOW;
		if (wake)
			t->want_wake = false;
		pthread_mutex_unlock(&t->mu);
		if (wake)
			curl_multi_wakeup(t->multi);
		if (c->reset) {
			cb_hasher_reset(t->hasher);
			cb_error_clear(&f->err);
			sink_r = 0;
			k = f->restart ? f->restart(f->userdata, &f->err) : -EIO;
		} else {
			cb_hasher_update(t->hasher, c->data, c->len);
			if (sink_r >= 0)
				sink_r = f->write(f->userdata, c->data, c->len, &f->err);
			/* A cancelled sibling wait is no reason to read on. */
			k = sink_r == -ECANCELED ? sink_r : 0;
		}
		free(c);
		if (k < 0)
			break;
	}
	if (k < 0)
		cb_error_ensure(&f->err, k, "%s", f->digest);
	pthread_mutex_lock(&t->mu);
	t->worker_result = k;
	t->worker_done = true;
	pthread_mutex_unlock(&t->mu);
	curl_multi_wakeup(t->multi);
	return NULL;
}

/* Queue a chunk for the worker; false when the worker is gone. */
static bool queue_push(struct transfer *t, const void *data, size_t len, bool reset)
{
	struct chunk *c = malloc(sizeof(*c) + len);
	if (!c)
		return false;
	c->next = NULL;
	c->len = len;
	c->reset = reset;
	if (len)
		memcpy(c->data, data, len);
	pthread_mutex_lock(&t->mu);
	if (t->worker_done) {
		pthread_mutex_unlock(&t->mu);
		free(c);
		return false;
	}
	if (t->tail)
		t->tail->next = c;
	else
		t->head = c;
	t->tail = c;
	t->queued += len;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	return true;
}

static size_t on_blob_data(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;
	if (!t->checked) {
		t->checked = true;
		long status = 0;
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
		t->resp.status = status;
		t->to_sink = false;
		if (status == 206 && t->offset > 0 && t->resp.range_start == (int64_t)t->offset) {
			t->to_sink = true;
		} else if (status == 200) {
			if (t->offset > 0) {
				if (!queue_push(t, NULL, 0, true))
					return 0;
				t->offset = 0;
			}
			t->to_sink = true;
		} else if (status == 206) {
			t->no_range = true;
		}
	}
	if (!t->to_sink) {
		buf_append(&t->resp.body, p, n);
		return n;
	}
	if (t->f->size && t->offset + n > t->f->size) {
		t->too_big = true;
		return 0;
	}
	pthread_mutex_lock(&t->mu);
	bool full = t->queued >= QUEUE_MAX && !t->worker_done;
	if (full)
		t->want_wake = true;
	pthread_mutex_unlock(&t->mu);
	if (full) {
		t->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (!queue_push(t, p, n, false))
		return 0;
	t->offset += n;
	t->f->received = t->offset;
	return n;
}

static int transfer_add(struct transfer *t)
{
	response_release(&t->resp);
	response_init(&t->resp, ERROR_BODY_MAX);
	t->checked = t->to_sink = t->paused = t->too_big = false;
	t->errbuf[0] = '\0';
	t->attempt_offset = t->offset;
	if (!t->easy) {
		t->easy = new_easy(t->r, t->url, &t->resp, t->errbuf);
		if (!t->easy)
			return -ENOMEM;
		curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_blob_data);
		curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
		curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	}
	if (t->auth_generation != t->r->auth_generation) {
		apply_auth(t->r, t->easy);
		t->auth_generation = t->r->auth_generation;
	}
	char range[32];
	if (t->offset > 0 && !t->no_range) {
		snprintf(range, sizeof(range), "%llu-", (unsigned long long)t->offset);
		curl_easy_setopt(t->easy, CURLOPT_RANGE, range);
	} else {
		curl_easy_setopt(t->easy, CURLOPT_RANGE, NULL);
	}
	if (curl_multi_add_handle(t->multi, t->easy) != CURLM_OK)
		return -EIO;
	t->in_multi = true;
	return 0;
}

static void transfer_remove(struct transfer *t)
{
	if (t->in_multi) {
		curl_multi_remove_handle(t->multi, t->easy);
		t->in_multi = false;
	}
	t->paused = false;
}

static int transfer_start(struct transfer *t, struct cb_error *err)
{
	char what[600];
	name_of(t->r, t->f->digest, what, sizeof(what));
	int k = cb_registry_url(t->r->scheme, t->r->domain, t->r->repository, "blobs", t->f->digest,
				&t->url);
	if (k < 0)
		return k;
	t->hasher = cb_hasher_new();
	if (!t->hasher)
		return -ENOMEM;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->auth_generation = t->r->auth_generation;
	k = -pthread_create(&t->thread, NULL, worker_main, t);
	if (k < 0) {
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
		return cb_error_errno(err, k, "%s: start worker", what);
	}
	t->started = true;
	t->state = CB_FETCH_DOWNLOADING;
	return transfer_add(t);
}

/* Stop the worker (if it still runs) and free what the transfer holds. */
static void transfer_release(struct transfer *t)
{
	transfer_remove(t);
	if (t->started && !t->joined) {
		pthread_mutex_lock(&t->mu);
		t->cancel = true;
		pthread_cond_signal(&t->cv);
		pthread_mutex_unlock(&t->mu);
		pthread_join(t->thread, NULL);
		t->joined = true;
		/* A finish() that ran to the end before the cancel keeps its result. */
		if (t->worker_result == 0 && t->downloaded && !t->failed)
			t->f->result = 0;
	}
	if (t->started) {
		for (struct chunk *c = t->head, *next; c; c = next) {
			next = c->next;
			free(c);
		}
		t->head = t->tail = NULL;
		pthread_cond_destroy(&t->cv);
		pthread_mutex_destroy(&t->mu);
		t->started = false;
	}
	if (t->easy)
		curl_easy_cleanup(t->easy);
	t->easy = NULL;
	cb_hasher_free(t->hasher);
	t->hasher = NULL;
	free(t->url);
	t->url = NULL;
	response_release(&t->resp);
}

static void transfer_fail(struct transfer *t, int code, const char *fmt, ...) _printf_(3, 4);
static void transfer_fail(struct transfer *t, int code, const char *fmt, ...)
{
	char what[600], msg[800];
	name_of(t->r, t->f->digest, what, sizeof(what));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cb_error_set(&t->f->err, code, "%s: %s", what, msg);
	t->failed = true;
	transfer_remove(t);
	pthread_mutex_lock(&t->mu);
	t->cancel = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* The transfer's current attempt ended with res. */
static void transfer_done(struct transfer *t, CURLcode res)
{
	transfer_remove(t);
	long status = t->resp.status;
	if (!t->checked)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	bool worker_gone;
	pthread_mutex_lock(&t->mu);
	worker_gone = t->worker_done;
	pthread_mutex_unlock(&t->mu);
	if (worker_gone)
		return; /* the worker failed; its error is the one to report */
	if (t->too_big)
		return transfer_fail(t, EBADMSG,
				     "blob larger than the %llu bytes the manifest says",
				     (unsigned long long)t->f->size);
	if (res == CURLE_OK && t->to_sink) {
		if (t->f->size && t->offset < t->f->size) {
			/* The server closed cleanly but early: resume. */
			res = CURLE_PARTIAL_FILE;
		} else {
			pthread_mutex_lock(&t->mu);
			t->eof = true;
			pthread_cond_signal(&t->cv);
			pthread_mutex_unlock(&t->mu);
			t->downloaded = true;
			return;
		}
	}
	bool again;
	char msg[CURL_ERROR_SIZE + 64];
	int code;
	if (res != CURLE_OK) {
		again = curl_retryable(res);
		describe_curl(res, t->errbuf, msg, sizeof(msg));
		code = curl_errno(res);
	} else if (status == 401 && !t->reauthed) {
		t->reauthed = true;
		struct cb_error tmp = {0};
		if (t->auth_generation == t->r->auth_generation &&
		    authenticate(t->r, t->resp.www_authenticate, &tmp) < 0)
			return transfer_fail(t, tmp.code, "%s", tmp.msg);
		if (transfer_add(t) < 0)
			return transfer_fail(t, ENOMEM, "out of memory");
		return;
	} else if (status == 206 && t->no_range) {
		again = true;
		code = EIO;
		snprintf(msg, sizeof(msg), "wrong Content-Range in answer to a Range request");
	} else {
		again = status_retryable(status);
		struct cb_error tmp = {0};
		http_error(&t->resp, "blob", &tmp);
		snprintf(msg, sizeof(msg), "%s", tmp.msg + strlen("blob: "));
		code = tmp.code;
	}
	/* An attempt that moved the blob forward is not held against it: a
	 * long transfer may lose its connection more than `retries` times. */
	if (t->offset > t->attempt_offset)
		t->attempts = 0;
	if (again && t->attempts < t->r->o.retries) {
		t->retry_at = now_ns() + backoff_ns(t->attempts);
		t->attempts++;
		t->state = CB_FETCH_RETRYING;
		return;
	}
	if (t->attempts)
		return transfer_fail(t, code, "%s (after %u attempts)", msg, t->attempts + 1);
	transfer_fail(t, code, "%s", msg);
}

static void report(struct transfer *t, cb_fetch_progress_fn progress, void *ud, bool force)
{
	if (!progress)
		return;
	uint64_t now = now_ns();
	if (!force && (now - t->reported_at < PROGRESS_EVERY || t->reported_bytes == t->offset))
		return;
	t->reported_at = now;
	t->reported_bytes = t->offset;
	progress(ud, t->index, t->state, t->offset, t->f->size);
}

int cb_registry_fetch_blobs(struct cb_registry *r, struct cb_blob_fetch *fetches, size_t n,
			    unsigned concurrency, cb_fetch_progress_fn progress,
			    void *progress_userdata, volatile bool *cancel, struct cb_error *err)
{
	for (size_t i = 0; i < n; i++) {
		fetches[i].result = 1;
		fetches[i].received = 0;
		cb_error_clear(&fetches[i].err);
	}
	if (n == 0)
		return 0;
	int k = cb_registry_ping(r, err);
	if (k < 0)
		return k;
	if (!concurrency)
		concurrency = 4;
	CURLM *multi = curl_multi_init();
	if (!multi)
		return -ENOMEM;
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)concurrency);
	_cleanup_free_ struct transfer *ts = calloc(n, sizeof(*ts));
	if (!ts) {
		curl_multi_cleanup(multi);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		ts[i] = (struct transfer){.r = r, .f = &fetches[i], .index = i, .multi = multi};

	size_t next = 0, alive = 0, finished = 0;
	struct transfer *failed = NULL;
	while (finished < n && !failed) {
		while (alive < concurrency && next < n) {
			struct transfer *t = &ts[next++];
			alive++;
			if ((k = transfer_start(t, &t->f->err)) < 0) {
				cb_error_ensure(&t->f->err, k, "%s", t->f->digest);
				t->f->result = k;
				t->failed = true;
				failed = t;
				break;
			}
			report(t, progress, progress_userdata, true);
		}
		if (failed)
			break;
		uint64_t now = now_ns(), wait = PROGRESS_EVERY;
		for (size_t i = 0; i < next; i++) {
			struct transfer *t = &ts[i];
			if (t->state == CB_FETCH_RETRYING && !t->failed) {
				if (t->retry_at <= now) {
					t->state = CB_FETCH_DOWNLOADING;
					if (transfer_add(t) < 0)
						transfer_fail(t, ENOMEM, "out of memory");
					report(t, progress, progress_userdata, true);
				} else {
					wait = MIN(wait, t->retry_at - now);
				}
			}
			if (t->paused) {
				pthread_mutex_lock(&t->mu);
				bool go = t->queued <= QUEUE_LOW || t->worker_done;
				pthread_mutex_unlock(&t->mu);
				if (go) {
					t->paused = false;
					curl_easy_pause(t->easy, CURLPAUSE_CONT);
				}
			}
		}
		int running;
		curl_multi_perform(multi, &running);
		CURLMsg *m;
		int queued;
		while ((m = curl_multi_info_read(multi, &queued))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct transfer *t = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			if (t)
				transfer_done(t, m->data.result);
		}
		for (size_t i = 0; i < next; i++) {
			struct transfer *t = &ts[i];
			if (!t->started || t->joined)
				continue;
			pthread_mutex_lock(&t->mu);
			bool done = t->worker_done;
			pthread_mutex_unlock(&t->mu);
			if (!done)
				continue;
			pthread_join(t->thread, NULL);
			t->joined = true;
			alive--;
			transfer_remove(t);
			if (t->failed || t->worker_result != 0 || !t->downloaded) {
				t->f->result = t->f->err.code ? -t->f->err.code : -EIO;
				t->state = CB_FETCH_FAILED;
				if (!failed)
					failed = t;
			} else {
				t->f->result = 0;
				t->state = CB_FETCH_DONE;
				finished++;
			}
			report(t, progress, progress_userdata, true);
			transfer_release(t);
		}
		for (size_t i = 0; i < next; i++)
			if (ts[i].state == CB_FETCH_DOWNLOADING)
				report(&ts[i], progress, progress_userdata, false);
		if (finished < n && !failed)
			curl_multi_poll(multi, NULL, 0, (int)(wait / 1000000) + 1, NULL);
	}
	if (failed && cancel)
		*cancel = true;
	for (size_t i = 0; i < n; i++)
		transfer_release(&ts[i]);
	curl_multi_cleanup(multi);
	if (failed) {
		if (err && err->code == 0)
			*err = failed->f->err;
		return failed->f->err.code ? -failed->f->err.code : -EIO;
	}
	return 0;
}
