/* cowbox bench boot [-n N] [--parallel P] [--network MODE] [--storage-driver D]
 *                   [--format table|json] [--plot FILE.svg] IMAGE [CMD [ARG...]]
 * cowbox bench footprint [-n N] [--storage-driver D] [--format table|json]
 *                   [--plot FILE.svg] IMAGE
 *
 * boot runs N containers to exit, P at a time, each the way `cowbox run
 * --rm` does (launch.h: create, mount; runtime.h: spawn, wait; unmount,
 * remove), and times every step with CLOCK_MONOTONIC inside this process
 * (spec.record_phases brings the child's own timestamps back). P > 1 forks
 * P workers, each with its own store handle, sharing one result array.
 *
 * footprint starts N containers running a long sleep, keeps their handles
 * (no supervisor: cowbox keeps no process per container), measures disk
 * and memory, and tears them all down.
 *
 * Both clean up everything they made, also on SIGINT/SIGTERM/SIGHUP: the
 * current containers are killed and removed, then the bench exits 128+N. */
#include "state.h"
#include "bench-stats.h"
#include "cgroup.h"
#include "cli.h"
#include "df.h"
#include "fsutil.h"
#include "launch.h"
#include "macro.h"
#include "run-options.h"
#include "runtime.h"
#include "store.h"
#include "supervisor.h"
#include "svg.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* The phases of one boot. The cgroup is made before the clone on v2 (for
 * CLONE_INTO_CGROUP), and on v1 after the rootfs went to the child, while
 * it mounts (runtime.c cgroup_late): that phase then overlaps the
 * mounts'. The rootfs is made after the clone, while the child makes its
 * namespaces (runtime/spec.h rootfs_late): that phase overlaps the
 * clone's and the mounts' (which waits for it); the others are
 * disjoint. */
enum { PH_ROOTFS, PH_CLONE, PH_MOUNTS, PH_CGROUP, PH_EXEC, PH_TEARDOWN, N_PHASES };
static const char *const phase_names[N_PHASES] = {"rootfs", "clone", "mounts",
						  "cgroup", "exec",  "teardown"};
static const char *const phase_titles[N_PHASES] = {
    "rootfs (create + mount)",	    "clone + namespaces", "mounts + pivot_root", "cgroup", "exec",
    "teardown (umount, rm, cgroup)"};

/* One container's timestamps (CLOCK_MONOTONIC ns). Lives in shared memory
 * when workers are forked. */
struct boot_sample {
	int done; /* 1 once recorded */
	int exit_code;
	uint64_t t_begin, t_mounted, t_end;
	struct cb_run_phases ph;
};

/* What the workers share: the next index to take, and the first error. */
struct boot_shared {
	int next;
	int failed;
	int err_code;
	char err_msg[512];
	struct boot_sample samples[];
};

struct bench_opts {
	unsigned n, parallel;
	const char *network;	   /* none, host */
	const char *cgroup_parent; /* NULL: the launcher's default (cowbox) */
	bool json;
	const char *plot;
	const char *image;
	char **cmd; /* after IMAGE; NULL-terminated, may be empty */
};

static volatile sig_atomic_t stop_signal;
static pid_t worker_pids[256];
static volatile sig_atomic_t n_worker_pids;

static void on_stop_signal(int sig)
{
	if (!stop_signal)
		stop_signal = sig;
	/* Workers get it from the terminal too; a `kill -INT` of the bench
	 * alone reaches them through here. */
	for (int i = 0; i < n_worker_pids; i++)
		if (worker_pids[i] > 0)
			kill(worker_pids[i], sig);
}

