#!/bin/bash
# Proves: imports that share layers, run at once, all succeed, and each
# shared layer exists once; a reader never sees half a layer.
. "$(dirname "$0")/lib.sh"

pids=()
for f in busybox-plain.docker.tar busybox-gzip.oci busybox-zstd.oci busybox-zstd.docker.tar \
	busybox-gzip.oci.tar busybox-skopeo.docker.tar; do
	"$COWBOX" import "$FIXTURES/$f" >"$TESTTMP/$f.out" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a concurrent import failed: $(cat "$TESTTMP"/*.out)"
done
[ "$(ls "$COWBOX_ROOT/layers" | wc -l)" = 2 ] || fail "want 2 layer dirs, got: $(ls "$COWBOX_ROOT/layers")"
ok images -q
[ "$(echo "$out" | wc -l)" = 1 ] || fail "want one image ID, got: $out"
store_check
