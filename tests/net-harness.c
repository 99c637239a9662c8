/* net-harness: stands in for the launcher until `cowbox run` is merged.
 *
 *   net-harness [--networks-dir D] [--run-dir D] run [--network MODE]
 *       [-p SPEC]... [--name NAME] [--info FILE] [--hosts FILE] ID -- CMD...
 *     clone a child into a new network namespace (it waits on a pipe),
 *     cb_net_attach() it, write FILE (pid=, addr=, gateway=, veth=), let
 *     it exec CMD, wait, cb_net_detach(); exit with CMD's status. SIGTERM
 *     and SIGINT go to the child. The child dies with the harness.
 *   net-harness ... leftovers [--all]
 *     print what containers left in this namespace (cbv* veths, leases,
 *     their nftables rules; with --all also cowbox bridges and any rule
 *     of the table) and exit 1 when anything is there.
 *   net-harness ... bench [-n N]
 *     time N starts of `true` in a new net namespace: with lo only (none)
 *     and with bridge networking; print medians.
 *
 * It is a test program: it prints, the library does not. */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "netlink.h"

static const char *networks_dir = "/tmp/cowbox-harness/networks";
static const char *run_dir = "/tmp/cowbox-harness/run";
static volatile pid_t child_pid;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* fork() into a new network namespace; the child blocks until go_fd
 * gives it a byte (or closes: then it exits 125). */
static pid_t spawn(int *ret_go, char **argv, bool quiet)
{
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(125);
		if (quiet) {
			int fd = open("/dev/null", O_RDWR);
			dup2(fd, 1);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(go[0]);
	*ret_go = go[1];
	return pid;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"network", required_argument, NULL, 'n'}, {"publish", required_argument, NULL, 'p'},
	    {"name", required_argument, NULL, 'N'},    {"info", required_argument, NULL, 'i'},
	    {"hosts", required_argument, NULL, 'H'},   {0},
	};
	struct cb_net_config cfg;
	cb_net_config_init(&cfg);
	cfg.networks_dir = networks_dir;
	cfg.run_dir = run_dir;
	struct cb_error err = {0};
	const char *info = NULL, *hosts = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cb_net_parse_mode(optarg, &cfg, &err) < 0)
				goto fail;
			break;
		case 'p':
			if (cb_net_add_port(&cfg, optarg, &err) < 0)
				goto fail;
			break;
		case 'N':
			cfg.name = optarg;
			break;
		case 'i':
			info = optarg;
			break;
		case 'H':
			hosts = optarg;
			break;
		default:
			return 2;
		}
	}
	if (cb_net_config_finish(&cfg, &err) < 0)
		goto fail;
	if (optind + 2 > argc || strcmp(argv[optind + 1], "--") != 0) {
		fprintf(stderr, "usage: net-harness run [options] ID -- CMD...\n");
		return 2;
	}
	const char *id = argv[optind];
	char **cmd = argv + optind + 2;
	if (!cmd[0])
		return 2;

	struct sigaction sa = {.sa_handler = forward};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int go;
	pid_t pid = spawn(&go, cmd, false);
	if (pid < 0) {
		cb_error_errno(&err, errno, "clone");
		goto fail;
	}
	child_pid = pid;
	struct cb_net_lease lease;
	if (cb_net_attach(&cfg, pid, -1, id, &lease, &err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto fail;
	}
	if (hosts) {
		char *text = NULL;
		FILE *f = fopen(hosts, "w");
		if (f && cb_net_hosts(&lease, id, cfg.name, &text) == 0)
			fputs(text, f);
		if (f)
			fclose(f);
		free(text);
	}
	if (info) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", info);
		FILE *f = fopen(tmp, "w");
		char a[INET_ADDRSTRLEN] = "", g[INET_ADDRSTRLEN] = "";
		if (lease.id[0]) {
			inet_ntop(AF_INET, &lease.addr, a, sizeof(a));
			inet_ntop(AF_INET, &lease.gateway, g, sizeof(g));
		}
		if (f) {
			fprintf(f, "pid=%d\naddr=%s\ngateway=%s\nveth=%s\n", (int)pid, a, g,
				lease.veth);
			fclose(f);
			rename(tmp, info);
		}
	}
	if (write(go, "x", 1) != 1)
		perror("go");
	close(go);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	child_pid = 0;
	if (cb_net_detach(&cfg, &lease, &err) < 0) {
		fprintf(stderr, "net-harness: detach: %s\n", err.msg);
		return 125;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
fail:
	fprintf(stderr, "net-harness: %s\n", err.msg);
	return 125;
}

static bool want_all;

static int count_link(const struct cb_nl_link *l, void *userdata)
{
	unsigned *n = userdata;
	if ((l->kind && strcmp(l->kind, "veth") == 0 && strncmp(l->name, "cbv", 3) == 0) ||
	    (want_all && l->kind && strcmp(l->kind, "bridge") == 0 &&
	     strncmp(l->name, "cowbox", 6) == 0)) {
		printf("link %s (%s)\n", l->name, l->kind);
		(*n)++;
	}
	return 0;
}

static int count_ctr_rule(const char *tag, void *userdata)
{
	unsigned *n = userdata;
	if (strncmp(tag, "ctr:", 4) == 0) {
		printf("nftables rule %s\n", tag);
		(*n)++;
	}
	return 0;
}

/* Containers' leftovers: cbv* veths, leases, ctr:* rules; with --all also
 * what networks hold (cowbox bridges, any rule in the table). */
