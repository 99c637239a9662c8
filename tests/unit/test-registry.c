/* The pure parts of image/registry.c: WWW-Authenticate parsing, URL
 * building, token and error bodies, which hosts count as local. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

static void test_challenge_bearer(void **state)
{
	struct cb_auth_challenge c;
	assert_int_equal(cb_auth_challenge_parse(
			     "Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
			     "docker.io\",scope=\"repository:library/busybox:pull\"",
			     &c),
			 0);
	assert_int_equal(c.scheme, CB_AUTH_SCHEME_BEARER);
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/busybox:pull");
	cb_auth_challenge_release(&c);
	assert_null(c.realm);
}

static void test_challenge_case_spaces_tokens(void **state)
{
	struct cb_auth_challenge c;
	/* Scheme and parameter names are case-insensitive; values may be bare
	 * tokens; spaces around '=' and ',' are allowed; unknown names skipped. */
	assert_int_equal(cb_auth_challenge_parse("  bEaReR  Realm = \"https://a/t\" , error="
						 "\"invalid_token\",service=reg ",
						 &c),
			 0);
	assert_int_equal(c.scheme, CB_AUTH_SCHEME_BEARER);
	assert_string_equal(c.realm, "https://a/t");
	assert_string_equal(c.service, "reg");
	assert_null(c.scope);
	cb_auth_challenge_release(&c);
}

static void test_challenge_escapes(void **state)
{
	struct cb_auth_challenge c;
	assert_int_equal(cb_auth_challenge_parse("Basic realm=\"a \\\"quoted\\\", realm\"", &c), 0);
	assert_int_equal(c.scheme, CB_AUTH_SCHEME_BASIC);
	assert_string_equal(c.realm, "a \"quoted\", realm");
	cb_auth_challenge_release(&c);
	assert_int_equal(cb_auth_challenge_parse("Basic", &c), 0);
	assert_int_equal(c.scheme, CB_AUTH_SCHEME_BASIC);
	assert_null(c.realm);
	cb_auth_challenge_release(&c);
}

static void test_challenge_bad(void **state)
{
	struct cb_auth_challenge c;
	assert_int_equal(cb_auth_challenge_parse("Digest realm=\"x\"", &c), -EINVAL);
	assert_int_equal(cb_auth_challenge_parse("", &c), -EINVAL);
	/* Bearer needs a realm to ask for a token. */
	assert_int_equal(cb_auth_challenge_parse("Bearer service=\"x\"", &c), -EINVAL);
	assert_int_equal(cb_auth_challenge_parse("Bearer realm=\"unterminated", &c), -EINVAL);
	assert_int_equal(cb_auth_challenge_parse("Bearer realm", &c), -EINVAL);
	assert_int_equal(cb_auth_challenge_parse("Bearer realm=\"a\" junk", &c), -EINVAL);
}

static void test_token_url(void **state)
{
	struct cb_auth_challenge c = {.scheme = CB_AUTH_SCHEME_BEARER,
				      .realm = "https://auth.example/token",
				      .service = "reg example",
				      .scope = "repository:x:pull"};
	char *url = NULL;
	assert_int_equal(cb_registry_token_url(&c, "repository:team/app:pull", &url), 0);
	assert_string_equal(url, "https://auth.example/token?service=reg%20example&scope="
				 "repository%3Ateam%2Fapp%3Apull");
	free(url);
	/* The challenge's scope when none is given; '&' after an existing query. */
	c.realm = "https://auth.example/token?x=1";
	c.service = NULL;
	assert_int_equal(cb_registry_token_url(&c, NULL, &url), 0);
	assert_string_equal(url, "https://auth.example/token?x=1&scope=repository%3Ax%3Apull");
	free(url);
	c.scope = NULL;
	assert_int_equal(cb_registry_token_url(&c, NULL, &url), 0);
	assert_string_equal(url, "https://auth.example/token?x=1");
	free(url);
}

