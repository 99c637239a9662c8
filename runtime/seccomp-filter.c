#include "seccomp-filter.h"
#include "caps.h"
#include "fsutil.h"
#include "macro.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <jansson.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>

#define BIT(c) (UINT64_C(1) << (c))

/* Denied unless the container holds cap (-1: always denied). The set
 * follows podman's default profile (containers/common seccomp.json):
 * every syscall it does not allow for a default container. */
static const struct {
	const char *name;
	int cap;
} denied[] = {
    {"acct", CAP_SYS_PACCT},
    {"add_key", -1},
    {"bpf", CAP_SYS_ADMIN},
    {"clock_adjtime", CAP_SYS_TIME},
    {"clock_settime", CAP_SYS_TIME},
    {"create_module", CAP_SYS_MODULE},
    {"delete_module", CAP_SYS_MODULE},
    {"finit_module", CAP_SYS_MODULE},
    {"fsconfig", CAP_SYS_ADMIN},
    {"fsmount", CAP_SYS_ADMIN},
    {"fsopen", CAP_SYS_ADMIN},
    {"fspick", CAP_SYS_ADMIN},
    {"get_kernel_syms", CAP_SYS_MODULE},
    {"init_module", CAP_SYS_MODULE},
    {"ioperm", CAP_SYS_RAWIO},
    {"iopl", CAP_SYS_RAWIO},
    {"kcmp", CAP_SYS_PTRACE},
    {"kexec_file_load", CAP_SYS_BOOT},
    {"kexec_load", CAP_SYS_BOOT},
    {"keyctl", -1},
    {"lookup_dcookie", CAP_SYS_ADMIN},
    {"mount", CAP_SYS_ADMIN},
    {"mount_setattr", CAP_SYS_ADMIN},
    {"move_mount", CAP_SYS_ADMIN},
    {"name_to_handle_at", CAP_SYS_ADMIN},
    {"nfsservctl", -1},
    {"open_by_handle_at", CAP_DAC_READ_SEARCH},
    {"open_tree", CAP_SYS_ADMIN},
    {"perf_event_open", CAP_SYS_ADMIN},
    {"pivot_root", CAP_SYS_ADMIN},
    {"process_vm_readv", CAP_SYS_PTRACE},
    {"process_vm_writev", CAP_SYS_PTRACE},
    {"query_module", CAP_SYS_MODULE},
    {"quotactl", CAP_SYS_ADMIN},
    {"quotactl_fd", CAP_SYS_ADMIN},
    {"reboot", CAP_SYS_BOOT},
    {"request_key", -1},
    {"setns", CAP_SYS_ADMIN},
    {"settimeofday", CAP_SYS_TIME},
    {"stime", CAP_SYS_TIME},
    {"swapoff", CAP_SYS_ADMIN},
    {"swapon", CAP_SYS_ADMIN},
    {"syslog", CAP_SYSLOG},
    {"sysfs", -1},
    {"_sysctl", -1},
    {"umount", CAP_SYS_ADMIN},
    {"umount2", CAP_SYS_ADMIN},
    {"unshare", CAP_SYS_ADMIN},
    {"uselib", -1},
    {"userfaultfd", -1},
    {"ustat", -1},
    {"vhangup", CAP_SYS_TTY_CONFIG},
    {"vm86", -1},
    {"vm86old", -1},
};

/* The filter as the kernel takes it: a BPF program, so the child installs
 * it with one system call and libseccomp runs only when a program has to
 * be compiled (then cached, see below). */
struct cb_seccomp {
	size_t len; /* instructions */
	struct sock_filter prog[];
};

void cb_seccomp_free(struct cb_seccomp *f)
{
	free(f);
}

#define MAX_INSNS 4096