static int cmd_leftovers(int argc, char **argv)
{
	want_all = argc > 1 && strcmp(argv[1], "--all") == 0;
	unsigned n = 0;
	struct cb_nl *nl;
	if (cb_nl_open(&nl) < 0)
		return 2;
	cb_nl_link_foreach(nl, count_link, &n);
	cb_nl_close(nl);
	char path[4096];
	snprintf(path, sizeof(path), "%s/leases", run_dir);
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.') {
			printf("lease %s\n", de->d_name);
			n++;
		}
	if (d)
		closedir(d);
	struct cb_error err = {0};
	if (!want_all) {
		if (cb_nft_foreach_tag(count_ctr_rule, &n, &err) < 0)
			fprintf(stderr, "net-harness: %s\n", err.msg);
		return n ? 1 : 0;
	}
	int rules = cb_nft_count_rules(&err);
	if (rules > 0) {
		printf("nftables: %d rules in table inet %s\n", rules, CB_NFT_TABLE);
		n += (unsigned)rules;
	}
	if (rules < 0)
		fprintf(stderr, "net-harness: %s\n", err.msg);
	return n ? 1 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return (double)v[n / 2] / 1e6;
}

static double p90_ms(uint64_t *v, int n)
{
	return (double)v[(n * 9) / 10] / 1e6;
}

/* One start: clone into a new netns, attach (bridge or none), let it exec
 * true, wait, detach. Fills the phase times. */
static int gap_ms;
static bool cold;

static int bench_once(struct cb_net_config *cfg, int i, uint64_t *t_attach, uint64_t *t_total,
		      uint64_t *t_detach)
{
	static char *argv_true[] = {"/bin/true", NULL};
	struct cb_error err = {0};
	char id[32];
	snprintf(id, sizeof(id), "bench-%d-%d", (int)getpid(), i);
	uint64_t t0 = now_ns();
	int go;
	pid_t pid = spawn(&go, argv_true, true);
	if (pid < 0)
		return -1;
	uint64_t t1 = now_ns();
	struct cb_net_lease lease;
	if (cb_net_attach(cfg, pid, -1, id, &lease, &err) < 0) {
		fprintf(stderr, "net-harness: bench: %s\n", err.msg);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	uint64_t t2 = now_ns();
	if (write(go, "x", 1) != 1)
		return -1;
	close(go);
	waitpid(pid, NULL, 0);
	uint64_t t3 = now_ns();
	if (cb_net_detach(cfg, &lease, &err) < 0) {
		fprintf(stderr, "net-harness: bench: %s\n", err.msg);
		return -1;
	}
	uint64_t t4 = now_ns();
	if (cold &&
	    cb_network_remove(cfg->networks_dir, cfg->run_dir, CB_NET_DEFAULT_NAME, &err) < 0) {
		fprintf(stderr, "net-harness: bench: %s\n", err.msg);
		return -1;
	}
	if (gap_ms)
		usleep((useconds_t)gap_ms * 1000);
	*t_attach = t2 - t1;
	*t_detach = t4 - t3;
	*t_total = t4 - t0;
	return 0;
}

static int run_series(const char *label, struct cb_net_config *cfg, int n)
{
	uint64_t *a = calloc((size_t)n, sizeof(*a)), *t = calloc((size_t)n, sizeof(*t)),
		 *d = calloc((size_t)n, sizeof(*d));
	if (!a || !t || !d)
		return 2;
	for (int i = 0; i < n; i++)
		if (bench_once(cfg, i, &a[i], &t[i], &d[i]) < 0)
			return 1;
	double am = median_ms(a, n), ap = p90_ms(a, n), dm = median_ms(d, n), tm = median_ms(t, n);
	printf("%-36s attach %7.3f ms (p90 %7.3f)  detach %7.3f ms  whole run %7.3f ms\n", label,
	       am, ap, dm, tm);
	free(a);
	free(t);
	free(d);
	return 0;
}

static int cmd_bench(int argc, char **argv)
{
	int n = 200, c;
	optind = 1;
	while ((c = getopt(argc, argv, "+n:g:")) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'g')
			gap_ms = atoi(optarg);
		else
			return 2;
	}
	if (n < 1)
		return 2;
	struct cb_net_config none, bridge;
	cb_net_config_init(&none);
	none.mode = CB_NET_NONE;
	none.run_dir = run_dir;
	cb_net_config_init(&bridge);
	bridge.mode = CB_NET_BRIDGE;
	bridge.networks_dir = networks_dir;
	bridge.run_dir = run_dir;
	printf("net-harness bench: %d runs each, %d ms apart; a run = clone(CLONE_NEWNET) + "
	       "attach + exec /bin/true + wait + detach\n",
	       n, gap_ms);
	int r = run_series("none (new netns, lo up)", &none, n);
	/* The normal case: the bridge exists (made by the first container). */
	if (r == 0)
		r = run_series("bridge (cowbox0 exists)", &bridge, n);
	struct cb_net_config p = bridge;
	cb_net_add_port(&p, "18080:80", NULL);
	if (r == 0)
		r = run_series("bridge, -p 18080:80", &p, n);
	/* First use: bridge, address, sysctls and nftables table made. */
	cold = true;
	if (r == 0)
		r = run_series("bridge, first use (bridge made)", &bridge, n < 50 ? n : 50);
	cold = false;
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"networks-dir", required_argument, NULL, 'N'},
	    {"run-dir", required_argument, NULL, 'R'},
	    {0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'N')
			networks_dir = optarg;
		else if (c == 'R')
			run_dir = optarg;
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: net-harness [--networks-dir D] [--run-dir D] "
				"run|leftovers|bench ...\n");
		return 2;
	}
	const char *verb = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(verb, "run") == 0)
		return cmd_run(argc, argv);
	if (strcmp(verb, "leftovers") == 0)
		return cmd_leftovers(argc, argv);
	if (strcmp(verb, "bench") == 0)
		return cmd_bench(argc, argv);
	fprintf(stderr, "net-harness: %s: unknown command\n", verb);
	return 2;
}
