/* cowbox import [--rootfs] [--max-entries N] [--max-size BYTES] FILE|- [NAME[:TAG]] */
#include "cli.h"
#include "import.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || v == 0)
		return -EINVAL;
	uint64_t mul = 1;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		default: return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	*ret = v * mul;
	return 0;
}

int cmd_import(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_ROOTFS = 256, OPT_MAX_ENTRIES, OPT_MAX_SIZE, OPT_PLATFORM, OPT_JOBS };
	static const struct option opts[] = {
		{"rootfs", no_argument, NULL, OPT_ROOTFS},
		{"max-entries", required_argument, NULL, OPT_MAX_ENTRIES},
		{"max-size", required_argument, NULL, OPT_MAX_SIZE},
		{"platform", required_argument, NULL, OPT_PLATFORM},
		{"jobs", required_argument, NULL, OPT_JOBS},
		{"quiet", no_argument, NULL, 'q'},
		{0},
	};
	struct cb_import_options o = {0};
	bool quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "+q", opts, NULL)) != -1) {
		uint64_t v;
		switch (c) {
		case OPT_ROOTFS:
			o.rootfs = true;
			break;
		case OPT_MAX_ENTRIES:
			if (parse_u64(optarg, &v) < 0)
				return cli_error("import: --max-entries %s: not a positive number",
						 optarg);
			o.limits.max_entries = v;
			break;
		case OPT_MAX_SIZE:
			if (parse_u64(optarg, &v) < 0)
				return cli_error("import: --max-size %s: not a size", optarg);
			o.limits.max_bytes = v;
			break;
		case OPT_PLATFORM:
			o.platform = optarg;
			break;
		case OPT_JOBS:
			if (parse_u64(optarg, &v) < 0 || v > 64)
				return cli_error("import: --jobs %s: expected 1 to 64", optarg);
			o.parallel = (unsigned)v;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			return cli_usage("import", true);
		}
	}
	if (optind >= argc || argc - optind > 2)
		return cli_usage("import", true);
	const char *path = argv[optind];
	o.name = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (o.rootfs && !o.name)
		return cli_error("import: --rootfs needs a NAME");
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_error err = {0};
	struct cb_import_result res = {0};
	int r = cb_import(s, path, &o, &res, &err);
	if (r < 0)
		return cli_fail(&err, r, "import %s", path);
	for (size_t i = 0; i < res.n_images; i++) {
		const struct cb_import_image *img = &res.images[i];
		if (quiet) {
			printf("%s\n", img->id);
			continue;
		}
		if (!img->names || !img->names[0])
			printf("Loaded image ID: %s\n", img->id);
		for (char **n = img->names; n && *n; n++)
			printf("Loaded image: %s\n", *n);
	}
	cli_log(cli, CB_LOG_INFO, "import: %zu layers unpacked, %zu reused", res.layers_unpacked,
		res.layers_reused);
	cb_import_result_release(&res);
	return 0;
}