static int prog_from_bytes(const void *data, size_t size, struct cb_seccomp **ret)
{
	if (size == 0 || size % sizeof(struct sock_filter) ||
	    size > MAX_INSNS * sizeof(struct sock_filter))
		return -EINVAL;
	struct cb_seccomp *f = malloc(sizeof(*f) + size);
	if (!f)
		return -ENOMEM;
	f->len = size / sizeof(struct sock_filter);
	memcpy(f->prog, data, size);
	*ret = f;
	return 0;
}

/* Compile ctx to BPF through a memfd (libseccomp 2.5 exports only to an
 * fd). */
static int compile(scmp_filter_ctx ctx, struct cb_seccomp **ret)
{
	_cleanup_close_ int fd = memfd_create("cowbox-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return r;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	r = cb_read_fd(fd, MAX_INSNS * sizeof(struct sock_filter), &data, &len);
	if (r < 0)
		return r;
	return prog_from_bytes(data, len, ret);
}

/* The default filter depends only on the table below and the capability
 * set: name its compiled program by both, and keep it in the run
 * directory (spec->cache_dir, /run/cowbox by default) so
 * the next container loads it without running libseccomp (which costs
 * time and some 400 KB of memory per start). */
static uint64_t table_hash(void)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < ELEMENTSOF(denied); i++) {
		for (const char *p = denied[i].name; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ (uint64_t)(denied[i].cap + 2)) * 1099511628211ULL;
	}
	/* The program's shape: a binary tree (cb_seccomp_build). */
	h = (h ^ 2u) * 1099511628211ULL;
	const struct scmp_version *v = seccomp_version();
	if (v)
		h = (h ^ (v->major * 10000 + v->minor * 100 + v->micro)) * 1099511628211ULL;
	return h;
}

#define DEFAULT_CACHE_DIR "/run/cowbox"

/* Nor a directory someone else could put names in (a --runroot). */
static bool dir_trusted(int dfd)
{
	struct stat st;
	return fstat(dfd, &st) == 0 && st.st_uid == 0 && !(st.st_mode & 022);
}

static int cache_load(const char *dir, const char *name, struct cb_seccomp **ret)
{
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (!dir_trusted(dfd))
		return -EPERM;
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	/* Trust only what root wrote and nobody else may change. */
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022) || !S_ISREG(st.st_mode))
		return -EPERM;
	char buf[MAX_INSNS * sizeof(struct sock_filter)];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return prog_from_bytes(buf, (size_t)n, ret);
}

static void cache_store(const char *dir, const char *name, const struct cb_seccomp *f)
{
	if (geteuid() != 0 || (mkdir(dir, 0700) < 0 && errno != EEXIST))
		return;
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0 && dir_trusted(dfd))
		(void)cb_write_file_atomic_at(dfd, name, f->prog, f->len * sizeof(f->prog[0]),
					      0600);
}

