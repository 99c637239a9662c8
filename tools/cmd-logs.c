/* cowbox logs [-f] [--tail N] CONTAINER: what a detached container wrote
 * to stdout and stderr (one log, in order), from its state directory;
 * --tail N only its last N lines; -f keeps printing what it writes until
 * it exits. */
#include "cli.h"
#include "fsutil.h"
#include "supervisor.h"

#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* Copy what fd has now to stdout: 0, or -errno. */
static int copy_out(int fd)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		int r = cb_write_all(STDOUT_FILENO, buf, (size_t)n);
		if (r < 0)
			return r;
	}
	return n < 0 ? -errno : 0;
}

/* Put fd at the start of its last n lines (a last line without its
 * newline counts): read backwards, a block at a time. */
static int seek_tail(int fd, long n)
{
	if (n == 0)
		return lseek(fd, 0, SEEK_END) < 0 ? -errno : 0;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	off_t end = st.st_size, pos = end;
	long seen = 0;
	char buf[65536];
	while (pos > 0) {
		size_t len = pos < (off_t)sizeof(buf) ? (size_t)pos : sizeof(buf);
		pos -= (off_t)len;
		ssize_t got = pread(fd, buf, len, pos);
		if (got != (ssize_t)len)
			return got < 0 ? -errno : -EIO;
		for (size_t i = len; i-- > 0;) {
			/* The newline that ends the file ends the last line. */
			if (buf[i] != '\n' || pos + (off_t)i == end - 1)
				continue;
			if (++seen == n)
				return lseek(fd, pos + (off_t)i + 1, SEEK_SET) < 0 ? -errno : 0;
		}
	}
	return lseek(fd, 0, SEEK_SET) < 0 ? -errno : 0;
}

static bool still_running(struct cb_cli *cli, struct cb_store *s, const struct cb_container *ctr)
{
	struct cb_state st;
	if (cli_state_get(cli, s, ctr, &st) < 0)
		return false;
	bool running = st.status == CB_STATE_RUNNING;
	cb_state_release(&st);
	return running;
}

/* -f: the log grows while the container runs. inotify says when; the
 * state is looked at again every quarter second, and once it has ended
 * what was written last is copied too. */
static int follow(struct cb_cli *cli, struct cb_store *s, const struct cb_container *ctr, int fd,
		  int dirfd)
{
	_cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", dirfd);
	if (in >= 0)
		inotify_add_watch(in, self, IN_MODIFY | IN_CLOSE_WRITE);
	for (;;) {
		int r = copy_out(fd);
		if (r < 0)
			return r;
		if (!still_running(cli, s, ctr))
			return copy_out(fd);
		struct pollfd p = {.fd = in, .events = POLLIN};
		if (poll(&p, 1, 250) > 0) {
			char ev[4096];
			while (read(in, ev, sizeof(ev)) > 0)
				;
		}
	}
}

int cmd_logs(struct cb_cli *cli, int argc, char **argv)
{
	enum { OPT_TAIL = 256 };
	static const struct option opts[] = {
	    {"follow", no_argument, NULL, 'f'}, {"tail", required_argument, NULL, OPT_TAIL}, {0}};
	bool follow_on = false;
	long tail = -1;
	int c;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c == 'f') {
			follow_on = true;
		} else if (c == OPT_TAIL) {
			char *end;
			tail = strcmp(optarg, "all") == 0 ? -1 : strtol(optarg, &end, 10);
			if (strcmp(optarg, "all") != 0 && (*end || end == optarg || tail < 0))
				return cli_error(
				    "logs --tail %s: expected a number of lines or all", optarg);
		} else {
			return cli_usage("logs", true);
		}
	}
	if (argc - optind != 1)
		return cli_usage("logs", true);
	const char *what = argv[optind];
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_container *ctr = NULL;
	struct cb_state st;
	int ret = cli_container_lookup(cli, s, "logs", what, &ctr, &st);
	if (ret != 0)
		return ret;
	cb_state_release(&st);
	_cleanup_close_ int dirfd = -1, fd = -1;
	if (cb_state_open(ctr->id, false, &dirfd) >= 0)
		fd = openat(dirfd, "log", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cb_container_free(ctr);
		return 0; /* never started detached: nothing logged */
	}
	fflush(stdout);
	int r = tail >= 0 ? seek_tail(fd, tail) : 0;
	if (r >= 0)
		r = follow_on ? follow(cli, s, ctr, fd, dirfd) : copy_out(fd);
	cb_container_free(ctr);
	if (r < 0)
		return cli_error("logs %s: %s", what, strerror(-r));
	return 0;
}
