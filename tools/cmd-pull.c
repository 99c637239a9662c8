/* cowbox pull: options in, cb_pull() out; on a terminal one line per
 * layer, redrawn in place. */
#include "cli.h"
#include "fsutil.h"
#include "pull.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct layer_line {
	char digest[20];
	enum cb_pull_layer_state state;
	uint64_t received, size;
	uint64_t started_ns, ended_ns;
};

struct progress {
	FILE *out;
	size_t n;
	struct layer_line *lines;
	size_t drawn; /* lines on screen */
	uint64_t last_draw_ns;
};

static void human(uint64_t bytes, char *buf, size_t len)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;
	while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void draw(struct progress *p)
{
	if (p->drawn)
		fprintf(p->out, "\033[%zuA", p->drawn);
	uint64_t now = cb_now_ns();
	for (size_t i = 0; i < p->n; i++) {
		const struct layer_line *l = &p->lines[i];
		char got[32], total[32], speed[32] = "";
		human(l->received, got, sizeof(got));
		human(l->size, total, sizeof(total));
		uint64_t end = l->ended_ns ? l->ended_ns : now;
		if (l->started_ns && end > l->started_ns) {
			double secs = (double)(end - l->started_ns) / 1e9;
			human((uint64_t)((double)l->received / secs), speed, sizeof(speed));
			strcat(speed, "/s");
		}
		fprintf(p->out, "\r\033[Klayer %s  ", l->digest);
		switch (l->state) {
		case CB_PULL_LAYER_WAITING:
			fprintf(p->out, "waiting      %s", total);
			break;
		case CB_PULL_LAYER_DOWNLOADING:
			fprintf(p->out, "downloading  %s / %s  %s", got, total, speed);
			break;
		case CB_PULL_LAYER_RETRYING:
			fprintf(p->out, "retrying     %s / %s", got, total);
			break;
		case CB_PULL_LAYER_EXISTS:
			fprintf(p->out, "already in the store");
			break;
		case CB_PULL_LAYER_DONE:
			fprintf(p->out, "done         %s  %s", total, speed);
			break;
		case CB_PULL_LAYER_FAILED:
			fprintf(p->out, "failed       %s / %s", got, total);
			break;
		}
		fputc('\n', p->out);
	}
	p->drawn = p->n;
	p->last_draw_ns = now;
	fflush(p->out);
}

static void on_progress(void *userdata, const struct cb_pull_progress *pp)
{
	struct progress *p = userdata;
	if (!p->lines) {
		p->lines = calloc(pp->n_layers + 1, sizeof(*p->lines));
		if (!p->lines)
			return;
		p->n = pp->n_layers;
	}
	if (pp->index >= p->n)
		return;
	struct layer_line *l = &p->lines[pp->index];
	bool changed = l->state != pp->state || !l->digest[0];
	if (!l->digest[0])
		snprintf(l->digest, sizeof(l->digest), "%.12s",
			 pp->digest + (strncmp(pp->digest, "sha256:", 7) == 0 ? 7 : 0));
	if (pp->state == CB_PULL_LAYER_DOWNLOADING && !l->started_ns)
		l->started_ns = cb_now_ns();
	if ((pp->state == CB_PULL_LAYER_DONE || pp->state == CB_PULL_LAYER_FAILED) && !l->ended_ns)
		l->ended_ns = cb_now_ns();
	l->state = pp->state;
	l->received = pp->state == CB_PULL_LAYER_DONE ? pp->size : pp->received;
	l->size = pp->size;
	if (changed || cb_now_ns() - p->last_draw_ns >= 100000000ull)
		draw(p);
}

/* "10m" -> 10 MiB; "500k"; a plain number of bytes. */
static int parse_rate(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int cmd_pull(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_PLATFORM = 256, OPT_TLS, OPT_RATE, OPT_AUTHFILE };
	static const struct option opts[] = {
	    {"platform", required_argument, NULL, OPT_PLATFORM},
	    {"tls-verify", optional_argument, NULL, OPT_TLS},
	    {"quiet", no_argument, NULL, 'q'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"limit-rate", required_argument, NULL, OPT_RATE},
	    {"authfile", required_argument, NULL, OPT_AUTHFILE},
	    {0},
	};
	struct cb_pull_options o = {0};
	bool quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "qj:", opts, NULL)) != -1) {
		switch (c) {
		case OPT_PLATFORM:
			o.platform = optarg;
			break;
		case OPT_TLS:
			if (!optarg || strcmp(optarg, "true") == 0)
				o.tls_verify = CB_TLS_VERIFY_YES;
			else if (strcmp(optarg, "false") == 0)
				o.tls_verify = CB_TLS_VERIFY_NO;
			else
				return cli_error("--tls-verify=%s: expected true or false", optarg);
			break;
		case 'q':
			quiet = true;
			break;
		case 'j': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 1 || v > 64)
				return cli_error("--jobs %s: expected 1 to 64", optarg);
			o.concurrency = (unsigned)v;
			break;
		}
		case OPT_RATE:
			if (parse_rate(optarg, &o.max_recv_speed) < 0)
				return cli_error("--limit-rate %s: expected bytes per second "
						 "(k, m, g suffixes)",
						 optarg);
			break;
		case OPT_AUTHFILE:
			/* The one place credentials are looked up reads this first. */
			if (setenv("REGISTRY_AUTH_FILE", optarg, 1) < 0)
				return cli_error("--authfile: %m");
			break;
		default:
			return cli_usage("pull", true);
		}
	}
	if (optind + 1 != argc)
		return cli_usage("pull", true);
	const char *ref = argv[optind];
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;

	struct progress p = {.out = stderr};
	if (!quiet && isatty(STDERR_FILENO)) {
		o.progress = on_progress;
		o.progress_userdata = &p;
	}
	struct cb_error err = {0};
	struct cb_pull_result res;
	int r = cb_pull(s, ref, &o, &res, &err);
	if (p.lines) {
		draw(&p);
		free(p.lines);
	}
	if (r < 0)
		return cli_fail(&err, r, "pull");
	cli_log(cli, CB_LOG_INFO, "pulled %s over %s: %zu layers fetched (%llu bytes), %zu reused",
		res.name, res.scheme, res.layers_fetched, (unsigned long long)res.bytes_fetched,
		res.layers_reused);
	printf("%s\n", res.id);
	return 0;
}