static void test_urls(void **state)
{
	char *url = NULL;
	assert_int_equal(
	    cb_registry_url("https", "docker.io", "library/busybox", "manifests", "latest", &url),
	    0);
	assert_string_equal(url,
			    "https://registry-1.docker.io/v2/library/busybox/manifests/latest");
	free(url);
	assert_int_equal(
	    cb_registry_url("http", "127.0.0.1:5000", "team/app", "blobs", "sha256:abcd", &url), 0);
	assert_string_equal(url, "http://127.0.0.1:5000/v2/team/app/blobs/sha256:abcd");
	free(url);
	assert_int_equal(cb_registry_url("https", "quay.io", NULL, NULL, NULL, &url), 0);
	assert_string_equal(url, "https://quay.io/v2/");
	free(url);
	assert_string_equal(cb_registry_api_host("docker.io"), "registry-1.docker.io");
	assert_string_equal(cb_registry_api_host("ghcr.io"), "ghcr.io");
}

static void test_is_local(void **state)
{
	assert_true(cb_registry_is_local("localhost"));
	assert_true(cb_registry_is_local("localhost:5000"));
	assert_true(cb_registry_is_local("127.0.0.1:40000"));
	assert_true(cb_registry_is_local("127.1.2.3"));
	assert_true(cb_registry_is_local("[::1]:5000"));
	assert_false(cb_registry_is_local("docker.io"));
	assert_false(cb_registry_is_local("128.0.0.1:5000"));
	assert_false(cb_registry_is_local("localhost.evil.example"));
	assert_false(cb_registry_is_local("127.0.0.1.evil.example:5000"));
	assert_false(cb_registry_is_local("[::2]:5000"));
	assert_false(cb_registry_is_local("[::1]x"));
}

static void test_token_body(void **state)
{
	char *tok = NULL;
	const char *a = "{\"token\":\"abc\",\"expires_in\":300}";
	assert_int_equal(cb_registry_parse_token(a, strlen(a), &tok), 0);
	assert_string_equal(tok, "abc");
	free(tok);
	const char *b = "{\"token\":\"\",\"access_token\":\"def\"}";
	assert_int_equal(cb_registry_parse_token(b, strlen(b), &tok), 0);
	assert_string_equal(tok, "def");
	free(tok);
	const char *c = "{\"nothing\":1}";
	assert_int_equal(cb_registry_parse_token(c, strlen(c), &tok), -EINVAL);
	assert_int_equal(cb_registry_parse_token("<html>", 6, &tok), -EINVAL);
}

static void test_error_body(void **state)
{
	char msg[128];
	const char *a = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest "
			"unknown\",\"detail\":{\"Tag\":\"nope\"}}]}";
	assert_true(cb_registry_error_message(a, strlen(a), msg, sizeof(msg)));
	assert_string_equal(msg, "manifest unknown");
	const char *b = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"Authentication "
			"required.\"}]}";
	assert_true(cb_registry_error_message(b, strlen(b), msg, sizeof(msg)));
	assert_string_equal(msg, "authentication required");
	const char *c = "{\"errors\":[{\"code\":\"DENIED\"}]}";
	assert_true(cb_registry_error_message(c, strlen(c), msg, sizeof(msg)));
	assert_string_equal(msg, "DENIED");
	const char *d = "{\"errors\":[{\"message\":\"OpenSSL/3.0 said no\"}]}";
	assert_true(cb_registry_error_message(d, strlen(d), msg, sizeof(msg)));
	assert_string_equal(msg, "OpenSSL/3.0 said no");
	assert_false(cb_registry_error_message("not json", 8, msg, sizeof(msg)));
	assert_false(cb_registry_error_message("{\"errors\":[]}", 13, msg, sizeof(msg)));
	assert_false(cb_registry_error_message(NULL, 0, msg, sizeof(msg)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_challenge_bearer),
	    cmocka_unit_test(test_challenge_case_spaces_tokens),
	    cmocka_unit_test(test_challenge_escapes),
	    cmocka_unit_test(test_challenge_bad),
	    cmocka_unit_test(test_token_url),
	    cmocka_unit_test(test_urls),
	    cmocka_unit_test(test_is_local),
	    cmocka_unit_test(test_token_body),
	    cmocka_unit_test(test_error_body),
	};
	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
