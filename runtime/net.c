/* Container networking: see net.h. */
#include "net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "netlink.h"

#define VETH_PREFIX "cbv"
#define AUTO_POOL   "10.86.0.0/16" /* `network create` without --subnet: /24s from here */

/* Subnets and ports: pure helpers. */

static uint32_t prefix_mask(unsigned prefixlen)
{
	return prefixlen ? ~0u << (32 - prefixlen) : 0;
}

int cb_subnet_parse(const char *s, struct cb_subnet *ret, struct cb_error *err)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return cb_error_set(err, EINVAL,
				    "%s: not a CIDR (want ADDRESS/PREFIX, e.g. 10.90.0.0/24)", s);
	char addr[INET_ADDRSTRLEN];
	size_t alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr))
		return cb_error_set(err, EINVAL, "%s: not a CIDR (bad address)", s);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, addr, &a) != 1)
		return cb_error_set(err, EINVAL, "%s: not a CIDR (bad IPv4 address %s)", s, addr);
	const char *p = slash + 1;
	if (!isdigit((unsigned char)p[0]) || strlen(p) > 2 ||
	    (p[1] && !isdigit((unsigned char)p[1])))
		return cb_error_set(err, EINVAL, "%s: not a CIDR (bad prefix length)", s);
	unsigned prefixlen = (unsigned)atoi(p);
	if (prefixlen > 32)
		return cb_error_set(err, EINVAL, "%s: not a CIDR (prefix length above 32)", s);
	uint32_t host = ntohl(a.s_addr);
	if (host & ~prefix_mask(prefixlen)) {
		struct in_addr net = {.s_addr = htonl(host & prefix_mask(prefixlen))};
		char nbuf[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &net, nbuf, sizeof(nbuf));
		return cb_error_set(err, EINVAL, "%s: host bits set (did you mean %s/%u?)", s, nbuf,
				    prefixlen);
	}
	ret->addr = a;
	ret->prefixlen = prefixlen;
	return 0;
}

void cb_subnet_format(const struct cb_subnet *s, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &s->addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, s->prefixlen);
}

bool cb_subnet_contains(const struct cb_subnet *s, struct in_addr addr)
{
	uint32_t m = prefix_mask(s->prefixlen);
	return (ntohl(addr.s_addr) & m) == (ntohl(s->addr.s_addr) & m);
}

bool cb_subnet_overlaps(const struct cb_subnet *a, const struct cb_subnet *b)
{
	/* Two prefixes overlap exactly when the shorter one contains the
	 * other's network address. */
	unsigned p = MIN(a->prefixlen, b->prefixlen);
	uint32_t m = prefix_mask(p);
	return (ntohl(a->addr.s_addr) & m) == (ntohl(b->addr.s_addr) & m);
}

size_t cb_ipam_bitmap_size(const struct cb_subnet *s)
{
	uint64_t n = 1ull << (32 - s->prefixlen);
	return (size_t)((n + 7) / 8);
}

int cb_ipam_pick(const struct cb_subnet *s, struct in_addr gateway, const uint8_t *used,
		 struct in_addr *ret)
{
	uint64_t size = 1ull << (32 - s->prefixlen);
	uint32_t base = ntohl(s->addr.s_addr);
	uint32_t gw = ntohl(gateway.s_addr) - base;
	/* /31 and /32 have no room for a gateway and a container. */
	if (size < 4)
		return -ENOSPC;
	for (uint64_t i = 1; i < size - 1; i++) {
		if (i == gw || (used[i / 8] & (1u << (i % 8))))
			continue;
		ret->s_addr = htonl(base + (uint32_t)i);
		return 0;
	}
	return -ENOSPC;
}

static void ipam_mark(const struct cb_subnet *s, uint8_t *used, struct in_addr addr)
{
	if (!cb_subnet_contains(s, addr))
		return;
	uint32_t i = ntohl(addr.s_addr) - ntohl(s->addr.s_addr);
	used[i / 8] |= (uint8_t)(1u << (i % 8));
}

static int parse_port_number(const char *s, size_t len, uint16_t *ret)
{
	if (len == 0 || len > 5)
		return -EINVAL;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

int cb_net_parse_port(const char *s, struct cb_port_map *ret, struct cb_error *err)
{
	struct cb_port_map p = {.protocol = IPPROTO_TCP};
	char buf[128];
	if (strlen(s) >= sizeof(buf))
		return cb_error_set(err, EINVAL, "-p %s: too long", s);
	snprintf(buf, sizeof(buf), "%s", s);
	char *proto = strchr(buf, '/');
	if (proto) {
		*proto++ = '\0';
		if (strcmp(proto, "tcp") == 0)
			p.protocol = IPPROTO_TCP;
		else if (strcmp(proto, "udp") == 0)
			p.protocol = IPPROTO_UDP;
		else
			return cb_error_set(err, EINVAL, "-p %s: protocol %s: want tcp or udp", s,
					    proto);
	}
	/* [IP:]HOSTPORT:CTRPORT, or one port for both. */
	char *fields[3];
	size_t n = 0;
	for (char *f = buf, *next; f && n < 3; f = next) {
		next = strchr(f, ':');
		if (next)
			*next++ = '\0';
		fields[n++] = f;
		if (next && n == 3)
			return cb_error_set(err, EINVAL,
					    "-p %s: want [IP:]HOSTPORT:CTRPORT[/tcp|udp]", s);
	}
	const char *host = NULL, *ctr = NULL;
	if (n == 1) {
		host = ctr = fields[0];
	} else if (n == 2) {
		host = fields[0];
		ctr = fields[1];
	} else {
		if (inet_pton(AF_INET, fields[0], &p.host_addr) != 1)
			return cb_error_set(err, EINVAL, "-p %s: %s is not an IPv4 address", s,
					    fields[0]);
		host = fields[1];
		ctr = fields[2];
	}
	if (parse_port_number(host, strlen(host), &p.host_port) < 0)
		return cb_error_set(err, EINVAL, "-p %s: host port %s: want 1-65535", s, host);
	if (parse_port_number(ctr, strlen(ctr), &p.container_port) < 0)
		return cb_error_set(err, EINVAL, "-p %s: container port %s: want 1-65535", s, ctr);
	*ret = p;
	return 0;
}

static bool ports_clash(const struct cb_port_map *a, const struct cb_port_map *b)
{
	return a->protocol == b->protocol && a->host_port == b->host_port &&
	       (a->host_addr.s_addr == INADDR_ANY || b->host_addr.s_addr == INADDR_ANY ||
		a->host_addr.s_addr == b->host_addr.s_addr);
}

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_UDP ? "udp" : "tcp";
}

int cb_net_add_port(struct cb_net_config *cfg, const char *s, struct cb_error *err)
{
	struct cb_port_map p;
	int r = cb_net_parse_port(s, &p, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < cfg->n_ports; i++)
		if (ports_clash(&cfg->ports[i], &p))
			return cb_error_set(err, EEXIST, "-p %s: host port %u/%s given twice", s,
					    p.host_port, proto_name(p.protocol));
	if (cfg->n_ports >= CB_NET_PORTS_MAX)
		return cb_error_set(err, E2BIG, "-p %s: at most %d published ports", s,
				    CB_NET_PORTS_MAX);
	cfg->ports[cfg->n_ports++] = p;
	return 0;
}

