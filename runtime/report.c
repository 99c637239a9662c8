#include "report.h"
#include "fsutil.h"
#include "macro.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

_Noreturn void cb_report_fail(int sock, int exit_code, const struct cb_error *err)
{
	struct cb_report rep = {
	    .kind = 'E', .exit_code = exit_code, .code = err->code ? err->code : EIO};
	snprintf(rep.msg, sizeof(rep.msg), "%s", err->msg[0] ? err->msg : strerror(rep.code));
	(void)!write(sock, &rep, sizeof(rep));
	_exit(exit_code);
}

int cb_report_send_fds(int sock, char kind, const int *fds, size_t n)
{
	if (n > CB_REPORT_MAX_FDS)
		return -EINVAL;
	struct cb_report rep = {.kind = kind};
	char cbuf[CMSG_SPACE(sizeof(int) * CB_REPORT_MAX_FDS)] = {0};
	struct iovec iov = {.iov_base = &rep, .iov_len = sizeof(rep)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (n > 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int cb_report_send_fd(int sock, char kind, int fd)
{
	return cb_report_send_fds(sock, kind, &fd, 1);
}

int cb_report_recv_fds(int sock, char kind, int *fds, size_t max, size_t *ret_n)
{
	struct cb_report rep;
	char cbuf[CMSG_SPACE(sizeof(int) * CB_REPORT_MAX_FDS)];
	struct iovec iov = {.iov_base = &rep, .iov_len = sizeof(rep)};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	*ret_n = 0;
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	size_t got = 0;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		got = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	int *in = cm ? (int *)CMSG_DATA(cm) : NULL;
	if ((size_t)n != sizeof(rep) || rep.kind != kind || got > max ||
	    (mh.msg_flags & MSG_CTRUNC)) {
		for (size_t i = 0; i < got; i++)
			close(in[i]);
		return -EPROTO;
	}
	memcpy(fds, in, got * sizeof(int));
	*ret_n = got;
	return 0;
}

int cb_report_recv_fd(int sock, char kind)
{
	int fd;
	size_t n;
	int r = cb_report_recv_fds(sock, kind, &fd, 1, &n);
	if (r < 0)
		return r;
	return n == 1 ? fd : -EPROTO;
}

/* A process this small goes in the message itself; a larger one (an
 * environment may outgrow a socket's buffer) in a memfd sent with it. */
#define PROCESS_INLINE_MAX (32 << 10)

int cb_report_send_process(int sock, const struct cb_spawn_spec *spec,
			   const struct cb_process *ahead)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r = cb_process_pack(spec, ahead, &buf, &len);
	if (r < 0)
		return r;
	if (len <= PROCESS_INLINE_MAX) {
		struct cb_report rep = {.kind = 'A'};
		struct iovec iov[2] = {{.iov_base = &rep, .iov_len = sizeof(rep)},
				       {.iov_base = buf, .iov_len = len}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = ELEMENTSOF(iov)};
		if (sendmsg(sock, &mh, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EMSGSIZE)
			return -errno;
		/* A socket buffer set smaller than that (net.core.wmem_default). */
	}
	_cleanup_close_ int fd = memfd_create("cowbox-process", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((r = cb_write_all(fd, buf, len)) < 0)
		return r;
	/* The child reads the same open file, from where it is. */
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	return cb_report_send_fd(sock, 'A', fd);
}

int cb_report_recv_process(int sock, char **ret_buf, struct cb_process *ret)
{
	struct cb_report rep;
	_cleanup_free_ char *buf = malloc(PROCESS_INLINE_MAX);
	if (!buf)
		return -ENOMEM;
	struct iovec iov[2] = {{.iov_base = &rep, .iov_len = sizeof(rep)},
			       {.iov_base = buf, .iov_len = PROCESS_INLINE_MAX}};
	_cleanup_close_ int fd = -1;
	int flags = 0;
	ssize_t n = cb_report_recvmsg(sock, iov, ELEMENTSOF(iov), &fd, &flags);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n < sizeof(rep) || rep.kind != 'A' || (flags & MSG_TRUNC))
		return -EPROTO;
	size_t len = (size_t)n - sizeof(rep);
	int r;
	if (fd >= 0) {
		if (len)
			return -EPROTO;
		free(TAKE_PTR(buf));
		if ((r = cb_read_fd(fd, (size_t)16 << 20, &buf, &len)) < 0)
			return r;
	}
	if ((r = cb_process_unpack(buf, len, ret)) < 0)
		return r;
	*ret_buf = TAKE_PTR(buf);
	return 0;
}
