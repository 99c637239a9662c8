/* cowbox wait CONTAINER...: block until each container has exited (on its
 * supervisor's lock: no polling) and print its exit code. */
#include "cli.h"
#include "supervisor.h"

#include <stdio.h>

int cmd_wait(struct cb_cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage("wait", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	int ret = 0;
	for (int i = 1; i < argc; i++) {
		struct cb_container *ctr = NULL;
		struct cb_state st;
		int r = cli_container_lookup(cli, s, "wait", argv[i], &ctr, &st);
		if (r != 0) {
			ret = r;
			continue;
		}
		if (st.status == CB_STATE_RUNNING) {
			cli_state_wait_unsupervised(ctr->id);
			cb_state_release(&st);
			/* Read again: with --rm the container is gone from the
			 * store, its state says "removed" and keeps the code. */
			_cleanup_close_ int dirfd = -1;
			if (cb_state_open(ctr->id, false, &dirfd) < 0 ||
			    cb_state_read(dirfd, &st) < 0)
				st = (struct cb_state){.status = CB_STATE_CREATED};
			if (st.status == CB_STATE_RUNNING) {
				cb_state_release(&st);
				r = cli_state_get(cli, s, ctr, &st);
			}
		}
		if (st.status == CB_STATE_CREATED)
			ret = cli_error("wait %s: container was never started", argv[i]);
		else
			printf("%d\n", st.exit_code);
		cb_state_release(&st);
		cb_container_free(ctr);
	}
	return ret;
}
