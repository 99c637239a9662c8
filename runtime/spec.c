#include "spec.h"
#include "caps.h"
#include "fsutil.h"
#include "macro.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

void cb_spawn_spec_init(struct cb_spawn_spec *spec)
{
	*spec = (struct cb_spawn_spec){
	    .ns_create = CB_NS_DEFAULT,
	    .cpu_period_us = 100000,
	    .caps = cb_caps_default(),
	    .no_new_privs = true,
	    .seccomp = CB_SECCOMP_DEFAULT,
	    .stdio = {-1, -1, -1},
	};
}

void cb_spawn_spec_release(struct cb_spawn_spec *spec)
{
	if (!spec)
		return;
	for (size_t i = 0; i < spec->n_env; i++)
		free(spec->env[i]);
	free(spec->env);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		free(spec->mounts[i].source);
		free(spec->mounts[i].target);
	}
	free(spec->mounts);
	*spec = (struct cb_spawn_spec){0};
}

static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

const struct cb_idmap *cb_spawn_spec_gidmap(const struct cb_spawn_spec *spec, size_t *ret_n)
{
	*ret_n = spec->n_gidmap ? spec->n_gidmap : spec->n_uidmap;
	return spec->n_gidmap ? spec->gidmap : spec->uidmap;
}

const char *cb_spawn_spec_getenv(const struct cb_spawn_spec *spec, const char *key)
{
	size_t n = strlen(key);
	for (size_t i = 0; i < spec->n_env; i++)
		if (strncmp(spec->env[i], key, n) == 0 && spec->env[i][n] == '=')
			return spec->env[i] + n + 1;
	return NULL;
}

int cb_spawn_spec_add_env(struct cb_spawn_spec *spec, const char *kv)
{
	_cleanup_free_ char *copy = NULL;
	size_t klen = key_len(kv);
	if (klen == 0)
		return -EINVAL;
	if (kv[klen] != '=') {
		const char *v = getenv(kv);
		if (!v)
			return 0;
		if (asprintf(&copy, "%s=%s", kv, v) < 0)
			return -ENOMEM;
	} else if (!(copy = strdup(kv)))
		return -ENOMEM;
	for (size_t i = 0; i < spec->n_env; i++)
		if (key_len(spec->env[i]) == klen && strncmp(spec->env[i], copy, klen) == 0) {
			free(spec->env[i]);
			spec->env[i] = TAKE_PTR(copy);
			return 0;
		}
	char **env = realloc(spec->env, (spec->n_env + 2) * sizeof(char *));
	if (!env)
		return -ENOMEM;
	spec->env = env;
	env[spec->n_env++] = TAKE_PTR(copy);
	env[spec->n_env] = NULL;
	return 0;
}

int cb_spawn_spec_add_env_file(struct cb_spawn_spec *spec, const char *path, struct cb_error *err)
{
	_cleanup_free_ char *data = NULL;
	int r = cb_read_file_at(AT_FDCWD, path, 1 << 20, &data, NULL);
	if (r < 0)
		return cb_error_errno(err, -r, "env file %s", path);
	char *save = NULL;
	unsigned line = 0;
	for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		line++;
		while (isspace((unsigned char)*l))
			l++;
		size_t n = strlen(l);
		while (n > 0 && isspace((unsigned char)l[n - 1]))
			l[--n] = '\0';
		if (!*l || *l == '#')
			continue;
		r = cb_spawn_spec_add_env(spec, l);
		if (r < 0)
			return cb_error_errno(err, -r, "env file %s: line %u", path, line);
	}
	return 0;
}

