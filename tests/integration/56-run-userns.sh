#!/bin/bash
# Proves: --userns MAP makes a user namespace whose uid and gid maps the
# parent writes (several ranges; --gidmap apart); root inside is not root
# outside: it cannot write a host-root-owned 0644 file bound in, and files
# it creates on a volume belong to the mapped host uid; /proc, /dev and
# /sys work (with --net host too). With an image, the container's root
# owns the image's files (idmapped layers) and its writes land in the
# upper dir as the mapped host uid; --userns auto gives each running
# container its own free range of 65536 IDs, kept across starts.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
busybox_rootfs "$ROOT"
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

ok import "$FIXTURES/busybox-gzip.oci" bb
ok run --rm --userns 0:100000:65536 bb sh -c 'stat -c "%u %a" /root; touch /root/x && echo wrote; mkdir /new && echo made'
[ "$(echo $out)" = "0 700 wrote made" ] || fail "image files in a user namespace: $out"
n=$(uniq_name)
ok run -d --name "$n-a" --userns auto bb sh -c 'touch /root/a; sleep 30'
ida=$out
ok run -d --name "$n-b" --userns auto bb sleep 30
idb=$out
trap '"$COWBOX" rm -f "$ida" "$idb" >/dev/null 2>&1 || true' EXIT
pid_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "/run/cowbox/$1/state"; }
ma=$(awk '{print $1, $2, $3}' "/proc/$(pid_of "$ida")/uid_map")
mb=$(awk '{print $1, $2, $3}' "/proc/$(pid_of "$idb")/uid_map")
case "$ma" in "0 "*" 65536") ;; *) fail "--userns auto map: $ma" ;; esac
[ "$ma" != "$mb" ] || fail "two running containers got the same range: $ma"
host_a=${ma#0 }; host_a=${host_a% 65536}
until_owner() { [ "$(stat -c %u "$COWBOX_ROOT/containers/$ida/upper/root/a" 2>/dev/null)" = "$host_a" ]; }
for _ in $(seq 50); do until_owner && break; sleep 0.1; done
until_owner || fail "a file made by --userns auto root is not owned by $host_a on the host"
ok rm -f "$ida" "$idb"
trap - EXIT
# A kept container gets its range again at its next start, so what it
# wrote stays its own (root's, not nobody's).
ok create --name "$n-k" --userns auto bb sh -c 'touch /root/mine; stat -c %u /root/mine; awk "{print \$2}" /proc/self/uid_map'
ok start -a "$n-k"
first=$out
ok start -a "$n-k"
[ "$out" = "$first" ] || fail "second start: '$out', first: '$first'"
case "$(echo $first)" in "0 "*) ;; *) fail "--userns auto start: $first" ;; esac
ok rm "$n-k"
# A range is free again once its container is gone: the lowest free one
# is taken, so at most the lower of the two.
ok run --rm --userns auto bb sh -c 'cat /proc/self/uid_map'
got=$(echo $out | awk '{print $2}')
low=$(echo "$ma $mb" | awk '{print ($2 < $5 ? $2 : $5)}')
[ "$got" -le "$low" ] || fail "freed range not reused: got $got, lowest freed $low"
say "user namespace: ok"
