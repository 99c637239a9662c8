#!/bin/bash
# Proves: `cowbox run --rootfs DIR` runs a command in a plain directory and
# returns its status (0, 3), 127 when the command is not found, 126 when it
# is not executable, 128+N when pid 1 (--init) reports a signal death; -e,
# --env-file, -w and --hostname reach the process; a failed setup step is one
# `cowbox: run: ...` line with exit 125; nothing (cgroup, mount) is left
# behind and the rootfs directory is not changed; --log-level debug prints
# the phases of the start.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp"
cp /bin/busybox "$ROOT/bin/" || skip "needs /bin/busybox (busybox-static)"
for a in sh echo cat env pwd hostname ls id; do ln -s busybox "$ROOT/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT/etc/passwd"
echo 'root:x:0:' >"$ROOT/etc/group"
touch "$ROOT/etc/hostname" "$ROOT/etc/hosts" "$ROOT/etc/resolv.conf"
before=$(cd "$ROOT" && find . -printf '%p %s %T@\n' | sort | md5sum)

ok run --rootfs "$ROOT" echo hello
[ "$out" = hello ] || fail "echo: got '$out'"

cb run --rootfs "$ROOT" sh -c 'exit 3'
[ "$rc" = 3 ] || fail "exit 3: got $rc"

cb run --rootfs "$ROOT" /no/such/command
[ "$rc" = 127 ] || fail "not found: got $rc ($err)"
echo "$err" | grep -q '^cowbox: run: exec /no/such/command: No such file or directory$' ||
	fail "not found message: $err"

cb run --rootfs "$ROOT" /etc/passwd
[ "$rc" = 126 ] || fail "not executable: got $rc ($err)"

cb run --rootfs "$ROOT" --init sh -c 'kill -TERM $$; sleep 1'
[ "$rc" = 143 ] || fail "signal TERM under --init: got $rc"

echo 'FROMFILE=yes
# a comment

SECOND=2' >"$TESTTMP/env"
ok run --rootfs "$ROOT" -e A=1 -e B=two --env-file "$TESTTMP/env" -w /tmp --hostname box1 \
	sh -c 'echo "$A $B $FROMFILE $SECOND $(pwd) $(hostname) $HOSTNAME $HOME"; cat /etc/hostname'
[ "$out" = "1 two yes 2 /tmp box1 box1 /root
box1" ] || fail "env/workdir/hostname: got '$out'"

# --log-level debug shows where the time went, each step after the clone.
cb --log-level debug run --rootfs "$ROOT" echo
[ "$rc" = 0 ] || fail "debug run: $rc $err"
echo "$err" | grep -Eq 'ms since start: cgroup [0-9.-]+, cloned [0-9.]+, child [0-9.]+, mounts [0-9.]+, exec [0-9.]+, exec seen [0-9.]+, exited [0-9.]+, cleaned [0-9.]+$' ||
	fail "no phase line: $err"

refuse '^cowbox: run: bind rootfs /nonexistent-rootfs: No such file or directory$' \
	run --rootfs /nonexistent-rootfs true
refuse 'unknown capability' run --rootfs "$ROOT" --cap-add NOPE true
refuse 'expected a size' run --rootfs "$ROOT" --memory 12q true
refuse 'no command' run --rootfs "$ROOT"

after=$(cd "$ROOT" && find . -printf '%p %s %T@\n' | sort | md5sum)
[ "$before" = "$after" ] || fail "the rootfs directory changed"
! grep -q " $ROOT" /proc/self/mountinfo || fail "a mount of the rootfs is left on the host"
for d in /sys/fs/cgroup/memory/cowbox /sys/fs/cgroup/pids/cowbox /sys/fs/cgroup/cowbox /sys/fs/cgroup/unified/cowbox; do
	[ -d "$d" ] || continue
	left=$(find "$d" -mindepth 1 -maxdepth 1 -type d | wc -l)
	[ "$left" = 0 ] || say "note: $left cgroups under $d (other runs may be active)"
done
# -w to a missing directory makes it, as docker does.
ok run --rootfs "$ROOT" -w /tmp/newdir pwd
[ "$out" = /tmp/newdir ] || fail "-w missing dir: $out"
say "exit codes, env, workdir, hostname, errors: ok"
