#!/bin/sh
# An image of 200 layers (podman and docker stop near 128) imports, and a
# container of it mounts with every layer's file visible, a whiteout in the
# top layer honoured, and `cowbox diff` empty. On kernels without
# fsconfig "lowerdir+" (< 6.8) this exercises the legacy mount(2) path.
. "$(dirname "$0")/lib.sh"
need python3
[ "$(id -u)" = 0 ] || skip "needs root (overlay mounts)"
N=${LAYERS:-200}

python3 - "$TESTTMP/many.oci" "$N" <<'PY'
import hashlib, io, json, os, sys, tarfile
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out + "/blobs/sha256")
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d, len(data)
def layer(i):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        def add(name, data=b"", kind=tarfile.REGTYPE):
            ti = tarfile.TarInfo(name); ti.type = kind; ti.mtime = 1700000000
            ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            ti.size = len(data); t.addfile(ti, io.BytesIO(data) if data else None)
        add("layers", kind=tarfile.DIRTYPE)
        add(f"layers/{i:03d}", f"layer {i}\n".encode())
        if i == n - 1:
            add("layers/.wh.000")  # the top layer deletes the bottom one's file
    return buf.getvalue()
diff_ids, descs = [], []
for i in range(n):
    data = layer(i)
    d, size = blob(data)
    diff_ids.append(d)
    descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": size})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}, sort_keys=True).encode()
cd, cs = blob(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                  "layers": descs}, sort_keys=True).encode()
md, ms = blob(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "many"}}]},
          open(out + "/index.json", "w"))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY

ok import "$TESTTMP/many.oci" many-layers
ok create many-layers
id=$out
on_exit "'$COWBOX' --root '$COWBOX_ROOT' rm -f '$id' >/dev/null 2>&1"
ok mount "$id"
rootfs=$out
count=$(ls "$rootfs/layers" | wc -l)
[ "$count" = $((N - 1)) ] || fail "want $((N - 1)) files in /layers, got $count"
[ ! -e "$rootfs/layers/000" ] || fail "the top layer's whiteout is not honoured"
[ "$(cat "$rootfs/layers/$(printf %03d $((N - 1)))")" = "layer $((N - 1))" ] || fail "top layer file"
[ "$(cat "$rootfs/layers/001")" = "layer 1" ] || fail "second layer file"
echo changed >"$rootfs/layers/100"
ok diff "$id"
[ "$out" = "C /layers/100" ] || fail "diff: $out"
ok umount "$id"
ok rm "$id"
say "$N-layer image mounted ($(uname -r))"
