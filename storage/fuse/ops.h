/* The FUSE low-level operations of cowbox-fuse: each request is turned
 * into calls on the overlay model (fs.h) under the tree lock, and data is
 * forwarded on per-handle backing fds (zero-copy with splice where the
 * kernel allows it). */
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdbool.h>

#include "fs.h"

struct cbf_options {
	double timeout;	  /* entry/attr cache seconds; the view changes only through us */
	bool writeback;	  /* kernel writeback cache */
	bool splice;	  /* splice replies (zero-copy reads) */
	bool splice_read; /* splice requests in (zero-copy writes) */
	bool passthrough; /* FUSE passthrough when libfuse and the kernel have it */
	unsigned max_write;
	bool no_sync; /* volatile: fsync is a no-op (a --rm container) */
};

struct cbf_ctx {
	struct cbf_fs fs;
	struct cbf_options opt;
	bool passthrough_on; /* negotiated in init */
};

/* For the request loop: will an open of nodeid with flags be quick? No
 * when it copies up a file of 1 MiB or more (or of unknown size). */
bool cbf_open_is_quick(uint64_t nodeid, uint32_t flags, void *ctx);

/* The operations table; the session's userdata must be a struct cbf_ctx. */
extern const struct fuse_lowlevel_ops cbf_ops;
