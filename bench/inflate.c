/* bench/inflate FILE.gz: time zlib's inflate against ISA-L's igzip on the
 * same gzip stream, in memory, and print the medians. This is the
 * measurement behind storage/decompress.c using ISA-L. */
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t out[1 << 20];

static size_t run_zlib(const uint8_t *in, size_t n)
{
	z_stream z = {0};
	inflateInit2(&z, 31);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)n;
	size_t total = 0;
	for (;;) {
		z.next_out = out;
		z.avail_out = sizeof(out);
		int r = inflate(&z, Z_NO_FLUSH);
		total += sizeof(out) - z.avail_out;
		if (r == Z_STREAM_END)
			break;
		if (r != Z_OK) {
			fprintf(stderr, "zlib error %d\n", r);
			exit(1);
		}
	}
	inflateEnd(&z);
	return total;
}

static size_t run_isal(const uint8_t *in, size_t n)
{
	struct inflate_state s;
	isal_inflate_init(&s);
	s.crc_flag = ISAL_GZIP;
	s.next_in = (uint8_t *)in;
	s.avail_in = (uint32_t)n;
	size_t total = 0;
	while (s.block_state != ISAL_BLOCK_FINISH) {
		s.next_out = out;
		s.avail_out = sizeof(out);
		if (isal_inflate(&s) < 0) {
			fprintf(stderr, "isal error\n");
			exit(1);
		}
		total += sizeof(out) - s.avail_out;
	}
	return total;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: inflate FILE.gz\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *in = malloc((size_t)n);
	if (!in || fread(in, 1, (size_t)n, f) != (size_t)n)
		return 1;
	fclose(f);
	enum { RUNS = 5 };
	double tz[RUNS], ti[RUNS];
	size_t a = 0, b = 0;
	for (int i = 0; i < RUNS; i++) {
		double t = now();
		a = run_zlib(in, (size_t)n);
		tz[i] = now() - t;
		t = now();
		b = run_isal(in, (size_t)n);
		ti[i] = now() - t;
	}
	if (a != b) {
		fprintf(stderr, "outputs differ: %zu vs %zu\n", a, b);
		return 1;
	}
	qsort(tz, RUNS, sizeof(double), cmp);
	qsort(ti, RUNS, sizeof(double), cmp);
	printf("inflate %s (%ld -> %zu bytes), median of %d:\n", argv[1], n, a, RUNS);
	printf("  zlib   %.3f s  %.0f MB/s\n", tz[RUNS / 2], (double)a / tz[RUNS / 2] / 1e6);
	printf("  isa-l  %.3f s  %.0f MB/s  (%.2fx zlib)\n", ti[RUNS / 2],
	       (double)a / ti[RUNS / 2] / 1e6, tz[RUNS / 2] / ti[RUNS / 2]);
	free(in);
	return 0;
}
