/* cowbox ps [-a] [-q] [--format json]: running containers (all with -a),
 * docker's columns. Reading a container's state repairs it when its
 * supervisor was killed (tools/supervisor.c), so ps is also the command
 * that cleans up after one. */
#include "cgroup.h"
#include "cli.h"
#include "container.h"
#include "supervisor.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* docker's go-units HumanDuration. */
static void human_duration(int64_t s, char *buf, size_t size)
{
	if (s < 1)
		snprintf(buf, size, "Less than a second");
	else if (s == 1)
		snprintf(buf, size, "1 second");
	else if (s < 60)
		snprintf(buf, size, "%lld seconds", (long long)s);
	else if (s < 120)
		snprintf(buf, size, "About a minute");
	else if (s < 3600)
		snprintf(buf, size, "%lld minutes", (long long)(s / 60));
	else if (s < 7200)
		snprintf(buf, size, "About an hour");
	else if (s < 48 * 3600)
		snprintf(buf, size, "%lld hours", (long long)(s / 3600));
	else
		snprintf(buf, size, "%lld days", (long long)(s / 86400));
}

static void status_text(const struct cb_state *st, int64_t now, char *buf, size_t size)
{
	char d[64];
	switch (st->status) {
	case CB_STATE_RUNNING:
		human_duration(now - st->started, d, sizeof(d));
		snprintf(buf, size, "Up %s%s", d, cb_cgroup_frozen(st->cgroup) ? " (Paused)" : "");
		break;
	case CB_STATE_EXITED:
	case CB_STATE_REMOVED:
		human_duration(now - st->finished, d, sizeof(d));
		snprintf(buf, size, "Exited (%d) %s ago", st->exit_code, d);
		break;
	default:
		snprintf(buf, size, "Created");
	}
}

static char *command_text(const struct cb_container *ctr, const struct cb_state *st)
{
	char *const *argv = st->argv ? st->argv : ctr->cmd;
	size_t len = 1;
	for (char *const *a = argv; a && *a; a++)
		len += strlen(*a) + 1;
	char *s = calloc(1, len);
	for (char *const *a = argv; s && a && *a; a++) {
		if (a != argv)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

struct ps_list {
	bool quiet;
	int64_t now;
	json_t *arr; /* --format json */
};

static int ps_one(struct cb_cli *cli, struct cb_store *s, const char *what,
		  struct cb_container *ctr, struct cb_state *st, void *opaque)
{
	(void)cli;
	(void)s;
	(void)what;
	const struct ps_list *l = opaque;
	char status[96], created[64], image[CB_DIGEST_SIZE];
	status_text(st, l->now, status, sizeof(status));
	human_duration(l->now - ctr->created, created, sizeof(created));
	snprintf(image, sizeof(image), "%s",
		 ctr->image_name ? ctr->image_name
				 : ctr->image + (strncmp(ctr->image, "sha256:", 7) ? 0 : 7));
	_cleanup_free_ char *cmd = command_text(ctr, st);
	if (l->arr) {
		json_t *o = json_object(), *names = json_array();
		if (ctr->name)
			json_array_append_new(names, json_string(ctr->name));
		json_object_set_new(o, "Id", json_string(ctr->id));
		json_object_set_new(o, "Image", json_string(image));
		json_object_set_new(o, "ImageID", json_string(ctr->image));
		json_object_set_new(o, "Command", json_string(cmd ? cmd : ""));
		json_object_set_new(o, "Created", json_integer(ctr->created));
		bool paused = st->status == CB_STATE_RUNNING && cb_cgroup_frozen(st->cgroup);
		json_object_set_new(
		    o, "State", json_string(paused ? "paused" : cb_state_status_name(st->status)));
		json_object_set_new(o, "Status", json_string(status));
		json_object_set_new(o, "ExitCode", json_integer(st->exit_code));
		json_object_set_new(o, "Pid",
				    json_integer(st->status == CB_STATE_RUNNING ? st->pid : 0));
		json_object_set_new(o, "Names", names);
		json_array_append_new(l->arr, o);
	} else if (l->quiet)
		printf("%.12s\n", ctr->id);
	else {
		char cmdq[32];
		size_t len = cmd ? strlen(cmd) : 0;
		snprintf(cmdq, sizeof(cmdq), len > 20 ? "\"%.19s…\"" : "\"%s\"", cmd ? cmd : "");
		char ago[80];
		snprintf(ago, sizeof(ago), "%s ago", created);
		printf("%-12.12s   %-20s   %-24s   %-22s   %-26s   %s\n", ctr->id, image, cmdq, ago,
		       status, ctr->name ? ctr->name : "");
	}
	return 0;
}

int cmd_ps(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_FORMAT = 256 };
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {0},
	};
	bool all = false, quiet = false, json = false;
	int c;
	while ((c = getopt_long(argc, argv, "aq", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") != 0)
				return cli_error("ps --format %s: expected json", optarg);
			json = true;
			break;
		default:
			return cli_usage("ps", true);
		}
	}
	if (optind != argc)
		return cli_usage("ps", true);
	if (!cli_store(cli))
		return EXIT_COWBOX;
	struct ps_list l = {.quiet = quiet, .now = time(NULL)};
	l.arr = json ? json_array() : NULL;
	if (!quiet && !json)
		printf("%-12s   %-20s   %-24s   %-22s   %-26s   %s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "NAMES");
	cb_state_prune(60);
	int ret = cli_for_each_listed(cli, "ps", all, ps_one, &l);
	json_t *arr = l.arr;
	if (ret != 0) {
		json_decref(arr);
		return ret;
	}
	if (json) {
		char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(arr);
		if (!text)
			return cli_error("ps: out of memory");
		printf("%s\n", text);
		free(text);
	}
	return 0;
}
