#include "cli.h"
int cmd_df(struct cb_cli *cli, int argc, char **argv) { return cli_error("todo"); }
