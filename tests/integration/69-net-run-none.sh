#!/bin/bash
# Proves: with `cowbox run`, --network none (and --net none, and no option
# at all) gives a namespace with only lo, up; --network host and
# ns:PATH share a namespace; junk is refused with one line; a failed
# bridge start (command not found) and a cowbox killed with SIGKILL leave
# no lease, veth or rule once the next command ran; `cowbox network move
# IFACE NAME --to NAME2` finds containers by name (a bridge container by
# its lease, a store container by its cgroup).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"
. "$(dirname "$0")/net-run-lib.sh"
make_rootfs
ok import "$FIXTURES/busybox-gzip.oci" bb

links() { printf '%s\n' "$1" | awk -F': ' '{print $2}' | sed 's/@.*//' | tr '\n' ' '; }
for net in "--network none" "--net none" "--net private" ""; do
	cok run --rootfs "$ROOT" --rm $net ip -o link
	[ "$(links "$out")" = "lo " ] || fail "'$net': links are '$(links "$out")', want only lo"
	printf '%s\n' "$out" | grep -q 'lo: <LOOPBACK,UP' || fail "'$net': lo is not up: $out"
done
cok run --rm --network none bb sh -c 'ip -o link; ip -4 route'
[ "$(links "$(printf '%s\n' "$out" | grep '^[0-9]')")" = "lo " ] || fail "run IMAGE none: $out"
printf '%s\n' "$out" | grep -q '^default' && fail "none has a default route: $out"
in_ns ip link show cowbox0 >/dev/null 2>&1 && fail "--network none made a bridge"
say "none, --net none, the default: only lo, up"

want=$(links "$(in_ns ip -o link)")
cok run --rootfs "$ROOT" --rm --network host ip -o link
[ "$(links "$out")" = "$want" ] || fail "host: '$(links "$out")', want '$want'"
cok run --rootfs "$ROOT" --rm --network "ns:$NSPATH" ip -o link
[ "$(links "$out")" = "$want" ] || fail "ns:PATH: '$(links "$out")', want '$want'"
say "host and ns:PATH share the namespace"

crefuse "^cowbox: --network bad/name: want none, host, bridge" run --rootfs "$ROOT" --rm --network bad/name true
crefuse "^cowbox: run: nosuch: no such container" run --rootfs "$ROOT" --rm --network container:nosuch true
crefuse "^cowbox: run: network nonet" run --rootfs "$ROOT" --rm --network nonet true

# A failed start on the bridge: 127, and nothing of it stays.
crun run --rootfs "$ROOT" --rm --network bridge /no/such
[ "$rc" = 127 ] || fail "bridge, command not found: rc $rc ($err)"
no_leftovers
# cowbox killed with SIGKILL: the container dies with it (PDEATHSIG); the
# next command cleans the lease, its rules and what the kernel left.
bg k --rootfs "$ROOT" -p 8090:80 sleep 600
wait_addr k >/dev/null
kill -KILL "$(cat "$TESTTMP/bg/k.pid")"
wait "$(cat "$TESTTMP/bg/k.pid")" 2>/dev/null || true
sleep 0.2
cok network ls
no_leftovers
say "a failed start and a killed cowbox leave nothing"

# network move by names.
bg m1 --rootfs "$ROOT" --init --network bridge sleep 600
wait_addr m1 >/dev/null
bg m2 --rm --init bb sleep 600
for _ in $(seq 100); do [ -n "$(ctr_pid m2)" ] && break; sleep 0.05; done
sleep 0.3
p1=$(ctr_pid m1) p2=$(ctr_pid m2)
IF=cbtmove0
if in_ns ip link add "$IF" type dummy 2>/dev/null; then :
elif in_ns ip link add "$IF" type ifb 2>/dev/null; then :
else skip "kernel has neither dummy nor ifb interfaces"; fi
cok network move "$IF" m1
nsenter -t "$p1" -n ip -o link show "$IF" | grep -q ',UP' || fail "$IF not up in m1"
cok network move "$IF" m1 --to m2
nsenter -t "$p1" -n ip link show "$IF" >/dev/null 2>&1 && fail "$IF still in m1"
nsenter -t "$p2" -n ip -o link show "$IF" | grep -q ',UP' || fail "$IF not up in m2"
crefuse "network move $IF: nosuch: no such container" network move "$IF" nosuch
cok run --rootfs "$ROOT" --rm --network container:m2 ip -o link show "$IF"
say "network move $IF m1, then --to m2, by name; container:m2 sees it"

stop_bg m1
stop_bg m2
no_leftovers
no_leftovers_at_all
say "ok"