static int build_default(scmp_filter_ctx ctx, uint64_t caps)
{
	for (size_t i = 0; i < ELEMENTSOF(denied); i++) {
		if (denied[i].cap >= 0 && (caps & BIT(denied[i].cap)))
			continue;
		int nr = seccomp_syscall_resolve_name(denied[i].name);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			continue; /* not on this architecture */
		int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0)
			return r;
	}
	if (!(caps & BIT(CAP_SYS_ADMIN))) {
		/* New namespaces need CAP_SYS_ADMIN: clone may not ask for
		 * them, and clone3 (whose flags seccomp cannot read) says
		 * ENOSYS so libc falls back to clone. */
		static const unsigned long ns_flags[] = {
		    CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,	 CLONE_NEWUSER,
		    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, 0x80 /* CLONE_NEWTIME */};
		for (size_t i = 0; i < ELEMENTSOF(ns_flags); i++) {
			int r =
			    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
			if (r < 0)
				return r;
		}
		int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_action(const char *s, json_t *errno_ret, int default_errno, uint32_t *ret)
{
	int e = json_is_integer(errno_ret) ? (int)json_integer_value(errno_ret) : default_errno;
	if (!s)
		return -EINVAL;
	if (strcmp(s, "SCMP_ACT_ALLOW") == 0)
		*ret = SCMP_ACT_ALLOW;
	else if (strcmp(s, "SCMP_ACT_ERRNO") == 0)
		*ret = SCMP_ACT_ERRNO(e);
	else if (strcmp(s, "SCMP_ACT_KILL") == 0 || strcmp(s, "SCMP_ACT_KILL_THREAD") == 0)
		*ret = SCMP_ACT_KILL;
	else if (strcmp(s, "SCMP_ACT_KILL_PROCESS") == 0)
		*ret = SCMP_ACT_KILL_PROCESS;
	else if (strcmp(s, "SCMP_ACT_TRAP") == 0)
		*ret = SCMP_ACT_TRAP;
	else if (strcmp(s, "SCMP_ACT_LOG") == 0)
		*ret = SCMP_ACT_LOG;
	else if (strcmp(s, "SCMP_ACT_TRACE") == 0)
		*ret = SCMP_ACT_TRACE(e);
	else
		return -EINVAL;
	return 0;
}

static int parse_op(const char *s, enum scmp_compare *ret)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
	    {"SCMP_CMP_NE", SCMP_CMP_NE},
	    {"SCMP_CMP_LT", SCMP_CMP_LT},
	    {"SCMP_CMP_LE", SCMP_CMP_LE},
	    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
	    {"SCMP_CMP_GE", SCMP_CMP_GE},
	    {"SCMP_CMP_GT", SCMP_CMP_GT},
	    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
	};
	for (size_t i = 0; s && i < ELEMENTSOF(ops); i++)
		if (strcmp(ops[i].name, s) == 0) {
			*ret = ops[i].op;
			return 0;
		}
	return -EINVAL;
}

/* True when the rule's includes/excludes capability lists fit caps. */
static bool caps_fit(json_t *rule, uint64_t caps)
{
	json_t *inc = json_object_get(json_object_get(rule, "includes"), "caps");
	json_t *exc = json_object_get(json_object_get(rule, "excludes"), "caps");
	size_t i;
	json_t *v;
	json_array_foreach(inc, i, v)
	{
		int c = json_is_string(v) ? cb_cap_from_name(json_string_value(v)) : -1;
		if (c < 0 || !(caps & BIT(c)))
			return false;
	}
	json_array_foreach(exc, i, v)
	{
		int c = json_is_string(v) ? cb_cap_from_name(json_string_value(v)) : -1;
		if (c >= 0 && (caps & BIT(c)))
			return false;
	}
	return true;
}

