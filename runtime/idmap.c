#include "idmap.h"
#include "fsutil.h"
#include "macro.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int cb_idmap_write(pid_t pid, const char *file, const struct cb_idmap *map, size_t n)
{
	char path[64], buf[CB_IDMAP_MAX * 40] = "";
	size_t len = 0;
	for (size_t i = 0; i < n && i < CB_IDMAP_MAX; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", map[i].inside,
					map[i].outside, map[i].count);
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return cb_write_string_at(AT_FDCWD, path, buf);
}

int64_t cb_idmap_to_host(const struct cb_idmap *map, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (id >= map[i].inside && id - map[i].inside < map[i].count)
			return (int64_t)map[i].outside + (id - map[i].inside);
	return -1;
}

int64_t cb_idmap_to_inside(const struct cb_idmap *map, size_t n, uint32_t host_id)
{
	for (size_t i = 0; i < n; i++)
		if (host_id >= map[i].outside && host_id - map[i].outside < map[i].count)
			return (int64_t)map[i].inside + (host_id - map[i].outside);
	return -1;
}

size_t cb_idmap_parse_proc(const char *text, struct cb_idmap *map)
{
	size_t n = 0;
	for (const char *p = text; p && *p && n < CB_IDMAP_MAX;) {
		struct cb_idmap m;
		if (sscanf(p, "%u %u %u", &m.inside, &m.outside, &m.count) == 3 && m.count > 0)
			map[n++] = m;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

size_t cb_idmap_read(pid_t pid, const char *file, struct cb_idmap *map)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	_cleanup_free_ char *text = NULL;
	if (cb_read_file_at(AT_FDCWD, path, 1 << 16, &text, NULL) < 0)
		return 0;
	size_t n = cb_idmap_parse_proc(text, map);
	/* The host's own namespace: "0 0 4294967295". */
	if (n == 1 && map[0].inside == 0 && map[0].outside == 0 && map[0].count == UINT32_MAX)
		n = 0;
	return n;
}

int cb_userns_open(const struct cb_idmap *uidmap, size_t n_uid, const struct cb_idmap *gidmap,
		   size_t n_gid, struct cb_error *err)
{
	if (!gidmap) {
		gidmap = uidmap;
		n_gid = n_uid;
	}
	/* ready: the child has its namespace; hold: it lives until we close. */
	int ready[2], hold[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return cb_error_errno(err, errno, "pipe");
	if (pipe2(hold, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return cb_error_errno(err, errno, "pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int r = cb_error_errno(err, errno, "fork");
		close(ready[0]);
		close(ready[1]);
		close(hold[0]);
		close(hold[1]);
		return r;
	}
	if (pid == 0) {
		char c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
		(void)!write(ready[1], &c, 1);
		close(hold[1]);
		(void)!read(hold[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	char c = 'n';
	ssize_t got;
	do
		got = read(ready[0], &c, 1);
	while (got < 0 && errno == EINTR);
	close(ready[0]);
	int r = 0, fd = -1;
	char path[64];
	if (got != 1 || c != 'y')
		r = cb_error_set(err, EPERM, "make a user namespace for the idmapped rootfs");
	else if ((r = cb_idmap_write(pid, "uid_map", uidmap, n_uid)) < 0 ||
		 (r = cb_idmap_write(pid, "gid_map", gidmap, n_gid)) < 0)
		r = cb_error_errno(err, -r, "write the id maps of the idmapped rootfs");
	else {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = cb_error_errno(err, errno, "open %s", path);
	}
	close(hold[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? r : fd;
}
