#!/bin/bash
# Proves: with the default namespaces the command is pid 1 and `ps` sees
# only the container; it has its own hostname, IPC and network (only lo,
# up); host mounts are invisible; /proc/self/cgroup shows its own cgroup
# root; /sys is read-only; runc's masked paths are masked and its read-only
# paths read-only, --security-opt unmask=/mask= (podman's) change which;
# --no-ns, --net=host, ns:PATH and container:C (pid, ipc, uts) share what
# they name.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
busybox_rootfs "$ROOT"  # then this test's own users and groups:
echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT/etc/passwd"
echo 'root:x:0:' >"$ROOT/etc/group"

# A host mount that must not show inside.
mkdir -p "$TESTTMP/hostmnt"
mount -t tmpfs cbtest-hostonly "$TESTTMP/hostmnt"
on_exit umount -l "$TESTTMP/hostmnt"

ok run --rootfs "$ROOT" ps -o pid,comm
[ "$(echo $out)" = "PID COMMAND 1 ps" ] || fail "ps is not pid 1 alone: $out"

ok run --rootfs "$ROOT" --hostname iso1 hostname
[ "$out" = iso1 ] || fail "hostname: $out"
[ "$(hostname)" != iso1 ] || fail "host hostname changed"

for ns in ipc net uts pid mnt cgroup; do
	ok run --rootfs "$ROOT" readlink /proc/self/ns/$ns
	[ "$out" != "$(readlink /proc/self/ns/$ns)" ] || fail "$ns namespace is the host's"
done

ok run --rootfs "$ROOT" sh -c 'ip -o link | cut -d: -f2'
[ "$(echo $out)" = lo ] || fail "net has more than lo: $out"
ok run --rootfs "$ROOT" sh -c 'ip -o link show lo'
echo "$out" | grep -q 'UP' || fail "lo is not up: $out"

ok run --rootfs "$ROOT" cat /proc/self/mountinfo
! echo "$out" | grep -q cbtest-hostonly || fail "a host mount is visible"

ok run --rootfs "$ROOT" cat /proc/self/cgroup
echo "$out" | grep -Eq '^[0-9]+:(memory|pids|):/$' || fail "own cgroup root not shown: $out"

cb run --rootfs "$ROOT" touch /sys/kernel/x
[ "$rc" != 0 ] || fail "/sys is writable"
ok run --rootfs "$ROOT" sh -c 'for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
	[ ! -e $p ] || [ -c $p ] || echo "unmasked $p"; done
	for d in /proc/acpi /proc/asound /proc/scsi /sys/firmware /sys/devices/virtual/powercap; do
		[ ! -e $d ] || [ -z "$(ls -A $d)" ] || echo "unmasked $d"
		[ ! -e $d ] || ! touch $d/x 2>/dev/null || echo "writable mask on $d"; done'
[ -z "$out" ] || fail "masked paths: $out"
cb run --rootfs "$ROOT" sh -c 'echo 1 >/proc/sys/kernel/domainname'
[ "$rc" != 0 ] || fail "/proc/sys is writable"
ok run --rootfs "$ROOT" --privileged sh -c 'grep -c " /proc/keys " /proc/self/mountinfo || true'
[ "$out" = 0 ] || fail "--privileged still masks /proc/keys"

# --security-opt (podman's): unmask= leaves the paths it names (patterns)
# as they are and masks the rest; unmask=ALL and docker's
# systempaths=unconfined mask none; mask= masks more, a directory with an
# empty read-only tmpfs and a file with /dev/null, --privileged too; a
# path that is not there is left alone; a bad list is refused by name.
masks='grep -c " /proc/[^ ]* " /proc/self/mountinfo || true'
ok run --rootfs "$ROOT" sh -c "$masks"
n_default=$out
[ "$n_default" -ge 4 ] || fail "only $n_default masks under /proc"
ok run --rootfs "$ROOT" --security-opt unmask=/proc/keys:/proc/sys sh -c "$masks"'
	grep -c " /proc/keys " /proc/self/mountinfo || true
	grep -c " /proc/sys " /proc/self/mountinfo || true
	grep -c " /proc/timer_list " /proc/self/mountinfo || true'
