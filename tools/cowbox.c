/* cowbox: the command line. cli_main() parses the global options, finds
 * the verb in the table below and hands over; each verb lives in
 * cmd-<verb>.c. `cowbox` is linked statically (meson.build says why);
 * pull, login and logout run in cowbox-registry, the only binary that
 * links libcurl (as git keeps libcurl in git-remote-http), and import in
 * cowbox-import, which has ISA-L: neither library comes as an archive. */
#include "cli.h"
#include "macro.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Keep sorted by name. */
static const struct cb_verb verbs[] = {
	{"bench", cmd_bench, "time container boots, phase by phase; measure disk and memory per container",
	 "bench boot [-n N] [--parallel P] [--network none|host] [--storage-driver D]\n"
	 "                   [--cgroup-parent P] [--format table|json] [--plot FILE.svg]\n"
	 "                   IMAGE [CMD [ARG...]]\n"
	 "       cowbox bench footprint [-n N] [--storage-driver D] [--cgroup-parent P]\n"
	 "                   [--format table|json] [--plot FILE.svg] IMAGE [CMD [ARG...]]\n"
	 "  (see docs/commands/bench.md)"},
	{"check", cmd_check, "report damage in the store and repair what is safe",
	 "check [--repair]"},
	{"commit", cmd_commit, "make a container's changes a new image",
	 "commit [--format oci|docker] [--compression zstd|gzip] [-m MESSAGE] CONTAINER NAME[:TAG]"},
	{"cp", cmd_cp, "copy files between a container and the host",
	 "cp [-a] [-L] CONTAINER:SRC DEST|-\n"
	 "       cowbox cp [-a] [-L] SRC|- CONTAINER:DEST\n"
	 "  -a: keep the numeric owners; -L: follow a symlink at SRC"},
	{"create", cmd_create, "create a container (prints its ID)",
	 "create [RUN OPTIONS] IMAGE [CMD [ARG...]]\n"
	 "  (the RUN OPTIONS of run, kept for start; see docs/commands/create.md)"},
	{"df", cmd_df, "show the disk space of images, layers and containers",
	 "df [--format json]"},
	{"diff", cmd_diff, "list a container's changes (A added, C changed, D deleted)",
	 "diff CONTAINER"},
	{"exec", cmd_exec, "run a command in a running container",
	 "exec [-d] [-i] [-t] [-e K=V] [-u USER[:GROUP]] [-w DIR] [--ns LIST] [--no-cgroup] CONTAINER CMD "
	 "[ARG...]"},
	{"export", cmd_export, "write a container's filesystem as a tar",
	 "export [-o FILE] CONTAINER"},
	{"gc", cmd_gc, "remove layers, blobs and leftovers nothing refers to", "gc"},
	{"images", cmd_images, "list images", "images [-q] [--format json]"},
	{"import", cli_exec_helper, "import a docker-save tar, an OCI layout or a rootfs tar",
	 "import [-q] [--platform OS/ARCH] [--max-entries N] [--max-size BYTES] FILE|- [NAME[:TAG]]\n"
	 "       cowbox import --rootfs FILE|- NAME[:TAG]"},
	{"inspect", cmd_inspect, "show images or containers as JSON (or through a template)",
	 "inspect [-f TEMPLATE] [--type image|container] IMAGE|CONTAINER...\n"
	 "  TEMPLATE: text with {{.Field.Path}} and {{json .Field.Path}}"},
	{"kill", cmd_kill, "send a signal to running containers (default KILL)",
	 "kill [-s SIGNAL] CONTAINER..."},
	{"login", cli_exec_helper, "log in to a registry",
	 "login [-u USER] [-p PASSWORD | --password-stdin] [--tls-verify=false] "
	 "[--authfile FILE] REGISTRY"},
	{"logout", cli_exec_helper, "remove a registry's credentials", "logout [--authfile FILE] REGISTRY"},
	{"logs", cmd_logs, "print what a detached container wrote (-f: follow)",
	 "logs [-f] [--tail N] CONTAINER"},
	{"mount", cmd_mount, "mount a container's rootfs and print its path", "mount CONTAINER"},
	{"network", cmd_network, "manage bridge networks; move interfaces into containers",
	 "network create [--subnet CIDR] NAME\n"
	 "       cowbox network ls [-q] [--format json]\n"
	 "       cowbox network inspect NAME...\n"
	 "       cowbox network rm NAME...     (cowbox0: only its bridge and rules go)\n"
	 "       cowbox network prune          (every network no container uses)\n"
	 "       cowbox network move IFACE CONTAINER [--to CONTAINER2]\n"
	 "  CONTAINER: a pid, a netns path (/proc/PID/ns/net, /run/netns/NAME), ns:PATH"},
	{"pause", cmd_pause, "freeze every process of running containers", "pause CONTAINER..."},
	{"ps", cmd_ps, "list running containers (all with -a)",
	 "ps [-a] [-q] [-f KEY=VALUE]... [--format json]\n"
	 "  KEY: id, name, label, status, ancestor"},
	{"pull", cli_exec_helper, "download an image from a registry",
	 "pull [--platform OS/ARCH[/VARIANT]] [--tls-verify=false] [-q] [-j N] [--limit-rate RATE]\n"
	 "       [--authfile FILE] REF"},
	{"restart", cmd_restart, "stop running containers and start them again (detached)",
	 "restart [-t SECS] CONTAINER..."},
	{"rm", cmd_rm, "remove containers (-f: kill a running one first)", "rm [-f] CONTAINER..."},
	{"rmi", cmd_rmi, "remove images", "rmi [-f] IMAGE..."},
	{"run", cmd_run, "run a command in a new container",
	 "run [RUN OPTIONS] IMAGE [CMD [ARG...]]\n"
	 "       cowbox run --rootfs DIR [RUN OPTIONS] CMD [ARG...]\n"
	 "  (see docs/commands/run.md for the RUN OPTIONS)"},
	{"save", cmd_save, "write an image as an OCI layout tar or a docker-archive",
	 "save [--format oci|docker] [--compression gzip|zstd|none] -o FILE IMAGE"},
	{"start", cmd_start, "start created containers (detached; -a: attached, its exit code)",
	 "start [-a] CONTAINER..."},
	{"stats", cmd_stats, "what running containers use: cpu, memory, network and block I/O, tasks",
	 "stats [-a] [--no-stream] [--interval SECS] [--format json|table] [CONTAINER...]"},
	{"stop", cmd_stop, "stop running containers (SIGTERM, SIGKILL after SECS)",
	 "stop [-t SECS] CONTAINER..."},
	{"tag", cmd_tag, "give an image another name", "tag IMAGE NAME[:TAG]"},
	{"top", cmd_top, "list a running container's processes", "top CONTAINER"},
	{"umount", cmd_umount, "unmount containers' rootfs", "umount [-f] CONTAINER..."},
	{"unpause", cmd_unpause, "thaw paused containers", "unpause CONTAINER..."},
	{"version", cmd_version, "print the version", "version"},
	{"wait", cmd_wait, "wait for containers to exit and print their exit codes",
	 "wait CONTAINER..."},
};


