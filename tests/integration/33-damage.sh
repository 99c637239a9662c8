#!/bin/sh
# Damage: a missing layer, a container whose upper dir was removed by hand,
# a busy mount. Each gives one clear error naming the container (and the
# layer); `cowbox check` reports, `--repair` fixes only what is safe, and
# nothing the user did not ask to delete is deleted.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (overlay mounts)"
ok import "$FIXTURES/busybox-gzip.oci" damage-base
ok create damage-base
a=$out
ok create damage-base
b=$out
on_exit "'$COWBOX' --root '$COWBOX_ROOT' rm -f '$a' '$b' >/dev/null 2>&1"
short_a=$(printf %.12s "$a")
short_b=$(printf %.12s "$b")

# a busy mount: rm refuses and the container stays whole; -f detaches
ok mount "$a"
rootfs=$out
(cd "$rootfs/etc" && sleep 30) &
busy=$!
on_exit "kill $busy 2>/dev/null"
sleep 0.2
refuse "container $short_a: rootfs .* is busy" rm "$a"
[ -f "$COWBOX_ROOT/containers/$a/container.json" ] && mountpoint -q "$rootfs" ||
	fail "a refused rm changed the container"
refuse "busy" umount "$a"
ok rm -f "$a"
[ ! -e "$COWBOX_ROOT/containers/$a" ] || fail "rm -f left the container"
kill $busy 2>/dev/null || true

# upper dir removed by hand
rmdir "$COWBOX_ROOT/containers/$b/upper"
refuse "container $short_b: its upper dir is missing" mount "$b"
refuse "container $short_b: its upper dir is missing" diff "$b"
cb check
[ "$rc" = 1 ] || fail "check exited $rc with damage"
printf '%s\n' "$out" | grep -q "problem: container $short_b: upper dir missing" || fail "check: $out"
ok check --repair
printf '%s\n' "$out" | grep -q "repaired: container $short_b: upper dir missing" || fail "repair: $out"
ok mount "$b"
ok umount "$b"

# a missing layer
top=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][-1])' "$COWBOX_ROOT/containers/$b/container.json")
hex=${top#sha256:}
mv "$COWBOX_ROOT/layers/$hex" "$TESTTMP/hidden-layer"
refuse "container $short_b: layer $top \(2 of 2\) is missing from the store" mount "$b"
refuse "container $short_b: layer $top .*missing" diff "$b"
refuse "missing from the store" create damage-base
cb check --repair
[ "$rc" = 1 ] || fail "check --repair cannot fix a missing layer, but exited $rc"
printf '%s\n' "$out" | grep -q "problem: container $short_b: layer $top" || fail "check: $out"
printf '%s\n' "$out" | grep -q "problem: image .*damage-base.*: layer $top" || fail "check: $out"
[ -d "$COWBOX_ROOT/containers/$b" ] || fail "check --repair deleted a container"
mv "$TESTTMP/hidden-layer" "$COWBOX_ROOT/layers/$hex"
ok check
ok mount "$b"
ok rm "$b"

# A name left pointing at no container (a create killed between giving
# the name and putting its container in place) is free already: plain
# `check` does not call it a problem; `--repair` removes it and says so;
# a name whose container exists stays.
ok create --name dmg-kept damage-base
kept=$out
on_exit "'$COWBOX' --root '$COWBOX_ROOT' rm -f '$kept' >/dev/null 2>&1"
ln -s 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
	"$COWBOX_ROOT/containers/.names/dmg-dangling"
ok check
printf '%s\n' "$out" | grep -q "dmg-dangling\|\.names" && fail "check called a free name a problem: $out"
ok check --repair
printf '%s\n' "$out" | grep -q "^repaired: containers/.names: removed 1 names" ||
	fail "check --repair did not remove the dangling name: $out"
[ -L "$COWBOX_ROOT/containers/.names/dmg-dangling" ] && fail "the dangling name stays"
[ -L "$COWBOX_ROOT/containers/.names/dmg-kept" ] || fail "check --repair removed a live name"
ok create --name dmg-dangling damage-base
ok rm "$out"

# gc never removes a layer a container might use: with a container record
# it cannot read, it keeps every layer and says why.
ok import "$FIXTURES/busybox-gzip.oci" gcdmg:1
ok create gcdmg:1
dmg=$out
ok rmi -f gcdmg:1
echo '{broken' >"$COWBOX_ROOT/containers/$dmg/container.json"
cb gc
[ "$rc" = 0 ] || fail "gc failed: $err"
echo "$err" | grep -q "cannot be read; no layer was removed" || fail "gc did not say why: $err"
[ -n "$(ls "$COWBOX_ROOT/layers")" ] || fail "gc removed layers of a damaged container"

