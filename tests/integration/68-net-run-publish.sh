#!/bin/bash
# Proves: `cowbox run -p HOSTPORT:CTRPORT` (with no --network: -p alone
# means the bridge) makes a busybox httpd inside the container answer a
# client in the test namespace, on the gateway address and on 127.0.0.1,
# for `run --rootfs` and `run IMAGE`; -p/udp carries a datagram; a host
# port already published is refused with one line and leaves nothing; -p
# with --network none is refused; when the containers end, their DNAT
# rules, leases and veths are gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"
. "$(dirname "$0")/net-run-lib.sh"
make_rootfs

# busybox-static's wget crashes here (static NSS); speak HTTP/1.0 over nc.
http_get() {
	printf 'GET / HTTP/1.0\r\nHost: x\r\n\r\n' | in_ns busybox nc -w 3 "$1" "$2" | sed '1,/^\r\{0,1\}$/d'
}
# wait_get HOST PORT: GET until it answers (the server starts after exec).
wait_get() {
	for _ in $(seq 60); do
		got=$(http_get "$1" "$2" 2>/dev/null || true)
		[ -n "$got" ] && break
		sleep 0.05
	done
}

bg web --rootfs "$ROOT" --init -p 8080:80 -p 5353:53/udp sh -c 'exec httpd -f -p 80 -h /www'
wait_addr web >/dev/null
in_ns nft list chain inet cowbox published | grep -q 'dport 8080 dnat ip to .*:80 comment "ctr:' ||
	fail "no DNAT rule: $(in_ns nft list table inet cowbox)"
wait_get 10.87.0.1 8080
[ "$got" = "hello from the container" ] || fail "GET 10.87.0.1:8080 got '$got'"
wait_get 127.0.0.1 8080
[ "$got" = "hello from the container" ] || fail "GET 127.0.0.1:8080 got '$got'"
say "run --rootfs -p 8080:80: httpd answers on the gateway and 127.0.0.1"

# UDP: a listener on 53 in web's namespace gets what is sent to 5353.
nsenter -t "$(ctr_pid web)" -n python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
s.bind(("0.0.0.0", 53)); print(s.recv(100).decode().strip())' >"$TESTTMP/udp" &
lp=$!
sleep 0.3
in_ns python3 -c '
import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"ping-udp\n", ("10.87.0.1", 5353))'
wait $lp || true
grep -q ping-udp "$TESTTMP/udp" || fail "udp 5353 -> 53 did not arrive: '$(cat "$TESTTMP/udp")'"
say "-p 5353:53/udp carries a datagram"

# The same host port again: refused, one line, exit 125, no lease left.
crefuse "port published by container web already" run --rootfs "$ROOT" --rm -p 8080:81 true
[ -z "$(lease_field twice address)" ] || fail "the refused start kept a lease"
crefuse "-p needs a bridge network" run --rootfs "$ROOT" --rm --network none -p 8081:80 true
crefuse "^cowbox: -p 99999:80: host port 99999" run --rootfs "$ROOT" --rm -p 99999:80 true

# run IMAGE with -p, next to the first one.
ok import "$FIXTURES/busybox-gzip.oci" bb
mkdir -p "$TESTTMP/www2"
echo "hello from the image" >"$TESTTMP/www2/index.html"
bg img --init -p 8081:80 -v "$TESTTMP/www2:/www:ro" bb sh -c 'exec httpd -f -p 80 -h /www'
wait_addr img >/dev/null
wait_get 10.87.0.1 8081
[ "$got" = "hello from the image" ] || fail "GET 10.87.0.1:8081 (run IMAGE) got '$got'"
wait_get 10.87.0.1 8080
[ "$got" = "hello from the container" ] || fail "8080 changed under a second container: '$got'"
say "run IMAGE -p 8081:80 answers beside it"

stop_bg web
stop_bg img
got=$(http_get 10.87.0.1 8080 2>/dev/null || true)
[ -z "$got" ] || fail "8080 still answers: $got"
no_leftovers
no_leftovers_at_all
say "ok"
