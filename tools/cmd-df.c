/* cowbox df [--format json]: space used by images, layers (shared ones
 * counted once) and containers' own changes (storage/df.h). */
#include "cli.h"
#include "df.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void human(uint64_t b, char out[32])
{
	if (b >= 1000000000)
		snprintf(out, 32, "%.2f GB", (double)b / 1e9);
	else if (b >= 1000000)
		snprintf(out, 32, "%.1f MB", (double)b / 1e6);
	else
		snprintf(out, 32, "%.1f kB", (double)b / 1e3);
}

int cmd_df(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0}};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return cli_usage("df", true);
		if (strcmp(optarg, "json") == 0)
			json = true;
		else if (strcmp(optarg, "table") != 0)
			return cli_error("--format %s: expected json or table", optarg);
	}
	if (optind != argc)
		return cli_usage("df", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_error err = {0};
	struct cb_df df;
	int r = cb_store_df(s, &df, &err);
	if (r < 0)
		return cli_fail(&err, r, "df");
	if (json) {
		printf("{\"images\":{\"count\":%zu,\"bytes\":%" PRIu64 "},"
		       "\"layers\":{\"count\":%zu,\"bytes\":%" PRIu64 ",\"unused\":%zu,"
		       "\"unused_bytes\":%" PRIu64 "},"
		       "\"containers\":{\"count\":%zu,\"mounted\":%zu,\"bytes\":%" PRIu64 "}}\n",
		       df.images, df.images_bytes, df.layers, df.layers_bytes, df.layers_unused,
		       df.layers_unused_bytes, df.containers, df.containers_mounted,
		       df.containers_bytes);
		return 0;
	}
	char a[32], b[32], cc[32];
	human(df.images_bytes, a);
	human(df.layers_bytes, b);
	human(df.containers_bytes, cc);
	char u[32];
	human(df.layers_unused_bytes, u);
	printf("%-11s %8s %8s %12s %12s\n", "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
	printf("%-11s %8zu %8s %12s %12s\n", "Images", df.images, "-", a, "-");
	printf("%-11s %8zu %8zu %12s %12s\n", "Layers", df.layers, df.layers - df.layers_unused, b,
	       u);
	printf("%-11s %8zu %8zu %12s %12s\n", "Containers", df.containers, df.containers_mounted,
	       cc, "-");
	return 0;
}
