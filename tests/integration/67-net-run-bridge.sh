#!/bin/bash
# Proves: `cowbox run --network bridge` (both `--rootfs DIR` and IMAGE)
# gives a container eth0 with an address on cowbox0 and a default route:
# it reaches its gateway, two containers reach each other (ping, and
# busybox nc carrying a line), /etc/hosts names the container and its
# address, --network container:NAME joins a running container's namespace,
# 20 concurrent runs alive at once get distinct addresses, and after the
# runs no veth, lease, route or nftables rule is left; a --sysctl naming
# eth0 is set on the interface the bridge gave. All of it inside a
# network namespace of the test's own.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"
. "$(dirname "$0")/net-run-lib.sh"
make_rootfs

# One run: address, route, gateway, /etc/hosts.
cok run --rootfs "$ROOT" --rm --name one --network bridge sh -c \
	'ip -o -4 addr show eth0; ip -4 route; cat /etc/hosts; ping -c1 -W2 10.87.0.1 >/dev/null && echo GW-OK'
addr=$(printf '%s\n' "$out" | sed -n 's/.*inet \(10\.87\.[0-9.]*\)\/16.*/\1/p')
[ -n "$addr" ] || fail "no 10.87/16 address on eth0: $out"
printf '%s\n' "$out" | grep -q '^default via 10.87.0.1 dev eth0' || fail "no default route: $out"
printf '%s\n' "$out" | grep -Eq "^$addr	[0-9a-f]{12} one$" || fail "/etc/hosts does not name one at $addr: $out"
printf '%s\n' "$out" | grep -q '^GW-OK$' || fail "gateway 10.87.0.1 did not answer: $out"
say "bridge: $addr, default route, gateway answers, /etc/hosts names it"

# A --sysctl naming the container's eth0: cowbox waits for the network
# before writing it (the interface comes from the parent mid-setup).
cok run --rootfs "$ROOT" --rm --network bridge --sysctl net.ipv4.conf.eth0.rp_filter=2 \
	cat /proc/sys/net/ipv4/conf/eth0/rp_filter
[ "$out" = 2 ] || fail "--sysctl on eth0 with a bridge: $out $err"
say "bridge: --sysctl net.ipv4.conf.eth0.* set on the attached interface"

# Two containers: a listens with nc, b pings it and sends it a line.
bg a --rootfs "$ROOT" --init --network bridge sh -c 'nc -l -p 5000 >/tmp/got & sleep 600'
a_addr=$(wait_addr a)
for _ in $(seq 100); do # a's nc listening on 5000 (0x1388)
	nsenter -t "$(ctr_pid a)" -n cat /proc/net/tcp | grep -q ':1388 00000000:0000 0A' && break
	sleep 0.05
done
cok run --rootfs "$ROOT" --rm --name b --network bridge sh -c \
	"ping -c1 -W2 $a_addr >/dev/null && echo PING-OK; echo hello-a | nc -w 2 $a_addr 5000"
[ "$out" = PING-OK ] || fail "b -> a ($a_addr): $out $err"
# What a got, seen from a's namespace through --network container:a.
cok run --rootfs "$ROOT" --rm --network container:a sh -c 'ip -o -4 addr show eth0'
printf '%s\n' "$out" | grep -q "inet $a_addr/16" || fail "container:a is not a's namespace: $out"
got=$(nsenter -t "$(ctr_pid a)" -m cat /tmp/got)
[ "$got" = hello-a ] || fail "a did not get b's line: '$got'"
say "two containers: ping and nc across cowbox0; container:a joins a"

# The same from an image, with its own name in /etc/hosts.
ok import "$FIXTURES/busybox-gzip.oci" bb
cok run --rm --name img --network bridge bb sh -c \
	"grep ' img\$' /etc/hosts; ping -c1 -W2 $a_addr >/dev/null && echo PING-OK"
printf '%s\n' "$out" | grep -q '^PING-OK$' || fail "run IMAGE -> a: $out $err"
printf '%s\n' "$out" | grep -Eq '^10\.87\.[0-9.]+	[0-9a-f]{12} img$' || fail "run IMAGE /etc/hosts: $out"
say "run IMAGE on the bridge reaches a"

# 20 concurrent runs, alive at once (each waits until all 20 wrote their
# address to a shared volume): each gets an address, all distinct.
mkdir -p "$TESTTMP/sync"
for i in $(seq 20); do
	nsenter --net="$NSPATH" "$COWBOX" run --rootfs "$ROOT" --rm --network bridge \
		-v "$TESTTMP/sync:/sync" sh -c "ip -o -4 addr show eth0 | sed -n 's/.*inet \([0-9.]*\).*/\1/p' >/sync/$i.tmp
		mv /sync/$i.tmp /sync/$i; n=0
		while [ \$(ls /sync | grep -vc tmp) -lt 20 ] && [ \$n -lt 200 ]; do sleep 0.05; n=\$((n+1)); done
		ping -c1 -W2 $a_addr >/dev/null && echo ok" >"$TESTTMP/c$i.out" 2>&1 &
	echo $! >>"$TESTTMP/cpids"
done
for p in $(cat "$TESTTMP/cpids"); do wait "$p" || fail "a concurrent run failed: $(cat "$TESTTMP"/c*.out)"; done
[ "$(cat "$TESTTMP"/c*.out | grep -c '^ok$')" = 20 ] || fail "not all 20 reached a: $(cat "$TESTTMP"/c*.out)"
[ "$(cat "$TESTTMP"/sync/* | sort -u | grep -c '^10\.87\.')" = 20 ] ||
	fail "20 concurrent runs got addresses: $(cat "$TESTTMP"/sync/* | sort | tr '\n' ' ')"
say "20 concurrent runs: 20 distinct addresses, all reach a"

stop_bg a
no_leftovers
no_leftovers_at_all
say "ok"
