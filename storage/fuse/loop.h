/* The request loop of cowbox-fuse: multithreaded, leader/follower. One
 * thread at a time reads /dev/fuse (the leader). Quick metadata requests
 * it answers itself and reads on, so a serial client (tar, find, a shell)
 * always talks to one hot thread; before a request that can block for
 * long (fsync, an open that copies a big file up, and reads and writes
 * while they are slow here) it hands the reading over to an idle thread (or
 * starts one, up to max_threads), so slow requests run in parallel. libfuse's fuse_session_loop_mt
 * instead hands every request to the thread that waited longest, and on a small VM that costs up to
 * 2x on metadata-heavy work (see docs/fuse.md).
 *
 * Returns 0 when the session ends (unmount, or SIGTERM/SIGINT/SIGHUP,
 * after which the caller unmounts), -errno on a read error. */
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

/* handover_us: service time above which reads and writes go to another
 * thread (0: the defaults, 250 us for reads, 1 ms for writes). quick_open (may be NULL) says
 * whether an open for writing of nodeid will be quick (no big copy-up); it runs on the reading
 * thread, with no lock held. */
int cbf_loop_run(struct fuse_session *se, unsigned max_threads, unsigned handover_us,
		 bool (*quick_open)(uint64_t nodeid, uint32_t flags, void *data), void *data);
