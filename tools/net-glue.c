#include "net-glue.h"
#include "state.h"
#include "container.h"
#include "fsutil.h"
#include "macro.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- finding a running container ---------------------------------------- */

/* A live bridge lease whose name is ref, or whose ID starts with ref (3 or
 * more characters, one match only). */
static int pid_from_leases(const char *run_dir, const char *ref, pid_t *ret_pid)
{
	_cleanup_free_ struct cb_net_lease *leases = NULL;
	size_t n = 0;
	if (cb_net_leases(run_dir, NULL, &leases, &n, NULL) < 0)
		return -ESRCH;
	size_t len = strlen(ref);
	pid_t found = 0;
	unsigned prefix_hits = 0;
	for (size_t i = 0; i < n; i++) {
		if (leases[i].pid <= 0)
			continue;
		if (strcmp(leases[i].name, ref) == 0 || strcmp(leases[i].id, ref) == 0) {
			*ret_pid = leases[i].pid;
			return 0;
		}
		if (len >= 3 && strncmp(leases[i].id, ref, len) == 0) {
			found = leases[i].pid;
			prefix_hits++;
		}
	}
	if (prefix_hits > 1)
		return -EEXIST; /* ambiguous */
	if (prefix_hits == 0)
		return -ESRCH;
	*ret_pid = found;
	return 0;
}

/* Does /proc/PID/cgroup put pid in a cgroup named id (any hierarchy)? */
static bool pid_in_cgroup(int dirfd, const char *pid, const char *id)
{
	char path[64];
	snprintf(path, sizeof(path), "%s/cgroup", pid);
	_cleanup_free_ char *text = NULL;
	if (cb_read_file_at(dirfd, path, 1 << 16, &text, NULL) < 0)
		return false;
	size_t idlen = strlen(id);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		size_t l = strlen(line);
		if (l > idlen && line[l - idlen - 1] == '/' && strcmp(line + l - idlen, id) == 0)
			return true;
	}
	return false;
}

static pid_t parent_of(int dirfd, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "%d/stat", (int)pid);
	_cleanup_free_ char *text = NULL;
	if (cb_read_file_at(dirfd, path, 4096, &text, NULL) < 0)
		return 0;
	char *p = strrchr(text, ')');
	int ppid = 0;
	return p && sscanf(p + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : 0;
}

/* The first process of container id: in its cgroup (cowbox makes one per
 * container, named by its ID), with a parent outside it. */
static int pid_from_cgroup(const char *id, pid_t *ret_pid)
{
	_cleanup_close_ int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;
	DIR *d = fdopendir(dup(procfd));
	if (!d)
		return -errno;
	pid_t pids[256];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < ELEMENTSOF(pids)) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (pid_in_cgroup(procfd, de->d_name, id))
			pids[n++] = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		pid_t pp = parent_of(procfd, pids[i]);
		bool inside = false;
		for (size_t k = 0; k < n && !inside; k++)
			inside = pids[k] == pp;
		if (!inside) {
			*ret_pid = pids[i];
			return 0;
		}
	}
	return -ESRCH;
}

int cli_container_pid(const char *ref, pid_t *ret_pid, void *userdata)
{
	struct cb_cli *cli = userdata;
	_cleanup_free_ char *nd = NULL, *rd = NULL;
	if (cli_net_dirs(cli, &nd, &rd) < 0)
		return -ENOMEM;
	int r = pid_from_leases(rd, ref, ret_pid);
	if (r != -ESRCH)
		return r;
	/* Not on a bridge: a container of the store. Its state under
	 * /run/cowbox names its process (checked against pid reuse); a
	 * container started without state (start -a) is found by its cgroup. */
	struct cb_store *s = cli_store(cli);
	if (!s)
		return -ESRCH;
	char id[CB_CONTAINER_ID_SIZE];
	if (cb_container_resolve(s, ref, id, NULL) < 0)
		return -ESRCH;
	_cleanup_close_ int dirfd = -1;
	struct cb_state st = {0};
	if (cb_state_open(id, false, &dirfd) >= 0 && cb_state_read(dirfd, &st) >= 0) {
		bool live = st.status == CB_STATE_RUNNING && st.pid > 0 &&
			    cb_proc_start_time(st.pid) == st.pid_start;
		pid_t pid = st.pid;
		cb_state_release(&st);
		if (live) {
			*ret_pid = pid;
			return 0;
		}
	}
	return pid_from_cgroup(id, ret_pid);
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

/* cli_container_pid() of C, an error naming what (the reference as
 * the user wrote it) when none or more than one runs. */
static int running_pid(struct cb_cli *cli, const char *c, const char *what, pid_t *ret_pid,
		       struct cb_error *err)
{
	int r = cli_container_pid(c, ret_pid, cli);
	if (r == -EEXIST)
		return cb_error_set(err, EEXIST, "%s: more than one container matches", what);
	if (r < 0)
		return cb_error_set(err, ESRCH, "%s: no such container running", what);
	return 0;
}

int cli_net_open_netns(struct cb_cli *cli, const char *ref, int *ret_fd, struct cb_error *err)
{
	const char *c = strncmp(ref, "container:", 10) == 0 ? ref + 10 : ref;
	bool is_name = strncmp(ref, "ns:", 3) != 0 && c[0] != '/' && c[0] != '.' && !all_digits(c);
	if (!is_name)
		return cb_net_open_netns(ref, NULL, NULL, ret_fd, err);
	pid_t pid;
	int r = running_pid(cli, c, c, &pid, err);
	if (r < 0)
		return r;
	char num[24];
	snprintf(num, sizeof(num), "%d", (int)pid);
	r = cb_net_open_netns(num, NULL, NULL, ret_fd, err);
	if (r < 0)
		return cb_error_set(err, -r, "%s: its process %s is gone", c, num);
	return 0;
}

/* ---- the spawn hook ----------------------------------------------------- */

static int hook_attach(void *userdata, pid_t pid, struct cb_error *err)
{
	struct cli_net *n = userdata;
	return cb_net_connect(n->cfg, &n->lease, pid, -1, err);
}

static void hook_detach(void *userdata)
{
	struct cli_net *n = userdata;
	if (!n->reserved)
		return;
	n->reserved = false;
	n->detach_r = cb_net_detach(n->cfg, &n->lease, &n->detach_err);
}

static const unsigned shared_ns[3] = {CB_NS_PID, CB_NS_IPC, CB_NS_UTS};

/* --pid/--ipc/--uts container:C: open C's namespace (its first process's,
 * checked against pid reuse once open) and point the spec at the fd. */
static int open_shared(struct cb_cli *cli, struct cb_spawn_spec *spec, struct cli_net *n,
		       struct cb_error *err)
{
	for (size_t i = 0; i < ELEMENTSOF(shared_ns); i++) {
		int idx = cb_ns_index(shared_ns[i]);
		const char *ref = spec->ns_path[idx];
		if (!ref || strncmp(ref, "container:", 10) != 0)
			continue;
		const char *name = cb_ns_name(shared_ns[i]);
		char what[160];
		snprintf(what, sizeof(what), "--%s %s", name, ref);
		pid_t pid;
		int r = running_pid(cli, ref + 10, what, &pid, err);
		if (r < 0)
			return r;
		uint64_t start = cb_proc_start_time(pid);
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || cb_proc_start_time(pid) != start) {
			if (fd >= 0)
				close(fd);
			return cb_error_set(err, ESRCH, "%s: its process %d is gone", what,
					    (int)pid);
		}
		n->shared_fds[i] = fd;
		snprintf(n->shared_paths[i], sizeof(n->shared_paths[i]), "/proc/self/fd/%d", fd);
		spec->ns_path[idx] = n->shared_paths[i];
	}
	return 0;
}

