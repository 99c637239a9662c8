/* Streaming gzip and zstd. gzip goes through ISA-L's igzip where the
 * binary is built with it (CB_HAVE_ISAL: 1.8-2x zlib's speed, see
 * bench/inflate), else through zlib. Debian ships ISA-L only as a shared
 * library, so the statically linked `cowbox` takes zlib and leaves import
 * to cowbox-import, which has ISA-L (docs/architecture.md). */
#include "decompress.h"
#include "macro.h"

#include <errno.h>
#ifdef CB_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct cb_decompressor {
	enum cb_compression kind;
	uint8_t magic[4]; /* the first bytes, held back while sniffing */
	size_t magic_len;
	bool magic_flushed;
	/* gzip */
#ifdef CB_HAVE_ISAL
	struct inflate_state *gz;
#else
	z_stream *gz;
	bool gz_done; /* the last member ended (Z_STREAM_END) */
#endif
	bool gz_in_member; /* a member started and has not finished */
	/* zstd */
	ZSTD_DCtx *zs;
	size_t zs_hint; /* last ZSTD_decompressStream result: 0 = frame done */
	bool zs_started;
	const char *error;
};

const char *cb_compression_name(enum cb_compression c)
{
	switch (c) {
	case CB_COMPRESSION_GZIP:
		return "gzip";
	case CB_COMPRESSION_ZSTD:
		return "zstd";
	case CB_COMPRESSION_NONE:
		return "none";
	default:
		return "auto";
	}
}

static int decompressor_start(struct cb_decompressor *d, enum cb_compression kind)
{
	d->kind = kind;
	if (kind == CB_COMPRESSION_GZIP) {
#ifdef CB_HAVE_ISAL
		d->gz = malloc(sizeof(*d->gz));
		if (!d->gz)
			return -ENOMEM;
		isal_inflate_init(d->gz);
		d->gz->crc_flag = ISAL_GZIP;
#else
		d->gz = calloc(1, sizeof(*d->gz));
		if (!d->gz)
			return -ENOMEM;
		if (inflateInit2(d->gz, 16 + MAX_WBITS) != Z_OK) {
			free(d->gz);
			d->gz = NULL;
			return -ENOMEM;
		}
#endif
	} else if (kind == CB_COMPRESSION_ZSTD) {
		d->zs = ZSTD_createDCtx();
		if (!d->zs)
			return -ENOMEM;
	}
	return 0;
}

int cb_decompressor_new(enum cb_compression compression, struct cb_decompressor **ret)
{
	struct cb_decompressor *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (compression != CB_COMPRESSION_AUTO) {
		int r = decompressor_start(d, compression);
		if (r < 0) {
			cb_decompressor_free(d);
			return r;
		}
		d->magic_flushed = true;
	}
	*ret = d;
	return 0;
}

void cb_decompressor_free(struct cb_decompressor *d)
{
	if (!d)
		return;
#ifndef CB_HAVE_ISAL
	if (d->gz)
		inflateEnd(d->gz);
#endif
	free(d->gz);
	ZSTD_freeDCtx(d->zs);
	free(d);
}

static enum cb_compression sniff(const uint8_t *m, size_t n)
{
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		return CB_COMPRESSION_GZIP;
	if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		return CB_COMPRESSION_ZSTD;
	return CB_COMPRESSION_NONE;
}

static int step_none(const uint8_t **in, size_t *in_len, uint8_t *out, size_t *out_len)
{
	size_t n = MIN(*in_len, *out_len);
	if (n > 0)
		memcpy(out, *in, n);
	*in += n;
	*in_len -= n;
	*out_len = n;
	return 0;
}

#ifdef CB_HAVE_ISAL
static int step_gzip(struct cb_decompressor *d, const uint8_t **in, size_t *in_len, uint8_t *out,
		     size_t *out_len)
{
	struct inflate_state *s = d->gz;
	size_t cap = *out_len, produced = 0;
	while (produced < cap) {
		if (s->block_state == ISAL_BLOCK_FINISH) {
			if (*in_len == 0)
				break;
			/* Another gzip member follows the one that ended. */
			isal_inflate_reset(s);
			s->crc_flag = ISAL_GZIP;
		}
		s->next_in = (uint8_t *)*in;
		s->avail_in = (uint32_t)MIN(*in_len, UINT32_MAX);
		s->next_out = out + produced;
		s->avail_out = (uint32_t)MIN(cap - produced, UINT32_MAX);
		uint32_t before_in = s->avail_in, before_out = s->avail_out;
		int r = isal_inflate(s);
		*in += before_in - s->avail_in;
		*in_len -= before_in - s->avail_in;
		produced += before_out - s->avail_out;
		d->gz_in_member = s->block_state != ISAL_BLOCK_FINISH;
		if (r < 0) {
			d->error = r == ISAL_INCORRECT_CHECKSUM ? "gzip checksum mismatch"
				   : r == ISAL_INVALID_WRAPPER	 ? "not a valid gzip header"
								 : "corrupt gzip data";
			return -EBADMSG;
		}
		if (before_in == s->avail_in && before_out == s->avail_out)
			break; /* no progress: needs more input */
	}
	*out_len = produced;
	return 0;
}

