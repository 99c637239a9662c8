#include "mounts.h"
#include "fsutil.h"
#include "report.h"
#include "macro.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
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

/* A fresh superblock of fstype as a detached mount: each comma-separated
 * "key=value" or "flag" of opts goes to fsconfig, attrs to fsmount; source
 * is what mount(8) shows. Made
 * before the rootfs is there, attached once it is. The fd, or -errno. */
static int fresh_mount(const char *fstype, const char *source, const char *opts, unsigned attrs)
{
	_cleanup_close_ int fs = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return -errno;
	char buf[256];
	if (snprintf(buf, sizeof(buf), "%s", opts ? opts : "") >= (int)sizeof(buf))
		return -E2BIG;
	char *save = NULL;
	for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(o, '=');
		if (eq)
			*eq++ = '\0';
		if (fsconfig(fs, eq ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, o, eq, 0) < 0)
			return -errno;
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -errno;
	int m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	return m < 0 ? -errno : m;
}

/* Attach the detached mount *tree on name below the rootfs, never leaving
 * it (a missing directory is made); *tree is closed. */
static int attach_in_root(int rootfd, const char *name, int *tree)
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
	int r = (int)syscall(SYS_move_mount, *tree, "", fd, "",
			     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0
		    ? -errno
		    : 0;
	close(fd);
	closep(tree);
	return r;
}

/* Attach the detached mount *tree on path (inside the container, after the
 * pivot); *tree is closed. 0 or -1 with errno. */
static int attach_at(int *tree, const char *path)
{
	int r = (int)syscall(SYS_move_mount, *tree, "", AT_FDCWD, path,
			     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS);
	int e = errno;
	closep(tree);
	errno = e;
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

/* Whether runc's masks apply at all, and so the empty tmpfs they need
 * (unless --security-opt mask= asks for masks of its own). */
static bool masks_defaults(const struct cb_spawn_spec *spec)
{
	return !spec->privileged && !spec->unmask_all;
}

static bool masks_any(const struct cb_spawn_spec *spec)
{
	return masks_defaults(spec) || spec->n_mask;
}

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

/* The container's own filesystems, made before its rootfs is there (with a
 * late rootfs, while it is being made): detached mounts, attached once it
 * is. -1 where there is none (yet). */
struct fresh {
	int proc, sys, dev, pts, shm, mqueue;
	int empty; /* a read-only empty tmpfs for the masked directories */
};

static void fresh_close(struct fresh *f)
{
	closep(&f->proc);
	closep(&f->sys);
	closep(&f->dev);
	closep(&f->pts);
	closep(&f->shm);
	closep(&f->mqueue);
	closep(&f->empty);
}

/* /etc/hostname, /etc/hosts and /etc/resolv.conf are written to .cowbox-NAME
 * in the new /dev and bound over their path (provide_file). */
static const char *const etc_files[][2] = {
    {"hostname", "/etc/hostname"},
    {"hosts", "/etc/hosts"},
    {"resolv", "/etc/resolv.conf"},
};

static int stage_file(int devfd, const char *name, const char *content, struct cb_error *err)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), ".cowbox-%s", name);
	_cleanup_close_ int fd =
	    openat(devfd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return cb_error_errno(err, errno, "create /dev/%s", tmp);
	int r = cb_write_all(fd, content, strlen(content));
	if (r < 0)
		return cb_error_errno(err, -r, "write /dev/%s", tmp);
	return 0;
}

/* Bind /dev/.cowbox-<name> (stage_file) over path, then unlink the
 * temporary name: the bind keeps the file alive and the rootfs directory
 * is not written. Without create, a path the rootfs lacks is left so (the
 * rootfs may be a shared image: do not add to it), as is one when there
 * is nothing to say; a missing or read-only /etc is skipped. */