void cb_net_config_init(struct cb_net_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = CB_NET_NONE;
	cfg->run_dir = CB_NET_RUN_DIR;
}

int cb_net_config_finish(struct cb_net_config *cfg, struct cb_error *err)
{
	if (cfg->n_ports == 0)
		return 0;
	if (!cfg->mode_set) {
		cfg->mode = CB_NET_BRIDGE;
		cfg->network = CB_NET_DEFAULT_NAME;
		return 0;
	}
	if (cfg->mode != CB_NET_BRIDGE)
		return cb_error_set(err, EINVAL, "-p needs a bridge network, not --network %s",
				    cfg->mode == CB_NET_NONE   ? "none"
				    : cfg->mode == CB_NET_HOST ? "host"
							       : cfg->share);
	return 0;
}

static bool valid_network_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CB_NET_NAME_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

int cb_net_parse_mode(const char *s, struct cb_net_config *cfg, struct cb_error *err)
{
	if (strcmp(s, "none") == 0) {
		cfg->mode = CB_NET_NONE;
	} else if (strcmp(s, "host") == 0) {
		cfg->mode = CB_NET_HOST;
	} else if (strcmp(s, "bridge") == 0) {
		cfg->mode = CB_NET_BRIDGE;
		cfg->network = CB_NET_DEFAULT_NAME;
	} else if (strncmp(s, "container:", 10) == 0 || strncmp(s, "ns:", 3) == 0) {
		if (!strchr(s, ':')[1])
			return cb_error_set(err, EINVAL, "--network %s: missing what to join", s);
		cfg->mode = CB_NET_SHARE;
		cfg->share = s;
	} else if (valid_network_name(s)) {
		cfg->mode = CB_NET_BRIDGE;
		cfg->network = s;
	} else {
		return cb_error_set(err, EINVAL,
				    "--network %s: want none, host, bridge, container:C, ns:PATH "
				    "or a network name",
				    s);
	}
	cfg->mode_set = true;
	return 0;
}

/* Network definitions: one key=value file per network. */

static void builtin_network(struct cb_network *n)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", CB_NET_DEFAULT_NAME);
	cb_subnet_parse(CB_NET_DEFAULT_SUBNET, &n->subnet, NULL);
	n->gateway.s_addr = htonl(ntohl(n->subnet.addr.s_addr) + 1);
	snprintf(n->bridge, sizeof(n->bridge), "%s", CB_NET_DEFAULT_BRIDGE);
	n->builtin = true;
}

/* Split "key=value\n..." in place; fn gets each pair. */
static void parse_kv(char *text, void (*fn)(const char *k, const char *v, void *u), void *u)
{
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		fn(line, eq + 1, u);
	}
}

static void network_kv(const char *k, const char *v, void *u)
{
	struct cb_network *n = u;
	if (strcmp(k, "name") == 0)
		snprintf(n->name, sizeof(n->name), "%s", v);
	else if (strcmp(k, "subnet") == 0)
		cb_subnet_parse(v, &n->subnet, NULL);
	else if (strcmp(k, "gateway") == 0)
		inet_pton(AF_INET, v, &n->gateway);
	else if (strcmp(k, "bridge") == 0)
		snprintf(n->bridge, sizeof(n->bridge), "%s", v);
}

static int read_network(int dirfd, const char *name, struct cb_network *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = cb_read_file_at(dirfd, name, 4096, &text, NULL);
	if (r < 0)
		return r;
	struct cb_network n = {0};
	parse_kv(text, network_kv, &n);
	if (!n.name[0] || !n.bridge[0] || n.subnet.prefixlen == 0 || strcmp(n.name, name) != 0)
		return -EBADMSG;
	*ret = n;
	return 0;
}

int cb_network_get(const char *networks_dir, const char *name, struct cb_network *ret,
		   struct cb_error *err)
{
	if (!name || strcmp(name, CB_NET_DEFAULT_NAME) == 0) {
		builtin_network(ret);
		return 0;
	}
	if (!valid_network_name(name))
		return cb_error_set(err, ENOENT, "network %s: no such network", name);
	if (!networks_dir)
		return cb_error_set(err, ENOENT, "network %s: no such network", name);
	_cleanup_close_ int dfd = open(networks_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 && errno != ENOENT)
		return cb_error_errno(err, errno, "open %s", networks_dir);
	int r = dfd < 0 ? -ENOENT : read_network(dfd, name, ret);
	if (r == -ENOENT)
		return cb_error_set(err, ENOENT, "network %s: no such network", name);
	if (r < 0)
		return cb_error_errno(err, -r, "network %s: read %s/%s", name, networks_dir, name);
	return 0;
}

static int cmp_network(const void *a, const void *b)
{
	return strcmp(((const struct cb_network *)a)->name, ((const struct cb_network *)b)->name);
}

int cb_network_list(const char *networks_dir, struct cb_network **ret, size_t *ret_n,
		    struct cb_error *err)
{
	size_t n = 1, cap = 8;
	_cleanup_free_ struct cb_network *list = calloc(cap, sizeof(*list));
	if (!list)
		return cb_error_errno(err, ENOMEM, "networks");
	builtin_network(&list[0]);
	_cleanup_closedir_ DIR *d = networks_dir ? opendir(networks_dir) : NULL;
	if (!d && networks_dir && errno != ENOENT)
		return cb_error_errno(err, errno, "open %s", networks_dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp-") ||
		    !valid_network_name(de->d_name))
			continue;
		if (n == cap) {
			struct cb_network *m = realloc(list, 2 * cap * sizeof(*m));
			if (!m)
				return cb_error_errno(err, ENOMEM, "networks");
			list = m;
			cap *= 2;
		}
		if (read_network(dirfd(d), de->d_name, &list[n]) == 0)
			n++;
	}
	qsort(list + 1, n - 1, sizeof(*list), cmp_network);
	*ret = TAKE_PTR(list);
	*ret_n = n;
	return 0;
}

/* The run directory: a lock and the leases. */

struct netstate {
	int run_fd;
	int leases_fd;
	int lock_fd;
};

static void netstate_release(struct netstate *s)
{
	int saved = errno;
	if (s->lock_fd >= 0)
		close(s->lock_fd); /* drops the flock */
	if (s->leases_fd >= 0)
		close(s->leases_fd);
	if (s->run_fd >= 0)
		close(s->run_fd);
	s->run_fd = s->leases_fd = s->lock_fd = -1;
	errno = saved;
}

