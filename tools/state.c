#include "state.h"
#include "fsutil.h"
#include "macro.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *const status_names[] = {"created", "running", "exited", "removed"};

const char *cb_state_status_name(enum cb_state_status s)
{
	return s < ELEMENTSOF(status_names) ? status_names[s] : "unknown";
}

void cb_state_release(struct cb_state *st)
{
	if (!st)
		return;
	strv_free(st->argv);
	free(st->user);
	free(st->workdir);
	*st = (struct cb_state){0};
}

static const char *run_dir_override;

void cb_state_set_run_dir(const char *dir)
{
	run_dir_override = dir && dir[0] ? dir : NULL;
}

bool cb_state_run_dir_is_set(void)
{
	return run_dir_override != NULL;
}

const char *cb_state_run_dir(void)
{
	static char *dir;
	if (run_dir_override)
		return run_dir_override;
	if (!dir && cb_state_base_dir(&dir) < 0)
		return NULL;
	return dir;
}

int cb_state_base_dir(char **ret)
{
	if (!run_dir_override)
		return cb_state_default_dir(ret);
	*ret = strdup(run_dir_override);
	return *ret ? 0 : -ENOMEM;
}

int cb_state_default_dir(char **ret)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *p = NULL;
	if (geteuid() == 0 || !xdg || xdg[0] != '/')
		p = strdup("/run/cowbox");
	else if (asprintf(&p, "%s/cowbox", xdg) < 0)
		p = NULL;
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

int cb_state_dir(const char *id, char **ret_path)
{
	_cleanup_free_ char *base = NULL;
	int r = cb_state_base_dir(&base);
	if (r < 0)
		return r;
	if (asprintf(ret_path, "%s/%s", base, id) < 0)
		return -ENOMEM;
	return 0;
}

int cb_state_open(const char *id, bool create, int *ret_dirfd)
{
	_cleanup_free_ char *dir = NULL;
	int r = cb_state_dir(id, &dir);
	if (r < 0)
		return r;
	/* One mkdir when RUNDIR exists (every start but the first). */
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST &&
	    (errno != ENOENT || (r = cb_mkdirat_p(AT_FDCWD, dir, 0700)) < 0))
		return r < 0 ? r : -errno;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	*ret_dirfd = fd;
	return 0;
}

/* What a state directory holds, by name first (each call saved counts
 * where /run is not a tmpfs); the walk takes anything else. */
static const char *const state_layout[] = {"state", "log", "supervisor.log", NULL};

/* RUNDIR (or .trash in it with trash), opened; with create, made first
 * when missing (its parents too: a --runroot may be new). */
static int open_run_dir(bool trash, bool create)
{
	_cleanup_free_ char *dir = NULL;
	int r = trash ? cb_state_dir(".trash", &dir) : cb_state_base_dir(&dir);
	if (r < 0)
		return r;
	/* RUNDIR may be a link (a --runroot so given); its trash never. */
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (trash ? O_NOFOLLOW : 0);
	int fd = open(dir, flags);
	if (fd < 0 && errno == ENOENT && create) {
		if ((r = cb_mkdirat_p(AT_FDCWD, dir, 0700)) < 0)
			return r;
		fd = open(dir, flags);
	}
	return fd < 0 ? -errno : fd;
}

/* id's state directory made under a name no one looks up, locked, then
 * renamed into place: it never appears unlocked. -EEXIST when another
 * made it first. */
