/* cowbox-fuse: serve layer dirs plus an upper dir as one overlay
 * filesystem through FUSE, in the kernel overlayfs format.
 *
 *   cowbox-fuse [--daemon] [--log FILE] --lower DIR... --upper DIR --work DIR MOUNTPOINT
 *   cowbox-fuse -o lowerdir=A:B,upperdir=U,workdir=W MOUNTPOINT   (fuse-overlayfs style)
 *
 * Lowers are given top first. It serves until the mount goes away
 * (umount, umount -l, or SIGTERM which unmounts) and then exits 0. With
 * --daemon it returns once the mount is live (exit 0) or failed (exit 1
 * with one line on stderr), leaving a detached server behind: that is
 * what cb_fuse_mount() runs. A program, not library code: it prints. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "loop.h"
#include "ops.h"

struct args {
	char **lowers;
	int n_lowers;
	const char *upper, *work, *mountpoint, *log;
	bool daemon, debug, readonly, dev;
	unsigned threads, idle_threads, clone_fd, handover_us, readahead_kb, dirty_ratio;
	bool libfuse_loop; /* libfuse's loops instead of ours (for comparison) */
	struct cbf_options opt;
};

static int add_lower(struct args *a, const char *dir)
{
	char **v = realloc(a->lowers, (a->n_lowers + 1) * sizeof(*v));
	if (!v)
		return -1;
	a->lowers = v;
	a->lowers[a->n_lowers++] = strdup(dir);
	return 0;
}

/* lowerdir=A:B with "\:" for a colon inside a name, as overlayfs takes it */
static int split_lowers(struct args *a, const char *s)
{
	char *buf = malloc(strlen(s) + 1), *o = buf;
	if (!buf)
		return -1;
	for (;; s++) {
		if (*s == '\\' && s[1]) {
			*o++ = *++s;
		} else if (*s == ':' || !*s) {
			*o = '\0';
			if (o != buf && add_lower(a, buf) < 0)
				return -1;
			o = buf;
			if (!*s)
				break;
		} else {
			*o++ = *s;
		}
	}
	free(buf);
	return 0;
}

static int parse_o(struct args *a, char *opts)
{
	char *save = NULL;
	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (strncmp(o, "lowerdir=", 9) == 0) {
			if (split_lowers(a, o + 9) < 0)
				return -1;
		} else if (strncmp(o, "upperdir=", 9) == 0) {
			a->upper = o + 9;
		} else if (strncmp(o, "workdir=", 8) == 0) {
			a->work = o + 8;
		} else if (strncmp(o, "timeout=", 8) == 0) {
			a->opt.timeout = strtod(o + 8, NULL);
		} else if (strcmp(o, "writeback") == 0 || strcmp(o, "no_writeback") == 0) {
			a->opt.writeback = o[0] != 'n';
		} else if (strcmp(o, "splice") == 0 || strcmp(o, "no_splice") == 0) {
			a->opt.splice = o[0] != 'n';
		} else if (strcmp(o, "splice_read") == 0 || strcmp(o, "no_splice_read") == 0) {
			a->opt.splice_read = o[0] != 'n';
		} else if (strcmp(o, "passthrough") == 0 || strcmp(o, "no_passthrough") == 0) {
			a->opt.passthrough = o[0] != 'n';
		} else if (strncmp(o, "max_write=", 10) == 0) {
			a->opt.max_write = (unsigned)strtoul(o + 10, NULL, 0);
		} else if (strcmp(o, "libfuse_loop") == 0) {
			a->libfuse_loop = true;
		} else if (strncmp(o, "dirty_ratio=", 12) == 0) {
			a->dirty_ratio = (unsigned)strtoul(o + 12, NULL, 0);
		} else if (strncmp(o, "readahead_kb=", 13) == 0) {
			a->readahead_kb = (unsigned)strtoul(o + 13, NULL, 0);
		} else if (strncmp(o, "handover_us=", 12) == 0) {
			a->handover_us = (unsigned)strtoul(o + 12, NULL, 0);
		} else if (strncmp(o, "threads=", 8) == 0) {
			a->threads = (unsigned)strtoul(o + 8, NULL, 0);
		} else if (strncmp(o, "idle_threads=", 13) == 0) {
			a->idle_threads = (unsigned)strtoul(o + 13, NULL, 0);
		} else if (strncmp(o, "clone_fd=", 9) == 0) {
			a->clone_fd = (unsigned)strtoul(o + 9, NULL, 0);
		} else if (strcmp(o, "ro") == 0) {
			a->readonly = true;
		} else if (strcmp(o, "dev") == 0 || strcmp(o, "nodev") == 0) {
			a->dev = o[0] != 'n';
		} else if (strcmp(o, "volatile") == 0) {
			a->opt.no_sync = true;
		} else if (strcmp(o, "debug") == 0) {
			a->debug = true;
		} else {
			fprintf(stderr, "cowbox-fuse: unknown option %s\n", o);
			return -1;
		}
	}
	return 0;
}

