/* The shared half of the command line: global options, the verb lookup,
 * and the helpers that print. Each binary (cowbox, cowbox-registry) gives
 * cli_main() its own verb table. */
#include "cli.h"
#include "fsutil.h"
#include "config.h"
#include "state.h"
#include "store.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The verb table of the binary being run (cli_main sets it). */
static const struct cb_verb *verbs;
static size_t n_verbs;

static const struct cb_verb *find_verb(const char *name)
{
	for (size_t i = 0; i < n_verbs; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

int cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cowbox: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_COWBOX;
}

int cli_fail(const struct cb_error *err, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cowbox: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err && err->code)
		fprintf(stderr, ": %s\n", err->msg);
	else
		fprintf(stderr, ": %s\n", strerror(r < 0 ? -r : (r ? r : EIO)));
	return EXIT_COWBOX;
}

void cli_log(const struct cb_cli *cli, enum cb_log_level level, const char *fmt, ...)
{
	if (!cli || level > cli->log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("cowbox: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

struct cb_store *cli_store(struct cb_cli *cli)
{
	if (cli->store)
		return cli->store;
	struct cb_error err = {0};
	int r = cb_store_open_flags(cli->root, cli->store_flags, &cli->store, &err);
	if (r < 0) {
		cli_fail(&err, r, "store %s", cli->root);
		return NULL;
	}
	return cli->store;
}

int cli_usage(const char *verb, bool to_stderr)
{
	FILE *out = to_stderr ? stderr : stdout;
	const struct cb_verb *v = verb ? find_verb(verb) : NULL;
	if (v) {
		fprintf(out, "usage: cowbox %s\n\n%s\n", v->usage, v->summary);
		return to_stderr ? EXIT_COWBOX : 0;
	}
	fputs("usage: cowbox [--root DIR] [--runroot DIR] [--storage-driver overlay|fuse] "
	      "[--log-level LEVEL] VERB ...\n\nverbs:\n",
	      out);
	for (size_t i = 0; i < n_verbs; i++)
		fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fputs("\n`cowbox help VERB` or `cowbox VERB --help` for a verb's options\n", out);
	return to_stderr ? EXIT_COWBOX : 0;
}

bool cli_wants_help(int argc, char **argv)
{
	/* Only before the first operand: in `run IMAGE httpd -h`, the -h is
	 * the container's. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0 || argv[i][0] != '-')
			return false;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *cli_log_level_name(enum cb_log_level level)
{
	return level_names[level];
}

static int parse_log_level(const char *s, enum cb_log_level *ret)
{
	const char *const *names = level_names;
	for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum cb_log_level)i;
			return 0;
		}
	return -EINVAL;
}

static char *default_root(void)
{
	char *p = NULL;
	if (geteuid() == 0)
		return strdup("/var/lib/cowbox");
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg && xdg[0] == '/') {
		if (asprintf(&p, "%s/cowbox", xdg) < 0)
			return NULL;
		return p;
	}
	const char *home = getenv("HOME");
	if (asprintf(&p, "%s/.local/share/cowbox", home ? home : "/") < 0)
		return NULL;
	return p;
}

int cli_main(int argc, char **argv, const struct cb_verb *table, size_t n)
{
	static struct cb_cli cli = {.log_level = CB_LOG_WARN};
	/* Before anything is opened: no store fd on a closed stdout. */
	cb_stdio_sanitize();
	verbs = table;
	n_verbs = n;
	cli.argv = argv;
	cli.root = getenv("COWBOX_ROOT");
	cli.storage_driver = getenv("COWBOX_STORAGE_DRIVER");
	const char *run_dir = getenv("COWBOX_RUN_DIR");
	/* A closed pipe on stdout is an error to report, not a signal to die of. */
	signal(SIGPIPE, SIG_IGN);

	enum { OPT_ROOT = 256, OPT_RUNROOT, OPT_DRIVER, OPT_LOG, OPT_VERSION };
	static const struct option opts[] = {
		{"root", required_argument, NULL, OPT_ROOT},
		{"runroot", required_argument, NULL, OPT_RUNROOT},
		{"storage-driver", required_argument, NULL, OPT_DRIVER},
		{"log-level", required_argument, NULL, OPT_LOG},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	/* "+" stops at the verb: everything after it belongs to the verb. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			cli.root = optarg;
			break;
		case OPT_RUNROOT:
			run_dir = optarg;
			break;
		case OPT_DRIVER:
			cli.storage_driver = optarg;
			break;
		case OPT_LOG:
			if (parse_log_level(optarg, &cli.log_level) < 0)
				return cli_error("--log-level %s: expected error, warn, info or debug",
						 optarg);
			break;
		case OPT_VERSION:
			printf("cowbox version %s\n", COWBOX_VERSION);
			return 0;
		case 'h':
			return cli_usage(NULL, false);
		default:
			return cli_usage(NULL, true);
		}
	}
	if (cli.storage_driver && strcmp(cli.storage_driver, "overlay") != 0 &&
	    strcmp(cli.storage_driver, "fuse") != 0)
		return cli_error("--storage-driver %s: expected overlay or fuse", cli.storage_driver);
	if (optind >= argc)
		return cli_usage(NULL, true);
	/* Absolute: a supervisor outlives the caller's working directory. */
	if (run_dir && run_dir[0] && run_dir[0] != '/')
		return cli_error("--runroot %s: must be an absolute path", run_dir);
	cb_state_set_run_dir(run_dir);
	if (!cli.root || !cli.root[0]) {
		cli.default_root = default_root();
		if (!cli.default_root)
			return cli_error("store: out of memory");
		cli.root = cli.default_root;
	}

	const char *name = argv[optind];
	if (strcmp(name, "help") == 0)
		return cli_usage(optind + 1 < argc ? argv[optind + 1] : NULL, false);
	const struct cb_verb *v = find_verb(name);
	if (!v)
		return cli_error("%s: unknown command (see `cowbox help`)", name);
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	if (cli_wants_help(sub_argc, sub_argv))
		return cli_usage(name, false);
	/* 0, not 1: glibc then forgets main's "+" mode and each verb picks
	 * its own. */
	optind = 0;
	int ret = v->run(&cli, sub_argc, sub_argv);
	if (fflush(stdout) != 0 && ret == 0)
		ret = cli_error("stdout: %m");
	cb_store_free(cli.store);
	free(cli.default_root);
	return ret;
}