int cb_spawn_spec_add_mount(struct cb_spawn_spec *spec, enum cb_mount_type type, const char *source,
			    const char *target, bool readonly)
{
	if (!target || target[0] != '/')
		return -EINVAL;
	struct cb_mount *m = realloc(spec->mounts, (spec->n_mounts + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	spec->mounts = m;
	m = &m[spec->n_mounts];
	*m = (struct cb_mount){.type = type, .readonly = readonly};
	m->target = strdup(target);
	m->source = source ? strdup(source) : NULL;
	if (!m->target || (source && !m->source)) {
		free(m->target);
		free(m->source);
		return -ENOMEM;
	}
	spec->n_mounts++;
	return 0;
}

static bool mount_flag_value(const char *v, bool *ret)
{
	if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*ret = true;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*ret = false;
	else
		return false;
	return true;
}

int cb_spawn_spec_add_mount_csv(struct cb_spawn_spec *spec, const char *csv, struct cb_error *err)
{
	_cleanup_free_ char *copy = strdup(csv);
	if (!copy)
		return -ENOMEM;
	const char *type = NULL, *source = NULL, *target = NULL;
	bool readonly = false;
	char tmpfs_opts[96] = "";
	size_t tl = 0;
	for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (v)
			*v++ = '\0';
		if (strcmp(kv, "type") == 0 && v)
			type = v;
		else if ((strcmp(kv, "source") == 0 || strcmp(kv, "src") == 0) && v)
			source = v;
		else if ((strcmp(kv, "target") == 0 || strcmp(kv, "destination") == 0 ||
			  strcmp(kv, "dst") == 0) &&
			 v)
			target = v;
		else if (strcmp(kv, "readonly") == 0 || strcmp(kv, "ro") == 0) {
			if (!mount_flag_value(v, &readonly))
				return cb_error_set(err, EINVAL,
						    "--mount %s: %s=%s: expected true or false",
						    csv, kv, v);
		} else if (strcmp(kv, "bind-propagation") == 0 && v) {
			/* A volume is a private copy of the host's mount tree. */
			if (strcmp(v, "rprivate") != 0 && strcmp(v, "private") != 0)
				return cb_error_set(
				    err, EINVAL,
				    "--mount %s: bind-propagation=%s: only rprivate "
				    "(the container never shares mount events)",
				    csv, v);
		} else if ((strcmp(kv, "tmpfs-size") == 0 || strcmp(kv, "tmpfs-mode") == 0) && v) {
			int64_t n;
			char *end;
			bool size = kv[6] == 's';
			bool ok =
			    size ? cb_parse_mem_size(v, &n) == 0 && n > 0
				 : (n = strtoll(v, &end, 8), *v && !*end && n >= 0 && n <= 07777);
			if (!ok)
				return cb_error_set(
				    err, EINVAL, "--mount %s: %s=%s: expected %s", csv, kv, v,
				    size ? "a size like 64m" : "an octal mode like 1777");
			int w = snprintf(tmpfs_opts + tl, sizeof(tmpfs_opts) - tl,
					 size ? "%ssize=%" PRId64 : "%smode=%04" PRIo64,
					 tl ? "," : "", n);
			if (w < 0 || (size_t)w >= sizeof(tmpfs_opts) - tl)
				return cb_error_set(err, EINVAL, "--mount %s: too many options",
						    csv);
			tl += (size_t)w;
		} else
			return cb_error_set(err, EINVAL, "--mount %s: unknown or empty option %s",
					    csv, kv);
	}
	if (!type || (strcmp(type, "bind") != 0 && strcmp(type, "tmpfs") != 0))
		return cb_error_set(err, EINVAL,
				    "--mount %s: expected type=bind or type=tmpfs (there are no "
				    "named volumes: bind a host directory)",
				    csv);
	if (!target || target[0] != '/' || strstr(target, ".."))
		return cb_error_set(err, EINVAL, "--mount %s: expected an absolute target=/PATH",
				    csv);
	bool bind = strcmp(type, "bind") == 0;
	if (bind && (!source || source[0] != '/'))
		return cb_error_set(err, EINVAL,
				    "--mount %s: a bind needs an absolute source=/HOST", csv);
	if (bind && tl)
		return cb_error_set(err, EINVAL, "--mount %s: tmpfs-* options on a bind", csv);
	if (!bind && source)
		return cb_error_set(err, EINVAL, "--mount %s: a tmpfs has no source", csv);
	return cb_spawn_spec_add_mount(spec, bind ? CB_MOUNT_BIND : CB_MOUNT_TMPFS,
				       bind ? source : (tl ? tmpfs_opts : NULL), target, readonly);
}

int cb_parse_mem_size(const char *s, int64_t *ret_bytes)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	double mult = 1;
	switch (tolower((unsigned char)*end)) {
	case 'k':
		mult = 1024.0;
		end++;
		break;
	case 'm':
		mult = 1024.0 * 1024;
		end++;
		break;
	case 'g':
		mult = 1024.0 * 1024 * 1024;
		end++;
		break;
	case 't':
		mult = 1024.0 * 1024 * 1024 * 1024;
		end++;
		break;
	default:
		break;
	}
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end)
		return -EINVAL;
	v *= mult;
	if (v >= 9.2e18)
		return -ERANGE;
	if (v < 1)
		return -EINVAL;
	*ret_bytes = (int64_t)v;
	return 0;
}

