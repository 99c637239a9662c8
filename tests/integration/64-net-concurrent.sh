#!/bin/bash
# 20 containers attached at the same time on the default network get 20
# distinct addresses, all reach their gateway and each other; afterwards
# no veth, lease, route or rule is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"

N=20
for i in $(seq $N); do start "k$i" --network bridge "k$i" -- busybox sleep 600 & done
wait
for i in $(seq $N); do addr_of "k$i"; done | sort -V >"$TESTTMP/addrs"
[ "$(wc -l <"$TESTTMP/addrs")" = $N ] || fail "$(wc -l <"$TESTTMP/addrs") addresses for $N containers"
[ "$(sort -u "$TESTTMP/addrs" | wc -l)" = $N ] || fail "duplicate addresses: $(uniq -d "$TESTTMP/addrs")"
grep -qv '^10\.87\.' "$TESTTMP/addrs" && fail "address outside 10.87.0.0/16: $(cat "$TESTTMP/addrs")"
[ "$(ls "$NET_RUN/leases" | wc -l)" = $N ] || fail "leases: $(ls "$NET_RUN/leases")"
[ "$(in_ns ip -o link show type veth | wc -l)" = $N ] || fail "veths: $(in_ns ip -o link show type veth)"
for i in $(seq $N); do
	in_ctr "k$i" busybox ping -c1 -W2 10.87.0.1 >/dev/null || fail "k$i cannot reach the gateway"
done
last=$(tail -1 "$TESTTMP/addrs")
in_ctr k1 busybox ping -c1 -W2 "$last" >/dev/null || fail "k1 cannot reach $last"
say "$N distinct addresses: $(head -1 "$TESTTMP/addrs") .. $last"

# Stop them all at once too.
for i in $(seq $N); do stop "k$i" & done
wait
no_leftovers_at_all
say "ok"
