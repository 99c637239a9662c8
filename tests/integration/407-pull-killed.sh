#!/bin/bash
# The registry dies in the middle of a pull: the pull fails after its
# retries (exit 125, one line), the store stays consistent, and a pull
# after the registry is back reuses the layers that finished.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"
need umoci
# An image with a small bottom layer and two 6 MiB incompressible ones, so
# a rate-limited pull is still running when the registry is killed (512
# KiB/s: 12 s a big layer; at 2 MiB/s a slow host once saw it end first).
img=$TESTTMP/img
umoci init --layout "$img" >/dev/null
umoci new --image "$img:big" >/dev/null
for i in 1 2 3; do
	umoci unpack --rootless --image "$img:big" "$TESTTMP/b$i" >/dev/null 2>&1 || fail "umoci unpack"
	if [ $i = 1 ]; then
		echo small >"$TESTTMP/b$i/rootfs/small"
	else
		head -c 6291456 /dev/urandom >"$TESTTMP/b$i/rootfs/big$i"
	fi
	umoci repack --image "$img:big" "$TESTTMP/b$i" >/dev/null 2>&1 || fail "umoci repack"
done
registry_start
registry_push "oci:$img:big" cowbox/big:v1

"$COWBOX" pull --limit-rate 512k "$REGISTRY/cowbox/big:v1" >"$TESTTMP/o" 2>"$TESTTMP/e" &
pull=$!
# Wait for the bottom layer to land, then kill the registry.
i=0
until [ "$(ls "$COWBOX_ROOT/layers" 2>/dev/null | wc -l)" -ge 1 ]; do
	i=$((i + 1))
	[ $i -lt 200 ] || { kill "$pull"; fail "the bottom layer never arrived"; }
	kill -0 "$pull" 2>/dev/null || fail "pull ended early: $(cat "$TESTTMP/e")"
	sleep 0.05
done
registry_stop
set +e
wait "$pull"
rc=$?
set -e
err=$(cat "$TESTTMP/e")
[ "$rc" = 125 ] || fail "pull with a dead registry exited $rc: $err"
[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "want one error line, got: $err"
printf '%s' "$err" | grep -Eq "^cowbox: .*$REGISTRY/cowbox/big@sha256:[0-9a-f]{64}: " ||
	fail "error does not name registry, repository and digest: $err"
ok images -q
[ -z "$out" ] || fail "a failed pull recorded an image"
store_check
kept=$(ls "$COWBOX_ROOT/layers" | wc -l)
[ "$kept" -ge 1 ] && [ "$kept" -lt 3 ] || fail "$kept layers kept after the failed pull"

registry_restart
ok --log-level info pull "$REGISTRY/cowbox/big:v1"
printf '%s' "$err" | grep -q "$kept reused" || fail "re-pull did not reuse the $kept finished layers: $err"
[ "$(ls "$COWBOX_ROOT/layers" | wc -l)" = 3 ] || fail "want 3 layers after the re-pull"
store_check
