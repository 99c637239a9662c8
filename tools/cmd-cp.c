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
#include "ctr-files.h"
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

struct cp_job {
	struct cp_side src, dst;
	bool archive, follow, into_container;
	bool to_stdout;	 /* DEST "-": a tar stream */
	bool from_stdin; /* SRC "-": a tar stream */
};

/* - C:DIR: the tar on stdin unpacked into DIR (which must be a directory),
 * owned by the container's root, or with -a by the tar's ids (mapped in). */
static int cp_from_tar(const struct cp_job *j, struct cli_ctr_maps *maps)
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
		o.map_uid = cli_ctr_map_in_uid;
		o.map_gid = cli_ctr_map_in_gid;
	} else {
		int64_t u = cli_ctr_map_in_uid(maps, 0), g = cli_ctr_map_in_gid(maps, 0);
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
static int cp_to_tar(const struct cp_job *j, struct cli_ctr_maps *maps, int sdir, const char *sname,
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
				 .map_uid = cli_ctr_map_out_uid,
				 .map_gid = cli_ctr_map_out_gid,
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

static int cp_do(struct cp_job *j, struct cli_ctr_maps *maps)
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
		o.map_uid = j->into_container ? cli_ctr_map_in_uid : cli_ctr_map_out_uid;
		o.map_gid = j->into_container ? cli_ctr_map_in_gid : cli_ctr_map_out_gid;
	} else if (j->into_container) {
		int64_t u = cli_ctr_map_in_uid(maps, 0), g = cli_ctr_map_in_gid(maps, 0);
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

	struct cb_store *s = cli_store(cli);
	if (!s)
		return EXIT_COWBOX;
	struct cb_container *ctr = NULL;
	struct cb_state st;
	int ret = cli_container_lookup(cli, s, "cp", name, &ctr, &st);
	if (ret != 0)
		return ret;
	struct cli_ctr_root root = {.fd = -1};
	ret = cli_ctr_root_open(cli, s, "cp", name, ctr, &st, CLI_CTR_ROOT_AS_SEEN, &root);
	if (ret == 0) {
		if (sc)
			j.src.root = root.fd;
		else
			j.dst.root = root.fd;
		ret = j.from_stdin ? cp_from_tar(&j, &root.maps) : cp_do(&j, &root.maps);
	}
	ret = cli_ctr_root_close(&root, "cp", name, ret);
	cb_state_release(&st);
	cb_container_free(ctr);
	return ret;
}
