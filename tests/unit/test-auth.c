/* image/auth.c: auth.json parsing, key matching, base64, and the
 * login/logout file edits (mode 0600, other keys kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "fsutil.h"

static void test_base64(void **state)
{
	char *enc = NULL, *u = NULL, *p = NULL;
	assert_int_equal(cb_auth_encode("alice", "s3cr:et", &enc), 0);
	assert_string_equal(enc, "YWxpY2U6czNjcjpldA==");
	assert_int_equal(cb_auth_decode(enc, &u, &p), 0);
	assert_string_equal(u, "alice");
	assert_string_equal(p, "s3cr:et"); /* only the first ':' splits */
	free(enc), free(u), free(p);
	assert_int_equal(cb_auth_encode("ab", "c", &enc), 0); /* "ab:c", no padding */
	assert_string_equal(enc, "YWI6Yw==");
	free(enc);
	assert_int_equal(cb_auth_decode("YWJjOmRlZg==", &u, &p), 0);
	assert_string_equal(u, "abc");
	assert_string_equal(p, "def");
	free(u), free(p);
	assert_int_equal(cb_auth_decode("bm9jb2xvbg==", &u, &p), -EINVAL); /* "nocolon" */
	assert_int_equal(cb_auth_decode("!!!!", &u, &p), -EINVAL);
	assert_int_equal(cb_auth_decode("abc", &u, &p), -EINVAL);
	assert_int_equal(cb_auth_decode("", &u, &p), -EINVAL);
}

static void test_key_matches(void **state)
{
	assert_true(cb_auth_key_matches("quay.io", "quay.io"));
	assert_true(cb_auth_key_matches("https://quay.io", "quay.io"));
	assert_true(cb_auth_key_matches("https://index.docker.io/v1/", "docker.io"));
	assert_true(cb_auth_key_matches("registry-1.docker.io", "docker.io"));
	assert_true(cb_auth_key_matches("localhost:5000/some/repo", "localhost:5000"));
	assert_false(cb_auth_key_matches("localhost:5001", "localhost:5000"));
	assert_false(cb_auth_key_matches("quay.io.evil", "quay.io"));
	assert_false(cb_auth_key_matches("", "quay.io"));
}

static void test_parse(void **state)
{
	const char *json = "{\"auths\":{"
			   "\"https://index.docker.io/v1/\":{\"auth\":\"ZG9jOmh1Yg==\"},"
			   "\"127.0.0.1:5000\":{\"auth\":\"YWxpY2U6cHc=\"},"
			   "\"helper.example\":{}},"
			   "\"credsStore\":\"secretservice\"}";
	char *u = NULL, *p = NULL;
	struct cb_error err = {0};
	assert_int_equal(cb_auth_parse(json, strlen(json), "127.0.0.1:5000", &u, &p, &err), 0);
	assert_string_equal(u, "alice");
	assert_string_equal(p, "pw");
	free(u), free(p);
	assert_int_equal(cb_auth_parse(json, strlen(json), "docker.io", &u, &p, &err), 0);
	assert_string_equal(u, "doc");
	assert_string_equal(p, "hub");
	free(u), free(p);
	assert_int_equal(cb_auth_parse(json, strlen(json), "quay.io", &u, &p, &err), -ENOENT);
	assert_int_equal(cb_auth_parse(json, strlen(json), "helper.example", &u, &p, &err),
			 -ENOENT);
	assert_int_equal(err.code, 0);
	assert_int_equal(cb_auth_parse("{}", 2, "quay.io", &u, &p, &err), -ENOENT);
}