int cb_parse_cpus(const char *s, int64_t period_us, int64_t *ret_quota_us)
{
	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !(v > 0) || v > 1e6)
		return -EINVAL;
	int64_t q = (int64_t)(v * (double)period_us + 0.5);
	if (q < 1000) /* the kernel's minimum quota is 1 ms */
		return -ERANGE;
	*ret_quota_us = q;
	return 0;
}

static const struct {
	const char *name;
	unsigned bit;
} ns_names[] = {
    {"pid", CB_NS_PID},	    {"mnt", CB_NS_MNT},	      {"mount", CB_NS_MNT},
    {"uts", CB_NS_UTS},	    {"ipc", CB_NS_IPC},	      {"net", CB_NS_NET},
    {"network", CB_NS_NET}, {"cgroup", CB_NS_CGROUP}, {"user", CB_NS_USER},
};

unsigned cb_ns_from_name(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(ns_names); i++)
		if (strcmp(ns_names[i].name, name) == 0)
			return ns_names[i].bit;
	return 0;
}

int cb_ns_index(unsigned ns_bit)
{
	return ns_bit ? __builtin_ctz(ns_bit) : -1;
}

const char *cb_ns_name(unsigned ns_bit)
{
	for (size_t i = 0; i < ELEMENTSOF(ns_names); i++)
		if (ns_names[i].bit == ns_bit)
			return ns_names[i].name;
	return "?";
}

unsigned cb_spawn_spec_own_ns(const struct cb_spawn_spec *spec)
{
	unsigned own = spec->ns_create;
	for (unsigned ns = CB_NS_PID; ns <= CB_NS_USER; ns <<= 1)
		if (spec->ns_path[cb_ns_index(ns)])
			own &= ~ns;
	if (spec->n_uidmap > 0)
		own |= CB_NS_USER;
	return own;
}

int cb_parse_ns_list(const char *s, unsigned *ret_mask)
{
	unsigned mask = 0;
	const char *p = s;
	while (*p) {
		char name[16];
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof(name))
			return -EINVAL;
		memcpy(name, p, n);
		name[n] = '\0';
		unsigned bit = cb_ns_from_name(name);
		if (!bit)
			return -EINVAL;
		mask |= bit;
		p += n;
		if (*p == ',' && !*++p)
			return -EINVAL;
	}
	*ret_mask = mask;
	return 0;
}

static int parse_u32(const char **p, uint32_t *ret)
{
	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long v = strtoul(*p, &end, 10);
	if (errno || v > UINT32_MAX)
		return -EINVAL;
	*p = end;
	*ret = (uint32_t)v;
	return 0;
}

int cb_parse_idmap(const char *s, struct cb_idmap *map, size_t *n_map)
{
	const char *p = s;
	size_t n = *n_map;
	do {
		struct cb_idmap m;
		if (parse_u32(&p, &m.inside) < 0 || *p++ != ':' || parse_u32(&p, &m.outside) < 0 ||
		    *p++ != ':' || parse_u32(&p, &m.count) < 0 || m.count == 0)
			return -EINVAL;
		if ((uint64_t)m.inside + m.count > UINT32_MAX ||
		    (uint64_t)m.outside + m.count > UINT32_MAX)
			return -EINVAL;
		if (*p && *p != ',')
			return -EINVAL;
		if (n >= CB_IDMAP_MAX)
			return -E2BIG;
		map[n++] = m;
	} while (*p && *++p);
	if (p > s && p[-1] == ',')
		return -EINVAL;
	*n_map = n;
	return 0;
}

