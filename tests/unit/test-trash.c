/* storage/trash.c: deleting what removals put in ROOT/trash, all at once
 * or a step at a time (common/fsutil.c's cb_rm_steps), and
 * cb_dir_is_empty_at; storage/spare.c: the directories of a recycled
 * entry kept as spares, and taken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fsutil.h"
#include "spare.h"
#include "store.h"
#include "trash.h"

static char top[256];
static struct cb_store *store;

static void path_of(char *p, size_t n, const char *rel)
{
	snprintf(p, n, "%s/store/%s", top, rel);
}

static void dir(const char *rel)
{
	char p[512];
	path_of(p, sizeof(p), rel);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void file(const char *rel)
{
	char p[512];
	path_of(p, sizeof(p), rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{}", 2), 2);
	close(fd);
}

static bool exists(const char *rel)
{
	char p[512];
	struct stat st;
	path_of(p, sizeof(p), rel);
	return lstat(p, &st) == 0;
}

/* What a run --rm that wrote nothing leaves: the container's directory. */
static void ran_container(const char *rel)
{
	char sub[256];
	dir(rel);
	static const char *const dirs[] = {"upper", "work", "work/work", "work/work/incompat",
					   "work/work/incompat/volatile"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(sub, sizeof(sub), "%s/%s", rel, dirs[i]);
		dir(sub);
	}
	snprintf(sub, sizeof(sub), "%s/work/work/incompat/volatile/dirty", rel);
	file(sub);
	snprintf(sub, sizeof(sub), "%s/container.json", rel);
	file(sub);
}

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/cowbox-test-trash.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	char root[300];
	snprintf(root, sizeof(root), "%s/store", top);
	struct cb_error err = {0};
	return cb_store_open(root, &store, &err);
}

static int teardown(void **state)
{
	(void)state;
	cb_store_free(store);
	store = NULL;
	return cb_rm_rf_at(AT_FDCWD, top);
}

static void test_put_and_delete(void **state)
{
	(void)state;
	assert_true(exists("trash")); /* a new store has it */
	ran_container("containers/c1");
	assert_int_equal(cb_trash_put(store, "containers/c1", "n1", false), 0);
	assert_false(exists("containers/c1"));
	assert_true(exists("trash/n1/work/work/incompat/volatile/dirty"));
	assert_int_equal(cb_trash_delete_dir(store, "trash/n1"), 0);
	assert_false(exists("trash/n1"));
	/* Already gone (another command deleted it): no error. */
	assert_int_equal(cb_trash_delete_dir(store, "trash/n1"), 0);
	/* Nothing to put: the error of the rename. */
	assert_int_equal(cb_trash_put(store, "containers/none", "n2", false), -ENOENT);
}

/* Links in an entry, or an entry that is a link, are removed, never
 * followed: not even for the known layout's inner paths. */
static void test_no_follow(void **state)
{
	(void)state;
	ran_container("victim");
	char target[512], link[512];
	path_of(target, sizeof(target), "victim");
	path_of(link, sizeof(link), "trash/evil");
	assert_int_equal(symlink(target, link), 0);
	dir("trash/inner");
	path_of(target, sizeof(target), "victim/work");
	path_of(link, sizeof(link), "trash/inner/work");
	assert_int_equal(symlink(target, link), 0);
	struct cb_rm_steps *t = NULL;
	assert_int_equal(cb_trash_steps(store, &t), 0);
	while (cb_rm_steps_next(t) > 0)
		;
	cb_rm_steps_free(t);
	assert_false(exists("trash/evil"));
	assert_true(exists("victim/container.json"));
	assert_true(exists("victim/work/work/incompat/volatile/dirty"));
	/* inner's link to victim/work: not followed, and inner is then not
	 * empty: left for the walk. */
	assert_true(exists("trash/inner/work"));
	unsigned n = 0;
	assert_int_equal(cb_trash_empty(store, &n), 0);
	assert_int_equal(n, 1);
	assert_false(exists("trash/inner"));
	assert_true(exists("victim/work/work/incompat/volatile/dirty"));
	assert_true(exists("victim/upper"));
}

static void test_put_makes_trash(void **state)
{
	(void)state;
	dir("containers/c2");
	assert_int_equal(rmdir(strcat(strcpy((char[512]){0}, top), "/store/trash")), 0);
	char name[33];
	assert_int_equal(cb_trash_put(store, "containers/c2", name, false), 0);
	assert_true(exists("trash"));
	assert_false(exists("containers/c2"));
}

