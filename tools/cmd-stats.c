/* cowbox stats [-a] [--no-stream] [--interval SECS] [--format json]
 *              [CONTAINER...]
 * What running containers use, docker's columns: CPU % over the interval
 * (100% is one CPU), memory without the inactive page cache against its
 * limit (the host's memory without one), network I/O of every interface
 * but lo, block I/O, tasks. From the container's cgroup; what its
 * hierarchy does not say (on v1 a container joins only memory and the
 * controllers it is limited by) is summed over its processes in /proc. */
#include "cgroup.h"
#include "cli.h"
#include "container.h"
#include "fsutil.h"
#include "net.h"
#include "procs.h"
#include "supervisor.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

struct stats_target {
	char id[CB_CONTAINER_ID_SIZE];
	char name[256];
	bool running;
	pid_t pid;
	uint64_t pid_start;
	char cgroup[512];
};

/* One reading; -1: not known. */
struct stats_sample {
	uint64_t t_ns;
	int64_t cpu_ns, memory, memory_limit, pids, net_rx, net_tx, io_read, io_write;
};

struct stats_opts {
	bool all, stream, json;
	double interval;
};

static int64_t host_memory(void)
{
	struct sysinfo si;
	return sysinfo(&si) == 0 ? (int64_t)si.totalram * si.mem_unit : -1;
}

/* What the cgroup leaves unknown, from the container's processes. */
static void sample_procs(const struct stats_target *t, bool cpu, bool pids, bool io, bool mem,
			 struct stats_sample *ret)
{
	_cleanup_free_ pid_t *v = NULL;
	size_t n = 0;
	if (cli_container_pids(t->pid, t->cgroup, &v, &n) < 0)
		return;
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	int64_t ticks = 0, tasks = 0, rd = 0, wr = 0, rss = 0;
	for (size_t i = 0; i < n; i++) {
		char path[64];
		_cleanup_free_ char *stat = NULL, *iot = NULL;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)v[i]);
		if (cb_read_file_at(AT_FDCWD, path, 1 << 12, &stat, NULL) < 0)
			continue; /* gone meanwhile */
		/* utime, stime, and the children it waited for (cutime,
		 * cstime): what ended in the container stays counted. */
		for (int f = 14; f <= 17; f++)
			ticks += (int64_t)cb_proc_stat_field(stat, f);
		tasks += (int64_t)cb_proc_stat_field(stat, 20);
		rss += (int64_t)cb_proc_stat_field(stat, 24) * page;
		snprintf(path, sizeof(path), "/proc/%d/io", (int)v[i]);
		if (io && cb_read_file_at(AT_FDCWD, path, 1 << 12, &iot, NULL) >= 0) {
			int64_t r = cb_kv_value(iot, "read_bytes"),
				w = cb_kv_value(iot, "write_bytes");
			rd += r > 0 ? r : 0;
			wr += w > 0 ? w : 0;
		}
	}
	if (cpu && hz > 0)
		ret->cpu_ns = ticks * (1000000000 / hz);
	if (pids)
		ret->pids = tasks;
	if (io) {
		ret->io_read = rd;
		ret->io_write = wr;
	}
	if (mem)
		ret->memory = rss;
}

/* Network counters of the container's namespace; -1 when it is the
 * host's (--net host: the host's traffic is not the container's). */
static void sample_net(pid_t pid, struct stats_sample *ret)
{
	char path[64];
	struct stat ns, self;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &ns) < 0 || (stat("/proc/self/ns/net", &self) == 0 &&
				    self.st_ino == ns.st_ino && self.st_dev == ns.st_dev))
		return;
	_cleanup_free_ char *text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	if (cb_read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL) < 0 ||
	    cb_net_dev_totals(text, &ret->net_rx, &ret->net_tx) < 0)
		ret->net_rx = ret->net_tx = -1;
}

