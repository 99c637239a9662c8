#!/bin/bash
# Proves: images (table, -q, --format json), inspect (JSON with config and
# layers), tag, rmi of a name and of an ID, and gc removing exactly what no
# image uses; stdin import of plain and compressed archives.
. "$(dirname "$0")/lib.sh"

ok import "$FIXTURES/busybox-gzip.oci"
ok import --rootfs "$FIXTURES/busybox/rootfs.tar" flat
ok images --format json
echo "$out" | python3 -c '
import json, sys
imgs = json.load(sys.stdin)
assert len(imgs) == 2, imgs
names = sorted(n for i in imgs for n in i["Names"])
assert names == ["docker.io/library/flat:latest", "localhost/busybox-gzip:gzip"], names
assert all(i["Id"].startswith("sha256:") and i["Size"] > 1000000 for i in imgs)
' || fail "images --format json: $out"
ok images -q
[ "$(echo "$out" | wc -l)" = 2 ] || fail "images -q: $out"
ok images
echo "$out" | grep -q '^localhost/busybox-gzip  *gzip ' || fail "images table: $out"

ok inspect localhost/busybox-gzip:gzip
echo "$out" | python3 -c '
import json, sys
i = json.load(sys.stdin)[0]
assert i["Config"]["Cmd"] == ["sh"], i["Config"]
assert i["Config"]["WorkingDir"] == "/root"
assert "80/tcp" in i["Config"]["ExposedPorts"]
assert len(i["Layers"]) == 2 and all(l["ChainID"].startswith("sha256:") for l in i["Layers"])
' || fail "inspect: $out"
id=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
# An ID prefix finds it too.
ok inspect "${id:7:12}"
refuse "nosuch: no such image" inspect nosuch

ok tag localhost/busybox-gzip:gzip mybox:v1
ok inspect mybox:v1
ok rmi mybox:v1
[ "$out" = "Untagged: docker.io/library/mybox:v1" ] || fail "rmi of a name: $out"
ok inspect localhost/busybox-gzip:gzip
refuse "no such image" rmi mybox:v1

layers_before=$(ls "$COWBOX_ROOT/layers" | wc -l)
ok rmi "$id"
echo "$out" | grep -q "^Deleted: $id" || fail "rmi of an ID: $out"
ok gc
[ "$(ls "$COWBOX_ROOT/layers" | wc -l)" = $((layers_before - 2)) ] || fail "gc did not remove the 2 layers"
ok inspect flat
store_check

# stdin, plain and gzip-compressed archives.
rm -rf "$COWBOX_ROOT"
cb import - <"$FIXTURES/busybox-zstd.docker.tar"
[ "$rc" = 0 ] || fail "import - failed: $err"
gzip -c "$FIXTURES/busybox-plain.docker.tar" | "$COWBOX" import - >/dev/null || fail "import of a gzipped archive from stdin"
zstd -q -c "$FIXTURES/busybox/rootfs.tar" | "$COWBOX" import --rootfs - zflat >/dev/null || fail "zstd rootfs from stdin"
store_check
ok images -q
[ "$(echo "$out" | wc -l)" = 2 ] || fail "want 2 images: $out"

# An image a container uses stays unless -f; its layers stay while the
# container does, even through gc.
rm -rf "$COWBOX_ROOT"
ok import "$FIXTURES/busybox-gzip.oci" used:1
ok create used:1
cid=$out
refuse "image sha256:[0-9a-f]+ is used by 1 container \(use -f\)" rmi used:1
ok rmi -f used:1
ok gc
[ "$(ls "$COWBOX_ROOT/layers" | wc -l)" = 2 ] || fail "gc removed layers a container uses"
ok mount "$cid"
[ -x "$out/bin/busybox" ] || fail "container rootfs lost its layers"
ok umount "$cid"
ok rm "$cid"
ok gc
[ -z "$(ls "$COWBOX_ROOT/layers")" ] || fail "gc kept layers nothing uses"
store_check
