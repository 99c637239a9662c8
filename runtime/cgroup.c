#include "cgroup.h"
#include "fsutil.h"
#include "macro.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"

static const char *v2_root; /* the cgroup2 mount that carries our controllers */

static const char *const v1_names[] = {"memory", "pids", "cpu", "cpuset"};

static bool has_words(const char *list, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(words[i]);
		const char *p = list;
		bool found = false;
		while ((p = strstr(p, words[i]))) {
			if ((p == list || p[-1] == ' ') &&
			    (p[len] == ' ' || p[len] == '\n' || !p[len])) {
				found = true;
				break;
			}
			p += len;
		}
		if (!found)
			return false;
	}
	return true;
}

static bool v2_usable(const char *mnt)
{
	static const char *const need[] = {"memory", "pids"};
	char path[PATH_MAX], buf[512];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", mnt);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return has_words(buf, need, ELEMENTSOF(need));
}

int cb_cgroup_detect(void)
{
	static int version;
	if (version)
		return version;
	struct statfs sf;
	if (statfs(CG_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
		v2_root = CG_ROOT;
		return version = 2;
	}
	if (v2_usable(CG_ROOT "/unified")) {
		v2_root = CG_ROOT "/unified";
		return version = 2;
	}
	if (access(CG_ROOT "/memory/cgroup.procs", F_OK) == 0)
		return version = 1;
	return -ENOENT;
}

static int read_at(int dirfd, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

/* Make each directory of rel below root (existing ones are fine), calling
 * prepare(parent_fd, name) for each level before its child is made. */
static int mkdir_levels(int rootfd, const char *rel, int (*prepare)(int dirfd, bool leaf),
			int *ret_fd)
{
	char buf[PATH_MAX];
	if (strlen(rel) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, rel);
	_cleanup_close_ int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return -errno;
	char *save = NULL;
	char *part = strtok_r(buf, "/", &save);
	while (part) {
		char *next = strtok_r(NULL, "/", &save);
		if (prepare) {
			int r = prepare(cur, false);
			if (r < 0)
				return r;
		}
		if (mkdirat(cur, part, 0755) < 0 && (errno != EEXIST || !next))
			return -errno;
		int fd = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		close(cur);
		cur = fd;
		part = next;
	}
	if (prepare) {
		int r = prepare(cur, true);
		if (r < 0)
			return r;
	}
	*ret_fd = TAKE_FD(cur);
	return 0;
}

static unsigned v2_want; /* controllers a level must pass down */

static int v2_prepare(int dirfd, bool leaf)
{
	if (leaf)
		return 0;
	static const char *const names[] = {"memory", "pids", "cpu", "cpuset"};
	char have[256];
	int r = read_at(dirfd, "cgroup.subtree_control", have, sizeof(have));
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		if (!(v2_want & (1u << i)) || has_words(have, &names[i], 1))
			continue;
		char cmd[16];
		snprintf(cmd, sizeof(cmd), "+%s", names[i]);
		r = cb_write_string_at(dirfd, "cgroup.subtree_control", cmd);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cpuset_copy_from_parent(int dirfd, bool leaf)
{
	/* v1 cpuset: a new cgroup starts with empty cpus and mems, and takes
	 * no task until both are set; copy them down from its parent. */
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		char val[256];
		int r = read_at(dirfd, files[i], val, sizeof(val));
		if (r < 0)
			return r;
		if (val[0] != '\n' && val[0])
			continue;
		_cleanup_close_ int up = openat(dirfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			return -errno;
		r = read_at(up, files[i], val, sizeof(val));
		if (r < 0)
			return r;
		r = cb_write_string_at(dirfd, files[i], val);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cpuset_prepare_v1(int dirfd, bool leaf)
{
	(void)leaf;
	return cpuset_copy_from_parent(dirfd, leaf);
}

/* Swap next to a memory limit: none unless --memory-swap says how much
 * (memory plus swap, docker's meaning; -1: no limit). Without swap
 * accounting (no memsw file, no memory.swap.max) "none" is best effort
 * and a limit asked for fails. */
static int write_swap_limit(int fd, int version, const struct cb_spawn_spec *spec,
			    struct cb_error *err)
{
	char val[32];
	int64_t swap = spec->memory_swap;
	if (version == 2) {
		if (swap < 0)
			snprintf(val, sizeof(val), "max");
		else
			snprintf(val, sizeof(val), "%" PRId64, swap > 0 ? swap - spec->memory : 0);
	} else if (swap < 0)
		snprintf(val, sizeof(val), "-1");
	else
		snprintf(val, sizeof(val), "%" PRId64, swap > 0 ? swap : spec->memory);
	const char *file = version == 2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
	int r = cb_write_string_at(fd, file, val);
	if (r < 0 && swap == 0)
		return 0; /* no swap accounting: no swap to limit */
	if (r < 0)
		return cb_error_errno(err, -r, "cgroup: set %s %s%s", file, val,
				      r == -ENOENT ? " (no swap accounting on this kernel)" : "");
	return 0;
}

static int write_limits(int fd, int version, unsigned which, const struct cb_spawn_spec *spec,
			struct cb_error *err)
{
	char val[64];
	int r = 0;
	if (which & CB_CG_V1_MEMORY && spec->memory > 0) {
		snprintf(val, sizeof(val), "%" PRId64, spec->memory);
		r = cb_write_string_at(fd, version == 2 ? "memory.max" : "memory.limit_in_bytes",
				       val);
		if (r < 0)
			return cb_error_errno(err, -r, "cgroup: set memory limit %s", val);
		r = write_swap_limit(fd, version, spec, err);
		if (r < 0)
			return r;
	}
	if (which & CB_CG_V1_MEMORY && spec->memory_reservation > 0) {
		snprintf(val, sizeof(val), "%" PRId64, spec->memory_reservation);
		const char *file = version == 2 ? "memory.low" : "memory.soft_limit_in_bytes";
		if ((r = cb_write_string_at(fd, file, val)) < 0)
			return cb_error_errno(err, -r, "cgroup: set %s %s", file, val);
	}
	if (which & CB_CG_V1_PIDS && spec->pids_limit > 0) {
		snprintf(val, sizeof(val), "%" PRId64, spec->pids_limit);
		r = cb_write_string_at(fd, "pids.max", val);
		if (r < 0)
			return cb_error_errno(err, -r, "cgroup: set pids.max %s", val);
	}
	if (which & CB_CG_V1_CPU && spec->cpu_shares > 0) {
		const char *file = version == 2 ? "cpu.weight" : "cpu.shares";
		snprintf(val, sizeof(val), "%" PRIu64,
			 version == 2 ? cb_cpu_shares_to_weight((uint64_t)spec->cpu_shares)
				      : (uint64_t)spec->cpu_shares);
		if ((r = cb_write_string_at(fd, file, val)) < 0)
			return cb_error_errno(err, -r, "cgroup: set %s %s", file, val);
	}
	if (which & CB_CG_V1_CPU && spec->cpu_quota_us > 0) {
		if (version == 2) {
			snprintf(val, sizeof(val), "%" PRId64 " %" PRId64, spec->cpu_quota_us,
				 spec->cpu_period_us);
			r = cb_write_string_at(fd, "cpu.max", val);
			if (r < 0)
				return cb_error_errno(err, -r, "cgroup: set cpu.max %s", val);
		} else {
			snprintf(val, sizeof(val), "%" PRId64, spec->cpu_period_us);
			r = cb_write_string_at(fd, "cpu.cfs_period_us", val);
			if (r >= 0) {
				snprintf(val, sizeof(val), "%" PRId64, spec->cpu_quota_us);
				r = cb_write_string_at(fd, "cpu.cfs_quota_us", val);
			}
			if (r < 0)
				return cb_error_errno(err, -r, "cgroup: set cpu.cfs_quota_us %s",
						      val);
		}
	}
	if (which & CB_CG_V1_CPUSET && spec->cpuset_cpus) {
		if (version == 2)
			r = cb_write_string_at(fd, "cpuset.cpus", spec->cpuset_cpus);
		else if ((r = cpuset_copy_from_parent(fd, true)) >= 0)
			r = cb_write_string_at(fd, "cpuset.cpus", spec->cpuset_cpus);
		if (r < 0)
			return cb_error_errno(err, -r, "cgroup: set cpuset.cpus %s",
					      spec->cpuset_cpus);
	}
	return 0;
}

int cb_cgroup_create(const struct cb_spawn_spec *spec, struct cb_cgroup *cg, struct cb_error *err)
{
	*cg = (struct cb_cgroup){.v2_fd = -1};
	int version = cb_cgroup_detect();
	if (version < 0)
		return cb_error_set(
		    err, ENOENT,
		    "cgroup: no cgroup hierarchy with memory and pids (use --no-cgroup)");
	const char *parent = spec->cgroup_parent ? spec->cgroup_parent : "cowbox";
	while (*parent == '/')
		parent++;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s%s%s", parent, *parent ? "/" : "", spec->id) < 0)
		return -ENOMEM;
	if (strstr(path, ".."))
		return cb_error_set(err, EINVAL, "cgroup: bad path %s", path);
	/* v2: one directory carries every controller. v1: a directory per
	 * controller, each one more mkdir, migration and rmdir, so only those
	 * with a limit to enforce, plus memory (accounting, the OOM report,
	 * and the list of the container's processes). */
	unsigned which = CB_CG_V1_MEMORY;
	if (version == 2 || spec->pids_limit > 0)
		which |= CB_CG_V1_PIDS;
	if (spec->cpu_quota_us > 0 || spec->cpu_shares > 0)
		which |= CB_CG_V1_CPU;
	if (spec->cpuset_cpus)
		which |= CB_CG_V1_CPUSET;

	if (version == 2) {
		_cleanup_close_ int rootfd = open(v2_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return cb_error_errno(err, errno, "cgroup: open %s", v2_root);
		v2_want = which;
		int fd = -1;
		int r = mkdir_levels(rootfd, path, v2_prepare, &fd);
		if (r < 0) {
			(void)unlinkat(rootfd, path, AT_REMOVEDIR);
			return cb_error_errno(err, -r, "cgroup: make %s/%s", v2_root, path);
		}
		r = write_limits(fd, 2, which, spec, err);
		if (r < 0) {
			close(fd);
			(void)unlinkat(rootfd, path, AT_REMOVEDIR);
			return r;
		}
		*cg = (struct cb_cgroup){.version = 2, .path = TAKE_PTR(path), .v2_fd = fd};
		return 0;
	}

	unsigned made = 0;
	int r = 0;
	for (size_t i = 0; i < ELEMENTSOF(v1_names); i++) {
		if (!(which & (1u << i)))
			continue;
		char mnt[64];
		snprintf(mnt, sizeof(mnt), CG_ROOT "/%s", v1_names[i]);
		_cleanup_close_ int rootfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0) {
			r = cb_error_errno(err, errno, "cgroup: open %s", mnt);
			break;
		}
		_cleanup_close_ int fd = -1;
		r = mkdir_levels(rootfd, path,
				 (1u << i) == CB_CG_V1_CPUSET ? cpuset_prepare_v1 : NULL, &fd);
		if (r < 0) {
			r = cb_error_errno(err, -r, "cgroup: make %s/%s", mnt, path);
			break;
		}
		made |= 1u << i;
		r = write_limits(fd, 1, 1u << i, spec, err);
		if (r < 0)
			break;
	}
	struct cb_cgroup tmp = {.version = 1, .path = TAKE_PTR(path), .v2_fd = -1, .v1_mask = made};
	if (r < 0) {
		cb_cgroup_destroy(&tmp);
		return r;
	}
	*cg = tmp;
	return 0;
}

int cb_cgroup_enter(struct cb_cgroup *cg, pid_t pid, struct cb_error *err)
{
	if (cg->version != 1)
		return 0;
	char val[16], path[PATH_MAX];
	snprintf(val, sizeof(val), "%d", (int)pid);
	for (size_t i = 0; i < ELEMENTSOF(v1_names); i++) {
		if (!(cg->v1_mask & (1u << i)))
			continue;
		snprintf(path, sizeof(path), CG_ROOT "/%s/%s", v1_names[i], cg->path);
		_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int r = fd < 0 ? -errno : cb_write_string_at(fd, "cgroup.procs", val);
		if (r < 0)
			return cb_error_errno(err, -r, "cgroup: join %s", path);
	}
	return 0;
}

int cb_cgroup_open_v1_tasks(struct cb_cgroup *cg, int fds[CB_CGROUP_V1_MAX], size_t *ret_n,
			    struct cb_error *err)
{
	size_t n = 0;
	char path[PATH_MAX];
	for (size_t i = 0; cg->version == 1 && i < ELEMENTSOF(v1_names); i++) {
		if (!(cg->v1_mask & (1u << i)))
			continue;
		snprintf(path, sizeof(path), CG_ROOT "/%s/%s/tasks", v1_names[i], cg->path);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			int r = cb_error_errno(err, errno, "cgroup: open %s", path);
			while (n > 0)
				close(fds[--n]);
			return r;
		}
		fds[n++] = fd;
	}
	*ret_n = n;
	return 0;
}

static int open_v1(const char *controller, const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), CG_ROOT "/%s/%s", controller, path);
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static uint64_t read_key(int dirfd, const char *file, const char *key)
{
	char buf[1024];
	if (read_at(dirfd, file, buf, sizeof(buf)) < 0)
		return 0;
	int64_t v = cb_kv_value(buf, key);
	return v < 0 ? 0 : (uint64_t)v;
}

bool cb_cgroup_oom_killed(const struct cb_cgroup *cg)
{
	if (!cg || !cg->version)
		return false;
	if (cg->version == 2)
		return read_key(cg->v2_fd, "memory.events", "oom_kill") > 0;
	if (!(cg->v1_mask & CB_CG_V1_MEMORY))
		return false;
	_cleanup_close_ int fd = open_v1("memory", cg->path);
	return fd >= 0 && read_key(fd, "memory.oom_control", "oom_kill") > 0;
}

static void kill_procs(const char *dir)
{
	char buf[4096];
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || read_at(fd, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return;
	for (char *p = buf; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0)
			kill((pid_t)pid, SIGKILL);
		p = end + (*end == '\n');
	}
}

/* rmdir that waits out the moment between a task's exit and the cgroup's
 * noticing it. */
static int rmdir_retry(const char *dir)
{
	/* Up to ~10 s: a large OOM-killed process on a slow machine takes a
	 * while to give its memory back. */
	for (int i = 0; i < 2000; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		if (i == 0 || i % 50 == 0)
			kill_procs(dir);
		struct timespec ts = {0, i < 20 ? 100000 : 5000000};
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

int cb_cgroup_destroy(struct cb_cgroup *cg)
{
	if (!cg || !cg->version || !cg->path) {
		if (cg && cg->v2_fd >= 0)
			closep(&cg->v2_fd);
		return 0;
	}
	int r = 0;
	char dir[PATH_MAX];
	if (cg->version == 2) {
		(void)cb_write_string_at(cg->v2_fd, "cgroup.kill", "1");
		snprintf(dir, sizeof(dir), "%s/%s", v2_root, cg->path);
		r = rmdir_retry(dir);
	} else {
		/* A paused container is thawed first: a frozen v1 task does
		 * not die of SIGKILL until it is (v2's cgroup.kill needs no
		 * thaw). */
		_cleanup_close_ int fz = open_v1("freezer", cg->path);
		if (fz >= 0)
			(void)cb_write_string_at(fz, "freezer.state", "THAWED");
		for (size_t i = 0; i < ELEMENTSOF(v1_names); i++) {
			if (!(cg->v1_mask & (1u << i)))
				continue;
			snprintf(dir, sizeof(dir), CG_ROOT "/%s/%s", v1_names[i], cg->path);
			int k = rmdir_retry(dir);
			if (k < 0 && r == 0)
				r = k;
		}
		if (fz >= 0) {
			snprintf(dir, sizeof(dir), CG_ROOT "/freezer/%s", cg->path);
			int k = rmdir_retry(dir);
			if (k < 0 && r == 0)
				r = k;
		}
	}
	closep(&cg->v2_fd);
	free(cg->path);
	*cg = (struct cb_cgroup){.v2_fd = -1};
	return r;
}

static void prune_dir(const char *dir, int min_age_s)
{
	/* A cgroup directory's link count is 2 plus its subdirectories: with
	 * none, there is nothing to read. */
	struct stat pst;
	if (stat(dir, &pst) < 0 || pst.st_nlink <= 2)
		return;
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || now - st.st_mtime < min_age_s)
			continue;
		/* rmdir fails with EBUSY on a cgroup that still has tasks. */
		(void)unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
}

int cb_cgroup_prune(const char *parent, int min_age_s)
{
	int version = cb_cgroup_detect();
	if (version < 0)
		return 0;
	if (!parent)
		parent = "cowbox";
	while (*parent == '/')
		parent++;
	char dir[PATH_MAX];
	if (version == 2) {
		snprintf(dir, sizeof(dir), "%s/%s", v2_root, parent);
		prune_dir(dir, min_age_s);
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(v1_names); i++) {
		snprintf(dir, sizeof(dir), CG_ROOT "/%s/%s", v1_names[i], parent);
		prune_dir(dir, min_age_s);
	}
	snprintf(dir, sizeof(dir), CG_ROOT "/freezer/%s", parent); /* paused once */
	prune_dir(dir, min_age_s);
	return 0;
}

/* ---- reading and freezing (stats, pause): not on a run's path, kept
 * apart from it so the pages a run touches stay few ---------------------- */

int64_t cb_kv_value(const char *text, const char *key)
{
	size_t len = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, len) != 0)
			continue;
		const char *v = p + len;
		if (*v == ':')
			v++;
		if (*v != ' ' && *v != '\t')
			continue;
		char *end;
		long long n = strtoll(v, &end, 10);
		return end == v || n < 0 ? -1 : n;
	}
	return -1;
}

void cb_io_stat_sum(const char *text, int version, int64_t *ret_read, int64_t *ret_write)
{
	int64_t rd = 0, wr = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char line[512];
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1),
			 p);
		if (version == 2) {
			/* "MAJ:MIN rbytes=N wbytes=N rios=N ..." */
			const char *r = strstr(line, " rbytes="), *w = strstr(line, " wbytes=");
			if (r)
				rd += strtoll(r + 8, NULL, 10);
			if (w)
				wr += strtoll(w + 8, NULL, 10);
			continue;
		}
		/* "MAJ:MIN Read N", "... Write N"; "Total N" lines left out. */
		char dev[64], op[16];
		long long v;
		if (sscanf(line, "%63s %15s %lld", dev, op, &v) != 3 || !strchr(dev, ':'))
			continue;
		if (strcmp(op, "Read") == 0)
			rd += v;
		else if (strcmp(op, "Write") == 0)
			wr += v;
	}
	*ret_read = rd;
	*ret_write = wr;
}

