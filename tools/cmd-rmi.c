/* cowbox rmi [-f] IMAGE...: a name removes that name, and the image with
 * its last name; an ID removes the image and all its names. An image a
 * container uses stays unless -f. Layers and blobs go at the next gc. */
#include "cli.h"
#include "gc.h"
#include "images.h"
#include "import.h"
#include "resolve.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int remove_one(struct cb_store *s, const char *what, bool force, struct cb_error *err)
{
	char id[CB_DIGEST_SIZE];
	int r = cb_image_resolve(s, what, id, err);
	if (r < 0)
		return r;
	struct cb_image *img = NULL;
	r = cb_images_get(s, id, &img, err);
	if (r < 0)
		return r;
	/* Was it named by what the user typed? Then only that name goes,
	 * unless it is the last one. */
	_cleanup_free_ char *name = NULL;
	size_t n_names = 0;
	for (char **n = img->names; n && *n; n++)
		n_names++;
	if (cb_import_normalize_name(what, &name, NULL) >= 0 && n_names > 1) {
		for (char **n = img->names; *n; n++)
			if (strcmp(*n, name) == 0) {
				cb_image_free(img);
				r = cb_images_untag(s, name, NULL, err);
				if (r >= 0)
					printf("Untagged: %s\n", name);
				return r;
			}
	}
	cb_image_free(img);
	size_t users = 0;
	cb_images_users(s, id, &users);
	if (users > 0 && !force)
		return cb_error_set(err, EBUSY, "image %.19s is used by %zu container%s (use -f)",
				    id, users, users == 1 ? "" : "s");
	r = cb_images_remove(s, id, err);
	if (r >= 0)
		printf("Deleted: %s\n", id);
	return r;
}

int cmd_rmi(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c != 'f')
			return cli_usage("rmi", true);
		force = true;
	}
	if (optind >= argc)
		return cli_usage("rmi", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	int ret = 0;
	for (int i = optind; i < argc; i++) {
		struct cb_error err = {0};
		int r = remove_one(s, argv[i], force, &err);
		if (r < 0)
			ret = cli_fail(&err, r, "rmi %s", argv[i]);
	}
	return ret;
}
