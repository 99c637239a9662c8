/* cowbox tag IMAGE NAME[:TAG] */
#include "cli.h"
#include "images.h"
#include "import.h"
#include "resolve.h"

#include <stdlib.h>

int cmd_tag(struct cb_cli *cli, int argc, char **argv)
{
	if (argc != 3)
		return cli_usage("tag", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_error err = {0};
	char id[CB_DIGEST_SIZE];
	int r = cb_image_resolve(s, argv[1], id, &err);
	if (r < 0)
		return cli_fail(&err, r, "tag");
	_cleanup_free_ char *name = NULL;
	r = cb_import_normalize_name(argv[2], &name, &err);
	if (r < 0)
		return cli_fail(&err, r, "tag");
	r = cb_images_tag(s, id, name, &err);
	if (r < 0)
		return cli_fail(&err, r, "tag %s", argv[2]);
	return 0;
}
