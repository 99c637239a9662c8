#include "cli.h"
int cmd_exec(struct cb_cli *cli, int argc, char **argv) { (void)cli; (void)argc; (void)argv; return cli_error("exec: todo"); }
