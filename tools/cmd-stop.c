/* cowbox stop [-t SECS] CONTAINER...: the container's stop signal
 * (--stop-signal, the image's StopSignal, else SIGTERM), then SIGKILL after
 * SECS (default: its --stop-timeout, else 10); returns once the supervisor
 * has reaped the container and unmounted it, so a `rm` right after
 * succeeds. */
#include "cgroup.h"
#include "cli.h"
#include "supervisor.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int cli_container_stop(const struct cb_container *ctr, const struct cb_state *st, long secs)
{
	/* secs, else the container's --stop-timeout, else 10; its stop signal
	 * (--stop-signal, the image's StopSignal), else SIGTERM. */
	if (secs < 0)
		secs = st->stop_timeout >= 0 ? st->stop_timeout : 10;
	int sig = st->stop_signal > 0 ? st->stop_signal : SIGTERM;
	if (st->status != CB_STATE_RUNNING)
		return 0;
	/* A paused container sees the signal once thawed: it is sent, the
	 * container thawed (as docker does), then waited for. */
	bool paused = cb_cgroup_frozen(st->cgroup);
	int r = cli_container_signal(st, sig, paused ? -1 : (int)secs * 1000);
	if (paused && r == 0) {
		(void)cb_cgroup_freeze(st->cgroup, false, NULL); /* else SIGKILL thaws */
		r = cli_container_signal(st, 0, (int)secs * 1000);
	}
	if (r == 0)
		r = cli_container_signal(st, SIGKILL, -1);
	cli_state_wait_unsupervised(ctr->id);
	return r == -ESRCH ? 0 : r;
}

static int stop_one(struct cb_cli *cli, struct cb_store *s, const char *what,
		    struct cb_container *ctr, struct cb_state *st, void *opaque)
{
	(void)cli;
	(void)s;
	int r = cli_container_stop(ctr, st, *(long *)opaque);
	if (r < 0)
		return cli_fail(NULL, r, "stop %s", what);
	printf("%s\n", what);
	return 0;
}

int cli_stop_options(const char *verb, int argc, char **argv, long *ret_secs)
{
	static const struct option opts[] = {{"time", required_argument, NULL, 't'}, {0}};
	*ret_secs = -1;
	int c;
	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		char *end;
		if (c != 't')
			return cli_usage(verb, true);
		*ret_secs = strtol(optarg, &end, 10);
		if (*end || end == optarg || *ret_secs < 0 || *ret_secs > 86400)
			return cli_error("%s -t %s: expected a number of seconds", verb, optarg);
	}
	return optind < argc ? 0 : cli_usage(verb, true);
}

int cmd_stop(struct cb_cli *cli, int argc, char **argv)
{
	long secs;
	int ret = cli_stop_options("stop", argc, argv, &secs);
	if (ret != 0)
		return ret;
	return cli_for_each_container(cli, "stop", argv + optind, argc - optind, stop_one, &secs);
}
