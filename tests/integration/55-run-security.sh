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
# can; no fd of the caller's but 0-2 reaches a container's process (an
# open host directory would lead out of its root), not through run,
# --init's reaper or exec, unless --preserve-fds N passes 3..N+2 (which
# must be open, and is run's alone); a closed stdout does not become one
# of cowbox's files; a detached container's supervisor keeps none; with
# --init the container sees neither the caller's command line, nor its
# environment, nor cowbox's binary through pid 1, and exec still gets the
# command's environment.
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

# The caller's fds: an open directory of the host's would be a way out.
mkdir -p "$TESTTMP/hostdir"
echo secret >"$TESTTMP/hostdir/secret"
leak() { # leak ARGS...: cowbox ARGS, with fd 9 on a host directory
	set +e
	"$COWBOX" "$@" 9<"$TESTTMP/hostdir" >"$TESTTMP/.out" 2>"$TESTTMP/.err"
	rc=$?
	set -e
	out=$(cat "$TESTTMP/.out")
}
leak run --rm --rootfs "$ROOT" sh -c 'cat /proc/self/fd/9/secret'
[ "$rc" != 0 ] && [ -z "$out" ] || fail "fd 9 reached run's process: rc $rc, $out"
leak run --rm --rootfs "$ROOT" --init sh -c 'ls /proc/1/fd'
[ "$(echo $out)" = "0 1 2" ] || fail "--init's reaper holds more than 0-2: $out"
leak run --rm bb sh -c 'cat /proc/self/fd/9/secret'
[ "$rc" != 0 ] && [ -z "$out" ] || fail "fd 9 reached run IMAGE's process: rc $rc, $out"
leak run -d --name "$n" bb sleep 30
[ "$rc" = 0 ] || fail "run -d: rc $rc"
leak exec "$n" sh -c 'cat /proc/self/fd/9/secret'
[ "$rc" != 0 ] && [ -z "$out" ] || fail "fd 9 reached exec's process: rc $rc, $out"
ok exec "$n" sh -c 'cat /proc/1/fd/9/secret 2>/dev/null; ls /proc/1/fd'
[ "$(echo $out)" = "0 1 2" ] || fail "run -d's process holds more than 0-2: $out"
ok rm -f "$n"
# --init's reaper under a profile that refuses close_range (an older
# docker profile does, with EPERM) still keeps only 0-2.
cat >"$TESTTMP/no-close-range.json" <<'J'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO"}]}
J
leak run --rm --init --security-opt "seccomp=$TESTTMP/no-close-range.json" bb sh -c 'ls /proc/1/fd'
[ "$rc" = 0 ] && [ "$(echo $out)" = "0 1 2" ] || fail "--init without close_range: rc $rc, pid 1 holds $out"
# A caller that closed its stdout: cowbox's own files must not take fd 1
# (the store's directory would be the stdout of --init's command and of
# its pid 1, whose fds the container cannot read: see below).
set +e
"$COWBOX" run --rm --init bb sh -c 'x=$(readlink /proc/$$/fd/1); echo "$x" >&2' >&- 2>"$TESTTMP/.err"
rc=$?
set -e
[ "$rc" = 0 ] && [ "$(cat "$TESTTMP/.err")" = /dev/null ] ||
	fail "with stdout closed: rc $rc, $(cat "$TESTTMP/.err")"
# A detached container's supervisor keeps none of the caller's fds: a
# reader of its output (here fd 3) sees the end at once.
n3=$(uniq_name)
out=$(timeout 10 "$COWBOX" run -d --name "$n3" bb sleep 60 3>&1) || fail "run -d held the caller's pipe"
ok rm -f "$n3"
# --preserve-fds N passes 3 .. N+2, and no more; they must be open.
set +e
"$COWBOX" run --rm --rootfs "$ROOT" --preserve-fds 2 sh -c 'cat /proc/self/fd/3/secret; cat <&4; ls /proc/self/fd/9 2>&1' \
	3<"$TESTTMP/hostdir" 4<"$TESTTMP/hostdir/secret" 9<"$TESTTMP/hostdir" >"$TESTTMP/.out" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] && [ "$(head -2 "$TESTTMP/.out" | tr '\n' ' ')" = "secret secret " ] ||
	fail "--preserve-fds 2: rc $rc, $(cat "$TESTTMP/.out")"
set +e
"$COWBOX" run --rm --rootfs "$ROOT" --preserve-fds 1 true 3<&- 2>"$TESTTMP/.err"
rc=$?
set -e
[ "$rc" = 125 ] && grep -q '^cowbox: --preserve-fds 1: fd 3 is not open$' "$TESTTMP/.err" ||
	fail "--preserve-fds of a closed fd: rc $rc, $(cat "$TESTTMP/.err")"
refuse 'create: --preserve-fds is for run' create --preserve-fds 1 bb true
say "fds: only 0-2 reach a container (run, --init, -d, exec) but --preserve-fds's"

# --init's pid 1 is cowbox, forked from the caller: the container sees
# neither the caller's environment nor its command line (a -e value) nor
# the host's binary (CVE-2019-5736: a container that can open its
# runtime's binary may write it later). exec into such a container gets
# the command's environment, not the caller's.
export CB_TEST_HOST_ONLY=host-secret-$$
ok run --rm --init -e CB_SECRET=hunter2 bb sh -c '
	echo "cmdline=$(tr "\0\n" "  " </proc/1/cmdline | sed "s/ *$//")"
	echo "comm=$(cat /proc/1/comm)"
	cat /proc/1/environ >/dev/null 2>&1 && echo environ-readable
	readlink /proc/1/exe >/dev/null 2>&1 && echo exe-readable
	head -c 1 /proc/1/exe >/dev/null 2>&1 && echo exe-opened
	true'
unset CB_TEST_HOST_ONLY
case "$(echo "$out" | grep '^cmdline=')" in
"cmdline=cowbox-init -- sh -c "*) ;;
*) fail "--init: pid 1's command line: $out" ;;
esac
! echo "$out" | grep -q -e hunter2 -e "$TESTTMP" -e ' run ' -e host-secret ||
	fail "--init: pid 1 shows the caller's command line: $out"
echo "$out" | grep -qx comm=cowbox-init || fail "--init: pid 1's name: $out"
! echo "$out" | grep -qx -e environ-readable -e exe-readable -e exe-opened ||
	fail "--init: the container reaches pid 1's environment or binary: $out"
n4=$(uniq_name)
CB_TEST_HOST_ONLY=host-secret ok run -d --init --name "$n4" -e CB_FOO=bar bb sleep 60
ok exec "$n4" env
echo "$out" | grep -q '^CB_FOO=bar$' && ! echo "$out" | grep -q CB_TEST_HOST_ONLY ||
	fail "exec into an --init container: environment $out"
ok rm -f "$n4"
say "--init: pid 1 shows 'cowbox-init -- CMD', no environ, no binary; exec gets the command's env"
say "security: ok"
