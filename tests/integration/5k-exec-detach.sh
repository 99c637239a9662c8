#!/bin/bash
# Proves: `exec -d` returns as soon as the command runs in the container
# (before it ends), the command keeps running after cowbox is gone, in the
# container's pid namespace and cgroup, and ends with the container; a
# command that cannot be found still gives 127; -d with -i or -t is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb
ok run -d --init bb sleep 60
id=$out
lc_track "$id"

t0=$(date +%s%N)
ok exec -d "$id" sh -c 'sleep 2; echo done >/tmp/marker; sleep 60'
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 1800 ] || fail "exec -d waited for the command ($ms ms)"
[ -z "$out" ] || fail "exec -d printed: $out"
cb exec "$id" cat /tmp/marker
[ "$rc" != 0 ] || fail "the marker exists before the command wrote it"

# In the container's pid namespace (its sleep is listed there) and cgroup.
ok exec "$id" ps
grep -q 'sleep 2' <<<"$out" || fail "the detached command is not in the container: $out"
pid=$(pgrep -f 'echo done >/tmp/marker' | head -1)
[ -n "$pid" ] || fail "no host pid for the detached command"
grep -q "$id" "/proc/$pid/cgroup" || fail "not in the container's cgroup: $(cat /proc/$pid/cgroup)"

for _ in $(seq 50); do
	cb exec "$id" cat /tmp/marker
	[ "$out" = done ] && break
	sleep 0.1
done
[ "$out" = done ] || fail "the detached command did not finish its work: $out"

cb exec -d "$id" nosuchcommand
[ "$rc" = 127 ] || fail "exec -d of a missing command exited $rc"
refuse 'exec -d: not with -i or -t' exec -dt "$id" true

ok stop -t 1 "$id"
! kill -0 "$pid" 2>/dev/null || fail "the detached command outlived its container"
ok rm "$id"
echo "ok: exec -d"
