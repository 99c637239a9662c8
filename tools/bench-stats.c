#include "bench-stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void bench_sort(uint64_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_u64);
}

uint64_t bench_percentile(const uint64_t *sorted, size_t n, double p)
{
	if (n == 0)
		return 0;
	if (p <= 0)
		return sorted[0];
	/* Nearest rank: ceil(p/100 * n), 1-based. The small epsilon keeps
	 * 90% of 10 at rank 9, not 10, despite binary fractions. */
	double rank = ceil(p / 100.0 * (double)n - 1e-9);
	size_t k = rank < 1 ? 1 : (size_t)rank;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

uint64_t bench_median(const uint64_t *sorted, size_t n)
{
	if (n == 0)
		return 0;
	if (n % 2)
		return sorted[n / 2];
	uint64_t a = sorted[n / 2 - 1], b = sorted[n / 2];
	return a + (b - a) / 2;
}

void bench_summarize(uint64_t *v, size_t n, struct bench_summary *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (n == 0)
		return;
	bench_sort(v, n);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	ret->n = n;
	ret->min = v[0];
	ret->max = v[n - 1];
	ret->median = bench_median(v, n);
	ret->p90 = bench_percentile(v, n, 90);
	ret->p99 = bench_percentile(v, n, 99);
	ret->mean = sum / (double)n;
}

void bench_histogram(const uint64_t *sorted, size_t n, size_t n_bins, size_t *counts,
		     uint64_t *ret_width)
{
	memset(counts, 0, n_bins * sizeof(*counts));
	*ret_width = 1;
	if (n == 0 || n_bins == 0)
		return;
	uint64_t lo = sorted[0], span = sorted[n - 1] - lo;
	uint64_t width = span / n_bins + 1;
	*ret_width = width;
	for (size_t i = 0; i < n; i++) {
		size_t b = (size_t)((sorted[i] - lo) / width);
		counts[b < n_bins ? b : n_bins - 1]++;
	}
}

struct interval {
	uint64_t start, end;
};

static int cmp_interval(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

uint64_t bench_union_length(const uint64_t *start, const uint64_t *end, size_t n)
{
	if (n == 0)
		return 0;
	struct interval *iv = calloc(n, sizeof(*iv));
	if (!iv)
		return 0;
	for (size_t i = 0; i < n; i++)
		iv[i] = (struct interval){start[i], end[i] > start[i] ? end[i] : start[i]};
	qsort(iv, n, sizeof(*iv), cmp_interval);
	uint64_t total = 0, cur_start = iv[0].start, cur_end = iv[0].end;
	for (size_t i = 1; i < n; i++) {
		if (iv[i].start > cur_end) {
			total += cur_end - cur_start;
			cur_start = iv[i].start;
			cur_end = iv[i].end;
		} else if (iv[i].end > cur_end)
			cur_end = iv[i].end;
	}
	total += cur_end - cur_start;
	free(iv);
	return total;
}
