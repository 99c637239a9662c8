#include "cli.h"
int cmd_check(struct cb_cli *cli, int argc, char **argv) { return cli_error("todo"); }
