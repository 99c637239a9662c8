/* cowbox network create|ls|inspect|rm|move: bridge networks and moving
 * interfaces between network namespaces. The work is in runtime/net.c. */
#include "cli.h"
#include "state.h"
#include "net-glue.h"
#include "net.h"
#include "netpool.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where network state lives: definitions in the store, leases under the
 * run directory (--runroot or COWBOX_RUN_DIR, else /run/cowbox for root
 * and $XDG_RUNTIME_DIR/cowbox for others), in net/. Leases describe bridges of
 * one network namespace, so a caller outside the initial one gets
 * net-<inode of its namespace>/ and never mixes with the host's (unless
 * the run directory was given). */
int cli_net_dirs(struct cb_cli *cli, char **ret_networks_dir, char **ret_run_dir)
{
	_cleanup_free_ char *run = NULL;
	bool explicit = cb_state_run_dir_is_set();
	if (cb_state_base_dir(&run) < 0)
		return -ENOMEM;
	struct stat self, init;
	char suffix[32] = "";
	if (!explicit && stat("/proc/self/ns/net", &self) == 0 &&
	    stat("/proc/1/ns/net", &init) == 0 && self.st_ino != init.st_ino)
		snprintf(suffix, sizeof(suffix), "-%lu", (unsigned long)self.st_ino);
	char *nd = NULL, *rd = NULL;
	if (asprintf(&nd, "%s/networks", cli->root) < 0)
		return -ENOMEM;
	if (asprintf(&rd, "%s/net%s", run, suffix) < 0) {
		free(nd);
		return -ENOMEM;
	}
	*ret_networks_dir = nd;
	*ret_run_dir = rd;
	return 0;
}

static int net_create(struct cb_cli *cli, int argc, char **argv, const char *nd, const char *rd)
{
	enum { OPT_SUBNET = 256 };
	static const struct option opts[] = {
	    {"subnet", required_argument, NULL, OPT_SUBNET},
	    {0},
	};
	const char *subnet = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != OPT_SUBNET)
			return cli_usage("network", true);
		subnet = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage("network", true);
	const char *name = argv[optind];
	struct cb_error err = {0};
	struct cb_network n;
	int r = cb_network_create(nd, rd, name, subnet, &n, &err);
	if (r < 0)
		return cli_fail(&err, r, "network create %s", name);
	puts(n.name);
	return 0;
}

static json_t *network_json(const struct cb_network *n, const struct cb_net_lease *leases,
			    size_t n_leases)
{
	char sn[32], gw[INET_ADDRSTRLEN];
	cb_subnet_format(&n->subnet, sn, sizeof(sn));
	inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw));
	json_t *ctrs = json_array();
	for (size_t i = 0; i < n_leases; i++) {
		const struct cb_net_lease *l = &leases[i];
		if (strcmp(l->network, n->name) != 0)
			continue;
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &l->addr, a, sizeof(a));
		json_t *ports = json_array();
		for (size_t k = 0; k < l->n_ports; k++) {
			char ip[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &l->ports[k].host_addr, ip, sizeof(ip));
			json_array_append_new(
			    ports, json_pack("{s:s, s:i, s:i, s:s}", "host_ip", ip, "host_port",
					     (int)l->ports[k].host_port, "container_port",
					     (int)l->ports[k].container_port, "protocol",
					     l->ports[k].protocol == IPPROTO_UDP ? "udp" : "tcp"));
		}
		json_array_append_new(ctrs, json_pack("{s:s, s:s, s:s, s:s, s:i, s:o}", "id", l->id,
						      "name", l->name, "address", a, "interface",
						      l->veth, "pid", (int)l->pid, "ports", ports));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "name", n->name, "driver", "bridge",
			 "subnet", sn, "gateway", gw, "bridge", n->bridge, "builtin", n->builtin,
			 "containers", ctrs);
}

static int net_ls(struct cb_cli *cli, int argc, char **argv, const char *nd, const char *rd)
{
	enum { OPT_FORMAT = 256 };
	static const struct option opts[] = {
	    {"quiet", no_argument, NULL, 'q'},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {0},
	};
	bool quiet = false, json = false;
	int c;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == OPT_FORMAT && strcmp(optarg, "json") == 0)
			json = true;
		else if (c == OPT_FORMAT)
			return cli_error("network ls --format %s: only json is known", optarg);
		else
			return cli_usage("network", true);
	}
	if (optind != argc)
		return cli_usage("network", true);
	struct cb_error err = {0};
	/* Every listing first cleans what a crash left. */
	int r = cb_net_cleanup(nd, rd, NULL, &err);
	if (r < 0)
		return cli_fail(&err, r, "network ls");
	_cleanup_free_ struct cb_network *nets = NULL;
	_cleanup_free_ struct cb_net_lease *leases = NULL;
	size_t n_nets = 0, n_leases = 0;
	r = cb_network_list(nd, &nets, &n_nets, &err);
	if (r >= 0)
		r = cb_net_leases(rd, NULL, &leases, &n_leases, &err);
	if (r < 0)
		return cli_fail(&err, r, "network ls");
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n_nets; i++)
			json_array_append_new(arr, network_json(&nets[i], leases, n_leases));
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
		return 0;
	}
	if (!quiet)
		printf("%-20s %-18s %-15s %-15s %s\n", "NAME", "SUBNET", "GATEWAY", "BRIDGE",
		       "CONTAINERS");
	for (size_t i = 0; i < n_nets; i++) {
		if (quiet) {
			puts(nets[i].name);
			continue;
		}
		char sn[32], gw[INET_ADDRSTRLEN];
		cb_subnet_format(&nets[i].subnet, sn, sizeof(sn));
		inet_ntop(AF_INET, &nets[i].gateway, gw, sizeof(gw));
		unsigned used = 0;
		for (size_t k = 0; k < n_leases; k++)
			used += strcmp(leases[k].network, nets[i].name) == 0;
		printf("%-20s %-18s %-15s %-15s %u\n", nets[i].name, sn, gw, nets[i].bridge, used);
	}
	return 0;
}

