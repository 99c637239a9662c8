#!/bin/bash
# cowbox network move: a virtual interface made in the test namespace
# moves into a running container (by pid) and comes up there, then on to
# a second container (--to, by /proc/PID/ns/net); bad names and targets
# are refused with one line and exit 125; a virtual interface is
# destroyed with the container that holds it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"

start m1 --network none m1 -- busybox sleep 600
start m2 --network none m2 -- busybox sleep 600
p1=$(pid_of m1) p2=$(pid_of m2)

# A dummy when the kernel has it, else ifb (also a plain virtual device).
IF=cbtmove0
if in_ns ip link add "$IF" type dummy 2>/dev/null; then kind=dummy
elif in_ns ip link add "$IF" type ifb 2>/dev/null; then kind=ifb
else skip "kernel has neither dummy nor ifb interfaces"; fi
say "moving a $kind interface"

ok network move "$IF" "$p1"
in_ns ip link show "$IF" >/dev/null 2>&1 && fail "$IF still in the test namespace"
in_ctr m1 ip -o link show "$IF" | grep -q ',UP' || fail "$IF not up in m1: $(in_ctr m1 ip -o link show)"

ok network move "$IF" "$p1" --to "/proc/$p2/ns/net"
in_ctr m1 ip link show "$IF" >/dev/null 2>&1 && fail "$IF still in m1"
in_ctr m2 ip -o link show "$IF" | grep -q ',UP' || fail "$IF not up in m2"

refuse "network move nosuch0: interface nosuch0: no such interface" network move nosuch0 "$p1"
refuse "network move $IF: .*no such interface in the source container" network move "$IF" "$p1" --to "$p2"
refuse "network move $IF: 999999999: open /proc/999999999/ns/net" network move "$IF" 999999999
refuse "network move $IF: web: no such container" network move "$IF" web
refuse "not a network namespace" network move "$IF" "ns:/proc/$p1/ns/uts"
refuse "lo: loopback cannot move" network move lo "$p1"
# A name taken in the target: the interface stays where it was.
in_ns ip link add "$IF" type "$kind"
refuse "the target has one of that name" network move "$IF" "$p2"
in_ns ip link show "$IF" >/dev/null 2>&1 || fail "$IF vanished after a refused move"
in_ns ip link del "$IF"

# The container ends: its virtual interface goes with it, not back here.
stop m2
sleep 0.2
in_ns ip link show "$IF" >/dev/null 2>&1 && fail "$IF came back to the test namespace"
stop m1
no_leftovers_at_all
say "ok"