static void sample_one(struct stats_target *t, struct stats_sample *ret)
{
	*ret = (struct stats_sample){.t_ns = cb_now_ns()};
	ret->cpu_ns = ret->memory = ret->memory_limit = ret->pids = -1;
	ret->net_rx = ret->net_tx = ret->io_read = ret->io_write = -1;
	if (!t->running)
		return;
	int pidfd = cb_proc_open_checked(t->pid, t->pid_start);
	if (pidfd < 0) {
		t->running = false; /* it ended */
		return;
	}
	struct cb_cgroup_usage u;
	if (!t->cgroup[0] || cb_cgroup_usage(t->cgroup, &u) < 0)
		u = (struct cb_cgroup_usage){-1, -1, -1, -1, -1, -1};
	ret->cpu_ns = u.cpu_ns;
	ret->memory = u.memory;
	ret->memory_limit = u.memory_limit >= 0 ? u.memory_limit : host_memory();
	ret->pids = u.pids;
	ret->io_read = u.io_read;
	ret->io_write = u.io_write;
	sample_procs(t, u.cpu_ns < 0, u.pids < 0, u.io_read < 0, u.memory < 0, ret);
	sample_net(t->pid, ret);
	close(pidfd);
}

static void target_fill(struct stats_target *t, const struct cb_container *ctr,
			const struct cb_state *st)
{
	*t = (struct stats_target){0};
	snprintf(t->id, sizeof(t->id), "%s", ctr->id);
	snprintf(t->name, sizeof(t->name), "%s", ctr->name ? ctr->name : "");
	t->running = st->status == CB_STATE_RUNNING;
	t->pid = st->pid;
	t->pid_start = st->pid_start;
	snprintf(t->cgroup, sizeof(t->cgroup), "%s", st->cgroup);
}

struct target_list {
	struct stats_target *v;
	size_t n;
};

static int target_add(struct target_list *l, const struct cb_container *ctr,
		      const struct cb_state *st)
{
	struct stats_target *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	target_fill(&l->v[l->n++], ctr, st);
	return 0;
}

static int add_named(struct cb_cli *cli, struct cb_store *s, const char *what,
		     struct cb_container *ctr, struct cb_state *st, void *opaque)
{
	(void)cli;
	(void)s;
	return target_add(opaque, ctr, st) < 0 ? cli_error("stats %s: out of memory", what) : 0;
}

static int add_listed(struct cb_cli *cli, struct cb_store *s, const char *what,
		      struct cb_container *ctr, struct cb_state *st, void *opaque)
{
	(void)cli;
	(void)s;
	(void)what;
	return target_add(opaque, ctr, st) < 0 ? cli_error("stats: out of memory") : 0;
}

static double cpu_percent(const struct stats_sample *a, const struct stats_sample *b)
{
	if (a->cpu_ns < 0 || b->cpu_ns < 0 || b->t_ns <= a->t_ns || b->cpu_ns < a->cpu_ns)
		return -1;
	return 100.0 * (double)(b->cpu_ns - a->cpu_ns) / (double)(b->t_ns - a->t_ns);
}

static void pair_text(int64_t a, int64_t b, bool binary, int digits, char *buf, size_t size)
{
	if (a < 0 || b < 0) {
		snprintf(buf, size, "--");
		return;
	}
	char x[32], y[32];
	cb_size_text((double)a, digits, binary, x, sizeof(x));
	cb_size_text((double)b, digits, binary, y, sizeof(y));
	snprintf(buf, size, "%s / %s", x, y);
}

