/* The request loop of cowbox-fuse: see loop.h. */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the kernel's request header and the bits of fuse_open_in we look at
 * (linux/fuse.h; not included to stay clear of libfuse's own names) */
struct in_header {
	uint32_t len, opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen, padding;
};
struct open_in {
	uint32_t flags, open_flags;
};
enum {
	OP_OPEN = 14,
	OP_READ = 15,
	OP_WRITE = 16,
	OP_FSYNC = 20,
	OP_FSYNCDIR = 30,
	OP_FALLOCATE = 43,
	OP_LSEEK = 46,
	OP_COPY_FILE_RANGE = 47,
};

struct loop {
	struct fuse_session *se;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool have_leader;
	bool done;
	int error;
	unsigned threads, idle, max_threads;
	pthread_t *tids;
};

/* Reads and writes are worth another thread only when they are slow
 * here (a disk, not the page cache or tmpfs): a hand-over costs a thread
 * wake-up, as much as a 128 KiB read from memory. So each kind keeps a
 * running mean of its service time, and is handed over while that mean
 * is above handover_ns. A read that blocks unexpectedly delays the
 * requests behind it once; the mean then moves. */
enum { KIND_NONE = -1, KIND_READ, KIND_WRITE, N_KINDS };
static uint64_t mean_ns[N_KINDS];
/* reads gain from a second thread (read-ahead keeps two in flight);
 * writes to the page cache take ~0.2-0.5 ms per MiB and gain less than a
 * wake-up costs */
static uint64_t handover_ns[N_KINDS] = {250000, 1000000};
static bool (*open_is_quick)(uint64_t nodeid, uint32_t flags, void *data);
static void *open_is_quick_data;

static int kind_of(const struct fuse_buf *buf)
{
	if (buf->flags & FUSE_BUF_IS_FD)
		return KIND_WRITE; /* a large write left in the splice pipe */
	if (buf->size < sizeof(struct in_header))
		return KIND_NONE;
	const struct in_header *h = buf->mem;
	return h->opcode == OP_READ ? KIND_READ : h->opcode == OP_WRITE ? KIND_WRITE : KIND_NONE;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static void account(int kind, uint64_t ns)
{
	uint64_t m = __atomic_load_n(&mean_ns[kind], __ATOMIC_RELAXED);
	__atomic_store_n(&mean_ns[kind], m - m / 8 + ns / 8, __ATOMIC_RELAXED);
}

/* Requests that may block long enough to be worth another thread. */
static bool is_slow(const struct fuse_buf *buf, int kind)
{
	if (kind != KIND_NONE)
		return __atomic_load_n(&mean_ns[kind], __ATOMIC_RELAXED) > handover_ns[kind];
	if (buf->size < sizeof(struct in_header))
		return false;
	const struct in_header *h = buf->mem;
	switch (h->opcode) {
	case OP_FSYNC:
	case OP_FSYNCDIR:
	case OP_FALLOCATE:
	case OP_LSEEK:
	case OP_COPY_FILE_RANGE:
		return true;
	case OP_OPEN: { /* opening for writing may copy a whole file up */
		if (buf->size < sizeof(struct in_header) + sizeof(struct open_in))
			return true;
		const struct open_in *o = (const void *)((const char *)buf->mem + sizeof(*h));
		if ((o->flags & O_ACCMODE) == O_RDONLY && !(o->flags & O_TRUNC))
			return false;
		return !open_is_quick || !open_is_quick(h->nodeid, o->flags, open_is_quick_data);
	}
	default:
		return false;
	}
}

static void *worker(void *arg);

/* lock held: make sure someone will read next */
static void hand_over(struct loop *l)
{
	l->have_leader = false;
	if (l->idle > 0) {
		pthread_cond_signal(&l->wake);
		return;
	}
	if (l->threads < l->max_threads) {
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		/* the default stack (8 MiB, only touched pages count): copy-up
		 * recurses through parent dirs with PATH_MAX buffers */
		if (pthread_create(&t, &attr, worker, l) == 0) {
			l->tids[l->threads++] = t;
		}
		pthread_attr_destroy(&attr);
	}
	/* at the limit: the next thread to finish becomes the leader */
}

static void *worker(void *arg)
{
	struct loop *l = arg;
	struct fuse_buf buf = {0};
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);

	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (l->have_leader && !l->done) {
			l->idle++;
			pthread_cond_wait(&l->wake, &l->lock);
			l->idle--;
		}
		if (l->done)
			break;
		l->have_leader = true;
		pthread_mutex_unlock(&l->lock);

		bool leading = true;
		while (leading) {
			int r = fuse_session_receive_buf(l->se, &buf);
			if (r == -EINTR || r == -EAGAIN)
				continue;
			if (r <= 0 || fuse_session_exited(l->se)) {
				pthread_mutex_lock(&l->lock);
				if (r < 0 && r != -ENODEV && !l->error)
					l->error = r;
				l->done = true;
				pthread_cond_broadcast(&l->wake);
				pthread_mutex_unlock(&l->lock);
				free(buf.mem);
				return NULL;
			}
			int kind = kind_of(&buf);
			if (is_slow(&buf, kind)) {
				pthread_mutex_lock(&l->lock);
				hand_over(l);
				pthread_mutex_unlock(&l->lock);
				leading = false;
			}
			uint64_t t0 = kind != KIND_NONE ? now_ns() : 0;
			fuse_session_process_buf(l->se, &buf);
			if (kind != KIND_NONE)
				account(kind, now_ns() - t0);
		}
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	free(buf.mem);
	return NULL;
}

int cbf_loop_run(struct fuse_session *se, unsigned max_threads, unsigned handover_us,
		 bool (*quick_open)(uint64_t nodeid, uint32_t flags, void *data), void *data)
{
	open_is_quick = quick_open;
	open_is_quick_data = data;
	if (handover_us)
		handover_ns[KIND_READ] = handover_ns[KIND_WRITE] = (uint64_t)handover_us * 1000;
	struct loop l = {.se = se, .max_threads = max_threads ? max_threads : 1};
	pthread_mutex_init(&l.lock, NULL);
	pthread_cond_init(&l.wake, NULL);
	l.tids = calloc(l.max_threads, sizeof(*l.tids));
	if (!l.tids)
		return -ENOMEM;

	/* signals reach only this thread, which ends the session */
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	signal(SIGPIPE, SIG_IGN);

	pthread_mutex_lock(&l.lock);
	hand_over(&l);
	pthread_mutex_unlock(&l.lock);

	for (;;) {
		struct timespec ts = {.tv_nsec = 200 * 1000 * 1000};
		int sig = sigtimedwait(&sigs, NULL, &ts);
		pthread_mutex_lock(&l.lock);
		bool done = l.done;
		pthread_mutex_unlock(&l.lock);
		if (done)
			break;
		if (sig > 0) {
			/* unmounting makes every blocked read return ENODEV */
			fuse_session_exit(se);
			fuse_session_unmount(se);
		}
	}
	/* the leader saw the end; followers wake and leave; a thread still in
	 * an operation finishes it first */
	pthread_mutex_lock(&l.lock);
	unsigned n = l.threads;
	pthread_mutex_unlock(&l.lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(l.tids[i], NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(l.tids);
	return l.error;
}
