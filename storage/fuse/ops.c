/* FUSE low-level operations of cowbox-fuse: see ops.h. Every operation
 * ends in exactly one fuse_reply_*(). */
#include "ops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "macro.h"

struct cbf_handle {
	struct cbf_node *node;
	int fd;	      /* backing fd in the layer the node had at open */
	int upper_fd; /* reopened in the upper dir after a later copy-up */
	int layer;
	int backing_id; /* FUSE passthrough: the kernel's id of fd, 0 if none */
	pthread_mutex_t lock;
};

struct cbf_dirhandle {
	pthread_mutex_t lock;
	struct cbf_dirent *entries; /* the merged listing, read at offset 0 */
	size_t count;
};

static struct cbf_ctx *CTX(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct cbf_node *NODE(struct cbf_ctx *c, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? c->fs.root : (struct cbf_node *)(uintptr_t)ino;
}

static fuse_ino_t NODE_ID(struct cbf_ctx *c, struct cbf_node *n)
{
	return n == c->fs.root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}

static struct cbf_handle *HANDLE(struct fuse_file_info *fi)
{
	return (struct cbf_handle *)(uintptr_t)fi->fh;
}

#define RDLOCK(c) pthread_rwlock_rdlock(&(c)->fs.tree)
#define WRLOCK(c) pthread_rwlock_wrlock(&(c)->fs.tree)
#define UNLOCK(c) pthread_rwlock_unlock(&(c)->fs.tree)

/* A hard-linked file has several nodes: do not let the kernel keep one
 * name's attributes while another changes them. */
static double attr_timeout(struct cbf_ctx *c, const struct stat *st)
{
	return !S_ISDIR(st->st_mode) && st->st_nlink > 1 ? 0 : c->opt.timeout;
}

static void fill_entry(struct cbf_ctx *c, struct fuse_entry_param *e, struct cbf_node *n,
		       const struct stat *st)
{
	memset(e, 0, sizeof(*e));
	e->ino = NODE_ID(c, n);
	e->attr = *st;
	e->attr_timeout = attr_timeout(c, st);
	e->entry_timeout = c->opt.timeout;
}

/* Undo a lookup the kernel did not get (its request was interrupted). */
static void forget_one(struct cbf_ctx *c, struct cbf_node *n)
{
	RDLOCK(c);
	cbf_forget(&c->fs, n, 1);
	UNLOCK(c);
}

static void reply_err(fuse_req_t req, int r)
{
	fuse_reply_err(req, r < 0 ? -r : r);
}

/* --- init ------------------------------------------------------------ */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct cbf_ctx *c = userdata;
	unsigned want = FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO |
			FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_ASYNC_READ |
			FUSE_CAP_ASYNC_DIO | FUSE_CAP_ATOMIC_O_TRUNC;
	/* no SPLICE_MOVE: stealing pages would evict them from the layer
	 * file's page cache (and fails on tmpfs after trying) */
	if (c->opt.splice)
		want |= FUSE_CAP_SPLICE_WRITE;
	/* splicing requests in costs two more syscalls on every request and
	 * pays only on big writes */
	if (c->opt.splice_read)
		want |= FUSE_CAP_SPLICE_READ;
#ifdef FUSE_CAP_PASSTHROUGH
	/* libfuse >= 3.17: reads and writes go straight to the backing file;
	 * the kernel refuses passthrough together with the writeback cache */
	if (c->opt.passthrough && (conn->capable & FUSE_CAP_PASSTHROUGH)) {
		want |= FUSE_CAP_PASSTHROUGH;
		c->passthrough_on = true;
		c->opt.writeback = false;
	}
#endif
	if (c->opt.writeback)
		want |= FUSE_CAP_WRITEBACK_CACHE;
	conn->want |= want & conn->capable;
	/* the kernel strips set-id bits and capabilities itself (via setattr) */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/* umask is applied by the kernel before a create reaches us */
	conn->want &= ~FUSE_CAP_DONT_MASK;
	if (c->opt.max_write)
		conn->max_write = c->opt.max_write;
	conn->max_readahead =
	    conn->max_write > conn->max_readahead ? conn->max_write : conn->max_readahead;
	conn->time_gran = 1;
}

