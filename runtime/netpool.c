/* Spare network namespaces (netpool.h). */
#include "netpool.h"
#include "fsutil.h"
#include "macro.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

bool cb_netpool_spare_pays(bool joined, int64_t waited_ns)
{
	int64_t gain = joined ? CB_NETPOOL_GAIN_NS - waited_ns : -waited_ns;
	return gain > CB_NETPOOL_MARGIN_NS;
}

int64_t cb_netpool_steps_due_ns(uint64_t exec_seen, uint64_t now)
{
	if (!exec_seen)
		return -1;
	uint64_t due = exec_seen + CB_NETPOOL_AFTER_NS;
	return due > now ? (int64_t)(due - now) : 0;
}

int cb_loopback_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* An entry's namespace is bound over NAME/ns. */
static void ns_rel(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/ns", name);
}

/* The same as a path for mount(2) and umount2(2), through the pool's fd:
 * nothing above the directory is looked up again. */
static void ns_path(char *buf, size_t size, int dfd, const char *name)
{
	snprintf(buf, size, "/proc/self/fd/%d/%s/ns", dfd, name);
}

/* The pool's directory, when only root may put names in it (as the
 * seccomp cache's): else a claim could be planted, a namespace of anyone's
 * choosing. -EPERM when not. */
static int open_pool(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	struct stat st;
	if (fstat(dfd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
		close(dfd);
		return -EPERM;
	}
	return dfd;
}

/* Remove an entry: the namespace's mount (the namespace itself lives on
 * in whoever joined it), the file under it, the directory. */
static void remove_entry(int dfd, const char *name)
{
	char path[PATH_MAX], rel[80];
	ns_path(path, sizeof(path), dfd, name);
	(void)umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
	ns_rel(rel, sizeof(rel), name);
	(void)unlinkat(dfd, rel, 0);
	(void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* A slot's name: digits only. */
static bool is_slot(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (*name < '0' || *name > '9')
			return false;
	return true;
}

/* A spare to use: a network namespace, made less than MAX_AGE ago. */
static bool usable(int dfd, const char *name, int fd)
{
	struct stat st;
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET ||
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	time_t now = time(NULL);
	return st.st_mtime <= now + 60 && now - st.st_mtime <= CB_NETPOOL_MAX_AGE;
}

int cb_netpool_take(const char *dir, struct cb_netpool_claim *c)
{
	c->fd = -1;
	c->name[0] = '\0';
	_cleanup_close_ int dfd = open_pool(dir);
	if (dfd < 0)
		return 0;
	for (int i = 0; i < CB_NETPOOL_SIZE; i++) {
		char slot[16], rel[80];
		snprintf(slot, sizeof(slot), "%d", i);
		snprintf(c->name, sizeof(c->name), "taken.%d.%d", (int)getpid(), i);
		/* The claim: of launches racing for a slot, one rename wins. */
		if (renameat2(dfd, slot, dfd, c->name, RENAME_NOREPLACE) < 0)
			continue;
		ns_rel(rel, sizeof(rel), c->name);
		int fd = openat(dfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && usable(dfd, c->name, fd)) {
			c->fd = fd;
			return 1;
		}
		if (fd >= 0)
			close(fd);
		remove_entry(dfd, c->name);
	}
	c->name[0] = '\0';
	return 0;
}

void cb_netpool_release(const char *dir, struct cb_netpool_claim *c)
{
	closep(&c->fd);
	if (!c->name[0])
		return;
	_cleanup_close_ int dfd = open_pool(dir);
	if (dfd >= 0)
		remove_entry(dfd, c->name);
	c->name[0] = '\0';
}

void cb_netpool_leave(struct cb_netpool_claim *c)
{
	closep(&c->fd);
	c->name[0] = '\0';
}

/* taken.PID.N or new.PID whose PID is gone: a launch killed between its
 * claim and the release, or while making a spare. */
static bool stale(const char *name)
{
	const char *p;
	if (strncmp(name, "taken.", 6) == 0)
		p = name + 6;
	else if (strncmp(name, "new.", 4) == 0)
		p = name + 4;
	else
		return false;
	char *end;
	long pid = strtol(p, &end, 10);
	if (end == p || pid <= 0 || pid > INT_MAX)
		return true;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Make a spare in slot: new.PID/ns, the namespace (lo up) bound over it,
 * then renamed to slot. We step into the namespace to make it and back. */
static int make_spare(int dfd, const char *slot)
{
	char tmp[32], rel[48], path[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "new.%d", (int)getpid());
	ns_rel(rel, sizeof(rel), tmp);
	ns_path(path, sizeof(path), dfd, tmp);
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (mkdirat(dfd, tmp, 0700) < 0)
		return -errno;
	int r = 0;
	int fd = openat(dfd, rel, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0400);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	close(fd);
	if (unshare(CLONE_NEWNET) < 0) {
		r = -errno;
		goto fail;
	}
	r = cb_loopback_up();
	if (r >= 0 && mount("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL) < 0)
		r = -errno;
	if (setns(self, CLONE_NEWNET) < 0)
		return -ENOTRECOVERABLE;
	if (r >= 0 && renameat2(dfd, tmp, dfd, slot, RENAME_NOREPLACE) < 0)
		r = -errno;
	if (r >= 0)
		return 0;
fail:
	remove_entry(dfd, tmp);
	return r;
}

/* Any name of the pool's forms: a slot, a claim, a spare being made. */
static bool pool_name(const char *name)
{
	return is_slot(name) || strncmp(name, "taken.", 6) == 0 || strncmp(name, "new.", 4) == 0;
}

/* Remove the entries of dfd that pick chooses: the number of spares
 * (slots) among them, or -errno. */
static int remove_entries(int dfd, bool (*pick)(const char *name))
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!pick(e->d_name))
			continue;
		n += is_slot(e->d_name);
		remove_entry(dfd, e->d_name);
	}
	closedir(d);
	return n;
}

/* The pool in memory: where its directory is on a disk, a tmpfs of its
 * own over it. Each spare is a directory and a file made and removed; on
 * this machine's /run (ext4 without a journal, mounted with discard) that
 * is an inode allocation that skips recently freed ones and a synchronous
 * discard per removal: 8.02 ms a run with spares there, 7.38 without (200
 * interleaved rounds). What the disk directory held goes first (the tmpfs
 * would hide it). With the lock held. 1 when mounted (open it again), 0
 * when it already is in memory. */
static int keep_in_memory(int dfd)
{
	struct statfs sf;
	if (fstatfs(dfd, &sf) < 0)
		return -errno;
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)
		return 0;
	int r = remove_entries(dfd, pool_name);
	if (r < 0)
		return r;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dfd);
	if (mount("cowbox-netns", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0700,size=64k") < 0)
		return -errno;
	return 1;
}

/* The slot to fill, and how many are empty. */
static int missing_slots(int dfd, char slot[16])
{
	int missing = 0;
	for (int i = CB_NETPOOL_SIZE - 1; i >= 0; i--) {
		char s[16];
		snprintf(s, sizeof(s), "%d", i);
		if (faccessat(dfd, s, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
			memcpy(slot, s, sizeof(s));
			missing++;
		}
	}
	return missing;
}

int cb_netpool_fill_step(const char *dir)
{
	int r = cb_mkdirat_p(AT_FDCWD, dir, 0700);
	if (r < 0)
		return r;
	_cleanup_close_ int dfd = open_pool(dir);
	if (dfd < 0)
		return dfd;
	char slot[16];
	if (!missing_slots(dfd, slot))
		return 0;
	/* The lock is the parent directory's, the same over the tmpfs and
	 * under it. Then the directory again: another may have mounted it. */
	_cleanup_close_ int parent = openat(dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return -errno;
	if (flock(parent, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? 0 : -errno;
	for (int again = 0; again < 2; again++) {
		closep(&dfd);
		if ((dfd = open_pool(dir)) < 0)
			return dfd;
		if ((r = keep_in_memory(dfd)) <= 0)
			break;
	}
	if (r < 0)
		return r;
	int missing = missing_slots(dfd, slot);
	if (!missing)
		return 0;
	(void)remove_entries(dfd, stale);
	r = make_spare(dfd, slot);
	if (r == -EEXIST) /* made by another in the meantime */
		r = 0;
	return r < 0 ? r : missing > 1;
}

int cb_netpool_drain(const char *dir)
{
	int total = 0;
	/* The tmpfs, then what may be under it. */
	for (int round = 0; round < 3; round++) {
		_cleanup_close_ int dfd = open_pool(dir);
		if (dfd == -ENOENT)
			return total;
		if (dfd < 0)
			return dfd;
		_cleanup_close_ int parent = openat(dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0 || flock(parent, LOCK_EX) < 0)
			return -errno;
		int n = remove_entries(dfd, pool_name);
		if (n < 0)
			return n;
		total += n;
		(void)unlinkat(dfd, ".lock", 0); /* an earlier layout's */
		struct stat self, up;
		if (fstat(dfd, &self) < 0 || fstat(parent, &up) < 0)
			return -errno;
		if (self.st_dev != up.st_dev) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%d", dfd);
			if (umount2(path, MNT_DETACH) < 0)
				return -errno;
			continue;
		}
		const char *name = strrchr(dir, '/');
		name = name ? name + 1 : dir;
		/* A launch that claimed a spare meanwhile removes its own entry. */
		if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT &&
		    errno != ENOTEMPTY)
			return -errno;
		return total;
	}
	return total;
}
