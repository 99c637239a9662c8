# Sourced by the 67-69 tests after lib.sh and net-lib.sh: containers are
# started by the real `cowbox run`, inside the test's network namespace
# $NS. cowbox enters it with `nsenter --net` rather than `ip netns exec`,
# which would also remount /sys and hide the cgroup hierarchies.
need nsenter python3
NSPATH=/run/netns/$NS
# crun ARGS...: cowbox in the test namespace, output in $out/$err, status in $rc.
crun() { set +e; nsenter --net="$NSPATH" "$COWBOX" "$@" >"$TESTTMP/.out" 2>"$TESTTMP/.err"; rc=$?; set -e; out=$(cat "$TESTTMP/.out"); err=$(cat "$TESTTMP/.err"); }
cok() { crun "$@"; [ "$rc" = 0 ] || fail "cowbox $* exited $rc: $err"; }
crefuse() {
	pat=$1; shift
	crun "$@"
	[ "$rc" = 125 ] || fail "cowbox $* exited $rc (want 125): $err"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "cowbox $*: want one error line, got: $err"
	printf '%s\n' "$err" | grep -Eq -- "$pat" || fail "cowbox $*: error '$err' does not match /$pat/"
}
# A busybox root filesystem directory for run --rootfs.
make_rootfs() {
	ROOT=$TESTTMP/rootfs
	mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp" "$ROOT/www"
	cp /bin/busybox "$ROOT/bin/" || skip "needs /bin/busybox (busybox-static)"
	for a in sh cat echo ip ping nc httpd sleep true hostname grep ls mv sed; do ln -sf busybox "$ROOT/bin/$a"; done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT/etc/passwd"
	echo 'root:x:0:' >"$ROOT/etc/group"
	touch "$ROOT/etc/hostname" "$ROOT/etc/hosts" "$ROOT/etc/resolv.conf"
	echo "hello from the container" >"$ROOT/www/index.html"
}
# bg NAME ARGS...: `cowbox run ARGS...` in the background, as container NAME
# (--name NAME is added); its cowbox pid in $TESTTMP/bg/NAME.pid. Returns
# once the container holds a lease or, with --network none, has started.
mkdir -p "$TESTTMP/bg"
bg() {
	local name=$1; shift
	nsenter --net="$NSPATH" "$COWBOX" run --name "$name" "$@" >"$TESTTMP/bg/$name.log" 2>&1 &
	echo $! >"$TESTTMP/bg/$name.pid"
}
# wait_addr NAME: wait for NAME's lease and print its address.
wait_addr() {
	for _ in $(seq 100); do
		a=$(lease_field "$1" address)
		[ -n "$a" ] && { echo "$a"; return 0; }
		kill -0 "$(cat "$TESTTMP/bg/$1.pid")" 2>/dev/null || break
		sleep 0.05
	done
	fail "container $1 got no address: $(cat "$TESTTMP/bg/$1.log")"
}
# lease_field NAME FIELD [NETWORK]: from `cowbox network inspect`.
lease_field() {
	nsenter --net="$NSPATH" "$COWBOX" network inspect "${3:-cowbox0}" 2>/dev/null | python3 -c '
import json, sys
for n in json.load(sys.stdin):
    for c in n["containers"]:
        if c["name"] == sys.argv[1]: print(c[sys.argv[2]])' "$1" "$2"
}
# The pid of a container started by bg (its first process: the child of cowbox).
ctr_pid() { pgrep -P "$(cat "$TESTTMP/bg/$1.pid")" | head -1; }
# stop_bg NAME: SIGTERM to cowbox (forwarded; the tests use --init) and wait.
stop_bg() {
	local p; p=$(cat "$TESTTMP/bg/$1.pid")
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.05; done
	fail "container $1 did not stop"
}
stop_all_bg() {
	for f in "$TESTTMP"/bg/*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done
	wait 2>/dev/null || true
}
on_exit stop_all_bg
