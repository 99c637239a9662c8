#!/bin/bash
# Bridge networking: two containers on the default network reach each
# other (ping, nc both ways) and their gateway; each gets eth0 with an
# address of 10.87.0.0/16 and a default route; /etc/hosts names the
# container; `network ls`/`inspect` show them; afterwards no container
# leftovers, the bridge stays until `network rm cowbox0`, then nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"

start c1 --network bridge --name web c1 -- busybox sleep 600
start c2 --network bridge c2 -- busybox sleep 600
a1=$(addr_of c1) a2=$(addr_of c2) gw=$(info c1 gateway)
say "c1=$a1 c2=$a2 gateway=$gw"
[ "$a1" != "$a2" ] || fail "same address twice: $a1"
case "$a1$a2" in 10.87.*10.87.*) ;; *) fail "addresses outside 10.87.0.0/16: $a1 $a2" ;; esac
[ "$gw" = 10.87.0.1 ] || fail "gateway $gw"

# Inside: lo and eth0 only, eth0 up with the address, default via gateway.
links=$(in_ctr c1 ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')
[ "$links" = "eth0 lo " ] || fail "links in c1: $links"
in_ctr c1 ip -o -4 addr show dev eth0 | grep -q "inet $a1/16" || fail "eth0 has no $a1/16"
in_ctr c1 ip route show default | grep -q "via $gw dev eth0" || fail "no default route via $gw"
in_ctr c1 ip -o link show lo | grep -q "UP" || fail "lo is down"

# Reachability.
in_ctr c1 busybox ping -c1 -W2 "$gw" >/dev/null || fail "c1 cannot ping its gateway"
in_ctr c1 busybox ping -c1 -W2 "$a2" >/dev/null || fail "c1 cannot ping c2"
in_ctr c2 busybox ping -c1 -W2 "$a1" >/dev/null || fail "c2 cannot ping c1"
in_ns busybox ping -c1 -W2 "$a1" >/dev/null || fail "the host side cannot ping c1"

# nc both ways: a listener in one container, a client in the other.
in_ctr c2 busybox nc -l -p 9000 >"$TESTTMP/got2" &
lp=$!
sleep 0.3
echo hello-from-c1 | in_ctr c1 busybox nc -w 2 "$a2" 9000 || true
wait $lp || true
[ "$(cat "$TESTTMP/got2")" = hello-from-c1 ] || fail "c2 got '$(cat "$TESTTMP/got2")' over nc"
in_ctr c1 busybox nc -l -p 9001 >"$TESTTMP/got1" &
lp=$!
sleep 0.3
echo hello-from-c2 | in_ctr c2 busybox nc -w 2 "$a1" 9001 || true
wait $lp || true
[ "$(cat "$TESTTMP/got1")" = hello-from-c2 ] || fail "c1 got '$(cat "$TESTTMP/got1")' over nc"

# /etc/hosts content for the container: its address, its id and name.
grep -q "^$a1	c1 web$" "$TESTTMP/ctr/c1.hosts" || fail "hosts: $(cat "$TESTTMP/ctr/c1.hosts")"
grep -q "^127.0.0.1	localhost$" "$TESTTMP/ctr/c1.hosts" || fail "hosts lacks localhost"
grep -q "^$gw	host.containers.internal$" "$TESTTMP/ctr/c1.hosts" || fail "hosts lacks the gateway"

# The CLI sees both.
ok network ls
printf '%s\n' "$out" | grep -Eq '^cowbox0 +10\.87\.0\.0/16 +10\.87\.0\.1 +cowbox0 +2$' ||
	fail "network ls: $out"
ok network inspect cowbox0
printf '%s\n' "$out" | grep -q "\"address\": \"$a1\"" || fail "inspect lacks $a1: $out"
printf '%s\n' "$out" | grep -q '"name": "web"' || fail "inspect lacks the name web"

# The network stays in use while one container is left.
refuse '^cowbox: network rm cowbox0: network cowbox0 is in use by container' network rm cowbox0
stop c1
in_ctr c2 busybox ping -c1 -W2 "$gw" >/dev/null || fail "c2 lost its gateway"
stop c2
no_leftovers
# The bridge stays for the next container (like docker0) until rm/prune.
in_ns ip link show cowbox0 >/dev/null 2>&1 || fail "bridge gone after the last container"
ok network rm cowbox0
no_leftovers all
say "ok"