bool cb_cpuset_valid(const char *s)
{
	const char *p = s;
	if (!*p)
		return false;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return false;
			while (isdigit((unsigned char)*p))
				p++;
		}
		if (*p == ',') {
			p++;
			if (!*p)
				return false;
		} else if (*p)
			return false;
	}
	return true;
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
    {"core", RLIMIT_CORE},	   {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},	   {"fsize", RLIMIT_FSIZE},
    {"locks", RLIMIT_LOCKS},	   {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},	   {"nproc", RLIMIT_NPROC},
    {"rss", RLIMIT_RSS},	   {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},	   {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

const char *cb_rlimit_name(int resource)
{
	for (size_t i = 0; i < ELEMENTSOF(rlimit_names); i++)
		if (rlimit_names[i].resource == resource)
			return rlimit_names[i].name;
	return "?";
}

static int parse_rlim(const char *s, size_t len, uint64_t *ret)
{
	if ((len == 9 && strncmp(s, "unlimited", 9) == 0) ||
	    (len == 2 && strncmp(s, "-1", 2) == 0)) {
		*ret = RLIM_INFINITY;
		return 0;
	}
	if (len == 0 || len > 20)
		return -EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

int cb_parse_ulimit(const char *s, struct cb_rlimit *ret)
{
	const char *eq = strchr(s, '=');
	if (!eq)
		return -EINVAL;
	int resource = -1;
	for (size_t i = 0; i < ELEMENTSOF(rlimit_names); i++)
		if (strlen(rlimit_names[i].name) == (size_t)(eq - s) &&
		    strncmp(rlimit_names[i].name, s, (size_t)(eq - s)) == 0)
			resource = rlimit_names[i].resource;
	if (resource < 0)
		return -EINVAL;
	const char *v = eq + 1, *colon = strchr(v, ':');
	struct cb_rlimit r = {.resource = resource};
	if (parse_rlim(v, colon ? (size_t)(colon - v) : strlen(v), &r.soft) < 0)
		return -EINVAL;
	r.hard = r.soft;
	if (colon && parse_rlim(colon + 1, strlen(colon + 1), &r.hard) < 0)
		return -EINVAL;
	if (r.soft > r.hard)
		return -EINVAL;
	*ret = r;
	return 0;
}

/* Docker's (runc's) namespaced sysctls: these and fs.mqueue.* follow the
 * IPC namespace, net.* the network namespace. */
static const char *const ipc_sysctls[] = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",		"kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shm_rmid_forced", "kernel.shmmni",
};

/* NAME of NAME=VALUE in its dotted form (into key) and as a path under
 * /proc/sys (into path, when not NULL). A name with a / is in path form:
 * net/ipv4/conf/eth0.5/forwarding names a key whose parts hold dots. */
static int sysctl_name(const char *kv, char key[static 256], char *path, size_t path_size)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return -EINVAL;
	size_t n = (size_t)(eq - kv);
	if (n >= 256)
		return -ENAMETOOLONG;
	bool slashes = memchr(kv, '/', n) != NULL;
	char sep = slashes ? '/' : '.';
	if (kv[0] == sep || kv[n - 1] == sep)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = kv[i];
		if (!isalnum((unsigned char)ch) && !strchr("._-/", ch))
			return -EINVAL;
		if (ch == sep && kv[i + 1] == sep)
			return -EINVAL; /* an empty part */
		if (ch == '.' && i + 1 < n && kv[i + 1] == '.')
			return -EINVAL;
		key[i] = ch == '/' ? '.' : ch;
	}
	key[n] = '\0';
	if (path) {
		int w = snprintf(path, path_size, "/proc/sys/%.*s", (int)n, kv);
		if (w < 0 || (size_t)w >= path_size)
			return -ENAMETOOLONG;
		if (!slashes)
			for (char *p = path + strlen("/proc/sys/"); *p; p++)
				if (*p == '.')
					*p = '/';
	}
	return 0;
}

