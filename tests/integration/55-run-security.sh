#!/bin/bash
# Proves: the default capability set is podman's 14 in the bounding,
# permitted, effective and inheritable sets; --cap-add, --cap-drop (and
# ALL) change it; --privileged hands on every capability cowbox holds;
# no_new_privs is set; the default seccomp filter makes keyctl and unshare
# fail with EPERM while seccomp=unconfined does not; a JSON profile
# (--security-opt seccomp=FILE) is obeyed; the container cannot make
# device nodes (Landlock: block or character, in /dev or anywhere, in
# exec too) while its /dev nodes work and removing an image file (an
# overlay whiteout, a 0:0 character device) still works; --privileged
# can.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
busybox_rootfs "$ROOT"
caps() { ok run --rootfs "$ROOT" "$@" sh -c 'grep -E "^Cap(Inh|Prm|Eff|Bnd)" /proc/self/status | cut -f2 | sort -u'; echo "$out"; }

[ "$(caps)" = 00000000a80425fb ] || fail "default caps: $(caps)"
[ "$(caps --cap-drop ALL)" = 0000000000000000 ] || fail "--cap-drop ALL: $(caps --cap-drop ALL)"
[ "$(caps --cap-add NET_ADMIN)" = 00000000a80435fb ] || fail "--cap-add NET_ADMIN: $(caps --cap-add NET_ADMIN)"
[ "$(caps --cap-drop chown)" = 00000000a80425fa ] || fail "--cap-drop chown"
[ "$(caps --cap-add NET_RAW --cap-drop ALL)" = 0000000000002000 ] || fail "--cap-drop ALL --cap-add NET_RAW (any order)"
hostprm=$(awk '/^CapPrm/{print $2}' /proc/self/status)
ok run --rootfs "$ROOT" --privileged awk '/^CapEff/{print $2}' /proc/self/status
[ "$out" = "$hostprm" ] || fail "--privileged: $out, cowbox holds $hostprm"

ok run --rootfs "$ROOT" sh -c 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status | cut -f2'
[ "$(echo $out)" = "1 2" ] || fail "no_new_privs/seccomp mode: $out"
ok run --rootfs "$ROOT" --security-opt seccomp=unconfined sh -c 'grep "^Seccomp:" /proc/self/status | cut -f2'
[ "$out" = 0 ] || fail "seccomp=unconfined still filters"

# unshare needs CAP_SYS_ADMIN; with it granted the filter lets it through.
cb run --rootfs "$ROOT" unshare -n true
[ "$rc" != 0 ] || fail "unshare allowed by default"
ok run --rootfs "$ROOT" --cap-add SYS_ADMIN unshare -n true

if command -v gcc >/dev/null && echo 'int main(void){return 0;}' | gcc -static -x c -o "$TESTTMP/probe" - 2>/dev/null; then
	cat >"$TESTTMP/keyctl.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
	printf("%s\n", r < 0 ? strerror(errno) : "allowed");
	return 0;
}
C
	gcc -static -O1 -o "$ROOT/keyctl" "$TESTTMP/keyctl.c"
	ok run --rootfs "$ROOT" /keyctl
	[ "$out" = "Operation not permitted" ] || fail "keyctl under the default filter: $out"
	ok run --rootfs "$ROOT" --security-opt seccomp=unconfined /keyctl
	[ "$out" != "Operation not permitted" ] || fail "keyctl unconfined still EPERM"
else
	say "no static gcc: keyctl probe skipped"
fi

cat >"$TESTTMP/profile.json" <<'J'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
J
cb run --rootfs "$ROOT" --security-opt seccomp="$TESTTMP/profile.json" mkdir /tmp/d
[ "$rc" != 0 ] && echo "$err$out" | grep -q 'Permission denied' || fail "JSON profile not obeyed: $rc $out $err"
ok run --rootfs "$ROOT" mkdir /tmp/d2
rmdir "$ROOT/tmp/d2"
echo '{"defaultAction": "SCMP_ACT_NOPE"}' >"$TESTTMP/bad.json"
refuse 'bad defaultAction' run --rootfs "$ROOT" --security-opt seccomp="$TESTTMP/bad.json" true

# Device nodes (Landlock). Without it a container root could mknod the
# host's disk in its /dev tmpfs.
ok import "$FIXTURES/busybox-gzip.oci" bb
cb run --rm bb mknod /dev/cbt-disk b 8 0
[ "$rc" != 0 ] && grep -q "Permission denied" <<<"$err" || fail "mknod of a block device in /dev: rc $rc, $err"
cb run --rm bb mknod /tmp/cbt-null c 1 3
[ "$rc" != 0 ] && grep -q "Permission denied" <<<"$err" || fail "mknod of a char device: rc $rc, $err"
ok run --rm bb sh -c 'echo x >/dev/null && head -c 4 /dev/zero | wc -c && rm /bin/true && echo removed'
[ "$(echo $out)" = "4 removed" ] || fail "/dev nodes or rm of an image file under Landlock: $out"
ok run --rm --privileged bb sh -c 'mknod /dev/cbt-ok c 1 3 && echo made'
[ "$out" = made ] || fail "--privileged cannot mknod: $out"
n=$(uniq_name)
ok run -d --name "$n" bb sleep 30
on_exit "'$COWBOX' rm -f '$n' >/dev/null 2>&1"
cb exec "$n" mknod /dev/cbt-exec c 1 3
[ "$rc" != 0 ] || fail "exec could mknod"
ok rm -f "$n"
say "security: ok"
