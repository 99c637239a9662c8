#!/bin/sh
# A layer dir damaged under a live mount: its lost files give EIO (not a
# silent ENOENT), other files keep working, and the server logs one line
# naming the layer. A missing layer dir refuses the mount, naming it.
. "$(dirname "$0")/fuse-standalone.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fuse-lib.sh"
fuse_lib_init

T=$FUSE_T
make_lowers "$T"
mkdir -p "$T/upper" "$T/work" "$T/mnt"
mount_cbfuse "$T/l2:$T/l1" "$T/upper" "$T/work" "$T/mnt"
cat "$T/mnt/usr/share/doc/f10" "$T/mnt/usr/share/doc/f11" >/dev/null || fail "mount not usable"

rm -rf "$T/l1/usr/share/doc"
for i in 1 2; do
	cat "$T/mnt/usr/share/doc/f10" >/dev/null 2>"$T/err" && fail "read of a lost file succeeded"
	grep -q "Input/output error" "$T/err" || fail "want EIO for a lost file, got: $(cat "$T/err")"
	chmod 600 "$T/mnt/usr/share/doc/f11" 2>"$T/err" && fail "copy-up of a lost file succeeded"
	grep -q "Input/output error" "$T/err" || fail "want EIO for copy-up of a lost file, got: $(cat "$T/err")"
done
cat "$T/mnt/etc/passwd" >/dev/null || fail "an intact file of the damaged layer fails"
cat "$T/mnt/srv/layer2-file" >/dev/null || fail "a file of another layer fails"
[ "$(grep -c "lower layer $T/l1: " "$T/cbfuse.log")" = 1 ] ||
	fail "want one log line naming $T/l1, log: $(cat "$T/cbfuse.log")"
"$CB_FUSE_MOUNT" --unmount "$T/mnt" || fail "unmount failed"

# refused at mount time, naming the missing dir, nothing mounted
mkdir -p "$T/mnt2"
"$CB_FUSE_MOUNT" --lower "$T/l2" --lower "$T/no-such-layer" --upper "$T/upper" --work "$T/work" \
	"$T/mnt2" 2>"$T/err" && fail "mount with a missing layer succeeded"
grep -q "$T/no-such-layer: No such file or directory" "$T/err" || fail "error does not name the layer: $(cat "$T/err")"
grep -q " $T/mnt2 " /proc/self/mounts && fail "something got mounted"
say "ok"
