#!/bin/sh
# create: 100 containers are 100 small directories (< 16 KiB each, no
# copy, no mount); names are unique; containers resolve by name, full ID
# and unique prefix; rm leaves nothing behind.
. "$(dirname "$0")/lib.sh"
ok import "$FIXTURES/busybox-gzip.oci" create-base

name=$(uniq_name)
ok create --name "$name" create-base sh -c 'echo hi'
id=$out
printf '%s\n' "$id" | grep -Eq '^[0-9a-f]{64}$' || fail "create printed '$id', want a 64-hex ID"
d="$COWBOX_ROOT/containers/$id"
[ -d "$d/upper" ] && [ -f "$d/container.json" ] || fail "container dir incomplete"
[ -z "$(ls -A "$d/upper")" ] || fail "upper dir is not empty"
python3 - "$d/container.json" <<'PY' || fail "container.json fields"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["image"].startswith("sha256:") and len(j["layers"]) == 2, j
assert j["cmd"] == ["sh", "-c", "echo hi"], j
assert all(l.startswith("sha256:") for l in j["layers"]), j
PY
refuse "already used by container ${id%"${id#????????????}"}" create --name "$name" create-base
refuse "name" create --name "bad/name" create-base
refuse "no such image" create no-such-image

# name, full ID and prefix all resolve to it (mount/umount as the probe)
for what in "$name" "$id" "$(printf %.10s "$id")"; do
	ok diff "$what"
done
refuse "no such container" diff no-such-container

before=$(du -s -B1 "$COWBOX_ROOT/containers" | cut -f1)
i=0
while [ $i -lt 100 ]; do
	ok create create-base
	i=$((i + 1))
done
after=$(du -s -B1 "$COWBOX_ROOT/containers" | cut -f1)
per=$(((after - before) / 100))
say "100 creates: $per bytes per container"
[ "$per" -lt 16384 ] || fail "$per bytes per container (want < 16 KiB)"
n=$(ls "$COWBOX_ROOT/containers" | wc -l)
[ "$n" = 101 ] || fail "want 101 containers, found $n"
ok df --format json
printf '%s' "$out" | grep -q '"containers":{"count":101' || fail "df: $out"

# --rm makes a volatile container; it mounts with overlay's volatile
ok create --rm create-base
vid=$out
grep -q '"volatile":true' "$COWBOX_ROOT/containers/$vid/container.json" || fail "--rm not recorded"
if [ "$(id -u)" = 0 ]; then
	ok mount "$vid"
	findmnt -n -o OPTIONS "$out" | grep -q volatile || fail "volatile container mounted without volatile"
	ok umount "$vid"
	ok mount "$vid" # the volatile marker of a clean unmount is gone
	ok umount "$vid"
fi

ok rm $(ls "$COWBOX_ROOT/containers")
[ -z "$(ls "$COWBOX_ROOT/containers")" ] || fail "containers left: $(ls "$COWBOX_ROOT/containers")"
[ -z "$(ls -A "$COWBOX_ROOT/containers/.names" 2>/dev/null)" ] || fail "names left"
[ -z "$(ls -A "$COWBOX_ROOT/tmp")" ] || fail "leftovers in tmp/"
ok create --name "$name" create-base # the name is free again
ok rm "$name"
refuse "no such container" rm "$name"
