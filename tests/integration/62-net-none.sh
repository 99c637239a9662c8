#!/bin/bash
# --network none, and the default (no --network, no -p): the container's
# namespace holds only lo, and lo is up; no bridge, lease or rule is made.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"

start n1 --network none n1 -- busybox sleep 600
links=$(in_ctr n1 ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
[ "$links" = "lo " ] || fail "none: links are '$links', want only lo"
in_ctr n1 ip -o link show lo | grep -q ',UP' || fail "none: lo is not up"
in_ctr n1 busybox ping -c1 -W1 127.0.0.1 >/dev/null || fail "none: cannot ping 127.0.0.1"
[ -z "$(in_ctr n1 ip -4 route show)" ] || fail "none: has routes: $(in_ctr n1 ip -4 route show)"
[ "$(info n1 addr)" = "" ] || fail "none: got an address"
grep -q "^127.0.1.1	n1$" "$TESTTMP/ctr/n1.hosts" || fail "hosts: $(cat "$TESTTMP/ctr/n1.hosts")"
start n0 n0 -- busybox sleep 600
links=$(in_ctr n0 ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
[ "$links" = "lo " ] || fail "default: links are '$links', want only lo"
in_ns ip link show cowbox0 >/dev/null 2>&1 && fail "none made a bridge"
no_leftovers
stop n1
stop n0
no_leftovers_at_all
say "ok"
