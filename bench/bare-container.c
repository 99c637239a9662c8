/* bare-container: the least a container start can do, as a yardstick for
 * `tools/bench-peers`: what this machine's kernel charges for it, apart
 * from any runtime's own work.
 *
 *   bare-container DIR LOWER CMD [ARG...]   overlay container
 *   bare-container - CMD [ARG...]           namespaces alone
 *
 * The first clones into new pid, mount, uts, ipc and net namespaces (the
 * issue's default set, less cgroup), and in the child makes / private,
 * mounts an overlay of LOWER (one directory or a colon list) with
 * DIR/upper as its upper, mounts /proc, pivot_roots into it, detaches the
 * old root and execs CMD; the parent waits. DIR/upper, DIR/work and
 * DIR/merged are made when missing and kept, and the upper must be
 * empty: a runtime that recycles an empty upper (cowbox does) pays no
 * mkdir or rmdir per container either. What each mount leaves in the
 * work dir is renamed into DIR/spent, never deleted here: remove DIR when
 * done. The overlay is volatile, as
 * cowbox's is: without it, its unmount syncs the upper's whole
 * filesystem (1-2 ms on this disk). The second only clones into the
 * same namespaces and execs CMD on the host's root.
 *
 * It is static and small (one exec of a few pages), does no /dev, /sys,
 * masks, cgroup, capabilities, seccomp, state or user lookup, and leaves
 * the overlay to go with the mount namespace: any runtime doing what
 * `cowbox run --rm` does costs more. So the ratio of its time to crun's
 * is the lowest any such runtime can reach against crun on this machine.
 * Exits with CMD's status (128+N for a signal), 125 on its own failure. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { FAIL = 125 };

struct bare {
	char dir[4096];
	char opts[8192];
	char failed[4200]; /* the path a failed prepare_dirs() names */
	char **argv;
	int report; /* write end: the child's failed step, for the parent */
};

static char child_stack[64 * 1024] __attribute__((aligned(16)));

static void child_fail(const struct bare *b, const char *step)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "bare-container: %s: %s\n", step, strerror(errno));
	if (write(b->report, msg, (size_t)n) < 0)
		_exit(FAIL);
	_exit(FAIL);
}

static int child_main(void *arg)
{
	const struct bare *b = arg;
	char path[4200];

	if (b->dir[0]) {
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			child_fail(b, "make / private");
		snprintf(path, sizeof path, "%s/merged", b->dir);
		if (mount("overlay", path, "overlay", 0, b->opts) < 0)
			child_fail(b, "mount overlay");
		if (chdir(path) < 0)
			child_fail(b, "chdir to the rootfs");
		if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			child_fail(b, "mount /proc");
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			child_fail(b, "pivot_root");
		if (umount2(".", MNT_DETACH) < 0)
			child_fail(b, "detach the old root");
	}
	execvp(b->argv[0], b->argv);
	child_fail(b, b->argv[0]);
	return FAIL;
}

/* An upper with anything in it would carry a previous command's writes
 * into this one. */
static int check_upper_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int r = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			r = -ENOTEMPTY;
			break;
		}
	closedir(d);
	return r;
}

static int prepare_dirs(struct bare *b, const char *dir, const char *lower)
{
	static const char *const sub[] = {"", "/upper", "/work", "/merged", "/spent"};
	if ((size_t)snprintf(b->dir, sizeof b->dir, "%s", dir) >= sizeof b->dir)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < sizeof sub / sizeof *sub; i++) {
		snprintf(b->failed, sizeof b->failed, "%s%s", b->dir, sub[i]);
		if (mkdir(b->failed, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	/* What the last mount left in its workdir goes: a volatile overlay
	 * will not mount over its own marker (work/work/incompat/volatile).
	 * Renamed into spent/, not deleted: on a disk mounted with discard
	 * each directory deleted waits for the disk, and cowbox recycles
	 * these as spares instead. */
	uint64_t tag;
	char spent[4200];
	if (getrandom(&tag, sizeof tag, 0) != sizeof tag)
		return -EIO;
	snprintf(b->failed, sizeof b->failed, "%s/work/work", b->dir);
	snprintf(spent, sizeof spent, "%s/spent/%016" PRIx64, b->dir, tag);
	if (rename(b->failed, spent) < 0 && errno != ENOENT)
		return -errno;
	snprintf(b->failed, sizeof b->failed, "%s/upper", b->dir);
	int r = check_upper_empty(b->failed);
	if (r < 0)
		return r;
	if ((size_t)snprintf(b->opts, sizeof b->opts,
			     "lowerdir=%s,upperdir=%s/upper,workdir=%s/work,volatile", lower,
			     b->dir, b->dir) >= sizeof b->opts)
		return -ENAMETOOLONG;
	return 0;
}

int main(int argc, char **argv)
{
	static struct bare b;
	int fds[2], status;
	char msg[512];

	if (argc < 3 || (strcmp(argv[1], "-") && argc < 4)) {
		fprintf(stderr, "usage: bare-container DIR LOWER CMD [ARG...] | bare-container - "
				"CMD [ARG...]\n");
		return FAIL;
	}
	if (strcmp(argv[1], "-")) {
		int r = prepare_dirs(&b, argv[1], argv[2]);
		if (r < 0) {
			fprintf(stderr, "bare-container: %s: %s\n",
				b.failed[0] ? b.failed : argv[1], strerror(-r));
			return FAIL;
		}
		b.argv = argv + 3;
	} else {
		b.argv = argv + 2;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		perror("bare-container: pipe");
		return FAIL;
	}
	b.report = fds[1];
	pid_t pid = clone(
	    child_main, child_stack + sizeof child_stack,
	    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD, &b);
	if (pid < 0) {
		perror("bare-container: clone");
		return FAIL;
	}
	close(fds[1]);
	ssize_t n = read(fds[0], msg, sizeof msg - 1);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n > 0 && write(2, msg, (size_t)n) < 0)
		return FAIL;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