static int provide_file(const char *name, const char *path, bool staged, bool create,
			struct cb_error *err)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "/dev/.cowbox-%s", name);
	struct stat st;
	int r = 0;
	if (!staged || (!create && stat(path, &st) < 0))
		goto out;
	r = make_mount_point(path, false);
	if (r == -EROFS || r == -ENOENT || r == -ENOTDIR) {
		r = 0;
		goto out;
	}
	if (r < 0) {
		cb_error_errno(err, -r, "create %s", path);
		goto out;
	}
	if (mount(tmp, path, NULL, MS_BIND, NULL) < 0)
		r = cb_error_errno(err, errno, "bind %s", path);
out:
	if (staged)
		unlink(tmp);
	return r;
}

/* The new /dev, filled while detached: nodes (empty files to bind the
 * host's over, in a user namespace, which may not mknod), the mount points
 * of pts, shm and mqueue, the usual links. */
static int fill_dev(int devfd, bool in_userns, struct cb_error *err)
{
	for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
		const char *name = dev_nodes[i].name;
		if (!in_userns) {
			if (mknodat(devfd, name, S_IFCHR | 0666,
				    makedev(dev_nodes[i].major, dev_nodes[i].minor)) < 0)
				return cb_error_errno(err, errno, "mknod /dev/%s", name);
			continue;
		}
		int fd = openat(devfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0)
			return cb_error_errno(err, errno, "create /dev/%s", name);
		close(fd);
	}
	static const char *const dirs[] = {"pts", "shm", "mqueue"};
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if (mkdirat(devfd, dirs[i], 0755) < 0)
			return cb_error_errno(err, errno, "mkdir /dev/%s", dirs[i]);
	static const char *const links[][2] = {
	    {"pts/ptmx", "ptmx"},	   {"/proc/self/fd", "fd"},
	    {"/proc/self/fd/0", "stdin"},  {"/proc/self/fd/1", "stdout"},
	    {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"},
	};
	for (size_t i = 0; i < ELEMENTSOF(links); i++)
		if (symlinkat(links[i][0], devfd, links[i][1]) < 0)
			return cb_error_errno(err, errno, "symlink /dev/%s", links[i][1]);
	return 0;
}

/* Everything of the container's own that needs no rootfs: proc (of its pid
 * namespace), sysfs (of its network namespace; NULL in a user namespace
 * that may not mount it: the host's is bound later), /dev filled and
 * the files for /etc staged in it, devpts, shm, mqueue, and the masks'
 * empty tmpfs. */
static int make_fresh(const struct cb_spawn_spec *spec, bool in_userns,
		      const char *const contents[3], struct fresh *f, struct cb_error *err)
{
	const unsigned safe = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	f->proc = fresh_mount("proc", "proc", NULL, safe);
	if (f->proc < 0)
		return cb_error_errno(err, -f->proc, "mount /proc");
	f->sys = fresh_mount("sysfs", "sysfs", "ro", MOUNT_ATTR_RDONLY | safe);
	if (f->sys == -EPERM && in_userns)
		/* A user namespace without its own network namespace may not
		 * mount sysfs: the host's is bound, read-only, as podman does. */
		f->sys = -1;
	else if (f->sys < 0)
		return cb_error_errno(err, -f->sys, "mount /sys");
	f->dev = fresh_mount("tmpfs", "tmpfs", "mode=755,size=65536k",
			     MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME);
	if (f->dev < 0)
		return cb_error_errno(err, -f->dev, "mount /dev");
	int r = fill_dev(f->dev, in_userns, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(etc_files); i++)
		if (contents[i] && (r = stage_file(f->dev, etc_files[i][0], contents[i], err)) < 0)
			return r;
	/* gid=5 (tty) may not be mapped in a user namespace. */
	f->pts = fresh_mount("devpts", "devpts", "newinstance,ptmxmode=0666,mode=0620,gid=5",
			     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	if (f->pts < 0)
		f->pts = fresh_mount("devpts", "devpts", "newinstance,ptmxmode=0666,mode=0620",
				     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	if (f->pts < 0)
		return cb_error_errno(err, -f->pts, "mount /dev/pts");
	char shm_opts[64];
	snprintf(shm_opts, sizeof(shm_opts), "mode=1777,size=%" PRId64,
		 spec->shm_size > 0 ? spec->shm_size : (int64_t)64 << 20);
	f->shm = fresh_mount("tmpfs", "shm", shm_opts, safe);
	if (f->shm < 0)
		return cb_error_errno(err, -f->shm, "mount /dev/shm (%s)", shm_opts);
	f->mqueue = fresh_mount("mqueue", "mqueue", NULL, safe);
	if (f->mqueue < 0)
		return cb_error_errno(err, -f->mqueue, "mount /dev/mqueue");
	if (masks_any(spec)) {
		f->empty = fresh_mount("tmpfs", "tmpfs", "size=0,ro", MOUNT_ATTR_RDONLY | safe);
		if (f->empty < 0)
			return cb_error_errno(err, -f->empty, "mount an empty tmpfs");
	}
	return 0;
}

/* Attach the new /dev and what goes in it (after the pivot). */
static int attach_dev(struct fresh *f, bool in_userns, const int *host_dev_fds,
		      struct cb_error *err)
{
	if (attach_at(&f->dev, "/dev") < 0)
		return cb_error_errno(err, errno, "mount /dev");
	char path[32];
	for (size_t i = 0; in_userns && i < ELEMENTSOF(dev_nodes); i++) {
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i].name);
		if (cb_mount_move(host_dev_fds[i], path) < 0)
			return cb_error_errno(err, errno, "bind %s", path);
	}
	if (attach_at(&f->pts, "/dev/pts") < 0)
		return cb_error_errno(err, errno, "mount /dev/pts");
	if (attach_at(&f->shm, "/dev/shm") < 0)
		return cb_error_errno(err, errno, "mount /dev/shm");
	if (attach_at(&f->mqueue, "/dev/mqueue") < 0)
		return cb_error_errno(err, errno, "mount /dev/mqueue");
	return 0;
}

