#include "run-options.h"
#include "state.h"
#include "caps.h"
#include "cli.h"
#include "fsutil.h"
#include "macro.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	OPT_ROOTFS = 256,
	OPT_NAME,
	OPT_RM,
	OPT_ENV_FILE,
	OPT_HOSTNAME,
	OPT_ENTRYPOINT,
	OPT_INIT,
	OPT_READ_ONLY,
	OPT_TMPFS,
	OPT_NS,
	OPT_NO_NS,
	OPT_PID,
	OPT_UTS,
	OPT_IPC,
	OPT_USERNS,
	OPT_UIDMAP,
	OPT_GIDMAP,
	OPT_NO_CGROUP,
	OPT_CPUS,
	OPT_PIDS_LIMIT,
	OPT_CPUSET,
	OPT_CG_PARENT,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_PRIVILEGED,
	OPT_SECURITY_OPT,
	OPT_NETWORK,
	OPT_ADD_HOST,
	OPT_DNS,
	OPT_DNS_SEARCH,
	OPT_DNS_OPTION,
	OPT_GROUP_ADD,
	OPT_ULIMIT,
	OPT_DEVICE,
	OPT_STOP_SIGNAL,
	OPT_STOP_TIMEOUT,
	OPT_SYSCTL,
	OPT_SHM_SIZE,
	OPT_MOUNT,
	OPT_OOM_SCORE_ADJ,
	OPT_MEMORY_SWAP,
	OPT_MEMORY_RESERVATION,
	OPT_CIDFILE,
	OPT_LABEL,
	OPT_PRESERVE_FDS,
};