static void install_stop_handlers(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static uint64_t span(uint64_t a, uint64_t b)
{
	return a && b && b > a ? b - a : 0;
}

/* The interval [*a, *b] of phase i (0, 0 when not reached). */
static void phase_interval(const struct boot_sample *s, int i, uint64_t *a, uint64_t *b)
{
	const struct cb_run_phases *p = &s->ph;
	/* Made before the clone (v2), or after it (v1). */
	bool cgroup_first = p->cgroup && p->cgroup <= p->cloned;
	*a = *b = 0;
	switch (i) {
	case PH_ROOTFS:
		*a = s->t_begin, *b = s->t_mounted;
		break;
	case PH_CLONE:
		*a = cgroup_first ? p->cgroup : p->start, *b = p->child_start;
		break;
	case PH_MOUNTS:
		*a = p->child_start, *b = p->mounts_done;
		break;
	case PH_CGROUP:
		*a = p->cgroup_begin, *b = p->cgroup;
		break;
	case PH_EXEC:
		*a = p->mounts_done > p->cgroup ? p->mounts_done : p->cgroup;
		*b = p->exec_seen;
		break;
	case PH_TEARDOWN:
		*a = p->exited, *b = s->t_end;
		break;
	}
	if (!*a || !*b || *b < *a)
		*a = *b = 0;
}

/* A spec for one container, the way `run --rm` makes it, with phases
 * recorded and the command's output thrown away. */
static void bench_spec_init(struct cb_run_options *o, const struct bench_opts *bo, int devnull)
{
	memset(o, 0, sizeof(*o));
	cb_spawn_spec_init(&o->spec);
	o->spec.cache_dir = cb_state_run_dir();
	o->rm = true;
	/* Its state lock, as run takes it: a bench killed at any point
	 * leaves --rm containers that the next command removes. */
	o->claim_only = true;
	o->spec.record_phases = true;
	o->spec.stdio[0] = -1;
	o->spec.stdio[1] = o->spec.stdio[2] = devnull;
	o->spec.cgroup_parent = bo->cgroup_parent;
	if (bo->network && strcmp(bo->network, "host") == 0)
		o->spec.ns_create &= ~(unsigned)CB_NS_NET;
}

/* Wait for the container to exit; a stop signal kills it first. */
static int wait_stoppable(struct cb_proc *p, struct cb_run_status *st, struct cb_error *err)
{
	struct pollfd pfd = {.fd = cb_proc_pidfd(p), .events = POLLIN};
	bool killed = false;
	while (!killed) {
		if (stop_signal) {
			cb_proc_kill(p, SIGKILL);
			killed = true;
			break;
		}
		int r = poll(&pfd, 1, 100);
		if (r > 0)
			break;
	}
	return cb_proc_wait(p, st, err);
}

/* Remove a bench container, then its state (the lock let go last, so no
 * command takes it for one whose starter died while we remove it). */
static int finish_claimed(struct cb_cli *cli, struct cb_store *s, struct cli_launch *l,
			  struct cli_foreground *fg, struct cb_error *err)
{
	char id[sizeof(l->id)]; /* the launch's goes with it */
	memcpy(id, l->id, sizeof(id));
	int r = cli_launch_finish(cli, s, l, true, err);
	cli_foreground_end(fg, id, true, NULL);
	return r;
}

/* Boot one container and record its timestamps in *out. */
static int boot_one(struct cb_cli *cli, struct cb_store *s, const struct bench_opts *bo,
		    int devnull, struct boot_sample *out, struct cb_error *err)
{
	struct cb_run_options o;
	bench_spec_init(&o, bo, devnull);
	struct cli_launch l;
	struct cli_foreground fg;
	int r = cli_launch_prepare(cli, s, bo->image, &o, bo->cmd, NULL, &fg, &l, err);
	if (r < 0)
		goto out_spec;
	snprintf(o.id, sizeof(o.id), "%s", l.id);
	o.spec.id = o.id;
	struct cb_proc *p = NULL;
	struct cb_run_status st = {0};
	int fail_code = 125;
	r = cb_runtime_spawn(&o.spec, &p, &fail_code, err);
	if (r >= 0)
		r = wait_stoppable(p, &st, err);
	cb_proc_free(p);
	/* As run does: what the spawn's wait left of the trash, before this
	 * container's own directories go there. */
	cli_launch_drain_trash(&l);
	struct cb_error ferr = {0};
	uint64_t t_begin = l.t_begin, t_mounted = l.t_mounted;
	char cmd0[64]; /* the launch owns argv: keep its name for the message */
	snprintf(cmd0, sizeof(cmd0), "%s", o.spec.argv ? o.spec.argv[0] : bo->image);
	int rf = finish_claimed(cli, s, &l, &fg, &ferr);
	uint64_t t_end = cb_now_ns();
	if (r >= 0 && rf < 0) {
		*err = ferr;
		r = rf;
	}
	if (r >= 0) {
		*out = (struct boot_sample){
		    .done = 1,
		    .exit_code = st.exit_code,
		    .t_begin = t_begin,
		    .t_mounted = t_mounted,
		    .t_end = t_end,
		    .ph = st.phases,
		};
		if (st.exit_code != 0 && !stop_signal)
			r = cb_error_set(err, EINVAL, "%s exited %d", cmd0, st.exit_code);
	}
out_spec:
	cb_spawn_spec_release(&o.spec);
	return r;
}

/* Take indexes until none is left, a container fails, or a stop signal. */
static void boot_worker(struct cb_cli *cli, struct cb_store *s, const struct bench_opts *bo,
			struct boot_shared *sh)
{
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	while (!stop_signal && !__atomic_load_n(&sh->failed, __ATOMIC_SEQ_CST)) {
		int i = __atomic_fetch_add(&sh->next, 1, __ATOMIC_SEQ_CST);
		if (i >= (int)bo->n)
			break;
		struct cb_error err = {0};
		int r = boot_one(cli, s, bo, devnull, &sh->samples[i], &err);
		if (r < 0 && !stop_signal) {
			int expected = 0;
			if (__atomic_compare_exchange_n(&sh->failed, &expected, 1, false,
							__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
				sh->err_code = -r;
				snprintf(sh->err_msg, sizeof(sh->err_msg), "%s",
					 err.msg[0] ? err.msg : strerror(-r));
			}
			break;
		}
	}
	if (devnull >= 0)
		close(devnull);
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A summary as JSON; unit names the keys ("ns": "median_ns"...). */
static json_t *summary_json(const struct bench_summary *m, const char *unit)
{
	char k[5][32];
	const char *names[5] = {"min", "median", "p90", "p99", "max"};
	for (int i = 0; i < 5; i++)
		snprintf(k[i], sizeof(k[i]), "%s_%s", names[i], unit);
	char mean[32];
	snprintf(mean, sizeof(mean), "mean_%s", unit);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "n", (json_int_t)m->n, k[0],
			 (json_int_t)m->min, k[1], (json_int_t)m->median, k[2], (json_int_t)m->p90,
			 k[3], (json_int_t)m->p99, k[4], (json_int_t)m->max, mean, m->mean);
}

static void print_summary_row(const char *name, const struct bench_summary *m)
{
	printf("  %-32s %9.3f %9.3f %9.3f %9.3f\n", name, (double)m->median / 1e6,
	       (double)m->p90 / 1e6, (double)m->p99 / 1e6, (double)m->max / 1e6);
}

static json_t *context_json(struct cb_cli *cli, const struct bench_opts *bo)
{
	double load[3] = {0};
	getloadavg(load, 3);
	json_t *cmd = json_array();
	for (char **c = bo->cmd; c && *c; c++)
		json_array_append_new(cmd, json_string(*c));
	return json_pack("{s:s,s:o,s:s,s:s,s:i,s:i,s:[f,f,f]}", "image", bo->image, "cmd", cmd,
			 "network", bo->network ? bo->network : "none", "storage_driver",
			 cli->storage_driver ? cli->storage_driver : "auto", "cgroup_version",
			 cb_cgroup_detect(), "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN),
			 "load_average", load[0], load[1], load[2]);
}

static int write_json(json_t *j)
{
	int r = json_dumpf(j, stdout, JSON_COMPACT) == 0 ? 0 : -EIO;
	putchar('\n');
	json_decref(j);
	return r;
}

/* Metrics of a boot besides the phases. */
enum { M_EXEC, M_EXIT, M_TOTAL, M_COMMAND, N_METRICS };
static const char *const metric_names[N_METRICS] = {"to_exec", "to_exit", "total", "command"};
static const char *const metric_titles[N_METRICS] = {"to exec (process started)", "to exit",
						     "total (with teardown)", "the command itself"};

static uint64_t metric(const struct boot_sample *s, int m)
{
	switch (m) {
	case M_EXEC:
		return span(s->t_begin, s->ph.exec_seen);
	case M_EXIT:
		return span(s->t_begin, s->ph.exited);
	case M_TOTAL:
		return span(s->t_begin, s->t_end);
	case M_COMMAND:
		return span(s->ph.exec_seen, s->ph.exited);
	}
	return 0;
}

static int write_plot(const char *path, const char *title, const char *hist_title, uint64_t *sorted,
		      size_t n, const char *const *names, const struct bench_summary *sums,
		      size_t n_phases, const char *const *notes, size_t n_notes)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return cli_error("--plot %s: %m", path);
	struct svg s;
	double h = 330 + 24.0 * (double)n_phases + 16.0 * (double)n_notes;
	svg_begin(&s, f, 900, h);
	svg_text(&s, 20, 26, 16, "start", "%s", title);
	double y = 36;
	for (size_t i = 0; i < n_notes; i++, y += 16)
		svg_text(&s, 20, y + 12, 12, "start", "%s", notes[i]);
	svg_histogram(&s, 20, y + 6, 860, 230, hist_title, sorted, n);
	svg_phase_bars(&s, 20, y + 250, 860, 60 + 24.0 * (double)n_phases, "phases inside cowbox",
		       names, sums, n_phases);
	int r = svg_end(&s);
	if (fclose(f) != 0 || r < 0)
		return cli_error("--plot %s: write failed", path);
	return 0;
}

static int boot_report(struct cb_cli *cli, const struct bench_opts *bo, struct boot_sample *samp,
		       size_t n, uint64_t wall_ns)
{
	uint64_t *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return cli_error("out of memory");
	struct bench_summary metrics[N_METRICS], phases[N_PHASES];
	for (int m = 0; m < N_METRICS; m++) {
		for (size_t i = 0; i < n; i++)
			v[i] = metric(&samp[i], m);
		bench_summarize(v, n, &metrics[m]);
	}
	for (int p = 0; p < N_PHASES; p++) {
		for (size_t i = 0; i < n; i++) {
			uint64_t a, b;
			phase_interval(&samp[i], p, &a, &b);
			v[i] = b - a;
		}
		bench_summarize(v, n, &phases[p]);
	}
	int ret = 0;
	if (bo->json) {
		json_t *j = context_json(cli, bo);
		json_object_set_new(j, "bench", json_string("boot"));
		json_object_set_new(j, "n", json_integer(n));
		json_object_set_new(j, "parallel", json_integer(bo->parallel));
		json_object_set_new(j, "wall_ns", json_integer((json_int_t)wall_ns));
		json_t *jm = json_object(), *jp = json_object(), *js = json_array();
		for (int m = 0; m < N_METRICS; m++)
			json_object_set_new(jm, metric_names[m], summary_json(&metrics[m], "ns"));
		for (int p = 0; p < N_PHASES; p++)
			json_object_set_new(jp, phase_names[p], summary_json(&phases[p], "ns"));
		for (size_t i = 0; i < n; i++) {
			json_t *one = json_pack("{s:i,s:I,s:I,s:I}", "exit_code", samp[i].exit_code,
						"to_exec_ns", (json_int_t)metric(&samp[i], M_EXEC),
						"to_exit_ns", (json_int_t)metric(&samp[i], M_EXIT),
						"total_ns", (json_int_t)metric(&samp[i], M_TOTAL));
			json_t *iv = json_object();
			for (int p = 0; p < N_PHASES; p++) {
				uint64_t a, b;
				phase_interval(&samp[i], p, &a, &b);
				json_object_set_new(
				    iv, phase_names[p],
				    json_pack("[I,I]", (json_int_t)(a ? a - samp[i].t_begin : 0),
					      (json_int_t)(b ? b - samp[i].t_begin : 0)));
			}
			json_object_set_new(one, "phases", iv);
			json_array_append_new(js, one);
		}
		json_object_set_new(j, "metrics", jm);
		json_object_set_new(j, "phases", jp);
		json_object_set_new(j, "samples", js);
		ret = write_json(j) < 0 ? cli_error("bench: write failed") : 0;
	} else {
		double load[3] = {0};
		getloadavg(load, 3);
		printf("cowbox bench boot: %zu containers of %s (%s), %u at a time, network %s, "
		       "cgroup v%d\n",
		       n, bo->image, bo->cmd && bo->cmd[0] ? bo->cmd[0] : "true", bo->parallel,
		       bo->network ? bo->network : "none", cb_cgroup_detect());
		printf("wall %.3f s (%.1f containers/s), load average %.2f %.2f %.2f on %ld cpus\n",
		       (double)wall_ns / 1e9, wall_ns ? (double)n * 1e9 / (double)wall_ns : 0,
		       load[0], load[1], load[2], sysconf(_SC_NPROCESSORS_ONLN));
		printf("  %-32s %9s %9s %9s %9s\n", "ms", "median", "p90", "p99", "max");
		for (int m = 0; m < N_METRICS; m++)
			print_summary_row(metric_titles[m], &metrics[m]);
		printf("  phases inside cowbox:\n");
		for (int p = 0; p < N_PHASES; p++)
			print_summary_row(phase_titles[p], &phases[p]);
	}
	if (bo->plot) {
		for (size_t i = 0; i < n; i++)
			v[i] = metric(&samp[i], M_EXEC);
		bench_sort(v, n);
		char title[256], note[256];
		snprintf(title, sizeof(title), "cowbox bench boot: %zu x %s, %u at a time", n,
			 bo->image, bo->parallel);
		snprintf(note, sizeof(note), "to exec: median %.3f ms, to exit: median %.3f ms",
			 (double)metrics[M_EXEC].median / 1e6,
			 (double)metrics[M_EXIT].median / 1e6);
		const char *notes[] = {note};
		int r =
		    write_plot(bo->plot, title, "time to the container's process starting (exec)",
			       v, n, phase_names, phases, N_PHASES, notes, 1);
		if (r != 0)
			ret = r;
	}
	free(v);
	return ret;
}

static int bench_boot(struct cb_cli *cli, const struct bench_opts *bo)
{
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	size_t size = sizeof(struct boot_shared) + bo->n * sizeof(struct boot_sample);
	struct boot_shared *sh =
	    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return cli_error("bench: %m");
	install_stop_handlers();
	uint64_t t0 = cb_now_ns();
	if (bo->parallel <= 1) {
		boot_worker(cli, s, bo, sh);
	} else {
		/* Workers open their own store handle: flocks on a shared open
		 * file would not keep them apart. */
		fflush(NULL);
		for (unsigned w = 0; w < bo->parallel && !stop_signal; w++) {
			pid_t pid = fork();
			if (pid < 0) {
				cli_error("bench: fork: %m");
				stop_signal = SIGTERM;
				break;
			}
			if (pid == 0) {
				n_worker_pids = 0;
				struct cb_cli wcli = *cli;
				wcli.store = NULL;
				wcli.default_root = NULL;
				struct cb_store *ws = cli_store(&wcli);
				if (ws)
					boot_worker(&wcli, ws, bo, sh);
				_exit(ws ? 0 : EXIT_COWBOX);
			}
			worker_pids[w] = pid;
			n_worker_pids = (sig_atomic_t)(w + 1);
		}
		for (int w = 0; w < n_worker_pids; w++) {
			int status;
			while (waitpid(worker_pids[w], &status, 0) < 0 && errno == EINTR)
				;
			if (!sh->failed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
				sh->failed = 1;
				snprintf(sh->err_msg, sizeof(sh->err_msg),
					 "a worker died (status %d)", status);
			}
			worker_pids[w] = 0;
		}
		n_worker_pids = 0;
	}
	uint64_t wall = cb_now_ns() - t0;
	int ret = 0;
	/* Leftovers of workers killed mid-way (their cgroups are theirs to
	 * remove; only empty ones older than a minute go here). */
	cb_cgroup_prune(bo->cgroup_parent, 60);
	if (stop_signal) {
		size_t done = 0;
		for (size_t i = 0; i < bo->n; i++)
			done += sh->samples[i].done;
		fprintf(stderr, "cowbox: bench boot: interrupted after %zu of %u containers\n",
			done, bo->n);
		ret = 128 + stop_signal;
	} else if (sh->failed) {
		ret = cli_error("bench boot %s: %s", bo->image, sh->err_msg);
	} else {
		/* Every sample is done here: compact in index order. */
		ret = boot_report(cli, bo, sh->samples, bo->n, wall);
	}
	munmap(sh, size);
	return ret;
}

/* ---- footprint ---- */

struct fp_container {
	struct cli_launch l;
	struct cli_foreground fg;
	struct cb_proc *p;
	struct boot_sample t;
};

/* Rss: and Pss: of /proc/PID/smaps_rollup, in bytes. */
static int read_rss_pss(pid_t pid, uint64_t *rss, uint64_t *pss)
{
	char path[64], line[256];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/smaps_rollup");
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	*rss = *pss = 0;
	unsigned long long kb;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %llu kB", &kb) == 1)
			*rss = kb * 1024;
		else if (sscanf(line, "Pss: %llu kB", &kb) == 1)
			*pss = kb * 1024;
	}
	fclose(f);
	return 0;
}