static json_t *num_or_null(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *real_or_null(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static void print_round(const struct stats_opts *o, const struct target_list *l,
			const struct stats_sample *before, const struct stats_sample *after)
{
	json_t *arr = o->json ? json_array() : NULL;
	if (!o->json)
		printf("%-12s   %-20s   %-8s   %-22s   %-7s   %-20s   %-20s   %s\n", "CONTAINER ID",
		       "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O",
		       "PIDS");
	for (size_t i = 0; i < l->n; i++) {
		const struct stats_target *t = &l->v[i];
		const struct stats_sample *a = &before[i], *b = &after[i];
		double cpu = t->running ? cpu_percent(a, b) : 0;
		int64_t mem = t->running ? b->memory : 0, lim = b->memory_limit;
		double memp = mem >= 0 && lim > 0 ? 100.0 * (double)mem / (double)lim : -1;
		if (!t->running)
			memp = 0;
		if (o->json) {
			json_t *j = json_object();
			json_object_set_new(j, "id", json_string(t->id));
			json_object_set_new(j, "name", json_string(t->name));
			json_object_set_new(j, "running", json_boolean(t->running));
			json_object_set_new(j, "cpu_percent", real_or_null(cpu));
			json_object_set_new(j, "cpu_ns", num_or_null(t->running ? b->cpu_ns : 0));
			json_object_set_new(j, "mem_usage", num_or_null(mem));
			json_object_set_new(j, "mem_limit", num_or_null(lim));
			json_object_set_new(j, "mem_percent", real_or_null(memp));
			json_object_set_new(j, "net_input",
					    num_or_null(t->running ? b->net_rx : 0));
			json_object_set_new(j, "net_output",
					    num_or_null(t->running ? b->net_tx : 0));
			json_object_set_new(j, "block_input",
					    num_or_null(t->running ? b->io_read : 0));
			json_object_set_new(j, "block_output",
					    num_or_null(t->running ? b->io_write : 0));
			json_object_set_new(j, "pids", num_or_null(t->running ? b->pids : 0));
			json_array_append_new(arr, j);
			continue;
		}
		char cpus[16] = "--", mems[48], memps[16] = "--", net[48], blk[48], pids[16] = "--";
		if (cpu >= 0)
			snprintf(cpus, sizeof(cpus), "%.2f%%", cpu);
		if (memp >= 0)
			snprintf(memps, sizeof(memps), "%.2f%%", memp);
		if (!t->running || b->pids >= 0)
			snprintf(pids, sizeof(pids), "%lld", (long long)(t->running ? b->pids : 0));
		pair_text(mem, lim < 0 ? 0 : lim, true, 4, mems, sizeof(mems));
		pair_text(t->running ? b->net_rx : 0, t->running ? b->net_tx : 0, false, 3, net,
			  sizeof(net));
		pair_text(t->running ? b->io_read : 0, t->running ? b->io_write : 0, false, 3, blk,
			  sizeof(blk));
		printf("%-12.12s   %-20s   %-8s   %-22s   %-7s   %-20s   %-20s   %s\n", t->id,
		       t->name[0] ? t->name : "--", cpus, mems, memps, net, blk, pids);
	}
	if (o->json) {
		char *text =
		    json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
		json_decref(arr);
		printf("%s\n", text ? text : "[]");
		free(text);
	}
	fflush(stdout);
}

static void sleep_for(double secs)
{
	struct timespec ts = {.tv_sec = (time_t)secs,
			      .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One table: the targets sampled twice, the interval apart. */
static int stats_round(const struct stats_opts *o, struct target_list *l)
{
	_cleanup_free_ struct stats_sample *a = calloc(l->n + 1, sizeof(*a));
	_cleanup_free_ struct stats_sample *b = calloc(l->n + 1, sizeof(*b));
	if (!a || !b)
		return cli_error("stats: out of memory");
	for (size_t i = 0; i < l->n; i++)
		sample_one(&l->v[i], &a[i]);
	sleep_for(o->interval);
	for (size_t i = 0; i < l->n; i++)
		sample_one(&l->v[i], &b[i]);
	if (o->stream && !o->json && isatty(STDOUT_FILENO))
		fputs("\033[2J\033[H", stdout); /* redraw in place, as docker does */
	print_round(o, l, a, b);
	return 0;
}

int cmd_stats(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_NO_STREAM, OPT_INTERVAL };
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"no-stream", no_argument, NULL, OPT_NO_STREAM},
	    {"interval", required_argument, NULL, OPT_INTERVAL},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {0},
	};
	struct stats_opts o = {.stream = true, .interval = 1.0};
	int c;
	while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.all = true;
			break;
		case OPT_NO_STREAM:
			o.stream = false;
			break;
		case OPT_INTERVAL: {
			char *end;
			o.interval = strtod(optarg, &end);
			if (end == optarg || *end || !(o.interval > 0) || o.interval > 3600)
				return cli_error(
				    "stats --interval %s: expected seconds, more than 0 "
				    "and at most 3600",
				    optarg);
			break;
		}
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0)
				o.json = true;
			else if (strcmp(optarg, "table") != 0)
				return cli_error("stats --format %s: expected json or table",
						 optarg);
			break;
		default:
			return cli_usage("stats", true);
		}
	}
	bool named = optind < argc;
	if (named && o.all)
		return cli_error("stats: -a lists every container: name none with it");
	for (;;) {
		struct target_list l = {0};
		int ret = named ? cli_for_each_container(cli, "stats", argv + optind, argc - optind,
							 add_named, &l)
				: cli_for_each_listed(cli, "stats", o.all, add_listed, &l);
		if (ret == 0)
			ret = stats_round(&o, &l);
		free(l.v);
		if (ret != 0 || !o.stream)
			return ret;
	}
}