static int64_t read_number_at(int dirfd, const char *file)
{
	char buf[64];
	if (dirfd < 0 || read_at(dirfd, file, buf, sizeof(buf)) <= 0)
		return -1;
	if (strncmp(buf, "max", 3) == 0)
		return -1;
	char *end;
	long long v = strtoll(buf, &end, 10);
	return end == buf || v < 0 ? -1 : v;
}

/* A whole small file of a cgroup directory; NULL when missing. */
static char *read_text_at(int dirfd, const char *file)
{
	char *text = NULL;
	if (dirfd < 0 || cb_read_file_at(dirfd, file, 1 << 20, &text, NULL) < 0)
		return NULL;
	return text;
}

int cb_cgroup_usage(const char *path, struct cb_cgroup_usage *ret)
{
	*ret = (struct cb_cgroup_usage){-1, -1, -1, -1, -1, -1};
	if (!path || !path[0] || strstr(path, ".."))
		return -ENOENT;
	int version = cb_cgroup_detect();
	if (version < 0)
		return version;
	_cleanup_close_ int mem = -1, pids = -1, cpu = -1, io = -1;
	if (version == 2) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", v2_root, path);
		mem = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mem < 0)
			return -errno;
		pids = fcntl(mem, F_DUPFD_CLOEXEC, 3);
		cpu = fcntl(mem, F_DUPFD_CLOEXEC, 3);
		io = fcntl(mem, F_DUPFD_CLOEXEC, 3);
	} else {
		mem = open_v1("memory", path);
		if (mem < 0)
			return -errno;
		pids = open_v1("pids", path);
		cpu = open_v1("cpuacct", path);
		io = open_v1("blkio", path);
	}
	/* What the kernel could drop at once is not the container's working
	 * set: docker and podman leave the inactive page cache out. */
	_cleanup_free_ char *stat = read_text_at(mem, "memory.stat");
	int64_t usage =
	    read_number_at(mem, version == 2 ? "memory.current" : "memory.usage_in_bytes");
	int64_t inactive =
	    stat ? cb_kv_value(stat, version == 2 ? "inactive_file" : "total_inactive_file") : -1;
	ret->memory = usage >= 0 && inactive >= 0 && inactive <= usage ? usage - inactive : usage;
	ret->memory_limit =
	    read_number_at(mem, version == 2 ? "memory.max" : "memory.limit_in_bytes");
	/* v1 says "no limit" with the largest page-aligned number. */
	if (ret->memory_limit >= (INT64_C(1) << 62))
		ret->memory_limit = -1;
	ret->pids = read_number_at(pids, "pids.current");
	if (version == 2) {
		_cleanup_free_ char *cs = read_text_at(cpu, "cpu.stat");
		int64_t us = cs ? cb_kv_value(cs, "usage_usec") : -1;
		ret->cpu_ns = us >= 0 ? us * 1000 : -1;
	} else
		ret->cpu_ns = read_number_at(cpu, "cpuacct.usage");
	_cleanup_free_ char *ios =
	    read_text_at(io, version == 2 ? "io.stat" : "blkio.throttle.io_service_bytes");
	if (ios)
		cb_io_stat_sum(ios, version, &ret->io_read, &ret->io_write);
	return 0;
}

