/* cowbox: the command line. It parses global options, finds the verb in
 * the table below and hands over; each verb lives in cmd-<verb>.c. */
#include "cli.h"
#include "config.h"
#include "store.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Keep sorted by name. */
static const struct cb_verb verbs[] = {
	{"check", cmd_check, "report damage in the store and repair what is safe",
	 "check [--repair]"},
	{"commit", cmd_commit, "make a container's changes a new image",
	 "commit [--format oci|docker] [--compression zstd|gzip] [-m MESSAGE] CONTAINER NAME[:TAG]"},
	{"create", cmd_create, "create a container (prints its ID)",
	 "create [--name NAME] [--rm] IMAGE [CMD [ARG...]]"},
	{"df", cmd_df, "show the disk space of images, layers and containers",
	 "df [--format json]"},
	{"diff", cmd_diff, "list a container's changes (A added, C changed, D deleted)",
	 "diff CONTAINER"},
	{"gc", cmd_gc, "remove layers, blobs and leftovers nothing refers to", "gc"},
	{"images", cmd_images, "list images", "images [-q] [--format json]"},
	{"import", cmd_import, "import a docker-save tar, an OCI layout or a rootfs tar",
	 "import [-q] [--platform OS/ARCH] [--max-entries N] [--max-size BYTES] FILE|- [NAME[:TAG]]\n"
	 "       cowbox import --rootfs FILE|- NAME[:TAG]"},
	{"inspect", cmd_inspect, "show images as JSON", "inspect IMAGE..."},
	{"login", cmd_login, "log in to a registry",
	 "login [-u USER] [-p PASSWORD | --password-stdin] [--tls-verify=false] "
	 "[--authfile FILE] REGISTRY"},
	{"logout", cmd_logout, "remove a registry's credentials", "logout [--authfile FILE] REGISTRY"},
	{"mount", cmd_mount, "mount a container's rootfs and print its path", "mount CONTAINER"},
	{"network", cmd_network, "manage bridge networks; move interfaces into containers",
	 "network create [--subnet CIDR] NAME\n"
	 "       cowbox network ls [-q] [--format json]\n"
	 "       cowbox network inspect NAME...\n"
	 "       cowbox network rm NAME...     (cowbox0: only its bridge and rules go)\n"
	 "       cowbox network prune          (every network no container uses)\n"
	 "       cowbox network move IFACE CONTAINER [--to CONTAINER2]\n"
	 "  CONTAINER: a pid, a netns path (/proc/PID/ns/net, /run/netns/NAME), ns:PATH"},
	{"pull", cmd_pull, "download an image from a registry",
	 "pull [--platform OS/ARCH[/VARIANT]] [--tls-verify=false] [-q] [-j N] [--limit-rate RATE]\n"
	 "       [--authfile FILE] REF"},
	{"rm", cmd_rm, "remove containers (unmounting them)", "rm [-f] CONTAINER..."},
	{"rmi", cmd_rmi, "remove images", "rmi [-f] IMAGE..."},
	{"run", cmd_run, "run a command in a root filesystem directory", "run --rootfs DIR [RUN OPTIONS] CMD [ARG...]"},
	{"save", cmd_save, "write an image as an OCI layout tar or a docker-archive",
	 "save [--format oci|docker] [--compression gzip|zstd|none] -o FILE IMAGE"},
	{"tag", cmd_tag, "give an image another name", "tag IMAGE NAME[:TAG]"},
	{"umount", cmd_umount, "unmount containers' rootfs", "umount [-f] CONTAINER..."},
	{"version", cmd_version, "print the version", "version"},
};

static const struct cb_verb *find_verb(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static struct cb_cli *the_cli;

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
	int r = cb_store_open(cli->root, &cli->store, &err);
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
	fputs("usage: cowbox [--root DIR] [--storage-driver overlay|fuse] [--log-level LEVEL] "
	      "VERB ...\n\nverbs:\n",
	      out);
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fputs("\n`cowbox help VERB` or `cowbox VERB --help` for a verb's options\n", out);
	return to_stderr ? EXIT_COWBOX : 0;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

static int parse_log_level(const char *s, enum cb_log_level *ret)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
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

int main(int argc, char **argv)
{
	static struct cb_cli cli = {.log_level = CB_LOG_WARN};
	the_cli = &cli;
	cli.root = getenv("COWBOX_ROOT");
	cli.storage_driver = getenv("COWBOX_STORAGE_DRIVER");
	/* A closed pipe on stdout is an error to report, not a signal to die of. */
	signal(SIGPIPE, SIG_IGN);

	enum { OPT_ROOT = 256, OPT_DRIVER, OPT_LOG, OPT_VERSION };
	static const struct option opts[] = {
		{"root", required_argument, NULL, OPT_ROOT},
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
