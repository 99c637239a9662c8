/* cowbox cp [-a] [-L] CONTAINER:SRC DEST
 * cowbox cp [-a] [-L] SRC CONTAINER:DEST
 * Copy files between a container and the host, docker's rules: a
 * directory is copied with everything below it (SRC/. copies what it
 * holds), into DEST when DEST is a directory, else as DEST. Paths in the
 * container are resolved inside its root (its symlinks, absolute ones
 * too, never lead out of it) and below them nothing is followed
 * (storage/copy.c), so a container cannot turn a copy into a read or a
 * write of the host's files. A running container is reached through its
 * root as its process sees it (/proc/PID/root: its volumes and tmpfs
 * mounts included); one not running has its rootfs mounted for the copy
 * (and unmounted after, unless it was mounted before).
 *
 * Ownership: what is copied in belongs to the container's root (through
 * its user namespace's map), what is copied out to the caller; with -a
 * the numeric ids are kept (mapped in or out of its user namespace). */
#include "cli.h"
#include "container.h"
#include "copy.h"
#include "fsutil.h"
#include "idmap.h"
#include "launch.h"
#include "run-options.h"
#include "supervisor.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One end of the copy: the host (root -1, paths as given) or a container
 * (paths inside its root). */
struct cp_side {
	const char *arg;  /* as typed, for messages */
	const char *path; /* the path on that side */
	int root;	  /* container: its root, O_PATH */
};

struct cp_maps {
	struct cb_idmap uid[CB_IDMAP_MAX], gid[CB_IDMAP_MAX];
	size_t n_uid, n_gid;
};

