#include "procs.h"
#include "macro.h"
#include "fsutil.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Is host pid in the cgroup (below each hierarchy's root, as the state
 * records it: "cowbox/<id>")? */
static bool in_cgroup(pid_t pid, const char *cgroup)
{
	char path[64], want[600];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof(want), ":/%s\n", cgroup);
	_cleanup_free_ char *text = NULL;
	return cb_read_file_at(AT_FDCWD, path, 1 << 16, &text, NULL) >= 0 && strstr(text, want);
}

static int by_value(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int cli_container_pids(pid_t first, const char *cgroup, pid_t **ret, size_t *ret_n)
{
	char path[64];
	struct stat ns, self;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)first);
	if (stat(path, &ns) < 0)
		return -errno;
	bool shared = stat("/proc/self/ns/pid", &self) == 0 && self.st_ino == ns.st_ino &&
		      self.st_dev == ns.st_dev;
	_cleanup_closedir_ DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
		if (stat(path, &st) < 0 || st.st_ino != ns.st_ino || st.st_dev != ns.st_dev)
			continue;
		if (shared && pid != first && (!cgroup || !cgroup[0] || !in_cgroup(pid, cgroup)))
			continue;
		if (n == cap) {
			pid_t *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = pid;
	}
	qsort(v, n, sizeof(*v), by_value);
	*ret = v;
	*ret_n = n;
	return 0;
}
