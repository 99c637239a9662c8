#!/bin/bash
# Proves: with the store's filesystem full, create, run, tag, commit and
# import each fail with one `cowbox:` line that names what could not be
# written and says "No space left on device", exit 125, and leave the
# store consistent and as it was (no half-made container, image, layer or
# temporary file); once there is space again, each of them works.
. "$(dirname "$0")/lib.sh"

small="$TESTTMP/small"
mkdir -p "$small"
mount -t tmpfs -o size=8m tmpfs "$small"
on_exit umount -l "$small"
export COWBOX_ROOT="$small/store"
ok import "$FIXTURES/busybox-plain.oci" full-base
name=$(uniq_name)
ok create --name "$name" full-base sh -c 'echo changed >/newfile'
ok start -a "$name"

# Fill what is left (tmpfs has no reserved blocks: writes fail at once).
dd if=/dev/zero of="$small/filler" bs=4k 2>/dev/null || true
[ "$(df --output=avail "$small" | tail -1 | tr -d ' ')" = 0 ] || fail "could not fill $small"
before=$(store_state)

refuse "write container.json: No space left on device" create full-base true
refuse "write container.json: No space left on device" run --rm full-base true
refuse "write image record .*: No space left on device" tag full-base full-other:x
refuse "commit of container .*: No space left on device" commit "$name" full-committed
refuse "write blob sha256:[0-9a-f]{64}: No space left on device" import "$FIXTURES/busybox-gzip.oci" full-gz
[ "$(store_state)" = "$before" ] || fail "a failed command changed the store: $(diff <(echo "$before") <(store_state))"
[ -z "$(ls -A "$COWBOX_ROOT/tmp")" ] || fail "temporary files left: $(ls -A "$COWBOX_ROOT/tmp")"
store_check

# With space back, the same commands work.
rm -f "$small/filler"
ok run --rm full-base true
ok tag full-base full-other:x
ok commit "$name" full-committed
ok run --rm full-committed cat /newfile
[ "$out" = changed ] || fail "the committed image says '$out'"
ok import "$FIXTURES/busybox-gzip.oci" full-gz
ok rm "$name"
store_check