int cli_net_prepare(struct cb_cli *cli, struct cb_run_options *o, struct cli_net *n,
		    struct cb_error *err)
{
	memset(n, 0, sizeof(*n));
	n->share_fd = -1;
	for (size_t i = 0; i < ELEMENTSOF(n->shared_fds); i++)
		n->shared_fds[i] = -1;
	n->cfg = &o->net;
	struct cb_spawn_spec *spec = &o->spec;
	int r = open_shared(cli, spec, n, err);
	if (r < 0)
		goto fail;
	uint64_t t0 = cb_now_ns();
	struct cb_net_config *cfg = &o->net;
	bool configured = cfg->mode_set || cfg->n_ports > 0;
	/* Nothing to do: no network asked for, and no name for /etc/hosts
	 * (the runtime's default one says the hostname). */
	if (!o->name && (!configured || cfg->mode == CB_NET_NONE || cfg->mode == CB_NET_HOST))
		return 0;
	r = cli_net_dirs(cli, &n->networks_dir, &n->run_dir);
	if (r < 0)
		return cb_error_errno(err, -r, "network directories");
	cfg->networks_dir = n->networks_dir;
	cfg->run_dir = n->run_dir;
	cfg->name = o->name;

	if (configured && cfg->mode == CB_NET_SHARE && strncmp(cfg->share, "container:", 10) == 0) {
		r = cli_net_open_netns(cli, cfg->share, &n->share_fd, err);
		if (r < 0)
			goto fail;
		snprintf(n->share_path, sizeof(n->share_path), "/proc/self/fd/%d", n->share_fd);
		spec->ns_path[cb_ns_index(CB_NS_NET)] = n->share_path;
	}
	if (configured && cfg->mode == CB_NET_BRIDGE) {
		r = cb_net_reserve(cfg, spec->id, &n->lease, err);
		if (r < 0)
			goto fail;
		n->reserved = true;
		n->hook = (struct cb_spawn_hook){
		    .attach = hook_attach, .detach = hook_detach, .userdata = n};
		spec->net_hook = &n->hook;
	}
	/* The hostname as the runtime picks it. */
	char hostname[65];
	snprintf(hostname, sizeof(hostname), "%.*s", spec->hostname ? 64 : 12,
		 spec->hostname ? spec->hostname : spec->id);
	r = cb_net_hosts(n->reserved ? &n->lease : NULL, hostname, o->name, &n->hosts);
	if (r < 0) {
		cb_error_errno(err, -r, "/etc/hosts");
		goto fail;
	}
	spec->etc_hosts = n->hosts;
	cli_log(cli, CB_LOG_DEBUG, "run: network prepared in %.3f ms",
		(double)(cb_now_ns() - t0) / 1e6);
	return 0;
fail:
	spec->net_hook = NULL;
	spec->etc_hosts = NULL;
	cli_net_release(n, NULL);
	return r;
}

int cli_net_release(struct cli_net *n, struct cb_error *err)
{
	hook_detach(n);
	int r = n->detach_r;
	if (r < 0 && err)
		*err = n->detach_err;
	if (n->cfg) { /* a zeroed struct has share_fd 0, not an fd of ours */
		closep(&n->share_fd);
		for (size_t i = 0; i < ELEMENTSOF(n->shared_fds); i++)
			closep(&n->shared_fds[i]);
	}
	free(n->hosts);
	free(n->networks_dir);
	free(n->run_dir);
	if (n->cfg) {
		n->cfg->networks_dir = NULL;
		n->cfg->run_dir = NULL;
	}
	memset(n, 0, sizeof(*n));
	n->share_fd = -1;
	for (size_t i = 0; i < ELEMENTSOF(n->shared_fds); i++)
		n->shared_fds[i] = -1;
	return r;
}
