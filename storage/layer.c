#include "layer.h"
#include "decompress.h"
#include "extract.h"
#include "fsutil.h"
#include "macro.h"
#include "store.h"

#include <archive.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/xattr.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The decompressed stream goes to the tar thread through a ring of slots:
 * the writer fills one while the tar thread reads another. */
#define SLOT_SIZE (512u << 10)
#define N_SLOTS	  8

struct slot {
	uint8_t *data;
	size_t len;
};

struct cb_layer_writer {
	struct cb_store *store;
	struct cb_layer_limits limits;
	char *what;
	char *expect_digest, *expect_diff_id, *parent_chain_id, *media_type;
	bool skip; /* the layer is stored already: only verify the digest */
	int64_t expect_size;
	const volatile bool *cancel;

	struct cb_hasher *compressed_hash, *tar_hash;
	struct cb_decompressor *dec;
	uint64_t compressed_size, tar_size;

	/* staging */
	int stage_fd, diff_fd;
	char *stage_rel;

	/* ring */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct slot slots[N_SLOTS];
	unsigned head, tail; /* tar thread reads head; writer fills tail */
	unsigned queued;     /* full slots waiting for the tar thread */
	bool reader_holds;   /* the tar thread still uses the slot before head */
	bool eof;	     /* no more input */
	bool reader_done;    /* the tar thread stopped (finished or failed) */
	bool thread_started;
	pthread_t thread;

	/* results of the tar thread */
	int extract_result;
	struct cb_error extract_err;
	struct cb_extract_stats stats;

	struct cb_error err; /* the writer's own error */
};

static const struct cb_layer_limits default_limits = {
	.max_entries = 2000000,
	.max_bytes = 64ull << 30,
	.max_name = 4096,
};

static char *strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* libarchive's read callback: hand over the next full slot. */
static la_ssize_t ring_read(struct archive *a, void *opaque, const void **buf)
{
	struct cb_layer_writer *w = opaque;
	pthread_mutex_lock(&w->lock);
	if (w->reader_holds) {
		w->reader_holds = false;
		pthread_cond_broadcast(&w->changed);
	}
	while (w->queued == 0 && !w->eof)
		pthread_cond_wait(&w->changed, &w->lock);
	if (w->queued == 0) {
		pthread_mutex_unlock(&w->lock);
		return 0;
	}
	struct slot *s = &w->slots[w->head];
	w->head = (w->head + 1) % N_SLOTS;
	w->queued--;
	w->reader_holds = true;
	pthread_mutex_unlock(&w->lock);
	*buf = s->data;
	return (la_ssize_t)s->len;
}

/* After the tar's end (or a failure) keep taking slots so the writer never
 * blocks: the bytes still count for the diff ID. */
static void ring_drain(struct cb_layer_writer *w)
{
	pthread_mutex_lock(&w->lock);
	w->reader_done = true;
	w->reader_holds = false;
	w->head = (w->head + w->queued) % N_SLOTS;
	w->queued = 0;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
}

static void *tar_thread(void *opaque)
{
	struct cb_layer_writer *w = opaque;
	struct archive *a = archive_read_new();
	int r;
	if (!a) {
		r = cb_error_set(&w->extract_err, ENOMEM, "out of memory");
	} else {
		archive_read_support_format_tar(a);
		if (archive_read_open(a, w, NULL, ring_read, NULL) != ARCHIVE_OK) {
			const char *msg = archive_error_string(a);
			r = cb_error_set(&w->extract_err, EBADMSG, "%s",
					 msg && strstr(msg, "Unrecognized") ? "not a tar archive"
					 : msg				    ? msg
									    : "bad tar");
		} else {
			r = cb_extract_tar(a, w->diff_fd, &w->limits, &w->stats, &w->extract_err);
		}
		archive_read_free(a);
	}
	w->extract_result = r;
	ring_drain(w);
	return NULL;
}

