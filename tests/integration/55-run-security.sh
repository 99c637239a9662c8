#!/bin/bash
# Proves: the default capability set is podman's 14 in the bounding,
# permitted, effective and inheritable sets; --cap-add, --cap-drop (and
# ALL) change it; --privileged hands on every capability cowbox holds;
# no_new_privs is set; the default seccomp filter makes keyctl and unshare
# fail with EPERM while seccomp=unconfined does not; a JSON profile
# (--security-opt seccomp=FILE) is obeyed.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp"
cp /bin/busybox "$ROOT/bin/" || skip "needs /bin/busybox (busybox-static)"
for a in $("$ROOT/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOT/bin/$a"; done
printf "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n" >"$ROOT/etc/passwd"
printf "root:x:0:\napp:x:1000:\n" >"$ROOT/etc/group"
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
say "security: ok"
