/* --userns auto: a user namespace whose 65536 host IDs no other running
 * container has (podman's --userns=auto, without its chown of the image).
 * The pool is the "containers" entry of /etc/subuid and /etc/subgid, as
 * podman reads it, else 1,000,000,000 + 1024 ranges of 65536 (inside the
 * range systemd leaves to containers, above any login user's). Range n is
 * held by an flock on RUNDIR/userns/<n>: the kernel drops it when the last
 * process with the fd is gone, so a killed cowbox frees its range and no
 * record can go stale. */
#include "run-options.h"
#include "fsutil.h"
#include "macro.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define RANGE 65536u
#define DEFAULT_START 1000000000u
#define DEFAULT_RANGES 1024u

/* The first "containers:START:COUNT" line of file: 0, or -ENOENT. */
static int read_pool(const char *file, uint32_t *start, uint32_t *count)
{
	_cleanup_fclose_ FILE *f = fopen(file, "re");
	if (!f)
		return -ENOENT;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, c;
		char user[64];
		if (sscanf(line, "%63[^:]:%lu:%lu", user, &s, &c) == 3 &&
		    strcmp(user, "containers") == 0 && c >= RANGE && s + c <= UINT32_MAX) {
			*start = (uint32_t)s;
			*count = (uint32_t)c;
			return 0;
		}
	}
	return -ENOENT;
}

/* Hold range i for o: 1 when taken, 0 when another container holds it. */
static int take_range(struct cb_run_options *o, int dfd, uint32_t i, uint32_t ustart,
		      uint32_t gstart, struct cb_error *err)
{
	char name[16];
	snprintf(name, sizeof(name), "%" PRIu32, i);
	int fd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cb_error_errno(err, errno, "--userns auto: range %s", name);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return 0; /* a running container holds it */
		return cb_error_errno(err, e, "--userns auto: lock range %s", name);
	}
	o->userns_lock = fd;
	o->userns_locked = true;
	o->userns_range = (int)i;
	o->spec.uidmap[0] = (struct cb_idmap){.inside = 0, .outside = ustart + i * RANGE, .count = RANGE};
	o->spec.gidmap[0] = (struct cb_idmap){.inside = 0, .outside = gstart + i * RANGE, .count = RANGE};
	o->spec.n_uidmap = o->spec.n_gidmap = 1;
	return 1;
}

static int pick_range(struct cb_run_options *o, int prefer, struct cb_error *err)
{
	if (!o->userns_auto || o->userns_locked)
		return 0;
	uint32_t ustart = DEFAULT_START, ucount = RANGE * DEFAULT_RANGES;
	uint32_t gstart = DEFAULT_START, gcount = RANGE * DEFAULT_RANGES;
	bool have_u = read_pool("/etc/subuid", &ustart, &ucount) == 0;
	bool have_g = read_pool("/etc/subgid", &gstart, &gcount) == 0;
	if (have_u != have_g)
		return cb_error_set(err, EINVAL,
				    "--userns auto: /etc/%s has a \"containers\" entry but /etc/%s "
				    "has none",
				    have_u ? "subuid" : "subgid", have_u ? "subgid" : "subuid");
	uint32_t n = MIN(ucount, gcount) / RANGE;

	/* The host's ID ranges are one pool whatever --runroot says: their
	 * locks stay in the default run directory. */
	_cleanup_free_ char *base = NULL, *dir = NULL;
	if (cb_state_default_dir(&base) < 0 || asprintf(&dir, "%s/userns", base) < 0)
		return -ENOMEM;
	int r = cb_mkdirat_p(AT_FDCWD, dir, 0700);
	if (r < 0)
		return cb_error_errno(err, -r, "--userns auto: %s", dir);
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cb_error_errno(err, errno, "--userns auto: %s", dir);
	if (prefer >= 0 && (uint32_t)prefer < n &&
	    (r = take_range(o, dfd, (uint32_t)prefer, ustart, gstart, err)) != 0)
		return r < 0 ? r : 0;
	for (uint32_t i = 0; i < n; i++)
		if ((r = take_range(o, dfd, i, ustart, gstart, err)) != 0)
			return r < 0 ? r : 0;
	return cb_error_set(err, EAGAIN,
			    "--userns auto: all %" PRIu32 " ranges of %u IDs are in use", n, RANGE);
}

int cli_userns_auto(struct cb_run_options *o, struct cb_error *err)
{
	return pick_range(o, -1, err);
}

int cli_userns_auto_for(struct cb_run_options *o, const char *id, struct cb_error *err)
{
	int prefer = -1;
	_cleanup_close_ int dirfd = -1;
	if (o->userns_auto && cb_state_open(id, false, &dirfd) >= 0) {
		char buf[16] = {0};
		_cleanup_close_ int fd = openat(dirfd, "userns", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0)
			prefer = atoi(buf);
	}
	return pick_range(o, prefer, err);
}

void cli_userns_remember(const struct cb_run_options *o, const char *id)
{
	if (!o->userns_locked)
		return;
	_cleanup_close_ int dirfd = -1;
	if (cb_state_open(id, true, &dirfd) < 0)
		return;
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d\n", o->userns_range);
	(void)cb_write_file_replace_at(dirfd, "userns", buf, (size_t)n, 0600);
}