static int writer_stage(struct cb_layer_writer *w, struct cb_error *err)
{
	int r = cb_store_stage_dir(w->store, false, &w->stage_fd, &w->stage_rel);
	if (r < 0)
		return cb_error_errno(err, r, "%s: make staging directory", w->what);
	if (mkdirat(w->stage_fd, "diff", 0755) < 0)
		return cb_error_errno(err, errno, "%s: make staging directory", w->what);
	w->diff_fd = openat(w->stage_fd, "diff", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (w->diff_fd < 0)
		return cb_error_errno(err, errno, "%s: open staging directory", w->what);
	for (unsigned i = 0; i < N_SLOTS; i++) {
		w->slots[i].data = malloc(SLOT_SIZE);
		if (!w->slots[i].data)
			return cb_error_set(err, ENOMEM, "%s: out of memory", w->what);
	}
	r = pthread_create(&w->thread, NULL, tar_thread, w);
	if (r != 0)
		return cb_error_errno(err, r, "%s: start unpack thread", w->what);
	w->thread_started = true;
	return 0;
}

int cb_layer_writer_new(struct cb_store *s, const struct cb_layer_expect *expect,
			const struct cb_layer_limits *limits, struct cb_layer_writer **ret,
			struct cb_error *err)
{
	if ((expect->digest && !cb_digest_valid(expect->digest)) ||
	    (expect->diff_id && !cb_digest_valid(expect->diff_id)) ||
	    (expect->parent_chain_id && !cb_digest_valid(expect->parent_chain_id)))
		return cb_error_set(err, EINVAL, "%s: invalid digest",
				    expect->what ? expect->what : "layer");
	struct cb_layer_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->store = s;
	w->stage_fd = w->diff_fd = -1;
	w->limits = default_limits;
	if (limits) {
		if (limits->max_entries)
			w->limits.max_entries = limits->max_entries;
		if (limits->max_bytes)
			w->limits.max_bytes = limits->max_bytes;
		if (limits->max_name)
			w->limits.max_name = limits->max_name;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->changed, NULL);
	w->what = strdup(expect->what ? expect->what : "layer");
	w->expect_digest = strdup_or_null(expect->digest);
	w->expect_diff_id = strdup_or_null(expect->diff_id);
	w->parent_chain_id = strdup_or_null(expect->parent_chain_id);
	w->media_type = strdup_or_null(expect->media_type);
	w->cancel = expect->cancel;
	w->expect_size = expect->size;
	w->compressed_hash = cb_hasher_new();
	w->tar_hash = cb_hasher_new();
	int r = cb_decompressor_new(expect->compression, &w->dec);
	if (!w->what || !w->compressed_hash || !w->tar_hash || r < 0) {
		cb_layer_writer_abort(w);
		return cb_error_set(err, ENOMEM, "out of memory");
	}
	if (expect->diff_id) {
		char chain[CB_DIGEST_SIZE];
		cb_chain_id(expect->parent_chain_id, expect->diff_id, chain);
		w->skip = cb_store_has_layer(s, chain);
	}
	if (!w->skip) {
		r = writer_stage(w, err);
		if (r < 0) {
			cb_layer_writer_abort(w);
			return r;
		}
	}
	*ret = w;
	return 0;
}


const struct cb_error *cb_layer_writer_error(const struct cb_layer_writer *w)
{
	return w->err.code ? &w->err : &w->extract_err;
}

/* Wait for a free slot at tail; false when the tar thread has stopped. */
static bool ring_wait_free(struct cb_layer_writer *w)
{
	pthread_mutex_lock(&w->lock);
	while (!w->reader_done && w->queued + (w->reader_holds ? 1 : 0) + 1 > N_SLOTS)
		pthread_cond_wait(&w->changed, &w->lock);
	bool ok = !w->reader_done;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

static void ring_push(struct cb_layer_writer *w)
{
	pthread_mutex_lock(&w->lock);
	if (!w->reader_done) {
		w->tail = (w->tail + 1) % N_SLOTS;
		w->queued++;
	}
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
}

static int tar_bytes(struct cb_layer_writer *w, const uint8_t *p, size_t n)
{
	cb_hasher_update(w->tar_hash, p, n);
	w->tar_size += n;
	if (w->tar_size > w->limits.max_bytes)
		return cb_error_set(&w->err, EFBIG, "%s: larger than %llu bytes unpacked", w->what,
				    (unsigned long long)w->limits.max_bytes);
	return 0;
}

/* Decompress input into ring slots; with in == NULL flush what is held. */
static int writer_pump(struct cb_layer_writer *w, const uint8_t *in, size_t in_len)
{
	for (;;) {
		if (w->skip) {
			/* Only the compressed digest matters: no need to inflate. */
			return 0;
		}
		bool reader_alive = ring_wait_free(w);
		struct slot *s = &w->slots[w->tail];
		size_t cap = SLOT_SIZE, got = cap;
		int r = cb_decompress(w->dec, &in, &in_len, s->data, &got);
		if (r < 0)
			return cb_error_set(&w->err, -r, "%s: %s", w->what,
					    cb_decompressor_error(w->dec));
		if (got > 0) {
			r = tar_bytes(w, s->data, got);
			if (r < 0)
				return r;
			s->len = got;
			if (reader_alive)
				ring_push(w);
		}
		if (in_len == 0 && got < cap)
			break;
	}
	return 0;
}

int cb_layer_writer_write(struct cb_layer_writer *w, const void *buf, size_t len)
{
	if (w->err.code)
		return -w->err.code;
	cb_hasher_update(w->compressed_hash, buf, len);
	w->compressed_size += len;
	if (w->expect_size > 0 && w->compressed_size > (uint64_t)w->expect_size)
		return cb_error_set(&w->err, EBADMSG,
				    "%s: size mismatch: larger than the %lld bytes the manifest says",
				    w->what, (long long)w->expect_size);
	int r = writer_pump(w, buf, len);
	if (r < 0)
		return r;
	/* A tar thread that failed makes the rest pointless. */
	pthread_mutex_lock(&w->lock);
	bool failed = w->reader_done && w->extract_result < 0;
	pthread_mutex_unlock(&w->lock);
	if (failed)
		return cb_error_set(&w->err, w->extract_err.code, "%s: %s", w->what,
				    w->extract_err.msg);
	return 0;
}

static void writer_stop_thread(struct cb_layer_writer *w)
{
	if (!w->thread_started)
		return;
	pthread_mutex_lock(&w->lock);
	w->eof = true;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->thread_started = false;
}

static void writer_free(struct cb_layer_writer *w)
{
	closep(&w->diff_fd);
	closep(&w->stage_fd);
	for (unsigned i = 0; i < N_SLOTS; i++)
		free(w->slots[i].data);
	cb_hasher_free(w->compressed_hash);
	cb_hasher_free(w->tar_hash);
	cb_decompressor_free(w->dec);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->changed);
	free(w->what);
	free(w->expect_digest);
	free(w->expect_diff_id);
	free(w->parent_chain_id);
	free(w->media_type);
	free(w->stage_rel);
	cb_extract_stats_release(&w->stats);
	free(w);
}

void cb_layer_writer_abort(struct cb_layer_writer *w)
{
	if (!w)
		return;
	writer_stop_thread(w);
	if (w->stage_rel)
		cb_rm_rf_at(cb_store_root_fd(w->store), w->stage_rel);
	writer_free(w);
}

static int write_layer_json(struct cb_layer_writer *w, const struct cb_layer_info *info)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I}", "chain_id", info->chain_id, "diff_id",
			      info->diff_id, "tar_size", (json_int_t)info->tar_size, "entries",
			      (json_int_t)info->entries, "created", (json_int_t)time(NULL));
	if (!j)
		return -ENOMEM;
	if (w->parent_chain_id)
		json_object_set_new(j, "parent", json_string(w->parent_chain_id));
	/* The blob it came from, so a later save can say where it was from;
	 * the blob itself is not kept (see docs/store.md). */
	json_object_set_new(j, "source_digest", json_string(info->digest));
	json_object_set_new(j, "source_size", json_integer((json_int_t)info->compressed_size));
	if (w->media_type)
		json_object_set_new(j, "source_media_type", json_string(w->media_type));
	json_object_set_new(j, "compression",
			    json_string(cb_compression_name(cb_decompressor_kind(w->dec))));
	_cleanup_free_ char *text = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1));
	json_decref(j);
	if (!text)
		return -ENOMEM;
	return cb_write_file_atomic_at(w->stage_fd, "layer.json", text, strlen(text), 0600);
}

