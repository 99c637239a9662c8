/* Digests and chain IDs (OCI image-spec config.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "digest.h"

#define A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_digest_valid(void **state)
{
	assert_true(cb_digest_valid(A));
	assert_false(cb_digest_valid("sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_false(cb_digest_valid("sha256:abc"));
	assert_false(cb_digest_valid("sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(cb_digest_valid(A "a"));
	assert_false(cb_digest_valid("sha256:../../../../etc/passwdaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(cb_digest_valid(NULL));
	assert_false(cb_digest_valid(""));
}

static void test_digest_of(void **state)
{
	char out[CB_DIGEST_SIZE];
	cb_digest_of("hello", 5, out);
	assert_string_equal(out,
			    "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	assert_string_equal(cb_digest_hex(out),
			    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
}

static void test_hasher_streaming_matches_oneshot(void **state)
{
	struct cb_hasher *h = cb_hasher_new();
	assert_non_null(h);
	cb_hasher_update(h, "he", 2);
	cb_hasher_update(h, "llo", 3);
	char a[CB_DIGEST_SIZE], b[CB_DIGEST_SIZE];
	cb_hasher_final(h, a);
	cb_digest_of("hello", 5, b);
	assert_string_equal(a, b);
	cb_hasher_reset(h);
	cb_hasher_final(h, a);
	cb_digest_of("", 0, b);
	assert_string_equal(a, b);
	cb_hasher_free(h);
}

static void test_chain_id(void **state)
{
	char out[CB_DIGEST_SIZE];
	/* The bottom layer's chain ID is its diff ID. */
	assert_int_equal(cb_chain_id(NULL, A, out), 0);
	assert_string_equal(out, A);
	/* Then sha256(parent + " " + diff_id). */
	assert_int_equal(cb_chain_id(A, B, out), 0);
	assert_string_equal(out,
			    "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
	assert_int_equal(cb_chain_id(A, "sha256:xyz", out), -EINVAL);
	assert_int_equal(cb_chain_id("nope", B, out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_valid),
		cmocka_unit_test(test_digest_of),
		cmocka_unit_test(test_hasher_streaming_matches_oneshot),
		cmocka_unit_test(test_chain_id),
	};
	return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