int cb_sysctl_path(const char *kv, char *path, size_t size)
{
	char key[256];
	return sysctl_name(kv, key, path, size);
}

int cb_sysctl_check(const char *kv, unsigned own_ns, struct cb_error *err)
{
	char key[256];
	const char *eq = strchr(kv, '=');
	if (!eq || !eq[1])
		return cb_error_set(err, EINVAL, "--sysctl %s: expected NAME=VALUE", kv);
	if (sysctl_name(kv, key, NULL, 0) < 0)
		return cb_error_set(err, EINVAL, "--sysctl %s: not a sysctl name", kv);
	if (strchr(eq + 1, '\n'))
		return cb_error_set(err, EINVAL, "--sysctl %s: one line only", kv);
	bool ipc = strncmp(key, "fs.mqueue.", 10) == 0;
	for (size_t i = 0; i < ELEMENTSOF(ipc_sysctls) && !ipc; i++)
		ipc = strcmp(key, ipc_sysctls[i]) == 0;
	if (ipc && !(own_ns & CB_NS_IPC))
		return cb_error_set(err, EINVAL,
				    "--sysctl %s: needs the container's own IPC namespace "
				    "(it would change the host's or another's)",
				    kv);
	if (ipc)
		return 0;
	if (strncmp(key, "net.", 4) == 0) {
		if (!(own_ns & CB_NS_NET))
			return cb_error_set(err, EINVAL,
					    "--sysctl %s: needs the container's own network "
					    "namespace (it would change the host's or another's)",
					    kv);
		return 0;
	}
	if (strcmp(key, "kernel.domainname") == 0) {
		if (!(own_ns & CB_NS_UTS))
			return cb_error_set(err, EINVAL,
					    "--sysctl %s: needs the container's own UTS namespace",
					    kv);
		return 0;
	}
	if (strcmp(key, "kernel.hostname") == 0)
		return cb_error_set(err, EINVAL, "--sysctl %s: use --hostname", kv);
	return cb_error_set(err, EINVAL,
			    "--sysctl %s: not namespaced: it would change the host's "
			    "(allowed: net.*, kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, "
			    "kernel.domainname)",
			    kv);
}

uint64_t cb_cpu_shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	/* A curve through (2, 1), (1024, 100) and (262144, 10000) in log
	 * space: docker's default 1024 shares is v2's default weight 100. */
	double l = log2((double)shares);
	double w = ceil(pow(10.0, (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0));
	return w < 1 ? 1 : w > 10000 ? 10000 : (uint64_t)w;
}

bool cb_ip_valid(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int cb_parse_add_host(const char *s, char *name, size_t name_size, char *ip, size_t ip_size)
{
	/* NAME never holds ':' or '=': the first of them ends it. */
	size_t n = strcspn(s, ":=");
	if (n == 0 || !s[n] || n >= name_size)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr(".-_", s[i]))
			return -EINVAL;
	const char *a = s + n + 1;
	size_t alen = strlen(a);
	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a++;
		alen -= 2;
	}
	if (alen == 0 || alen >= ip_size)
		return -EINVAL;
	memcpy(name, s, n);
	name[n] = '\0';
	memcpy(ip, a, alen);
	ip[alen] = '\0';
	return cb_ip_valid(ip) ? 0 : -EINVAL;
}

static bool line_is(const char *line, size_t len, const char *key)
{
	size_t k = strlen(key);
	return len > k && strncmp(line, key, k) == 0 && (line[k] == ' ' || line[k] == '\t');
}

static int append(char *buf, size_t size, size_t *pos, const char *s, size_t len)
{
	if (*pos + len + 1 > size)
		return -ENOSPC;
	memcpy(buf + *pos, s, len);
	*pos += len;
	buf[*pos] = '\0';
	return 0;
}

