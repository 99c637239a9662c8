#!/bin/bash
# Proves: -u resolves USER[:GROUP] in the container's own /etc/passwd and
# /etc/group (names or numbers) and sets the supplementary groups; HOME
# follows the user; an unknown name is one error line and exit 125; the
# command is found along PATH as execve would run it (capabilities too).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
busybox_rootfs "$ROOT"  # then this test's own users and groups:
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

# The command is looked up along PATH as execve judges it, with the
# user's capabilities: root's 0700 /a/echo (busybox) runs for app with
# CAP_DAC_OVERRIDE (a default one), and is passed over for /b/echo
# without it.
mkdir -p "$ROOT/a" "$ROOT/b"
cp "$ROOT/bin/busybox" "$ROOT/a/echo"
chmod 0700 "$ROOT/a/echo"
printf '#!/bin/sh\necho B\n' >"$ROOT/b/echo"
chmod 0755 "$ROOT/b/echo"
ok run --rootfs "$ROOT" -u app -e PATH=/a:/b:/bin echo A
[ "$out" = A ] || fail "PATH lookup with CAP_DAC_OVERRIDE ran: $out"
ok run --rootfs "$ROOT" -u app --cap-drop DAC_OVERRIDE -e PATH=/a:/b:/bin echo A
[ "$out" = B ] || fail "PATH lookup without it ran: $out"
say "PATH lookup: as execve judges"
