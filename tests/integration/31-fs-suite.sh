#!/bin/sh
# The filesystem-behaviour suite (fs-suite.sh) on an overlay-mounted
# container: the merged view and `cowbox diff` must match the expected
# files; the view survives umount/mount; commit -> save -> import ->
# create gives the same view in a fresh store.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need setfattr getfattr python3
[ "$(id -u)" = 0 ] || skip "needs root (overlay mounts)"
DRIVER=${COWBOX_TEST_DRIVER:-overlay}

ok import "$FIXTURES/busybox-gzip.oci" suite-base
name=$(uniq_name)
ok create --name "$name" suite-base
id=$out
on_exit "'$COWBOX' --root '$COWBOX_ROOT' rm -f '$id' >/dev/null 2>&1"
ok --storage-driver "$DRIVER" mount "$name"
rootfs=$out
[ "$rootfs" = "$COWBOX_ROOT/containers/$id/merged" ] || fail "mount printed $rootfs"

# Untouched, the view is the image's (a cross-layer hard link is a copy)
# plus the init layer: empty /etc/hosts and /etc/resolv.conf, which the
# image lacks (its own /etc/hostname stays).
"$HERE/../../fixtures/list-tree" "$rootfs" >"$TESTTMP/before.txt"
for f in hosts resolv.conf; do
	grep -q "^/etc/$f f 0644 0 0 0 " "$TESTTMP/before.txt" || fail "no empty /etc/$f placeholder"
done
grep -q '^/etc/hostname f 0644 0 0 15 ' "$TESTTMP/before.txt" || fail "the image's /etc/hostname is hidden"
grep -v '^/usr/share/cowbox/shared.txt ' "$FIXTURES/busybox/expected.txt" >"$TESTTMP/want-before.txt"
grep -v -e '^/usr/share/cowbox/shared.txt ' -e '^/etc/hosts ' -e '^/etc/resolv.conf ' "$TESTTMP/before.txt" |
	diff -u "$TESTTMP/want-before.txt" - || fail "fresh container view differs from the image"
ok diff "$name"
[ -z "$out" ] || fail "fresh container has changes: $out"

"$HERE/fs-suite.sh" "$rootfs" "$TESTTMP/suite" || fail "fs-suite failed on $DRIVER"
# (less the init layer's empty placeholders, checked above: their mtime
# is the store's)
no_init() { grep -v -e '^/etc/hosts f 0644 0 0 0 ' -e '^/etc/resolv.conf f 0644 0 0 0 '; }
no_init <"$TESTTMP/suite/tree.txt" >"$TESTTMP/suite/tree-noinit.txt"
diff -u "$HERE/fs-suite.tree.expected" "$TESTTMP/suite/tree-noinit.txt" || fail "merged view differs"
ok diff "$name"
printf '%s\n' "$out" >"$TESTTMP/suite/diff.txt"
diff -u "$HERE/fs-suite.diff.expected" "$TESTTMP/suite/diff.txt" || fail "cowbox diff differs"

# diff needs no mount, and the view survives a remount.
ok umount "$name"
mountpoint -q "$rootfs" 2>/dev/null && fail "still mounted after umount"
ok diff "$name"
[ "$out" = "$(cat "$TESTTMP/suite/diff.txt")" ] || fail "diff differs when unmounted"
ok --storage-driver "$DRIVER" mount "$name"
"$HERE/../../fixtures/list-tree" "$rootfs" | no_init | diff -u "$TESTTMP/suite/tree-noinit.txt" - ||
	fail "view changed across remount"

# commit -> the committed image has the same view; so does its saved copy
# imported into another store.
ok commit "$name" "suite-commit:v1"
ok create suite-commit:v1
id2=$out
on_exit "'$COWBOX' --root '$COWBOX_ROOT' rm -f '$id2' >/dev/null 2>&1"
ok mount "$id2"
"$HERE/../../fixtures/list-tree" "$out" | no_init | diff -u "$TESTTMP/suite/tree-noinit.txt" - ||
	fail "committed image view differs"
ok diff "$id2"
[ -z "$out" ] || fail "container of the committed image has changes: $out"
ok commit --compression gzip "$name" "suite-commit:gzip"
ok save suite-commit:v1 -o "$TESTTMP/saved.tar"
export COWBOX_ROOT="$TESTTMP/store2"
ok import "$TESTTMP/saved.tar" suite-reimport
ok create suite-reimport
id3=$out
on_exit "COWBOX_ROOT='$TESTTMP/store2' '$COWBOX' rm -f '$id3' >/dev/null 2>&1"
ok mount "$id3"
"$HERE/../../fixtures/list-tree" "$out" | no_init | diff -u "$TESTTMP/suite/tree-noinit.txt" - ||
	fail "saved and imported image view differs"
say "fs-suite ($DRIVER): view, diff, remount, commit, save+import all match"
