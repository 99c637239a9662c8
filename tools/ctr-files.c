#include "ctr-files.h"
#include "cgroup.h"
#include "fsutil.h"
#include "idmap.h"
#include "launch.h"
#include "macro.h"
#include "overlay.h"
#include "report.h"
#include "resolve.h"
#include "run-options.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* What an interrupted cp or export would leave: its temporary file and the
 * rootfs it mounted. Set while they exist; a signal that ends cowbox
 * removes them first. */
static struct {
	char unlink_path[PATH_MAX];
	char umount_path[PATH_MAX];
} leftovers;

static void die_cleanly(int sig)
{
	int e = errno;
	if (leftovers.unlink_path[0])
		unlink(leftovers.unlink_path);
	if (leftovers.umount_path[0])
		umount2(leftovers.umount_path, MNT_DETACH);
	signal(sig, SIG_DFL);
	raise(sig);
	errno = e;
}

static void set_leftover(char *slot, const char *path)
{
	static bool armed;
	if (!armed && path) {
		struct sigaction sa = {.sa_handler = die_cleanly};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		armed = true;
	}
	/* The handler reads it: a path is whole before its first byte is. */
	slot[0] = '\0';
	if (path && strlen(path) < PATH_MAX) {
		memcpy(slot + 1, path + 1, strlen(path));
		__atomic_store_n(&slot[0], path[0], __ATOMIC_SEQ_CST);
	}
}

void cli_ctr_remove_on_signal(const char *path)
{
	set_leftover(leftovers.unlink_path, path);
}

static int64_t map_id(const struct cb_idmap *map, size_t n, bool in, uint32_t id)
{
	if (!n)
		return id;
	return in ? cb_idmap_to_host(map, n, id) : cb_idmap_to_inside(map, n, id);
}

int64_t cli_ctr_map_in_uid(void *opaque, uint32_t id)
{
	const struct cli_ctr_maps *m = opaque;
	return map_id(m->uid, m->n_uid, true, id);
}

int64_t cli_ctr_map_in_gid(void *opaque, uint32_t id)
{
	const struct cli_ctr_maps *m = opaque;
	return map_id(m->gid, m->n_gid, true, id);
}

int64_t cli_ctr_map_out_uid(void *opaque, uint32_t id)
{
	const struct cli_ctr_maps *m = opaque;
	return map_id(m->uid, m->n_uid, false, id);
}

int64_t cli_ctr_map_out_gid(void *opaque, uint32_t id)
{
	const struct cli_ctr_maps *m = opaque;
	return map_id(m->gid, m->n_gid, false, id);
}

/* Does a stopped container run in a user namespace (its stored run
 * options say --userns other than host)? */
static bool has_userns(const char *verb, const struct cb_container *ctr)
{
	struct cb_run_options o = {0};
	_cleanup_strv_ char **args = NULL;
	bool yes = false;
	if (cli_run_options_load(verb, ctr->run_json, &o, &args) == 0)
		yes = o.spec.n_uidmap > 0 || o.userns_auto;
	run_options_release(&o);
	return yes;
}

/* A private clone of the mount at root (pid's root, inside its mount
 * namespace) alone, without what is mounted on it. A mount can be cloned
 * only from within its own namespace, so a child enters it and hands the
 * clone back (cowbox itself stays where it is). The caller checks what it
 * got: the process may have chrooted anywhere. */
static int clone_root_mount(pid_t pid, int root)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	_cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return -errno;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (child == 0) {
		/* The reason goes back as the exit status (an errno fits). */
		close(sv[0]);
		if (setns(ns, CLONE_NEWNS) < 0)
			_exit(errno);
		int fd = (int)syscall(SYS_open_tree, root, "",
				      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (fd < 0)
			_exit(errno);
		int r = cb_report_send_fd(sv[1], 'M', fd);
		_exit(r < 0 ? -r : 0);
	}
	close(sv[1]);
	int fd = cb_report_recv_fd(sv[0], 'M');
	close(sv[0]);
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (fd < 0 && WIFEXITED(status) && WEXITSTATUS(status) > 0)
		fd = -WEXITSTATUS(status);
	return fd;
}

/* Is fd the root of the container's own root filesystem: its overlay's
 * root (the one inode that is its upper dir's) or its FUSE mount's? Not a
 * directory its process chrooted into, nor /proc or a volume: a process's
 * root is the container's to change (CAP_SYS_CHROOT). */
