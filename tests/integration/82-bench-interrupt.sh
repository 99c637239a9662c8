#!/bin/bash
# Proves: a bench interrupted with SIGINT (as Ctrl-C sends it) stops,
# kills and removes what it made, and exits 130: boot with one worker and
# with several, boot while a long command runs, and footprint while its
# containers run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bench-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb

# interrupt WAIT_S ARGS...: start cowbox ARGS, SIGINT it after WAIT_S, want 130.
interrupt() {
	local wait_s=$1
	shift
	"$COWBOX" "$@" >"$TESTTMP/int.out" 2>"$TESTTMP/int.err" &
	local pid=$!
	sleep "$wait_s"
	local rc=0 t=0
	if ! kill -INT "$pid" 2>/dev/null; then
		wait "$pid" || rc=$?
		fail "cowbox $* ended before the SIGINT (rc $rc): $(cat "$TESTTMP/int.err")"
	fi
	# At most 30 s for the clean-up.
	while kill -0 "$pid" 2>/dev/null && [ $t -lt 300 ]; do sleep 0.1; t=$((t + 1)); done
	kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; fail "cowbox $* did not stop on SIGINT"; }
	wait "$pid" || rc=$?
	[ "$rc" = 130 ] || fail "cowbox $* exited $rc after SIGINT (want 130): $(cat "$TESTTMP/int.err")"
	grep -q "interrupted" "$TESTTMP/int.err" || fail "no word of the interruption: $(cat "$TESTTMP/int.err")"
}

interrupt 1.5 bench boot -n 100000 --cgroup-parent "$CGP" bb
nothing_left "bench boot, interrupted"
interrupt 1.5 bench boot -n 100000 --parallel 3 --cgroup-parent "$CGP" bb
nothing_left "bench boot --parallel 3, interrupted"
interrupt 1.5 bench boot -n 3 --cgroup-parent "$CGP" bb sleep 1000
nothing_left "bench boot of a long command, interrupted"
interrupt 2 bench footprint -n 100000 --cgroup-parent "$CGP" bb
nothing_left "bench footprint, interrupted"