/* The parent chain of the layer being written, top first, waiting for
 * each to be stored (a sibling worker may still be unpacking it). */
static int lower_chain(struct cb_layer_writer *w, char ***ret, struct cb_error *err)
{
	size_t n = 0;
	char **v = calloc(1, sizeof(char *));
	char cur[CB_DIGEST_SIZE];
	if (!v)
		return -ENOMEM;
	snprintf(cur, sizeof(cur), "%s", w->parent_chain_id ? w->parent_chain_id : "");
	while (cur[0]) {
		while (!cb_store_has_layer(w->store, cur)) {
			if (w->cancel && *w->cancel) {
				strv_free(v);
				return -ECANCELED;
			}
			usleep(10000);
		}
		char **nv = realloc(v, (n + 2) * sizeof(char *));
		if (!nv) {
			strv_free(v);
			return -ENOMEM;
		}
		v = nv;
		if (asprintf(&v[n], "layers/%s/diff", cb_digest_hex(cur)) < 0) {
			v[n] = NULL;
			strv_free(v);
			return -ENOMEM;
		}
		v[++n] = NULL;
		char rel[160];
		snprintf(rel, sizeof(rel), "layers/%s/layer.json", cb_digest_hex(cur));
		_cleanup_free_ char *text = NULL;
		size_t len;
		cur[0] = '\0';
		if (cb_read_file_at(cb_store_root_fd(w->store), rel, 1 << 20, &text, &len) >= 0) {
			json_t *j = json_loadb(text, len, 0, NULL);
			const char *parent = json_string_value(json_object_get(j, "parent"));
			if (parent && cb_digest_valid(parent))
				snprintf(cur, sizeof(cur), "%s", parent);
			json_decref(j);
		}
	}
	*ret = v;
	(void)err;
	return 0;
}