/* Open run_dir (made when missing) and take its lock. */
static int netstate_lock(const char *run_dir, struct netstate *s, struct cb_error *err)
{
	s->run_fd = s->leases_fd = s->lock_fd = -1;
	if (!run_dir)
		run_dir = CB_NET_RUN_DIR;
	int r;
	s->run_fd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->run_fd < 0 && errno == ENOENT) {
		r = cb_mkdirat_p(AT_FDCWD, run_dir, 0700);
		if (r < 0)
			return cb_error_errno(err, -r, "create %s", run_dir);
		s->run_fd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (s->run_fd < 0)
		return cb_error_errno(err, errno, "open %s", run_dir);
	if (mkdirat(s->run_fd, "leases", 0700) < 0 && errno != EEXIST) {
		r = cb_error_errno(err, errno, "create %s/leases", run_dir);
		goto fail;
	}
	s->leases_fd = openat(s->run_fd, "leases", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->leases_fd < 0) {
		r = cb_error_errno(err, errno, "open %s/leases", run_dir);
		goto fail;
	}
	s->lock_fd = openat(s->run_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		r = cb_error_errno(err, errno, "open %s/lock", run_dir);
		goto fail;
	}
	while (flock(s->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			r = cb_error_errno(err, errno, "lock %s/lock", run_dir);
			goto fail;
		}
	return 0;
fail:
	netstate_release(s);
	return r;
}

/* Start time of pid in clock ticks after boot (field 22 of its stat), or
 * 0 when it is gone. */
static uint64_t pid_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: start after the
	 * last ')'. Field 3 (state) follows it. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (!p)
		return 0;
	/* A zombie has no namespace left: treat it as gone. */
	char *state = strrchr(buf, ')') + 2;
	if (*state == 'Z' || *state == 'X')
		return 0;
	return strtoull(p + 1, NULL, 10);
}

static bool lease_alive(const struct cb_net_lease *l)
{
	if (l->pid <= 0)
		return false;
	uint64_t st = pid_start_time(l->pid);
	return st != 0 && (l->start_time == 0 || st == l->start_time);
}

static void lease_kv(const char *k, const char *v, void *u)
{
	struct cb_net_lease *l = u;
	if (strcmp(k, "id") == 0)
		snprintf(l->id, sizeof(l->id), "%s", v);
	else if (strcmp(k, "name") == 0)
		snprintf(l->name, sizeof(l->name), "%s", v);
	else if (strcmp(k, "network") == 0)
		snprintf(l->network, sizeof(l->network), "%s", v);
	else if (strcmp(k, "bridge") == 0)
		snprintf(l->bridge, sizeof(l->bridge), "%s", v);
	else if (strcmp(k, "veth") == 0)
		snprintf(l->veth, sizeof(l->veth), "%s", v);
	else if (strcmp(k, "addr") == 0)
		inet_pton(AF_INET, v, &l->addr);
	else if (strcmp(k, "gateway") == 0)
		inet_pton(AF_INET, v, &l->gateway);
	else if (strcmp(k, "prefix") == 0)
		l->prefixlen = (unsigned)atoi(v);
	else if (strcmp(k, "pid") == 0)
		l->pid = (pid_t)atoi(v);
	else if (strcmp(k, "start") == 0)
		l->start_time = strtoull(v, NULL, 10);
	else if (strcmp(k, "connected") == 0)
		l->connected = strcmp(v, "1") == 0;
	else if (strcmp(k, "port") == 0 && l->n_ports < CB_NET_PORTS_MAX) {
		struct cb_port_map p = {0};
		char proto[8], ip[INET_ADDRSTRLEN];
		unsigned hp, cp;
		if (sscanf(v, "%7s %15s %u %u", proto, ip, &hp, &cp) == 4 &&
		    inet_pton(AF_INET, ip, &p.host_addr) == 1) {
			p.protocol = strcmp(proto, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
			p.host_port = (uint16_t)hp;
			p.container_port = (uint16_t)cp;
			l->ports[l->n_ports++] = p;
		}
	}
}

static int lease_write(int leases_fd, const struct cb_net_lease *l)
{
	char addr[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
	inet_ntop(AF_INET, &l->gateway, gw, sizeof(gw));
	char buf[4096];
	int n = snprintf(buf, sizeof(buf),
			 "id=%s\nname=%s\nnetwork=%s\nbridge=%s\nveth=%s\naddr=%s\ngateway=%s\n"
			 "prefix=%u\npid=%d\nstart=%llu\nconnected=%d\n",
			 l->id, l->name, l->network, l->bridge, l->veth, addr, gw, l->prefixlen,
			 (int)l->pid, (unsigned long long)l->start_time, l->connected ? 1 : 0);
	for (size_t i = 0; i < l->n_ports && n > 0 && (size_t)n < sizeof(buf); i++) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &l->ports[i].host_addr, ip, sizeof(ip));
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "port=%s %s %u %u\n",
			      proto_name(l->ports[i].protocol), ip, l->ports[i].host_port,
			      l->ports[i].container_port);
	}
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	/* Leases live in /run (tmpfs) and mean nothing after a reboot: a
	 * rename makes the update atomic, an fsync would buy nothing. */
	char tmp[64];
	snprintf(tmp, sizeof(tmp), ".%s.tmp-%d", addr, (int)getpid());
	_cleanup_close_ int fd =
	    openat(leases_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return negative_errno();
	int r = cb_write_all(fd, buf, (size_t)n);
	if (r >= 0 && renameat(leases_fd, tmp, leases_fd, addr) < 0)
		r = negative_errno();
	if (r < 0)
		unlinkat(leases_fd, tmp, 0);
	return r;
}

struct lease_list {
	struct cb_net_lease *v;
	size_t n, cap;
};

static void lease_list_release(struct lease_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int load_leases(int leases_fd, struct lease_list *out)
{
	int fd = dup(leases_fd);
	if (fd < 0)
		return negative_errno();
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return negative_errno();
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		struct in_addr a;
		if (de->d_name[0] == '.' || inet_pton(AF_INET, de->d_name, &a) != 1)
			continue;
		_cleanup_free_ char *text = NULL;
		if (cb_read_file_at(leases_fd, de->d_name, 8192, &text, NULL) < 0)
			continue;
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 16;
			struct cb_net_lease *v = realloc(out->v, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			out->v = v;
			out->cap = cap;
		}
		struct cb_net_lease *l = &out->v[out->n];
		memset(l, 0, sizeof(*l));
		parse_kv(text, lease_kv, l);
		/* The file name is the truth about which address it holds. */
		l->addr = a;
		if (l->id[0])
			out->n++;
	}
	return 0;
}

static void lease_file_name(const struct cb_net_lease *l, char *buf)
{
	inet_ntop(AF_INET, &l->addr, buf, INET_ADDRSTRLEN);
}

/* Delete a link by name in the caller's namespace; gone is fine. */
static int del_link_by_name(struct cb_nl *nl, const char *name)
{
	int idx = cb_nl_link_index(nl, name);
	if (idx == -ENODEV)
		return 0;
	if (idx < 0)
		return idx;
	int r = cb_nl_link_del(nl, idx);
	return r == -ENODEV ? 0 : r;
}

/* Remove what a lease holds (veth, rules) and its file. */
static int reap_lease(int leases_fd, struct cb_nl *nl, const struct cb_net_lease *l,
		      struct cb_error *err)
{
	if (l->veth[0]) {
		int r = del_link_by_name(nl, l->veth);
		if (r < 0)
			return cb_error_errno(err, -r, "delete %s", l->veth);
	}
	if (l->n_ports) {
		char tag[CB_NET_ID_MAX + 8];
		snprintf(tag, sizeof(tag), "ctr:%s", l->id);
		int r = cb_nft_del_tagged(tag, err);
		if (r < 0)
			return r;
	}
	char file[INET_ADDRSTRLEN];
	lease_file_name(l, file);
	if (unlinkat(leases_fd, file, 0) < 0 && errno != ENOENT)
		return cb_error_errno(err, errno, "remove lease %s", file);
	return 0;
}

