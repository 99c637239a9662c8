/* cowbox pause CONTAINER... / cowbox unpause CONTAINER...: freeze every
 * process of running containers through their cgroup (cgroup.freeze on
 * v2, the freezer hierarchy on v1: runtime/cgroup.c), and thaw them. A
 * paused container shows "(Paused)" in ps; exec and kill with a signal
 * other than SIGKILL refuse it, stop and restart thaw it after their
 * signal, SIGKILL (kill, rm -f) ends it as it is, and exec --no-cgroup (a
 * debugger's) still enters it. */
#include "cgroup.h"
#include "cli.h"
#include "supervisor.h"

#include <stdio.h>
#include <unistd.h>

static int pause_one(struct cb_cli *cli, struct cb_store *s, const char *what,
		     struct cb_container *ctr, struct cb_state *st, void *opaque)
{
	(void)cli;
	(void)s;
	(void)ctr;
	bool freeze = *(bool *)opaque;
	const char *verb = freeze ? "pause" : "unpause";
	int pidfd =
	    st->status == CB_STATE_RUNNING ? cb_proc_open_checked(st->pid, st->pid_start) : -1;
	if (pidfd < 0)
		return cli_error("%s %s: container is not running", verb, what);
	close(pidfd);
	if (!st->cgroup[0])
		return cli_error("%s %s: the container has no cgroup (--no-cgroup) to freeze", verb,
				 what);
	bool frozen = cb_cgroup_frozen(st->cgroup);
	if (freeze == frozen)
		return cli_error("%s %s: container is %s", verb, what,
				 frozen ? "already paused" : "not paused");
	struct cb_error err = {0};
	int r = cb_cgroup_freeze(st->cgroup, freeze, &err);
	if (r < 0)
		return cli_fail(&err, r, "%s %s", verb, what);
	printf("%s\n", what);
	return 0;
}

static int pause_verb(struct cb_cli *cli, int argc, char **argv, bool freeze)
{
	const char *verb = freeze ? "pause" : "unpause";
	if (argc < 2 || argv[1][0] == '-')
		return cli_usage(verb, true);
	return cli_for_each_container(cli, verb, argv + 1, argc - 1, pause_one, &freeze);
}

int cmd_pause(struct cb_cli *cli, int argc, char **argv)
{
	return pause_verb(cli, argc, argv, true);
}

int cmd_unpause(struct cb_cli *cli, int argc, char **argv)
{
	return pause_verb(cli, argc, argv, false);
}