static int build_profile(const char *path, uint64_t caps, scmp_filter_ctx *ret_ctx,
			 struct cb_error *err)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root)
		return cb_error_set(err, EINVAL, "seccomp profile %s: line %d: %s", path, jerr.line,
				    jerr.text);
	int r = 0;
	scmp_filter_ctx ctx = NULL;
	int default_errno = EPERM;
	json_t *der = json_object_get(root, "defaultErrnoRet");
	if (json_is_integer(der))
		default_errno = (int)json_integer_value(der);
	uint32_t def;
	if (parse_action(json_string_value(json_object_get(root, "defaultAction")), der,
			 default_errno, &def) < 0) {
		r = cb_error_set(err, EINVAL, "seccomp profile %s: bad defaultAction", path);
		goto out;
	}
	ctx = seccomp_init(def);
	if (!ctx) {
		r = cb_error_set(err, ENOMEM, "seccomp profile %s: out of memory", path);
		goto out;
	}
	size_t i;
	json_t *rule;
	json_array_foreach(json_object_get(root, "syscalls"), i, rule)
	{
		if (!caps_fit(rule, caps))
			continue;
		uint32_t act;
		if (parse_action(json_string_value(json_object_get(rule, "action")),
				 json_object_get(rule, "errnoRet"), default_errno, &act) < 0) {
			r = cb_error_set(err, EINVAL,
					 "seccomp profile %s: syscalls[%zu]: bad action", path, i);
			goto out;
		}
		if (act == def)
			continue;
		struct scmp_arg_cmp cmps[6];
		unsigned n_cmp = 0;
		size_t j;
		json_t *a;
		json_array_foreach(json_object_get(rule, "args"), j, a)
		{
			enum scmp_compare op;
			if (n_cmp >= 6 ||
			    parse_op(json_string_value(json_object_get(a, "op")), &op) < 0) {
				r = cb_error_set(err, EINVAL,
						 "seccomp profile %s: syscalls[%zu]: bad args",
						 path, i);
				goto out;
			}
			cmps[n_cmp++] = (struct scmp_arg_cmp){
			    .arg = (unsigned)json_integer_value(json_object_get(a, "index")),
			    .op = op,
			    .datum_a =
				(scmp_datum_t)json_integer_value(json_object_get(a, "value")),
			    .datum_b =
				(scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo")),
			};
		}
		json_t *names = json_object_get(rule, "names");
		json_t *one = json_object_get(rule, "name");
		size_t k, count = json_is_array(names) ? json_array_size(names) : (one ? 1 : 0);
		for (k = 0; k < count; k++) {
			const char *name =
			    json_string_value(names ? json_array_get(names, k) : one);
			int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
			if (nr == __NR_SCMP_ERROR)
				continue; /* unknown here: docker skips it too */
			int q = seccomp_rule_add_array(ctx, act, nr, n_cmp, cmps);
			if (q < 0 && q != -EEXIST) {
				r = cb_error_errno(err, -q, "seccomp profile %s: rule for %s", path,
						   name);
				goto out;
			}
		}
	}
	*ret_ctx = TAKE_PTR(ctx);
out:
	if (ctx)
		seccomp_release(ctx);
	json_decref(root);
	return r;
}

int cb_seccomp_build(const struct cb_spawn_spec *spec, uint64_t caps, struct cb_seccomp **ret,
		     struct cb_error *err)
{
	*ret = NULL;
	if (spec->privileged || spec->seccomp == CB_SECCOMP_UNCONFINED)
		return 0;
	char name[96];
	snprintf(name, sizeof(name), "seccomp-%016" PRIx64 "-%016" PRIx64 "-%08x.bpf", table_hash(),
		 caps, seccomp_arch_native());
	const char *cache_dir = spec->cache_dir ? spec->cache_dir : DEFAULT_CACHE_DIR;
	if (spec->seccomp == CB_SECCOMP_DEFAULT && cache_load(cache_dir, name, ret) == 0)
		return 0;

	scmp_filter_ctx ctx = NULL;
	int r;
	if (spec->seccomp == CB_SECCOMP_PROFILE) {
		r = build_profile(spec->seccomp_profile, caps, &ctx, err);
		if (r < 0)
			return r;
	} else {
		ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (!ctx)
			return cb_error_set(err, ENOMEM, "seccomp: out of memory");
		r = build_default(ctx, caps);
		if (r < 0) {
			seccomp_release(ctx);
			return cb_error_errno(err, -r, "seccomp: build default filter");
		}
	}
	/* No_new_privs is cowbox's own choice, set apart from the filter. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* A binary tree of syscall numbers instead of a chain of them. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	r = compile(ctx, ret);
	seccomp_release(ctx);
	if (r < 0)
		return cb_error_errno(err, -r, "seccomp: compile filter");
	if (spec->seccomp == CB_SECCOMP_DEFAULT)
		cache_store(cache_dir, name, *ret);
	return 0;
}

int cb_seccomp_load(struct cb_seccomp *filter)
{
	if (!filter)
		return 0;
	struct sock_fprog prog = {.len = (unsigned short)filter->len, .filter = filter->prog};
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -errno : 0;
}
