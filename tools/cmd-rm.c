/* cowbox rm [-f] CONTAINER...: unmount and remove, with its run-time
 * state. A running container is refused; -f kills it first (and waits for
 * its supervisor to finish). A busy rootfs is an error and the container
 * stays whole; -f detaches it lazily. */
#include "cli.h"
#include "container.h"
#include "supervisor.h"
#include "trash.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>

static int rm_one(struct cb_cli *cli, struct cb_store *s, const char *what,
		  struct cb_container *ctr, struct cb_state *st, void *opaque)
{
	unsigned flags = *(unsigned *)opaque;
	bool running = st->status == CB_STATE_RUNNING;
	if (running && !(flags & CB_REMOVE_FORCE))
		return cli_error("rm %s: container is running (stop it first, or rm -f)", what);
	if (running) {
		cli_container_signal(st, SIGKILL, -1);
		cli_state_wait_unsupervised(ctr->id);
	}
	struct cb_error err = {0};
	int r = cb_container_remove(s, ctr->id, flags, &err);
	/* --rm: its supervisor removed it; or looking it up did, its cowbox
	 * gone (cli_state_get) */
	if (r == -ENOENT && (running || st->status == CB_STATE_REMOVED))
		r = 0;
	if (r < 0)
		return cli_fail(&err, r, "rm %s", what);
	cb_state_remove(ctr->id);
	printf("%s\n", ctr->id);
	return 0;
}

int cmd_rm(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
	unsigned flags = 0;
	int c;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c != 'f')
			return cli_usage("rm", true);
		flags |= CB_REMOVE_FORCE;
	}
	if (optind >= argc)
		return cli_usage("rm", true);
	int ret = cli_for_each_container(cli, "rm", argv + optind, argc - optind, rm_one, &flags);
	/* And what earlier `run --rm`s left to delete (storage/trash.h). */
	if (cli->store)
		(void)cb_trash_empty(cli->store, NULL);
	cb_state_trash_empty();
	return ret;
}
