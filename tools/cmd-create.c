/* cowbox create [--name NAME] [--rm] IMAGE [CMD [ARG...]]: a container
 * whose rootfs is the image's layers plus an empty upper dir; prints its
 * ID. Nothing is copied or mounted (that is start's job). */
#include "cli.h"
#include "container.h"
#include "images.h"
#include "import.h"
#include "resolve.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cmd_create(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_RM = 256 };
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"rm", no_argument, NULL, OPT_RM},
		{0},
	};
	struct cb_container_options o = {0};
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.name = optarg;
			break;
		case OPT_RM:
			o.is_volatile = true;
			break;
		default:
			return cli_usage("create", true);
		}
	}
	if (optind >= argc)
		return cli_usage("create", true);
	const char *what = argv[optind];
	if (optind + 1 < argc)
		o.cmd = argv + optind + 1;
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_error err = {0};
	char id[CB_DIGEST_SIZE];
	int r = cb_image_resolve(s, what, id, &err);
	if (r < 0)
		return cli_fail(&err, r, "create");
	struct cb_image *img = NULL;
	r = cb_images_get(s, id, &img, &err);
	if (r < 0)
		return cli_fail(&err, r, "create %s", what);
	_cleanup_free_ char *name = NULL;
	if (!cb_digest_valid(what) && cb_import_normalize_name(what, &name, NULL) >= 0) {
		bool named = false;
		for (char **n = img->names; n && *n; n++)
			named = named || strcmp(*n, name) == 0;
		if (named)
			o.image_name = name;
	}
	struct cb_container *ctr = NULL;
	r = cb_container_create(s, img, &o, &ctr, &err);
	cb_image_free(img);
	if (r < 0)
		return cli_fail(&err, r, "create %s", what);
	printf("%s\n", ctr->id);
	cb_container_free(ctr);
	return 0;
}
