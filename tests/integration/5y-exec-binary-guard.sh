#!/bin/bash
# Proves: a container cannot get a writable handle on cowbox's binary
# through `cowbox exec` (CVE-2019-5736, runc's): the container makes the
# command exec'd into it a script whose interpreter is /proc/self/exe, so
# the go-between's exec runs cowbox's own binary in the container, where a
# process of the container's (here a small watcher) opens it through
# /proc/PID/exe and, once no cowbox runs that file, reopens the handle
# for writing. cowbox exec runs from a read-only bind of its binary
# (cli_reexec_readonly): the reopen gives EROFS. The binary is a copy, so
# the supervisor of the container (the other copy) does not keep it busy.
# The container is --privileged: otherwise a second guard stops the watcher
# sooner, Landlock (the device ban), whose domains may not ptrace-read one
# another (/proc/PID/exe), and the go-between's is not the watcher's; a
# kernel without Landlock has only the read-only binary.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
need gcc readelf
# A dynamically linked cowbox (the ASan build) cannot run in a busybox
# container at all (no loader there), so the container cannot make it run.
readelf -l "$COWBOX" | grep -q 'program interpreter' &&
	skip "a dynamically linked cowbox cannot run inside the busybox container"
mkdir -p "$TESTTMP/tools" "$TESTTMP/victim"
cat >"$TESTTMP/tools/watch.c" <<'C'
/* In the container: wait for a process named "evil" (the script, run
 * by cowbox's binary as its interpreter), keep its binary open, tell
 * (/tools/out/got), then on /tools/out/go try to reopen it for writing
 * and tell how that went (/tools/out/result). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void say(const char *file, const char *what)
{
	FILE *f = fopen(file, "w");
	if (f) { fputs(what, f); fclose(f); }
}
int main(void)
{
	int held = -1;
	for (long spin = 0; held < 0 && spin < 20000000; spin++) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && held < 0 && (e = readdir(d))) {
			char p[64], comm[32] = "";
			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			snprintf(p, sizeof(p), "/proc/%s/comm", e->d_name);
			int c = open(p, O_RDONLY);
			if (c < 0)
				continue;
			ssize_t n = read(c, comm, sizeof(comm) - 1);
			close(c);
			if (n < 4 || strncmp(comm, "evil", 4) != 0)
				continue;
			snprintf(p, sizeof(p), "/proc/%s/exe", e->d_name);
			held = open(p, O_PATH);
		}
		if (d)
			closedir(d);
	}
	if (held < 0) {
		say("/tools/out/result", "never-held");
		return 1;
	}
	say("/tools/out/got", "got");
	while (access("/tools/out/go", F_OK) != 0)
		usleep(10000);
	char p[64], r[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", held);
	int w = open(p, O_WRONLY);
	snprintf(r, sizeof(r), "%s", w >= 0 ? "writable" : strerror(errno));
	say("/tools/out/result", r);
	return 0;
}
C
gcc -static -O2 -o "$TESTTMP/tools/watch" "$TESTTMP/tools/watch.c" 2>"$TESTTMP/gcc.err" ||
	fail "cannot build the static watcher: $(cat "$TESTTMP/gcc.err")"
mkdir -p "$TESTTMP/tools/out"
cp "$COWBOX" "$TESTTMP/victim/cowbox"
victim=$TESTTMP/victim/cowbox
ok import "$FIXTURES/busybox-gzip.oci" bb
n=$(uniq_name)
ok run -d --name "$n" --privileged -v "$TESTTMP/tools:/tools" bb sh -c \
	'printf "#!/proc/self/exe\n" >/evil && chmod +x /evil && exec /tools/watch'
# exec the script until the watcher caught cowbox's binary running it
for i in $(seq 1 50); do
	set +e
	"$victim" exec "$n" /evil >/dev/null 2>&1
	set -e
	[ -e "$TESTTMP/tools/out/got" ] && break
done
[ -e "$TESTTMP/tools/out/got" ] || fail "the watcher never caught the binary in 50 tries"
# No cowbox runs the copy now: only a read-only mount can stop the write.
touch "$TESTTMP/tools/out/go"
for i in $(seq 1 100); do [ -e "$TESTTMP/tools/out/result" ] && break; sleep 0.05; done
result=$(cat "$TESTTMP/tools/out/result" 2>/dev/null || echo none)
[ "$result" = "Read-only file system" ] ||
	fail "a container held cowbox's binary and reopening it for writing gave: $result"
cmp -s "$COWBOX" "$victim" || fail "cowbox's binary changed"
ok rm -f "$n"
say "exec: the container's handle on cowbox's binary cannot be reopened for writing (EROFS)"
