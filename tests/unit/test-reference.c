/* Image reference normalization, as docker does it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "reference.h"

static void expect_ref(const char *in, const char *want)
{
	struct cb_reference r;
	struct cb_error err = {0};
	char buf[600];
	int rc = cb_reference_parse(in, &r, &err);
	if (!want) {
		assert_true(rc < 0);
		assert_true(err.msg[0] != '\0');
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(cb_reference_format(&r, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

#define D "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_normalize(void **state)
{
	expect_ref("busybox", "docker.io/library/busybox:latest");
	expect_ref("busybox:1.36", "docker.io/library/busybox:1.36");
	expect_ref("library/busybox", "docker.io/library/busybox:latest");
	expect_ref("docker.io/busybox", "docker.io/library/busybox:latest");
	expect_ref("index.docker.io/library/busybox", "docker.io/library/busybox:latest");
	expect_ref("team/app:v2", "docker.io/team/app:v2");
	expect_ref("localhost/app", "localhost/app:latest");
	expect_ref("localhost:5000/team/app:v2", "localhost:5000/team/app:v2");
	expect_ref("127.0.0.1:5000/a/b/c", "127.0.0.1:5000/a/b/c:latest");
	expect_ref("quay.io/x/y@" D, "quay.io/x/y@" D);
	expect_ref("busybox:1@" D, "docker.io/library/busybox:1@" D);
	expect_ref("my-app_1.2__x", "docker.io/library/my-app_1.2__x:latest");
}

static void test_refuse(void **state)
{
	expect_ref("", NULL);
	expect_ref("Busybox", NULL);
	expect_ref("busybox:", NULL);
	expect_ref("busybox:-x", NULL);
	expect_ref("busybox@sha256:abc", NULL);
	expect_ref("a//b", NULL);
	expect_ref("-a", NULL);
	expect_ref("localhost:5000/", NULL);
	expect_ref("127.0.0.1:/x/y", NULL);
	expect_ref("host:abc/x", NULL);
}

static void test_tags(void **state)
{
	assert_true(cb_reference_valid_tag("latest"));
	assert_true(cb_reference_valid_tag("1.36.1-musl_x"));
	assert_false(cb_reference_valid_tag(".x"));
	assert_false(cb_reference_valid_tag(""));
	char long_tag[200];
	memset(long_tag, 'a', sizeof(long_tag) - 1);
	long_tag[sizeof(long_tag) - 1] = '\0';
	assert_false(cb_reference_valid_tag(long_tag));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_refuse),
		cmocka_unit_test(test_tags),
	};
	return cmocka_run_group_tests_name("reference", tests, NULL, NULL);
}
