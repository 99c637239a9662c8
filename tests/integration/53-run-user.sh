#!/bin/bash
# Proves: -u resolves USER[:GROUP] in the container's own /etc/passwd and
# /etc/group (names or numbers) and sets the supplementary groups; HOME
# follows the user; an unknown name is one error line and exit 125.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp"
cp /bin/busybox "$ROOT/bin/" || skip "needs /bin/busybox (busybox-static)"
for a in $("$ROOT/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOT/bin/$a"; done
printf "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n" >"$ROOT/etc/passwd"
printf "root:x:0:\nwheel:x:10:app\naudio:x:29:app,other\napp:x:1000:\nstaff:x:50:\nnogroup:x:65534:\n" >"$ROOT/etc/group"
touch "$ROOT/etc/hostname" "$ROOT/etc/hosts" "$ROOT/etc/resolv.conf"

ok run --rootfs "$ROOT" -u app sh -c 'id; echo $HOME'
[ "$(echo $out)" = "uid=1000(app) gid=1000(app) groups=10(wheel),29(audio) /home/app" ] || fail "-u app: $out"
ok run --rootfs "$ROOT" -u 1000:50 id
[ "$out" = "uid=1000(app) gid=50(staff) groups=10(wheel),29(audio)" ] || fail "-u 1000:50: $out"
ok run --rootfs "$ROOT" -u app:staff id -g
[ "$out" = 50 ] || fail "-u app:staff: $out"
ok run --rootfs "$ROOT" -u 4321 sh -c 'id -u; id -g; echo $HOME'
[ "$(echo $out)" = "4321 0 /" ] || fail "-u 4321: $out"
ok run --rootfs "$ROOT" id
[ "$out" = "uid=0(root) gid=0(root) groups=0(root)" ] || [ "$out" = "uid=0(root) gid=0(root)" ] || fail "default user: $out"
refuse '^cowbox: run: user nosuch: not found in /etc/passwd$' run --rootfs "$ROOT" -u nosuch true
refuse 'group nogrp: not found' run --rootfs "$ROOT" -u app:nogrp true
say "users: ok"
