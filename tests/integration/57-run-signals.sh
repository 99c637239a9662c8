#!/bin/bash
# Proves: cowbox run forwards SIGTERM, SIGINT, SIGHUP, SIGUSR1 to the
# command (its trap runs and its status comes back); a command killed by a
# signal ends with 128+N; --init runs cowbox as pid 1, which forwards to the
# command (pid 2) and reaps orphaned zombies.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ROOT=$TESTTMP/rootfs
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp"
cp /bin/busybox "$ROOT/bin/" || skip "needs /bin/busybox (busybox-static)"
for a in $("$ROOT/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOT/bin/$a"; done
printf "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n" >"$ROOT/etc/passwd"
printf "root:x:0:\napp:x:1000:\n" >"$ROOT/etc/group"
for sig in TERM INT HUP USR1; do
	"$COWBOX" run --rootfs "$ROOT" sh -c "trap 'echo got-$sig; exit 9' $sig; echo ready; while :; do sleep 0.1; done" >"$TESTTMP/o" 2>&1 &
	bg=$!
	for i in $(seq 100); do grep -q ready "$TESTTMP/o" && break; sleep 0.05; done
	kill -$sig $bg
	set +e; wait $bg; rc=$?; set -e
	[ "$rc" = 9 ] && grep -q "got-$sig" "$TESTTMP/o" || fail "SIG$sig not forwarded: rc $rc, $(cat "$TESTTMP/o")"
done

# --init: the command is pid 2; a TERM reaches it; its death by signal is 128+15.
"$COWBOX" run --rootfs "$ROOT" --init sh -c 'echo $$ >/tmp/pid; exec sleep 30' >"$TESTTMP/o" 2>&1 &
bg=$!
sleep 0.5
kill -TERM $bg
set +e; wait $bg; rc=$?; set -e
[ "$rc" = 143 ] || fail "--init: TERM gave $rc, want 143"
ok run --rootfs "$ROOT" --init sh -c 'echo $$'
[ "$out" = 2 ] || fail "--init: command pid $out, want 2"
# An orphan zombie is reaped by the init: after its parent exits, it is gone.
ok run --rootfs "$ROOT" --init sh -c '(sleep 0.1 &) ; sleep 0.5; ps -o stat,comm | grep -c "^Z" || true'
[ "$out" = 0 ] || fail "--init left zombies: $out"
cb run --rootfs "$ROOT" sh -c 'kill -KILL $$'
say "(pid 1 without --init ignores its own KILL, as in docker: rc $rc)"
say "signals: ok"
