/* cowbox kill [-s SIGNAL] CONTAINER...: send a signal (default KILL) to
 * each running container's first process. */
#include "cli.h"
#include "supervisor.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "KILL", "SIGKILL", "kill" or "9". */
static int parse_signal(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (!*end && end != s)
		return n > 0 && n < NSIG ? (int)n : -EINVAL;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int i = 1; i < NSIG; i++) {
		const char *name = sigabbrev_np(i);
		if (name && strcasecmp(name, s) == 0)
			return i;
	}
	return -EINVAL;
}

int cmd_kill(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"signal", required_argument, NULL, 's'}, {0}};
	int sig = SIGKILL, c;
	while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		if (c != 's')
			return cli_usage("kill", true);
		if ((sig = parse_signal(optarg)) < 0)
			return cli_error("kill -s %s: unknown signal", optarg);
	}
	if (optind >= argc)
		return cli_usage("kill", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	int ret = 0;
	for (int i = optind; i < argc; i++) {
		struct cb_container *ctr = NULL;
		struct cb_state st;
		int r = cli_container_lookup(cli, s, "kill", argv[i], &ctr, &st);
		if (r != 0) {
			ret = r;
			continue;
		}
		if (st.status != CB_STATE_RUNNING)
			ret = cli_error("kill %s: container is not running", argv[i]);
		else if ((r = cli_container_signal(&st, sig, -1)) < 0)
			ret = r == -ESRCH ? cli_error("kill %s: container is not running", argv[i])
					  : cli_fail(NULL, r, "kill %s", argv[i]);
		else
			printf("%s\n", argv[i]);
		cb_state_release(&st);
		cb_container_free(ctr);
	}
	return ret;
}
