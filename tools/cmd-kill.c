/* cowbox kill [-s SIGNAL] CONTAINER...: send a signal (default KILL) to
 * each running container's first process. */
#include "cgroup.h"
#include "cli.h"
#include "spec.h"
#include "supervisor.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int kill_one(struct cb_cli *cli, struct cb_store *s, const char *what,
		    struct cb_container *ctr, struct cb_state *st, void *opaque)
{
	int sig = *(int *)opaque, r;
	if (st->status != CB_STATE_RUNNING)
		return cli_error("kill %s: container is not running", what);
	/* SIGKILL ends a paused container (cli_container_signal thaws it);
	 * another signal would wait, unseen, until it is unpaused. */
	if (sig != SIGKILL && cb_cgroup_frozen(st->cgroup))
		return cli_error("kill %s: container is paused: unpause it first (SIGKILL "
				 "ends it as it is)",
				 what);
	if ((r = cli_container_signal(st, sig, -1)) < 0)
		return r == -ESRCH ? cli_error("kill %s: container is not running", what)
				   : cli_fail(NULL, r, "kill %s", what);
	printf("%s\n", what);
	return 0;
}

int cmd_kill(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"signal", required_argument, NULL, 's'}, {0}};
	int sig = SIGKILL, c;
	while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		if (c != 's')
			return cli_usage("kill", true);
		if ((sig = cb_parse_signal(optarg)) < 0)
			return cli_error("kill -s %s: unknown signal", optarg);
	}
	if (optind >= argc)
		return cli_usage("kill", true);
	return cli_for_each_container(cli, "kill", argv + optind, argc - optind, kill_one, &sig);
}
