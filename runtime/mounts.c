#include "mounts.h"
#include "fsutil.h"
#include "macro.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

static int open_tree_(const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, AT_FDCWD, path, flags);
}

int cb_mount_move(int from_fd, const char *to)
{
	return (int)syscall(SYS_move_mount, from_fd, "", AT_FDCWD, to, MOVE_MOUNT_F_EMPTY_PATH);
}

static int mount_setattr_(int fd, unsigned flags, struct mount_attr *attr)
{
	return (int)syscall(SYS_mount_setattr, fd, "", flags, attr, sizeof(*attr));
}

/* Mount a fresh fstype on name below the rootfs, never leaving it. */
static int mount_in_root(int rootfd, const char *name, const char *fstype, unsigned long flags)
{
	int fd = cb_openat2(rootfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0,
			    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd == -ENOENT) {
		if (mkdirat(rootfd, name, 0555) < 0 && errno != EEXIST)
			return -errno;
		fd = cb_openat2(rootfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0,
				RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	}
	if (fd < 0)
		return fd;
	char path[40];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int r = mount(fstype, path, fstype, flags, NULL) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/* runc's masked paths; dirs get an empty read-only tmpfs, files /dev/null.
 * Knowing which is which saves a failing mount per path. */
static const struct {
	const char *path;
	bool dir;
} masked_paths[] = {
    {"/proc/acpi", true},
    {"/proc/asound", true},
    {"/proc/kcore", false},
    {"/proc/keys", false},
    {"/proc/latency_stats", false},
    {"/proc/timer_list", false},
    {"/proc/timer_stats", false},
    {"/proc/sched_debug", false},
    {"/proc/scsi", true},
    {"/sys/firmware", true},
    {"/sys/devices/virtual/powercap", true},
};
static int bind_host_sys(int rootfd)
{
	_cleanup_close_ int tree =
	    open_tree_("/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return -errno;
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					      MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
	if (mount_setattr_(tree, AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
		return -errno;
	_cleanup_close_ int target = cb_openat2(rootfd, "sys", O_PATH | O_DIRECTORY | O_NOFOLLOW, 0,
						RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (target < 0)
		return target;
	if (syscall(SYS_move_mount, tree, "", target, "",
		    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static const struct {
	const char *name;
	unsigned major, minor;
} dev_nodes[] = {
    {"null", 1, 3},   {"zero", 1, 5},	 {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

/* Make a mount point for a bind of a file or a directory at path (inside
 * the container, after the pivot). */
static int make_mount_point(const char *path, bool dir)
{
	if (dir)
		return cb_mkdirat_p(AT_FDCWD, path, 0755);
	struct stat st;
	if (lstat(path, &st) == 0)
		return 0;
	char parent[4096];
	snprintf(parent, sizeof(parent), "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		int r = cb_mkdirat_p(AT_FDCWD, parent, 0755);
		if (r < 0)
			return r;
	}
	int fd = open(path, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	close(fd);
	return 0;
}

/* Write content to /dev/.<name> (the new /dev tmpfs), bind it over path,
 * then unlink the temporary name: the bind keeps the file alive and the
 * rootfs directory is not written. A missing or read-only /etc is skipped. */
static int provide_file(const char *name, const char *path, const char *content, bool create,
			struct cb_error *err)
{
	struct stat st;
	if (!create && stat(path, &st) < 0)
		return 0; /* the rootfs may be a shared image: do not add to it */
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "/dev/.cowbox-%s", name);
	if (content[0] == '\0' && !create)
		return 0; /* nothing to say: leave the rootfs's own file */
	int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return cb_error_errno(err, errno, "create %s", tmp);
	int r = cb_write_all(fd, content, strlen(content));
	close(fd);
	if (r < 0)
		return cb_error_errno(err, -r, "write %s", tmp);
	r = make_mount_point(path, false);
	if (r == -EROFS || r == -ENOENT || r == -ENOTDIR) {
		unlink(tmp);
		return 0;
	}
	if (r < 0)
		return cb_error_errno(err, -r, "create %s", path);
	if (mount(tmp, path, NULL, MS_BIND, NULL) < 0)
		return cb_error_errno(err, errno, "bind %s", path);
	unlink(tmp);
	return 0;
}

static int setup_dev(bool in_userns, const int *host_dev_fds, int64_t shm_size,
		     struct cb_error *err)
{
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0)
		return cb_error_errno(err, errno, "mount /dev");
	char path[32];
	for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i].name);
		if (!in_userns) {
			if (mknod(path, S_IFCHR | 0666,
				  makedev(dev_nodes[i].major, dev_nodes[i].minor)) < 0)
				return cb_error_errno(err, errno, "mknod %s", path);
			continue;
		}
		int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			return cb_error_errno(err, errno, "create %s", path);
		close(fd);
		if (cb_mount_move(host_dev_fds[i], path) < 0)
			return cb_error_errno(err, errno, "bind %s", path);
	}
	static const char *const dirs[] = {"/dev/pts", "/dev/shm", "/dev/mqueue"};
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if (mkdir(dirs[i], 0755) < 0)
			return cb_error_errno(err, errno, "mkdir %s", dirs[i]);
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0 &&
	    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620") < 0)
		return cb_error_errno(err, errno, "mount /dev/pts");
	char shm_opts[64];
	snprintf(shm_opts, sizeof(shm_opts), "mode=1777,size=%" PRId64,
		 shm_size > 0 ? shm_size : (int64_t)64 << 20);
	if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm_opts) < 0)
		return cb_error_errno(err, errno, "mount /dev/shm (%s)", shm_opts);
	if (mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return cb_error_errno(err, errno, "mount /dev/mqueue");
	static const char *const links[][2] = {
	    {"pts/ptmx", "/dev/ptmx"},		{"/proc/self/fd", "/dev/fd"},
	    {"/proc/self/fd/0", "/dev/stdin"},	{"/proc/self/fd/1", "/dev/stdout"},
	    {"/proc/self/fd/2", "/dev/stderr"}, {"/proc/kcore", "/dev/core"},
	};
	for (size_t i = 0; i < ELEMENTSOF(links); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			return cb_error_errno(err, errno, "symlink %s", links[i][1]);
	return 0;
}

/* A directory is masked by an empty read-only tmpfs: the first one made,
 * bound again over the next ones (a bind costs less than a superblock to
 * make and, when the container ends, to tear down). */
static int mask_one(const char *p, bool dir, const char **empty)
{
	if (!dir)
		return mount("/dev/null", p, NULL, MS_BIND, NULL);
	if (*empty)
		return mount(*empty, p, NULL, MS_BIND, NULL);
	if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0)
		return -1;
	*empty = p;
	return 0;
}

static int mask_paths(struct cb_error *err)
{
	const char *empty = NULL;
	for (size_t i = 0; i < ELEMENTSOF(masked_paths); i++) {
		const char *p = masked_paths[i].path;
		bool dir = masked_paths[i].dir;
		if (mask_one(p, dir, &empty) == 0 || errno == ENOENT)
			continue;
		/* A kernel where it is the other kind. */
		if ((errno == ENOTDIR || errno == EINVAL) && mask_one(p, !dir, &empty) == 0)
			continue;
		return cb_error_errno(err, errno, "mask %s", p);
	}
	for (size_t i = 0; i < ELEMENTSOF(readonly_paths); i++) {
		const char *p = readonly_paths[i];
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			return cb_error_errno(err, errno, "bind %s", p);
		}
		if (mount(NULL, p, NULL,
			  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) < 0)
			return cb_error_errno(err, errno, "remount %s read-only", p);
	}
	return 0;
}

/* Remount / read-only, keeping the flags a user namespace may not clear. */
static int remount_root_ro(struct cb_error *err)
{
	struct statvfs sv;
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
	if (statvfs("/", &sv) == 0)
		flags |= sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME |
				      ST_NODIRATIME | ST_RELATIME);
	if (mount(NULL, "/", NULL, flags, NULL) < 0)
		return cb_error_errno(err, errno, "remount / read-only");
	return 0;
}

static void read_host_resolv(char *buf, size_t size)
{
	buf[0] = '\0';
	_cleanup_close_ int fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
}

int cb_mounts_setup(const struct cb_spawn_spec *spec, const char *hostname, bool in_userns,
		    int rootfs_fd, struct cb_error *err)
{
	_cleanup_close_ int rootfd = rootfs_fd;
	int r;
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return cb_error_errno(err, errno, "make / rslave");

	/* Host-side sources, opened while the host tree is still visible.
	 * These fds end with the process (close-on-exec). */
	int vol_fds[spec->n_mounts + 1];
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct cb_mount *m = &spec->mounts[i];
		vol_fds[i] = -1;
		if (m->type != CB_MOUNT_BIND)
			continue;
		vol_fds[i] =
		    open_tree_(m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (vol_fds[i] < 0)
			return cb_error_errno(err, errno, "volume %s", m->source);
		if (m->readonly) {
			struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
			if (mount_setattr_(vol_fds[i], AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
				return cb_error_errno(err, errno, "volume %s: read-only",
						      m->source);
		}
	}
	int host_dev_fds[ELEMENTSOF(dev_nodes)];
	if (in_userns)
		for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
			char path[32];
			snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i].name);
			host_dev_fds[i] = open_tree_(path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
			if (host_dev_fds[i] < 0)
				return cb_error_errno(err, errno, "bind %s", path);
		}
	char resolv[4096];
	read_host_resolv(resolv, sizeof(resolv));

	if (rootfd < 0) {
		if (spec->rootfs_detached) {
			if (cb_mount_move(spec->rootfs_fd, spec->rootfs) < 0)
				return cb_error_errno(err, errno, "attach rootfs on %s",
						      spec->rootfs);
		} else if (mount(spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
			return cb_error_errno(err, errno, "bind rootfs %s", spec->rootfs);
		rootfd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return cb_error_errno(err, errno, "open rootfs %s", spec->rootfs);
	}
	/* proc and sysfs go in before the pivot: the kernel lets a user
	 * namespace mount them only while a full instance is visible. The
	 * mount points are resolved inside the rootfs (RESOLVE_IN_ROOT). */
	if ((r = mount_in_root(rootfd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)) < 0)
		return cb_error_errno(err, -r, "mount /proc");
	r = mount_in_root(rootfd, "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (r == -EPERM && in_userns)
		/* A user namespace without its own network namespace may not
		 * mount sysfs: bind the host's, read-only, as podman does. */
		r = bind_host_sys(rootfd);
	if (r < 0)
		return cb_error_errno(err, -r, "mount /sys");
	if (fchdir(rootfd) < 0)
		return cb_error_errno(err, errno, "chdir %s", spec->rootfs);
	/* pivot_root(".", "."): the old root ends up stacked on the new one
	 * and is detached right away; no directory of the rootfs is used. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return cb_error_errno(err, errno, "pivot_root %s", spec->rootfs);
	if (umount2(".", MNT_DETACH) < 0)
		return cb_error_errno(err, errno, "detach old root");
	if (chdir("/") < 0)
		return cb_error_errno(err, errno, "chdir /");

	r = setup_dev(in_userns, host_dev_fds, spec->shm_size, err);
	if (r < 0)
		return r;

	char hosts[8192];
	int hl;
	if (spec->etc_hosts)
		hl = snprintf(hosts, sizeof(hosts), "%s", spec->etc_hosts);
	else
		hl = snprintf(hosts, sizeof(hosts),
			      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
			      "ip6-loopback\n127.0.1.1\t%s\n",
			      hostname);
	for (size_t i = 0; i < spec->n_add_hosts && hl >= 0 && (size_t)hl < sizeof(hosts); i++) {
		char name[256], ip[64];
		if (cb_parse_add_host(spec->add_hosts[i], name, sizeof(name), ip, sizeof(ip)) < 0)
			return cb_error_set(err, EINVAL, "--add-host %s: expected NAME:IP",
					    spec->add_hosts[i]);
		hl += snprintf(hosts + hl, sizeof(hosts) - (size_t)hl, "%s\t%s\n", ip, name);
	}
	if (hl < 0 || (size_t)hl >= sizeof(hosts))
		return cb_error_set(err, ENOSPC, "/etc/hosts: too long");
	char resolv_out[8192];
	const char *resolv_text = resolv;
	if (spec->n_dns || spec->n_dns_search || spec->n_dns_options) {
		if (cb_resolv_conf(resolv, spec, resolv_out, sizeof(resolv_out)) < 0)
			return cb_error_set(err, ENOSPC, "/etc/resolv.conf: too long");
		resolv_text = resolv_out;
	}
	char hostname_nl[300];
	snprintf(hostname_nl, sizeof(hostname_nl), "%s\n", hostname);
	if ((r = provide_file("hostname", "/etc/hostname", hostname_nl, spec->create_etc_files,
			      err)) < 0 ||
	    (r = provide_file("hosts", "/etc/hosts", hosts, spec->create_etc_files, err)) < 0 ||
	    (r = provide_file("resolv", "/etc/resolv.conf", resolv_text, spec->create_etc_files,
			      err)) < 0)
		return r;

	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct cb_mount *m = &spec->mounts[i];
		if (m->type == CB_MOUNT_TMPFS) {
			r = cb_mkdirat_p(AT_FDCWD, m->target, 0755);
			if (r < 0)
				return cb_error_errno(err, -r, "tmpfs %s: mkdir", m->target);
			char opts[512];
			snprintf(opts, sizeof(opts), "mode=1777%s%s", m->source ? "," : "",
				 m->source ? m->source : "");
			if (mount("tmpfs", m->target, "tmpfs",
				  MS_NOSUID | MS_NODEV | (m->readonly ? MS_RDONLY : 0), opts) < 0)
				return cb_error_errno(err, errno, "tmpfs %s", m->target);
			continue;
		}
		struct stat st;
		bool dir = fstat(vol_fds[i], &st) < 0 || S_ISDIR(st.st_mode);
		r = make_mount_point(m->target, dir);
		if (r < 0)
			return cb_error_errno(err, -r, "volume %s: mount point", m->target);
		if (cb_mount_move(vol_fds[i], m->target) < 0)
			return cb_error_errno(err, errno, "volume %s", m->target);
		close(vol_fds[i]);
	}
	if (!spec->privileged && (r = mask_paths(err)) < 0)
		return r;
	if (spec->read_only && (r = remount_root_ro(err)) < 0)
		return r;
	if (in_userns)
		for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++)
			close(host_dev_fds[i]);
	return 0;
}

int cb_mounts_chroot(const struct cb_spawn_spec *spec, struct cb_error *err)
{
	if (spec->rootfs_detached)
		return cb_error_set(err, EINVAL, "a detached rootfs mount needs a mount namespace");
	if (spec->n_mounts || spec->read_only)
		return cb_error_set(err, EINVAL,
				    "volumes, tmpfs and --read-only need a mount namespace");
	if (chroot(spec->rootfs) < 0)
		return cb_error_errno(err, errno, "chroot %s", spec->rootfs);
	if (chdir("/") < 0)
		return cb_error_errno(err, errno, "chdir /");
	return 0;
}