static int side_open_dir(const struct cp_side *s, const char *path)
{
	if (s->root < 0) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	return cb_openat2(s->root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
			  RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* "dir/name" into "dir" and "name"; "dir/." and "/" give name "."
 * (the directory itself); *slash: the path ended in "/" (or "/."), so
 * it must be a directory. */
static int split_path(const char *path, char **ret_parent, char **ret_name, bool *slash)
{
	size_t len = strlen(path);
	*slash = len > 1 && (path[len - 1] == '/' ||
			     (len >= 2 && path[len - 1] == '.' && path[len - 2] == '/'));
	bool contents = len >= 2 && path[len - 1] == '.' && path[len - 2] == '/';
	_cleanup_free_ char *p = strndup(path, contents ? len - 1 : len);
	if (!p)
		return -ENOMEM;
	len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
	char *last = strrchr(p, '/');
	if (contents || strcmp(p, "/") == 0 || strcmp(p, ".") == 0) {
		*ret_parent = strdup(p);
		*ret_name = strdup(".");
	} else if (!last) {
		*ret_parent = strdup(".");
		*ret_name = strdup(p);
	} else {
		*ret_name = strdup(last + 1);
		*last = '\0';
		*ret_parent = strdup(p[0] ? p : "/");
	}
	return *ret_parent && *ret_name ? 0 : -ENOMEM;
}

/* An id into the container (inside -> host) or out of it (host ->
 * inside); as is without a user namespace. */
static int64_t map_id(const struct cb_idmap *map, size_t n, bool in, uint32_t id)
{
	if (!n)
		return id;
	return in ? cb_idmap_to_host(map, n, id) : cb_idmap_to_inside(map, n, id);
}
static int64_t map_in_uid(void *opaque, uint32_t id)
{
	const struct cp_maps *m = opaque;
	return map_id(m->uid, m->n_uid, true, id);
}
static int64_t map_in_gid(void *opaque, uint32_t id)
{
	const struct cp_maps *m = opaque;
	return map_id(m->gid, m->n_gid, true, id);
}
static int64_t map_out_uid(void *opaque, uint32_t id)
{
	const struct cp_maps *m = opaque;
	return map_id(m->uid, m->n_uid, false, id);
}
static int64_t map_out_gid(void *opaque, uint32_t id)
{
	const struct cp_maps *m = opaque;
	return map_id(m->gid, m->n_gid, false, id);
}

/* The maps of a running container's user namespace; none (identity)
 * without one. */
static void read_maps(pid_t pid, struct cp_maps *m)
{
	m->n_uid = cb_idmap_read(pid, "uid_map", m->uid);
	m->n_gid = cb_idmap_read(pid, "gid_map", m->gid);
}

/* Does a stopped container run in a user namespace (its stored run
 * options say --userns other than host)? */
static bool has_userns(const struct cb_container *ctr)
{
	struct cb_run_options o = {0};
	_cleanup_strv_ char **args = NULL;
	bool yes = false;
	if (cli_run_options_load("cp", ctr->run_json, &o, &args) == 0)
		yes = o.spec.n_uidmap > 0 || o.userns_auto;
	run_options_release(&o);
	return yes;
}

struct cp_job {
	struct cp_side src, dst;
	bool archive, follow, into_container;
	bool to_stdout;	 /* DEST "-": a tar stream */
	bool from_stdin; /* SRC "-": a tar stream */
};

/* - C:DIR: the tar on stdin unpacked into DIR (which must be a directory),
 * owned by the container's root, or with -a by the tar's ids (mapped in). */
static int cp_from_tar(const struct cp_job *j, struct cp_maps *maps)
{
	if (isatty(STDIN_FILENO))
		return cli_error("cp - %s: not reading a tar from a terminal", j->dst.arg);
	int fd = cb_openat2(j->dst.root, j->dst.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
			    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return cli_fail(NULL, fd, "cp - %s", j->dst.arg);
	close(fd);
	struct archive *a = archive_read_new();
	if (!a || archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
	    archive_read_open_fd(a, STDIN_FILENO, 1 << 16) != ARCHIVE_OK) {
		int r = cli_error("cp - %s: %s", j->dst.arg,
				  a ? archive_error_string(a) : "out of memory");
		archive_read_free(a);
		return r;
	}
	struct cb_copy_opts o = {.keep_ids = j->archive, .opaque = maps};
	if (j->archive) {
		o.map_uid = map_in_uid;
		o.map_gid = map_in_gid;
	} else {
		int64_t u = map_in_uid(maps, 0), g = map_in_gid(maps, 0);
		o.uid = u < 0 ? 65534 : (uid_t)u;
		o.gid = g < 0 ? 65534 : (gid_t)g;
	}
	struct cb_error err = {0};
	int r = cb_copy_from_tar(a, j->dst.root, j->dst.path, &o, &err);
	archive_read_free(a);
	if (r < 0)
		return cli_fail(&err, r, "cp - %s", j->dst.arg);
	return 0;
}

/* C:SRC -: a tar of SRC on stdout, as docker's, owners as the container
 * sees them. */
static int cp_to_tar(const struct cp_job *j, struct cp_maps *maps, int sdir, const char *sname,
		     int stop)
{
	if (isatty(STDOUT_FILENO))
		return cli_error("cp %s -: not writing a tar to a terminal", j->src.arg);
	_cleanup_free_ char *base = NULL;
	const char *slash = strrchr(j->src.path, '/');
	if (strcmp(sname, ".") == 0)
		base = strdup(".");
	else
		base = strdup(stop >= 0 && slash && slash[1] ? slash + 1 : sname);
	if (!base)
		return cli_error("cp: out of memory");
	struct archive *a = archive_write_new();
	if (!a || archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, STDOUT_FILENO) != ARCHIVE_OK) {
		int r = cli_error("cp %s -: %s", j->src.arg,
				  a ? archive_error_string(a) : "out of memory");
		archive_write_free(a);
		return r;
	}
	struct cb_copy_opts o = {.keep_ids = true,
				 .map_uid = map_out_uid,
				 .map_gid = map_out_gid,
				 .opaque = maps,
				 .follow_top = j->follow && stop < 0};
	struct cb_error err = {0};
	int r =
	    cb_copy_to_tar(stop >= 0 ? stop : sdir, stop >= 0 ? NULL : sname, base, a, &o, &err);
	if (archive_write_close(a) != ARCHIVE_OK && r >= 0)
		r = cb_error_set(&err, EIO, "finish the tar: %s", archive_error_string(a));
	archive_write_free(a);
	if (r < 0)
		return cli_fail(&err, r, "cp %s -", j->src.arg);
	return 0;
}

static int cp_do(struct cp_job *j, struct cp_maps *maps)
{
	_cleanup_free_ char *sparent = NULL, *sname = NULL, *dparent = NULL, *dname = NULL;
	bool sslash, dslash;
	if (split_path(j->src.path, &sparent, &sname, &sslash) < 0 ||
	    split_path(j->dst.path, &dparent, &dname, &dslash) < 0)
		return cli_error("cp: out of memory");
	int fd = side_open_dir(&j->src, sparent);
	if (fd < 0)
		return cli_fail(NULL, fd, "cp %s", j->src.arg);
	_cleanup_close_ int sdir = fd;
	struct stat st;
	bool src_dir = true;
	/* -L on a container's path: its symlinks are followed inside its
	 * root here (the kernel would follow an absolute one on the host's). */
	_cleanup_close_ int stop = -1;
	if (j->follow && j->src.root >= 0 && strcmp(sname, ".") != 0) {
		stop = cb_openat2(j->src.root, j->src.path, O_PATH | O_CLOEXEC, 0,
				  RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		if (stop < 0)
			return cli_fail(NULL, stop, "cp %s", j->src.arg);
	}
	if (strcmp(sname, ".") != 0) {
		int r = stop >= 0 ? fstat(stop, &st)
				  : fstatat(sdir, sname, &st, j->follow ? 0 : AT_SYMLINK_NOFOLLOW);
		if (r < 0)
			return cli_fail(NULL, -errno, "cp %s", j->src.arg);
		src_dir = S_ISDIR(st.st_mode);
		if (sslash && !src_dir)
			return cli_fail(NULL, -ENOTDIR, "cp %s", j->src.arg);
	}

	if (j->to_stdout)
		return cp_to_tar(j, maps, sdir, sname, stop);

	/* Into DEST when it is a directory; else as DEST. */
	_cleanup_close_ int ddir = -1;
	const char *target = NULL;
	fd = side_open_dir(&j->dst, j->dst.path);
	if (fd >= 0 && strcmp(sname, ".") != 0) {
		ddir = fd;
		target = sname;
	} else if (fd >= 0 || fd == -ENOTDIR || fd == -ENOENT) {
		/* SRC/. merged into DEST; or DEST made or replaced. */
		if (fd >= 0)
			close(fd);
		if (fd == -ENOTDIR && (dslash || src_dir))
			return cli_error("cp %s: %s", j->dst.arg,
					 dslash ? "not a directory"
						: "cannot copy a directory onto a file");
		if (fd == -ENOENT && dslash)
			return cli_error("cp %s: no such directory", j->dst.arg);
		fd = side_open_dir(&j->dst, dparent);
		if (fd < 0)
			return cli_fail(NULL, fd, "cp %s: %s", j->dst.arg,
					fd == -ENOENT ? "its directory" : "open");
		ddir = fd;
		target = dname;
	} else
		return cli_fail(NULL, fd, "cp %s", j->dst.arg);

	struct cb_copy_opts o = {.follow_top = j->follow, .keep_ids = j->archive, .opaque = maps};
	if (j->archive) {
		o.map_uid = j->into_container ? map_in_uid : map_out_uid;
		o.map_gid = j->into_container ? map_in_gid : map_out_gid;
	} else if (j->into_container) {
		int64_t u = map_in_uid(maps, 0), g = map_in_gid(maps, 0);
		o.uid = u < 0 ? 65534 : (uid_t)u;
		o.gid = g < 0 ? 65534 : (gid_t)g;
	} else {
		o.uid = getuid();
		o.gid = getgid();
	}
	/* Never a set-id program from a container onto the host, -a or not
	 * (with a user namespace -a maps the container's root back to 0). */
	o.drop_setid = !j->into_container;
	struct cb_error err = {0};
	if (stop >= 0)
		o.follow_top = false;
	int r = stop >= 0 ? cb_copy_tree(stop, NULL, ddir, target, &o, &err)
			  : cb_copy_tree(sdir, sname, ddir, target, &o, &err);
	if (r < 0)
		return cli_fail(&err, r, "cp %s %s", j->src.arg, j->dst.arg);
	return 0;
}

/* A container path made absolute and clean: "." and ".." components go
 * (".." stops at the root: a last ".." would otherwise be looked up from
 * the resolved directory, a plain *at call that can climb out of the
 * container's root); a trailing "/." or "/" is kept (it means something
 * to split_path). NULL when out of memory. */
static char *clean_container_path(const char *p)
{
	size_t len = strlen(p);
	bool contents = (len >= 2 && strcmp(p + len - 2, "/.") == 0) || strcmp(p, ".") == 0;
	bool slash = len > 0 && p[len - 1] == '/';
	char *out = malloc(len + 4);
	if (!out)
		return NULL;
	size_t n = 0;
	for (const char *q = p; *q;) {
		const char *end = strchrnul(q, '/');
		size_t k = (size_t)(end - q);
		if (k == 2 && q[0] == '.' && q[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--; /* the '/' before it */
		} else if (k > 0 && !(k == 1 && q[0] == '.')) {
			out[n++] = '/';
			memcpy(out + n, q, k);
			n += k;
		}
		q = *end ? end + 1 : end;
	}
	if (n == 0)
		out[n++] = '/';
	if (contents)
		n += (size_t)sprintf(out + n, "%s.", out[n - 1] == '/' ? "" : "/");
	else if (slash && out[n - 1] != '/')
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

/* docker's rule: an absolute path, one without ':', or one starting with
 * '.' before its ':' is the host's; else CONTAINER:PATH. */
static bool container_arg(const char *arg, char **ret_name, char **ret_path)
{
	const char *colon = strchr(arg, ':');
	if (arg[0] == '/' || arg[0] == '.' || !colon)
		return false;
	*ret_name = strndup(arg, (size_t)(colon - arg));
	*ret_path = clean_container_path(colon + 1);
	return true;
}

int cmd_cp(struct cb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"archive", no_argument, NULL, 'a'},
	    {"follow-link", no_argument, NULL, 'L'},
	    {0},
	};
	struct cp_job j = {.src.root = -1, .dst.root = -1};
	int c;
	while ((c = getopt_long(argc, argv, "+aL", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			j.archive = true;
			break;
		case 'L':
			j.follow = true;
			break;
		default:
			return cli_usage("cp", true);
		}
	}
	if (argc - optind != 2)
		return cli_usage("cp", true);
	j.src.arg = argv[optind];
	j.dst.arg = argv[optind + 1];
	_cleanup_free_ char *sname = NULL, *dname = NULL, *spath = NULL, *dpath = NULL;
	bool sc = container_arg(j.src.arg, &sname, &spath);
	bool dc = container_arg(j.dst.arg, &dname, &dpath);
	j.from_stdin = strcmp(j.src.arg, "-") == 0;
	j.to_stdout = strcmp(j.dst.arg, "-") == 0;
	if (j.from_stdin && !dc)
		return cli_error("cp - %s: a tar goes into a container (CONTAINER:DIR)", j.dst.arg);
	if (sc == dc)
		return cli_error("cp: %s", sc ? "both are in containers: copy through the host"
					      : "neither is in a container (CONTAINER:PATH)");
	if (!sc)
		spath = strdup(j.src.arg);
	if (!dc)
		dpath = strdup(j.dst.arg);
	if (!spath || !dpath || (sc && !sname) || (dc && !dname))
		return cli_error("cp: out of memory");
	j.src.path = spath;
	j.dst.path = dpath;
	j.into_container = dc;
	const char *name = sc ? sname : dname;
	if (!name[0])
		return cli_error("cp %s: no container named before ':'",
				 sc ? j.src.arg : j.dst.arg);
	enum cb_driver_kind kind;
	if (cb_driver_parse(cli->storage_driver, &kind) < 0)
		return cli_error("--storage-driver %s: expected overlay or fuse",
				 cli->storage_driver);

	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_container *ctr = NULL;
	struct cb_state st;
	int ret = cli_container_lookup(cli, s, "cp", name, &ctr, &st);
	if (ret != 0)
		return ret;
	struct cp_maps maps = {0};
	_cleanup_close_ int pidfd = -1;
	_cleanup_free_ char *mounted = NULL;
	int root = -1;
	bool we_mounted = false;
	struct cb_error err = {0};
	if (st.status == CB_STATE_RUNNING &&
	    (pidfd = cb_proc_open_checked(st.pid, st.pid_start)) >= 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/root", (int)st.pid);
		root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			ret = cli_fail(NULL, -errno, "cp: container %s: open its root", name);
		read_maps(st.pid, &maps);
		/* The pid still named the container's process (not a reused
		 * one: the host's root) once the root and maps were read. */
		if (ret == 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
			ret = cli_error("cp: container %s is not running any more", name);
	} else if (has_userns(ctr)) {
		ret = cli_error("cp: container %s runs in a user namespace: start it to copy "
				"(its files are owned through the map it gets then)",
				name);
	} else {
		we_mounted = !cb_container_is_mounted(s, ctr->id);
		int r = cb_container_mount(s, ctr->id, kind, &mounted, &err);
		if (r < 0) {
			we_mounted = false;
			ret = cli_fail(&err, r, "cp: container %s", name);
		} else if ((root = open(mounted, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			ret = cli_fail(NULL, -errno, "cp: container %s: open %s", name, mounted);
	}
	if (ret == 0) {
		if (sc)
			j.src.root = root;
		else
			j.dst.root = root;
		ret = j.from_stdin ? cp_from_tar(&j, &maps) : cp_do(&j, &maps);
	}
	if (root >= 0)
		close(root);
	if (we_mounted) {
		struct cb_error uerr = {0};
		int r = cb_container_unmount(s, ctr->id, 0, &uerr);
		if (r < 0 && ret == 0)
			ret = cli_fail(&uerr, r, "cp: container %s: unmount", name);
	}
	cb_state_release(&st);
	cb_container_free(ctr);
	return ret;
}