/* Poll until dirfd/file says want: its first line starts with it, or
 * with key, key's value is it (the kernel freezes and thaws
 * asynchronously). */
static int wait_for(int dirfd, const char *file, const char *key, const char *want)
{
	for (int i = 0; i < 2000; i++) {
		char buf[512];
		int r = read_at(dirfd, file, buf, sizeof(buf));
		if (r < 0)
			return r;
		if (key ? cb_kv_value(buf, key) == strtoll(want, NULL, 10)
			: strncmp(buf, want, strlen(want)) == 0)
			return 0;
		struct timespec ts = {0, i < 100 ? 1000000 : 5000000};
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

/* The pids listed in dirfd's cgroup.procs (*ret freed by the caller);
 * the count, or -errno. */
static ssize_t read_procs(int dirfd, pid_t **ret)
{
	_cleanup_free_ char *text = NULL;
	*ret = NULL;
	int r = cb_read_file_at(dirfd, "cgroup.procs", 16 << 20, &text, NULL);
	if (r < 0)
		return r;
	size_t cap = 1;
	for (const char *p = text; *p; p++)
		cap += *p == '\n';
	pid_t *v = calloc(cap, sizeof(pid_t));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (char *p = text; *p && n < cap;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		v[n++] = (pid_t)pid;
		p = end + (*end == '\n');
	}
	*ret = v;
	return (ssize_t)n;
}

/* v1: move every process of the memory cgroup into the freezer one;
 * how many had to move, or -errno. */
static int move_into_freezer(int mem, int fz)
{
	_cleanup_free_ pid_t *want = NULL, *have = NULL;
	ssize_t nw = read_procs(mem, &want), nh = read_procs(fz, &have);
	if (nw < 0)
		return (int)nw;
	if (nh < 0)
		return (int)nh;
	int moved = 0;
	for (ssize_t i = 0; i < nw; i++) {
		bool there = false;
		for (ssize_t k = 0; k < nh && !there; k++)
			there = have[k] == want[i];
		if (there)
			continue;
		char val[16];
		snprintf(val, sizeof(val), "%d", (int)want[i]);
		int r = cb_write_string_at(fz, "cgroup.procs", val);
		if (r < 0 && r != -ESRCH)
			return r;
		moved++;
	}
	return moved;
}

static int freeze_v1(const char *path, struct cb_error *err)
{
	_cleanup_close_ int mem = open_v1("memory", path);
	if (mem < 0)
		return cb_error_errno(err, errno, "cgroup: open memory/%s", path);
	_cleanup_close_ int root = open(CG_ROOT "/freezer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return cb_error_errno(err, errno,
				      "cgroup: no freezer hierarchy (" CG_ROOT "/freezer)");
	/* Paused before: its freezer cgroup is there. */
	_cleanup_close_ int fz = open_v1("freezer", path);
	int r = fz >= 0 ? 0 : mkdir_levels(root, path, NULL, &fz);
	if (r < 0)
		return cb_error_errno(err, -r, "cgroup: make freezer/%s", path);
	/* A process forked while its parent was being moved may be left
	 * behind: move until nothing is, freeze, and check once more. */
	for (int round = 0; round < 20; round++) {
		while ((r = move_into_freezer(mem, fz)) > 0)
			;
		if (r < 0)
			return cb_error_errno(err, -r, "cgroup: join freezer/%s", path);
		if ((r = cb_write_string_at(fz, "freezer.state", "FROZEN")) < 0 ||
		    (r = wait_for(fz, "freezer.state", NULL, "FROZEN")) < 0) {
			/* Not left half frozen (ps would say paused). */
			(void)cb_write_string_at(fz, "freezer.state", "THAWED");
			return cb_error_errno(err, -r, "cgroup: freeze freezer/%s", path);
		}
		if ((r = move_into_freezer(mem, fz)) == 0)
			return 0;
		(void)cb_write_string_at(fz, "freezer.state", "THAWED");
	}
	return cb_error_set(err, EAGAIN, "cgroup: freezer/%s: its processes keep forking", path);
}

int cb_cgroup_freeze(const char *path, bool freeze, struct cb_error *err)
{
	if (!path || !path[0] || strstr(path, ".."))
		return cb_error_set(err, ENOENT, "the container has no cgroup (--no-cgroup)");
	int version = cb_cgroup_detect();
	if (version < 0)
		return cb_error_set(err, ENOENT, "cgroup: no cgroup hierarchy");
	const char *what = freeze ? "freeze" : "thaw";
	int r;
	if (version == 2) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", v2_root, path);
		_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return cb_error_errno(err, errno, "cgroup: open %s", dir);
		if ((r = cb_write_string_at(fd, "cgroup.freeze", freeze ? "1" : "0")) < 0 ||
		    (r = wait_for(fd, "cgroup.events", "frozen", freeze ? "1" : "0")) < 0) {
			if (freeze) /* not left half frozen (ps would say paused) */
				(void)cb_write_string_at(fd, "cgroup.freeze", "0");
			return cb_error_errno(err, -r, "cgroup: %s %s", what, dir);
		}
		return 0;
	}
	if (freeze)
		return freeze_v1(path, err);
	_cleanup_close_ int fz = open_v1("freezer", path);
	if (fz < 0)
		return errno == ENOENT
			   ? 0
			   : cb_error_errno(err, errno, "cgroup: open freezer/%s", path);
	if ((r = cb_write_string_at(fz, "freezer.state", "THAWED")) < 0 ||
	    (r = wait_for(fz, "freezer.state", NULL, "THAWED")) < 0)
		return cb_error_errno(err, -r, "cgroup: thaw freezer/%s", path);
	return 0;
}

bool cb_cgroup_frozen(const char *path)
{
	if (!path || !path[0] || strstr(path, ".."))
		return false;
	int version = cb_cgroup_detect();
	char buf[64];
	if (version == 2) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/%s", v2_root, path);
		_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return fd >= 0 && read_at(fd, "cgroup.freeze", buf, sizeof(buf)) > 0 &&
		       buf[0] == '1';
	}
	_cleanup_close_ int fz = version == 1 ? open_v1("freezer", path) : -1;
	return fz >= 0 && read_at(fz, "freezer.state", buf, sizeof(buf)) > 0 &&
	       (strncmp(buf, "FROZEN", 6) == 0 || strncmp(buf, "FREEZING", 8) == 0);
}
