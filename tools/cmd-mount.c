/* cowbox mount CONTAINER: mount its rootfs (if it is not) and print the
 * path; the storage driver comes from --storage-driver. */
#include "cli.h"
#include "container.h"

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
	struct cb_error err = {0};
	char id[CB_CONTAINER_ID_SIZE];
	int r = cb_container_resolve(s, argv[1], id, &err);
	_cleanup_free_ char *path = NULL;
	if (r >= 0)
		r = cb_container_mount(s, id, kind, &path, &err);
	if (r < 0)
		return cli_fail(&err, r, "mount %s", argv[1]);
	printf("%s\n", path);
	return 0;
}
