/* cowbox commit [--compression zstd|gzip] [-m MSG] [--author A] C NAME[:TAG]:
 * the container's changes become a new layer on its image. */
#include "cli.h"
#include "commit.h"
#include "container.h"
#include "import.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cmd_commit(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_AUTHOR = 256 };
	static const struct option opts[] = {
		{"compression", required_argument, NULL, 'c'},
		{"format", required_argument, NULL, 'c'},
		{"message", required_argument, NULL, 'm'},
		{"author", required_argument, NULL, OPT_AUTHOR},
		{0},
	};
	struct cb_commit_options o = {.compression = CB_COMPRESSION_ZSTD};
	int c;
	while ((c = getopt_long(argc, argv, "m:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (strcmp(optarg, "zstd") == 0)
				o.compression = CB_COMPRESSION_ZSTD;
			else if (strcmp(optarg, "gzip") == 0)
				o.compression = CB_COMPRESSION_GZIP;
			else if (strcmp(optarg, "none") == 0)
				o.compression = CB_COMPRESSION_NONE;
			else
				return cli_error("--compression %s: expected zstd, gzip or none", optarg);
			break;
		case 'm':
			o.message = optarg;
			break;
		case OPT_AUTHOR:
			o.author = optarg;
			break;
		default:
			return cli_usage("commit", true);
		}
	}
	if (argc - optind != 2)
		return cli_usage("commit", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_error err = {0};
	_cleanup_free_ char *name = NULL;
	int r = cb_import_normalize_name(argv[optind + 1], &name, &err);
	if (r < 0)
		return cli_fail(&err, r, "commit");
	o.name = name;
	char id[CB_CONTAINER_ID_SIZE], img[CB_DIGEST_SIZE];
	r = cb_container_resolve(s, argv[optind], id, &err);
	if (r >= 0)
		r = cb_commit(s, id, &o, img, &err);
	if (r < 0)
		return cli_fail(&err, r, "commit %s", argv[optind]);
	printf("%s\n", img);
	return 0;
}