/* The memory charge of pid's cgroup: memory.usage_in_bytes (v1) or
 * memory.current (v2), found through /proc/PID/cgroup. */
static int read_cgroup_charge(pid_t pid, uint64_t *ret)
{
	char path[PATH_MAX], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char v1[512] = "", v2[512] = "";
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *ctl = strchr(line, ':'), *p = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!p)
			continue;
		*p++ = '\0';
		ctl++;
		if (strcmp(line, "0") == 0 && ctl[0] == '\0')
			snprintf(v2, sizeof(v2), "%s", p);
		else {
			for (char *tok = strtok(ctl, ","); tok; tok = strtok(NULL, ","))
				if (strcmp(tok, "memory") == 0)
					snprintf(v1, sizeof(v1), "%s", p);
		}
	}
	fclose(f);
	if (v1[0])
		snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/memory.usage_in_bytes", v1);
	else
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.current", v2);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	unsigned long long v;
	int r = fscanf(f, "%llu", &v) == 1 ? 0 : -EBADMSG;
	fclose(f);
	if (r == 0)
		*ret = v;
	return r;
}

static uint64_t store_bytes(struct cb_store *s)
{
	struct cb_df df;
	struct cb_error err = {0};
	if (cb_store_df(s, &df, &err) < 0)
		return 0;
	return df.layers_bytes + df.containers_bytes;
}

