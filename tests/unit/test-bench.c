/* The pure parts of `cowbox bench`: percentiles, median, histogram, the
 * union of overlapping phases, and the SVG writer (well formed, escaped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench-stats.h"
#include "svg.h"
#include "units.h"

static void test_percentile_nearest_rank(void **state)
{
	(void)state;
	uint64_t v[10] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
	assert_int_equal(bench_percentile(v, 10, 50), 50);
	assert_int_equal(bench_percentile(v, 10, 90), 90);
	assert_int_equal(bench_percentile(v, 10, 99), 100);
	assert_int_equal(bench_percentile(v, 10, 100), 100);
	assert_int_equal(bench_percentile(v, 10, 1), 10);
	assert_int_equal(bench_percentile(v, 10, 0), 10);
	assert_int_equal(bench_percentile(v, 0, 50), 0);
	uint64_t one[1] = {7};
	assert_int_equal(bench_percentile(one, 1, 99), 7);
	/* 100 samples 1..100: p90 is 90, p99 is 99. */
	uint64_t h[100];
	for (int i = 0; i < 100; i++)
		h[i] = (uint64_t)i + 1;
	assert_int_equal(bench_percentile(h, 100, 90), 90);
	assert_int_equal(bench_percentile(h, 100, 99), 99);
	assert_int_equal(bench_percentile(h, 100, 100), 100);
}

static void test_median(void **state)
{
	(void)state;
	uint64_t odd[3] = {1, 5, 9}, even[4] = {1, 3, 5, 100};
	assert_int_equal(bench_median(odd, 3), 5);
	assert_int_equal(bench_median(even, 4), 4);
	assert_int_equal(bench_median(even, 0), 0);
	/* No overflow near the top of the range. */
	uint64_t big[2] = {UINT64_MAX - 2, UINT64_MAX};
	assert_true(bench_median(big, 2) == UINT64_MAX - 1);
}

static void test_summarize_sorts(void **state)
{
	(void)state;
	uint64_t v[5] = {50, 10, 40, 20, 30};
	struct bench_summary s;
	bench_summarize(v, 5, &s);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.min, 10);
	assert_int_equal(s.median, 30);
	assert_int_equal(s.p90, 50);
	assert_int_equal(s.p99, 50);
	assert_int_equal(s.max, 50);
	assert_true(s.mean > 29.99 && s.mean < 30.01);
	for (int i = 1; i < 5; i++)
		assert_true(v[i - 1] <= v[i]);
	bench_summarize(v, 0, &s);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.max, 0);
}

static void test_histogram(void **state)
{
	(void)state;
	uint64_t v[6] = {0, 1, 2, 7, 8, 9};
	size_t counts[4];
	uint64_t width;
	bench_histogram(v, 6, 3, counts, &width);
	assert_int_equal(width, 4);
	assert_int_equal(counts[0], 3);
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[2], 2);
	uint64_t same[3] = {5, 5, 5};
	bench_histogram(same, 3, 4, counts, &width);
	assert_int_equal(counts[0], 3);
}

static void test_union_length(void **state)
{
	(void)state;
	/* [0,10) [5,15) [20,30) [25,26): 15 + 10 */
	uint64_t a[4] = {20, 0, 5, 25}, b[4] = {30, 10, 15, 26};
	assert_int_equal(bench_union_length(a, b, 4), 25);
	/* Touching intervals merge without double counting. */
	uint64_t c[2] = {0, 10}, d[2] = {10, 20};
	assert_int_equal(bench_union_length(c, d, 2), 20);
	assert_int_equal(bench_union_length(c, d, 0), 0);
}

/* The document opens and closes, every element is closed, and text is
 * escaped. */
static void test_svg_well_formed(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	struct svg s;
	svg_begin(&s, f, 400, 300);
	svg_text(&s, 10, 10, 12, "start", "a <b> & \"c\" '%d'", 5);
	uint64_t v[5] = {1000000, 2000000, 2000000, 3000000, 9000000};
	svg_histogram(&s, 0, 20, 400, 120, "hist <x>", v, 5);
	struct bench_summary sums[2];
	bench_summarize(v, 5, &sums[0]);
	bench_summarize(v, 5, &sums[1]);
	const char *names[] = {"rootfs", "exec & co"};
	svg_phase_bars(&s, 0, 150, 400, 120, "phases", names, sums, 2);
	svg_histogram(&s, 0, 20, 400, 120, "empty", v, 0);
	assert_int_equal(svg_end(&s), 0);
	fclose(f);
	assert_non_null(strstr(buf, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(buf, "a &lt;b&gt; &amp; &quot;c&quot; &apos;5&apos;"));
	assert_non_null(strstr(buf, "hist &lt;x&gt;"));
	assert_non_null(strstr(buf, "exec &amp; co"));
	assert_null(strstr(buf, "<b>"));
	assert_non_null(strstr(buf, "median 2.00"));
	assert_non_null(strstr(buf, "no samples"));
	size_t l = strlen(buf);
	assert_true(l > 7 && strcmp(buf + l - 7, "</svg>\n") == 0);
	/* Every <text> is closed, every other element self-closes. */
	size_t opens = 0, closes = 0, selfclose = 0, tags = 0;
	for (const char *p = buf; (p = strchr(p, '<')); p++) {
		if (strncmp(p, "<text", 5) == 0)
			opens++;
		else if (strncmp(p, "</text>", 7) == 0)
			closes++;
		else if (strncmp(p, "<rect", 5) == 0 || strncmp(p, "<line", 5) == 0) {
			tags++;
			const char *end = strchr(p, '>');
			assert_non_null(end);
			if (end[-1] == '/')
				selfclose++;
		}
	}
	assert_true(opens > 0);
	assert_int_equal(opens, closes);
	assert_int_equal(tags, selfclose);
	free(buf);
}

static void test_size_text(void **state)
{
	(void)state;
	char b[32];
	cb_size_text(0, 4, true, b, sizeof(b));
	assert_string_equal(b, "0B");
	cb_size_text(1023, 4, true, b, sizeof(b));
	assert_string_equal(b, "1023B");
	cb_size_text(1536, 4, true, b, sizeof(b));
	assert_string_equal(b, "1.5KiB");
	cb_size_text(1568768, 4, true, b, sizeof(b)); /* 1.496 MiB */
	assert_string_equal(b, "1.496MiB");
	cb_size_text(8.0 * 1024 * 1024 * 1024, 4, true, b, sizeof(b));
	assert_string_equal(b, "8GiB");
	cb_size_text(1016, 3, false, b, sizeof(b));
	assert_string_equal(b, "1.02kB");
	cb_size_text(999, 3, false, b, sizeof(b));
	assert_string_equal(b, "999B");
	cb_size_text(2500000, 3, false, b, sizeof(b));
	assert_string_equal(b, "2.5MB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_percentile_nearest_rank),
	    cmocka_unit_test(test_median),
	    cmocka_unit_test(test_summarize_sorts),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_union_length),
	    cmocka_unit_test(test_svg_well_formed),
	    cmocka_unit_test(test_size_text),
	};
	return cmocka_run_group_tests_name("bench", tests, NULL, NULL);
}
