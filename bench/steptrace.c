/* bench/steptrace OUT LO HI CMD [ARG...]: run CMD single-stepped, with the
 * processes it forks or clones followed until they exec something else,
 * and write to OUT (in hex, one per line) every instruction address in
 * [LO, HI) the first time any of them executes it. bench/make-order maps
 * them to functions for the linker (tools/cowbox.order).
 *
 * ptrace, not a sampling profiler: the layout wants every function a run
 * enters once, not the hot ones, since a function run once costs a page
 * fault (and its 64 KB window of RSS) as much as one run a million times.
 * Slow (a few microseconds per instruction); root runs it. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TASKS 1024

/* The tasks stepped: forks and clones of CMD until they exec. */
static pid_t stepped[MAX_TASKS];

static bool is_stepped(pid_t p)
{
	for (size_t i = 0; i < MAX_TASKS; i++)
		if (stepped[i] == p)
			return true;
	return false;
}

static void set_stepped(pid_t p, bool on)
{
	for (size_t i = 0; i < MAX_TASKS; i++)
		if (stepped[i] == (on ? 0 : p)) {
			stepped[i] = on ? p : 0;
			return;
		}
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: steptrace OUT LO HI CMD [ARG...]\n");
		return 2;
	}
	FILE *out = fopen(argv[1], "w");
	uintptr_t lo = strtoull(argv[2], NULL, 0), hi = strtoull(argv[3], NULL, 0);
	uint8_t *seen = hi > lo ? calloc(hi - lo, 1) : NULL;
	if (!out || !seen) {
		perror("steptrace");
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		execv(argv[4], argv + 4);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0 ||
	    ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
		       PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) < 0) {
		perror("ptrace");
		return 1;
	}
	set_stepped(pid, true);
	bool cmd_execd = false; /* CMD's own exec is stepped on through */
	long steps = 0, live = 1;
	ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL);
	int cmd_status = 0;
	while (live > 0) {
		pid_t p = waitpid(-1, &status, __WALL);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (p == pid)
				cmd_status = WIFEXITED(status) ? WEXITSTATUS(status)
							       : 128 + WTERMSIG(status);
			set_stepped(p, false);
			live--;
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status), event = status >> 16, inject = 0;
		if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK ||
		    event == PTRACE_EVENT_VFORK) {
			unsigned long child;
			ptrace(PTRACE_GETEVENTMSG, p, NULL, &child);
			set_stepped((pid_t)child, true);
			live++;
		} else if (event == PTRACE_EVENT_EXEC) {
			if (p != pid || cmd_execd)
				set_stepped(p, false); /* it runs something else now */
			cmd_execd = true;
		} else if (sig == SIGTRAP && event == 0) {
			struct user_regs_struct regs;
			if (is_stepped(p) && ptrace(PTRACE_GETREGS, p, NULL, &regs) == 0) {
				steps++;
				uintptr_t ip = regs.rip;
				if (ip >= lo && ip < hi && !seen[ip - lo]) {
					seen[ip - lo] = 1;
					fprintf(out, "%lx\n", (unsigned long)ip);
				}
			}
		} else if (sig != SIGSTOP || event != 0)
			inject = sig; /* a real signal: deliver it */
		ptrace(is_stepped(p) ? PTRACE_SINGLESTEP : PTRACE_CONT, p, NULL,
		       (void *)(intptr_t)inject);
	}
	fprintf(stderr, "steptrace: %ld instructions stepped\n", steps);
	if (fclose(out) != 0) {
		perror("steptrace: write");
		return 1;
	}
	return cmd_status;
}