static int copy_xattrs(int from, int to)
{
	char names[4096];
	ssize_t n = flistxattr(from, names, sizeof(names));
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1) {
		char value[4096];
		ssize_t v = fgetxattr(from, names + i, value, sizeof(value));
		if (v >= 0 && fsetxattr(to, names + i, value, (size_t)v, 0) < 0)
			return -errno;
	}
	return 0;
}

/* Copy a regular file with its owner, mode, xattrs and times into the
 * staged tree at path: a new name, then rename, never half a file. */
static int copy_in(struct cb_layer_writer *w, int src, const char *path)
{
	static const uint64_t beneath = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					RESOLVE_NO_MAGICLINKS;
	struct stat st;
	if (fstat(src, &st) < 0)
		return -errno;
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	char *slash = strrchr(copy, '/');
	const char *base = slash ? slash + 1 : copy;
	if (slash)
		*slash = '\0';
	_cleanup_close_ int dir = slash ? cb_openat2(w->diff_fd, copy, O_RDONLY | O_DIRECTORY, 0,
						     beneath)
					: fcntl(w->diff_fd, F_DUPFD_CLOEXEC, 3);
	if (dir < 0)
		return dir;
	char tmp[NAME_MAX + 1];
	snprintf(tmp, sizeof(tmp), ".cowbox-copy-%d", (int)gettid());
	_cleanup_close_ int dst =
		openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dst < 0)
		return -errno;
	int r = 0;
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, (size_t)left, 0);
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		left -= n;
	}
	if (r >= 0 && fchown(dst, st.st_uid, st.st_gid) < 0)
		r = -errno;
	if (r >= 0 && fchmod(dst, st.st_mode & 07777) < 0)
		r = -errno;
	if (r >= 0)
		r = copy_xattrs(src, dst);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	if (r >= 0 && futimens(dst, ts) < 0)
		r = -errno;
	if (r >= 0 && renameat(dir, tmp, dir, base) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dir, tmp, 0);
	return r;
}

