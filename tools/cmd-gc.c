/* cowbox gc: remove layers and blobs nothing refers to, and leftovers. */
#include "cli.h"
#include "gc.h"

#include <stdio.h>

int cmd_gc(struct cb_cli *cli, int argc, char **argv)
{
	if (argc != 1)
		return cli_usage("gc", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_error err = {0};
	struct cb_gc_report rep = {0};
	int r = cb_store_gc(s, &rep, &err);
	if (r < 0)
		return cli_fail(&err, r, "gc");
	if (rep.damaged_records)
		fprintf(stderr, "cowbox: gc: %u container record%s cannot be read; no layer was removed "
				"(see `cowbox check`)\n",
			rep.damaged_records, rep.damaged_records == 1 ? "" : "s");
	printf("removed %u layers, %u blobs, %u leftovers; freed %.1f MB\n", rep.layers_removed,
	       rep.blobs_removed, rep.leftovers_removed, (double)rep.bytes_freed / 1e6);
	return 0;
}