static void test_parse_bad(void **state)
{
	char *u = NULL, *p = NULL;
	struct cb_error err = {0};
	const char *a = "{\"auths\": {\"x\": ";
	assert_int_equal(cb_auth_parse(a, strlen(a), "x", &u, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid JSON at line 1"));
	cb_error_clear(&err);
	const char *b = "{\"auths\":{\"x\":{\"auth\":\"bm9jb2xvbg==\"}}}";
	assert_int_equal(cb_auth_parse(b, strlen(b), "x", &u, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "auths.\"x\".auth"));
	cb_error_clear(&err);
	const char *c = "{\"auths\":[]}";
	assert_int_equal(cb_auth_parse(c, strlen(c), "x", &u, &p, &err), -EINVAL);
	cb_error_clear(&err);
	const char *d = "{\"auths\":{\"x\":{\"auth\":42}}}";
	assert_int_equal(cb_auth_parse(d, strlen(d), "x", &u, &p, &err), -EINVAL);
}

static void test_store_remove(void **state)
{
	char dir[] = "/tmp/test-auth.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/sub/auth.json", dir);
	struct cb_error err = {0};
	/* A file another tool wrote: its other keys survive our edits. */
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	const char *before = "{\"auths\":{\"quay.io\":{\"auth\":\"cTp3\"}},\"credHelpers\":{}}";
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(cb_write_all(fd, before, strlen(before)), 0);
	close(fd);

	assert_int_equal(cb_auth_store(path, "127.0.0.1:5000", "bob", "pa:ss", &err), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	char *data = NULL;
	size_t len;
	assert_int_equal(cb_read_file_at(AT_FDCWD, path, 1 << 20, &data, &len), 0);
	char *u = NULL, *p = NULL;
	assert_int_equal(cb_auth_parse(data, len, "127.0.0.1:5000", &u, &p, &err), 0);
	assert_string_equal(u, "bob");
	assert_string_equal(p, "pa:ss");
	free(u), free(p);
	assert_int_equal(cb_auth_parse(data, len, "quay.io", &u, &p, &err), 0);
	free(u), free(p);
	assert_non_null(strstr(data, "credHelpers"));
	free(data);

	/* Login again replaces, logout removes only that registry. */
	assert_int_equal(cb_auth_store(path, "127.0.0.1:5000", "bob", "new", &err), 0);
	assert_int_equal(cb_auth_remove(path, "127.0.0.1:5000", &err), 0);
	assert_int_equal(cb_auth_remove(path, "127.0.0.1:5000", &err), -ENOENT);
	assert_int_equal(cb_read_file_at(AT_FDCWD, path, 1 << 20, &data, &len), 0);
	assert_int_equal(cb_auth_parse(data, len, "127.0.0.1:5000", &u, &p, &err), -ENOENT);
	assert_int_equal(cb_auth_parse(data, len, "quay.io", &u, &p, &err), 0);
	free(u), free(p);
	free(data);
	assert_int_equal(cb_auth_store(path, "x", "a:b", "c", &err), -EINVAL);

	/* lookup reads REGISTRY_AUTH_FILE first. */
	setenv("REGISTRY_AUTH_FILE", path, 1);
	char *from = NULL;
	assert_int_equal(cb_auth_lookup("quay.io", &u, &p, &from, &err), 0);
	assert_string_equal(u, "q");
	assert_string_equal(p, "w");
	assert_string_equal(from, path);
	free(u), free(p), free(from);
	char *w = NULL;
	assert_int_equal(cb_auth_write_path(&w), 0);
	assert_string_equal(w, path);
	free(w);
	unsetenv("REGISTRY_AUTH_FILE");

	/* Then $XDG_RUNTIME_DIR/containers/auth.json, then ~/.docker/config.json. */
	setenv("XDG_RUNTIME_DIR", dir, 1);
	setenv("HOME", dir, 1);
	char docker[300];
	snprintf(docker, sizeof(docker), "%s/.docker", dir);
	assert_int_equal(mkdir(docker, 0700), 0);
	snprintf(docker, sizeof(docker), "%s/.docker/config.json", dir);
	const char *cfg = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"ZDpo\"}}}";
	fd = open(docker, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(cb_write_all(fd, cfg, strlen(cfg)), 0);
	close(fd);
	assert_int_equal(cb_auth_lookup("docker.io", &u, &p, &from, &err), 0);
	assert_string_equal(u, "d");
	assert_string_equal(from, docker);
	free(u), free(p), free(from);
	char xdg[300];
	snprintf(xdg, sizeof(xdg), "%s/containers/auth.json", dir);
	assert_int_equal(cb_auth_write_path(&w), 0);
	assert_string_equal(w, xdg);
	free(w);
	assert_int_equal(cb_auth_store(xdg, "docker.io", "x", "y", &err), 0);
	assert_int_equal(cb_auth_lookup("docker.io", &u, &p, &from, &err), 0);
	assert_string_equal(u, "x");
	assert_string_equal(from, xdg);
	free(u), free(p), free(from);
	assert_int_equal(cb_auth_lookup("nowhere.example", &u, &p, NULL, &err), -ENOENT);

	assert_int_equal(cb_rm_rf_at(AT_FDCWD, dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64),	 cmocka_unit_test(test_key_matches),
	    cmocka_unit_test(test_parse),	 cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_store_remove),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