static int append_list(char *buf, size_t size, size_t *pos, const char *key, const char *const *v,
		       size_t n, bool one_line)
{
	for (size_t i = 0; i < n; i++) {
		bool first = i == 0 || !one_line;
		int r = 0;
		if (first)
			r = append(buf, size, pos, key, strlen(key));
		if (r >= 0)
			r = append(buf, size, pos, " ", 1);
		if (r >= 0)
			r = append(buf, size, pos, v[i], strlen(v[i]));
		if (r >= 0 && (!one_line || i + 1 == n))
			r = append(buf, size, pos, "\n", 1);
		if (r < 0)
			return r;
	}
	return 0;
}

int cb_resolv_conf(const char *host, const struct cb_spawn_spec *spec, char *buf, size_t size)
{
	size_t pos = 0;
	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (const char *p = host ? host : ""; *p;) {
		size_t len = strcspn(p, "\n");
		bool drop = (spec->n_dns && line_is(p, len, "nameserver")) ||
			    (spec->n_dns_search &&
			     (line_is(p, len, "search") || line_is(p, len, "domain"))) ||
			    (spec->n_dns_options && line_is(p, len, "options"));
		int r = drop ? 0 : append(buf, size, &pos, p, len);
		if (r >= 0 && !drop)
			r = append(buf, size, &pos, "\n", 1);
		if (r < 0)
			return r;
		p += len;
		if (*p)
			p++;
	}
	int r = append_list(buf, size, &pos, "nameserver", spec->dns, spec->n_dns, false);
	if (r >= 0)
		r = append_list(buf, size, &pos, "search", spec->dns_search, spec->n_dns_search,
				true);
	if (r >= 0)
		r = append_list(buf, size, &pos, "options", spec->dns_options, spec->n_dns_options,
				true);
	return r;
}

int cb_parse_signal(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (!*end && end != s)
		return n > 0 && n < NSIG ? (int)n : -EINVAL;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int i = 1; i < NSIG; i++) {
		const char *name = sigabbrev_np(i);
		if (name && strcasecmp(name, s) == 0)
			return i;
	}
	/* RTMIN, RTMIN+N, RTMAX, RTMAX-N (what inspect prints) */
	int base = strncasecmp(s, "RTMIN", 5) == 0   ? SIGRTMIN
		   : strncasecmp(s, "RTMAX", 5) == 0 ? SIGRTMAX
						     : 0;
	if (!base)
		return -EINVAL;
	s += 5;
	if (!*s)
		return base;
	if ((*s != '+' || base != SIGRTMIN) && (*s != '-' || base != SIGRTMAX))
		return -EINVAL;
	n = strtol(s + 1, &end, 10);
	if (*end || end == s + 1 || n < 0 || n > SIGRTMAX - SIGRTMIN)
		return -EINVAL;
	return base == SIGRTMIN ? SIGRTMIN + (int)n : SIGRTMAX - (int)n;
}

/* The flags of the head's third word: what follows argv and env. The user
 * worked out ahead is the struct's bytes, last (parent and child are one
 * program). */
enum {
	PACK_WORKDIR = 1,
	PACK_USER = 2,
	PACK_EXEC_PATH = 4,
	PACK_USER_AHEAD = 8,
	PACK_ALL = PACK_WORKDIR | PACK_USER | PACK_EXEC_PATH | PACK_USER_AHEAD,
};