static void human_bytes(double b, char out[32])
{
	if (b >= 1e9)
		snprintf(out, 32, "%.2f GB", b / 1e9);
	else if (b >= 1e6)
		snprintf(out, 32, "%.2f MB", b / 1e6);
	else if (b >= 1e3 || b <= -1e3)
		snprintf(out, 32, "%.1f kB", b / 1e3);
	else
		snprintf(out, 32, "%.0f B", b);
}

static void fp_teardown(struct cb_cli *cli, struct cb_store *s, struct fp_container *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].p)
			cb_proc_kill(c[i].p, SIGKILL);
	for (size_t i = 0; i < n; i++) {
		if (c[i].p) {
			struct cb_run_status st;
			cb_proc_wait(c[i].p, &st, NULL);
			cb_proc_free(c[i].p);
			c[i].p = NULL;
		}
		/* Prepared (a container made late may not be made at all). */
		if (c[i].l.image_name) {
			struct cb_error err = {0};
			if (finish_claimed(cli, s, &c[i].l, &c[i].fg, &err) < 0)
				cli_fail(&err, -err.code, "bench: remove container");
		}
	}
}

/* Make, mount and start one container running bo->cmd; on failure what
 * was made stays in *c for fp_teardown(). */
static int fp_start(struct cb_cli *cli, struct cb_store *s, const struct bench_opts *bo,
		    int devnull, struct fp_container *c, struct cb_error *err)
{
	struct cb_run_options o;
	bench_spec_init(&o, bo, devnull);
	int r = cli_launch_prepare(cli, s, bo->image, &o, bo->cmd, NULL, &c->fg, &c->l, err);
	if (r >= 0) {
		snprintf(o.id, sizeof(o.id), "%s", c->l.id);
		o.spec.id = o.id;
		r = cb_runtime_spawn(&o.spec, &c->p, NULL, err);
	}
	cb_spawn_spec_release(&o.spec);
	if (r >= 0)
		c->t = (struct boot_sample){.done = 1,
					    .t_begin = c->l.t_begin,
					    .t_mounted = c->l.t_mounted,
					    .ph = *cb_proc_phases(c->p)};
	return r;
}

