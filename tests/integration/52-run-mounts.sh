#!/bin/bash
# Proves: -v HOST:CTR binds read-write and :ro read-only (a file volume
# too); --tmpfs gives an empty writable tmpfs; --read-only makes the rootfs
# read-only while /dev, /tmp tmpfs and volumes stay usable; /etc/hosts,
# /etc/hostname, /etc/resolv.conf are generated without writing the rootfs
# files; /dev has the usual nodes, a private devpts and the stdio links.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp"
cp /bin/busybox "$ROOT/bin/" || skip "needs /bin/busybox (busybox-static)"
for a in $("$ROOT/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOT/bin/$a"; done
printf "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n" >"$ROOT/etc/passwd"
printf "root:x:0:\nwheel:x:10:app\naudio:x:29:app,other\napp:x:1000:\nstaff:x:50:\nnogroup:x:65534:\n" >"$ROOT/etc/group"
touch "$ROOT/etc/hostname" "$ROOT/etc/hosts" "$ROOT/etc/resolv.conf"
echo original >"$ROOT/etc/hosts"
mkdir -p "$TESTTMP/vol" && echo data >"$TESTTMP/vol/f"
echo single >"$TESTTMP/onefile"

ok run --rootfs "$ROOT" -v "$TESTTMP/vol:/mnt/vol" sh -c 'cat /mnt/vol/f; echo new >/mnt/vol/g'
[ "$out" = data ] || fail "rw volume: $out"
[ "$(cat "$TESTTMP/vol/g")" = new ] || fail "rw volume write did not reach the host"

cb run --rootfs "$ROOT" -v "$TESTTMP/vol:/mnt/vol:ro" sh -c 'cat /mnt/vol/f; echo x >/mnt/vol/h'
[ "$rc" != 0 ] && [ ! -e "$TESTTMP/vol/h" ] || fail "ro volume is writable"
ok run --rootfs "$ROOT" -v "$TESTTMP/onefile:/etc/one:ro" cat /etc/one
[ "$out" = single ] || fail "file volume: $out"

ok run --rootfs "$ROOT" --tmpfs /scratch sh -c 'ls -A /scratch | wc -l; echo x >/scratch/y && cat /scratch/y; stat -c %a /scratch'
[ "$(echo $out)" = "0 x 1777" ] || fail "tmpfs: $out"

cb run --rootfs "$ROOT" --read-only touch /etc/newfile
[ "$rc" != 0 ] && [ ! -e "$ROOT/etc/newfile" ] || fail "--read-only rootfs is writable"
ok run --rootfs "$ROOT" --read-only --tmpfs /tmp -v "$TESTTMP/vol:/mnt/vol" sh -c 'echo a >/tmp/a && echo b >/mnt/vol/b && echo c >/dev/shm/c && echo ok'
[ "$out" = ok ] || fail "--read-only: tmpfs/volume/shm not writable"

ok run --rootfs "$ROOT" --hostname mhost sh -c 'cat /etc/hostname; grep -c mhost /etc/hosts; grep -c "^127.0.0.1.localhost" /etc/hosts'
[ "$(echo $out)" = "mhost 1 1" ] || fail "generated /etc files: $out"
[ "$(cat "$ROOT/etc/hosts")" = original ] || fail "the rootfs /etc/hosts was written"
[ ! -s "$ROOT/etc/hostname" ] || fail "the rootfs /etc/hostname was written"

ok run --rootfs "$ROOT" sh -c 'for n in null zero full random urandom tty; do [ -c /dev/$n ] || echo "no $n"; done
	[ -L /dev/ptmx ] && [ -L /dev/fd ] && [ -L /dev/stdin ] && [ -L /dev/stdout ] && [ -L /dev/stderr ] || echo "links"
	ls /dev/pts | grep -v ptmx | wc -l; head -c 4 /dev/zero | wc -c; grep -c " /dev/mqueue " /proc/self/mountinfo'
[ "$(echo $out)" = "0 4 1" ] || fail "/dev: $out"
say "mounts: ok"
