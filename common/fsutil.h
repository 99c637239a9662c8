/* fd-relative file helpers shared by storage/ and runtime/. All return
 * >= 0 on success and -errno on failure, and keep errno unchanged on
 * success paths that clean up. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* openat2(2) through syscall(2): glibc 2.36 has no wrapper. resolve is a
 * RESOLVE_* mask. Returns an fd or -errno. */
int cb_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* Create path and its missing parents below dirfd, never following a
 * symlink. Existing directories are fine. */
int cb_mkdirat_p(int dirfd, const char *path, mode_t mode);

/* Remove name below dirfd and everything under it, without following
 * symlinks or crossing into other mounts. A missing name is success. */
int cb_rm_rf_at(int dirfd, const char *name);

/* Remove dirfd/name, trying first the paths known to be in it, deepest
 * first ("a/b/" for a directory, "a/f" for a file; NULL-terminated): one
 * unlinkat each, which on ext4 costs less than the readdir and stat of a
 * walk; the walk (cb_rm_rf_at) takes whatever else is there. Paths are
 * resolved beneath name, never through a symlink or into another mount
 * (name itself, a link, is unlinked). 1 when it was removed, 0 when it
 * was gone already, -errno. */
int cb_rm_known_at(int dirfd, const char *name, const char *const *known);

/* The same for every entry of dirfd, at once; the count removed (not
 * those another process removed first) in *ret_removed. Goes on past a
 * failure and returns the first. */
int cb_rm_entries_at(int dirfd, const char *const *known, unsigned *ret_removed);

/* The same for every entry of a directory, a step at a time, for work
 * done while waiting: each cb_rm_steps_next removes one known path or one
 * emptied entry and returns 1; it returns 0 once every entry was tried or
 * the directory cannot be read. An entry holding more than its known
 * layout is left for cb_rm_known_at (a step never walks a tree). Another
 * process deleting the same entries is no error. dirfd is taken (closed by
 * _free). */
struct cb_rm_steps;
int cb_rm_steps_new(int dirfd, const char *const *known, struct cb_rm_steps **ret);
int cb_rm_steps_next(struct cb_rm_steps *t);
/* Before a directory of an entry's known layout, or the entry itself, is
 * removed, keep(opaque, dirfd, name, entry) may take it instead (renamed
 * elsewhere): true when it did, and that is the step. */
void cb_rm_steps_set_keep(struct cb_rm_steps *t,
			  bool (*keep)(void *opaque, int dirfd, const char *name,
				       const char *entry),
			  void *opaque);
void cb_rm_steps_free(struct cb_rm_steps *t);

/* 1 when the directory path (below dirfd, not followed if a symlink)
 * holds no entry, 0 when it holds one, -errno. One getdents64 in a small
 * buffer: no readdir stream to allocate. */
int cb_dir_is_empty_at(int dirfd, const char *path);
/* The same for a directory fd just opened (read from its offset). */
int cb_dir_is_empty(int fd);

/* Replace name below dirfd with data: write a temporary sibling, fsync it,
 * rename it over name, fsync dirfd. Readers see the old or the new file,
 * never a part. */
int cb_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len,
			    mode_t mode);
/* The same without the fsyncs: readers never see half a file, but after a
 * power cut it may be the old one or missing (for state that a reboot
 * makes meaningless anyway, as in /run). */
int cb_write_file_replace_at(int dirfd, const char *name, const void *data, size_t len,
			     mode_t mode);

/* Read all of name below dirfd (at most max bytes, else -EFBIG) into a
 * NUL-terminated buffer the caller frees. */
int cb_read_file_at(int dirfd, const char *name, size_t max, char **ret_data, size_t *ret_len);

/* Read all of fd (at most max bytes) into a NUL-terminated buffer. */
int cb_read_fd(int fd, size_t max, char **ret_data, size_t *ret_len);

/* Make sure fds 0, 1 and 2 are open (on /dev/null when the caller closed
 * one), so that nothing opened later takes a standard number: a store
 * directory on fd 1 would go wherever stdout goes (into a container). */
void cb_stdio_sanitize(void);

/* Close every fd from `from` up but those in keep (at most 16), or with
 * cloexec_only mark them close-on-exec; close_range, or one by one on
 * kernels before 5.11. -errno. */
int cb_close_fds_except(int from, const int *keep, size_t n_keep, bool cloexec_only);

/* Write value to the file dirfd/path (AT_FDCWD: a plain path) in one
 * write(2), as the kernel's files want a setting (/proc, /sys, cgroupfs):
 * -errno, or -EIO when only part of it was taken. */
int cb_write_string_at(int dirfd, const char *path, const char *value);

/* Write all of buf to fd, retrying short writes and EINTR. */
int cb_write_all(int fd, const void *buf, size_t len);

/* Fill buf with 2*nbytes lowercase hex characters of randomness plus NUL. */
int cb_random_hex(char *buf, size_t nbytes);

/* Bytes used on disk by everything below dirfd/name (st_blocks * 512),
 * each inode counted once; does not cross mounts. */
int cb_disk_usage_at(int dirfd, const char *name, uint64_t *ret_bytes);

/* Field n (1-based, as proc(5) numbers them; 3 or more) of the text of a
 * /proc/PID/stat, as a number; 0 when absent. */
uint64_t cb_proc_stat_field(const char *stat, int field);

/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t cb_now_ns(void);

/* execvp(3), without its failed execve for every PATH entry before the
 * right one (each costs the kernel a new mm before the lookup fails):
 * the first executable regular file along $PATH is found with stat and
 * access and run; anything else (not found, a failed exec, a name with a
 * '/') is left to execvp itself, so its rules hold. Returns only on
 * failure, as execvp. */
int cb_execvp(const char *file, char *const argv[]);
