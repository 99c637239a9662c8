#!/bin/bash
# Proves: bad input (not a tar, truncated tar, unknown media type, invalid
# JSON with its place, missing blob, digest/diff ID/size mismatch naming both
# digests, no manifest for this platform, a missing file, no space left)
# gets one `cowbox: ...` line, exit 125, and leaves the store unchanged.
. "$(dirname "$0")/lib.sh"

C="$FIXTURES/hostile/corrupt"
ok import "$FIXTURES/busybox-plain.oci"
before=$(store_state)
D='sha256:[0-9a-f]{64}'
refuse "not-a-tar.tar: not a tar archive" import "$C/not-a-tar.tar"
refuse "[Tt]runcated" import "$C/truncated.docker.tar"
refuse "[Tt]runcated" import "$C/truncated-layer-plain.oci"
refuse "[Tt]runcated|gzip stream ends early" import "$C/truncated-layer-gzip.oci"
refuse "gzip stream ends early" import "$C/truncated-gzip.oci"
refuse "unknown media type application/" import "$C/unknown-media-type.oci"
refuse "manifest $D: invalid JSON at line 1 column [0-9]+" import "$C/invalid-json.oci"
refuse "index.json: invalid JSON at line 1 column [0-9]+" import "$C/invalid-index-json.oci"
refuse "layer $D: blob missing from the archive" import "$C/missing-blob.oci"
refuse "digest mismatch: expected $D, got $D" import "$C/digest-mismatch.oci"
refuse "diff ID mismatch: config says $D, content is $D" import "$C/digest-mismatch.docker.tar"
refuse "diff ID mismatch: config says $D, content is $D" import "$C/diffid-mismatch.oci"
refuse "size mismatch" import "$C/size-mismatch.oci"
refuse "no manifest for this platform \(linux/amd64\); the archive has linux/arm64, linux/s390x" \
	import "$C/wrong-platform.oci"
refuse "no such file: No such file or directory|open: No such file or directory" import "$TESTTMP/no-such-file"
refuse "not an image archive" import "$FIXTURES/busybox/rootfs.tar"
refuse "needs a NAME" import --rootfs "$FIXTURES/busybox/rootfs.tar"
refuse "invalid tag" import --rootfs "$FIXTURES/busybox/rootfs.tar" "x:-bad"
[ "$(store_state)" = "$before" ] || fail "the store changed"
store_check

# No space left on device: a store on a 1 MiB tmpfs.
small="$TESTTMP/small"
mkdir -p "$small"
mount -t tmpfs -o size=1m tmpfs "$small"
on_exit umount -l "$small"
export COWBOX_ROOT="$small/store"
refuse "No space left on device" import "$FIXTURES/busybox-plain.oci"
store_check
[ -z "$(ls "$COWBOX_ROOT/layers")" ] || fail "a layer was left after ENOSPC"
