/* storage/diff: whiteout <-> .wh. names, change classification, and a
 * real upper dir over two lower dirs (whiteout, opaque dir, new file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "diff.h"
#include "fsutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static void test_whiteout_names(void **state)
{
	char out[64];
	assert_int_equal(cb_diff_whiteout_name("etc", "motd", out, sizeof(out)), 0);
	assert_string_equal(out, "etc/.wh.motd");
	assert_int_equal(cb_diff_whiteout_name("", "top", out, sizeof(out)), 0);
	assert_string_equal(out, ".wh.top");
	assert_int_equal(cb_diff_whiteout_name("opt/x", NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "opt/x/.wh..wh..opq");
	assert_int_equal(cb_diff_whiteout_name("a", "long-name", out, 8), -ENAMETOOLONG);
	assert_true(cb_diff_is_whiteout(S_IFCHR | 0, makedev(0, 0)));
	assert_false(cb_diff_is_whiteout(S_IFCHR | 0666, makedev(1, 3)));
	assert_false(cb_diff_is_whiteout(S_IFREG | 0644, 0));
}

static void test_classify(void **state)
{
	struct cb_diff_facts f = {.upper_whiteout = true, .in_lower = true};
	assert_int_equal(cb_diff_classify(&f), 'D');
	f.in_lower = false; /* a whiteout over nothing is no change */
	assert_int_equal(cb_diff_classify(&f), 0);
	f = (struct cb_diff_facts){0};
	assert_int_equal(cb_diff_classify(&f), 'A');
	f.in_lower = true;
	assert_int_equal(cb_diff_classify(&f), 'C');
	f = (struct cb_diff_facts){.upper_dir = true, .in_lower = true, .lower_dir = true};
	assert_int_equal(cb_diff_classify(&f), 0); /* copied up only as a parent */
	f.child_added_or_deleted = true;
	assert_int_equal(cb_diff_classify(&f), 'C');
	f.child_added_or_deleted = false;
	f.attrs_differ = true;
	assert_int_equal(cb_diff_classify(&f), 'C');
	f.attrs_differ = false;
	f.upper_opaque = true;
	assert_int_equal(cb_diff_classify(&f), 'C');
	f = (struct cb_diff_facts){.upper_dir = true, .in_lower = true, .lower_dir = false};
	assert_int_equal(cb_diff_classify(&f), 'C'); /* a file became a dir */
}

static void put(int dir, const char *name, const char *text)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_changes(void **state)
{
	if (geteuid() != 0)
		skip(); /* whiteouts are device nodes, trusted.* xattrs need root */
	char tmpl[] = "/tmp/cb-test-diff-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	int root = open(tmpl, O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0);
	/* lower0 (bottom): a/x, a/y, keep, dir/old; lower1: b */
	assert_int_equal(cb_mkdirat_p(root, "lower0/a", 0755), 0);
	assert_int_equal(cb_mkdirat_p(root, "lower0/dir", 0755), 0);
	assert_int_equal(cb_mkdirat_p(root, "lower1", 0755), 0);
	assert_int_equal(cb_mkdirat_p(root, "upper/a", 0755), 0);
	put(root, "lower0/a/x", "x");
	put(root, "lower0/a/y", "y");
	put(root, "lower0/keep", "k");
	put(root, "lower0/dir/old", "o");
	put(root, "lower1/b", "b");
	/* upper: a/x deleted, b changed, dir deleted and remade with new, c new */
	assert_int_equal(mknodat(root, "upper/a/x", S_IFCHR | 0, makedev(0, 0)), 0);
	put(root, "upper/b", "B");
	assert_int_equal(mkdirat(root, "upper/dir", 0755), 0);
	assert_int_equal(setxattr(strcat(strcpy((char[256]){0}, tmpl), "/upper/dir"),
				  "trusted.overlay.opaque", "y", 1, 0),
			 0);
	put(root, "upper/dir/new", "n");
	put(root, "upper/c", "c");
	int upper = openat(root, "upper", O_RDONLY | O_DIRECTORY);
	int lower[2] = {openat(root, "lower1", O_RDONLY | O_DIRECTORY),
			openat(root, "lower0", O_RDONLY | O_DIRECTORY)};
	struct cb_changes ch = {0};
	assert_int_equal(cb_diff_changes(upper, lower, 2, &ch, NULL), 0);
	static const char *want[] = {"C /a", "D /a/x", "C /b", "A /c", "C /dir", "A /dir/new",
				     "D /dir/old"};
	assert_int_equal(ch.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < ch.n; i++) {
		char line[256];
		snprintf(line, sizeof(line), "%c %s", ch.v[i].kind, ch.v[i].path);
		assert_string_equal(line, want[i]);
	}
	cb_changes_release(&ch);
	close(upper);
	close(lower[0]);
	close(lower[1]);
	cb_rm_rf_at(AT_FDCWD, tmpl);
	close(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whiteout_names),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_changes),
	};
	return cmocka_run_group_tests_name("diff", tests, NULL, NULL);
}
