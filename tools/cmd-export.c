/* cowbox export [-o FILE] CONTAINER: the container's filesystem (its
 * image's layers with its changes) as a tar, docker's and podman's
 * export: what `cowbox import --rootfs` makes an image of again. Only the
 * root filesystem: not the volumes, tmpfs mounts, /proc, /sys or /dev a
 * running container has on it (a running one is read through a private
 * clone of its root mount alone). The walk is cp's (storage/copy.c):
 * nothing below the root is followed, owners are the container's own
 * ids (through its user namespace's map). -o FILE is written whole or not
 * at all (a temporary sibling renamed into place). */
#include "cli.h"
#include "container.h"
#include "copy.h"
#include "ctr-files.h"
#include "macro.h"
#include "supervisor.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int export_tar(int root, int out, struct cli_ctr_maps *maps, struct cb_error *err)
{
	struct archive *a = archive_write_new();
	if (!a)
		return cb_error_set(err, ENOMEM, "out of memory");
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, out) != ARCHIVE_OK) {
		int r = cb_error_set(err, EIO, "%s", archive_error_string(a));
		archive_write_free(a);
		return r;
	}
	struct cb_copy_opts o = {.keep_ids = true,
				 .map_uid = cli_ctr_map_out_uid,
				 .map_gid = cli_ctr_map_out_gid,
				 .opaque = maps};
	int r = cb_copy_to_tar(root, ".", ".", a, &o, err);
	if (archive_write_close(a) != ARCHIVE_OK && r >= 0)
		r = cb_error_set(err, EIO, "finish the tar: %s", archive_error_string(a));
	archive_write_free(a);
	return r;
}

int cmd_export(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {0},
	};
	const char *out = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		default:
			return cli_usage("export", true);
		}
	}
	if (argc - optind != 1)
		return cli_usage("export", true);
	const char *name = argv[optind];
	if (!out && isatty(STDOUT_FILENO))
		return cli_error(
		    "export %s: not writing a tar to a terminal (use -o FILE or a pipe)", name);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_container *ctr = NULL;
	struct cb_state st;
	int ret = cli_container_lookup(cli, s, "export", name, &ctr, &st);
	if (ret != 0)
		return ret;
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	if (out) {
		if (asprintf(&tmp, "%s.tmp-%d", out, (int)getpid()) < 0)
			tmp = NULL;
		if (!tmp)
			ret = cli_error("export: out of memory");
		/* 0600: the tar holds whatever the container keeps secret */
		else if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
			ret = cli_fail(NULL, -errno, "export %s: %s", name, tmp);
		else
			cli_ctr_remove_on_signal(tmp);
	}
	struct cli_ctr_root root = {.fd = -1};
	if (ret == 0)
		ret =
		    cli_ctr_root_open(cli, s, "export", name, ctr, &st, CLI_CTR_ROOT_ROOTFS, &root);
	if (ret == 0) {
		struct cb_error err = {0};
		int r = export_tar(root.fd, out ? fd : STDOUT_FILENO, &root.maps, &err);
		if (r >= 0 && out && (fsync(fd) < 0 || rename(tmp, out) < 0))
			r = cb_error_errno(&err, errno, "%s", out);
		if (r < 0)
			ret = cli_fail(&err, r, "export %s", name);
		ret = cli_ctr_root_close(&root, "export", name, ret);
	}
	if (ret != 0 && fd >= 0)
		(void)unlink(tmp);
	cli_ctr_remove_on_signal(NULL);
	cb_state_release(&st);
	cb_container_free(ctr);
	return ret;
}
