#include "source.h"
#include "decompress.h"
#include "fsutil.h"
#include "macro.h"
#include "store.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1u << 20)

struct tar_entry {
	char *name;
	int64_t header_offset;
	int64_t size;
};

struct cb_source {
	int dir_fd; /* OCI layout directory, or -1 */
	int tar_fd; /* seekable uncompressed tar, or -1 */
	size_t n_entries;
	struct tar_entry *entries;
};

bool cb_source_is_dir(const struct cb_source *src)
{
	return src->dir_fd >= 0;
}

void cb_source_free(struct cb_source *src)
{
	if (!src)
		return;
	closep(&src->dir_fd);
	closep(&src->tar_fd);
	for (size_t i = 0; i < src->n_entries; i++)
		free(src->entries[i].name);
	free(src->entries);
	free(src);
}

/* Entry names compare without a leading "./". */
static const char *plain_name(const char *n)
{
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	while (n[0] == '/')
		n++;
	return n;
}

static const struct tar_entry *find_entry(const struct cb_source *src, const char *name)
{
	name = plain_name(name);
	/* The last entry of a name wins, as when a tar is extracted. */
	for (size_t i = src->n_entries; i > 0; i--)
		if (strcmp(src->entries[i - 1].name, name) == 0)
			return &src->entries[i - 1];
	return NULL;
}

bool cb_source_has(const struct cb_source *src, const char *name)
{
	if (src->dir_fd >= 0) {
		_cleanup_close_ int fd = cb_openat2(src->dir_fd, plain_name(name), O_RDONLY, 0,
						    RESOLVE_BENEATH);
		return fd >= 0;
	}
	return find_entry(src, name) != NULL;
}

static int tar_index(struct cb_source *src, struct cb_error *err)
{
	struct archive *a = archive_read_new();
	if (!a)
		return -ENOMEM;
	archive_read_support_format_tar(a);
	int r = 0;
	if (lseek(src->tar_fd, 0, SEEK_SET) < 0 ||
	    archive_read_open_fd(a, src->tar_fd, 64 << 10) != ARCHIVE_OK) {
		r = cb_error_set(err, EBADMSG, "not a tar archive");
		goto out_free;
	}
	size_t cap = 0;
	for (;;) {
		struct archive_entry *e;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
			const char *msg = archive_error_string(a);
			r = cb_error_set(err, EBADMSG, "%s",
					 src->n_entries == 0 ? "not a tar archive"
					 : msg		     ? msg
							     : "bad tar header");
			goto out_free;
		}
		if (archive_entry_filetype(e) == AE_IFREG && archive_entry_pathname(e)) {
			if (src->n_entries == cap) {
				cap = cap ? cap * 2 : 64;
				struct tar_entry *n = realloc(src->entries, cap * sizeof(*n));
				if (!n) {
					r = -ENOMEM;
					goto out_free;
				}
				src->entries = n;
			}
			struct tar_entry *t = &src->entries[src->n_entries];
			t->name = strdup(plain_name(archive_entry_pathname(e)));
			t->header_offset = archive_read_header_position(a);
			t->size = archive_entry_size(e);
			if (!t->name) {
				r = -ENOMEM;
				goto out_free;
			}
			src->n_entries++;
		}
		/* Reads the data to its end: also catches a truncated tar. */
		if (archive_read_data_skip(a) != ARCHIVE_OK) {
			const char *msg = archive_error_string(a);
			r = cb_error_set(err, EBADMSG, "%s", msg ? msg : "truncated tar archive");
			goto out_free;
		}
	}
	if (src->n_entries == 0)
		r = cb_error_set(err, EBADMSG, "not an image archive: the tar holds no files");
out_free:
	archive_read_free(a);
	return r;
}

/* Copy fd into an O_TMPFILE in the store, decompressing it if needed. */
static int spool(struct cb_store *s, int in_fd, struct cb_error *err)
{
	_cleanup_close_ int out = openat(cb_store_root_fd(s), "tmp", O_TMPFILE | O_RDWR | O_CLOEXEC,
					 0600);
	if (out < 0)
		return cb_error_errno(err, errno, "make a temporary file in the store");
	struct cb_decompressor *d = NULL;
	int r = cb_decompressor_new(CB_COMPRESSION_AUTO, &d);
	if (r < 0)
		return r;
	_cleanup_free_ uint8_t *in = malloc(CHUNK), *buf = malloc(CHUNK);
	if (!in || !buf) {
		cb_decompressor_free(d);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(in_fd, in, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = cb_error_errno(err, errno, "read");
			break;
		}
		const uint8_t *p = in;
		size_t left = (size_t)n;
		for (;;) {
			size_t got = CHUNK;
			r = cb_decompress(d, &p, &left, buf, &got);
			if (r < 0) {
				cb_error_set(err, -r, "%s", cb_decompressor_error(d));
				break;
			}
			if (got > 0 && (r = cb_write_all(out, buf, got)) < 0) {
				cb_error_errno(err, r, "write a temporary file in the store");
				break;
			}
			if (left == 0 && got < CHUNK)
				break;
		}
		if (r < 0 || n == 0)
			break;
	}
	if (r >= 0 && (r = cb_decompress_end(d)) < 0)
		cb_error_set(err, -r, "%s", cb_decompressor_error(d));
	cb_decompressor_free(d);
	if (r < 0)
		return r;
	return TAKE_FD(out);
}