static int bench_footprint(struct cb_cli *cli, const struct bench_opts *bo)
{
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	raise_nofile();
	struct fp_container *c = calloc(bo->n, sizeof(*c));
	if (!c)
		return cli_error("out of memory");
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	install_stop_handlers();
	char *sleep_cmd[] = {"sleep", "2147483647", NULL};
	char **cmd = bo->cmd && bo->cmd[0] ? bo->cmd : sleep_cmd;
	struct bench_opts o1 = *bo;
	o1.cmd = cmd;

	struct cb_error err = {0};
	int ret = 0;
	/* One container first, torn down again: the libraries' pages and
	 * the heap it touches once are not a per-container cost. */
	struct fp_container warm = {0};
	int r = fp_start(cli, s, &o1, devnull, &warm, &err);
	fp_teardown(cli, s, &warm, 1);
	if (r < 0 && !stop_signal)
		ret = cli_fail(&err, r, "bench footprint %s", bo->image);

	uint64_t disk0 = store_bytes(s), rss0 = 0, pss0 = 0;
	read_rss_pss(0, &rss0, &pss0);
	size_t made = 0;
	uint64_t t0 = cb_now_ns();
	for (size_t i = 0; ret == 0 && i < bo->n && !stop_signal; i++) {
		r = fp_start(cli, s, &o1, devnull, &c[i], &err);
		if (c[i].l.image_name)
			made = i + 1;
		if (r < 0) {
			if (!stop_signal)
				ret = cli_fail(&err, r, "bench footprint %s", bo->image);
			break;
		}
	}
	uint64_t t_all = cb_now_ns() - t0;

	uint64_t disk1 = 0, rss1 = 0, pss1 = 0, full_copy = 0;
	uint64_t *ctr_rss = calloc(bo->n + 1, sizeof(uint64_t));
	uint64_t *ctr_pss = calloc(bo->n + 1, sizeof(uint64_t));
	uint64_t *charge = calloc(bo->n + 1, sizeof(uint64_t));
	size_t n_charge = 0;
	if (!ctr_rss || !ctr_pss || !charge) {
		ret = cli_error("out of memory");
	} else if (ret == 0 && !stop_signal) {
		disk1 = store_bytes(s);
		read_rss_pss(0, &rss1, &pss1);
		for (size_t i = 0; i < made; i++) {
			pid_t pid = cb_proc_pid(c[i].p);
			read_rss_pss(pid, &ctr_rss[i], &ctr_pss[i]);
			if (read_cgroup_charge(pid, &charge[n_charge]) == 0)
				n_charge++;
		}
		const struct cb_container *ctr = c[0].l.ctr;
		for (size_t k = 0; ctr && k < ctr->n_layers; k++) {
			uint64_t b = 0;
			if (cb_layer_disk_usage(s, ctr->layers[k], &b) == 0)
				full_copy += b;
		}
	}
	uint64_t t1 = cb_now_ns();
	fp_teardown(cli, s, c, made);
	uint64_t t_teardown = cb_now_ns() - t1;
	cb_cgroup_prune(bo->cgroup_parent, 60);

	if (stop_signal) {
		fprintf(stderr, "cowbox: bench footprint: interrupted after %zu of %u containers\n",
			made, bo->n);
		ret = 128 + stop_signal;
	}
	if (ret == 0) {
		size_t n = made;
		double disk_per = n ? ((double)disk1 - (double)disk0) / (double)n : 0;
		double rss_per = n ? ((double)rss1 - (double)rss0) / (double)n : 0;
		double pss_per = n ? ((double)pss1 - (double)pss0) / (double)n : 0;
		struct bench_summary s_rss, s_pss, s_charge, s_start, phases[N_PHASES - 1];
		bench_summarize(ctr_rss, n, &s_rss);
		bench_summarize(ctr_pss, n, &s_pss);
		bench_summarize(charge, n_charge, &s_charge);
		uint64_t *v = calloc(n + 1, sizeof(*v));
		for (size_t i = 0; v && i < n; i++)
			v[i] = span(c[i].t.t_begin, c[i].t.ph.exec_seen);
		if (v)
			bench_summarize(v, n, &s_start);
		for (int p = 0; v && p < N_PHASES - 1; p++) {
			for (size_t i = 0; i < n; i++) {
				uint64_t a, b;
				phase_interval(&c[i].t, p, &a, &b);
				v[i] = b - a;
			}
			bench_summarize(v, n, &phases[p]);
		}
		if (!v) {
			ret = cli_error("out of memory");
		} else if (bo->json) {
			json_t *j = context_json(cli, bo);
			json_t *jp = json_object();
			for (int p = 0; p < N_PHASES - 1; p++)
				json_object_set_new(jp, phase_names[p],
						    summary_json(&phases[p], "ns"));
			json_object_set_new(j, "bench", json_string("footprint"));
			json_object_set_new(j, "n", json_integer(n));
			json_object_set_new(
			    j, "disk",
			    json_pack("{s:I,s:I,s:f,s:I,s:f}", "store_before_bytes",
				      (json_int_t)disk0, "store_after_bytes", (json_int_t)disk1,
				      "per_container_bytes", disk_per, "full_copy_bytes",
				      (json_int_t)full_copy, "full_copy_over_per_container",
				      disk_per > 0 ? (double)full_copy / disk_per : 0));
			json_object_set_new(
			    j, "memory",
			    json_pack("{s:i,s:f,s:f,s:o,s:o,s:o}", "cowbox_processes_per_container",
				      0, "cowbox_rss_per_container_bytes", rss_per,
				      "cowbox_pss_per_container_bytes", pss_per,
				      "container_rss_bytes", summary_json(&s_rss, "bytes"),
				      "container_pss_bytes", summary_json(&s_pss, "bytes"),
				      "cgroup_charge_bytes", summary_json(&s_charge, "bytes")));
			json_object_set_new(j, "time",
					    json_pack("{s:I,s:o,s:I}", "create_all_ns",
						      (json_int_t)t_all, "per_container_to_exec",
						      summary_json(&s_start, "ns"),
						      "teardown_all_ns", (json_int_t)t_teardown));
			json_object_set_new(j, "phases", jp);
			ret = write_json(j) < 0 ? cli_error("bench: write failed") : 0;
		} else {
			char a[32], b[32], d[32], e[32], f[32], g[32];
			human_bytes(disk_per, a);
			human_bytes((double)full_copy, b);
			human_bytes(rss_per, d);
			human_bytes(pss_per, e);
			double load[3] = {0};
			getloadavg(load, 3);
			printf(
			    "cowbox bench footprint: %zu containers of %s running %s, cgroup v%d, "
			    "load average %.2f %.2f %.2f\n",
			    n, bo->image, cmd[0], cb_cgroup_detect(), load[0], load[1], load[2]);
			printf(
			    "  disk per container          %12s   (a full copy of the image: %s, "
			    "%.0fx more)\n",
			    a, b, disk_per > 0 ? (double)full_copy / disk_per : 0);
			printf("  cowbox processes per ctr    %12d   (no supervisor; this process "
			       "holds "
			       "the handles)\n",
			       0);
			printf("  cowbox RSS / PSS per ctr    %12s / %s\n", d, e);
			human_bytes((double)s_rss.median, d);
			human_bytes((double)s_pss.median, e);
			printf("  container process RSS/PSS   %12s / %s (median)\n", d, e);
			human_bytes((double)s_charge.median, f);
			human_bytes((double)s_charge.max, g);
			printf("  cgroup memory charge        %12s   (median; max %s)\n", f, g);
			printf("  time to create + start all  %10.3f s   (%.3f ms each, median to "
			       "exec "
			       "%.3f ms)\n",
			       (double)t_all / 1e9, n ? (double)t_all / 1e6 / (double)n : 0,
			       (double)s_start.median / 1e6);
			printf("  time to tear all down       %10.3f s\n",
			       (double)t_teardown / 1e9);
		}
		if (v && bo->plot) {
			for (size_t i = 0; i < n; i++)
				v[i] = span(c[i].t.t_begin, c[i].t.ph.exec_seen);
			bench_sort(v, n);
			char title[256], n1[256], n2[256];
			char a[32], b[32], d[32];
			human_bytes(disk_per, a);
			human_bytes((double)full_copy, b);
			human_bytes((double)s_charge.median, d);
			snprintf(title, sizeof(title), "cowbox bench footprint: %zu x %s", n,
				 bo->image);
			snprintf(n1, sizeof(n1),
				 "disk per container %s (full copy %s); cgroup charge %s", a, b, d);
			snprintf(n2, sizeof(n2), "create + start all: %.3f s", (double)t_all / 1e9);
			const char *notes[] = {n1, n2};
			int rp =
			    write_plot(bo->plot, title, "time to each container's process starting",
				       v, n, phase_names, phases, N_PHASES - 1, notes, 2);
			if (rp != 0)
				ret = rp;
		}
		free(v);
	}
	free(ctr_rss);
	free(ctr_pss);
	free(charge);
	free(c);
	if (devnull >= 0)
		close(devnull);
	return ret;
}

