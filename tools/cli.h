/* What every `cowbox VERB` gets: the global options, a lazily opened store,
 * and the helpers that turn library errors into one `cowbox: ...` line and
 * exit code 125. Only tools/ prints or exits. */
#pragma once

#include <stdbool.h>
#include "error.h"

#define EXIT_COWBOX 125 /* cowbox's own failure */

struct cb_store;

enum cb_log_level { CB_LOG_ERROR, CB_LOG_WARN, CB_LOG_INFO, CB_LOG_DEBUG };

struct cb_cli {
	const char *root;	    /* --root, COWBOX_ROOT, or the default */
	const char *storage_driver; /* --storage-driver, COWBOX_STORAGE_DRIVER, or NULL */
	enum cb_log_level log_level;
	struct cb_store *store; /* opened by cli_store() */
	unsigned store_flags;	/* cb_store_open_flags()'s, for cli_store() */
	char *default_root;	/* owned */
	char **argv;		/* main's, for cli_reexec_readonly */
};

struct cb_verb {
	const char *name;
	int (*run)(struct cb_cli *cli, int argc, char **argv);
	const char *summary;
	const char *usage; /* one or more lines after "usage: cowbox " */
};

/* Run again, the same argv, from a read-only bind of our own binary, unless
 * it is read-only already. For a verb that puts a process of ours where a
 * container sees it (exec, a run in a pid namespace it shares): the
 * container could make that process run this binary again (a command
 * whose interpreter is /proc/self/exe) and keep a handle on it, to write
 * it once no cowbox runs (CVE-2019-5736); reopened for writing through
 * that mount, it gives EROFS. Returns only when it did not re-exec:
 * 0 when there was nothing to do, -errno when it could not (the caller
 * goes on unprotected: open_tree and mount_setattr need CAP_SYS_ADMIN and
 * Linux 5.12). */
int cli_reexec_readonly(struct cb_cli *cli);

/* Open the store on first use; on failure print why and return NULL. */
struct cb_store *cli_store(struct cb_cli *cli);

/* Print "cowbox: <prefix>: <err->msg>" (or strerror(-r) when err is empty)
 * and return EXIT_COWBOX. */
int cli_fail(const struct cb_error *err, int r, const char *fmt, ...) _printf_(3, 4);
/* Print "cowbox: <message>" and return EXIT_COWBOX. */
int cli_error(const char *fmt, ...) _printf_(1, 2);
/* Print a log line to stderr when level <= the chosen --log-level. */
void cli_log(const struct cb_cli *cli, enum cb_log_level level, const char *fmt, ...)
	_printf_(3, 4);
/* Print the usage of verb to stdout (help) or stderr (misuse). */
int cli_usage(const char *verb, bool to_stderr);
/* True when argv holds --help or -h before "--" and before the first
 * operand (cli_main asks it before running a verb). */
bool cli_wants_help(int argc, char **argv);

/* Network state directories for this caller (tools/cmd-network.c):
 * <root>/networks and <run>/net[-<netns inode>]; both freed by the caller. */
int cli_net_dirs(struct cb_cli *cli, char **ret_networks_dir, char **ret_run_dir);

/* Parse global options and run the verb of argv from table; what main()
 * of each binary returns. */
int cli_main(int argc, char **argv, const struct cb_verb *table, size_t n);
/* The name of a log level ("error", "warn", "info", "debug"). */
const char *cli_log_level_name(enum cb_log_level level);
/* Run the verb in its helper binary next to this one, cowbox-import or
 * cowbox-registry (never returns on success). */
int cli_exec_helper(struct cb_cli *cli, int argc, char **argv);

/* The verbs, one file each: tools/cmd-<verb>.c. */
#define CB_VERB(name) int cmd_##name(struct cb_cli *cli, int argc, char **argv)
CB_VERB(bench);
CB_VERB(check);
CB_VERB(commit);
CB_VERB(cp);
CB_VERB(create);
CB_VERB(df);
CB_VERB(exec);
CB_VERB(export);
CB_VERB(diff);
CB_VERB(gc);
CB_VERB(images);
CB_VERB(import);
CB_VERB(inspect);
CB_VERB(kill);
CB_VERB(login);
CB_VERB(logout);
CB_VERB(logs);
CB_VERB(mount);
CB_VERB(network);
CB_VERB(pause);
CB_VERB(ps);
CB_VERB(pull);
CB_VERB(restart);
CB_VERB(rm);
CB_VERB(run);
CB_VERB(rmi);
CB_VERB(save);
CB_VERB(start);
CB_VERB(stats);
CB_VERB(stop);
CB_VERB(tag);
CB_VERB(top);
CB_VERB(umount);
CB_VERB(unpause);
CB_VERB(version);
CB_VERB(wait);
