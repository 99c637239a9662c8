/* storage/copy.c: the tree copy behind `cowbox cp`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "copy.h"

static char top[256];

static void put(const char *rel, const char *text, mode_t mode)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
}

static void dir(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	assert_int_equal(mkdir(p, 0750), 0);
}

static void lnk(const char *target, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *rel)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return lstat(p, &st) == 0;
}

static void read_back(const char *rel, char *buf, size_t size)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
}

static int open_dir(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/cowbox-copy-test.XXXXXX");
	assert_non_null(mkdtemp(top));
	dir("src");
	dir("src/sub");
	put("src/sub/file", "hello\n", 0640);
	put("src/exec", "#!/bin/sh\n", 0755);
	lnk("/etc/passwd", "src/abs-link");
	lnk("../../outside", "src/sub/rel-link");
	char p[512];
	snprintf(p, sizeof(p), "%s/src/fifo", top);
	assert_int_equal(mkfifo(p, 0600), 0);
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	snprintf(p, sizeof(p), "%s/src/sub/file", top);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	dir("dst");
	dir("outside");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static struct cb_copy_opts as_me(void)
{
	return (struct cb_copy_opts){.uid = getuid(), .gid = getgid()};
}

/* A directory with all below it: contents, modes, times; links copied
 * as links, never followed. */