static int count_tag(const char *tag, void *userdata)
{
	(*(int *)userdata)++;
	return 0;
}

/* Rules of networks and containers in the table (its own jump rules not
 * counted): when none is left, the table can go. */
static int count_tagged_rules(void)
{
	int n = 0;
	int r = cb_nft_foreach_tag(count_tag, &n, NULL);
	return r < 0 ? r : n;
}

/* Remove a network's bridge and its rules. */
static int teardown_network(struct cb_nl *nl, const char *network, const char *bridge,
			    struct cb_error *err)
{
	int r = del_link_by_name(nl, bridge);
	if (r < 0)
		return cb_error_errno(err, -r, "network %s: delete bridge %s", network, bridge);
	char tag[CB_NET_NAME_MAX + 8];
	snprintf(tag, sizeof(tag), "net:%s", network);
	return cb_nft_del_tagged(tag, err);
}

static bool network_in_use(const struct lease_list *ls, const char *network)
{
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(ls->v[i].network, network) == 0)
			return true;
	return false;
}

/* Load the leases and reap the dead ones; ls keeps the live ones. Called
 * under the lock. */
static int load_live_leases(struct netstate *st, struct cb_nl *nl, struct lease_list *ls,
			    unsigned *ret_reaped, struct cb_error *err)
{
	int r = load_leases(st->leases_fd, ls);
	if (r < 0)
		return cb_error_errno(err, -r, "read leases");
	unsigned reaped = 0;
	struct lease_list dead = {0};
	for (size_t i = 0; i < ls->n;) {
		if (lease_alive(&ls->v[i])) {
			i++;
			continue;
		}
		if (dead.n == dead.cap) {
			size_t cap = dead.cap ? dead.cap * 2 : 8;
			struct cb_net_lease *v = realloc(dead.v, cap * sizeof(*v));
			if (!v) {
				lease_list_release(&dead);
				return cb_error_errno(err, ENOMEM, "leases");
			}
			dead.v = v;
			dead.cap = cap;
		}
		dead.v[dead.n++] = ls->v[i];
		ls->v[i] = ls->v[--ls->n];
	}
	for (size_t i = 0; i < dead.n; i++) {
		r = reap_lease(st->leases_fd, nl, &dead.v[i], err);
		if (r < 0)
			break;
		reaped++;
	}
	lease_list_release(&dead);
	if (ret_reaped)
		*ret_reaped = reaped;
	return r < 0 ? r : 0;
}

int cb_net_leases(const char *run_dir, const char *network, struct cb_net_lease **ret,
		  size_t *ret_n, struct cb_error *err)
{
	struct netstate st;
	int r = netstate_lock(run_dir, &st, err);
	if (r < 0)
		return r;
	_cleanup_nl_ struct cb_nl *nl = NULL;
	struct lease_list ls = {0};
	r = cb_nl_open(&nl);
	if (r < 0) {
		netstate_release(&st);
		return cb_error_errno(err, -r, "netlink socket");
	}
	r = load_live_leases(&st, nl, &ls, NULL, err);
	netstate_release(&st);
	if (r < 0) {
		lease_list_release(&ls);
		return r;
	}
	size_t n = 0;
	for (size_t i = 0; i < ls.n; i++)
		if (!network || strcmp(ls.v[i].network, network) == 0)
			ls.v[n++] = ls.v[i];
	*ret = ls.v;
	*ret_n = n;
	return 0;
}

/* A MAC address made of an IPv4 address (locally administered, like
 * docker's 02:42:...): a reused address comes back with the same MAC, so
 * no neighbour holds a stale entry for it. */
static void mac_of(struct in_addr a, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0xcb;
	memcpy(mac + 2, &a.s_addr, 4);
}

/* Make the network's bridge (with a fixed MAC, so the gateway's never
 * changes as ports come and go), its gateway address and its rules.
 * Called under the lock when the bridge is missing. */
static int setup_network(struct cb_nl *nl, const struct cb_network *n, struct cb_error *err)
{
	int idx, r;
	uint8_t mac[6];
	mac_of(n->gateway, mac);
	r = cb_nl_bridge_add(nl, n->bridge, mac, &idx);
	if (r < 0)
		return cb_error_errno(err, -r, "network %s: create bridge %s", n->name, n->bridge);
	r = cb_nl_addr_add(nl, idx, n->gateway, n->subnet.prefixlen);
	if (r < 0) {
		cb_error_errno(err, -r, "network %s: address bridge %s", n->name, n->bridge);
		goto out_del_bridge;
	}
	/* Forwarding is what a bridge network with NAT is for; route_localnet
	 * lets a published port answer on 127.0.0.1. */
	r = cb_write_string_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_forward", "1");
	if (r < 0) {
		cb_error_errno(err, -r, "network %s: enable net.ipv4.ip_forward", n->name);
		goto out_del_bridge;
	}
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", n->bridge);
	cb_write_string_at(AT_FDCWD, path,
			   "1"); /* best effort: without it only 127.0.0.1 is lost */
	char tag[CB_NET_NAME_MAX + 8];
	snprintf(tag, sizeof(tag), "net:%s", n->name);
	r = cb_nft_del_tagged(tag, err);
	if (r >= 0)
		r = cb_nft_add_network(n->name, n->subnet.addr, n->subnet.prefixlen, n->bridge,
				       err);
	if (r < 0)
		goto out_del_bridge;
	return 0;
out_del_bridge:
	cb_nl_link_del(nl, idx);
	return r;
}

static bool valid_word(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CB_NET_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == '#')
			return false;
	return true;
}

