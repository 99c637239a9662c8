#!/bin/bash
# Proves: 20 concurrent runs of the same rootfs all succeed with their own
# status, and leave no cgroup or mount behind.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp"
cp /bin/busybox "$ROOT/bin/" || skip "needs /bin/busybox (busybox-static)"
for a in $("$ROOT/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOT/bin/$a"; done
printf "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n" >"$ROOT/etc/passwd"
printf "root:x:0:\napp:x:1000:\n" >"$ROOT/etc/group"
P=$(uniq_name)
pids=""
for i in $(seq 20); do
	"$COWBOX" run --rootfs "$ROOT" --cgroup-parent "$P" --memory 64m sh -c "echo $i; exit $((i % 7))" >"$TESTTMP/o$i" 2>&1 &
	pids="$pids $!"
done
i=0
for p in $pids; do
	i=$((i + 1))
	set +e; wait $p; rc=$?; set -e
	[ "$rc" = $((i % 7)) ] && [ "$(cat "$TESTTMP/o$i")" = $i ] || fail "run $i: rc $rc, $(cat "$TESTTMP/o$i")"
done
for d in /sys/fs/cgroup/memory/$P /sys/fs/cgroup/pids/$P /sys/fs/cgroup/$P /sys/fs/cgroup/unified/$P; do
	[ -d "$d" ] || continue
	[ "$(find "$d" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 0 ] || fail "cgroups left in $d"
	rmdir "$d"
done
! grep -q "$ROOT" /proc/self/mountinfo || fail "mounts left"
say "20 concurrent runs: ok"