int cb_process_pack(const struct cb_spawn_spec *spec, const struct cb_process *ahead,
		    char **ret_buf, size_t *ret_len)
{
	size_t n_argv = strv_length(spec->argv);
	if (n_argv == 0 || n_argv > UINT32_MAX || spec->n_env > UINT32_MAX)
		return -EINVAL;
	bool user_ahead = ahead && ahead->have_user;
	const char *opt[3] = {spec->workdir, spec->user, ahead ? ahead->exec_path : NULL};
	uint32_t head[3] = {(uint32_t)n_argv, (uint32_t)spec->n_env,
			    (opt[0] ? PACK_WORKDIR : 0u) | (opt[1] ? PACK_USER : 0u) |
				(opt[2] ? PACK_EXEC_PATH : 0u) |
				(user_ahead ? PACK_USER_AHEAD : 0u)};
	size_t len = sizeof(head);
	for (size_t i = 0; i < n_argv; i++)
		len += strlen(spec->argv[i]) + 1;
	for (size_t i = 0; i < spec->n_env; i++)
		len += strlen(spec->env[i]) + 1;
	for (size_t i = 0; i < ELEMENTSOF(opt); i++)
		if (opt[i])
			len += strlen(opt[i]) + 1;
	if (user_ahead)
		len += sizeof(ahead->user_ahead);
	char *buf = malloc(len), *p = buf;
	if (!buf)
		return -ENOMEM;
	memcpy(p, head, sizeof(head));
	p += sizeof(head);
	for (size_t i = 0; i < n_argv; i++)
		p = stpcpy(p, spec->argv[i]) + 1;
	for (size_t i = 0; i < spec->n_env; i++)
		p = stpcpy(p, spec->env[i]) + 1;
	for (size_t i = 0; i < ELEMENTSOF(opt); i++)
		if (opt[i])
			p = stpcpy(p, opt[i]) + 1;
	if (user_ahead)
		memcpy(p, &ahead->user_ahead, sizeof(ahead->user_ahead));
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* The next NUL-terminated string at *pos, or NULL when buf ends first. */
static char *next_string(char *buf, size_t len, size_t *pos)
{
	if (*pos >= len)
		return NULL;
	char *s = buf + *pos, *nul = memchr(s, '\0', len - *pos);
	if (!nul)
		return NULL;
	*pos = (size_t)(nul - buf) + 1;
	return s;
}

/* A NULL-terminated array of the next n strings; -EINVAL when buf has
 * fewer, -ENOMEM. */
static int unpack_strv(char *buf, size_t len, size_t *pos, uint32_t n, char ***ret)
{
	/* Each string takes a byte at least: a count beyond what is left is
	 * junk, refused before it sizes an allocation. */
	if (n > len - *pos)
		return -EINVAL;
	char **v = calloc((size_t)n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		if (!(v[i] = next_string(buf, len, pos))) {
			free(v);
			return -EINVAL;
		}
	*ret = v;
	return 0;
}

int cb_process_unpack(char *buf, size_t len, struct cb_process *ret)
{
	uint32_t head[3];
	struct cb_process p = {0};
	if (len < sizeof(head))
		return -EINVAL;
	memcpy(head, buf, sizeof(head));
	if (head[0] == 0 || (head[2] & ~(uint32_t)PACK_ALL))
		return -EINVAL;
	size_t pos = sizeof(head);
	int r = unpack_strv(buf, len, &pos, head[0], &p.argv);
	if (r >= 0)
		r = unpack_strv(buf, len, &pos, head[1], &p.env);
	p.n_env = head[1];
	if (r >= 0 && (head[2] & PACK_WORKDIR) && !(p.workdir = next_string(buf, len, &pos)))
		r = -EINVAL;
	if (r >= 0 && (head[2] & PACK_USER) && !(p.user = next_string(buf, len, &pos)))
		r = -EINVAL;
	if (r >= 0 && (head[2] & PACK_EXEC_PATH) && !(p.exec_path = next_string(buf, len, &pos)))
		r = -EINVAL;
	if (r >= 0 && (head[2] & PACK_USER_AHEAD)) {
		if (len - pos < sizeof(p.user_ahead))
			r = -EINVAL;
		else {
			memcpy(&p.user_ahead, buf + pos, sizeof(p.user_ahead));
			pos += sizeof(p.user_ahead);
			p.have_user = p.user_ahead.n_groups <= CB_USER_MAX_GROUPS &&
				      memchr(p.user_ahead.home, '\0', sizeof(p.user_ahead.home));
			if (!p.have_user)
				r = -EINVAL;
		}
	}
	if (r >= 0 && pos != len)
		r = -EINVAL;
	if (r < 0) {
		cb_process_release(&p);
		return r;
	}
	*ret = p;
	return 0;
}

void cb_process_release(struct cb_process *p)
{
	free(p->argv);
	free(p->env);
	*p = (struct cb_process){0};
}
