#include "svg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#define FONT "font-family=\"sans-serif\""

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
				      "#59a14f", "#edc948", "#b07aa1", "#ff9da7"};

void svg_escape(FILE *f, const char *text)
{
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			fputc(*p, f);
		}
	}
}

void svg_begin(struct svg *s, FILE *f, double width, double height)
{
	s->f = f;
	s->width = width;
	s->height = height;
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"viewBox=\"0 0 %.0f %.0f\">\n",
		width, height, width, height);
	svg_rect(s, 0, 0, width, height, "white");
}

void svg_rect(struct svg *s, double x, double y, double w, double h, const char *fill)
{
	fprintf(s->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
		x, y, w < 0 ? 0 : w, h < 0 ? 0 : h, fill);
}

void svg_line(struct svg *s, double x1, double y1, double x2, double y2, const char *stroke,
	      double stroke_width)
{
	fprintf(s->f,
		"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		"stroke-width=\"%.1f\"/>\n",
		x1, y1, x2, y2, stroke, stroke_width);
}

void svg_text(struct svg *s, double x, double y, double size, const char *anchor, const char *fmt,
	      ...)
{
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	fprintf(s->f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" text-anchor=\"%s\" " FONT ">",
		x, y, size, anchor);
	svg_escape(s->f, text);
	fputs("</text>\n", s->f);
	free(text);
}

int svg_end(struct svg *s)
{
	fputs("</svg>\n", s->f);
	if (fflush(s->f) != 0 || ferror(s->f))
		return -EIO;
	return 0;
}

/* A "nice" axis maximum: 1, 2 or 5 times a power of ten, >= v. */
static double nice_max(double v)
{
	if (v <= 0)
		return 1;
	double p = 1;
	while (p * 10 <= v)
		p *= 10;
	while (p > v)
		p /= 10;
	for (int i = 0; i < 4; i++) {
		if (v <= p)
			return p;
		if (v <= 2 * p)
			return 2 * p;
		if (v <= 5 * p)
			return 5 * p;
		p *= 10;
	}
	return v;
}

static void axis_x(struct svg *s, double x, double y, double w, double max_ms)
{
	svg_line(s, x, y, x + w, y, "#333", 1);
	for (int i = 0; i <= 5; i++) {
		double tx = x + w * i / 5;
		svg_line(s, tx, y, tx, y + 4, "#333", 1);
		svg_text(s, tx, y + 16, 11, "middle", "%g", max_ms * i / 5);
	}
	svg_text(s, x + w, y + 30, 11, "end", "ms");
}

void svg_histogram(struct svg *s, double x, double y, double w, double h, const char *title,
		   const uint64_t *sorted, size_t n)
{
	svg_text(s, x, y + 14, 14, "start", "%s", title);
	double top = y + 24, plot_h = h - 24 - 34;
	if (n == 0) {
		svg_text(s, x + w / 2, top + plot_h / 2, 12, "middle", "no samples");
		return;
	}
	double max_ms = nice_max((double)sorted[n - 1] / 1e6);
	enum { BINS = 40 };
	size_t counts[BINS] = {0};
	/* Bins over [0, max_ms] so the axis starts at zero. */
	double bin_ms = max_ms / BINS;
	size_t peak = 1;
	for (size_t i = 0; i < n; i++) {
		size_t b = (size_t)((double)sorted[i] / 1e6 / bin_ms);
		b = b < BINS ? b : BINS - 1;
		if (++counts[b] > peak)
			peak = counts[b];
	}
	double bw = w / BINS, base = top + plot_h;
	for (size_t b = 0; b < BINS; b++) {
		double bh = plot_h * (double)counts[b] / (double)peak;
		if (counts[b])
			svg_rect(s, x + b * bw + 0.5, base - bh, bw - 1, bh, palette[0]);
	}
	axis_x(s, x, base, w, max_ms);
	struct {
		const char *name;
		uint64_t v;
		const char *color;
	} marks[] = {{"median", bench_median(sorted, n), "#222"},
		     {"p90", bench_percentile(sorted, n, 90), palette[1]},
		     {"p99", bench_percentile(sorted, n, 99), palette[2]}};
	for (size_t i = 0; i < ELEMENTSOF(marks); i++) {
		double mx = x + w * ((double)marks[i].v / 1e6) / max_ms;
		svg_line(s, mx, top, mx, base, marks[i].color, 1.5);
		svg_text(s, mx + 3, top + 12 + 13 * (double)i, 11, "start", "%s %.2f",
			 marks[i].name, (double)marks[i].v / 1e6);
	}
	svg_text(s, x + w, y + 14, 11, "end", "%zu samples, peak bin %zu", n, peak);
}

void svg_phase_bars(struct svg *s, double x, double y, double w, double h, const char *title,
		    const char *const *names, const struct bench_summary *sums, size_t n)
{
	svg_text(s, x, y + 14, 14, "start", "%s", title);
	if (n == 0)
		return;
	double label_w = 120, top = y + 24, plot_w = w - label_w, plot_h = h - 24 - 34;
	double max = 0;
	for (size_t i = 0; i < n; i++)
		if ((double)sums[i].p99 > max)
			max = (double)sums[i].p99;
	double max_ms = nice_max(max / 1e6);
	double row = plot_h / (double)n, x0 = x + label_w;
	for (size_t i = 0; i < n; i++) {
		double ry = top + row * (double)i, bh = row * 0.6;
		double med = plot_w * ((double)sums[i].median / 1e6) / max_ms;
		double p90 = plot_w * ((double)sums[i].p90 / 1e6) / max_ms;
		double p99 = plot_w * ((double)sums[i].p99 / 1e6) / max_ms;
		svg_text(s, x0 - 6, ry + bh * 0.8, 12, "end", "%s", names[i]);
		svg_rect(s, x0, ry, med, bh, palette[i % ELEMENTSOF(palette)]);
		svg_line(s, x0 + med, ry + bh / 2, x0 + p90, ry + bh / 2, "#333", 1);
		svg_line(s, x0 + p90, ry + 2, x0 + p90, ry + bh - 2, "#333", 1);
		svg_line(s, x0 + p99, ry + 2, x0 + p99, ry + bh - 2, palette[2], 1.5);
		svg_text(s, x0 + (p99 > med ? p99 : med) + 4, ry + bh * 0.8, 11, "start", "%.3f ms",
			 (double)sums[i].median / 1e6);
	}
	axis_x(s, x0, top + plot_h, plot_w, max_ms);
	svg_text(s, x + w, y + 14, 11, "end", "bar: median, whisker: p90, red tick: p99");
}
