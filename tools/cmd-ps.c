/* cowbox ps [-a] [-q] [-f KEY=VALUE]... [--format json]: running
 * containers (all with -a), docker's columns and filters. Reading a container's state repairs it
 * when its supervisor was killed (tools/supervisor.c), so ps is also the command that cleans up
 * after one. */
#include "cgroup.h"
#include "cli.h"
#include "container.h"
#include "ctr-files.h"
#include "launch.h"
#include "resolve.h"
#include "run-options.h"
#include "supervisor.h"

#include <getopt.h>
#include <jansson.h>
#include <regex.h>
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

/* --filter KEY=VALUE, docker's: the same key ORs, different keys AND, and
 * label= filters all must match. */
enum { F_ID, F_NAME, F_LABEL, F_STATUS, F_ANCESTOR, F_KINDS };
static const char *const filter_keys[F_KINDS] = {"id", "name", "label", "status", "ancestor"};
#define PS_FILTERS_MAX 32

struct ps_list {
	bool quiet;
	int64_t now;
	json_t *arr; /* --format json */
	struct {
		int kind;
		const char *value;
		regex_t re;		    /* name= */
		char image[CB_DIGEST_SIZE]; /* ancestor=: the image it names, "" none */
	} filters[PS_FILTERS_MAX];
	size_t n_filters;
	bool want_labels; /* a label filter or JSON output */
};

static void ps_list_release(struct ps_list *l)
{
	for (size_t i = 0; i < l->n_filters; i++)
		if (l->filters[i].kind == F_NAME)
			regfree(&l->filters[i].re);
	l->n_filters = 0;
}

/* label=KEY matches a container that has KEY, label=KEY=VALUE one whose
 * KEY is VALUE. */
static bool label_matches(json_t *labels, const char *want)
{
	const char *eq = strchr(want, '=');
	_cleanup_free_ char *key = eq ? strndup(want, (size_t)(eq - want)) : strdup(want);
	json_t *v = key ? json_object_get(labels, key) : NULL;
	return v && (!eq || strcmp(json_string_value(v), eq + 1) == 0);
}

static bool filter_one(const struct ps_list *l, size_t i, const struct cb_container *ctr,
		       const struct cb_state *st, json_t *labels)
{
	const char *v = l->filters[i].value;
	switch (l->filters[i].kind) {
	case F_ID:
		return strncmp(ctr->id, v, strlen(v)) == 0;
	case F_NAME: /* an unanchored regular expression, as docker's */
		return ctr->name && regexec(&l->filters[i].re, ctr->name, 0, NULL, 0) == 0;
	case F_LABEL:
		return label_matches(labels, v);
	case F_STATUS:
		return strcmp(cli_state_name(st), v) == 0;
	case F_ANCESTOR: /* the image named, however it is written */
		return l->filters[i].image[0] ? strcmp(ctr->image, l->filters[i].image) == 0
					      : ctr->image_name && strcmp(ctr->image_name, v) == 0;
	}
	return false;
}

static bool filters_match(const struct ps_list *l, const struct cb_container *ctr,
			  const struct cb_state *st, json_t *labels)
{
	for (int kind = 0; kind < F_KINDS; kind++) {
		bool asked = false, any = false;
		for (size_t i = 0; i < l->n_filters; i++)
			if (l->filters[i].kind == kind) {
				bool yes = filter_one(l, i, ctr, st, labels);
				if (kind == F_LABEL && !yes)
					return false; /* every label= must match */
				asked = true;
				any = any || yes;
			}
		if (asked && !any)
			return false;
	}
	return true;
}

static int ps_one(struct cb_cli *cli, struct cb_store *s, const char *what,
		  struct cb_container *ctr, struct cb_state *st, void *opaque)
{
	(void)cli;
	(void)what;
	const struct ps_list *l = opaque;
	json_t *labels = NULL;
	if (l->want_labels) {
		struct cb_run_options o = {0};
		_cleanup_strv_ char **args = NULL;
		bool parsed = cli_run_options_load("ps", ctr->run_json, &o, &args) == 0;
		struct cb_image_config cfg = {0};
		bool have = cb_image_load_config(s, ctr->image, &cfg, NULL) >= 0;
		labels = cli_container_labels(have ? &cfg : NULL, parsed ? &o : NULL);
		cb_config_release(&cfg);
		run_options_release(&o);
	}
	if (!filters_match(l, ctr, st, labels)) {
		json_decref(labels);
		return 0;
	}
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
		json_object_set_new(o, "State", json_string(cli_state_name(st)));
		json_object_set_new(o, "Status", json_string(status));
		json_object_set_new(o, "ExitCode", json_integer(st->exit_code));
		json_object_set_new(o, "Pid",
				    json_integer(st->status == CB_STATE_RUNNING ? st->pid : 0));
		json_object_set_new(o, "Names", names);
		json_object_set_new(o, "Labels", labels ? json_incref(labels) : json_object());
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
	json_decref(labels);
	return 0;
}

int cmd_ps(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_FORMAT = 256 };
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"filter", required_argument, NULL, 'f'},
	    {0},
	};
	bool all = false, quiet = false, json = false;
	_cleanup_(ps_list_release) struct ps_list l = {.now = time(NULL)};
	int c;
	while ((c = getopt_long(argc, argv, "aqf:", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'f': {
			const char *eq = strchr(optarg, '=');
			int kind = F_KINDS;
			for (int k = 0; eq && k < F_KINDS; k++)
				if (strlen(filter_keys[k]) == (size_t)(eq - optarg) &&
				    strncmp(optarg, filter_keys[k], (size_t)(eq - optarg)) == 0)
					kind = k;
			if (kind == F_KINDS || !eq[1])
				return cli_error(
				    "ps --filter %s: expected id=, name=, label=, status= "
				    "or ancestor= with a value",
				    optarg);
			if (kind == F_STATUS && strcmp(eq + 1, "created") != 0 &&
			    strcmp(eq + 1, "running") != 0 && strcmp(eq + 1, "paused") != 0 &&
			    strcmp(eq + 1, "exited") != 0)
				return cli_error(
				    "ps --filter %s: status is created, running, paused "
				    "or exited",
				    optarg);
			if (l.n_filters == PS_FILTERS_MAX)
				return cli_error("ps --filter: at most %d", PS_FILTERS_MAX);
			if (kind == F_NAME && regcomp(&l.filters[l.n_filters].re, eq + 1,
						      REG_EXTENDED | REG_NOSUB) != 0)
				return cli_error("ps --filter %s: not a regular expression",
						 optarg);
			l.filters[l.n_filters].kind = kind;
			l.filters[l.n_filters++].value = eq + 1;
			/* docker's: a status filter looks at every container */
			all = all || kind == F_STATUS;
			l.want_labels = l.want_labels || kind == F_LABEL;
			break;
		}
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
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	for (size_t i = 0; i < l.n_filters; i++)
		if (l.filters[i].kind == F_ANCESTOR &&
		    cb_image_resolve(s, l.filters[i].value, l.filters[i].image, NULL) < 0)
			l.filters[i].image[0] = '\0'; /* gone: its containers keep its name */
	l.quiet = quiet;
	l.want_labels = l.want_labels || json;
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
