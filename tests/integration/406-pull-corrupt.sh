#!/bin/bash
# A layer blob corrupted in the registry's storage: digest mismatch naming
# registry, repository and digest; exit 125; no image, no half layer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"
registry_start
registry_push "oci:$FIXTURES/busybox-zstd.oci:zstd" cowbox/busybox:zstd
manifest=$(fixture_manifest busybox-zstd.oci zstd)
top=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][-1]["digest"])' \
	"$FIXTURES/busybox-zstd.oci/blobs/sha256/${manifest#sha256:}")
blob=$(registry_blob_path "$top")
[ -f "$blob" ] || fail "no blob $top in the registry's storage ($blob)"
cp "$blob" "$TESTTMP/good-blob"
# Flip bytes in the middle: the registry serves it as is.
size=$(stat -c %s "$blob")
printf 'CORRUPT' | dd of="$blob" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null

refuse "$REGISTRY/cowbox/busybox@$top: .*digest mismatch" pull "$REGISTRY/cowbox/busybox:zstd"
ok images -q
[ -z "$out" ] || fail "a failed pull recorded an image: $out"
store_check
n=$(ls "$COWBOX_ROOT/layers" | wc -l)
[ "$n" -le 1 ] || fail "$n layers stored, but the top one was corrupt"

# Repaired, the pull works and reuses the bottom layer if it was kept.
cp "$TESTTMP/good-blob" "$blob"
ok pull "$REGISTRY/cowbox/busybox:zstd"
[ "$out" = "$(fixture_config busybox-zstd.oci zstd)" ] || fail "pull after repair printed '$out'"
store_check
