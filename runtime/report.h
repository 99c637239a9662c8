/* How a child that is setting up a container (run or exec) talks back to
 * cowbox before it execs, over a SOCK_SEQPACKET socketpair: one report
 * per message, a failed step ('E', with the exit code and the one line the
 * user reads) or a pty master ('P', its fd in SCM_RIGHTS). EOF means the
 * child exec'd: its end is close-on-exec. */
#pragma once

#include "error.h"
#include "spec.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct cb_report {
	char kind;     /* 'E' error, 'P' pty, 'T' phases, 'W' ready for the rootfs; to the child:
			  'R' rootfs, 'A' its process, 'G' cgroup */
	int exit_code; /* 125, 126 or 127 */
	int code;      /* errno */
	char msg[512];
};

/* Report err (or strerror of its code) and _exit(exit_code). */
_Noreturn void cb_report_fail(int sock, int exit_code, const struct cb_error *err);
/* Send fd as a report of this kind ('P', 'R'). */
int cb_report_send_fd(int sock, char kind, int fd);
/* Receive one report with an fd of this kind: the fd, or -errno
 * (-EPROTO for another kind or no fd, -ECONNRESET at EOF). */
int cb_report_recv_fd(int sock, char kind);

/* The same with up to CB_REPORT_MAX_FDS fds in one report ('G': the
 * cgroup v1 `tasks` files to join, none or more). recv fills fds and
 * *ret_n, and takes -EPROTO for more than max, another kind or a short
 * report (closing what came). */
#define CB_REPORT_MAX_FDS 8
int cb_report_send_fds(int sock, char kind, const int *fds, size_t n);
int cb_report_recv_fds(int sock, char kind, int *fds, size_t max, size_t *ret_n);

/* Send spec's process (cb_process_pack) as an 'A' report: in the
 * message, or a memfd that holds it when large. 0 or -errno. */
int cb_report_send_process(int sock, const struct cb_spawn_spec *spec,
			   const struct cb_process *ahead);
/* Receive it into *ret, pointing into *ret_buf (free both after). 0, or
 * -errno as cb_report_recv_fd; -EINVAL for junk. */
int cb_report_recv_process(int sock, char **ret_buf, struct cb_process *ret);

/* recvmsg into iov, retried on EINTR: the bytes read (0 at EOF) or
 * -errno, the fd an SCM_RIGHTS carried in *ret_fd (else -1), the
 * message's flags (MSG_TRUNC) in *ret_flags. */
static inline ssize_t cb_report_recvmsg(int sock, struct iovec *iov, size_t n_iov, int *ret_fd,
					int *ret_flags)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = {.msg_iov = iov,
			    .msg_iovlen = n_iov,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	*ret_fd = -1;
	*ret_flags = 0;
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
	*ret_flags = mh.msg_flags;
	return n;
}

/* Read one report into *rep: 1, with the fd it carried in *ret_fd (else
 * -1); 0 at EOF (the child exec'd); -errno (-EIO: a short one). Inline:
 * the launcher's wait for its child then touches no other object's pages
 * (each one costs a 64 KB fault-around window of peak RSS). */
static inline int cb_report_recv(int sock, struct cb_report *rep, int *ret_fd)
{
	struct iovec iov = {.iov_base = rep, .iov_len = sizeof(*rep)};
	int flags = 0;
	ssize_t n = cb_report_recvmsg(sock, &iov, 1, ret_fd, &flags);
	if (n <= 0)
		return (int)n;
	if ((size_t)n < sizeof(*rep)) {
		if (*ret_fd >= 0)
			close(*ret_fd);
		*ret_fd = -1;
		return -EIO;
	}
	rep->msg[sizeof(rep->msg) - 1] = '\0';
	return 1;
}