static int make_locked(int base, const char *id, int *ret_dirfd, int *ret_lock)
{
	char rnd[17], tmp[32];
	int r = cb_random_hex(rnd, 8);
	if (r < 0)
		return r;
	snprintf(tmp, sizeof(tmp), ".new-%s", rnd);
	if (mkdirat(base, tmp, 0700) < 0)
		return -errno;
	_cleanup_close_ int fd = openat(base, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_close_ int lock = fd < 0 ? -errno : cb_state_open_lock(fd);
	r = lock < 0 ? lock : flock(lock, LOCK_EX | LOCK_NB) < 0 ? -errno : 0;
	if (r == 0 && renameat2(base, tmp, base, id, RENAME_NOREPLACE) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(base, tmp, AT_REMOVEDIR);
		return r;
	}
	*ret_dirfd = TAKE_FD(fd);
	*ret_lock = TAKE_FD(lock);
	return 0;
}

int cb_state_open_locked(const char *id, bool is_new, int *ret_dirfd, int *ret_lock)
{
	_cleanup_close_ int base = open_run_dir(false, true);
	if (base < 0)
		return base;
	/* A new ID has no directory to look for (and should one be there,
	 * make_locked finds it: -EEXIST, and the next try looks). */
	for (int tries = 0; tries < 3; tries++, is_new = false) {
		_cleanup_close_ int fd =
		    is_new ? -1 : openat(base, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (!is_new && errno != ENOENT)
				return -errno;
			int r = make_locked(base, id, ret_dirfd, ret_lock);
			if (r != -EEXIST && r != -ENOTEMPTY)
				return r;
			continue;
		}
		_cleanup_close_ int lock = cb_state_open_lock(fd);
		if (lock < 0)
			return lock;
		if (flock(lock, LOCK_EX | LOCK_NB) < 0)
			return errno == EWOULDBLOCK ? -EBUSY : -errno;
		struct stat a, b;
		if (fstat(fd, &a) < 0 || fstatat(base, id, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
		    a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			continue; /* pruned before we locked it (remove_if_abandoned) */
		*ret_dirfd = TAKE_FD(fd);
		*ret_lock = TAKE_FD(lock);
		return 0;
	}
	return -EBUSY;
}

int cb_state_remove(const char *id)
{
	_cleanup_close_ int fd = open_run_dir(false, false);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	int r = cb_rm_known_at(fd, id, state_layout);
	return r < 0 ? r : 0;
}

int cb_state_remove_later(const char *id)
{
	_cleanup_close_ int fd = open_run_dir(false, false);
	_cleanup_close_ int trash = open_run_dir(true, true);
	if (fd < 0 || trash < 0 || renameat(fd, id, trash, id) < 0)
		return cb_state_remove(id);
	return 0;
}

int cb_state_trash_steps(struct cb_rm_steps **ret)
{
	*ret = NULL;
	int fd = open_run_dir(true, false);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	return cb_rm_steps_new(fd, state_layout, ret);
}

void cb_state_trash_empty(void)
{
	_cleanup_close_ int fd = open_run_dir(true, false);
	if (fd >= 0)
		(void)cb_rm_entries_at(fd, state_layout, NULL);
}

static const char *const ns_names[] = {"pid", "mnt", "uts", "ipc", "net", "cgroup", "user"};

int cb_state_write(int dirfd, const struct cb_state *st)
{
	json_t *j = json_object(), *ns = json_object(), *argv = json_array();
	if (!j || !ns || !argv) {
		json_decref(j);
		json_decref(ns);
		json_decref(argv);
		return -ENOMEM;
	}
	json_object_set_new(j, "status", json_string(cb_state_status_name(st->status)));
	json_object_set_new(j, "pid", json_integer(st->pid));
	json_object_set_new(j, "pid_start", json_integer((json_int_t)st->pid_start));
	json_object_set_new(j, "supervisor", json_integer(st->supervisor));
	json_object_set_new(j, "supervisor_start", json_integer((json_int_t)st->supervisor_start));
	json_object_set_new(j, "cgroup", json_string(st->cgroup));
	if (st->pid > 0)
		for (size_t i = 0; i < ELEMENTSOF(ns_names); i++) {
			char p[64];
			snprintf(p, sizeof(p), "/proc/%d/ns/%s", (int)st->pid, ns_names[i]);
			json_object_set_new(ns, ns_names[i], json_string(p));
		}
	json_object_set_new(j, "ns", ns);
	for (char **a = st->argv; a && *a; a++)
		json_array_append_new(argv, json_string(*a));
	json_object_set_new(j, "argv", argv);
	if (st->user)
		json_object_set_new(j, "user", json_string(st->user));
	if (st->workdir)
		json_object_set_new(j, "workdir", json_string(st->workdir));
	json_object_set_new(j, "exit_code", json_integer(st->exit_code));
	/* How to stop it matters only while it runs. */
	if (st->status == CB_STATE_RUNNING && st->stop_signal > 0)
		json_object_set_new(j, "stop_signal", json_integer(st->stop_signal));
	if (st->status == CB_STATE_RUNNING && st->stop_timeout >= 0)
		json_object_set_new(j, "stop_timeout", json_integer(st->stop_timeout));
	json_object_set_new(j, "oom", json_boolean(st->oom));
	json_object_set_new(j, "started", json_integer(st->started));
	json_object_set_new(j, "finished", json_integer(st->finished));
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text)
		return -ENOMEM;
	/* No fsync: the state of running processes means nothing after a
	 * reboot, and where /run is not a tmpfs (this machine's is ext4) the
	 * two fsyncs cost every run about a millisecond. The rename keeps a
	 * reader from seeing half a file. */
	int r = cb_write_file_replace_at(dirfd, "state", text, strlen(text), 0600);
	free(text);
	return r;
}

static char *dup_str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? strdup(s) : NULL;
}

int cb_state_read(int dirfd, struct cb_state *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = cb_read_file_at(dirfd, "state", 1 << 20, &text, NULL);
	if (r < 0)
		return r;
	json_t *j = json_loads(text, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return -EBADMSG;
	}
	struct cb_state st = {0};
	const char *status = json_string_value(json_object_get(j, "status"));
	for (size_t i = 0; status && i < ELEMENTSOF(status_names); i++)
		if (strcmp(status, status_names[i]) == 0)
			st.status = (enum cb_state_status)i;
	st.pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	st.pid_start = (uint64_t)json_integer_value(json_object_get(j, "pid_start"));
	st.supervisor = (pid_t)json_integer_value(json_object_get(j, "supervisor"));
	st.supervisor_start = (uint64_t)json_integer_value(json_object_get(j, "supervisor_start"));
	snprintf(st.cgroup, sizeof(st.cgroup), "%s",
		 json_string_value(json_object_get(j, "cgroup")) ?: "");
	json_t *argv = json_object_get(j, "argv");
	size_t n = json_array_size(argv);
	if (n) {
		st.argv = calloc(n + 1, sizeof(char *));
		for (size_t i = 0; st.argv && i < n; i++)
			st.argv[i] = strdup(json_string_value(json_array_get(argv, i)) ?: "");
	}
	st.user = dup_str(j, "user");
	st.workdir = dup_str(j, "workdir");
	st.exit_code = (int)json_integer_value(json_object_get(j, "exit_code"));
	st.stop_signal = (int)json_integer_value(json_object_get(j, "stop_signal"));
	json_t *tmo = json_object_get(j, "stop_timeout");
	st.stop_timeout = json_is_integer(tmo) ? (int)json_integer_value(tmo) : -1;
	st.oom = json_is_true(json_object_get(j, "oom"));
	st.started = json_integer_value(json_object_get(j, "started"));
	st.finished = json_integer_value(json_object_get(j, "finished"));
	json_decref(j);
	*ret = st;
	return 0;
}

/* The lock is the state directory itself (flock works on directories):
 * no lock file to make and remove at every start. */
int cb_state_open_lock(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

bool cb_state_supervised(int dirfd)
{
	_cleanup_close_ int fd = cb_state_open_lock(dirfd);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return false; /* closing fd drops our probe */
	return errno == EWOULDBLOCK;
}

uint64_t cb_proc_start_time(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *text = NULL;
	if (pid <= 0 || cb_read_file_at(AT_FDCWD, path, 4096, &text, NULL) < 0)
		return 0;
	return cb_proc_stat_field(text, 22); /* starttime */
}

int cb_proc_open_checked(pid_t pid, uint64_t start)
{
	if (pid <= 0)
		return -ESRCH;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	/* The pidfd pins the process: checking after opening it is race-free.
	 * A state without a start time cannot tell its process from a pid
	 * reused since: not trusted. */
	if (!start || cb_proc_start_time(pid) != start) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

/* An empty state directory nobody holds: its starter died before it wrote
 * anything (cb_state_open_locked); it tells nothing. Removed under its
 * lock: a starter that locks it after finds it gone, and makes another. */
static void remove_if_abandoned(int base, const char *name, int fd)
{
	_cleanup_close_ int lock = cb_state_open_lock(fd);
	if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0 && cb_dir_is_empty(fd) == 1)
		(void)unlinkat(base, name, AT_REMOVEDIR);
}

void cb_state_prune(int min_age_s)
{
	cb_state_trash_empty();
	_cleanup_free_ char *base = NULL;
	if (cb_state_base_dir(&base) < 0)
		return;
	_cleanup_closedir_ DIR *d = opendir(base);
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat sst;
		/* Half made by a starter killed before it renamed it into place
		 * (make_locked: a rename follows its mkdir at once). */
		if (de->d_type == DT_DIR && strncmp(de->d_name, ".new-", 5) == 0) {
			if (fstatat(dirfd(d), de->d_name, &sst, AT_SYMLINK_NOFOLLOW) == 0 &&
			    now - sst.st_mtime >= min_age_s)
				(void)cb_rm_rf_at(dirfd(d), de->d_name);
			continue;
		}
		if (de->d_type != DT_DIR || strlen(de->d_name) != 64)
			continue;
		_cleanup_close_ int fd =
		    openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstatat(fd, "state", &sst, 0) < 0) {
			if (errno == ENOENT && fstat(fd, &sst) == 0 &&
			    now - sst.st_mtime >= min_age_s)
				remove_if_abandoned(dirfd(d), de->d_name, fd);
			continue;
		}
		if (now - sst.st_mtime < min_age_s)
			continue;
		struct cb_state st;
		if (cb_state_read(fd, &st) < 0)
			continue;
		bool gone = st.status == CB_STATE_REMOVED && !cb_state_supervised(fd);
		cb_state_release(&st);
		if (gone)
			cb_rm_rf_at(dirfd(d), de->d_name);
	}
}

int cb_state_record_exit(const char *id, char *const *argv, int64_t started, int exit_code,
			 bool oom)
{
	_cleanup_close_ int dirfd = -1;
	int r = cb_state_open(id, true, &dirfd);
	if (r < 0)
		return r;
	struct cb_state state = {.status = CB_STATE_EXITED,
				 .exit_code = exit_code,
				 .oom = oom,
				 .argv = (char **)argv,
				 .started = started,
				 .finished = time(NULL)};
	return cb_state_write(dirfd, &state);
}
