#!/bin/bash
# Proves: kill -9 of an import at any moment leaves the store consistent:
# no half layer visible, no record naming a missing layer; the next command
# clears the leftovers; the import then succeeds.
. "$(dirname "$0")/lib.sh"

# A bigger layer so the kill lands mid-unpack: a tar of /usr/lib (gzip).
big="$TESTTMP/big.tar.gz"
tar -C / --exclude='usr/lib/x86_64-linux-gnu/dri' -czf "$big" usr/lib/python3* usr/share/perl* 2>/dev/null || true
[ -s "$big" ] || tar -C / -czf "$big" usr/share/doc
for delay in 0.01 0.05 0.1 0.2 0.4; do
	"$COWBOX" import --rootfs "$big" big:1 >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	store_check --allow-tmp
	# Any later command clears what the killed one left.
	ok images
	store_check
done
ok import --rootfs "$big" big:1
ok import "$FIXTURES/busybox-gzip.oci"
store_check

# A foreground run leaves them to the time it waits for its container
# (CB_STORE_DEFER_TMP), and clears them then: a stage as a killed import
# leaves one (a directory of files), made here where a kill may not.
if [ "$(id -u)" = 0 ]; then
	ok import "$FIXTURES/busybox-gzip.oci" k9-run
	mkdir -p "$COWBOX_ROOT/tmp/0123456789abcdef/diff/usr"
	echo partial >"$COWBOX_ROOT/tmp/0123456789abcdef/diff/usr/half-written"
	ok run --rm --no-cgroup k9-run sleep 0.3
	[ -z "$(ls -A "$COWBOX_ROOT/tmp")" ] || fail "a run left tmp/ leftovers: $(ls -A "$COWBOX_ROOT/tmp")"
	store_check
fi