static void test_copy_dir(void **state)
{
	(void)state;
	int s = open_dir("."), d = open_dir("dst");
	struct cb_copy_opts o = as_me();
	assert_int_equal(cb_copy_tree(s, "src", d, "copy", &o, NULL), 0);
	char buf[64];
	read_back("dst/copy/sub/file", buf, sizeof(buf));
	assert_string_equal(buf, "hello\n");
	struct stat st;
	char p[512];
	snprintf(p, sizeof(p), "%s/dst/copy/sub/file", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	snprintf(p, sizeof(p), "%s/dst/copy/sub", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	snprintf(p, sizeof(p), "%s/dst/copy/exec", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	char target[256];
	snprintf(p, sizeof(p), "%s/dst/copy/abs-link", top);
	ssize_t n = readlink(p, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "/etc/passwd");
	snprintf(p, sizeof(p), "%s/dst/copy/fifo", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	close(s);
	close(d);
}

/* A symlink where a directory goes is replaced, not followed: nothing
 * lands where it pointed. "." merges a directory's contents. */
static void test_no_follow_at_destination(void **state)
{
	(void)state;
	char p[512];
	snprintf(p, sizeof(p), "%s/outside", top);
	lnk(p, "dst/sub");
	int s = open_dir("src"), d = open_dir("dst");
	struct cb_copy_opts o = as_me();
	assert_int_equal(cb_copy_tree(s, ".", d, ".", &o, NULL), 0);
	assert_false(exists("outside/file"));
	assert_true(exists("dst/sub/file"));
	struct stat st;
	snprintf(p, sizeof(p), "%s/dst/sub", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* A file there is replaced by the file copied. */
	put("dst/exec", "old", 0600);
	assert_int_equal(cb_copy_tree(s, "exec", d, "exec", &o, NULL), 0);
	char buf[64];
	read_back("dst/exec", buf, sizeof(buf));
	assert_string_equal(buf, "#!/bin/sh\n");
	close(s);
	close(d);
}

/* follow_top follows only the top: -L. */
static void test_follow_top(void **state)
{
	(void)state;
	lnk("sub", "src/to-sub");
	int s = open_dir("src"), d = open_dir("dst");
	struct cb_copy_opts o = as_me();
	assert_int_equal(cb_copy_tree(s, "to-sub", d, "as-link", &o, NULL), 0);
	struct stat st;
	char p[512];
	snprintf(p, sizeof(p), "%s/dst/as-link", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	o.follow_top = true;
	assert_int_equal(cb_copy_tree(s, "to-sub", d, "followed", &o, NULL), 0);
	snprintf(p, sizeof(p), "%s/dst/followed", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(p, sizeof(p), "%s/dst/followed/rel-link", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode)); /* below the top: still a link */
	close(s);
	close(d);
}

/* A top the caller opened (O_PATH): what it is, never a path again. */
static void test_opened_top(void **state)
{
	(void)state;
	char p[512];
	int d = open_dir("dst");
	struct cb_copy_opts o = as_me();
	const char *tops[] = {"src/sub/file", "src/sub", "src/fifo"};
	const char *names[] = {"f", "dir", "fifo"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", top, tops[i]);
		int fd = open(p, O_PATH | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(cb_copy_tree(fd, NULL, d, names[i], &o, NULL), 0);
		close(fd);
	}
	char buf[64];
	read_back("dst/f", buf, sizeof(buf));
	assert_string_equal(buf, "hello\n");
	read_back("dst/dir/file", buf, sizeof(buf));
	assert_string_equal(buf, "hello\n");
	struct stat st;
	snprintf(p, sizeof(p), "%s/dst/fifo", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	close(d);
}

static int64_t plus_1000(void *opaque, uint32_t id)
{
	(void)opaque;
	return id == 7 ? -1 : (int64_t)id + 1000;
}

/* Owners: given, or the source's through a map (unmapped: 65534). */
static void test_owners(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char p[512];
	snprintf(p, sizeof(p), "%s/src/sub/file", top);
	assert_int_equal(lchown(p, 5, 7), 0);
	int s = open_dir("src"), d = open_dir("dst");
	struct cb_copy_opts o = {.uid = 42, .gid = 43};
	assert_int_equal(cb_copy_tree(s, "sub", d, "given", &o, NULL), 0);
	struct stat st;
	snprintf(p, sizeof(p), "%s/dst/given/file", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 42);
	assert_int_equal(st.st_gid, 43);
	/* drop_setid: a set-uid file comes out without it. */
	snprintf(p, sizeof(p), "%s/src/exec", top);
	assert_int_equal(chmod(p, 04755), 0);
	o.drop_setid = true;
	assert_int_equal(cb_copy_tree(s, "exec", d, "exec", &o, NULL), 0);
	snprintf(p, sizeof(p), "%s/dst/exec", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	o = (struct cb_copy_opts){.keep_ids = true, .map_uid = plus_1000, .map_gid = plus_1000};
	assert_int_equal(cb_copy_tree(s, "sub", d, "mapped", &o, NULL), 0);
	snprintf(p, sizeof(p), "%s/dst/mapped/file", top);
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, 1005);
	assert_int_equal(st.st_gid, 65534);
	close(s);
	close(d);
}

/* Device nodes are refused (no device cgroup guards them where they
 * land), and nothing is removed at the destination first. */
static void test_no_devices(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	char p[512];
	snprintf(p, sizeof(p), "%s/src/null", top);
	assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
	put("dst/null", "kept", 0600);
	int s = open_dir("src"), d = open_dir("dst");
	struct cb_copy_opts o = as_me();
	struct cb_error err = {0};
	assert_int_equal(cb_copy_tree(s, "null", d, "null", &o, &err), -EPERM);
	assert_non_null(strstr(err.msg, "a device node"));
	char buf[16];
	read_back("dst/null", buf, sizeof(buf));
	assert_string_equal(buf, "kept");
	/* In a tree: the copy stops there. */
	err = (struct cb_error){0};
	assert_int_equal(cb_copy_tree(s, ".", d, "tree", &o, &err), -EPERM);
	close(s);
	close(d);
}

static void test_errors(void **state)
{
	(void)state;
	int s = open_dir("src"), d = open_dir("dst");
	struct cb_copy_opts o = as_me();
	struct cb_error err = {0};
	assert_int_equal(cb_copy_tree(s, "missing", d, "x", &o, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "stat"));
	close(s);
	close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_copy_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_follow_at_destination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_follow_top, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_opened_top, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owners, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_devices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests_name("copy", tests, NULL, NULL);
}