/* Hard links to files of lower layers become copies of those files. */
static int resolve_lower_links(struct cb_layer_writer *w, struct cb_error *err)
{
	if (w->stats.n_lower_links == 0)
		return 0;
	_cleanup_strv_ char **chain = NULL;
	int r = lower_chain(w, &chain, err);
	if (r < 0)
		return cb_error_errno(err, r, "%s: wait for the layers below", w->what);
	for (size_t i = 0; i < w->stats.n_lower_links; i++) {
		const struct cb_lower_link *l = &w->stats.lower_links[i];
		_cleanup_close_ int src = -1;
		for (char **c = chain; *c && src < 0; c++) {
			_cleanup_close_ int layer =
				openat(cb_store_root_fd(w->store), *c,
				       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (layer < 0)
				continue;
			_cleanup_close_ int path_fd = cb_openat2(
				layer, l->target, O_PATH | O_NOFOLLOW, 0,
				RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
			struct stat st;
			if (path_fd < 0 || fstat(path_fd, &st) < 0)
				continue; /* not in this layer: look further down */
			if (!S_ISREG(st.st_mode))
				break; /* a whiteout or not a file: nothing to link to */
			char proc[64];
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", path_fd);
			src = open(proc, O_RDONLY | O_CLOEXEC);
		}
		if (src < 0)
			return cb_error_set(err, ENOENT,
					    "%s: entry '%s': hard link target '%s' is in neither "
					    "this layer nor the ones below",
					    w->what, l->path, l->target);
		r = copy_in(w, src, l->path);
		if (r < 0)
			return cb_error_errno(err, r, "%s: entry '%s': copy hard link target '%s'",
					      w->what, l->path, l->target);
	}
	return 0;
}

/* Move the staged directory to layers/<hex>, unless another command was
 * faster: then ours goes and theirs stays. */
static int writer_commit(struct cb_layer_writer *w, struct cb_layer_info *info,
			 struct cb_error *err)
{
	int root = cb_store_root_fd(w->store);
	char name[16 + CB_DIGEST_HEX_LEN];
	snprintf(name, sizeof(name), "layer-%s", cb_digest_hex(info->chain_id));
	_cleanup_close_ int lock = cb_store_lock_name(w->store, name);
	if (lock < 0)
		return cb_error_errno(err, lock, "%s: lock", w->what);
	char dest[16 + CB_DIGEST_HEX_LEN];
	snprintf(dest, sizeof(dest), "layers/%s", cb_digest_hex(info->chain_id));
	if (cb_store_has_layer(w->store, info->chain_id)) {
		info->existed = true;
		return 0;
	}
	/* Leftover of a crash between a rename and nothing else: a layer dir
	 * without diff/ is not a layer; clear it. */
	cb_rm_rf_at(root, dest);
	if (renameat(root, w->stage_rel, root, dest) < 0)
		return cb_error_errno(err, errno, "%s: move into the store", w->what);
	free(w->stage_rel);
	w->stage_rel = NULL;
	_cleanup_close_ int layers = openat(root, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (layers >= 0)
		fsync(layers);
	return 0;
}

int cb_layer_writer_finish(struct cb_layer_writer *w, struct cb_layer_info *ret_info,
			   struct cb_error *err)
{
	struct cb_layer_info info = {0};
	int r = 0;
	if (w->err.code) {
		r = cb_error_set(err, w->err.code, "%s", w->err.msg);
		goto out_abort;
	}
	if (!w->skip) {
		r = writer_pump(w, NULL, 0);
		if (r >= 0 && (r = cb_decompress_end(w->dec)) < 0)
			cb_error_set(&w->err, -r, "%s: %s", w->what, cb_decompressor_error(w->dec));
		if (r < 0) {
			r = cb_error_set(err, w->err.code, "%s", w->err.msg);
			goto out_abort;
		}
		writer_stop_thread(w);
		if (w->extract_result < 0) {
			r = cb_error_set(err, w->extract_err.code, "%s: %s", w->what,
					 w->extract_err.msg);
			goto out_abort;
		}
	}
	cb_hasher_final(w->compressed_hash, info.digest);
	if (w->expect_digest && strcmp(info.digest, w->expect_digest) != 0) {
		r = cb_error_set(err, EBADMSG, "%s: digest mismatch: expected %s, got %s", w->what,
				 w->expect_digest, info.digest);
		goto out_abort;
	}
	if (w->expect_size > 0 && (uint64_t)w->expect_size != w->compressed_size) {
		r = cb_error_set(err, EBADMSG, "%s: size mismatch: manifest says %lld bytes, got %llu",
				 w->what, (long long)w->expect_size,
				 (unsigned long long)w->compressed_size);
		goto out_abort;
	}
	info.compressed_size = w->compressed_size;
	info.compression = cb_decompressor_kind(w->dec);
	if (w->skip) {
		memcpy(info.diff_id, w->expect_diff_id, CB_DIGEST_SIZE);
		cb_chain_id(w->parent_chain_id, info.diff_id, info.chain_id);
		info.existed = true;
		goto out_done;
	}
	cb_hasher_final(w->tar_hash, info.diff_id);
	if (w->expect_diff_id && strcmp(info.diff_id, w->expect_diff_id) != 0) {
		r = cb_error_set(err, EBADMSG, "%s: diff ID mismatch: config says %s, content is %s",
				 w->what, w->expect_diff_id, info.diff_id);
		goto out_abort;
	}
	cb_chain_id(w->parent_chain_id, info.diff_id, info.chain_id);
	r = resolve_lower_links(w, err);
	if (r < 0)
		goto out_abort;
	info.tar_size = w->tar_size;
	info.entries = w->stats.entries;
	r = write_layer_json(w, &info);
	if (r < 0) {
		cb_error_errno(err, r, "%s: write layer.json", w->what);
		goto out_abort;
	}
	/* One syncfs instead of an fsync per file: the whole tree is on disk
	 * before the rename makes it visible. */
	if (syncfs(w->stage_fd) < 0) {
		r = cb_error_errno(err, errno, "%s: sync", w->what);
		goto out_abort;
	}
	r = writer_commit(w, &info, err);
	if (r < 0)
		goto out_abort;
out_done:
	if (ret_info)
		*ret_info = info;
	cb_layer_writer_abort(w); /* removes the staging dir if ours lost */
	return 0;
out_abort:
	cb_layer_writer_abort(w);
	return r;
}

int cb_layer_tar_size(struct cb_store *s, const char *chain_id, uint64_t *ret)
{
	if (!cb_digest_valid(chain_id))
		return -EINVAL;
	char rel[160];
	snprintf(rel, sizeof(rel), "layers/%s/layer.json", cb_digest_hex(chain_id));
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = cb_read_file_at(cb_store_root_fd(s), rel, 1 << 20, &text, &len);
	if (r < 0)
		return r;
	json_t *j = json_loadb(text, len, 0, NULL);
	json_t *ts = json_object_get(j, "tar_size");
	r = json_is_integer(ts) ? 0 : -EBADMSG;
	if (r >= 0)
		*ret = (uint64_t)json_integer_value(ts);
	json_decref(j);
	return r;
}