[ "$out" = "$((n_default - 2))
0
0
1" ] || fail "unmask=/proc/keys:/proc/sys: $out (default $n_default masks)"
ok run --rootfs "$ROOT" --security-opt 'unmask=/sys/*' sh -c \
	'grep -c " /sys/firmware " /proc/self/mountinfo || true
	grep -c " /proc/keys " /proc/self/mountinfo || true'
[ "$out" = "0
1" ] || fail "unmask=/sys/*: $out"
for opt in unmask=ALL systempaths=unconfined; do
	ok run --rootfs "$ROOT" --security-opt $opt sh -c "$masks"
	[ "$out" = 0 ] || fail "--security-opt $opt: $out masks under /proc"
done
echo secret >"$ROOT/secret.txt"
ok run --rootfs "$ROOT" --security-opt mask=/etc:/secret.txt:/no/such --privileged sh -c '
	ls -A /etc | wc -l; touch /etc/x 2>/dev/null && echo writable
	[ -c /secret.txt ] && echo "secret.txt is /dev/null"; cat /secret.txt'
[ "$out" = "0
secret.txt is /dev/null" ] || fail "mask=/etc:/secret.txt:/no/such: $out"
[ -s "$ROOT/etc/passwd" ] && [ "$(cat "$ROOT/secret.txt")" = secret ] ||
	fail "mask= touched the rootfs"
for bad in mask= mask=etc mask=/ mask=/a/../b mask=/a::/b unmask=/x/..; do
	refuse "--security-opt $bad" run --rootfs "$ROOT" --security-opt "$bad" true
done

# Sharing: --no-ns net and --net=host see the host's interfaces.
host_links=$(ip -o link 2>/dev/null | wc -l || echo 0)
for opt in "--no-ns net" "--net=host"; do
	ok run --rootfs "$ROOT" $opt sh -c 'ip -o link | wc -l'
	[ "$out" = "$host_links" ] || fail "$opt: $out links, host has $host_links"
done
ok run --rootfs "$ROOT" --ns mnt,pid readlink /proc/self/ns/uts
[ "$out" = "$(readlink /proc/self/ns/uts)" ] || fail "--ns mnt,pid made a uts namespace"
touch "$TESTTMP/utsns"
unshare --uts="$TESTTMP/utsns" hostname joined-uts
on_exit umount "$TESTTMP/utsns"
ok run --rootfs "$ROOT" --uts "ns:$TESTTMP/utsns" hostname
[ "$out" = joined-uts ] || fail "--uts ns:PATH did not join: $out"
ok run --rootfs "$ROOT" --pid host sh -c 'ps -o pid | wc -l'
[ "$out" -gt 3 ] || fail "--pid host does not see host processes"
# --pid/--ipc/--uts container:C join C's, as docker's do (a debugger
# container beside C, with its own rootfs); C's own hostname stays.
ok import "$FIXTURES/busybox-gzip.oci" bb
n=$(uniq_name)
ok run -d --name "$n" --hostname iso-c bb sleep 60
on_exit "$COWBOX" rm -f "$n"
cpid=$("$COWBOX" inspect "$n" | sed -n 's/.*"Pid": *\([0-9]*\).*/\1/p' | head -1)
[ -n "$cpid" ] || fail "inspect $n: no Pid"
ok run --rootfs "$ROOT" --pid "container:$n" sh -c 'tr "\0" " " </proc/1/cmdline'
[ "$out" = "sleep 60 " ] || fail "--pid container:$n: pid 1 is $out"
for ns in ipc uts pid; do
	ok run --rootfs "$ROOT" --$ns "container:$n" readlink /proc/self/ns/$ns
	[ "$out" = "$(readlink /proc/$cpid/ns/$ns)" ] || fail "--$ns container:$n: in $out"
done
ok run --rootfs "$ROOT" --uts "container:$n" --hostname other hostname
[ "$out" = iso-c ] || fail "--uts container:$n: hostname $out"
ok exec "$n" hostname
[ "$out" = iso-c ] || fail "$n's hostname changed: $out"
cb run --rootfs "$ROOT" --ipc container:cbt-no-such-ctr true
[ "$rc" = 125 ] && echo "$err" | grep -q 'ipc container:cbt-no-such-ctr: no such container running' ||
	fail "--ipc container:missing: rc $rc, $err"
say "isolation: ok"
