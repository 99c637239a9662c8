/* Path safety and whiteout conversion rules of the layer extractor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "extract.h"

static void expect_norm(const char *in, const char *want)
{
	char out[256];
	const char *why = NULL;
	int r = cb_path_normalize(in, out, sizeof(out), &why);
	if (want) {
		assert_int_equal(r, 0);
		assert_string_equal(out, want);
	} else {
		assert_int_equal(r, -EPERM);
		assert_non_null(why);
	}
}

static void test_normalize_plain(void **state)
{
	expect_norm("a/b/c", "a/b/c");
	expect_norm("./a/b/", "a/b");
	expect_norm("a//b/./c", "a/b/c");
	expect_norm(".", "");
	expect_norm("./", "");
	expect_norm("a/b...c", "a/b...c");
	expect_norm("..a/b", "..a/b");
}

static void test_normalize_refuses_escapes(void **state)
{
	expect_norm("..", NULL);
	expect_norm("../x", NULL);
	expect_norm("a/../../x", NULL);
	expect_norm("a/..", NULL);
	expect_norm("/etc/passwd", NULL);
	expect_norm("/", NULL);
	expect_norm(NULL, NULL);
}

static void test_normalize_too_long(void **state)
{
	char out[8];
	const char *why = NULL;
	assert_int_equal(cb_path_normalize("abcdefghijk", out, sizeof(out), &why), -EPERM);
	assert_string_equal(why, "name too long");
}

static void test_whiteouts(void **state)
{
	const char *t = NULL;
	assert_int_equal(cb_whiteout_classify("file", &t), CB_WHITEOUT_NONE);
	assert_int_equal(cb_whiteout_classify(".wh.file", &t), CB_WHITEOUT_FILE);
	assert_string_equal(t, "file");
	assert_int_equal(cb_whiteout_classify(".wh..wh..opq", &t), CB_WHITEOUT_OPAQUE);
	assert_int_equal(cb_whiteout_classify(".wh.", &t), CB_WHITEOUT_INVALID);
	assert_int_equal(cb_whiteout_classify(".wh..", &t), CB_WHITEOUT_INVALID);
	assert_int_equal(cb_whiteout_classify(".wh...", &t), CB_WHITEOUT_INVALID);
	/* ".wh..wh.x" names a file called ".wh.x": legal, if odd. */
	assert_int_equal(cb_whiteout_classify(".wh..wh.x", &t), CB_WHITEOUT_FILE);
	assert_string_equal(t, ".wh.x");
	assert_int_equal(cb_whiteout_classify(".whfile", &t), CB_WHITEOUT_NONE);
}

static void test_forbidden_xattrs(void **state)
{
	assert_true(cb_xattr_is_forbidden("trusted.overlay.opaque"));
	assert_true(cb_xattr_is_forbidden("trusted.overlay.redirect"));
	assert_true(cb_xattr_is_forbidden("user.overlay.whiteout"));
	assert_false(cb_xattr_is_forbidden("security.capability"));
	assert_false(cb_xattr_is_forbidden("user.mime_type"));
	assert_false(cb_xattr_is_forbidden("trusted.overlayfoo"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_plain),
		cmocka_unit_test(test_normalize_refuses_escapes),
		cmocka_unit_test(test_normalize_too_long),
		cmocka_unit_test(test_whiteouts),
		cmocka_unit_test(test_forbidden_xattrs),
	};
	return cmocka_run_group_tests_name("extract", tests, NULL, NULL);
}
