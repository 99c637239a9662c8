/* How a child that is setting up a container (run or exec) talks back to
 * cowbox before it execs, over a SOCK_SEQPACKET socketpair: one report
 * per message, a failed step ('E', with the exit code and the one line the
 * user reads) or a pty master ('P', its fd in SCM_RIGHTS). EOF means the
 * child exec'd: its end is close-on-exec. */
#pragma once

#include "error.h"

struct cb_report {
	char kind;     /* 'E' error, 'P' pty */
	int exit_code; /* 125, 126 or 127 */
	int code;      /* errno */
	char msg[512];
};

/* Report err (or strerror of its code) and _exit(exit_code). */
_Noreturn void cb_report_fail(int sock, int exit_code, const struct cb_error *err);
/* Send fd as a 'P' report. */
int cb_report_send_fd(int sock, int fd);