static int parse_uint(const char *opt, const char *v, unsigned min, unsigned max, unsigned *ret)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (errno || end == v || *end || x < min || x > max || v[0] == '-')
		return cli_error("%s %s: expected a number from %u to %u", opt, v, min, max);
	*ret = (unsigned)x;
	return 0;
}

int cmd_bench(struct cb_cli *cli, int argc, char **argv)
{
	if (argc < 2 || cli_wants_help(argc < 3 ? argc : 3, argv))
		return cli_usage("bench", argc < 2);
	const char *what = argv[1];
	bool boot = strcmp(what, "boot") == 0;
	if (!boot && strcmp(what, "footprint") != 0)
		return cli_error("bench %s: expected boot or footprint", what);
	enum { OPT_PARALLEL = 256, OPT_NETWORK, OPT_DRIVER, OPT_FORMAT, OPT_PLOT, OPT_CG_PARENT };
	static const struct option opts[] = {
	    {"parallel", required_argument, NULL, OPT_PARALLEL},
	    {"network", required_argument, NULL, OPT_NETWORK},
	    {"storage-driver", required_argument, NULL, OPT_DRIVER},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"plot", required_argument, NULL, OPT_PLOT},
	    {"cgroup-parent", required_argument, NULL, OPT_CG_PARENT},
	    {0},
	};
	struct bench_opts bo = {.n = boot ? 100 : 10, .parallel = 1};
	int c, r;
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "+n:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if ((r = parse_uint("-n", optarg, 1, 100000, &bo.n)) != 0)
				return r;
			break;
		case OPT_PARALLEL:
			if (!boot)
				return cli_error("bench footprint: --parallel is for bench boot");
			if ((r = parse_uint("--parallel", optarg, 1, ELEMENTSOF(worker_pids),
					    &bo.parallel)) != 0)
				return r;
			break;
		case OPT_NETWORK:
			if (strcmp(optarg, "none") != 0 && strcmp(optarg, "host") != 0)
				return cli_error("--network %s: bench supports none and host",
						 optarg);
			bo.network = optarg;
			break;
		case OPT_DRIVER:
			cli->storage_driver = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0)
				bo.json = true;
			else if (strcmp(optarg, "table") != 0)
				return cli_error("--format %s: expected json or table", optarg);
			break;
		case OPT_PLOT:
			bo.plot = optarg;
			break;
		case OPT_CG_PARENT:
			if (strstr(optarg, "..") || optarg[0] == '/' || !optarg[0])
				return cli_error("--cgroup-parent %s: a relative path without ..",
						 optarg);
			bo.cgroup_parent = optarg;
			break;
		default:
			return cli_usage("bench", true);
		}
	}
	int first = optind + 1;
	if (first >= argc)
		return cli_usage("bench", true);
	bo.image = argv[first];
	bo.cmd = argv + first + 1;
	if (bo.plot) {
		const char *dot = strrchr(bo.plot, '.');
		if (!dot || strcmp(dot, ".svg") != 0)
			return cli_error("--plot %s: only .svg is written", bo.plot);
	}
	if (boot && !bo.cmd[0]) {
		static char *true_cmd[] = {"true", NULL};
		bo.cmd = true_cmd;
	}
	if (bo.parallel > bo.n)
		bo.parallel = bo.n;
	return boot ? bench_boot(cli, &bo) : bench_footprint(cli, &bo);
}
