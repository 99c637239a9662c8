#!/bin/sh
# Through the cowbox CLI: a container mounted with --storage-driver fuse
# is served by cowbox-fuse; killing the server leaves a process in the
# rootfs with errors, not a hang; `cowbox rm -f` still cleans up (lazy
# unmount) and leaves no mount and no server.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fuse-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
[ -c /dev/fuse ] || skip "needs /dev/fuse"
need timeout

ok import "$FIXTURES/busybox-gzip.oci" fuse-rm-base
name=$(uniq_name)
ok create --name "$name" fuse-rm-base
id=$out
on_exit "'$COWBOX' rm -f '$id' >/dev/null 2>&1"
ok --storage-driver fuse mount "$name"
rootfs=$out
[ "$(stat -f -c %t "$rootfs")" = 65735546 ] || fail "not a FUSE mount: $(stat -f -c %T "$rootfs")"
[ -x "$rootfs/bin/busybox" ] || fail "rootfs not usable"
pid=$(server_pid "$rootfs") || fail "no cowbox-fuse for $rootfs"
ok diff "$name"
echo changed >"$rootfs/etc/motd"
ok diff "$name"
printf '%s\n' "$out" | grep -qx "C /etc/motd" || fail "diff misses the change: $out"

(cd "$rootfs/etc" && sleep 60) &
holder=$!
on_exit "kill $holder 2>/dev/null"
for i in $(seq 50); do
	[ "$(readlink /proc/$holder/cwd 2>/dev/null)" = "$rootfs/etc" ] && break
	sleep 0.1
done
kill -KILL "$pid"
timeout 10 cat "$rootfs/etc/passwd" >/dev/null 2>&1 && fail "read from a dead server succeeded"
[ $? = 124 ] && fail "read from a dead server hung"
ok rm -f "$id"
grep -q " $rootfs " /proc/self/mounts && fail "mount left after rm -f"
[ -e "$COWBOX_ROOT/containers/$id" ] && fail "container dir left after rm -f"
kill "$holder" 2>/dev/null
say "ok"
