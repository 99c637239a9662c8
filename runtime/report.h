/* How a child that is setting up a container (run or exec) talks back to
 * cowbox before it execs, over a SOCK_SEQPACKET socketpair: one report
 * per message, a failed step ('E', with the exit code and the one line the
 * user reads) or a pty master ('P', its fd in SCM_RIGHTS). EOF means the
 * child exec'd: its end is close-on-exec. */
#pragma once

#include "error.h"

struct cb_report {
	char kind;     /* 'E' error, 'P' pty, 'R' rootfs (to the child) */
	int exit_code; /* 125, 126 or 127 */
	int code;      /* errno */
	char msg[512];
};

/* Report err (or strerror of its code) and _exit(exit_code). */
_Noreturn void cb_report_fail(int sock, int exit_code, const struct cb_error *err);
/* Read one report into *rep: 1, with the fd it carried in *ret_fd (else
 * -1); 0 at EOF (the child exec'd); -errno (-EIO: a short one). */
int cb_report_recv(int sock, struct cb_report *rep, int *ret_fd);
/* Send fd as a report of this kind ('P', 'R'). */
int cb_report_send_fd(int sock, char kind, int fd);
/* Receive one report with an fd of this kind: the fd, or -errno
 * (-EPROTO for another kind or no fd, -ECONNRESET at EOF). */
int cb_report_recv_fd(int sock, char kind);
