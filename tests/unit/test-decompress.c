/* The layer decompressor: gzip (ISA-L) and zstd, fed in any chunking,
 * multi-member gzip, and streams cut short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "decompress.h"

static uint8_t plain[300000];

static int setup(void **state)
{
	/* Compressible but not trivial. */
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(plain); i++) {
		x = x * 1103515245 + 12345;
		plain[i] = (uint8_t)("abcdefgh"[(x >> 16) & 7]);
	}
	return 0;
}

static size_t gzip_of(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z = {0};
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t len = z.total_out;
	deflateEnd(&z);
	return len;
}

/* Decompress in chunks of `step` input bytes into small output buffers. */
static int run(enum cb_compression kind, const uint8_t *in, size_t n, size_t step, uint8_t *out,
	       size_t *out_len)
{
	struct cb_decompressor *d = NULL;
	assert_int_equal(cb_decompressor_new(kind, &d), 0);
	size_t total = 0;
	int r = 0;
	for (size_t off = 0; off < n && r == 0;) {
		const uint8_t *p = in + off;
		size_t left = step < n - off ? step : n - off;
		off += left;
		for (;;) {
			size_t got = 1000;
			r = cb_decompress(d, &p, &left, out + total, &got);
			if (r < 0)
				break;
			total += got;
			if (left == 0 && got < 1000)
				break;
		}
	}
	for (; r == 0;) {
		const uint8_t *p = NULL;
		size_t left = 0, got = 1000;
		r = cb_decompress(d, &p, &left, out + total, &got);
		total += got;
		if (got == 0)
			break;
	}
	if (r == 0)
		r = cb_decompress_end(d);
	cb_decompressor_free(d);
	*out_len = total;
	return r;
}

static void test_gzip_any_chunking(void **state)
{
	static uint8_t gz[400000], out[sizeof(plain) + 1000];
	size_t gzlen = gzip_of(plain, sizeof(plain), gz, sizeof(gz));
	size_t steps[] = {1, 3, 4, 5, 4096, 1 << 20};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t n = 0;
		assert_int_equal(run(CB_COMPRESSION_AUTO, gz, gzlen, steps[i], out, &n), 0);
		assert_int_equal(n, sizeof(plain));
		assert_memory_equal(out, plain, n);
	}
}

static void test_gzip_multi_member(void **state)
{
	static uint8_t gz[400000], out[sizeof(plain) + 1000];
	size_t a = gzip_of(plain, 1000, gz, sizeof(gz));
	size_t b = gzip_of(plain + 1000, sizeof(plain) - 1000, gz + a, sizeof(gz) - a);
	size_t n = 0;
	assert_int_equal(run(CB_COMPRESSION_GZIP, gz, a + b, 777, out, &n), 0);
	assert_int_equal(n, sizeof(plain));
	assert_memory_equal(out, plain, n);
}

static void test_gzip_truncated_and_corrupt(void **state)
{
	static uint8_t gz[400000], out[sizeof(plain) + 1000];
	size_t len = gzip_of(plain, sizeof(plain), gz, sizeof(gz));
	size_t n = 0;
	assert_int_equal(run(CB_COMPRESSION_AUTO, gz, len - 10, 4096, out, &n), -EBADMSG);
	gz[len - 5] ^= 0xff; /* the trailer's length/crc */
	assert_int_equal(run(CB_COMPRESSION_AUTO, gz, len, 4096, out, &n), -EBADMSG);
}

static void test_zstd(void **state)
{
	static uint8_t zs[400000], out[sizeof(plain) + 1000];
	size_t len = ZSTD_compress(zs, sizeof(zs), plain, sizeof(plain), 3);
	assert_false(ZSTD_isError(len));
	size_t n = 0;
	assert_int_equal(run(CB_COMPRESSION_AUTO, zs, len, 1, out, &n), 0);
	assert_int_equal(n, sizeof(plain));
	assert_memory_equal(out, plain, n);
	assert_int_equal(run(CB_COMPRESSION_ZSTD, zs, len - 3, 4096, out, &n), -EBADMSG);
}

static void test_plain_passthrough(void **state)
{
	static uint8_t out[sizeof(plain) + 1000];
	size_t n = 0;
	assert_int_equal(run(CB_COMPRESSION_AUTO, plain, sizeof(plain), 2, out, &n), 0);
	assert_int_equal(n, sizeof(plain));
	assert_memory_equal(out, plain, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzip_any_chunking),
		cmocka_unit_test(test_gzip_multi_member),
		cmocka_unit_test(test_gzip_truncated_and_corrupt),
		cmocka_unit_test(test_zstd),
		cmocka_unit_test(test_plain_passthrough),
	};
	return cmocka_run_group_tests_name("decompress", tests, setup, NULL);
}
