#!/bin/bash
# Proves: -t gives the command a pty from the container's own devpts
# (/dev/pts/0, a tty on stdin/stdout), -i passes typed input through, the
# caller's window size reaches the container (stty size), and the exit
# status comes back, driven through tmux.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
need tmux
ROOT=$TESTTMP/rootfs
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/tmp"
cp /bin/busybox "$ROOT/bin/" || skip "needs /bin/busybox (busybox-static)"
for a in $("$ROOT/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$ROOT/bin/$a"; done
printf "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n" >"$ROOT/etc/passwd"
printf "root:x:0:\napp:x:1000:\n" >"$ROOT/etc/group"
S=$(uniq_name)
on_exit tmux kill-session -t "$S" 2>/dev/null
tmux new-session -d -s "$S" -x 100 -y 30 "bash"
tmux send-keys -t "$S" "$COWBOX run --rootfs $ROOT -i -t sh -c 'tty; stty size; read line; echo got:\$line; exit 5'; echo rc=\$? >$TESTTMP/rc" Enter
for i in $(seq 100); do tmux capture-pane -p -t "$S" | grep -q '/dev/pts/0' && break; sleep 0.1; done
tmux send-keys -t "$S" "hello-tty" Enter
for i in $(seq 100); do [ -s "$TESTTMP/rc" ] && break; sleep 0.1; done
screen=$(tmux capture-pane -p -t "$S")
echo "$screen" | grep -q '^/dev/pts/0' || fail "no pty: $screen"
echo "$screen" | grep -q '^30 100' || fail "window size not synced: $screen"
echo "$screen" | grep -q 'got:hello-tty' || fail "input not passed: $screen"
[ "$(cat "$TESTTMP/rc")" = rc=5 ] || fail "exit status: $(cat "$TESTTMP/rc")"
# The caller's terminal is back in cooked mode afterwards.
tmux send-keys -t "$S" "stty -a | grep -o ' icanon' >$TESTTMP/mode" Enter
sleep 0.5
grep -q icanon "$TESTTMP/mode" || fail "terminal left in raw mode"
say "tty: ok"
