/* common/fsutil.c's fd helpers: closing (or marking close-on-exec) every
 * fd from a number up but those kept, and the standard fds made sure. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_close_fds_except),
	    cmocka_unit_test(test_stdio_sanitize),
	};
	int failed = cmocka_run_group_tests_name("fsutil", tests, NULL, NULL);
	fprintf(stderr, "%zu passed, %d failed\n", ELEMENTS(tests) - (size_t)failed, failed);
	return failed ? 1 : 0;
}