static void free_args(struct args *a)
{
	for (int i = 0; i < a->n_lowers; i++)
		free(a->lowers[i]);
	free(a->lowers);
	a->lowers = NULL;
	a->n_lowers = 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cowbox-fuse [--daemon] [--log FILE] --lower DIR... --upper DIR --work DIR "
		"MOUNTPOINT\n"
		"       cowbox-fuse [-o lowerdir=A:B,upperdir=U,workdir=W,...] MOUNTPOINT\n"
		"       cowbox-fuse -o ro --lower DIR... MOUNTPOINT   (read-only, no upper)\n"
		"options (-o): ro, volatile (no fsync), dev (device nodes work; default nodev),\n"
		"              timeout=SECONDS, [no_]writeback, [no_]splice, [no_]splice_read, "
		"[no_]passthrough,\n"
		"              max_write=BYTES, threads=N, handover_us=N, readahead_kb=N, "
		"dirty_ratio=PCT, libfuse_loop (with idle_threads=N,\n"
		"              clone_fd=0|1), debug\n");
}

static int parse_args(struct args *a, int argc, char **argv)
{
	static const struct option longopts[] = {{"lower", required_argument, NULL, 'L'},
						 {"upper", required_argument, NULL, 'U'},
						 {"work", required_argument, NULL, 'W'},
						 {"daemon", no_argument, NULL, 'D'},
						 {"log", required_argument, NULL, 'l'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	int ch;
	while ((ch = getopt_long(argc, argv, "o:fdh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'L':
			if (add_lower(a, optarg) < 0)
				return -1;
			break;
		case 'U':
			a->upper = optarg;
			break;
		case 'W':
			a->work = optarg;
			break;
		case 'D':
			a->daemon = true;
			break;
		case 'l':
			a->log = optarg;
			break;
		case 'o':
			if (parse_o(a, optarg) < 0)
				return -1;
			break;
		case 'f': /* foreground is the default; accepted for fuse-overlayfs users */
			break;
		case 'd':
			a->debug = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind + 1 != argc || (!a->readonly && (!a->upper || !a->work)) || a->n_lowers == 0) {
		usage(stderr);
		return -1;
	}
	a->mountpoint = argv[optind];
	return 0;
}

/* Report the outcome of starting to the --daemon parent (fd -1: none). */
static void report(int fd, const char *msg)
{
	if (fd < 0)
		return;
	ssize_t n = write(fd, msg, strlen(msg));
	(void)n;
	close(fd);
}

static void write_bdi(const char *dev, const char *knob, unsigned value)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/%s", dev, knob);
	FILE *f = fopen(path, "we");
	if (f) {
		fprintf(f, "%u\n", value);
		fclose(f);
	}
}

/* Tune our mount's bdi. FUSE caps read-ahead at 128 KiB, so a sequential
 * read costs a request per 128 KiB; 512 KiB takes a quarter of the round
 * trips (a reply must fit the 1 MiB splice pipe). And a FUSE bdi may hold
 * only 1% of the dirty-page budget, strictly: a big write is throttled to
 * a crawl long before the server is busy; dirty_ratio_pct raises that
 * share. The bdi is found through mountinfo, as a stat of the mount point
 * would wait for a server that is not serving yet. */
static void tune_bdi(const char *mountpoint, unsigned readahead_kb, unsigned dirty_ratio_pct)
{
	char real[PATH_MAX], line[8192], dev[64] = "";
	if (!realpath(mountpoint, real))
		return;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mm[64], mp[4096];
		if (sscanf(line, "%*s %*s %63s %*s %4095s", mm, mp) == 2 && strcmp(mp, real) == 0)
			snprintf(dev, sizeof(dev), "%s", mm); /* the last one is on top */
	}
	fclose(f);
	if (!*dev)
		return;
	if (readahead_kb)
		write_bdi(dev, "read_ahead_kb", readahead_kb);
	if (dirty_ratio_pct)
		write_bdi(dev, "max_ratio", dirty_ratio_pct);
}

static int serve(struct args *a, int ready_fd)
{
	static struct cbf_ctx ctx;
	char msg[1024];
	const char *what = NULL;
	ctx.opt = a->opt;
	int r = cbf_fs_init(&ctx.fs, a->readonly ? NULL : a->upper, a->lowers, a->n_lowers,
			    a->readonly ? NULL : a->work, &what);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cowbox-fuse: %s: %s\n", what ? what : "setup",
			 strerror(-r));
		fputs(msg, stderr);
		report(ready_fd, msg);
		return 1;
	}
	/* modes and owners of new files are exactly what the caller asked */
	umask(0);
	/* one fd per open file and per merged dir being read */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	char fsname[64];
	snprintf(fsname, sizeof(fsname), "fsname=cowbox-fuse");
	/* nodev by default, as the overlay driver mounts: device nodes of an
	 * image show but do not open (the launcher gives containers a /dev) */
	char mopts[128];
	snprintf(mopts, sizeof(mopts), "allow_other,default_permissions,suid,%s,subtype=cowbox%s",
		 a->dev ? "dev" : "nodev", a->readonly ? ",ro" : "");
	char *fargv[] = {"cowbox-fuse", "-o", mopts, "-o", fsname, a->debug ? "-d" : NULL, NULL};
	struct fuse_args fargs = FUSE_ARGS_INIT(a->debug ? 6 : 5, fargv);
	struct fuse_session *se = fuse_session_new(&fargs, &cbf_ops, sizeof(cbf_ops), &ctx);
	if (!se) {
		report(ready_fd, "cowbox-fuse: cannot create the FUSE session\n");
		return 1;
	}
	if ((a->libfuse_loop && fuse_set_signal_handlers(se) != 0) ||
	    fuse_session_mount(se, a->mountpoint) != 0) {
		snprintf(msg, sizeof(msg), "cowbox-fuse: mount %s: failed (is /dev/fuse there?)\n",
			 a->mountpoint);
		report(ready_fd, msg);
		fuse_session_destroy(se);
		return 1;
	}
	tune_bdi(a->mountpoint, a->readahead_kb, a->dirty_ratio);
	report(ready_fd, "ok\n");

	if (!a->libfuse_loop) {
		r = cbf_loop_run(se, a->threads, a->handover_us, cbf_open_is_quick, &ctx);
	} else if (a->threads == 1) {
		r = fuse_session_loop(se);
	} else {
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, a->clone_fd);
		fuse_loop_cfg_set_max_threads(cfg, a->threads);
		fuse_loop_cfg_set_idle_threads(cfg, a->idle_threads);
		r = fuse_session_loop_mt(se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	fuse_session_unmount(se);
	if (a->libfuse_loop)
		fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	cbf_fs_release(&ctx.fs);
	return r == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct args a = {.threads = 16,
			 .idle_threads = 8,
			 .clone_fd = 1,
			 .readahead_kb = 512,
			 .opt = {.timeout = 86400,
				 .writeback = true,
				 .splice = true,
				 .passthrough = true,
				 .max_write = 1 << 20}};
	if (parse_args(&a, argc, argv) < 0) {
		free_args(&a);
		return 2;
	}
	if (!a.daemon) {
		int r = serve(&a, -1);
		free_args(&a);
		return r;
	}

	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("cowbox-fuse: pipe");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("cowbox-fuse: fork");
		return 1;
	}
	if (pid > 0) {
		close(p[1]);
		char buf[1024];
		ssize_t n, len = 0;
		while (len < (ssize_t)sizeof(buf) - 1 &&
		       (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
			len += n;
		buf[len] = '\0';
		free_args(&a);
		if (strcmp(buf, "ok\n") == 0)
			return 0;
		fputs(len ? buf : "cowbox-fuse: server died while mounting\n", stderr);
		return 1;
	}
	close(p[0]);
	setsid();
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
		dup2(nul, STDERR_FILENO);
	}
	/* the log file appears only when there is something to say */
	if (a.log)
		cbf_log_to(a.log);
	if (chdir("/") < 0)
		return 1;
	int r = serve(&a, p[1]);
	free_args(&a);
	return r;
}
