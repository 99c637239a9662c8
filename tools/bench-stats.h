/* The statistics of `cowbox bench`: percentiles of a set of durations.
 * Pure (no system calls) so the unit tests reach every case. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct bench_summary {
	size_t n;
	uint64_t min, median, p90, p99, max; /* same unit as the samples */
	double mean;
};

/* The p-th percentile (0 < p <= 100) of sorted[0..n-1], nearest rank:
 * the smallest sample with at least p% of the samples at or below it
 * (so p50 of {1,2,3,4} is 2, p100 is the max). 0 when n is 0. */
uint64_t bench_percentile(const uint64_t *sorted, size_t n, double p);

/* The median: the middle sample, or the mean of the two middle ones
 * (rounded down) when n is even. 0 when n is 0. */
uint64_t bench_median(const uint64_t *sorted, size_t n);

/* Sort v[0..n-1] ascending in place. */
void bench_sort(uint64_t *v, size_t n);

/* Summarize v[0..n-1] (not sorted; left sorted). *ret is all zero when n is 0. */
void bench_summarize(uint64_t *v, size_t n, struct bench_summary *ret);

/* Histogram of sorted[0..n-1] into n_bins equal bins over [min, max];
 * counts[] gets n_bins entries, *ret_width the bin width (>= 1). */
void bench_histogram(const uint64_t *sorted, size_t n, size_t n_bins, size_t *counts,
		     uint64_t *ret_width);

/* The length of the union of intervals [start[i], end[i]) (end >= start):
 * how much wall time a set of possibly overlapping phases covers. */
uint64_t bench_union_length(const uint64_t *start, const uint64_t *end, size_t n);
