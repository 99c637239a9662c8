#!/bin/bash
# Proves: --userns MAP makes a user namespace whose uid and gid maps the
# parent writes (several ranges; --gidmap apart); root inside is not root
# outside: it cannot write a host-root-owned 0644 file bound in, and files
# it creates on a volume belong to the mapped host uid; /proc, /dev and
# /sys work (with --net host too).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp"
cp /bin/busybox "$ROOT/bin/" || skip "needs /bin/busybox (busybox-static)"
for a in $("$ROOT/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOT/bin/$a"; done
printf "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n" >"$ROOT/etc/passwd"
printf "root:x:0:\napp:x:1000:\n" >"$ROOT/etc/group"
# Mapped root must be able to reach the rootfs (mktemp -d makes a 0700 dir).
chmod 0755 "$TESTTMP"
ok run --rootfs "$ROOT" --userns 0:100000:65536 sh -c 'id -u; cat /proc/self/uid_map /proc/self/gid_map'
[ "$(echo $out)" = "0 0 100000 65536 0 100000 65536" ] || fail "maps: $out"
ok run --rootfs "$ROOT" --userns 0:200000:1000,1000:1000:1 --gidmap 0:300000:65536 sh -c 'cat /proc/self/uid_map /proc/self/gid_map'
[ "$(echo $out)" = "0 200000 1000 1000 1000 1 0 300000 65536" ] || fail "several ranges/--gidmap: $out"

echo secret >"$TESTTMP/rootfile"; chmod 0644 "$TESTTMP/rootfile"
# Mapped root cannot create mount points in a host-root-owned rootfs.
touch "$ROOT/hostfile"; mkdir -p "$ROOT/vol"
mkdir -p "$TESTTMP/vol"; chmod 0777 "$TESTTMP/vol"
cb run --rootfs "$ROOT" --userns 0:100000:65536 -v "$TESTTMP/rootfile:/hostfile" -v "$TESTTMP/vol:/vol" sh -c 'cat /hostfile; echo pwned >/hostfile'
[ "$rc" != 0 ] || fail "container root wrote a host-root file"
echo "$out" | grep -q secret || fail "could not read the bound file: $out"
[ "$(cat "$TESTTMP/rootfile")" = secret ] || fail "the host file changed"
ok run --rootfs "$ROOT" --userns 0:100000:65536 -v "$TESTTMP/vol:/vol" touch /vol/made
[ "$(stat -c %u "$TESTTMP/vol/made")" = 100000 ] || fail "owner on the host: $(stat -c %u "$TESTTMP/vol/made")"
ok run --rootfs "$ROOT" --userns 0:100000:65536 ps -o pid,comm
[ "$(echo $out)" = "PID COMMAND 1 ps" ] || fail "proc in a user namespace: $out"
ok run --rootfs "$ROOT" --userns 0:100000:65536 sh -c 'echo x >/dev/null && head -c1 /dev/zero | wc -c'
[ "$out" = 1 ] || fail "/dev in a user namespace: $out"
# Without its own network namespace a user namespace cannot mount sysfs:
# the host's is bound read-only instead.
ok run --rootfs "$ROOT" --userns 0:100000:65536 --net host sh -c 'ls /sys/class >/dev/null && echo ok'
[ "$out" = ok ] || fail "--userns with --net host: $out"
refuse 'expected CTR_ID:HOST_ID:COUNT' run --rootfs "$ROOT" --userns 0:1 true
say "user namespace: ok"
