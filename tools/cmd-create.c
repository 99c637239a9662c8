/* cowbox create [RUN OPTIONS] IMAGE [CMD [ARG...]]: a container whose
 * rootfs is the image's layers plus an empty upper dir; prints its ID.
 * Nothing is copied or mounted (that is start's job). The RUN OPTIONS are
 * kept as typed in container.json's "run" object, and `start` parses them
 * again. */
#include "cli.h"
#include "container.h"
#include "images.h"
#include "launch.h"
#include "resolve.h"
#include "run-options.h"

#include <stdio.h>

int cmd_create(struct cb_cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *run_json = NULL;
	struct cb_run_options o;
	int cidfd = -1;
	int ret = run_options_parse(&o, argc, argv);
	if (ret != 0)
		goto out;
	if (o.rootfs || o.detach || o.preserve_fds) {
		ret = cli_error("create: %s is for run", o.rootfs   ? "--rootfs"
							 : o.detach ? "-d"
								    : "--preserve-fds");
		goto out;
	}
	if (o.n_cmd < 1) {
		ret = cli_usage("create", true);
		goto out;
	}
	const char *what = o.cmd[0];
	int er = cli_run_json_encode(argv + 1, (int)(o.cmd - argv - 1), &o.spec, &run_json);
	if (er < 0) {
		ret = cli_error("create: %s",
				er == -EILSEQ ? "an option is not UTF-8 text" : "out of memory");
		goto out;
	}
	struct cb_container_options copts = {
	    .name = o.name,
	    .is_volatile = o.rm,
	    .cmd = o.n_cmd > 1 ? o.cmd + 1 : NULL,
	    .run_json = run_json,
	};
	struct cb_store *s = cli_store(cli);
	if (!s) {
		ret = EXIT_COWBOX;
		goto out;
	}
	struct cb_error err = {0};
	char id[CB_DIGEST_SIZE];
	int r = cb_image_resolve(s, what, id, &err);
	if (r < 0) {
		ret = cli_fail(&err, r, "create");
		goto out;
	}
	/* What start would refuse, refused now. */
	struct cb_image_config cfg = {0};
	r = cb_image_load_config(s, id, &cfg, &err);
	if (r >= 0)
		r = cli_stop_signal(&o, &cfg, &err);
	cb_config_release(&cfg);
	if (r < 0) {
		ret = cli_fail(&err, r, "create %s", what);
		goto out;
	}
	struct cb_image *img = NULL;
	r = cb_images_get(s, id, &img, &err);
	if (r < 0) {
		ret = cli_fail(&err, r, "create %s", what);
		goto out;
	}
	/* As typed, as run records it (ps shows it). */
	copts.image_name = what;
	struct cb_container *ctr = NULL;
	if ((ret = cli_cidfile_open(&o, &cidfd)) != 0) {
		cb_image_free(img);
		goto out;
	}
	r = cb_container_create(s, img, &copts, &ctr, &err);
	cb_image_free(img);
	if (r < 0) {
		ret = cli_fail(&err, r, "create %s", what);
		goto out;
	}
	ret = cli_cidfile_finish(&o, &cidfd, ctr->id);
	if (ret == 0)
		printf("%s\n", ctr->id);
	else if ((r = cb_container_remove_known(s, ctr, 0, &err)) < 0)
		cli_fail(&err, r, "create: container %.12s", ctr->id); /* the ID file failed */
	cb_container_free(ctr);
out:
	cli_cidfile_finish(&o, &cidfd, NULL);
	run_options_release(&o);
	return ret;
}
