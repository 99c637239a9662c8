/* cowbox rm [-f] CONTAINER...: unmount and remove, with its run-time
 * state. A running container is refused; -f kills it first (and waits for
 * its supervisor to finish). A busy rootfs is an error and the container
 * stays whole; -f detaches it lazily. */
#include "cli.h"
#include "container.h"
#include "supervisor.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>

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
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	int ret = 0;
	for (int i = optind; i < argc; i++) {
		struct cb_container *ctr = NULL;
		struct cb_state st;
		int r = cli_container_lookup(cli, s, "rm", argv[i], &ctr, &st);
		if (r != 0) {
			ret = r;
			continue;
		}
		char id[CB_CONTAINER_ID_SIZE];
		snprintf(id, sizeof(id), "%s", ctr->id);
		bool running = st.status == CB_STATE_RUNNING;
		if (running && (flags & CB_REMOVE_FORCE)) {
			cli_container_signal(&st, SIGKILL, -1);
			cli_state_wait_unsupervised(id);
		}
		cb_state_release(&st);
		cb_container_free(ctr);
		if (running && !(flags & CB_REMOVE_FORCE)) {
			ret = cli_error("rm %s: container is running (stop it first, or rm -f)",
					argv[i]);
			continue;
		}
		struct cb_error err = {0};
		r = cb_container_remove(s, id, flags, &err);
		if (r == -ENOENT && running)
			r = 0; /* --rm: its supervisor removed it */
		if (r < 0) {
			ret = cli_fail(&err, r, "rm %s", argv[i]);
			continue;
		}
		cb_state_remove(id);
		printf("%s\n", id);
	}
	return ret;
}
