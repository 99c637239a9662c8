/* cowbox umount [-f] CONTAINER...: unmount rootfs mounts; -f detaches a
 * busy one lazily. */
#include "cli.h"
#include "container.h"

#include <getopt.h>
#include <stdio.h>

int cmd_umount(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
	unsigned flags = 0;
	int c;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c != 'f')
			return cli_usage("umount", true);
		flags |= CB_UNMOUNT_LAZY;
	}
	if (optind >= argc)
		return cli_usage("umount", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	int ret = 0;
	for (int i = optind; i < argc; i++) {
		struct cb_error err = {0};
		char id[CB_CONTAINER_ID_SIZE];
		int r = cb_container_resolve(s, argv[i], id, &err);
		if (r >= 0)
			r = cb_container_unmount(s, id, flags, &err);
		if (r < 0)
			ret = cli_fail(&err, r, "umount %s", argv[i]);
	}
	return ret;
}
