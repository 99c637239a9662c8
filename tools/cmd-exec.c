/* cowbox exec [-d] [-i] [-t] [-e K=V] [-u USER] [-w DIR] [--ns LIST]
 * [--no-cgroup] CONTAINER CMD [ARG...]: run a command in a running
 * container (-d: leave it running there, output discarded). The glue:
 * find its first process (pid checked against its start time), take its
 * environment from /proc/PID/environ and its user, workdir and security
 * settings from what it was started with; runtime/exec.c does the rest. */
#include "cgroup.h"
#include "cli.h"
#include "exec.h"
#include "fsutil.h"
#include "launch.h"
#include "supervisor.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* With --init, pid 1 is cowbox's reaper, which keeps nothing of the
 * caller's environment (cb_proc_hide): the command's is its first child's. */
static pid_t env_pid(pid_t pid, bool init)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	_cleanup_free_ char *kids = NULL;
	size_t len = 0;
	if (!init || cb_read_file_at(AT_FDCWD, path, 4096, &kids, &len) < 0)
		return pid;
	long child = strtol(kids, NULL, 10);
	return child > 0 ? (pid_t)child : pid;
}

/* The container's environment, then -e over it. */
static int fill_env(struct cb_spawn_spec *spec, pid_t pid, char **extra, size_t n_extra)
{
	for (size_t i = 0; i < spec->n_env; i++)
		free(spec->env[i]);
	free(spec->env);
	spec->env = NULL;
	spec->n_env = 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = cb_read_file_at(AT_FDCWD, path, 1 << 20, &data, &len);
	if (r < 0)
		return r;
	for (size_t off = 0; off < len; off += strlen(data + off) + 1)
		if (strchr(data + off, '=') && (r = cb_spawn_spec_add_env(spec, data + off)) < 0)
			return r;
	for (size_t i = 0; i < n_extra; i++)
		if ((r = cb_spawn_spec_add_env(spec, extra[i])) < 0)
			return r;
	return 0;
}

int cmd_exec(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_NS = 256, OPT_NO_CGROUP };
	static const struct option opts[] = {
	    {"detach", no_argument, NULL, 'd'},
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"env", required_argument, NULL, 'e'},
	    {"user", required_argument, NULL, 'u'},
	    {"workdir", required_argument, NULL, 'w'},
	    {"ns", required_argument, NULL, OPT_NS},
	    {"no-cgroup", no_argument, NULL, OPT_NO_CGROUP},
	    {0},
	};
	bool interactive = false, tty = false, no_cgroup = false, detach = false;
	const char *user = NULL, *workdir = NULL;
	_cleanup_free_ char **env = calloc((size_t)argc, sizeof(char *));
	size_t n_env = 0;
	unsigned ns = CB_NS_ALL;
	int c;
	if (!env)
		return cli_error("exec: out of memory");
	while ((c = getopt_long(argc, argv, "+dite:u:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			detach = true;
			break;
		case 'i':
			interactive = true;
			break;
		case 't':
			tty = true;
			break;
		case 'e':
			env[n_env++] = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'w':
			if (optarg[0] != '/')
				return cli_error("exec -w %s: the directory must be absolute",
						 optarg);
			workdir = optarg;
			break;
		case OPT_NS:
			if (cb_parse_ns_list(optarg, &ns) < 0)
				return cli_error("exec --ns %s: expected a list of "
						 "user,pid,mnt,uts,ipc,net,cgroup",
						 optarg);
			break;
		case OPT_NO_CGROUP:
			no_cgroup = true;
			break;
		default:
			return cli_usage("exec", true);
		}
	}
	if (argc - optind < 2)
		return cli_usage("exec", true);
	if (detach && (interactive || tty))
		return cli_error("exec -d: not with -i or -t (nothing would read or show them)");
	/* Our go-between is seen by the container until it execs. */
	(void)cli_reexec_readonly(cli);
	const char *what = argv[optind];
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_container *ctr = NULL;
	struct cb_state st;
	int ret = cli_container_lookup(cli, s, "exec", what, &ctr, &st);
	if (ret != 0)
		return ret;
	_cleanup_strv_ char **args = NULL;
	_cleanup_close_ int pidfd = -1;
	struct cb_run_options o = {0};
	if (st.status != CB_STATE_RUNNING ||
	    (pidfd = cb_proc_open_checked(st.pid, st.pid_start)) < 0) {
		ret = cli_error("exec %s: container is not running", what);
		goto out;
	}
	/* Joining its frozen cgroup would freeze the command too; outside
	 * it (--no-cgroup) a debugger can look at the paused processes. */
	if (!no_cgroup && cb_cgroup_frozen(st.cgroup)) {
		ret = cli_error("exec %s: container is paused: unpause it first (or exec "
				"--no-cgroup, which stays out of its frozen cgroup)",
				what);
		goto out;
	}
	/* Its security settings: the RUN OPTIONS it was started with. */
	ret = cli_run_options_load("exec", ctr->run_json, &o, &args);
	if (ret != 0)
		goto out;
	struct cb_spawn_spec *spec = &o.spec;
	if (fill_env(spec, env_pid(st.pid, spec->init), env, n_env) < 0) {
		ret = cli_error("exec %s: read the container's environment: %m", what);
		goto out;
	}
	spec->argv = argv + optind + 1;
	spec->user = user ? user : st.user;
	spec->workdir = workdir ? workdir : st.workdir;
	spec->interactive = interactive;
	spec->tty = tty;
	struct cb_exec_spec x = {
	    .pid = st.pid,
	    .pidfd = pidfd,
	    .ns = ns,
	    .cgroup = no_cgroup || !st.cgroup[0] ? NULL : st.cgroup,
	    .proc = spec,
	    .detach = detach,
	    .inherit_groups = !user,
	};
	struct cb_error err = {0};
	int code = 125;
	int r = cb_exec_run(&x, &code, &err);
	if (r < 0)
		cli_fail(&err, r, "exec %s", what);
	ret = code;
out:
	run_options_release(&o);
	cb_state_release(&st);
	cb_container_free(ctr);
	return ret;
}
