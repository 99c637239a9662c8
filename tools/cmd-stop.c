/* cowbox stop [-t SECS] CONTAINER...: SIGTERM, then SIGKILL after SECS
 * (default 10); returns once the supervisor has reaped the container and
 * unmounted it, so a `rm` right after succeeds. */
#include "cli.h"
#include "supervisor.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int cmd_stop(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"time", required_argument, NULL, 't'}, {0}};
	long secs = 10;
	int c;
	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		char *end;
		if (c != 't')
			return cli_usage("stop", true);
		secs = strtol(optarg, &end, 10);
		if (*end || end == optarg || secs < 0 || secs > 86400)
			return cli_error("stop -t %s: expected a number of seconds", optarg);
	}
	if (optind >= argc)
		return cli_usage("stop", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	int ret = 0;
	for (int i = optind; i < argc; i++) {
		struct cb_container *ctr = NULL;
		struct cb_state st;
		int r = cli_container_lookup(cli, s, "stop", argv[i], &ctr, &st);
		if (r != 0) {
			ret = r;
			continue;
		}
		if (st.status == CB_STATE_RUNNING) {
			r = cli_container_signal(&st, SIGTERM, (int)secs * 1000);
			if (r == 0)
				r = cli_container_signal(&st, SIGKILL, -1);
			if (r < 0 && r != -ESRCH)
				ret = cli_fail(NULL, r, "stop %s", argv[i]);
			cli_state_wait_unsupervised(ctr->id);
		}
		if (ret == 0 || r >= 0 || r == -ESRCH)
			printf("%s\n", argv[i]);
		cb_state_release(&st);
		cb_container_free(ctr);
	}
	return ret;
}
