/* cowbox logs CONTAINER: what a detached container wrote to stdout and
 * stderr (one log, in order), from its state directory. */
#include "cli.h"
#include "fsutil.h"
#include "supervisor.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int cmd_logs(struct cb_cli *cli, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return cli_usage("logs", true);
	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_container *ctr = NULL;
	struct cb_state st;
	int ret = cli_container_lookup(cli, s, "logs", argv[1], &ctr, &st);
	if (ret != 0)
		return ret;
	cb_state_release(&st);
	_cleanup_close_ int dirfd = -1, fd = -1;
	if (cb_state_open(ctr->id, false, &dirfd) >= 0)
		fd = openat(dirfd, "log", O_RDONLY | O_CLOEXEC);
	cb_container_free(ctr);
	if (fd < 0)
		return 0; /* never started detached: nothing logged */
	fflush(stdout);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (cb_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return cli_error("logs %s: stdout: %m", argv[1]);
	if (n < 0)
		return cli_error("logs %s: read: %m", argv[1]);
	return 0;
}
