#!/bin/bash
# Proves: `run -d` prints the full ID and returns while the container runs
# under its supervisor; `logs` has its stdout and stderr; `wait` blocks
# until it exits and prints its exit code; the supervisor unmounts the
# rootfs and removes the cgroup at exit; `stop` ends a container that
# ignores nothing (SIGTERM) and one that ignores SIGTERM (SIGKILL after -t);
# `rm` refuses a running container, `rm -f` kills and removes it with its
# state; `run -d --rm` removes itself but `wait` still gets the code;
# `run -dt` puts a pty in the log and keeps a shell waiting, `run -di`
# keeps stdin open; `logs -f` follows the log until the container exits.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb
n=$(uniq_name)

# It lives 3 s: the checks below start a python and a find each, which an
# ASan run on a loaded host took most of a second for (CI saw it end first).
ok run -d --name "$n-a" bb sh -c 'echo out; echo err >&2; sleep 3; exit 3'
id=$out
lc_track "$id"
[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "run -d did not print a full ID: $id"
[ -n "$(cgroup_dirs "$id")" ] || fail "no cgroup while running"
mounted "$id" || fail "rootfs not mounted while running"
[ "$(state_of "$id")" = running ] || fail "state is not running: $(cat /run/cowbox/$id/state)"
pid=$(state_of "$id" pid)
[ -d "/proc/$pid" ] || fail "container pid $pid is not alive"
ok wait "$n-a"
[ "$out" = 3 ] || fail "wait printed '$out', want 3"
ok logs "$n-a"
[ "$out" = "$(printf 'out\nerr')" ] || fail "logs: '$out'"
[ "$(state_of "$id")" = exited ] || fail "state after exit: $(cat /run/cowbox/$id/state)"
mounted "$id" && fail "rootfs still mounted after exit"
[ -z "$(cgroup_dirs "$id")" ] || fail "cgroup left after exit: $(cgroup_dirs "$id")"
ok wait "$n-a"
[ "$out" = 3 ] || fail "second wait printed '$out'"

# stop: SIGTERM ends a shell that traps it.
ok run -d --name "$n-b" bb sh -c 'trap "exit 42" TERM; while :; do sleep 0.1; done'
lc_track "$out"
sleep 0.3
start=$(date +%s%N)
ok stop "$n-b"
[ "$out" = "$n-b" ] || fail "stop printed '$out'"
ok wait "$n-b"
[ "$out" = 42 ] || fail "after stop: exit code '$out', want 42 (the TERM trap)"
# stop -t: a process that ignores SIGTERM is killed after the timeout.
ok run -d --name "$n-c" bb sh -c 'trap "" TERM; while :; do sleep 0.1; done'
lc_track "$out"
sleep 0.3
start=$(date +%s)
ok stop -t 1 "$n-c"
el=$(($(date +%s) - start))
[ "$el" -le 5 ] || fail "stop -t 1 took ${el}s"
ok wait "$n-c"
[ "$out" = 137 ] || fail "stop -t 1 of a TERM-ignoring process: '$out', want 137"

# rm refuses a running container; -f kills and removes it with its state.
ok run -d --name "$n-d" bb sleep 100
idd=$out
lc_track "$idd"
refuse "rm $n-d: container is running" rm "$n-d"
ok ps -q
echo "$out" | grep -qx "${idd:0:12}" || fail "refused rm changed something: ps says $out"
ok rm -f "$n-d"
[ ! -e "/run/cowbox/$idd" ] || fail "rm -f left the state directory"
mounted "$idd" && fail "rm -f left the rootfs mounted"
[ -z "$(cgroup_dirs "$idd")" ] || fail "rm -f left the cgroup"
cb logs "$n-d"
[ "$rc" = 125 ] || fail "the container is still known after rm -f"

# --rm: the supervisor removes the container; wait still has the code.
ok run -d --rm --name "$n-e" bb sh -c 'sleep 0.5; exit 9'
ide=$out
lc_track "$ide"
ok wait "$n-e"
[ "$out" = 9 ] || fail "wait on --rm: '$out', want 9"
until_true 5 eval '! "$COWBOX" ps -aq | grep -q "${ide:0:12}"' || fail "--rm container still listed"
mounted "$ide" && fail "--rm left the rootfs mounted"

# -t: a pty whose output goes to the log; nothing is typed into it, so a
# shell waits (docker's `run -dt`). -i: stdin stays open (no EOF).
ok run -dt --name "$n-g" bb sh -c 'tty; exec sh'
idg=$out
lc_track "$idg"
ok run -di --name "$n-h" bb sh
idh=$out
lc_track "$idh"
sleep 0.5
[ "$(state_of "$idg")" = running ] || fail "run -dt sh exited"
[ "$(state_of "$idh")" = running ] || fail "run -di sh exited (stdin at EOF?)"
until_true 5 eval '"$COWBOX" logs "$idg" | grep -q "^/dev/pts/0"' ||
	fail "run -dt: no tty in the log: $("$COWBOX" logs "$idg" | od -c | head -3)"
ok rm -f "$n-g" "$n-h"

# logs -f follows the log and returns when the container has exited.
ok run -d --name "$n-i" bb sh -c 'for i in 1 2 3; do echo line $i; sleep 0.3; done'
idi=$out
lc_track "$idi"
ok logs -f "$n-i"
[ "$out" = "$(printf 'line 1\nline 2\nline 3')" ] || fail "logs -f: '$out'"
[ "$(state_of "$idi")" = exited ] || fail "logs -f returned while the container ran"

# A failed start reports like run and leaves nothing running.
cb run -d --name "$n-f" bb nosuchcommand
[ "$rc" = 127 ] || fail "run -d of a missing command: rc $rc, want 127 ($err)"
ok rm "$n-f" "$n-a" "$n-b" "$n-c" "$n-i"
grep -q "$COWBOX_ROOT" /proc/self/mountinfo && fail "a mount is left"
store_check