/* The verbs whose libraries the static `cowbox` leaves out run in a
 * helper binary installed beside it: import (ISA-L) in cowbox-import;
 * pull, login, logout (libcurl) in cowbox-registry. */
int cli_exec_helper(struct cb_cli *cli, int argc, char **argv)
{
	const char *helper = strcmp(argv[0], "import") == 0 ? "cowbox-import" : "cowbox-registry";
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 32);
	if (n <= 0)
		return cli_error("%s: cannot find %s: %m", argv[0], helper);
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	strcpy(slash ? slash + 1 : self, helper);
	char **args = calloc((size_t)argc + 8, sizeof(char *));
	if (!args)
		return cli_error("%s: out of memory", argv[0]);
	size_t k = 0;
	args[k++] = self;
	args[k++] = "--root";
	args[k++] = (char *)cli->root;
	args[k++] = "--log-level";
	args[k++] = (char *)cli_log_level_name(cli->log_level);
	for (int i = 0; i < argc; i++)
		args[k++] = argv[i];
	fflush(stdout);
	execv(self, args);
	int e = errno;
	free(args);
	return cli_error("%s: cannot run %s: %s", argv[0], self, strerror(e));
}

int main(int argc, char **argv)
{
	return cli_main(argc, argv, verbs, ELEMENTSOF(verbs));
}