int cb_net_reserve(const struct cb_net_config *cfg, const char *id, struct cb_net_lease *ret,
		   struct cb_error *err)
{
	/* Both end up in the lease file and in /etc/hosts: one word each. */
	if (!valid_word(id))
		return cb_error_set(err, EINVAL, "network: bad container id");
	if (cfg->name && !valid_word(cfg->name))
		return cb_error_set(err, EINVAL, "network: bad container name %s", cfg->name);
	struct cb_network n;
	int r = cb_network_get(cfg->networks_dir, cfg->network, &n, err);
	if (r < 0)
		return r;
	struct netstate st;
	r = netstate_lock(cfg->run_dir, &st, err);
	if (r < 0)
		return r;
	_cleanup_nl_ struct cb_nl *nl = NULL;
	struct lease_list ls = {0};
	_cleanup_free_ uint8_t *used = NULL;
	struct cb_net_lease l = {0};
	r = cb_nl_open(&nl);
	if (r < 0) {
		cb_error_errno(err, -r, "netlink socket");
		goto out;
	}
	r = load_live_leases(&st, nl, &ls, NULL, err);
	if (r < 0)
		goto out;
	used = calloc(1, cb_ipam_bitmap_size(&n.subnet));
	if (!used) {
		r = cb_error_errno(err, ENOMEM, "network %s", n.name);
		goto out;
	}
	for (size_t i = 0; i < ls.n; i++) {
		const struct cb_net_lease *o = &ls.v[i];
		if (strcmp(o->id, id) == 0) {
			r = cb_error_set(err, EEXIST,
					 "network %s: container %s is attached already", o->network,
					 id);
			goto out;
		}
		for (size_t a = 0; a < cfg->n_ports; a++)
			for (size_t b = 0; b < o->n_ports; b++)
				if (ports_clash(&cfg->ports[a], &o->ports[b])) {
					r = cb_error_set(err, EADDRINUSE,
							 "-p %u/%s: port published by container %s "
							 "already",
							 cfg->ports[a].host_port,
							 proto_name(cfg->ports[a].protocol),
							 o->name[0] ? o->name : o->id);
					goto out;
				}
		if (strcmp(o->network, n.name) == 0)
			ipam_mark(&n.subnet, used, o->addr);
	}
	r = cb_ipam_pick(&n.subnet, n.gateway, used, &l.addr);
	if (r < 0) {
		char sn[32];
		cb_subnet_format(&n.subnet, sn, sizeof(sn));
		r = cb_error_set(err, ENOSPC, "network %s: no free address in %s", n.name, sn);
		goto out;
	}
	snprintf(l.id, sizeof(l.id), "%s", id);
	snprintf(l.name, sizeof(l.name), "%s", cfg->name ? cfg->name : id);
	snprintf(l.network, sizeof(l.network), "%s", n.name);
	snprintf(l.bridge, sizeof(l.bridge), "%s", n.bridge);
	/* A fresh name each time: the veth of the address's last holder may
	 * still be on its way out with its namespace. */
	char rnd[9];
	r = cb_random_hex(rnd, 4);
	if (r < 0) {
		cb_error_errno(err, -r, "random veth name");
		goto out;
	}
	snprintf(l.veth, sizeof(l.veth), VETH_PREFIX "%s", rnd);
	l.gateway = n.gateway;
	l.prefixlen = n.subnet.prefixlen;
	l.pid = getpid();
	l.start_time = pid_start_time(l.pid);
	memcpy(l.ports, cfg->ports, sizeof(l.ports));
	l.n_ports = cfg->n_ports;
	/* The bridge and the network's rules stay once made (like docker0):
	 * making and removing them costs tens of milliseconds of RCU grace
	 * periods, which every `run --rm` would pay. `network rm`/`prune`
	 * remove them. */
	/* No nftables call here when the bridge exists: closing a netfilter
	 * socket waits for an RCU grace period whenever any rule was deleted
	 * lately (nf_tables flushes its destroy work on release), which would
	 * put milliseconds on every start. cb_net_cleanup() restores the rules
	 * of a network whose bridge exists, if someone flushed them. */
	if (cb_nl_link_index(nl, n.bridge) < 0) {
		r = setup_network(nl, &n, err);
		if (r < 0)
			goto out;
	}
	r = lease_write(st.leases_fd, &l);
	if (r < 0) {
		cb_error_errno(err, -r, "network %s: write lease", n.name);
		goto out;
	}
	*ret = l;
out:
	lease_list_release(&ls);
	netstate_release(&st);
	return r;
}

static int open_pid_netns(pid_t pid, struct cb_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cb_error_errno(err, errno, "open %s", path);
	return fd;
}

int cb_net_connect(const struct cb_net_config *cfg, struct cb_net_lease *lease, pid_t pid,
		   int netns_fd, struct cb_error *err)
{
	_cleanup_close_ int own_fd = -1;
	if (netns_fd < 0) {
		own_fd = open_pid_netns(pid, err);
		if (own_fd < 0)
			return own_fd;
		netns_fd = own_fd;
	}
	_cleanup_nl_ struct cb_nl *nl = NULL, *inner = NULL;
	_cleanup_close_ int leases_fd = -1;
	int r = cb_nl_open(&nl);
	if (r < 0)
		return cb_error_errno(err, -r, "netlink socket");
	int bridge = cb_nl_link_index(nl, lease->bridge);
	if (bridge < 0)
		return cb_error_errno(err, -bridge, "network %s: bridge %s", lease->network,
				      lease->bridge);
	uint8_t mac[6];
	mac_of(lease->addr, mac);
	r = cb_nl_veth_add(nl, lease->veth, bridge, "eth0", netns_fd, mac, NULL);
	if (r < 0)
		return cb_error_errno(err, -r, "network %s: create veth %s", lease->network,
				      lease->veth);
	r = cb_nl_open_netns(netns_fd, &inner);
	if (r < 0) {
		cb_error_errno(err, -r, "netlink socket in the container");
		goto out_del_veth;
	}
	r = cb_nl_link_set_up(inner, 1 /* lo */, true);
	if (r < 0) {
		cb_error_errno(err, -r, "bring lo up");
		goto out_del_veth;
	}
	int eth0 = cb_nl_link_index(inner, "eth0");
	if (eth0 < 0) {
		r = cb_error_errno(err, -eth0, "find eth0 in the container");
		goto out_del_veth;
	}
	r = cb_nl_addr_add(inner, eth0, lease->addr, lease->prefixlen);
	if (r < 0) {
		cb_error_errno(err, -r, "add address to eth0");
		goto out_del_veth;
	}
	r = cb_nl_link_set_up(inner, eth0, true);
	if (r < 0) {
		cb_error_errno(err, -r, "bring eth0 up");
		goto out_del_veth;
	}
	r = cb_nl_route_add_default(inner, eth0, lease->gateway);
	if (r < 0) {
		cb_error_errno(err, -r, "add default route");
		goto out_del_veth;
	}
	r = cb_nft_add_ports(lease->id, lease->addr, lease->ports, lease->n_ports, err);
	if (r < 0)
		goto out_del_veth;

	struct cb_net_lease l = *lease;
	if (pid > 0) {
		l.pid = pid;
		l.start_time = pid_start_time(pid);
	}
	l.connected = true;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/leases", cfg->run_dir ? cfg->run_dir : CB_NET_RUN_DIR);
	leases_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (leases_fd < 0) {
		r = cb_error_errno(err, errno, "open %s", path);
		goto out_del_rules;
	}
	r = lease_write(leases_fd, &l);
	if (r < 0) {
		cb_error_errno(err, -r, "network %s: write lease", l.network);
		goto out_del_rules;
	}
	*lease = l;
	return 0;

out_del_rules:
	if (lease->n_ports) {
		char tag[CB_NET_ID_MAX + 8];
		snprintf(tag, sizeof(tag), "ctr:%s", lease->id);
		cb_nft_del_tagged(tag, NULL);
	}
out_del_veth:
	del_link_by_name(nl, lease->veth);
	return r;
}

int cb_net_loopback_up(int netns_fd, struct cb_error *err)
{
	_cleanup_nl_ struct cb_nl *nl = NULL;
	int r = cb_nl_open_netns(netns_fd, &nl);
	if (r < 0)
		return cb_error_errno(err, -r, "netlink socket in the container");
	r = cb_nl_link_set_up(nl, 1, true);
	if (r < 0)
		return cb_error_errno(err, -r, "bring lo up");
	return 0;
}

