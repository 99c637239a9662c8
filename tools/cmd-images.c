/* cowbox images [-q] [--format json] */
#include "cli.h"
#include "images.h"
#include "layer.h"
#include "store.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Bytes the image's layers take unpacked (their tar sizes). */
static uint64_t image_size(struct cb_store *s, const struct cb_image *img)
{
	uint64_t sum = 0, size;
	for (size_t i = 0; i < img->n_layers; i++)
		if (cb_layer_tar_size(s, img->layers[i].chain_id, &size) >= 0)
			sum += size;
	return sum;
}

static void human_size(uint64_t b, char *buf, size_t n)
{
	const char *units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)b;
	size_t u = 0;
	while (v >= 1000 && u + 1 < ELEMENTSOF(units)) {
		v /= 1000;
		u++;
	}
	snprintf(buf, n, u == 0 ? "%.0f %s" : "%.3g %s", v, units[u]);
}

static void split_name(const char *name, char *repo, size_t rn, char *tag, size_t tn)
{
	const char *slash = strrchr(name, '/');
	const char *colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		snprintf(repo, rn, "%.*s", (int)(colon - name), name);
		snprintf(tag, tn, "%s", colon + 1);
	} else {
		snprintf(repo, rn, "%s", name);
		snprintf(tag, tn, "<none>");
	}
}

int cmd_images(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_FORMAT = 256 };
	static const struct option opts[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"format", required_argument, NULL, OPT_FORMAT},
		{0},
	};
	bool quiet = false, json = false;
	int c;
	while ((c = getopt_long(argc, argv, "+q", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") != 0)
				return cli_error("images: --format %s: only json is supported",
						 optarg);
			json = true;
			break;
		default:
			return cli_usage("images", true);
		}
	}
	if (optind != argc)
		return cli_usage("images", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_error err = {0};
	struct cb_image **list = NULL;
	size_t n = 0;
	int r = cb_images_list(s, &list, &n, &err);
	if (r < 0)
		return cli_fail(&err, r, "images");
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *names = json_array();
			for (char **nm = list[i]->names; nm && *nm; nm++)
				json_array_append_new(names, json_string(*nm));
			json_array_append_new(
				arr, json_pack("{s:s, s:o, s:s, s:I, s:I, s:I}", "Id", list[i]->id,
					       "Names", names, "Digest", list[i]->manifest_digest,
					       "Created", (json_int_t)list[i]->added, "Size",
					       (json_int_t)image_size(s, list[i]), "Layers",
					       (json_int_t)list[i]->n_layers));
		}
		char *text = json_dumps(arr, JSON_INDENT(2));
		printf("%s\n", text ? text : "[]");
		free(text);
		json_decref(arr);
	} else if (quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%.12s\n", cb_digest_hex(list[i]->id));
	} else {
		printf("%-50s %-16s %-12s %-20s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED",
		       "SIZE");
		for (size_t i = 0; i < n; i++) {
			char size[32], when[32], repo[512], tag[160];
			human_size(image_size(s, list[i]), size, sizeof(size));
			time_t t = (time_t)list[i]->added;
			struct tm tm;
			localtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			if (!list[i]->names || !list[i]->names[0]) {
				printf("%-50s %-16s %-12.12s %-20s %s\n", "<none>", "<none>",
				       cb_digest_hex(list[i]->id), when, size);
				continue;
			}
			for (char **nm = list[i]->names; *nm; nm++) {
				split_name(*nm, repo, sizeof(repo), tag, sizeof(tag));
				printf("%-50s %-16s %-12.12s %-20s %s\n", repo, tag,
				       cb_digest_hex(list[i]->id), when, size);
			}
		}
	}
	cb_images_list_free(list, n);
	return 0;
}