static int net_inspect(struct cb_cli *cli, int argc, char **argv, const char *nd, const char *rd)
{
	if (argc < 2)
		return cli_usage("network", true);
	struct cb_error err = {0};
	_cleanup_free_ struct cb_net_lease *leases = NULL;
	size_t n_leases = 0;
	json_t *arr = json_array();
	int ret = 0;
	for (int i = 1; i < argc; i++) {
		struct cb_network n;
		cb_error_clear(&err);
		int r = cb_network_get(nd, argv[i], &n, &err);
		if (r >= 0 && !leases)
			r = cb_net_leases(rd, NULL, &leases, &n_leases, &err);
		if (r < 0) {
			ret = cli_fail(&err, r, "network inspect %s", argv[i]);
			break;
		}
		json_array_append_new(arr, network_json(&n, leases, n_leases));
	}
	if (ret == 0) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(arr);
	return ret;
}

static int net_rm(struct cb_cli *cli, int argc, char **argv, const char *nd, const char *rd)
{
	if (argc < 2)
		return cli_usage("network", true);
	int ret = 0;
	for (int i = 1; i < argc; i++) {
		struct cb_error err = {0};
		int r = cb_network_remove(nd, rd, argv[i], &err);
		if (r < 0)
			ret = cli_fail(&err, r, "network rm %s", argv[i]);
		else
			puts(argv[i]);
	}
	return ret;
}

static int net_prune(struct cb_cli *cli, int argc, char **argv, const char *nd, const char *rd)
{
	if (argc != 1)
		return cli_usage("network", true);
	struct cb_error err = {0};
	int r = cb_net_cleanup(nd, rd, NULL, &err);
	_cleanup_strv_ char **removed = NULL;
	if (r >= 0)
		r = cb_network_prune(nd, rd, &removed, &err);
	/* The spare network namespaces too (runtime/netpool.h). */
	_cleanup_free_ char *pool = NULL;
	if (r >= 0 && asprintf(&pool, "%s/pool", rd) < 0) {
		pool = NULL;
		r = -ENOMEM;
	}
	if (r >= 0 && (r = cb_netpool_drain(pool)) < 0)
		cb_error_errno(&err, -r, "remove the spare network namespaces in %s", pool);
	if (r < 0)
		return cli_fail(&err, r, "network prune");
	for (char **n = removed; n && *n; n++)
		puts(*n);
	return 0;
}

static int net_move(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_TO = 256 };
	static const struct option opts[] = {
	    {"to", required_argument, NULL, OPT_TO},
	    {0},
	};
	const char *to = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != OPT_TO)
			return cli_usage("network", true);
		to = optarg;
	}
	if (optind + 2 != argc)
		return cli_usage("network", true);
	const char *iface = argv[optind], *target = argv[optind + 1];
	struct cb_error err = {0};
	_cleanup_close_ int first = -1, second = -1;
	int r = cli_net_open_netns(cli, target, &first, &err);
	if (r >= 0 && to)
		r = cli_net_open_netns(cli, to, &second, &err);
	if (r >= 0)
		r = to ? cb_net_move(iface, first, second, &err)
		       : cb_net_move(iface, -1, first, &err);
	if (r < 0)
		return cli_fail(&err, r, "network move %s", iface);
	return 0;
}

int cmd_network(struct cb_cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("network", true);
	const char *sub = argv[1];
	argc--;
	argv++;
	/* 0, not 1: glibc then forgets the "+" (stop at the first operand) of
	 * the global parse, so options may follow operands (`move IF C --to D`). */
	optind = 0;
	if (strcmp(sub, "move") == 0)
		return net_move(cli, argc, argv);
	_cleanup_free_ char *nd = NULL, *rd = NULL;
	if (cli_net_dirs(cli, &nd, &rd) < 0)
		return cli_error("network: out of memory");
	if (strcmp(sub, "create") == 0)
		return net_create(cli, argc, argv, nd, rd);
	if (strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0)
		return net_ls(cli, argc, argv, nd, rd);
	if (strcmp(sub, "inspect") == 0)
		return net_inspect(cli, argc, argv, nd, rd);
	if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0)
		return net_rm(cli, argc, argv, nd, rd);
	if (strcmp(sub, "prune") == 0)
		return net_prune(cli, argc, argv, nd, rd);
	return cli_error("network %s: unknown command (create, ls, inspect, rm, prune, move)", sub);
}