/* --- lookup and attributes ------------------------------------------ */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cbf_ctx *c = CTX(req);
	struct cbf_node *n;
	struct stat st;
	struct fuse_entry_param e;
	RDLOCK(c);
	int r = cbf_lookup(&c->fs, NODE(c, parent), name, &n, &st);
	UNLOCK(c);
	if (r == -ENOENT) {
		/* a negative entry: names appear only through us, and the kernel
		 * drops these on every create in the dir */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = c->opt.timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (r < 0) {
		reply_err(req, r);
		return;
	}
	fill_entry(c, &e, n, &st);
	if (fuse_reply_entry(req, &e) != 0)
		forget_one(c, n);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct cbf_ctx *c = CTX(req);
	RDLOCK(c);
	cbf_forget(&c->fs, NODE(c, ino), nlookup);
	UNLOCK(c);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct cbf_ctx *c = CTX(req);
	RDLOCK(c);
	for (size_t i = 0; i < count; i++)
		cbf_forget(&c->fs, NODE(c, forgets[i].ino), forgets[i].nlookup);
	UNLOCK(c);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cbf_ctx *c = CTX(req);
	struct cbf_node *n = NODE(c, ino);
	struct stat st;
	int r;
	if (fi && !S_ISDIR(n->type)) {
		struct cbf_handle *h = HANDLE(fi);
		int fd = h->upper_fd >= 0 ? h->upper_fd : h->fd;
		if (h->layer == 0 || h->upper_fd >= 0 || n->layer != 0) {
			r = RET_NERRNO(fstat(fd, &st));
			if (r >= 0)
				cbf_fix_stat(&c->fs, n, &st);
			goto reply;
		}
	}
	RDLOCK(c);
	r = cbf_getattr(&c->fs, n, &st);
	UNLOCK(c);
reply:
	if (r < 0)
		reply_err(req, r);
	else
		fuse_reply_attr(req, &st, attr_timeout(c, &st));
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		       struct fuse_file_info *fi)
{
	struct cbf_ctx *c = CTX(req);
	struct cbf_node *n = NODE(c, ino);
	struct stat st;
	char path[PATH_MAX];
	int r;
	WRLOCK(c);
	bool truncate_all = (valid & FUSE_SET_ATTR_SIZE) && attr->st_size == 0;
	if ((r = cbf_copy_up(&c->fs, n, !truncate_all)) < 0 ||
	    (r = cbf_node_path(&c->fs, n, path, sizeof(path))) < 0)
		goto out;
	int up = c->fs.layers[0].fd;
	/* an fd of ours in the upper dir serves removed files too */
	int fd = -1;
	if (fi) {
		struct cbf_handle *h = HANDLE(fi);
		fd = h->upper_fd >= 0 ? h->upper_fd : h->layer == 0 ? h->fd : -1;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;
		r = fd >= 0 ? RET_NERRNO(fchown(fd, uid, gid))
			    : RET_NERRNO(fchownat(up, path, uid, gid, AT_SYMLINK_NOFOLLOW));
		if (r < 0)
			goto out;
	}
	if (valid & FUSE_SET_ATTR_MODE) {
		r = fd >= 0 ? RET_NERRNO(fchmod(fd, attr->st_mode & 07777))
			    : RET_NERRNO(fchmodat(up, path, attr->st_mode & 07777, 0));
		if (r < 0)
			goto out;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		if (fd >= 0) {
			r = RET_NERRNO(ftruncate(fd, attr->st_size));
		} else {
			_cleanup_close_ int tfd =
			    openat(up, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			r = tfd < 0 ? -errno : RET_NERRNO(ftruncate(tfd, attr->st_size));
		}
		if (r < 0)
			goto out;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_CTIME)) {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			ts[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			ts[1] = attr->st_mtim;
		if (ts[0].tv_nsec != UTIME_OMIT || ts[1].tv_nsec != UTIME_OMIT) {
			r = fd >= 0 ? RET_NERRNO(futimens(fd, ts))
				    : RET_NERRNO(utimensat(up, path, ts, AT_SYMLINK_NOFOLLOW));
			if (r < 0)
				goto out;
		}
	}
	if (fd >= 0) {
		r = RET_NERRNO(fstat(fd, &st));
		if (r >= 0)
			cbf_fix_stat(&c->fs, n, &st);
	} else {
		r = cbf_getattr(&c->fs, n, &st);
	}
out:
	UNLOCK(c);
	if (r < 0)
		reply_err(req, r);
	else
		fuse_reply_attr(req, &st, attr_timeout(c, &st));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct cbf_ctx *c = CTX(req);
	struct cbf_node *n = NODE(c, ino);
	char path[PATH_MAX], target[PATH_MAX + 1];
	RDLOCK(c);
	int r = cbf_node_path(&c->fs, n, path, sizeof(path));
	ssize_t len = r < 0 ? r : readlinkat(c->fs.layers[n->layer].fd, path, target, PATH_MAX);
	if (r >= 0 && len < 0)
		r = cbf_layer_fault(&c->fs, n->layer, path, errno);
	UNLOCK(c);
	if (r < 0) {
		reply_err(req, r);
		return;
	}
	target[len] = '\0';
	fuse_reply_readlink(req, target);
}

/* --- creating entries ------------------------------------------------ */

/* Owner of a new entry: the caller, with the group of a set-gid parent
 * (the inheritance the filesystem would have done had we created it in
 * place rather than in the work dir). */
static int new_owner(struct cbf_ctx *c, fuse_req_t req, struct cbf_node *parent, uid_t *uid,
		     gid_t *gid, bool *parent_setgid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char path[PATH_MAX];
	struct stat pst;
	int r = cbf_node_path(&c->fs, parent, path, sizeof(path));
	if (r < 0)
		return r;
	if (fstatat(c->fs.layers[0].fd, path, &pst, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	*uid = ctx->uid;
	*parent_setgid = pst.st_mode & S_ISGID;
	*gid = *parent_setgid ? pst.st_gid : ctx->gid;
	return 0;
}

enum make_kind { MAKE_NODE, MAKE_DIR, MAKE_SYMLINK, MAKE_LINK, MAKE_FILE };

struct make_args {
	enum make_kind kind;
	mode_t mode;
	dev_t rdev;
	const char *target;	   /* symlink */
	struct cbf_node *link_src; /* link */
	int open_flags;		   /* file */
	int ret_fd;		   /* file: the open fd */
};

/* Make a new entry parent/name in the upper dir: built in the work dir
 * with its final owner and mode, then renamed in (over a whiteout, or
 * exchanged with one for a dir that then becomes opaque). */
static int make_entry(struct cbf_ctx *c, fuse_req_t req, struct cbf_node *parent, const char *name,
		      struct make_args *a, struct cbf_node **ret_node, struct stat *st)
{
	struct cbf_fs *fs = &c->fs;
	bool over_whiteout = false, parent_setgid = false;
	uid_t uid = 0;
	gid_t gid = 0;
	char path[PATH_MAX], tmp[32], srcpath[PATH_MAX];
	struct cbf_node *existing;
	struct stat est;
	if (!S_ISDIR(parent->type))
		return -ENOTDIR;
	bool upper_whiteout;
	int r = cbf_lookup_ex(fs, parent, name, &existing, &est, &upper_whiteout);
	if (r >= 0) {
		cbf_forget(fs, existing, 1);
		return -EEXIST;
	}
	if (r != -ENOENT)
		return r;
	if (a->kind == MAKE_LINK && (r = cbf_copy_up(fs, a->link_src, true)) < 0)
		return r;
	/* the lookup saw the upper dir only if the parent was in it already */
	int known = parent->layer == 0 ? upper_whiteout : -1;
	if ((r = cbf_prepare_create(fs, parent, name, a->kind == MAKE_DIR, known, &over_whiteout)) <
		0 ||
	    (r = cbf_child_path(fs, parent, name, path, sizeof(path))) < 0 ||
	    (r = new_owner(c, req, parent, &uid, &gid, &parent_setgid)) < 0)
		return r;
	int up = fs->layers[0].fd, w = fs->work_fd;
	cbf_tmp_name(fs, tmp, sizeof(tmp));
	mode_t mode = a->mode & 07777;
	int fd = -1;
	switch (a->kind) {
	case MAKE_FILE:
		fd = openat(w, tmp,
			    (a->open_flags & ~(O_TRUNC | O_EXCL | O_NOFOLLOW)) | O_CREAT | O_EXCL |
				O_CLOEXEC,
			    mode);
		r = fd < 0 ? -errno : RET_NERRNO(fchown(fd, uid, gid));
		if (r >= 0 && (mode & 06000))
			r = RET_NERRNO(fchmod(fd, mode));
		break;
	case MAKE_NODE:
		r = RET_NERRNO(mknodat(w, tmp, a->mode, a->rdev));
		goto owner;
	case MAKE_DIR:
		if (parent_setgid)
			mode |= S_ISGID;
		r = RET_NERRNO(mkdirat(w, tmp, mode));
		if (r >= 0 && over_whiteout) {
			char abs[PATH_MAX + 64];
			snprintf(abs, sizeof(abs), "%s/%s", fs->work_path, tmp);
			r = RET_NERRNO(lsetxattr(abs, CBF_OPAQUE_XATTR, "y", 1, 0));
		}
		goto owner;
	case MAKE_SYMLINK:
		r = RET_NERRNO(symlinkat(a->target, w, tmp));
		if (r >= 0)
			r = RET_NERRNO(fchownat(w, tmp, uid, gid, AT_SYMLINK_NOFOLLOW));
		break;
	case MAKE_LINK:
		r = cbf_node_path(fs, a->link_src, srcpath, sizeof(srcpath));
		if (r >= 0)
			r = RET_NERRNO(linkat(up, srcpath, w, tmp, 0));
		break;
	owner:
		if (r >= 0)
			r = RET_NERRNO(fchownat(w, tmp, uid, gid, AT_SYMLINK_NOFOLLOW));
		if (r >= 0 && (mode & 06000))
			r = RET_NERRNO(fchmodat(w, tmp, mode, 0));
		break;
	}
	if (r >= 0) {
		if (a->kind == MAKE_DIR && over_whiteout) {
			/* swap with the whiteout, which then leaves with the tmp name */
			r = RET_NERRNO(renameat2(w, tmp, up, path, RENAME_EXCHANGE));
		} else {
			r = RET_NERRNO(
			    renameat2(w, tmp, up, path, over_whiteout ? 0 : RENAME_NOREPLACE));
		}
	}
	if (r >= 0 && a->kind == MAKE_DIR && over_whiteout)
		unlinkat(w, tmp, 0);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		unlinkat(w, tmp, a->kind == MAKE_DIR ? AT_REMOVEDIR : 0);
		return r;
	}
	r = cbf_new_upper_node(fs, parent, name, a->kind == MAKE_LINK ? a->link_src : NULL,
			       ret_node, st);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	a->ret_fd = fd;
	return 0;
}

static void reply_made(fuse_req_t req, struct cbf_ctx *c, int r, struct cbf_node *n,
		       const struct stat *st)
{
	if (r < 0) {
		reply_err(req, r);
		return;
	}
	struct fuse_entry_param e;
	fill_entry(c, &e, n, st);
	if (fuse_reply_entry(req, &e) != 0)
		forget_one(c, n);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct cbf_ctx *c = CTX(req);
	/* a 0:0 char device would be a whiteout in the upper dir */
	if (S_ISCHR(mode) && rdev == makedev(0, 0)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	struct make_args a = {.kind = MAKE_NODE, .mode = mode, .rdev = rdev};
	struct cbf_node *n = NULL;
	struct stat st;
	WRLOCK(c);
	int r = make_entry(c, req, NODE(c, parent), name, &a, &n, &st);
	UNLOCK(c);
	reply_made(req, c, r, n, &st);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct cbf_ctx *c = CTX(req);
	struct make_args a = {.kind = MAKE_DIR, .mode = mode};
	struct cbf_node *n = NULL;
	struct stat st;
	WRLOCK(c);
	int r = make_entry(c, req, NODE(c, parent), name, &a, &n, &st);
	UNLOCK(c);
	reply_made(req, c, r, n, &st);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct cbf_ctx *c = CTX(req);
	struct make_args a = {.kind = MAKE_SYMLINK, .mode = 0777, .target = link};
	struct cbf_node *n = NULL;
	struct stat st;
	WRLOCK(c);
	int r = make_entry(c, req, NODE(c, parent), name, &a, &n, &st);
	UNLOCK(c);
	reply_made(req, c, r, n, &st);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct cbf_ctx *c = CTX(req);
	struct make_args a = {.kind = MAKE_LINK, .link_src = NODE(c, ino)};
	struct cbf_node *n = NULL;
	struct stat st;
	WRLOCK(c);
	int r = S_ISDIR(a.link_src->type)
		    ? -EPERM
		    : make_entry(c, req, NODE(c, newparent), newname, &a, &n, &st);
	UNLOCK(c);
	reply_made(req, c, r, n, &st);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cbf_ctx *c = CTX(req);
	WRLOCK(c);
	int r = cbf_remove(&c->fs, NODE(c, parent), name, false);
	UNLOCK(c);
	reply_err(req, r);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cbf_ctx *c = CTX(req);
	WRLOCK(c);
	int r = cbf_remove(&c->fs, NODE(c, parent), name, true);
	UNLOCK(c);
	reply_err(req, r);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct cbf_ctx *c = CTX(req);
	WRLOCK(c);
	int r = cbf_rename(&c->fs, NODE(c, parent), name, NODE(c, newparent), newname, flags);
	UNLOCK(c);
	reply_err(req, r);
}

/* --- files ----------------------------------------------------------- */

static int open_flags(struct cbf_ctx *c, int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY);
	/* with the writeback cache the kernel reads pages of write-only files
	 * and does O_APPEND itself */
	if (c->opt.writeback) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags | O_CLOEXEC | O_NOFOLLOW;
}

static struct cbf_handle *handle_new(struct cbf_node *n, int fd, int layer)
{
	struct cbf_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->node = n;
	h->fd = fd;
	h->upper_fd = -1;
	h->layer = layer;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

static void set_open_reply(struct cbf_ctx *c, fuse_req_t req, struct fuse_file_info *fi,
			   struct cbf_handle *h, int fd, int flags)
{
	struct stat st;
	/* the page cache stays valid: all changes come through this mount.
	 * Not for hard links, whose other names are other kernel inodes. */
	fi->keep_cache = fstat(fd, &st) == 0 && st.st_nlink <= 1;
	if ((flags & O_ACCMODE) == O_RDONLY)
		fi->noflush = 1;
#ifdef FUSE_CAP_PASSTHROUGH
	if (c->passthrough_on) {
		/* see docs/fuse.md: the kernel then serves read/write itself */
		int id = fuse_passthrough_open(req, fd);
		if (id > 0) {
			fi->backing_id = id;
			h->backing_id = id;
		}
	}
#else
	(void)c;
	(void)req;
	(void)h;
#endif
}

bool cbf_open_is_quick(uint64_t nodeid, uint32_t flags, void *ctx)
{
	struct cbf_ctx *c = ctx;
	struct cbf_node *n = NODE(c, nodeid);
	/* unlocked peeks: a wrong guess costs a thread hand-over or a wait */
	if (__atomic_load_n(&n->layer, __ATOMIC_RELAXED) == 0 || (flags & O_TRUNC))
		return true;
	return __atomic_load_n(&n->size_hint, __ATOMIC_RELAXED) < (1 << 20);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cbf_ctx *c = CTX(req);
	struct cbf_node *n = NODE(c, ino);
	int flags = open_flags(c, fi->flags);
	bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	char path[PATH_MAX];
	int r, fd = -1, layer;
	if (writes) {
		WRLOCK(c);
		r = cbf_copy_up(&c->fs, n, !(flags & O_TRUNC));
	} else {
		RDLOCK(c);
		r = 0;
	}
	if (r >= 0)
		r = cbf_node_path(&c->fs, n, path, sizeof(path));
	layer = n->layer;
	if (r >= 0 && (fd = openat(c->fs.layers[layer].fd, path, flags)) < 0)
		r = errno == ENOENT ? cbf_layer_fault(&c->fs, layer, path, errno) : -errno;
	UNLOCK(c);
	if (r < 0) {
		reply_err(req, r);
		return;
	}
	struct cbf_handle *h = handle_new(n, fd, layer);
	if (!h) {
		close(fd);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)h;
	set_open_reply(c, req, fi, h, fd, flags);
	if (fuse_reply_open(req, fi) != 0) {
		close(fd);
		free(h);
	}
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct cbf_ctx *c = CTX(req);
	int flags = open_flags(c, fi->flags);
	struct make_args a = {.kind = MAKE_FILE, .mode = mode, .open_flags = flags, .ret_fd = -1};
	struct cbf_node *n = NULL;
	struct stat st;
	WRLOCK(c);
	int r = make_entry(c, req, NODE(c, parent), name, &a, &n, &st);
	UNLOCK(c);
	if (r < 0) {
		reply_err(req, r);
		return;
	}
	struct cbf_handle *h = handle_new(n, a.ret_fd, 0);
	if (!h) {
		close(a.ret_fd);
		forget_one(c, n);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)h;
	set_open_reply(c, req, fi, h, a.ret_fd, flags);
	struct fuse_entry_param e;
	fill_entry(c, &e, n, &st);
	if (fuse_reply_create(req, &e, fi) != 0) {
		close(a.ret_fd);
		free(h);
		forget_one(c, n);
	}
}

/* The fd to read from: a handle opened on a lower layer follows the file
 * to the upper dir once something else copied it up. */
static int read_fd(struct cbf_ctx *c, struct cbf_handle *h)
{
	if (h->layer == 0)
		return h->fd;
	int ufd = __atomic_load_n(&h->upper_fd, __ATOMIC_ACQUIRE);
	if (ufd >= 0)
		return ufd;
	if (__atomic_load_n(&h->node->layer, __ATOMIC_RELAXED) != 0)
		return h->fd;
	pthread_mutex_lock(&h->lock);
	if (h->upper_fd < 0) {
		char path[PATH_MAX];
		RDLOCK(c);
		if (cbf_node_path(&c->fs, h->node, path, sizeof(path)) >= 0) {
			int fd =
			    openat(c->fs.layers[0].fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd >= 0)
				__atomic_store_n(&h->upper_fd, fd, __ATOMIC_RELEASE);
		}
		UNLOCK(c);
	}
	pthread_mutex_unlock(&h->lock);
	return h->upper_fd >= 0 ? h->upper_fd : h->fd;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct cbf_ctx *c = CTX(req);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = read_fd(c, HANDLE(fi));
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, 0);
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
			 struct fuse_file_info *fi)
{
	struct cbf_handle *h = HANDLE(fi);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = h->fd;
	out.buf[0].pos = off;
	ssize_t n = fuse_buf_copy(&out, in, 0);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cbf_handle *h = HANDLE(fi);
#ifdef FUSE_CAP_PASSTHROUGH
	if (h->backing_id > 0)
		fuse_passthrough_close(req, h->backing_id);
#endif
	close(h->fd);
	if (h->upper_fd >= 0)
		close(h->upper_fd);
	pthread_mutex_destroy(&h->lock);
	free(h);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct cbf_handle *h = HANDLE(fi);
	if (CTX(req)->opt.no_sync) {
		fuse_reply_err(req, 0);
		return;
	}
	int r = datasync ? fdatasync(h->fd) : fsync(h->fd);
	fuse_reply_err(req, r < 0 ? errno : 0);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	int r = fallocate(HANDLE(fi)->fd, mode, off, len);
	fuse_reply_err(req, r < 0 ? errno : 0);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	off_t r = lseek(read_fd(CTX(req), HANDLE(fi)), off, whence);
	if (r < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, r);
}

static void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			       struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len, int flags)
{
	loff_t in = off_in, out = off_out;
	ssize_t n = copy_file_range(read_fd(CTX(req), HANDLE(fi_in)), &in, HANDLE(fi_out)->fd, &out,
				    len, flags);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

/* --- directories ----------------------------------------------------- */

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cbf_dirhandle *d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_init(&d->lock, NULL);
	fi->fh = (uintptr_t)d;
	/* the kernel drops a cached listing when the dir changes through us */
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) != 0) {
		pthread_mutex_destroy(&d->lock);
		free(d);
	}
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct cbf_ctx *c = CTX(req);
	struct cbf_dirhandle *d = (struct cbf_dirhandle *)(uintptr_t)fi->fh;
	struct cbf_node *dir = NODE(c, ino);
	_cleanup_free_ char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t pos = 0;
	int r = 0;
	RDLOCK(c);
	pthread_mutex_lock(&d->lock);
	/* Read the merged dir when the kernel starts (or restarts) at offset
	 * 0, not at opendir: the kernel stamps its listing cache with the
	 * dir's version before asking, so a listing read earlier could miss
	 * a name created in between and stay cached. */
	if (off == 0 || !d->entries) {
		cbf_dirents_free(d->entries, d->count);
		d->entries = NULL;
		d->count = 0;
		r = cbf_read_merged(&c->fs, dir, &d->entries, &d->count);
	}
	for (size_t i = off; r >= 0 && i < d->count; i++) {
		struct cbf_dirent *e = &d->entries[i];
		struct stat st = {.st_ino = e->ino, .st_mode = (mode_t)e->type << 12};
		size_t need;
		if (!plus) {
			need = fuse_add_direntry(req, buf + pos, size - pos, e->name, &st, i + 1);
			if (need > size - pos)
				break;
			pos += need;
			continue;
		}
		struct fuse_entry_param ep = {.attr = st};
		struct cbf_node *n = NULL;
		bool dots = i < 2;
		if (!dots && cbf_lookup(&c->fs, dir, e->name, &n, &st) >= 0)
			fill_entry(c, &ep, n, &st);
		need = fuse_add_direntry_plus(req, buf + pos, size - pos, e->name, &ep, i + 1);
		if (need > size - pos) {
			if (n)
				cbf_forget(&c->fs, n, 1);
			break;
		}
		pos += need;
	}
	pthread_mutex_unlock(&d->lock);
	UNLOCK(c);
	if (r < 0)
		reply_err(req, r);
	else
		fuse_reply_buf(req, buf, pos);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cbf_dirhandle *d = (struct cbf_dirhandle *)(uintptr_t)fi->fh;
	cbf_dirents_free(d->entries, d->count);
	pthread_mutex_destroy(&d->lock);
	free(d);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct cbf_ctx *c = CTX(req);
	struct cbf_node *n = NODE(c, ino);
	char path[PATH_MAX];
	int r = 0;
	RDLOCK(c);
	if (!c->opt.no_sync && n->layer == 0 && cbf_node_path(&c->fs, n, path, sizeof(path)) >= 0) {
		_cleanup_close_ int fd =
		    openat(c->fs.layers[0].fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = fd < 0 ? -errno : RET_NERRNO(fsync(fd));
	}
	UNLOCK(c);
	reply_err(req, r);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct cbf_ctx *c = CTX(req);
	struct statvfs sv;
	if (fstatvfs(c->fs.layers[0].fd, &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

/* --- xattrs ---------------------------------------------------------- */

static bool private_xattr(const char *name)
{
	return strncmp(name, CBF_PRIVATE_XATTR, strlen(CBF_PRIVATE_XATTR)) == 0;
}

/* As overlayfs since Linux 6.7: a trusted.overlay.X set through the mount
 * is stored escaped as trusted.overlay.overlay.X, so a container can use
 * such names without forging whiteouts or opaque dirs. */
static const char *real_xattr_name(const char *name, char *buf, size_t size)
{
	if (!private_xattr(name))
		return name;
	snprintf(buf, size, "%soverlay.%s", CBF_PRIVATE_XATTR, name + strlen(CBF_PRIVATE_XATTR));
	return buf;
}

#define ESCAPED_XATTR CBF_PRIVATE_XATTR "overlay."

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct cbf_ctx *c = CTX(req);
	char abs[PATH_MAX + 256], nbuf[XATTR_NAME_MAX + 16];
	name = real_xattr_name(name, nbuf, sizeof(nbuf));
	_cleanup_free_ char *buf = size ? malloc(size) : NULL;
	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	RDLOCK(c);
	int r = cbf_abs_path(&c->fs, NODE(c, ino), abs, sizeof(abs));
	ssize_t n = r < 0 ? r : lgetxattr(abs, name, buf, size);
	if (r >= 0 && n < 0)
		r = -errno;
	UNLOCK(c);
	if (r < 0)
		reply_err(req, r);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct cbf_ctx *c = CTX(req);
	char abs[PATH_MAX + 256];
	ssize_t n = 0;
	_cleanup_free_ char *list = NULL;
	RDLOCK(c);
	int r = cbf_abs_path(&c->fs, NODE(c, ino), abs, sizeof(abs));
	if (r >= 0) {
		n = llistxattr(abs, NULL, 0);
		if (n > 0 && !(list = malloc(n + 1)))
			r = -ENOMEM;
		else if (n > 0)
			n = llistxattr(abs, list, n);
		if (r >= 0 && n < 0)
			r = -errno;
	}
	UNLOCK(c);
	if (r < 0) {
		reply_err(req, r);
		return;
	}
	/* hide overlay's own attributes and unescape escaped ones, in place
	 * (the output is never longer than the input) */
	size_t out = 0;
	for (ssize_t i = 0; i < n;) {
		const char *x = list + i;
		size_t l = strlen(x) + 1, skip = 0;
		if (strncmp(x, ESCAPED_XATTR, strlen(ESCAPED_XATTR)) == 0)
			skip = strlen("overlay.");
		else if (private_xattr(x))
			skip = l;
		if (skip == 0) {
			memmove(list + out, x, l);
			out += l;
		} else if (skip < l) { /* trusted.overlay.overlay.X -> trusted.overlay.X */
			size_t pre = strlen(CBF_PRIVATE_XATTR);
			memmove(list + out, x, pre);
			memmove(list + out + pre, x + pre + skip, l - pre - skip);
			out += l - skip;
		}
		i += l;
	}
	if (size == 0)
		fuse_reply_xattr(req, out);
	else if (out > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, list, out);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct cbf_ctx *c = CTX(req);
	struct cbf_node *n = NODE(c, ino);
	char abs[PATH_MAX + 256], nbuf[XATTR_NAME_MAX + 16];
	name = real_xattr_name(name, nbuf, sizeof(nbuf));
	WRLOCK(c);
	int r = cbf_copy_up(&c->fs, n, true);
	if (r >= 0)
		r = cbf_abs_path(&c->fs, n, abs, sizeof(abs));
	if (r >= 0)
		r = RET_NERRNO(lsetxattr(abs, name, value, size, flags));
	UNLOCK(c);
	reply_err(req, r);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct cbf_ctx *c = CTX(req);
	struct cbf_node *n = NODE(c, ino);
	char abs[PATH_MAX + 256], nbuf[XATTR_NAME_MAX + 16];
	name = real_xattr_name(name, nbuf, sizeof(nbuf));
	WRLOCK(c);
	int r = cbf_abs_path(&c->fs, n, abs, sizeof(abs));
	/* nothing to remove: no copy-up */
	if (r >= 0 && lgetxattr(abs, name, NULL, 0) < 0)
		r = -errno;
	if (r >= 0)
		r = cbf_copy_up(&c->fs, n, true);
	if (r >= 0)
		r = cbf_abs_path(&c->fs, n, abs, sizeof(abs));
	if (r >= 0)
		r = RET_NERRNO(lremovexattr(abs, name));
	UNLOCK(c);
	reply_err(req, r);
}

const struct fuse_lowlevel_ops cbf_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write_buf = op_write_buf,
    /* no .flush: the kernel then stops sending FLUSH on every close (it
     * still writes dirty pages back first); we keep no per-close state */
    .release = op_release,
    .fsync = op_fsync,
    .fallocate = op_fallocate,
    .lseek = op_lseek,
    .copy_file_range = op_copy_file_range,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .setxattr = op_setxattr,
    .removexattr = op_removexattr,
};
