#!/bin/sh
# The mount-side C API through its test driver: the mount is usable as
# soon as cb_fuse_mount returns, unmount makes the server exit, errors
# name what failed, and the server does not keep the caller's fds.
. "$(dirname "$0")/fuse-standalone.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fuse-lib.sh"
fuse_lib_init

T=$FUSE_T
make_lowers "$T"
mkdir -p "$T/upper" "$T/work" "$T/mnt"
# fd 7 open in the caller must not leak into the server
exec 7>"$T/caller-fd"
mount_cbfuse "$T/l2:$T/l1" "$T/upper" "$T/work" "$T/mnt"
exec 7>&-
[ "$(cat "$T/mnt/etc/motd")" = "welcome v2" ] || fail "mount not usable right after cb_fuse_mount"
pid=$(server_pid "$T/mnt") || fail "no server process"
ls -l "/proc/$pid/fd" | grep -q caller-fd && fail "server kept the caller's fd"
[ "$(stat -f -c %T "$T/mnt")" = fuseblk ] || [ "$(stat -f -c %t "$T/mnt")" = 65735546 ] ||
	fail "not a fuse mount: $(stat -f -c '%T %t' "$T/mnt")"

# mounting over a live mount point again is refused by nothing in FUSE;
# unmount of something that is not a FUSE mount is refused
"$CB_FUSE_MOUNT" --unmount "$T/upper" 2>"$T/err" && fail "unmount of a plain dir succeeded"
grep -q "Invalid argument" "$T/err" || fail "unexpected error: $(cat "$T/err")"

"$CB_FUSE_MOUNT" --unmount "$T/mnt" || fail "unmount failed"
for i in 1 2 3 4 5 6 7 8 9 10; do
	[ -d "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat")" != Z ] || break
	sleep 0.2
done
[ -d "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat")" != Z ] && fail "server still running after unmount"

# upper and work on different filesystems are refused with a clear line
mkdir -p /dev/shm/cbt-work-$$ && on_exit "rm -rf /dev/shm/cbt-work-$$"
"$CB_FUSE_MOUNT" --lower "$T/l1" --upper "$T/upper" --work /dev/shm/cbt-work-$$ "$T/mnt" 2>"$T/err" &&
	fail "mount with work on another filesystem succeeded"
grep -q "different filesystems" "$T/err" || fail "unexpected error: $(cat "$T/err")"
say "ok"
