/* cowbox top CONTAINER: the processes of a running container, numbered as
 * its pid namespace and as the host see them: every host process in the
 * pid namespace of its first process, the commands `exec` started there
 * included. Users are named from the container's own /etc/passwd, through
 * its user namespace's map when it has one. */
#include "cli.h"
#include "fsutil.h"
#include "idmap.h"
#include "procs.h"
#include "supervisor.h"
#include "user.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct top_proc {
	pid_t host, pid, ppid_host; /* pid: in the container's namespace */
	long uid;		    /* as the container sees it; -1 unknown */
	unsigned long long ticks;   /* user + system */
	char cmd[256];
};

/* The last number of a "Key:\t1\t2..." line of /proc/PID/status. */
static long status_field(const char *status, const char *key, bool last)
{
	const char *p = strstr(status, key);
	if (!p)
		return -1;
	p += strlen(key);
	long v = -1;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!isdigit((unsigned char)*p))
			return v;
		char *end;
		v = strtol(p, &end, 10);
		p = end;
		if (!last)
			return v;
	}
}

static bool read_proc(pid_t host, const struct cb_idmap *map, size_t n_map, struct top_proc *ret)
{
	char path[64];
	_cleanup_free_ char *status = NULL, *stat = NULL, *cmdline = NULL;
	size_t clen = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)host);
	if (cb_read_file_at(AT_FDCWD, path, 1 << 16, &status, NULL) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)host);
	if (cb_read_file_at(AT_FDCWD, path, 1 << 12, &stat, NULL) < 0)
		return false;
	*ret = (struct top_proc){.host = host};
	ret->pid = (pid_t)status_field(status, "\nNSpid:", true);
	ret->ppid_host = (pid_t)status_field(status, "\nPPid:", false);
	long uid = status_field(status, "\nUid:", false);
	ret->uid = uid < 0 ? -1 : n_map ? cb_idmap_to_inside(map, n_map, (uint32_t)uid) : uid;
	ret->ticks = cb_proc_stat_field(stat, 14) + cb_proc_stat_field(stat, 15); /* utime, stime */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)host);
	if (cb_read_file_at(AT_FDCWD, path, 1 << 16, &cmdline, &clen) >= 0 && clen > 0) {
		for (size_t i = 0; i + 1 < clen; i++)
			if (cmdline[i] == '\0')
				cmdline[i] = ' ';
		snprintf(ret->cmd, sizeof(ret->cmd), "%s", cmdline);
	} else {
		/* A kernel thread or a zombie: its name, as ps shows it. */
		const char *a = strchr(stat, '('), *p = strrchr(stat, ')');
		int n = a && p && p > a ? (int)(p - a - 1) : 0;
		snprintf(ret->cmd, sizeof(ret->cmd), "[%.*s]", n, a ? a + 1 : "");
	}
	return ret->pid > 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct top_proc *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Every process of the container (cli_container_pids), sorted by the
 * container's pids; *ret freed by the caller. */
static int list_procs(pid_t first, const char *cgroup, struct top_proc **ret, size_t *ret_n)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t np = 0;
	int r = cli_container_pids(first, cgroup, &pids, &np);
	if (r < 0)
		return r;
	struct cb_idmap map[CB_IDMAP_MAX];
	size_t n_map = cb_idmap_read(first, "uid_map", map);
	struct top_proc *v = calloc(np ? np : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < np; i++)
		if (read_proc(pids[i], map, n_map, &v[n]))
			n++;
	qsort(v, n, sizeof(*v), by_pid);
	*ret = v;
	*ret_n = n;
	return 0;
}

int cmd_top(struct cb_cli *cli, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage("top", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_container *ctr = NULL;
	struct cb_state st;
	int ret = cli_container_lookup(cli, s, "top", argv[1], &ctr, &st);
	if (ret != 0)
		return ret;
	_cleanup_close_ int pidfd = -1;
	_cleanup_free_ struct top_proc *v = NULL;
	size_t n = 0;
	int r = 0;
	if (st.status != CB_STATE_RUNNING ||
	    (pidfd = cb_proc_open_checked(st.pid, st.pid_start)) < 0)
		ret = cli_error("top %s: container is not running", argv[1]);
	else if ((r = list_procs(st.pid, st.cgroup, &v, &n)) < 0)
		ret = cli_fail(NULL, r, "top %s", argv[1]);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root/etc/passwd", (int)st.pid);
	_cleanup_free_ char *passwd = NULL;
	if (ret == 0)
		(void)cb_read_file_at(AT_FDCWD, path, 1 << 20, &passwd, NULL);
	cb_state_release(&st);
	cb_container_free(ctr);
	if (ret != 0)
		return ret;
	long hz = sysconf(_SC_CLK_TCK);
	printf("%-8s %-9s %-8s %-12s %8s  %s\n", "PID", "HOST PID", "PPID", "USER", "TIME",
	       "COMMAND");
	for (size_t i = 0; i < n; i++) {
		/* The parent as the container numbers it: 0 when outside it. */
		pid_t ppid = 0;
		for (size_t k = 0; k < n; k++)
			if (v[k].host == v[i].ppid_host)
				ppid = v[k].pid;
		/* Named from the container's passwd, else the number ("?": the
		 * uid is not mapped into its user namespace). */
		char user[64] = "?";
		if (v[i].uid >= 0 && !cb_user_name(passwd, (uid_t)v[i].uid, user, sizeof(user)))
			snprintf(user, sizeof(user), "%ld", v[i].uid);
		unsigned long long secs = hz > 0 ? v[i].ticks / (unsigned long long)hz : 0;
		char t[32];
		snprintf(t, sizeof(t), "%llu:%02llu:%02llu", secs / 3600, secs / 60 % 60,
			 secs % 60);
		printf("%-8d %-9d %-8d %-12s %8s  %s\n", (int)v[i].pid, (int)v[i].host, (int)ppid,
		       user, t, v[i].cmd);
	}
	return 0;
}
