/* cowbox diff CONTAINER: `A /path`, `C /path`, `D /path` lines, sorted,
 * from the upper dir and the image's layers (storage/diff.h). */
#include "cli.h"
#include "container.h"
#include "diff.h"

#include <stdio.h>

int cmd_diff(struct cb_cli *cli, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage("diff", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_error err = {0};
	char id[CB_CONTAINER_ID_SIZE];
	struct cb_container *c = NULL;
	int *lower = NULL;
	int r = cb_container_resolve(s, argv[1], id, &err);
	if (r >= 0)
		r = cb_container_get(s, id, &c, &err);
	if (r >= 0)
		r = cb_container_open_layers(s, c, &lower, &err);
	_cleanup_close_ int upper = -1;
	if (r >= 0)
		r = upper = cb_container_open_upper(s, c, &err);
	struct cb_changes ch = {0};
	if (r >= 0)
		r = cb_diff_changes(upper, lower, c->n_layers, &ch, &err);
	if (c)
		cb_container_close_layers(lower, c->n_layers);
	cb_container_free(c);
	if (r < 0)
		return cli_fail(&err, r, "diff %s", argv[1]);
	for (size_t i = 0; i < ch.n; i++)
		printf("%c %s\n", ch.v[i].kind, ch.v[i].path);
	cb_changes_release(&ch);
	return 0;
}
