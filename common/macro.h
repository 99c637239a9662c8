/* Small macros shared by every module: cleanup attributes, ownership
 * transfer, and errno-preserving helpers (systemd and crun style). */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)	 __attribute__((cleanup(f)))
#define _unused_	 __attribute__((unused))
#define _printf_(a, b)	 __attribute__((format(printf, a, b)))
#define _likely_(x)	 __builtin_expect(!!(x), 1)
#define _unlikely_(x)	 __builtin_expect(!!(x), 0)
#define ELEMENTSOF(x)	 (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))

/* Hand ownership of a pointer or fd over, leaving the source empty so its
 * cleanup attribute does nothing. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p_ = (p);                                                           \
		(p) = NULL;                                                                        \
		_p_;                                                                               \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd_ = (fd);                                                                   \
		(fd) = -1;                                                                         \
		_fd_;                                                                              \
	})

/* Cleanup helpers keep errno, so `return -errno` after a cleanup is safe. */
static inline void freep(void *p)
{
	int saved = errno;
	free(*(void **)p);
	errno = saved;
}
/* Close *fd if open and mark it closed, so closing twice is harmless. */
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
		*fd = -1;
	}
}
static inline void fclosep(FILE **f)
{
	if (*f) {
		int saved = errno;
		fclose(*f);
		errno = saved;
	}
}
static inline void closedirp(DIR **d)
{
	if (*d) {
		int saved = errno;
		closedir(*d);
		errno = saved;
	}
}
static inline void strv_free(char **v)
{
	if (!v)
		return;
	for (char **s = v; *s; s++)
		free(*s);
	free(v);
}
/* The number of strings before a NULL-terminated list's NULL (0 for NULL). */
static inline size_t strv_length(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}
static inline void strv_freep(char ***v)
{
	int saved = errno;
	strv_free(*v);
	errno = saved;
}

#define _cleanup_free_	   _cleanup_(freep)
#define _cleanup_close_	   _cleanup_(closep)
#define _cleanup_fclose_   _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_strv_	   _cleanup_(strv_freep)

/* r = RET_NERRNO(unlink(p)): turn a libc -1/errno return into -errno. */
#define RET_NERRNO(expr)                                                                           \
	({                                                                                         \
		long _r_ = (long)(expr);                                                           \
		_r_ < 0 ? -errno : (int)_r_;                                                       \
	})

static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}
