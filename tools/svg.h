/* A small SVG writer for `cowbox bench --plot`: no dependency, one file
 * any browser opens. Shapes are written as they come; text is escaped.
 * Errors stick: svg_end() returns -EIO when any write failed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench-stats.h"
#include "macro.h"

struct svg {
	FILE *f; /* borrowed */
	double width, height;
};

void svg_begin(struct svg *s, FILE *f, double width, double height);
void svg_rect(struct svg *s, double x, double y, double w, double h, const char *fill);
void svg_line(struct svg *s, double x1, double y1, double x2, double y2, const char *stroke,
	      double stroke_width);
/* anchor: "start", "middle" or "end". The text is escaped. */
void svg_text(struct svg *s, double x, double y, double size, const char *anchor, const char *fmt,
	      ...) _printf_(6, 7);
/* Close the document; 0, or -EIO when a write failed. */
int svg_end(struct svg *s);

/* Write text with &, <, >, " and ' escaped. */
void svg_escape(FILE *f, const char *text);

/* A histogram of sorted[0..n-1] (nanoseconds) in the box (x, y, w, h),
 * in milliseconds, with the median, p90 and p99 marked. */
void svg_histogram(struct svg *s, double x, double y, double w, double h, const char *title,
		   const uint64_t *sorted, size_t n);

/* One horizontal bar per phase: the median, a whisker to p90 and a tick
 * at p99 (nanoseconds, drawn in milliseconds), in the box (x, y, w, h). */
void svg_phase_bars(struct svg *s, double x, double y, double w, double h, const char *title,
		    const char *const *names, const struct bench_summary *sums, size_t n);
