/* cb-fuse-mount: a test driver for the mount-side C API (storage/fuse.h),
 * used by tests/integration/7*-fuse-*.sh and bench/fuse until the CLI
 * wires the driver in. Not installed.
 *
 *   cb-fuse-mount [--log FILE] [-o OPTS] --upper U --work W --lower L... TARGET
 *   cb-fuse-mount --unmount [--lazy] TARGET */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuse.h"

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"lower", required_argument, NULL, 'L'},
						 {"upper", required_argument, NULL, 'U'},
						 {"work", required_argument, NULL, 'W'},
						 {"log", required_argument, NULL, 'l'},
						 {"unmount", no_argument, NULL, 'u'},
						 {"lazy", no_argument, NULL, 'z'},
						 {NULL, 0, NULL, 0}};
	const char *lowers[256] = {0}, *upper = NULL, *work = NULL;
	struct cb_fuse_options opts = {0};
	int n = 0, ch;
	bool unmount = false, lazy = false;
	while ((ch = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'L':
			if (n < 255)
				lowers[n++] = optarg;
			break;
		case 'U':
			upper = optarg;
			break;
		case 'W':
			work = optarg;
			break;
		case 'l':
			opts.log_path = optarg;
			break;
		case 'o':
			opts.server_options = optarg;
			break;
		case 'u':
			unmount = true;
			break;
		case 'z':
			lazy = true;
			break;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: see the comment at the top of cb-fuse-mount.c\n");
		return 2;
	}
	const char *target = argv[optind];
	if (unmount) {
		int r = cb_fuse_unmount(target, lazy);
		if (r < 0) {
			fprintf(stderr, "cb-fuse-mount: unmount %s: %s\n", target, strerror(-r));
			return 1;
		}
		return 0;
	}
	struct cb_error err = {0};
	if (cb_fuse_mount(lowers, upper, work, target, &opts, &err) < 0) {
		fprintf(stderr, "cb-fuse-mount: %s\n", err.msg);
		return 1;
	}
	return 0;
}
