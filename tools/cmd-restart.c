/* cowbox restart [-t SECS] CONTAINER...: stop each container that runs (as
 * `stop`: its stop signal, SIGKILL after SECS) and start it again detached
 * (as `start`), with the options it was created with; one not running is
 * just started. Prints each name once it runs again. */
#include "cli.h"
#include "supervisor.h"

#include <getopt.h>

/* Stop it when it runs; 0 or an exit code after printing. */
static int stop_for_restart(struct cb_cli *cli, struct cb_store *s, const char *what, long secs)
{
	struct cb_container *ctr = NULL;
	struct cb_state st;
	int ret = cli_container_lookup(cli, s, "restart", what, &ctr, &st);
	if (ret != 0)
		return ret;
	/* Its supervisor removes a --rm container when it stops. */
	if (ctr->is_volatile)
		ret = cli_error("restart %s: a --rm container is removed when it stops: run it "
				"again instead",
				what);
	int r = ret ? 0 : cli_container_stop(ctr, &st, secs);
	if (r < 0)
		ret = cli_fail(NULL, r, "restart %s: stop", what);
	cb_state_release(&st);
	cb_container_free(ctr);
	return ret;
}

int cmd_restart(struct cb_cli *cli, int argc, char **argv)
{
	long secs;
	int ret = cli_stop_options("restart", argc, argv, &secs);
	if (ret != 0)
		return ret;
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	for (int i = optind; i < argc; i++) {
		int r = stop_for_restart(cli, s, argv[i], secs);
		if (r == 0)
			r = cli_container_start(cli, s, argv[i], false);
		if (r < 0)
			return 0; /* in a supervisor that has finished */
		if (r != 0)
			ret = r;
	}
	return ret;
}
