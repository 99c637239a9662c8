#!/bin/sh
# Killing the cowbox-fuse server: processes using the mount get errors
# (ENOTCONN), never a hang, including one whose request was in flight;
# a lazy unmount then removes the dead mount even while a process still
# has its cwd in it.
. "$(dirname "$0")/fuse-standalone.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fuse-lib.sh"
fuse_lib_init
need timeout

T=$FUSE_T
make_lowers "$T"
mkdir -p "$T/upper" "$T/work" "$T/mnt"
mount_cbfuse "$T/l2:$T/l1" "$T/upper" "$T/work" "$T/mnt"
pid=$(server_pid "$T/mnt") || fail "cannot find the server of $T/mnt"
cat "$T/mnt/etc/motd" >/dev/null || fail "mount not usable"

# a process parked inside the mount, and one with a request in flight
(cd "$T/mnt/usr" && sleep 60) &
holder=$!
on_exit "kill $holder 2>/dev/null"
for i in $(seq 50); do
	[ "$(readlink /proc/$holder/cwd 2>/dev/null)" = "$T/mnt/usr" ] && break
	sleep 0.1
done
[ "$(readlink /proc/$holder/cwd)" = "$T/mnt/usr" ] || fail "holder did not enter the mount"
kill -STOP "$pid"
timeout 20 python3 -c "
import os, sys
try:
    os.listdir(sys.argv[1])
    print('no-error')
except OSError as e:
    print(e.errno)" "$T/mnt/srv" >"$T/inflight" &
reader=$!
sleep 1
kill -KILL "$pid"
wait "$reader" || fail "the reader whose request was in flight hung (or failed oddly)"
grep -Eq '^(107|103|5)$' "$T/inflight" || fail "in-flight reader got '$(cat "$T/inflight")', want ENOTCONN"

# new calls fail at once
timeout 10 stat "$T/mnt/etc/passwd" >/dev/null 2>"$T/err" && fail "stat on a dead mount succeeded"
[ $? = 124 ] && fail "stat on a dead mount hung"
grep -q "Transport endpoint is not connected" "$T/err" || fail "want ENOTCONN, got: $(cat "$T/err")"

# the mount is busy (cwd of $holder): only a lazy unmount gets rid of it
"$CB_FUSE_MOUNT" --unmount --lazy "$T/mnt" || fail "lazy unmount of a dead mount failed"
grep -q " $T/mnt " /proc/self/mounts && fail "dead mount still listed"
kill "$holder" 2>/dev/null
say "ok"