/* Each step removes at most one thing; an entry with more than the
 * known layout is not walked by a step (it is left for cb_trash_empty). */
static void test_steps(void **state)
{
	(void)state;
	ran_container("trash/a");
	ran_container("trash/b");
	dir("trash/odd");
	dir("trash/odd/deep");
	dir("trash/odd/deep/er");
	file("trash/odd/deep/er/f");
	dir("keep");
	file("keep/file");
	char target[512];
	path_of(target, sizeof(target), "keep");
	char link[512];
	path_of(link, sizeof(link), "trash/odd/deep/link");
	assert_int_equal(symlink(target, link), 0);

	struct cb_rm_steps *t = NULL;
	assert_int_equal(cb_trash_steps(store, &t), 0);
	assert_non_null(t);
	unsigned steps = 0;
	int r;
	while ((r = cb_rm_steps_next(t)) == 1)
		steps++;
	assert_int_equal(r, 0);
	/* Two containers of 8 entries each (by name, one per step, the
	 * directory itself the last) and one step for the odd entry, which
	 * a step does not walk: cb_trash_empty does. */
	assert_int_equal(steps, 2 * 8 + 1);
	assert_false(exists("trash/a"));
	assert_false(exists("trash/b"));
	assert_true(exists("trash/odd/deep/er/f"));
	assert_int_equal(cb_rm_steps_next(t), 0); /* done stays done */
	cb_rm_steps_free(t);
	unsigned n = 0;
	assert_int_equal(cb_trash_empty(store, &n), 0);
	assert_int_equal(n, 1);
	char p[512];
	path_of(p, sizeof(p), "trash");
	assert_int_equal(cb_dir_is_empty_at(AT_FDCWD, p), 1);
	assert_true(exists("keep/file"));
}

static void test_empty(void **state)
{
	(void)state;
	ran_container("trash/x");
	dir("trash/y");
	unsigned n = 0;
	assert_int_equal(cb_trash_empty(store, &n), 0);
	assert_int_equal(n, 2);
	assert_false(exists("trash/x"));
	assert_false(exists("trash/y"));
	/* No trash directory at all: nothing to do. */
	char p[512];
	path_of(p, sizeof(p), "trash");
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(cb_trash_empty(store, &n), 0);
	assert_int_equal(n, 0);
	struct cb_rm_steps *t = NULL;
	assert_int_equal(cb_trash_steps(store, &t), 0);
	assert_null(t);
	cb_rm_steps_free(t);
}

static void test_dir_is_empty(void **state)
{
	(void)state;
	char p[512];
	dir("e");
	path_of(p, sizeof(p), "e");
	assert_int_equal(cb_dir_is_empty_at(AT_FDCWD, p), 1);
	file("e/.hidden");
	assert_int_equal(cb_dir_is_empty_at(AT_FDCWD, p), 0);
	path_of(p, sizeof(p), "e/.hidden");
	assert_int_equal(cb_dir_is_empty_at(AT_FDCWD, p), -ENOTDIR);
	path_of(p, sizeof(p), "missing");
	assert_int_equal(cb_dir_is_empty_at(AT_FDCWD, p), -ENOENT);
	/* A symlink to a directory is not followed. */
	char link[512], target[512];
	path_of(target, sizeof(target), "e");
	path_of(link, sizeof(link), "elink");
	assert_int_equal(symlink(target, link), 0);
	assert_true(cb_dir_is_empty_at(AT_FDCWD, link) < 0);
}

/* The entries of ROOT/<rel>, each checked to be an empty directory
 * without extended attributes (what a spare is). */
static unsigned empty_dirs_in(const char *rel)
{
	char p[512];
	path_of(p, sizeof(p), rel);
	DIR *d = opendir(p);
	assert_non_null(d);
	unsigned n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char sub[600];
		snprintf(sub, sizeof(sub), "%s/%s", p, de->d_name);
		assert_int_equal(cb_dir_is_empty_at(AT_FDCWD, sub), 1);
		assert_int_equal(listxattr(sub, NULL, 0), 0);
		n++;
	}
	closedir(d);
	return n;
}

/* Spares are off on a store in memory (spare.h): skip there. */
static void need_disk(void)
{
	char p[512];
	struct statfs sf;
	path_of(p, sizeof(p), "");
	if (statfs(p, &sf) == 0 && (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC))
		skip();
}

