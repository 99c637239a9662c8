#!/bin/bash
# Proves: a supervisor killed with SIGKILL takes its container with it
# (PR_SET_PDEATHSIG), and the next command (`ps`) sees the state is stale
# (its lock is free), reports the container exited (137) and cleans up:
# no process, no mount, no cgroup left; a --rm one is removed. Then 10
# concurrent `run -d` all start, all show as running, and one `stop` of
# all of them leaves every one exited with no mount or cgroup left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb
n=$(uniq_name)

for v in keep rm; do
	extra=""; [ $v = rm ] && extra=--rm
	ok run -d $extra --name "$n-$v" bb sleep 100
	id=$out; lc_track "$id"
	sup=$(state_of "$id" supervisor)
	pid=$(state_of "$id" pid)
	[ -d "/proc/$sup" ] && [ -d "/proc/$pid" ] || fail "supervisor $sup or container $pid not running"
	[ -n "$(cgroup_dirs "$id")" ] || fail "no cgroup"
	kill -9 "$sup"
	until_true 5 eval '[ ! -d /proc/$pid ] || grep -q "^State:.*Z" /proc/$pid/status' ||
		fail "the container outlived its killed supervisor"
	ok ps -a
	if [ $v = keep ]; then
		echo "$out" | grep "^${id:0:12} " | grep -q "Exited (137)" || fail "ps after kill -9: $out"
		[ "$(state_of "$id")" = exited ] || fail "state not repaired: $(cat "/run/cowbox/$id/state")"
	else
		echo "$out" | grep -q "^${id:0:12} " && fail "--rm container still listed: $out"
	fi
	mounted "$id" && fail "$v: rootfs still mounted"
	[ -z "$(cgroup_dirs "$id")" ] || fail "$v: cgroup left: $(cgroup_dirs "$id")"
done
ok rm "$n-keep"

# 10 at once.
pids=""
for i in $(seq 10); do
	"$COWBOX" run -d --name "$n-c$i" bb sleep 100 >"$TESTTMP/c$i.out" 2>"$TESTTMP/c$i.err" &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a concurrent run -d failed: $(cat "$TESTTMP"/c*.err)"; done
for i in $(seq 10); do lc_track "$(cat "$TESTTMP/c$i.out")"; done
ok ps -q
[ "$(echo "$out" | wc -l)" = 10 ] || fail "ps shows $(echo "$out" | wc -l) running, want 10: $out"
ok stop -t 2 $(for i in $(seq 10); do echo "$n-c$i"; done)
ok ps -q
[ -z "$out" ] || fail "running after stop: $out"
ok ps -a --format json
echo "$out" | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r["Names"][0].startswith(sys.argv[1] + "-c")]
assert len(rows) == 10 and all(r["State"] == "exited" for r in rows), rows
' "$n" || fail "not all 10 exited: $out"
for i in $(seq 10); do
	id=$(cat "$TESTTMP/c$i.out")
	mounted "$id" && fail "c$i still mounted"
	[ -z "$(cgroup_dirs "$id")" ] || fail "c$i cgroup left"
done
ok rm $(for i in $(seq 10); do echo "$n-c$i"; done)
grep -q "$COWBOX_ROOT" /proc/self/mountinfo && fail "a mount is left"
store_check
