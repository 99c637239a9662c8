/* cowbox wait CONTAINER...: block until each container has exited (on its
 * supervisor's lock: no polling) and print its exit code. */
#include "cli.h"
#include "supervisor.h"

#include <stdio.h>

static int wait_one(struct cb_cli *cli, struct cb_store *s, const char *what,
		    struct cb_container *ctr, struct cb_state *st, void *opaque)
{
	(void)opaque;
	if (st->status == CB_STATE_RUNNING) {
		cli_state_wait_unsupervised(ctr->id);
		cb_state_release(st);
		/* Read again: with --rm the container is gone from the store,
		 * its state says "removed" and keeps the code. */
		_cleanup_close_ int dirfd = -1;
		if (cb_state_open(ctr->id, false, &dirfd) < 0 || cb_state_read(dirfd, st) < 0)
			*st = (struct cb_state){.status = CB_STATE_CREATED};
		if (st->status == CB_STATE_RUNNING) {
			cb_state_release(st);
			if (cli_state_get(cli, s, ctr, st) < 0)
				*st = (struct cb_state){.status = CB_STATE_CREATED};
		}
	}
	if (st->status == CB_STATE_CREATED)
		return cli_error("wait %s: container was never started", what);
	printf("%d\n", st->exit_code);
	return 0;
}

int cmd_wait(struct cb_cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("wait", true);
	return cli_for_each_container(cli, "wait", argv + 1, argc - 1, wait_one, NULL);
}