static bool is_compressed(int fd)
{
	uint8_t m[4];
	ssize_t n = pread(fd, m, sizeof(m), 0);
	if (n < 2)
		return false;
	return (m[0] == 0x1f && m[1] == 0x8b) ||
	       (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd);
}

int cb_source_open(struct cb_store *s, const char *path, struct cb_source **ret,
		   struct cb_error *err)
{
	_cleanup_free_ struct cb_source *src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	src->dir_fd = src->tar_fd = -1;
	_cleanup_close_ int fd = -1;
	if (strcmp(path, "-") == 0) {
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return cb_error_errno(err, errno, "open");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return cb_error_errno(err, errno, "stat");
	if (S_ISDIR(st.st_mode)) {
		src->dir_fd = TAKE_FD(fd);
		*ret = TAKE_PTR(src);
		return 0;
	}
	if (!S_ISREG(st.st_mode) || is_compressed(fd)) {
		int sp = spool(s, fd, err);
		if (sp < 0)
			return sp;
		closep(&fd);
		fd = sp;
	}
	src->tar_fd = TAKE_FD(fd);
	int r = tar_index(src, err);
	if (r < 0) {
		cb_source_free(TAKE_PTR(src));
		return r;
	}
	*ret = TAKE_PTR(src);
	return 0;
}

/* Open a reader positioned at the data of entry t, on its own fd so that
 * threads do not share a file offset. */
static int tar_open_entry(struct cb_source *src, const struct tar_entry *t, struct archive **ret,
			  int *ret_fd, struct cb_error *err)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src->tar_fd);
	int fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cb_error_errno(err, errno, "reopen the archive");
	if (lseek(fd, t->header_offset, SEEK_SET) < 0) {
		int r = cb_error_errno(err, errno, "seek");
		close(fd);
		return r;
	}
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	struct archive_entry *e;
	if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK ||
	    strcmp(plain_name(archive_entry_pathname(e) ? archive_entry_pathname(e) : ""),
		   t->name) != 0) {
		archive_read_free(a);
		close(fd);
		return cb_error_set(err, EIO, "%s: cannot find it again in the archive", t->name);
	}
	*ret = a;
	*ret_fd = fd;
	return 0;
}

int cb_source_stream(struct cb_source *src, const char *name, cb_push_fn push, void *opaque,
		     const volatile bool *cancel, struct cb_error *err)
{
	if (src->dir_fd >= 0) {
		_cleanup_close_ int fd = cb_openat2(src->dir_fd, plain_name(name), O_RDONLY, 0,
						    RESOLVE_BENEATH);
		if (fd < 0)
			return fd == -ENOENT ? cb_error_set(err, ENOENT, "%s: missing", name)
					     : cb_error_errno(err, fd, "%s", name);
		_cleanup_free_ uint8_t *buf = malloc(CHUNK);
		if (!buf)
			return -ENOMEM;
		for (;;) {
			if (cancel && *cancel)
				return -ECANCELED;
			ssize_t n = read(fd, buf, CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return cb_error_errno(err, errno, "%s: read", name);
			if (n == 0)
				return 0;
			int r = push(opaque, buf, (size_t)n);
			if (r < 0)
				return r;
		}
	}
	const struct tar_entry *t = find_entry(src, name);
	if (!t)
		return cb_error_set(err, ENOENT, "%s: missing", name);
	struct archive *a = NULL;
	int fd = -1;
	int r = tar_open_entry(src, t, &a, &fd, err);
	if (r < 0)
		return r;
	for (;;) {
		if (cancel && *cancel) {
			r = -ECANCELED;
			break;
		}
		const void *block;
		size_t len;
		la_int64_t off;
		int ar = archive_read_data_block(a, &block, &len, &off);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar != ARCHIVE_OK) {
			r = cb_error_set(err, EBADMSG, "%s: %s", name, archive_error_string(a));
			break;
		}
		r = push(opaque, block, len);
		if (r < 0)
			break;
	}
	archive_read_free(a);
	close(fd);
	return r;
}

int cb_source_read(struct cb_source *src, const char *name, size_t max, char **ret_data,
		   size_t *ret_len, struct cb_error *err)
{
	if (src->dir_fd >= 0) {
		_cleanup_close_ int fd = cb_openat2(src->dir_fd, plain_name(name), O_RDONLY, 0,
						    RESOLVE_BENEATH);
		if (fd < 0)
			return fd == -ENOENT ? cb_error_set(err, ENOENT, "%s: missing", name)
					     : cb_error_errno(err, fd, "%s", name);
		int r = cb_read_fd(fd, max, ret_data, ret_len);
		if (r == -EFBIG)
			return cb_error_set(err, EFBIG, "%s: larger than %zu bytes", name, max);
		return r < 0 ? cb_error_errno(err, r, "%s: read", name) : 0;
	}
	const struct tar_entry *t = find_entry(src, name);
	if (!t)
		return cb_error_set(err, ENOENT, "%s: missing", name);
	if (t->size < 0 || (uint64_t)t->size > max)
		return cb_error_set(err, EFBIG, "%s: larger than %zu bytes", name, max);
	struct archive *a = NULL;
	int fd = -1;
	int r = tar_open_entry(src, t, &a, &fd, err);
	if (r < 0)
		return r;
	char *buf = malloc((size_t)t->size + 1);
	la_ssize_t n = buf ? archive_read_data(a, buf, (size_t)t->size) : -1;
	archive_read_free(a);
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (n != t->size) {
		free(buf);
		return cb_error_set(err, EBADMSG, "%s: truncated", name);
	}
	buf[n] = '\0';
	*ret_data = buf;
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}