int cb_net_attach(const struct cb_net_config *cfg, pid_t pid, int netns_fd, const char *id,
		  struct cb_net_lease *ret, struct cb_error *err)
{
	if (ret)
		memset(ret, 0, sizeof(*ret));
	if (cfg->mode == CB_NET_HOST || cfg->mode == CB_NET_SHARE)
		return 0;
	_cleanup_close_ int own_fd = -1;
	if (netns_fd < 0) {
		own_fd = open_pid_netns(pid, err);
		if (own_fd < 0)
			return own_fd;
		netns_fd = own_fd;
	}
	if (cfg->mode == CB_NET_NONE)
		return cb_net_loopback_up(netns_fd, err);
	if (!ret)
		return cb_error_set(err, EINVAL, "network: bridge mode needs a lease to fill");
	struct cb_net_lease l;
	int r = cb_net_reserve(cfg, id, &l, err);
	if (r < 0)
		return r;
	r = cb_net_connect(cfg, &l, pid, netns_fd, err);
	if (r < 0) {
		cb_net_detach(cfg, &l, NULL);
		return r;
	}
	*ret = l;
	return 0;
}

/* Drop the lease file of l if it is still l's (the address may have gone
 * to someone else after a crash). */
static int drop_lease(const char *run_dir, const struct cb_net_lease *l, struct cb_nl *nl,
		      struct cb_error *err)
{
	struct netstate st;
	int r = netstate_lock(run_dir, &st, err);
	if (r < 0)
		return r;
	struct lease_list ls = {0};
	r = load_leases(st.leases_fd, &ls);
	if (r < 0) {
		cb_error_errno(err, -r, "read leases");
		goto out;
	}
	for (size_t i = 0; i < ls.n; i++) {
		const struct cb_net_lease *o = &ls.v[i];
		if (o->addr.s_addr == l->addr.s_addr && strcmp(o->id, l->id) == 0) {
			char file[INET_ADDRSTRLEN];
			lease_file_name(l, file);
			if (unlinkat(st.leases_fd, file, 0) < 0 && errno != ENOENT) {
				r = cb_error_errno(err, errno, "remove lease %s", file);
				goto out;
			}
			break;
		}
	}
out:
	lease_list_release(&ls);
	netstate_release(&st);
	return r;
}

int cb_net_detach(const struct cb_net_config *cfg, const struct cb_net_lease *lease,
		  struct cb_error *err)
{
	if (!lease || !lease->id[0])
		return 0;
	_cleanup_nl_ struct cb_nl *nl = NULL;
	int r = cb_nl_open(&nl);
	if (r < 0)
		return cb_error_errno(err, -r, "netlink socket");
	/* While the container lives (a failed start, a disconnect), delete the
	 * host end, which deletes the pair. Once it has exited, its namespace
	 * dies and takes the pair with it: deleting it here would only make
	 * the caller wait ~20 ms for an RCU barrier the kernel does anyway. A
	 * namespace someone keeps open leaves a veth whose lease is gone; the
	 * next cleanup sweep (cb_net_cleanup) removes it. */
	if (!lease->connected || lease_alive(lease)) {
		r = del_link_by_name(nl, lease->veth);
		if (r < 0)
			return cb_error_errno(err, -r, "delete %s", lease->veth);
	}
	if (lease->n_ports) {
		char tag[CB_NET_ID_MAX + 8];
		snprintf(tag, sizeof(tag), "ctr:%s", lease->id);
		r = cb_nft_del_tagged(tag, err);
		if (r < 0)
			return r;
	}
	return drop_lease(cfg->run_dir, lease, nl, err);
}

int cb_net_release(const char *run_dir, const char *id, struct cb_error *err)
{
	struct netstate st;
	int r = netstate_lock(run_dir, &st, err);
	if (r < 0)
		return r;
	struct lease_list ls = {0};
	r = load_leases(st.leases_fd, &ls);
	netstate_release(&st);
	if (r < 0) {
		lease_list_release(&ls);
		return cb_error_errno(err, -r, "read leases");
	}
	struct cb_net_config cfg;
	cb_net_config_init(&cfg);
	cfg.run_dir = run_dir;
	for (size_t i = 0; i < ls.n && r >= 0; i++)
		if (strcmp(ls.v[i].id, id) == 0)
			r = cb_net_detach(&cfg, &ls.v[i], err);
	lease_list_release(&ls);
	return r;
}

/* Crash cleanup. */

struct sweep {
	struct cb_nl *nl;
	const struct lease_list *live;
	const struct cb_network *nets;
	size_t n_nets;
	unsigned removed;
	int del[256];
	size_t n_del;
};

static bool live_has_veth(const struct lease_list *ls, const char *veth)
{
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(ls->v[i].veth, veth) == 0)
			return true;
	return false;
}

static int sweep_link(const struct cb_nl_link *link, void *userdata)
{
	struct sweep *s = userdata;
	bool ours = false;
	if (link->kind && strcmp(link->kind, "veth") == 0 &&
	    strncmp(link->name, VETH_PREFIX, strlen(VETH_PREFIX)) == 0 && strlen(link->name) == 11)
		ours = !live_has_veth(s->live, link->name);
	/* A cowbox bridge no network names any more (its network was removed
	 * by hand, or its definition lost). */
	if (link->kind && strcmp(link->kind, "bridge") == 0 &&
	    strncmp(link->name, "cowbox", 6) == 0) {
		ours = true;
		for (size_t i = 0; i < s->n_nets; i++)
			if (strcmp(s->nets[i].bridge, link->name) == 0)
				ours = false;
	}
	if (ours && s->n_del < ELEMENTSOF(s->del))
		s->del[s->n_del++] = link->ifindex;
	return 0;
}

struct tag_sweep {
	const struct lease_list *live;
	const struct cb_network *nets;
	size_t n_nets;
	char (*stale)[CB_NET_ID_MAX + 8];
	size_t n, cap;
};

static int sweep_tag(const char *tag, void *userdata)
{
	struct tag_sweep *t = userdata;
	bool stale = false;
	if (strncmp(tag, "ctr:", 4) == 0) {
		stale = true;
		for (size_t i = 0; i < t->live->n; i++)
			if (strcmp(t->live->v[i].id, tag + 4) == 0)
				stale = false;
	} else if (strncmp(tag, "net:", 4) == 0) {
		stale = true;
		for (size_t i = 0; i < t->n_nets; i++)
			if (strcmp(t->nets[i].name, tag + 4) == 0)
				stale = false;
	}
	if (!stale)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->stale[i], tag) == 0)
			return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		void *v = realloc(t->stale, cap * sizeof(*t->stale));
		if (!v)
			return -ENOMEM;
		t->stale = v;
		t->cap = cap;
	}
	snprintf(t->stale[t->n++], sizeof(*t->stale), "%s", tag);
	return 0;
}

static int find_tag(const char *tag, void *userdata)
{
	return strcmp(tag, userdata) == 0 ? -EEXIST : 0;
}

static bool has_tag(const char *tag)
{
	return cb_nft_foreach_tag(find_tag, (void *)tag, NULL) == -EEXIST;
}

