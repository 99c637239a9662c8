#!/bin/bash
# cowbox pull NAME:TAG from a real docker-registry: gzip and zstd layers,
# the same files as `cowbox import` of the same layout, and a second pull
# that fetches nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"
registry_start
registry_push "oci:$FIXTURES/busybox-gzip.oci:gzip" cowbox/busybox:gzip
registry_push "oci:$FIXTURES/busybox-zstd.oci:zstd" cowbox/busybox:zstd
want=$(fixture_config busybox-gzip.oci gzip)
[ -n "$want" ] || fail "no config digest for busybox-gzip.oci in manifest.txt"

ok pull "$REGISTRY/cowbox/busybox:gzip"
[ "$out" = "$want" ] || fail "pull printed '$out', want the image ID $want"
ok images --format json
printf '%s' "$out" | grep -q "$REGISTRY/cowbox/busybox:gzip" || fail "images does not list the pulled name: $out"
store_check

# The layers hold what import of the same layout unpacks.
list_tree=$FIXTURES_SRC/list-tree
COWBOX_ROOT="$TESTTMP/ref" ok import "$FIXTURES/busybox-gzip.oci"
n=0
for d in "$TESTTMP/ref/layers"/*; do
	chain=$(basename "$d")
	[ -d "$COWBOX_ROOT/layers/$chain/diff" ] || fail "pulled store lacks layer $chain"
	python3 "$list_tree" "$d/diff" >"$TESTTMP/want.txt"
	python3 "$list_tree" "$COWBOX_ROOT/layers/$chain/diff" >"$TESTTMP/got.txt"
	diff -u "$TESTTMP/want.txt" "$TESTTMP/got.txt" >&2 || fail "layer $chain differs from import"
	n=$((n + 1))
done
[ "$n" = 2 ] || fail "want 2 layers from import, found $n"

# zstd: same image ID and layers; nothing is fetched again.
ok --log-level info pull "$REGISTRY/cowbox/busybox:zstd"
[ "$out" = "$want" ] || fail "zstd pull printed '$out', want $want"
printf '%s' "$err" | grep -q "0 layers fetched" || fail "zstd pull fetched layers again: $err"
printf '%s' "$err" | grep -q "2 reused" || fail "zstd pull did not reuse both layers: $err"

# A short name resolves with the registry kept.
ok pull -q "$REGISTRY/cowbox/busybox:gzip"
[ "$out" = "$want" ] || fail "-q printed '$out'"
store_check