static void run_steps(void)
{
	struct cb_rm_steps *t = NULL;
	assert_int_equal(cb_trash_steps(store, &t), 0);
	while (cb_rm_steps_next(t) > 0)
		;
	cb_rm_steps_free(t);
}

/* A container put to be recycled becomes six spares (its directory,
 * upper, work and overlayfs's three); its files are deleted. One put
 * plainly is deleted whole. */
static void test_recycle(void **state)
{
	(void)state;
	need_disk();
	assert_true(exists("spare")); /* a new store has it */
	ran_container("containers/r");
	assert_int_equal(cb_trash_put(store, "containers/r", "n", true), 0);
	assert_true(exists("trash/r-n"));
	ran_container("containers/p");
	assert_int_equal(cb_trash_put(store, "containers/p", "m", false), 0);
	run_steps();
	assert_false(exists("trash/r-n"));
	assert_false(exists("trash/m"));
	assert_int_equal(empty_dirs_in("spare"), 6);
	assert_int_equal(empty_dirs_in("trash"), 0);
}

/* What is not kept: a directory not empty, not root's, with an extended
 * attribute of its own (overlayfs's are removed), or past the limit. */
static void test_keep_rules(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* chown and trusted.* need root */
	need_disk();
	char p[512];
	int root;
	path_of(p, sizeof(p), "");
	root = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	dir("full");
	file("full/f");
	assert_int_equal(cb_spare_keep(store, root, "full"), 0);
	assert_true(exists("full/f"));
	dir("theirs");
	assert_int_equal(fchownat(root, "theirs", 1000, 1000, 0), 0);
	assert_int_equal(cb_spare_keep(store, root, "theirs"), 0);
	assert_true(exists("theirs"));
	dir("ovl");
	path_of(p, sizeof(p), "ovl");
	assert_int_equal(setxattr(p, "trusted.overlay.uuid", "0123456789abcdef", 16, 0), 0);
	assert_int_equal(cb_spare_keep(store, root, "ovl"), 1);
	assert_false(exists("ovl"));
	assert_int_equal(empty_dirs_in("spare"), 1);
	dir("acl");
	path_of(p, sizeof(p), "acl");
	if (setxattr(p, "user.mine", "1", 1, 0) == 0) {
		assert_int_equal(cb_spare_keep(store, root, "acl"), 0);
		assert_true(exists("acl"));
	}
	assert_int_equal(cb_spare_keep(store, root, "missing"), 0);
	for (unsigned i = 1; i < CB_SPARE_MAX; i++) {
		char name[32];
		snprintf(name, sizeof(name), "d%u", i);
		dir(name);
		assert_int_equal(cb_spare_keep(store, root, name), 1);
	}
	dir("one-more");
	assert_int_equal(cb_spare_keep(store, root, "one-more"), 0);
	assert_true(exists("one-more"));
	assert_int_equal(empty_dirs_in("spare"), CB_SPARE_MAX); /* no xattr left either */
	unsigned n = 0;
	assert_int_equal(cb_spare_empty(store, &n), 0);
	assert_int_equal(n, CB_SPARE_MAX);
	close(root);
}

/* Taking: none gives 0; one comes empty, with the mode asked; a spare
 * that holds something after all is deleted, never used. */
static void test_take(void **state)
{
	(void)state;
	need_disk();
	char p[512];
	path_of(p, sizeof(p), "");
	int root = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	assert_int_equal(cb_spare_take(store, root, "x", 0750, true), 0);
	assert_false(exists("x"));
	dir("k");
	assert_int_equal(cb_spare_keep(store, root, "k"), 1);
	dir("y");
	assert_int_equal(cb_spare_take(store, root, "y", 0750, true), -EEXIST); /* name taken */
	assert_int_equal(cb_spare_take(store, root, "x", 0750, true), 1);
	struct stat st;
	path_of(p, sizeof(p), "x");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(cb_dir_is_empty_at(AT_FDCWD, p), 1);
	assert_int_equal(cb_spare_take(store, root, "z", 0700, true), 0);
	dir("spare/junk");
	file("spare/junk/f");
	assert_int_equal(cb_spare_take(store, root, "z", 0700, true), 0);
	assert_false(exists("z"));
	assert_false(exists("spare/junk"));
	close(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_put_and_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_follow, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_makes_trash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_steps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_is_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keep_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_take, setup, teardown),
	};
	return cmocka_run_group_tests_name("trash", tests, NULL, NULL);
}
