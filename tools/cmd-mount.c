/* cowbox mount CONTAINER: mount its rootfs (if it is not) and print the
 * path; the storage driver comes from --storage-driver. A container that
 * runs in the foreground has its rootfs only in its own mount namespace
 * (docs/runtime.md): a second overlay on the same upper dir would be
 * unsafe, so its root as the host sees it, /proc/PID/root, is printed. */
#include "cli.h"
#include "container.h"
#include "supervisor.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_mount(struct cb_cli *cli, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage("mount", true);
	enum cb_driver_kind kind;
	if (cb_driver_parse(cli->storage_driver, &kind) < 0)
		return cli_error("--storage-driver %s: expected overlay or fuse", cli->storage_driver);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_container *ctr = NULL;
	struct cb_state st;
	int ret = cli_container_lookup(cli, s, "mount", argv[1], &ctr, &st);
	if (ret != 0)
		return ret;
	_cleanup_free_ char *path = NULL;
	struct cb_error err = {0};
	int r = 0;
	if (st.status == CB_STATE_RUNNING && st.pid > 0 && !cb_container_is_mounted(s, ctr->id)) {
		if (asprintf(&path, "/proc/%d/root", (int)st.pid) < 0)
			r = -ENOMEM;
	} else {
		r = cb_container_mount(s, ctr->id, kind, &path, &err);
	}
	cb_state_release(&st);
	cb_container_free(ctr);
	if (r < 0)
		return cli_fail(&err, r, "mount %s", argv[1]);
	printf("%s\n", path);
	return 0;
}
