#!/bin/bash
# Proves, on whichever cgroup version this machine uses for memory and pids
# (v1 here; pure v2 in 5v-run-cgroup-v2.sh through cbvm): each container
# gets its own cgroup under --cgroup-parent, with the limits written;
# a memory hog dies at --memory with exit 137 and the line
# "cowbox: container <id> killed: out of memory"; a fork bomb stops at
# --pids-limit; --cpus throttles (cpu.stat nr_throttled grows);
# --cpuset-cpus pins; the cgroup is removed when the container ends, and
# one left by a killed cowbox by a later run; --no-cgroup runs in the
# caller's cgroup.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
busybox_rootfs "$ROOT"
P=$(uniq_name)
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then V=2; CG=/sys/fs/cgroup
elif grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then V=2; CG=/sys/fs/cgroup/unified
elif [ -d /sys/fs/cgroup/memory ]; then V=1
else skip "no cgroup hierarchy with memory"; fi
say "cgroup v$V"
dir() { # dir CONTROLLER: the parent directory in that controller
	if [ $V = 2 ]; then echo "$CG/$P"; else echo "/sys/fs/cgroup/$1/$P"; fi
}
cleanup() { rm_cgroup_dirs $(for c in memory pids cpu cpuset; do dir $c; done); }
on_exit cleanup
# wait_for FILE: until a container's cgroup file shows up (or 5 s)
wait_for() { for i in $(seq 100); do f=$(ls $1 2>/dev/null | head -1); [ -n "$f" ] && { echo "$f"; return 0; }; sleep 0.05; done; return 1; }

# Memory: a hog dies at its limit.
printf 'x=aaaaaaaaaaaaaaaa; while :; do x="$x$x"; done\n' >"$ROOT/hog.sh"
cb run --rootfs "$ROOT" --cgroup-parent "$P" --memory 32m sh /hog.sh
[ "$rc" = 137 ] || fail "memory hog: exit $rc, want 137 ($err)"
echo "$err" | grep -Eq '^cowbox: container [0-9a-f]{64} killed: out of memory$' || fail "no OOM line: $err"

# The limit is written where the kernel reads it (polled: the directory
# shows up before its limits are written).
# wait_value GLOB VALUE: until a container's file GLOB reads VALUE (or 10 s)
wait_value() { for i in $(seq 200); do for f in $1; do [ "$(cat "$f" 2>/dev/null)" = "$2" ] && return 0; done; sleep 0.05; done; return 1; }
"$COWBOX" run --rootfs "$ROOT" --cgroup-parent "$P" --memory 48m --pids-limit 10 sleep 3 &
bg=$!
if [ $V = 2 ]; then mem="$(dir memory)/*/memory.max"; else mem="$(dir memory)/*/memory.limit_in_bytes"; fi
wait_value "$mem" $((48*1024*1024)) || fail "memory limit: $(cat $mem 2>&1)"
wait_value "$(dir pids)/*/pids.max" 10 || fail "pids.max: $(cat $(dir pids)/*/pids.max 2>&1)"
wait $bg || fail "sleep in a cgroup failed"

# Pids: a fork bomb stops at the limit.
"$COWBOX" run --rootfs "$ROOT" --cgroup-parent "$P" --pids-limit 12 sh -c 'sh -c "for i in \$(seq 40); do sleep 3 & done" 2>/dev/null; exec sleep 3' &
bg=$!
cur=$(wait_for "$(dir pids)/*/pids.current")
sleep 1
n=$(cat "$cur"); ev=$(cat "${cur%/*}/pids.events" 2>/dev/null | awk '/max/{print $2}')
wait $bg || true
[ "$n" -le 12 ] && [ "$n" -ge 10 ] || fail "pids.current $n with a limit of 12"
[ "${ev:-1}" -gt 0 ] || fail "pids.events shows no refused fork"

# CPU: a quota of 0.2 CPU throttles a busy loop.
"$COWBOX" run --rootfs "$ROOT" --cgroup-parent "$P" --cpus 0.2 --init timeout 2 sh -c 'while :; do :; done' &
bg=$!
st=$(wait_for "$(dir cpu)/*/cpu.stat")
sleep 1.2
thr=$(awk '/nr_throttled/{print $2}' "$st")
wait $bg || true
[ "${thr:-0}" -gt 0 ] || fail "no throttling with --cpus 0.2 (nr_throttled=$thr)"

ok run --rootfs "$ROOT" --cgroup-parent "$P" --cpuset-cpus 0 grep Cpus_allowed_list /proc/self/status
echo "$out" | grep -Eq ':\s+0$' || fail "--cpuset-cpus 0: $out"

# Gone afterwards.
left=$(find "$(dir memory)" "$(dir pids)" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
[ "$left" = 0 ] || fail "$left container cgroups left behind"

# A cowbox killed with SIGKILL leaves its cgroup (its container dies with it,
# PR_SET_PDEATHSIG); a later run removes it once it is a minute old.
# killed_run_cgroup: such a cgroup, made two hours old, in $d.
killed_run_cgroup() {
	"$COWBOX" run --rootfs "$ROOT" --cgroup-parent "$P" sleep 30 & # not a function: $! is cowbox
	local bg=$! i
	d=$(wait_for "$(dir memory)/*/cgroup.procs") || fail "no cgroup for the killed run"
	d=${d%/cgroup.procs}
	kill -KILL $bg
	wait $bg 2>/dev/null || true
	for i in $(seq 100); do [ -z "$(cat "$d/cgroup.procs")" ] && break; sleep 0.05; done
	[ -d "$d" ] || fail "expected the killed run's cgroup to remain"
	touch -d '2 hours ago' "$d"
}
killed_run_cgroup
ok run --rootfs "$ROOT" --cgroup-parent "$P" true
[ ! -d "$d" ] || fail "a killed run's cgroup was not pruned"
# So does a run of an image, once its container has ended.
killed_run_cgroup
ok import "$FIXTURES/busybox-gzip.oci" cg-base
ok run --rm --cgroup-parent "$P" cg-base true
[ ! -d "$d" ] || fail "a run of an image did not prune a killed run's cgroup"

# --no-cgroup stays in the caller's cgroup.
ok run --rootfs "$ROOT" --no-cgroup --no-ns cgroup cat /proc/self/cgroup
mine=$(grep -E '^[0-9]+:(memory)?:' /proc/self/cgroup | sort | head -1)
echo "$out" | grep -qxF "$mine" || fail "--no-cgroup moved the process: $out vs $mine"
say "cgroup v$V: ok"