static bool is_container_rootfs(struct cb_store *s, const struct cb_container *c, int fd)
{
	struct statfs sf;
	struct stat st, up_st;
	if (fstatfs(fd, &sf) < 0 || fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
		return false;
	if (sf.f_type == FUSE_SUPER_MAGIC)
		return st.st_ino == 1; /* FUSE_ROOT_ID */
	if (sf.f_type != CB_OVERLAY_SUPER_MAGIC)
		return false;
	_cleanup_close_ int up = cb_container_open_upper(s, c, NULL);
	return up >= 0 && fstat(up, &up_st) == 0 && up_st.st_ino == st.st_ino;
}

int cli_ctr_root_open(struct cb_cli *cli, struct cb_store *s, const char *verb, const char *name,
		      const struct cb_container *ctr, const struct cb_state *st,
		      enum cli_ctr_root_kind what, struct cli_ctr_root *ret)
{
	*ret = (struct cli_ctr_root){.fd = -1, .store = s};
	enum cb_driver_kind kind;
	if (cb_driver_parse(cli->storage_driver, &kind) < 0)
		return cli_error("--storage-driver %s: expected overlay or fuse",
				 cli->storage_driver);
	*ret = (struct cli_ctr_root){.fd = -1, .store = s};
	snprintf(ret->id, sizeof(ret->id), "%s", ctr->id);
	struct cb_error err = {0};
	_cleanup_close_ int pidfd = -1;
	if (st->status == CB_STATE_RUNNING &&
	    (pidfd = cb_proc_open_checked(st->pid, st->pid_start)) >= 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/root", (int)st->pid);
		_cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return cli_fail(NULL, -errno, "%s: container %s: open its root", verb,
					name);
		ret->maps.n_uid = cb_idmap_read(st->pid, "uid_map", ret->maps.uid);
		ret->maps.n_gid = cb_idmap_read(st->pid, "gid_map", ret->maps.gid);
		if (what == CLI_CTR_ROOT_ROOTFS && cb_container_is_mounted(s, ctr->id)) {
			/* Started detached: its rootfs is mounted on the host too. */
			_cleanup_free_ char *rootfs = NULL;
			int r = cb_container_rootfs_path(s, ctr->id, &rootfs);
			int fd = r < 0 ? r : open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				return cli_fail(NULL, r < 0 ? r : -errno,
						"%s: container %s: its rootfs", verb, name);
			closep(&root);
			root = fd;
		} else if (what == CLI_CTR_ROOT_ROOTFS) {
			int fd = clone_root_mount(st->pid, root);
			if (fd < 0)
				return cli_fail(NULL, fd, "%s: container %s: its root mount", verb,
						name);
			closep(&root);
			root = fd;
			if (!is_container_rootfs(s, ctr, root))
				return cli_error(
				    "%s: container %s: its process's root is not its root "
				    "filesystem (it changed its root): stop it first",
				    verb, name);
		}
		/* The pid still named the container's process (not a reused
		 * one: the host's root) once the root and maps were read. */
		if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
			return cli_error("%s: container %s is not running any more", verb, name);
		ret->fd = TAKE_FD(root);
		return 0;
	}
	if (has_userns(verb, ctr))
		return cli_error("%s: container %s runs in a user namespace: start it first "
				 "(its files are owned through the map it gets then)",
				 verb, name);
	ret->we_mounted = !cb_container_is_mounted(s, ctr->id);
	_cleanup_free_ char *mounted = NULL;
	int r = cb_container_mount(s, ctr->id, kind, &mounted, &err);
	if (r < 0) {
		ret->we_mounted = false;
		return cli_fail(&err, r, "%s: container %s", verb, name);
	}
	if (ret->we_mounted)
		set_leftover(leftovers.umount_path, mounted);
	ret->fd = open(mounted, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ret->fd < 0)
		return cli_ctr_root_close(
		    ret, verb, name,
		    cli_fail(NULL, -errno, "%s: container %s: open %s", verb, name, mounted));
	return 0;
}

int cli_ctr_root_close(struct cli_ctr_root *r, const char *verb, const char *name, int ret_code)
{
	closep(&r->fd);
	if (r->we_mounted) {
		struct cb_error err = {0};
		int u = cb_container_unmount(r->store, r->id, 0, &err);
		if (u < 0 && ret_code == 0)
			ret_code = cli_fail(&err, u, "%s: container %s: unmount", verb, name);
		r->we_mounted = false;
		set_leftover(leftovers.umount_path, NULL);
	}
	return ret_code;
}

void cli_json_set_kv(json_t *o, const char *kv)
{
	const char *eq = strchr(kv, '=');
	_cleanup_free_ char *key = eq ? strndup(kv, (size_t)(eq - kv)) : strdup(kv);
	if (key)
		json_object_set_new(o, key, json_string(eq ? eq + 1 : ""));
}

json_t *cli_container_labels(const struct cb_image_config *cfg, const struct cb_run_options *o)
{
	json_t *labels = json_object();
	for (char **l = cfg ? cfg->labels : NULL; l && *l; l++)
		cli_json_set_kv(labels, *l);
	for (size_t i = 0; o && i < o->n_labels; i++)
		cli_json_set_kv(labels, o->labels[i]);
	return labels;
}

const char *cli_state_name(const struct cb_state *st)
{
	bool paused = st->status == CB_STATE_RUNNING && cb_cgroup_frozen(st->cgroup);
	return paused ? "paused" : cb_state_status_name(st->status);
}