int cb_net_cleanup(const char *networks_dir, const char *run_dir, unsigned *ret_removed,
		   struct cb_error *err)
{
	_cleanup_free_ struct cb_network *nets = NULL;
	size_t n_nets = 0;
	int r = cb_network_list(networks_dir, &nets, &n_nets, err);
	if (r < 0)
		return r;
	struct netstate st;
	r = netstate_lock(run_dir, &st, err);
	if (r < 0)
		return r;
	_cleanup_nl_ struct cb_nl *nl = NULL;
	struct lease_list ls = {0};
	struct tag_sweep tags = {.live = &ls, .nets = nets, .n_nets = n_nets};
	unsigned reaped = 0;
	r = cb_nl_open(&nl);
	if (r < 0) {
		cb_error_errno(err, -r, "netlink socket");
		goto out;
	}
	r = load_live_leases(&st, nl, &ls, &reaped, err);
	if (r < 0)
		goto out;
	struct sweep s = {.nl = nl, .live = &ls, .nets = nets, .n_nets = n_nets};
	r = cb_nl_link_foreach(nl, sweep_link, &s);
	if (r < 0) {
		cb_error_errno(err, -r, "list links");
		goto out;
	}
	for (size_t i = 0; i < s.n_del; i++)
		if (cb_nl_link_del(nl, s.del[i]) == 0)
			s.removed++;
	r = cb_nft_foreach_tag(sweep_tag, &tags, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < tags.n && r >= 0; i++)
		r = cb_nft_del_tagged(tags.stale[i], err);
	if (r < 0)
		goto out;
	/* A network whose bridge is up but whose rules someone flushed gets
	 * them back. */
	for (size_t i = 0; i < n_nets && r >= 0; i++) {
		char tag[CB_NET_NAME_MAX + 8];
		snprintf(tag, sizeof(tag), "net:%s", nets[i].name);
		if (cb_nl_link_index(nl, nets[i].bridge) < 0 || has_tag(tag))
			continue;
		r = cb_nft_add_network(nets[i].name, nets[i].subnet.addr, nets[i].subnet.prefixlen,
				       nets[i].bridge, err);
	}
	if (r < 0)
		goto out;
	if (count_tagged_rules() == 0)
		r = cb_nft_del_table(err);
	if (ret_removed)
		*ret_removed = reaped + s.removed + (unsigned)tags.n;
out:
	free(tags.stale);
	lease_list_release(&ls);
	netstate_release(&st);
	return r;
}

/* Definitions under the lock. */

