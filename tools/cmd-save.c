/* cowbox save [--format oci|docker] [--compression gzip|zstd|none] -o FILE
 * IMAGE: an OCI layout tar or a docker-archive, layers made again from the
 * store (image/save.h). */
#include "cli.h"
#include "images.h"
#include "import.h"
#include "resolve.h"
#include "save.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cmd_save(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"compression", required_argument, NULL, 'c'},
		{0},
	};
	struct cb_save_options o = {.format = CB_SAVE_OCI, .compression = CB_COMPRESSION_AUTO};
	const char *out = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "oci") == 0 || strcmp(optarg, "oci-archive") == 0)
				o.format = CB_SAVE_OCI;
			else if (strcmp(optarg, "docker") == 0 || strcmp(optarg, "docker-archive") == 0)
				o.format = CB_SAVE_DOCKER;
			else
				return cli_error("--format %s: expected oci or docker", optarg);
			break;
		case 'c':
			if (strcmp(optarg, "gzip") == 0)
				o.compression = CB_COMPRESSION_GZIP;
			else if (strcmp(optarg, "zstd") == 0)
				o.compression = CB_COMPRESSION_ZSTD;
			else if (strcmp(optarg, "none") == 0)
				o.compression = CB_COMPRESSION_NONE;
			else
				return cli_error("--compression %s: expected gzip, zstd or none", optarg);
			break;
		default:
			return cli_usage("save", true);
		}
	}
	if (argc - optind != 1 || !out)
		return cli_usage("save", true);
	const char *what = argv[optind];
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_error err = {0};
	char id[CB_DIGEST_SIZE];
	int r = cb_image_resolve(s, what, id, &err);
	if (r < 0)
		return cli_fail(&err, r, "save");
	/* The name to write: what the user typed if it names the image, else
	 * the image's first name. */
	_cleanup_free_ char *name = NULL;
	struct cb_image *img = NULL;
	if (cb_images_get(s, id, &img, NULL) >= 0) {
		if (!cb_digest_valid(what) && cb_import_normalize_name(what, &name, NULL) >= 0) {
			bool named = false;
			for (char **n = img->names; n && *n; n++)
				named = named || strcmp(*n, name) == 0;
			if (!named) {
				free(name);
				name = NULL;
			}
		}
		if (!name && img->names && img->names[0])
			name = strdup(img->names[0]);
		cb_image_free(img);
	}
	o.name = name;
	r = cb_save(s, id, out, &o, &err);
	if (r < 0)
		return cli_fail(&err, r, "save %s", what);
	return 0;
}
