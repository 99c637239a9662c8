/* common/fsutil.c's fd helpers: closing (or marking close-on-exec) every
 * fd from a number up but those kept, and the standard fds made sure; and
 * cb_execvp's search of $PATH, which must find what execvp finds. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"

#define ELEMENTS(x) (sizeof(x) / sizeof((x)[0]))

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static bool is_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	return fl >= 0 && (fl & FD_CLOEXEC);
}

static void test_close_fds_except(void **state)
{
	(void)state;
	/* Ten fds at 100-109 (above whatever cmocka holds). */
	int base = 100;
	for (int i = 0; i < 10; i++)
		assert_int_equal(dup2(STDERR_FILENO, base + i), base + i);
	int keep[] = {base + 7, base + 2, base + 2, -1, 3};
	assert_int_equal(cb_close_fds_except(base + 1, keep, ELEMENTS(keep), true), 0);
	assert_false(is_cloexec(base));
	for (int i = 1; i < 10; i++)
		assert_true(is_cloexec(base + i) == (i != 2 && i != 7));
	assert_int_equal(cb_close_fds_except(base + 1, keep, ELEMENTS(keep), false), 0);
	assert_true(is_open(base) && is_open(base + 2) && is_open(base + 7));
	for (int i = 1; i < 10; i++)
		if (i != 2 && i != 7)
			assert_false(is_open(base + i));
	assert_int_equal(cb_close_fds_except(base, NULL, 0, false), 0);
	assert_false(is_open(base) || is_open(base + 2) || is_open(base + 7));
	int too_many[17] = {0};
	assert_int_equal(cb_close_fds_except(base, too_many, ELEMENTS(too_many), false), -E2BIG);
}

static void test_stdio_sanitize(void **state)
{
	(void)state;
	int saved = dup(STDOUT_FILENO);
	close(STDOUT_FILENO);
	cb_stdio_sanitize();
	assert_true(is_open(STDOUT_FILENO));
	char link[64] = "";
	ssize_t n = readlink("/proc/self/fd/1", link, sizeof(link) - 1);
	assert_true(n > 0);
	assert_string_equal(link, "/dev/null");
	dup2(saved, STDOUT_FILENO);
	close(saved);
}

/* Run cb_execvp(argv[0], argv) with PATH in a child: its exit status, or
 * 200 + errno when cb_execvp returned. */
static int exec_status(const char *path, char *const argv[])
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("PATH", path, 1);
		cb_execvp(argv[0], argv);
		_exit(200 + errno);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_execvp(void **state)
{
	(void)state;
	char dir[] = "/tmp/cb-test-execvp-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char a[128], b[128], path[512];
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	char f[160];
	/* Not executable in a, a directory of that name in b: both passed
	 * over for the one in the third entry. */
	snprintf(f, sizeof(f), "%s/cbt-cmd", a);
	write_file(f, "#!/bin/sh\nexit 3\n", 0644);
	snprintf(f, sizeof(f), "%s/cbt-cmd", b);
	assert_int_equal(mkdir(f, 0755), 0);
	char c[128];
	snprintf(c, sizeof(c), "%s/c", dir);
	assert_int_equal(mkdir(c, 0755), 0);
	snprintf(f, sizeof(f), "%s/cbt-cmd", c);
	write_file(f, "#!/bin/sh\nexit \"$1\"\n", 0755);
	snprintf(path, sizeof(path), "/nonexistent:%s:%s:%s", a, b, c);
	char *const cmd[] = {"cbt-cmd", "7", NULL};
	assert_int_equal(exec_status(path, cmd), 7);
	/* A script without #! runs under /bin/sh, as execvp does. */
	snprintf(f, sizeof(f), "%s/cbt-plain", c);
	write_file(f, "exit 5\n", 0755);
	char *const plain[] = {"cbt-plain", NULL};
	assert_int_equal(exec_status(path, plain), 5);
	/* Found nowhere: ENOENT; only found not executable: EACCES. */
	char *const none[] = {"cbt-none", NULL};
	assert_int_equal(exec_status(path, none), 200 + ENOENT);
	snprintf(path, sizeof(path), "%s", a);
	assert_int_equal(exec_status(path, cmd), 200 + EACCES);
	/* A name with a '/' is not searched for. */
	char *const direct[] = {f, NULL};
	assert_int_equal(exec_status("/nonexistent", direct), 5);
	char rm[256];
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	assert_int_equal(system(rm), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_close_fds_except),
	    cmocka_unit_test(test_stdio_sanitize),
	    cmocka_unit_test(test_execvp),
	};
	int failed = cmocka_run_group_tests_name("fsutil", tests, NULL, NULL);
	fprintf(stderr, "%zu passed, %d failed\n", ELEMENTS(tests) - (size_t)failed, failed);
	return failed ? 1 : 0;
}