static const struct option run_opts[] = {
    {"rootfs", required_argument, NULL, OPT_ROOTFS},
    {"name", required_argument, NULL, OPT_NAME},
    {"rm", no_argument, NULL, OPT_RM},
    {"detach", no_argument, NULL, 'd'},
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
    {"init", no_argument, NULL, OPT_INIT},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"volume", required_argument, NULL, 'v'},
    {"tmpfs", required_argument, NULL, OPT_TMPFS},
    {"ns", required_argument, NULL, OPT_NS},
    {"no-ns", required_argument, NULL, OPT_NO_NS},
    {"pid", required_argument, NULL, OPT_PID},
    {"net", required_argument, NULL, OPT_NETWORK},
    {"network", required_argument, NULL, OPT_NETWORK},
    {"publish", required_argument, NULL, 'p'},
    {"uts", required_argument, NULL, OPT_UTS},
    {"ipc", required_argument, NULL, OPT_IPC},
    {"userns", required_argument, NULL, OPT_USERNS},
    {"uidmap", required_argument, NULL, OPT_UIDMAP},
    {"gidmap", required_argument, NULL, OPT_GIDMAP},
    {"no-cgroup", no_argument, NULL, OPT_NO_CGROUP},
    {"memory", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
    {"cpuset-cpus", required_argument, NULL, OPT_CPUSET},
    {"cgroup-parent", required_argument, NULL, OPT_CG_PARENT},
    {"cap-add", required_argument, NULL, OPT_CAP_ADD},
    {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
    {"privileged", no_argument, NULL, OPT_PRIVILEGED},
    {"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
    {"add-host", required_argument, NULL, OPT_ADD_HOST},
    {"dns", required_argument, NULL, OPT_DNS},
    {"dns-search", required_argument, NULL, OPT_DNS_SEARCH},
    {"dns-option", required_argument, NULL, OPT_DNS_OPTION},
    {"group-add", required_argument, NULL, OPT_GROUP_ADD},
    {"ulimit", required_argument, NULL, OPT_ULIMIT},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"stop-signal", required_argument, NULL, OPT_STOP_SIGNAL},
    {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
    {"sysctl", required_argument, NULL, OPT_SYSCTL},
    {"shm-size", required_argument, NULL, OPT_SHM_SIZE},
    {"mount", required_argument, NULL, OPT_MOUNT},
    {"oom-score-adj", required_argument, NULL, OPT_OOM_SCORE_ADJ},
    {"cpu-shares", required_argument, NULL, 'c'},
    {"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
    {"memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION},
    {"cidfile", required_argument, NULL, OPT_CIDFILE},
    {"label", required_argument, NULL, 'l'},
    {"preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS},
    {0},
};

/* --pid/--uts/--ipc=host|container:C|ns:PATH (--net/--network:
 * network_option). container:C stays so in ns_path until the glue opens
 * C's namespace at start (cli_net_prepare): C need not run before then. */
static int share_ns(struct cb_spawn_spec *spec, const char *opt, unsigned ns, const char *v)
{
	int idx = cb_ns_index(ns);
	if (strcmp(v, "host") == 0) {
		spec->ns_create &= ~ns;
		spec->ns_path[idx] = NULL;
	} else if (strncmp(v, "ns:", 3) == 0 && v[3] == '/') {
		spec->ns_create &= ~ns;
		spec->ns_path[idx] = v + 3;
	} else if (strncmp(v, "container:", 10) == 0 && v[10]) {
		spec->ns_create &= ~ns;
		spec->ns_path[idx] = v;
	} else if ((ns == CB_NS_NET && strcmp(v, "none") == 0) || strcmp(v, "private") == 0) {
		spec->ns_create |= ns;
		spec->ns_path[idx] = NULL;
	} else
		return cli_error("--%s %s: expected host, container:NAME or ns:PATH", opt, v);
	return 0;
}

/* After the options: --network/--net (and -p, which alone means bridge)
 * decide the network namespace, over --ns/--no-ns. none and bridge make
 * one (the glue wires a bridge in at start); host shares the caller's;
 * ns:PATH joins PATH; container:C joins C's, which the glue resolves at
 * start (left unresolved, "container:C" is no path and the start fails). */
static int network_apply(struct cb_run_options *o)
{
	struct cb_spawn_spec *spec = &o->spec;
	struct cb_error err = {0};
	int idx = cb_ns_index(CB_NS_NET);
	if (cb_net_config_finish(&o->net, &err) < 0)
		return cli_error("%s", err.msg);
	if (!o->net.mode_set && o->net.n_ports == 0)
		return 0; /* --ns/--no-ns decide; no namespace means the host's */
	spec->ns_path[idx] = NULL;
	switch (o->net.mode) {
	case CB_NET_NONE:
	case CB_NET_BRIDGE:
		spec->ns_create |= CB_NS_NET;
		break;
	case CB_NET_HOST:
		spec->ns_create &= ~CB_NS_NET;
		break;
	case CB_NET_SHARE:
		spec->ns_create &= ~CB_NS_NET;
		spec->ns_path[idx] =
		    strncmp(o->net.share, "ns:", 3) == 0 ? o->net.share + 3 : o->net.share;
		break;
	}
	return 0;
}

static int parse_volume(struct cb_spawn_spec *spec, const char *v)
{
	_cleanup_free_ char *copy = strdup(v);
	if (!copy)
		return cli_error("out of memory");
	char *host = copy, *ctr = strchr(copy, ':');
	if (!ctr || host[0] != '/')
		return cli_error("-v %s: expected /HOST:/CTR[:ro]", v);
	*ctr++ = '\0';
	bool ro = false;
	char *opt = strchr(ctr, ':');
	if (opt) {
		*opt++ = '\0';
		if (strcmp(opt, "ro") == 0)
			ro = true;
		else if (strcmp(opt, "rw") != 0)
			return cli_error("-v %s: unknown option %s (ro or rw)", v, opt);
	}
	if (ctr[0] != '/' || strstr(ctr, ".."))
		return cli_error("-v %s: the container path must be absolute", v);
	if (cb_spawn_spec_add_mount(spec, CB_MOUNT_BIND, host, ctr, ro) < 0)
		return cli_error("out of memory");
	return 0;
}

/* --device /HOST[:/CTR[:PERMS]]: the host's node bound in (there is no
 * device cgroup: the node's own mode decides, and Landlock still stops
 * mknod). PERMS may only say what the bind gives: read and write. */
static int parse_device(struct cb_spawn_spec *spec, const char *v)
{
	_cleanup_free_ char *copy = strdup(v);
	if (!copy)
		return cli_error("out of memory");
	char *host = copy, *ctr = strchr(copy, ':'), *perms = NULL;
	if (ctr) {
		*ctr++ = '\0';
		if ((perms = strchr(ctr, ':')))
			*perms++ = '\0';
		if (!*ctr)
			ctr = host;
	} else {
		ctr = host;
	}
	if (host[0] != '/' || ctr[0] != '/' || strstr(ctr, ".."))
		return cli_error("--device %s: expected /HOST[:/CTR[:PERMS]]", v);
	struct stat st;
	if (stat(host, &st) < 0)
		return cli_error("--device %s: %s: %m", v, host);
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return cli_error("--device %s: %s is not a device node", v, host);
	if (perms &&
	    (strspn(perms, "rwm") != strlen(perms) || !strchr(perms, 'r') || !strchr(perms, 'w')))
		return cli_error("--device %s: permissions %s: only rw (or rwm) can be given: "
				 "without a device cgroup the node's own mode applies",
				 v, perms);
	if (cb_spawn_spec_add_mount(spec, CB_MOUNT_BIND, host, ctr, false) < 0)
		return cli_error("out of memory");
	return 0;
}

static int parse_tmpfs(struct cb_spawn_spec *spec, const char *v)
{
	const char *colon = strchr(v, ':');
	_cleanup_free_ char *target = colon ? strndup(v, (size_t)(colon - v)) : strdup(v);
	if (!target)
		return cli_error("out of memory");
	if (target[0] != '/' || strstr(target, ".."))
		return cli_error("--tmpfs %s: the path must be absolute", v);
	if (cb_spawn_spec_add_mount(spec, CB_MOUNT_TMPFS, colon ? colon + 1 : NULL, target, false) <
	    0)
		return cli_error("out of memory");
	return 0;
}

/* A --security-opt mask= or unmask= list (v, the list after its "KEY="
 * at v + skip) appended to lists, checked as -v's and --tmpfs's paths
 * are: absolute (patterns for unmask), no "..", and none of them empty
 * or "/". */
static int add_path_list(const char **lists, size_t *n, const char *v, size_t skip)
{
	const char *s = v + skip;
	do {
		size_t len = strcspn(s, ":");
		if (len == 0 || s[0] != '/')
			return cli_error(
			    "--security-opt %s: expected absolute paths separated by ':'", v);
		if (len >= PATH_MAX)
			return cli_error("--security-opt %s: a path is too long", v);
		if (len == 1)
			return cli_error("--security-opt %s: not /", v);
		if (memmem(s, len, "..", 2))
			return cli_error("--security-opt %s: a path with '..'", v);
		s += len;
	} while (*s++ == ':');
	if (*n == CB_EXTRA_MAX)
		return cli_error("--security-opt %.*s: at most %d", (int)skip, v, CB_EXTRA_MAX);
	lists[(*n)++] = v + skip;
	return 0;
}

static int parse_security_opt(struct cb_spawn_spec *spec, const char *v)
{
	if (strncmp(v, "mask=", 5) == 0)
		return add_path_list(spec->mask, &spec->n_mask, v, 5);
	if (strcmp(v, "unmask=ALL") == 0 || strcmp(v, "systempaths=unconfined") == 0) {
		spec->unmask_all = true;
		return 0;
	}
	if (strncmp(v, "unmask=", 7) == 0)
		return add_path_list(spec->unmask, &spec->n_unmask, v, 7);
	if (strncmp(v, "seccomp=", 8) == 0 || strncmp(v, "seccomp:", 8) == 0) {
		const char *s = v + 8;
		if (strcmp(s, "unconfined") == 0)
			spec->seccomp = CB_SECCOMP_UNCONFINED;
		else if (*s) {
			spec->seccomp = CB_SECCOMP_PROFILE;
			spec->seccomp_profile = s;
		} else
			return cli_error("--security-opt %s: expected seccomp=unconfined|FILE", v);
		return 0;
	}
	if (strcmp(v, "no-new-privileges") == 0 || strcmp(v, "no-new-privileges=true") == 0 ||
	    strcmp(v, "no-new-privileges:true") == 0) {
		spec->no_new_privs = true;
		return 0;
	}
	if (strcmp(v, "no-new-privileges=false") == 0 ||
	    strcmp(v, "no-new-privileges:false") == 0) {
		spec->no_new_privs = false;
		return 0;
	}
	return cli_error("--security-opt %s: expected seccomp=unconfined|FILE, "
			 "no-new-privileges[=true|false], mask=PATHS, unmask=ALL|PATHS or "
			 "systempaths=unconfined",
			 v);
}

/* A whole decimal number from lo to hi into *ret. */
static bool int_in(const char *s, long long lo, long long hi, long long *ret)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return false;
	*ret = v;
	return true;
}

/* One more --add-host, --dns... value (borrowed from argv). */
static int add_extra(const char **v, size_t *n, const char *opt, const char *value)
{
	if (*n == CB_EXTRA_MAX)
		return cli_error("%s %s: at most %d", opt, value, CB_EXTRA_MAX);
	v[(*n)++] = value;
	return 0;
}

static int parse(struct cb_run_options *o, int argc, char **argv, bool stored_env);

int run_options_parse(struct cb_run_options *o, int argc, char **argv)
{
	return parse(o, argc, argv, false);
}

int run_options_parse_stored(struct cb_run_options *o, int argc, char **argv)
{
	return parse(o, argc, argv, true);
}

/* stored_env: the options of a container made earlier, whose -e and
 * --env-file were resolved then (the caller adds what they gave): not
 * read again from whoever runs this command, or from its directory. */
static int parse(struct cb_run_options *o, int argc, char **argv, bool stored_env)
{
	*o = (struct cb_run_options){.userns_range = -1, .stop_timeout = -1};
	struct cb_spawn_spec *spec = &o->spec;
	cb_spawn_spec_init(spec);
	spec->cache_dir = cb_state_run_dir();
	cb_net_config_init(&o->net);
	const char *cap_add[64], *cap_drop[64];
	size_t n_add = 0, n_drop = 0;
	int c, r;
	struct cb_error err = {0};
	int64_t v64;
	long long n;

	/* "+": the first non-option is the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+dite:w:u:v:m:p:c:l:", run_opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOTFS:
			o->rootfs = optarg;
			break;
		case OPT_NAME:
			o->name = optarg;
			break;
		case OPT_RM:
			o->rm = true;
			break;
		case 'd':
			o->detach = true;
			break;
		case 'i':
			spec->interactive = true;
			break;
		case 't':
			spec->tty = true;
			break;
		case 'e':
			if (!stored_env && cb_spawn_spec_add_env(spec, optarg) < 0)
				return cli_error("-e %s: expected KEY=VALUE", optarg);
			break;
		case OPT_ENV_FILE:
			if (!stored_env && cb_spawn_spec_add_env_file(spec, optarg, &err) < 0)
				return cli_fail(&err, -err.code, "run");
			break;
		case 'w':
			if (optarg[0] != '/')
				return cli_error("-w %s: the directory must be absolute", optarg);
			spec->workdir = optarg;
			break;
		case 'u':
			spec->user = optarg;
			break;
		case OPT_ADD_HOST: {
			char name[256], ip[64];
			if (cb_parse_add_host(optarg, name, sizeof(name), ip, sizeof(ip)) < 0)
				return cli_error("--add-host %s: expected NAME:IP", optarg);
			if ((r = add_extra(spec->add_hosts, &spec->n_add_hosts, "--add-host",
					   optarg)))
				return r;
			break;
		}
		case OPT_DNS:
			if (!cb_ip_valid(optarg))
				return cli_error("--dns %s: not an IP address", optarg);
			if ((r = add_extra(spec->dns, &spec->n_dns, "--dns", optarg)))
				return r;
			break;
		case OPT_DNS_SEARCH:
		case OPT_DNS_OPTION:
			if (!*optarg || strpbrk(optarg, " \t\n\r\v\f"))
				return cli_error("--%s %s: expected one word",
						 c == OPT_DNS_SEARCH ? "dns-search" : "dns-option",
						 optarg);
			r = c == OPT_DNS_SEARCH ? add_extra(spec->dns_search, &spec->n_dns_search,
							    "--dns-search", optarg)
						: add_extra(spec->dns_options, &spec->n_dns_options,
							    "--dns-option", optarg);
			if (r)
				return r;
			break;
		case OPT_GROUP_ADD:
			if (!*optarg || strchr(optarg, ':'))
				return cli_error("--group-add %s: expected a group name or number",
						 optarg);
			if ((r = add_extra(spec->group_add, &spec->n_group_add, "--group-add",
					   optarg)))
				return r;
			break;
		case OPT_ULIMIT: {
			struct cb_rlimit rl;
			if (cb_parse_ulimit(optarg, &rl) < 0)
				return cli_error(
				    "--ulimit %s: expected NAME=SOFT[:HARD] (nofile, nproc, "
				    "core, stack, memlock, ...; SOFT <= HARD)",
				    optarg);
			size_t k = 0;
			while (k < spec->n_rlimits && spec->rlimits[k].resource != rl.resource)
				k++;
			if (k == CB_RLIMIT_MAX)
				return cli_error("--ulimit: at most %d", CB_RLIMIT_MAX);
			spec->rlimits[k] = rl; /* the last one given for a name wins */
			if (k == spec->n_rlimits)
				spec->n_rlimits++;
			break;
		}
		case OPT_HOSTNAME:
			if (!*optarg || strlen(optarg) > 64)
				return cli_error("--hostname %s: expected 1 to 64 characters",
						 optarg);
			spec->hostname = optarg;
			break;
		case OPT_ENTRYPOINT:
			o->entrypoint = optarg;
			break;
		case OPT_INIT:
			spec->init = true;
			break;
		case OPT_READ_ONLY:
			spec->read_only = true;
			break;
		case 'v':
			if ((r = parse_volume(spec, optarg)) != 0)
				return r;
			break;
		case OPT_TMPFS:
			if ((r = parse_tmpfs(spec, optarg)) != 0)
				return r;
			break;
		case OPT_STOP_SIGNAL:
			if ((o->stop_signal = cb_parse_signal(optarg)) < 0)
				return cli_error("--stop-signal %s: unknown signal", optarg);
			break;
		case OPT_STOP_TIMEOUT:
			if (!int_in(optarg, 0, 86400, &n))
				return cli_error("--stop-timeout %s: expected a number of seconds",
						 optarg);
			o->stop_timeout = (int)n;
			break;
		case OPT_DEVICE:
			if ((r = parse_device(spec, optarg)) != 0)
				return r;
			break;
		case OPT_SYSCTL:
			/* checked once the namespaces are known (below) */
			if ((r = add_extra(spec->sysctls, &spec->n_sysctls, "--sysctl", optarg)))
				return r;
			break;
		case OPT_SHM_SIZE:
			if (cb_parse_mem_size(optarg, &v64) < 0 || v64 <= 0)
				return cli_error("--shm-size %s: expected a size like 64m", optarg);
			spec->shm_size = v64;
			break;
		case OPT_MOUNT:
			if ((r = cb_spawn_spec_add_mount_csv(spec, optarg, &err)) < 0)
				return r == -ENOMEM ? cli_error("out of memory")
						    : cli_error("%s", err.msg);
			break;
		case OPT_OOM_SCORE_ADJ:
			if (!int_in(optarg, -1000, 1000, &n))
				return cli_error("--oom-score-adj %s: expected -1000 to 1000",
						 optarg);
			spec->oom_score_adj_set = true;
			spec->oom_score_adj = (int)n;
			break;
		case 'c':
			/* docker's: 0 is the default weight, 1 counts as 2 */
			if (!int_in(optarg, 0, 262144, &n))
				return cli_error("--cpu-shares %s: expected 0 to 262144 (1024 is "
						 "the default weight, 0 means it)",
						 optarg);
			spec->cpu_shares = n == 1 ? 2 : n;
			break;
		case OPT_MEMORY_SWAP:
			/* docker's: 0 is unset, -1 no limit on swap */
			if (strcmp(optarg, "-1") == 0)
				spec->memory_swap = -1;
			else if (cb_parse_mem_size(optarg, &spec->memory_swap) < 0)
				return cli_error("--memory-swap %s: expected a size like 1g, or -1",
						 optarg);
			break;
		case OPT_MEMORY_RESERVATION:
			if (cb_parse_mem_size(optarg, &v64) < 0 || v64 <= 0)
				return cli_error(
				    "--memory-reservation %s: expected a size like 64m", optarg);
			spec->memory_reservation = v64;
			break;
		case 'l':
			if (!*optarg || *optarg == '=' || strchr(optarg, '\n'))
				return cli_error("--label %s: expected KEY=VALUE (or KEY)", optarg);
			if ((r = add_extra(o->labels, &o->n_labels, "--label", optarg)))
				return r;
			break;
		case OPT_PRESERVE_FDS:
			if (!int_in(optarg, 0, 1000, &n))
				return cli_error("--preserve-fds %s: expected a number of fds",
						 optarg);
			o->preserve_fds = (int)n;
			break;
		case OPT_CIDFILE:
			if (!*optarg)
				return cli_error("--cidfile: expected a file name");
			o->cidfile = optarg;
			break;
		case OPT_NS:
		case OPT_NO_NS: {
			unsigned mask;
			if (cb_parse_ns_list(optarg, &mask) < 0)
				return cli_error(
				    "--%s %s: expected a list of pid,mnt,uts,ipc,net,cgroup",
				    c == OPT_NS ? "ns" : "no-ns", optarg);
			if (mask & CB_NS_USER)
				return cli_error("--%s %s: use --userns MAP for a user namespace",
						 c == OPT_NS ? "ns" : "no-ns", optarg);
			/* The last word wins: a namespace --ns makes new is no
			 * longer one an earlier --uts/--ipc/--pid joined. */
			if (c == OPT_NS) {
				spec->ns_create = mask;
				for (unsigned ns = CB_NS_PID; ns <= CB_NS_USER; ns <<= 1)
					if (mask & ns)
						spec->ns_path[cb_ns_index(ns)] = NULL;
			} else
				spec->ns_create &= ~mask;
			break;
		}
		case OPT_PID:
			if ((r = share_ns(spec, "pid", CB_NS_PID, optarg)) != 0)
				return r;
			break;
		case OPT_NETWORK:
			/* "private": the name --net had for none */
			if (cb_net_parse_mode(strcmp(optarg, "private") == 0 ? "none" : optarg,
					      &o->net, &err) < 0)
				return cli_error("%s", err.msg);
			break;
		case 'p':
			if (cb_net_add_port(&o->net, optarg, &err) < 0)
				return cli_error("%s", err.msg);
			break;
		case OPT_UTS:
			if ((r = share_ns(spec, "uts", CB_NS_UTS, optarg)) != 0)
				return r;
			break;
		case OPT_IPC:
			if ((r = share_ns(spec, "ipc", CB_NS_IPC, optarg)) != 0)
				return r;
			break;
		case OPT_USERNS:
		case OPT_UIDMAP:
			if (strcmp(optarg, "host") == 0) {
				spec->n_uidmap = 0;
				break;
			}
			if (strcmp(optarg, "auto") == 0) {
				o->userns_auto = true;
				spec->n_uidmap = spec->n_gidmap = 0;
				break;
			}
			o->userns_auto = false;
			r = cb_parse_idmap(optarg, spec->uidmap, &spec->n_uidmap);
			if (r < 0)
				return cli_error(
				    "--userns %s: expected CTR_ID:HOST_ID:COUNT[,...]%s", optarg,
				    r == -E2BIG ? " (too many ranges)" : "");
			break;
		case OPT_GIDMAP:
			r = cb_parse_idmap(optarg, spec->gidmap, &spec->n_gidmap);
			if (r < 0)
				return cli_error("--gidmap %s: expected CTR_ID:HOST_ID:COUNT[,...]",
						 optarg);
			break;
		case OPT_NO_CGROUP:
			spec->no_cgroup = true;
			break;
		case 'm':
			if (cb_parse_mem_size(optarg, &v64) < 0 || v64 < 4096 * 64)
				return cli_error(
				    "--memory %s: expected a size of at least 256k like 64m",
				    optarg);
			spec->memory = v64;
			break;
		case OPT_CPUS:
			if (cb_parse_cpus(optarg, spec->cpu_period_us, &spec->cpu_quota_us) < 0)
				return cli_error("--cpus %s: expected a number of CPUs like 0.5",
						 optarg);
			break;
		case OPT_PIDS_LIMIT:
			if (!int_in(optarg, -1, INT64_MAX, &n) || n == 0)
				return cli_error(
				    "--pids-limit %s: expected a positive number (or -1)", optarg);
			spec->pids_limit = n > 0 ? n : 0;
			break;
		case OPT_CPUSET:
			if (!cb_cpuset_valid(optarg))
				return cli_error("--cpuset-cpus %s: expected a list like 0-2,4",
						 optarg);
			spec->cpuset_cpus = optarg;
			break;
		case OPT_CG_PARENT:
			if (strstr(optarg, ".."))
				return cli_error("--cgroup-parent %s: no .. allowed", optarg);
			spec->cgroup_parent = optarg;
			break;
		case OPT_CAP_ADD:
		case OPT_CAP_DROP: {
			uint64_t probe = 0;
			if (cb_caps_edit(&probe, optarg, true) < 0)
				return cli_error("--%s %s: unknown capability",
						 c == OPT_CAP_ADD ? "cap-add" : "cap-drop", optarg);
			if (c == OPT_CAP_ADD && n_add < ELEMENTSOF(cap_add))
				cap_add[n_add++] = optarg;
			else if (c == OPT_CAP_DROP && n_drop < ELEMENTSOF(cap_drop))
				cap_drop[n_drop++] = optarg;
			break;
		}
		case OPT_PRIVILEGED:
			spec->privileged = true;
			break;
		case OPT_SECURITY_OPT:
			if ((r = parse_security_opt(spec, optarg)) != 0)
				return r;
			break;
		default:
			return cli_usage(argv[0], true);
		}
	}
	/* Docker's order: drops first, then adds (so --cap-drop ALL --cap-add X
	 * leaves X whatever the order on the line). */
	for (size_t i = 0; i < n_drop; i++)
		cb_caps_edit(&spec->caps, cap_drop[i], false);
	for (size_t i = 0; i < n_add; i++)
		cb_caps_edit(&spec->caps, cap_add[i], true);
	if (spec->n_gidmap && !spec->n_uidmap && !o->userns_auto)
		return cli_error("--gidmap needs --userns MAP");
	if (spec->n_gidmap && o->userns_auto)
		return cli_error("--gidmap: not with --userns auto (it picks both maps)");
	if ((r = network_apply(o)) != 0)
		return r;
	for (size_t i = 0; i < spec->n_sysctls; i++)
		if (cb_sysctl_check(spec->sysctls[i], cb_spawn_spec_own_ns(spec), &err) < 0)
			return cli_error("%s", err.msg);
	if (spec->memory_swap && !spec->memory)
		return cli_error("--memory-swap needs --memory (it is memory plus swap)");
	if (spec->memory_swap > 0 && spec->memory_swap < spec->memory)
		return cli_error("--memory-swap %" PRId64 ": less than --memory %" PRId64
				 " (it is memory plus swap)",
				 spec->memory_swap, spec->memory);
	if (spec->memory && spec->memory_reservation > spec->memory)
		return cli_error("--memory-reservation: more than --memory");
	if (spec->no_cgroup && (spec->memory_swap || spec->memory_reservation || spec->cpu_shares))
		return cli_error("--no-cgroup: no --memory-swap, --memory-reservation or "
				 "--cpu-shares without a cgroup");

	o->cmd = argv + optind;
	o->n_cmd = argc - optind;
	if (o->entrypoint) {
		o->argv_buf = calloc((size_t)o->n_cmd + 2, sizeof(char *));
		if (!o->argv_buf)
			return cli_error("out of memory");
		o->argv_buf[0] = (char *)o->entrypoint;
		for (int i = 0; i < o->n_cmd; i++)
			o->argv_buf[i + 1] = o->cmd[i];
		spec->argv = o->argv_buf;
	} else
		spec->argv = o->cmd;
	if (cb_random_hex(o->id, 32) < 0)
		return cli_error("container ID: no randomness");
	spec->id = o->id;
	spec->rootfs = o->rootfs;
	return 0;
}

int cli_preserve_fds(struct cb_run_options *o)
{
	for (int fd = 3; fd < 3 + o->preserve_fds; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return cli_error("--preserve-fds %d: fd %d is not open", o->preserve_fds,
					 fd);
	o->spec.preserve_fds = o->preserve_fds;
	return 0;
}

int cli_cidfile_open(const struct cb_run_options *o, int *ret_fd)
{
	*ret_fd = -1;
	if (!o->cidfile)
		return 0;
	*ret_fd = open(o->cidfile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (*ret_fd < 0)
		return errno == EEXIST ? cli_error("--cidfile %s: the file exists (a container "
						   "may still use it): remove it first",
						   o->cidfile)
				       : cli_error("--cidfile %s: %m", o->cidfile);
	return 0;
}

int cli_cidfile_finish(const struct cb_run_options *o, int *fd, const char *id)
{
	if (*fd < 0)
		return 0;
	int ret = 0;
	size_t n = id ? strlen(id) : 0;
	if (id && write(*fd, id, n) != (ssize_t)n)
		ret = cli_error("--cidfile %s: write: %m", o->cidfile);
	if (!id || ret)
		(void)unlink(o->cidfile);
	close(*fd);
	*fd = -1;
	return ret;
}

void run_options_release(struct cb_run_options *o)
{
	if (o->userns_locked)
		close(o->userns_lock);
	o->userns_locked = false;
	cb_spawn_spec_release(&o->spec);
	free(o->argv_buf);
	o->argv_buf = NULL;
}
