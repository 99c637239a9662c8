#!/bin/bash
# Port publishing: -p 8080:80 makes a busybox httpd inside the container
# answer a client in the test namespace (on the gateway address and on
# 127.0.0.1), -p with /udp carries a datagram; a host port published twice
# is refused; the DNAT rules go with the container.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"

mkdir -p "$TESTTMP/www"
echo "hello from the container" >"$TESTTMP/www/index.html"
# busybox-static's wget crashes here (static NSS); speak HTTP/1.0 over nc.
http_get() {
	printf 'GET / HTTP/1.0\r\nHost: x\r\n\r\n' | in_ns busybox nc -w 3 "$1" "$2" | sed '1,/^\r\{0,1\}$/d'
}
start web -p 8080:80 -p 5353:53/udp web -- busybox httpd -f -p 80 -h "$TESTTMP/www"
gw=$(info web gateway)
sleep 0.2

in_ns nft list chain inet cowbox published | grep -q 'dport 8080 dnat ip to .*:80 comment "ctr:web"' ||
	fail "no DNAT rule: $(in_ns nft list table inet cowbox)"
got=$(http_get "$gw" 8080) || fail "GET $gw:8080 failed"
[ "$got" = "hello from the container" ] || fail "GET $gw:8080 got '$got'"
got=$(http_get 127.0.0.1 8080) || fail "GET 127.0.0.1:8080 failed"
[ "$got" = "hello from the container" ] || fail "GET 127.0.0.1:8080 got '$got'"
say "tcp 8080 -> 80 answers on $gw and 127.0.0.1"

# UDP: a listener on 53 inside gets what is sent to 5353 outside.
# (busybox nc has no -u: python3 speaks UDP.)
need python3
in_ctr web python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
s.bind(("0.0.0.0", 53)); print(s.recv(100).decode().strip())' >"$TESTTMP/udp" &
lp=$!
sleep 0.5
in_ns python3 -c '
import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"ping-udp\n", (sys.argv[1], 5353))' "$gw"
wait $lp || true
grep -q ping-udp "$TESTTMP/udp" || fail "udp 5353 -> 53 did not arrive: '$(cat "$TESTTMP/udp")'"
say "udp 5353 -> 53 arrives"

# The same host port twice: refused with one line, nothing left of it.
set +e
harness run -p 8080:81 twice -- busybox true >"$TESTTMP/twice.out" 2>&1
rc=$?
set -e
[ "$rc" = 125 ] || fail "second -p 8080 exited $rc: $(cat "$TESTTMP/twice.out")"
grep -q "port published by container web already" "$TESTTMP/twice.out" ||
	fail "second -p 8080: $(cat "$TESTTMP/twice.out")"

stop web
got=$(http_get "$gw" 8080 2>/dev/null || true)
[ -z "$got" ] || fail "8080 still answers: $got"
no_leftovers_at_all
say "ok"
