#!/bin/bash
# Two pulls of images that share layers, at once, into one store: both
# succeed, each layer is stored once, the store is consistent; -j 1 pulls
# one layer at a time and gets the same image.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"
registry_start
registry_push "oci:$FIXTURES/busybox-gzip.oci:gzip" cowbox/busybox:gzip
registry_push "oci:$FIXTURES/busybox-zstd.oci:zstd" cowbox/busybox:zstd
want=$(fixture_config busybox-gzip.oci gzip)

pids="" i=0
for v in gzip zstd gzip; do
	i=$((i + 1))
	"$COWBOX" pull --limit-rate 512k "$REGISTRY/cowbox/busybox:$v" >"$TESTTMP/out.$i" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || fail "a concurrent pull failed: $(cat "$TESTTMP"/out.*)"
done
for f in "$TESTTMP"/out.*; do
	[ "$(cat "$f")" = "$want" ] || fail "a concurrent pull printed $(cat "$f")"
done
[ "$(ls "$COWBOX_ROOT/layers" | wc -l)" = 2 ] || fail "want 2 layers, have: $(ls "$COWBOX_ROOT/layers")"
store_check

ok rmi "$REGISTRY/cowbox/busybox:gzip" "$REGISTRY/cowbox/busybox:zstd"
ok gc
ok pull -j 1 "$REGISTRY/cowbox/busybox:gzip"
[ "$out" = "$want" ] || fail "-j 1 pulled '$out'"
store_check
