#!/bin/sh
# Round trip with the real tools: import -> create -> change files in the
# mounted rootfs -> commit -> save (OCI and docker-archive) -> skopeo
# inspect/copy -> podman load -> podman run shows the change. Where podman
# cannot run containers here (e.g. crun refuses a cgroup v1/v2 hybrid),
# the loaded image's content is read with podman create + export instead,
# and the test says so.
. "$(dirname "$0")/lib.sh"
need podman skopeo
[ "$(id -u)" = 0 ] || skip "needs root (overlay mounts, podman)"
ok import "$FIXTURES/busybox-gzip.oci" rt-base
ok create rt-base
id=$out
on_exit "'$COWBOX' --root '$COWBOX_ROOT' rm -f '$id' >/dev/null 2>&1"
ok mount "$id"
echo "round trip $$" >"$out/etc/roundtrip"
rm "$out/etc/motd"
ok umount "$id"
tag="localhost/cowbox-rt-$$:v1"
ok commit "$id" "$tag"
ok save "$tag" -o "$TESTTMP/rt.oci.tar"
ok save --format docker "$tag" -o "$TESTTMP/rt.docker.tar"
skopeo inspect "oci-archive:$TESTTMP/rt.oci.tar" >/dev/null || fail "skopeo inspect oci-archive"
skopeo inspect "docker-archive:$TESTTMP/rt.docker.tar" >/dev/null || fail "skopeo inspect docker-archive"
skopeo copy -q "oci-archive:$TESTTMP/rt.oci.tar" "oci:$TESTTMP/copied:rt" >/dev/null || fail "skopeo copy"

P="podman --root $TESTTMP/podman --runroot $TESTTMP/podman-run --storage-driver overlay"
on_exit "$P rmi -af >/dev/null 2>&1; umount -R $TESTTMP/podman/overlay 2>/dev/null"
for f in rt.oci.tar rt.docker.tar; do
	$P load -i "$TESTTMP/$f" >"$TESTTMP/load.out" 2>&1 || fail "podman load $f: $(tail -n 3 "$TESTTMP/load.out")"
	if got=$($P run --rm --network none --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 \
		"$tag" cat /etc/roundtrip 2>"$TESTTMP/run.err"); then
		how="podman run"
	else
		say "podman run cannot run here: $(tail -n 1 "$TESTTMP/run.err"); reading the image with podman create + export"
		c=$($P create "$tag" true) || fail "podman create"
		got=$($P export "$c" | tar -xO etc/roundtrip)
		$P export "$c" | tar -t | grep -qx 'etc/motd' && fail "$f: deleted file is back"
		$P rm "$c" >/dev/null
		how="podman export"
	fi
	[ "$got" = "round trip $$" ] || fail "$f: $how shows '$got'"
	$P rmi -f "$tag" >/dev/null 2>&1
	say "$f: $how shows the change"
done