/* A directory is masked by an empty read-only tmpfs: the one made
 * beforehand, bound again over the next ones (a bind costs less than a
 * superblock to make and, when the container ends, to tear down). */
static int mask_one(const char *p, bool dir, int *empty_fd, const char **empty)
{
	if (!dir)
		return mount("/dev/null", p, NULL, MS_BIND, NULL);
	if (*empty)
		return mount(*empty, p, NULL, MS_BIND, NULL);
	if (*empty_fd < 0) {
		errno = EBADF;
		return -1;
	}
	/* A failed move leaves the fd as it was, for the next path. */
	if (syscall(SYS_move_mount, *empty_fd, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -1;
	closep(empty_fd);
	*empty = p;
	return 0;
}

/* The next path of a colon list at *s into buf: 1, 0 at its end,
 * -ENAMETOOLONG (buf then holds its start) for one that does not fit. */
static int next_listed(const char **s, char buf[PATH_MAX])
{
	if (!**s)
		return 0;
	size_t len = strcspn(*s, ":");
	snprintf(buf, PATH_MAX, "%.*s", (int)len, *s);
	*s += len + ((*s)[len] == ':');
	return len < PATH_MAX ? 1 : -ENAMETOOLONG;
}

/* Whether path is one of the colon lists' patterns. */
static bool path_listed(const char *path, const char *const *lists, size_t n)
{
	char pat[PATH_MAX];
	for (size_t i = 0; i < n; i++)
		for (const char *s = lists[i]; next_listed(&s, pat) != 0;)
			if (fnmatch(pat, path, FNM_PATHNAME) == 0)
				return true;
	return false;
}

/* Mask p as a directory or not (dir); a path that is not there is not
 * masked; a kernel where it is the other kind gets the other mask. */
static int mask_path(const char *p, bool dir, int *empty_fd, const char **empty,
		     struct cb_error *err)
{
	if (mask_one(p, dir, empty_fd, empty) == 0 || errno == ENOENT)
		return 0;
	if ((errno == ENOTDIR || errno == EINVAL) && mask_one(p, !dir, empty_fd, empty) == 0)
		return 0;
	return cb_error_errno(err, errno, "mask %s", p);
}

/* --security-opt mask=: what each path is decides its mask. */
static int mask_asked(const struct cb_spawn_spec *spec, int *empty_fd, const char **empty,
		      struct cb_error *err)
{
	char p[PATH_MAX];
	int r;
	for (size_t i = 0; i < spec->n_mask; i++)
		for (const char *s = spec->mask[i]; (r = next_listed(&s, p)) != 0;) {
			if (r < 0)
				return cb_error_errno(err, -r, "mask %.64s...", p);
			struct stat st;
			if (stat(p, &st) < 0) {
				if (errno == ENOENT)
					continue;
				return cb_error_errno(err, errno, "mask %s", p);
			}
			if ((r = mask_path(p, S_ISDIR(st.st_mode), empty_fd, empty, err)) < 0)
				return r;
		}
	return 0;
}

static int mask_paths(const struct cb_spawn_spec *spec, int *empty_fd, struct cb_error *err)
{
	const char *empty = NULL;
	int r;
	if (!masks_defaults(spec))
		return mask_asked(spec, empty_fd, &empty, err);
	for (size_t i = 0; i < ELEMENTSOF(masked_paths); i++) {
		const char *p = masked_paths[i].path;
		if (spec->n_unmask && path_listed(p, spec->unmask, spec->n_unmask))
			continue;
		if ((r = mask_path(p, masked_paths[i].dir, empty_fd, &empty, err)) < 0)
			return r;
	}
	/* Not called without a list: its PATH_MAX buffer stays off the
	 * default run's stack. */
	if (spec->n_mask && (r = mask_asked(spec, empty_fd, &empty, err)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(readonly_paths); i++) {
		const char *p = readonly_paths[i];
		if (spec->n_unmask && path_listed(p, spec->unmask, spec->n_unmask))
			continue;
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
		    int rootfs_fd, int late_sock, bool report_ready, struct cb_error *err)
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

	/* The files for /etc. */
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
	/* Nothing to say and nothing to make: the rootfs's own file stays. */
	const char *contents[3] = {hostname_nl, hosts, resolv_text};
	for (size_t i = 0; i < ELEMENTSOF(contents); i++)
		if (!contents[i][0] && !spec->create_etc_files)
			contents[i] = NULL;

	/* proc and sysfs are made before the pivot: the kernel lets a user
	 * namespace mount them only while a full instance is visible. */
	_cleanup_(fresh_close) struct fresh fresh = {-1, -1, -1, -1, -1, -1, -1};
	if ((r = make_fresh(spec, in_userns, contents, &fresh, err)) < 0)
		return r;

	if (rootfd < 0 && late_sock >= 0) {
		if (report_ready) {
			struct cb_report rep = {.kind = 'W'};
			uint64_t t = cb_now_ns();
			memcpy(rep.msg, &t, sizeof(t));
			(void)!send(late_sock, &rep, sizeof(rep), MSG_NOSIGNAL);
		}
		_cleanup_close_ int tree = cb_report_recv_fd(late_sock, 'R');
		if (tree < 0)
			return cb_error_errno(err, -tree, "receive the rootfs");
		if (cb_mount_move(tree, spec->rootfs) < 0)
			return cb_error_errno(err, errno, "attach rootfs on %s", spec->rootfs);
		rootfd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return cb_error_errno(err, errno, "open rootfs %s", spec->rootfs);
	} else if (rootfd < 0) {
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
	/* The mount points are resolved inside the rootfs (RESOLVE_IN_ROOT). */
	if ((r = attach_in_root(rootfd, "proc", &fresh.proc)) < 0)
		return cb_error_errno(err, -r, "mount /proc");
	r = fresh.sys >= 0 ? attach_in_root(rootfd, "sys", &fresh.sys) : bind_host_sys(rootfd);
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
	if ((r = attach_dev(&fresh, in_userns, host_dev_fds, err)) < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(etc_files); i++)
		if ((r = provide_file(etc_files[i][0], etc_files[i][1], contents[i] != NULL,
				      spec->create_etc_files, err)) < 0)
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
	if (masks_any(spec) && (r = mask_paths(spec, &fresh.empty, err)) < 0)
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
