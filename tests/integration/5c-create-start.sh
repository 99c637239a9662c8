#!/bin/bash
# Proves: `create [RUN OPTIONS] IMAGE [CMD]` records the options (the "run"
# object of container.json) and mounts nothing; `start -a` runs it with
# those same options in the foreground and returns its exit code; `start`
# without -a detaches it under a supervisor (wait, logs work); a started
# container can be started again; a second start of a running one changes
# nothing; create --rm is removed after its run; a `start -a` whose
# rootfs cannot be mounted (a layer gone) fails with the reason and leaves
# the container as it was, startable again once the layer is back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb
n=$(uniq_name)

ok create --name "$n-a" -e FOO=bar -w /tmp --hostname "$n" --memory 64m bb \
	sh -c 'echo $FOO $(pwd) $(hostname); exit 4'
id=$out
lc_track "$id"
[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "create did not print an ID: $id"
mounted "$id" && fail "create mounted the rootfs"
python3 - "$COWBOX_ROOT/containers/$id/container.json" <<'PY' || fail "run options not recorded"
import json, sys
run = json.load(open(sys.argv[1]))["run"]
assert "-e" in run["args"] and "FOO=bar" in run["args"] and "--memory" in run["args"], run
PY
ok ps -a
echo "$out" | grep "^${id:0:12}" | grep -q "Created" || fail "ps -a does not show it Created: $out"
cb start -a "$n-a"
[ "$rc" = 4 ] || fail "start -a: rc $rc, want 4 ($err)"
[ "$out" = "bar /tmp $n" ] || fail "options not applied: $out"
mounted "$id" && fail "start -a left the rootfs mounted"
ok ps -a
echo "$out" | grep "^${id:0:12}" | grep -q "Exited (4)" || fail "ps -a after start -a: $out"

# Detached start, then again.
ok create --name "$n-b" -e X=1 bb sh -c 'echo run $X; exit 6'
idb=$out
lc_track "$idb"
ok start "$n-b"
[ "$out" = "$n-b" ] || fail "start printed '$out'"
ok wait "$n-b"
[ "$out" = 6 ] || fail "wait after start: '$out'"
ok start "$n-b"
ok wait "$n-b"
[ "$out" = 6 ] || fail "wait after the second start: '$out'"
ok logs "$n-b"
[ "$out" = "$(printf 'run 1\nrun 1')" ] || fail "logs of two runs: '$out'"

# Starting a running container is a no-op; the recorded --memory is its
# cgroup's limit.
ok create --name "$n-c" --memory 64m bb sleep 100
idc=$out
lc_track "$idc"
ok start "$n-c"
pid=$(state_of "$idc" pid)
ok start "$n-c"
[ "$(state_of "$idc" pid)" = "$pid" ] || fail "a second start restarted it"
lim=$(cat "$(cgroup_dirs "$idc" | grep memory | head -1)/memory.limit_in_bytes" 2>/dev/null ||
	cat "$(cgroup_dirs "$idc" | head -1)/memory.max")
[ "$lim" = 67108864 ] || fail "--memory from create not applied: '$lim'"
ok stop -t 1 "$n-c"

# create --rm: removed once its run ends.
ok create --rm --name "$n-d" bb true
idd=$out
lc_track "$idd"
ok start -a "$n-d"
cb ps -aq
echo "$out" | grep -q "${idd:0:12}" && fail "create --rm: still there after start -a"
refuse "create: --rootfs is for run" create --rootfs / bb
ok create --name "$n-e" bb echo e
ide=$out
lc_track "$ide"
layer=$(ls "$COWBOX_ROOT/layers" | head -1)
mv "$COWBOX_ROOT/layers/$layer/diff" "$COWBOX_ROOT/layers/$layer/diff.away"
on_exit "mv '$COWBOX_ROOT/layers/$layer/diff.away' '$COWBOX_ROOT/layers/$layer/diff' 2>/dev/null"
refuse "start $n-e: container ${ide:0:12}: layer .* is missing" start -a "$n-e"
mv "$COWBOX_ROOT/layers/$layer/diff.away" "$COWBOX_ROOT/layers/$layer/diff"
ok start -a "$n-e"
[ "$out" = e ] || fail "start -a after a failed mount: $out"
say "start -a: a rootfs that cannot be mounted leaves the container"
ok rm "$n-a" "$n-b" "$n-c" "$n-e"
grep -q "$COWBOX_ROOT" /proc/self/mountinfo && fail "a mount is left"
store_check