int cb_network_create(const char *networks_dir, const char *run_dir, const char *name,
		      const char *subnet, struct cb_network *ret, struct cb_error *err)
{
	if (!valid_network_name(name) || strcmp(name, "none") == 0 || strcmp(name, "host") == 0 ||
	    strcmp(name, "bridge") == 0)
		return cb_error_set(err, EINVAL,
				    "%s: not a valid network name (letters, digits, _ . -; at "
				    "most %d; not none, host or bridge)",
				    name, CB_NET_NAME_MAX);
	struct cb_network n = {0};
	snprintf(n.name, sizeof(n.name), "%s", name);
	if (subnet) {
		int r = cb_subnet_parse(subnet, &n.subnet, err);
		if (r < 0)
			return r;
		if (n.subnet.prefixlen < 8 || n.subnet.prefixlen > 30)
			return cb_error_set(err, EINVAL,
					    "%s: prefix length must be 8 to 30 (room for a gateway "
					    "and containers)",
					    subnet);
	}
	int r = cb_mkdirat_p(AT_FDCWD, networks_dir, 0755);
	if (r < 0)
		return cb_error_errno(err, -r, "create %s", networks_dir);
	struct netstate st;
	r = netstate_lock(run_dir, &st, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct cb_network *nets = NULL;
	size_t n_nets = 0;
	_cleanup_close_ int dfd = -1;
	r = cb_network_list(networks_dir, &nets, &n_nets, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n_nets; i++)
		if (strcmp(nets[i].name, name) == 0) {
			r = cb_error_set(err, EEXIST, "network %s already exists", name);
			goto out;
		}
	if (subnet) {
		for (size_t i = 0; i < n_nets; i++)
			if (cb_subnet_overlaps(&n.subnet, &nets[i].subnet)) {
				char sn[32];
				cb_subnet_format(&nets[i].subnet, sn, sizeof(sn));
				r = cb_error_set(err, EADDRINUSE,
						 "subnet %s overlaps network %s (%s)", subnet,
						 nets[i].name, sn);
				goto out;
			}
	} else {
		struct cb_subnet pool;
		cb_subnet_parse(AUTO_POOL, &pool, NULL);
		bool found = false;
		for (uint32_t k = 0; k < 256 && !found; k++) {
			struct cb_subnet c = {.addr.s_addr =
						  htonl(ntohl(pool.addr.s_addr) + (k << 8)),
					      .prefixlen = 24};
			found = true;
			for (size_t i = 0; i < n_nets; i++)
				if (cb_subnet_overlaps(&c, &nets[i].subnet))
					found = false;
			if (found)
				n.subnet = c;
		}
		if (!found) {
			r = cb_error_set(err, ENOSPC, "no free /24 left in %s: give --subnet",
					 AUTO_POOL);
			goto out;
		}
	}
	n.gateway.s_addr = htonl(ntohl(n.subnet.addr.s_addr) + 1);
	for (unsigned k = 1; !n.bridge[0]; k++) {
		char b[IFNAMSIZ];
		snprintf(b, sizeof(b), "cowbox%u", k);
		bool taken = false;
		for (size_t i = 0; i < n_nets; i++)
			taken |= strcmp(nets[i].bridge, b) == 0;
		if (!taken)
			memcpy(n.bridge, b, sizeof(b));
	}
	char sn[32], gw[INET_ADDRSTRLEN], text[512];
	cb_subnet_format(&n.subnet, sn, sizeof(sn));
	inet_ntop(AF_INET, &n.gateway, gw, sizeof(gw));
	int len = snprintf(text, sizeof(text), "name=%s\nsubnet=%s\ngateway=%s\nbridge=%s\n",
			   n.name, sn, gw, n.bridge);
	dfd = open(networks_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = cb_error_errno(err, errno, "open %s", networks_dir);
		goto out;
	}
	r = cb_write_file_atomic_at(dfd, name, text, (size_t)len, 0644);
	if (r < 0) {
		cb_error_errno(err, -r, "write %s/%s", networks_dir, name);
		goto out;
	}
	if (ret)
		*ret = n;
out:
	netstate_release(&st);
	return r;
}

int cb_network_remove(const char *networks_dir, const char *run_dir, const char *name,
		      struct cb_error *err)
{
	struct cb_network n;
	int r = cb_network_get(networks_dir, name, &n, err);
	if (r < 0)
		return r;
	struct netstate st;
	r = netstate_lock(run_dir, &st, err);
	if (r < 0)
		return r;
	_cleanup_nl_ struct cb_nl *nl = NULL;
	struct lease_list ls = {0};
	r = cb_nl_open(&nl);
	if (r < 0) {
		cb_error_errno(err, -r, "netlink socket");
		goto out;
	}
	r = load_live_leases(&st, nl, &ls, NULL, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < ls.n; i++)
		if (strcmp(ls.v[i].network, name) == 0) {
			r = cb_error_set(err, EBUSY, "network %s is in use by container %s", name,
					 ls.v[i].name[0] ? ls.v[i].name : ls.v[i].id);
			goto out;
		}
	if (!n.builtin) {
		_cleanup_close_ int dfd = open(networks_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || unlinkat(dfd, name, 0) < 0) {
			r = cb_error_errno(err, errno, "remove %s/%s", networks_dir, name);
			goto out;
		}
	}
	r = teardown_network(nl, n.name, n.bridge, err);
	if (r >= 0 && count_tagged_rules() == 0)
		r = cb_nft_del_table(err);
out:
	lease_list_release(&ls);
	netstate_release(&st);
	return r;
}

int cb_network_prune(const char *networks_dir, const char *run_dir, char ***ret_removed,
		     struct cb_error *err)
{
	_cleanup_free_ struct cb_network *nets = NULL;
	size_t n_nets = 0;
	int r = cb_network_list(networks_dir, &nets, &n_nets, err);
	if (r < 0)
		return r;
	_cleanup_strv_ char **removed = calloc(n_nets + 1, sizeof(char *));
	if (!removed)
		return cb_error_errno(err, ENOMEM, "network prune");
	size_t n_removed = 0;
	struct netstate st;
	r = netstate_lock(run_dir, &st, err);
	if (r < 0)
		return r;
	_cleanup_nl_ struct cb_nl *nl = NULL;
	_cleanup_close_ int dfd = -1;
	struct lease_list ls = {0};
	r = cb_nl_open(&nl);
	if (r < 0) {
		cb_error_errno(err, -r, "netlink socket");
		goto out;
	}
	r = load_live_leases(&st, nl, &ls, NULL, err);
	if (r < 0)
		goto out;
	dfd = networks_dir ? open(networks_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	for (size_t i = 0; i < n_nets && r >= 0; i++) {
		const struct cb_network *n = &nets[i];
		if (network_in_use(&ls, n->name))
			continue;
		if (!n->builtin) {
			if (dfd < 0 || unlinkat(dfd, n->name, 0) < 0) {
				r = cb_error_errno(err, errno, "remove %s/%s", networks_dir,
						   n->name);
				break;
			}
			if (!(removed[n_removed++] = strdup(n->name))) {
				r = cb_error_errno(err, ENOMEM, "network prune");
				break;
			}
		}
		r = teardown_network(nl, n->name, n->bridge, err);
	}
	if (r >= 0 && count_tagged_rules() == 0)
		r = cb_nft_del_table(err);
	if (r >= 0 && ret_removed)
		*ret_removed = TAKE_PTR(removed);
out:
	lease_list_release(&ls);
	netstate_release(&st);
	return r;
}

/* /etc/hosts and namespaces. */

int cb_net_hosts(const struct cb_net_lease *lease, const char *hostname, const char *name,
		 char **ret)
{
	char addr[INET_ADDRSTRLEN] = "127.0.1.1", gw[INET_ADDRSTRLEN] = "";
	if (lease && lease->id[0]) {
		inet_ntop(AF_INET, &lease->addr, addr, sizeof(addr));
		inet_ntop(AF_INET, &lease->gateway, gw, sizeof(gw));
	}
	const char *extra = name && hostname && strcmp(name, hostname) != 0 ? name : NULL;
	char *s = NULL;
	int n = asprintf(&s,
			 "127.0.0.1\tlocalhost\n"
			 "::1\tlocalhost ip6-localhost ip6-loopback\n"
			 "%s\t%s%s%s\n"
			 "%s%s",
			 addr, hostname ? hostname : "localhost", extra ? " " : "",
			 extra ? extra : "", gw, gw[0] ? "\thost.containers.internal\n" : "");
	if (n < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int cb_net_open_netns(const char *ref, cb_net_lookup_fn lookup, void *userdata, int *ret_fd,
		      struct cb_error *err)
{
	const char *path = NULL, *container = NULL;
	char buf[64];
	if (strncmp(ref, "ns:", 3) == 0)
		path = ref + 3;
	else if (strncmp(ref, "container:", 10) == 0)
		container = ref + 10;
	else if (ref[0] == '/' || ref[0] == '.')
		path = ref;
	else
		container = ref;
	if (container) {
		pid_t pid;
		if (all_digits(container)) {
			pid = (pid_t)atoi(container);
		} else if (!lookup) {
			return cb_error_set(err, ESRCH,
					    "%s: no such container (give a pid or a netns path)",
					    container);
		} else {
			int r = lookup(container, &pid, userdata);
			if (r < 0)
				return cb_error_errno(err, -r, "container %s", container);
		}
		snprintf(buf, sizeof(buf), "/proc/%d/ns/net", (int)pid);
		path = buf;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cb_error_errno(err, errno, "%s: open %s", ref, path);
	int type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		close(fd);
		return cb_error_set(err, EINVAL, "%s: %s is not a network namespace", ref, path);
	}
	*ret_fd = fd;
	return 0;
}

int cb_net_move(const char *iface, int from_fd, int to_fd, struct cb_error *err)
{
	_cleanup_nl_ struct cb_nl *from = NULL, *to = NULL;
	int r = from_fd < 0 ? cb_nl_open(&from) : cb_nl_open_netns(from_fd, &from);
	if (r < 0)
		return cb_error_errno(err, -r, "netlink socket");
	int idx = cb_nl_link_index(from, iface);
	if (idx == -ENODEV)
		return cb_error_set(err, ENODEV, "interface %s: no such interface%s", iface,
				    from_fd < 0 ? "" : " in the source container");
	if (idx < 0)
		return cb_error_errno(err, -idx, "interface %s", iface);
	if (idx == 1)
		return cb_error_set(err, EINVAL, "interface %s: loopback cannot move", iface);
	r = cb_nl_link_set_netns(from, idx, to_fd, NULL);
	if (r == -EEXIST)
		return cb_error_set(err, EEXIST, "interface %s: the target has one of that name",
				    iface);
	if (r < 0)
		return cb_error_errno(err, -r, "interface %s: move", iface);
	r = cb_nl_open_netns(to_fd, &to);
	if (r < 0)
		return cb_error_errno(err, -r, "netlink socket in the target");
	idx = cb_nl_link_index(to, iface);
	if (idx < 0)
		return cb_error_errno(err, -idx, "interface %s: find it after the move", iface);
	r = cb_nl_link_set_up(to, idx, true);
	if (r < 0)
		return cb_error_errno(err, -r, "interface %s: bring up", iface);
	return 0;
}

int cb_net_dev_totals(const char *text, int64_t *ret_rx, int64_t *ret_tx)
{
	/* Two header lines, then "  NAME: rx_bytes packets errs drop fifo
	 * frame compressed multicast tx_bytes ...". */
	int64_t rx = 0, tx = 0;
	bool header = false;
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *colon = strchr(p, ':'), *eol = strchr(p, '\n');
		if (!colon || (eol && colon > eol)) {
			header |= strncmp(p, "Inter-", 6) == 0;
			continue;
		}
		const char *name = p;
		while (*name == ' ')
			name++;
		if (colon - name == 2 && strncmp(name, "lo", 2) == 0)
			continue;
		unsigned long long v[9];
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) != 9)
			return -EINVAL;
		rx += (int64_t)v[0];
		tx += (int64_t)v[8];
	}
	if (!header)
		return -EINVAL;
	*ret_rx = rx;
	*ret_tx = tx;
	return 0;
}