static bool gzip_finished(const struct cb_decompressor *d)
{
	return d->gz && d->gz->block_state == ISAL_BLOCK_FINISH;
}
#else
static int step_gzip(struct cb_decompressor *d, const uint8_t **in, size_t *in_len, uint8_t *out,
		     size_t *out_len)
{
	z_stream *s = d->gz;
	size_t cap = *out_len, produced = 0;
	while (produced < cap) {
		if (d->gz_done) {
			if (*in_len == 0)
				break;
			/* Another gzip member follows the one that ended. */
			if (inflateReset(s) != Z_OK) {
				d->error = "corrupt gzip data";
				return -EBADMSG;
			}
			d->gz_done = false;
		}
		s->next_in = (Bytef *)*in;
		s->avail_in = (uInt)MIN(*in_len, UINT32_MAX);
		s->next_out = out + produced;
		s->avail_out = (uInt)MIN(cap - produced, UINT32_MAX);
		uInt before_in = s->avail_in, before_out = s->avail_out;
		int r = inflate(s, Z_NO_FLUSH);
		*in += before_in - s->avail_in;
		*in_len -= before_in - s->avail_in;
		produced += before_out - s->avail_out;
		if (r == Z_STREAM_END)
			d->gz_done = true;
		d->gz_in_member = !d->gz_done;
		if (r == Z_DATA_ERROR || r == Z_NEED_DICT || r == Z_STREAM_ERROR || r == Z_MEM_ERROR) {
			d->error = r == Z_MEM_ERROR ? "out of memory"
				   : s->msg && strstr(s->msg, "check") ? "gzip checksum mismatch"
				   : s->msg && strstr(s->msg, "header") ? "not a valid gzip header"
									  : "corrupt gzip data";
			return r == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
		}
		if (before_in == s->avail_in && before_out == s->avail_out)
			break; /* no progress: needs more input */
	}
	*out_len = produced;
	return 0;
}

static bool gzip_finished(const struct cb_decompressor *d)
{
	return d->gz && d->gz_done;
}
#endif

static int step_zstd(struct cb_decompressor *d, const uint8_t **in, size_t *in_len, uint8_t *out,
		     size_t *out_len)
{
	ZSTD_inBuffer ib = {.src = *in, .size = *in_len, .pos = 0};
	ZSTD_outBuffer ob = {.dst = out, .size = *out_len, .pos = 0};
	while (ob.pos < ob.size && ib.pos < ib.size) {
		size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
		if (ZSTD_isError(r)) {
			d->error = ZSTD_getErrorName(r);
			return -EBADMSG;
		}
		d->zs_hint = r;
		d->zs_started = true;
	}
	/* Output may still be buffered inside zstd with the input used up. */
	while (ob.pos < ob.size && ib.pos == ib.size && d->zs_started && d->zs_hint != 0) {
		size_t before = ob.pos;
		size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
		if (ZSTD_isError(r)) {
			d->error = ZSTD_getErrorName(r);
			return -EBADMSG;
		}
		d->zs_hint = r;
		if (ob.pos == before)
			break;
	}
	*in += ib.pos;
	*in_len -= ib.pos;
	*out_len = ob.pos;
	return 0;
}

int cb_decompress(struct cb_decompressor *d, const uint8_t **in, size_t *in_len, uint8_t *out,
		  size_t *out_len)
{
	if (d->kind == CB_COMPRESSION_AUTO) {
		while (d->magic_len < sizeof(d->magic) && *in_len > 0) {
			d->magic[d->magic_len++] = **in;
			(*in)++;
			(*in_len)--;
		}
		if (d->magic_len < sizeof(d->magic)) {
			*out_len = 0;
			return 0;
		}
		int r = decompressor_start(d, sniff(d->magic, d->magic_len));
		if (r < 0)
			return r;
	}
	if (!d->magic_flushed) {
		/* Feed the held-back magic bytes first. */
		const uint8_t *m = d->magic;
		size_t mlen = d->magic_len;
		size_t cap = *out_len;
		int r;
		switch (d->kind) {
		case CB_COMPRESSION_GZIP:
			r = step_gzip(d, &m, &mlen, out, out_len);
			break;
		case CB_COMPRESSION_ZSTD:
			r = step_zstd(d, &m, &mlen, out, out_len);
			break;
		default:
			r = step_none(&m, &mlen, out, out_len);
			break;
		}
		if (r < 0)
			return r;
		if (mlen > 0) {
			/* Output was full before the magic went in: keep the rest. */
			memmove(d->magic, m, mlen);
			d->magic_len = mlen;
			return 0;
		}
		d->magic_flushed = true;
		if (*out_len == cap)
			return 0;
		size_t used = *out_len;
		size_t more = cap - used;
		r = cb_decompress(d, in, in_len, out + used, &more);
		*out_len = used + more;
		return r;
	}
	switch (d->kind) {
	case CB_COMPRESSION_GZIP:
		return step_gzip(d, in, in_len, out, out_len);
	case CB_COMPRESSION_ZSTD:
		return step_zstd(d, in, in_len, out, out_len);
	default:
		return step_none(in, in_len, out, out_len);
	}
}

int cb_decompress_end(struct cb_decompressor *d)
{
	switch (d->kind) {
	case CB_COMPRESSION_AUTO:
		/* Fewer than 4 bytes in all: too short for any compressed
		 * stream and for a tar; the tar reader reports it. */
		return 0;
	case CB_COMPRESSION_GZIP:
		if (!gzip_finished(d)) {
			d->error = "gzip stream ends early";
			return -EBADMSG;
		}
		return 0;
	case CB_COMPRESSION_ZSTD:
		if (!d->zs_started || d->zs_hint != 0) {
			d->error = "zstd stream ends early";
			return -EBADMSG;
		}
		return 0;
	default:
		return 0;
	}
}

enum cb_compression cb_decompressor_kind(const struct cb_decompressor *d)
{
	return d->kind;
}

const char *cb_decompressor_error(const struct cb_decompressor *d)
{
	return d->error ? d->error : "corrupt data";
}
