#!/bin/bash
# Proves: every fixture form (docker-save plain/gzip/zstd, OCI layout
# dir/tar, images written by skopeo and umoci, a nested multi-platform
# index) imports, gets the right name, and its unpacked layers merge to
# exactly the tree the fixture model expects (whiteouts, opaque dir, xattrs,
# hardlinks, setuid, devices, fifos, sparse file, long path, owners, mtimes)
# and to what `umoci unpack` makes of the same image.
. "$(dirname "$0")/lib.sh"

declare -A want_name=(
	[busybox-plain.docker.tar]=docker.io/cowbox-fixture/busybox:plain
	[busybox-gzip.docker.tar]=docker.io/cowbox-fixture/busybox:gzip
	[busybox-zstd.docker.tar]=docker.io/cowbox-fixture/busybox:zstd
	[busybox-skopeo.docker.tar]=docker.io/cowbox-fixture/busybox:skopeo
	[busybox-plain.oci]=localhost/busybox-plain:plain
	[busybox-gzip.oci]=localhost/busybox-gzip:gzip
	[busybox-zstd.oci]=localhost/busybox-zstd:zstd
	[busybox-gzip.oci.tar]=localhost/busybox-gzip:gzip
	[busybox-multi.oci]=localhost/busybox-multi:multi
)
# A hard link in layer 2 to a layer-1 file is stored as a copy (a link
# cannot span layer directories); the model lists it as a link.
expected="$TESTTMP/expected.txt"
sed 's| hardlink=/usr/share/cowbox/shared.hardlink||' "$FIXTURES/busybox/expected.txt" >"$expected"

for f in "${!want_name[@]}"; do
	rm -rf "$COWBOX_ROOT"
	ok import "$FIXTURES/$f"
	[ "$out" = "Loaded image: ${want_name[$f]}" ] || fail "$f: got '$out'"
	merged_view "${want_name[$f]}" "$TESTTMP/got.txt"
	diff -u "$expected" "$TESTTMP/got.txt" >&2 || fail "$f: merged view differs from the model"
	store_check
	say "$f ok"
done

# The same image unpacked by a peer.
if command -v umoci >/dev/null; then
	umoci unpack --image "$FIXTURES/busybox-gzip.oci:gzip" "$TESTTMP/umoci" >/dev/null 2>&1 ||
		fail "umoci unpack failed"
	"$FIXTURES_SRC/list-tree" "$TESTTMP/umoci/rootfs" | sed 's| hardlink=/usr/share/cowbox/shared.hardlink||' >"$TESTTMP/umoci.txt"
	ok import "$FIXTURES/busybox-gzip.oci"
	merged_view localhost/busybox-gzip:gzip "$TESTTMP/got.txt"
	diff -u "$TESTTMP/umoci.txt" "$TESTTMP/got.txt" >&2 || fail "differs from umoci unpack"
	say "matches umoci unpack"
fi

# The umoci-made image and the rootfs form.
rm -rf "$COWBOX_ROOT"
ok import "$FIXTURES/busybox-umoci.oci"
[ "$out" = "Loaded image: localhost/busybox-umoci:umoci" ] || fail "umoci image: got '$out'"
ok import --rootfs "$FIXTURES/busybox/rootfs.tar" flat:1
[ "$out" = "Loaded image: docker.io/library/flat:1" ] || fail "rootfs: got '$out'"
merged_view flat:1 "$TESTTMP/got.txt"
# A flat tar carries every hard link inside one layer: the model as is.
diff -u "$FIXTURES/busybox/expected.txt" "$TESTTMP/got.txt" >&2 || fail "rootfs import differs"
store_check

# Layers are shared: four forms of one image, one set of layer dirs.
rm -rf "$COWBOX_ROOT"
for f in busybox-plain.docker.tar busybox-gzip.oci busybox-zstd.oci busybox-skopeo.docker.tar; do
	ok import "$FIXTURES/$f"
done
[ "$(ls "$COWBOX_ROOT/layers" | wc -l)" = 2 ] || fail "layers not shared: $(ls "$COWBOX_ROOT/layers")"
# No compressed copy is kept beside the unpacked layers.
[ -z "$(find "$COWBOX_ROOT/blobs" -type f -size +64k)" ] || fail "a large blob was kept"

# Another platform from the nested index.
rm -rf "$COWBOX_ROOT"
ok import --platform linux/arm64 "$FIXTURES/busybox-multi.oci" arm:1
merged_view arm:1 "$TESTTMP/arm.txt"
grep -q '^/etc/arch ' "$TESTTMP/arm.txt" || fail "arm64 image not selected"
store_check
