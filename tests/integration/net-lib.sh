# Sourced by the 6*-net-*.sh tests, after lib.sh. Every test works inside a
# network namespace of its own ($NS) and sends traffic only to its own
# containers and bridge there; the machine's namespace is never touched.
# Until `cowbox run` is merged, containers are net-harness children: a
# process cloned into a new network namespace and attached by the library
# exactly as the launcher will do it.
need ip nsenter nft busybox
[ "$(id -u)" = 0 ] || skip "needs root"
HARNESS=${NET_HARNESS:-$(cd "$(dirname "$COWBOX")/.." && pwd)/tests/net-harness}
[ -x "$HARNESS" ] || skip "needs the net-harness binary ($HARNESS)"

NS=cbt-$$-$(od -An -N3 -tx1 /dev/urandom | tr -d ' ')
ip netns add "$NS" || skip "cannot create a network namespace"
on_exit "ip netns del $NS"
export COWBOX_RUN_DIR="$TESTTMP/run"
NET_RUN="$COWBOX_RUN_DIR/net"
mkdir -p "$TESTTMP/ctr"
ip netns exec "$NS" ip link set lo up

in_ns() { ip netns exec "$NS" "$@"; }
# cowbox runs in the test namespace too (ok and refuse from lib.sh use cb).
cb() { set +e; in_ns "$COWBOX" "$@" >"$TESTTMP/.out" 2>"$TESTTMP/.err"; rc=$?; set -e; out=$(cat "$TESTTMP/.out"); err=$(cat "$TESTTMP/.err"); }
harness() { in_ns "$HARNESS" --run-dir "$NET_RUN" --networks-dir "$COWBOX_ROOT/networks" "$@"; }

# start ID [harness run options] -- CMD...: a container in the background.
start() {
	id=$1
	shift
	# A plain command, not a function, so $! is the harness itself (ip
	# netns exec execs it) and `stop` can signal it.
	ip netns exec "$NS" "$HARNESS" --run-dir "$NET_RUN" --networks-dir "$COWBOX_ROOT/networks" \
		run --info "$TESTTMP/ctr/$id.info" --hosts "$TESTTMP/ctr/$id.hosts" "$@" \
		>"$TESTTMP/ctr/$id.log" 2>&1 &
	echo $! >"$TESTTMP/ctr/$id.hpid"
	for _ in $(seq 100); do
		[ -f "$TESTTMP/ctr/$id.info" ] && return 0
		kill -0 "$(cat "$TESTTMP/ctr/$id.hpid")" 2>/dev/null || break
		sleep 0.05
	done
	fail "container $id did not start: $(cat "$TESTTMP/ctr/$id.log")"
}
info() { sed -n "s/^$2=//p" "$TESTTMP/ctr/$1.info"; }
pid_of() { info "$1" pid; }
addr_of() { info "$1" addr; }
# in_ctr ID CMD...: run CMD in container ID's network namespace.
in_ctr() { id=$1; shift; in_ns nsenter -t "$(pid_of "$id")" -n "$@"; }
# stop ID: end the container (SIGTERM through the harness) and wait.
stop() {
	hp=$(cat "$TESTTMP/ctr/$1.hpid")
	kill -TERM "$hp" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$hp" 2>/dev/null || return 0; sleep 0.05; done
	fail "container $1 did not stop"
}
stop_all() {
	for f in "$TESTTMP"/ctr/*.hpid; do
		[ -f "$f" ] || continue
		kill -TERM "$(cat "$f")" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
on_exit stop_all

# No veth, lease, route or nftables rule of a container is left (a veth
# goes with its container's namespace, which the kernel dismantles a
# moment after the container ends: allow it 3 s). With `all`, nothing of
# the networks either: no cowbox bridge, no route, no table.
no_leftovers() {
	for _ in $(seq 60); do
		harness leftovers ${1:+--all} >/dev/null 2>&1 && break
		sleep 0.05
	done
	left=$(harness leftovers ${1:+--all} 2>&1) || fail "leftovers: $left"
	routes=$(in_ns ip -4 route show | grep -v '^$' || true)
	[ -n "${1:-}" ] || routes=$(printf '%s\n' "$routes" | grep -v ' dev cowbox[0-9]* ' || true)
	[ -z "$routes" ] || fail "routes left: $routes"
	[ -z "$(in_ns ip -o link show type veth)" ] || fail "veths left: $(in_ns ip -o link show type veth)"
	if [ -n "${1:-}" ]; then
		[ -z "$(in_ns nft list table inet cowbox 2>/dev/null)" ] || fail "table inet cowbox left"
	else
		! in_ns nft list table inet cowbox 2>/dev/null | grep -q 'comment "ctr:' || fail "ctr rules left"
	fi
}
# Remove the networks themselves, then nothing at all may be left.
no_leftovers_at_all() {
	no_leftovers
	ok network prune
	no_leftovers all
}
