#include "cli.h"
#include "config.h"

#include <stdio.h>

int cmd_version(struct cb_cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage("version", true);
	printf("cowbox version %s\n", COWBOX_VERSION);
	return 0;
}
