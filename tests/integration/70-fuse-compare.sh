#!/bin/sh
# cowbox-fuse against the kernel overlayfs: the same lower layers, the
# same changes made through each mount; the merged views, the upper dirs
# (whiteouts, opaque dirs) and the errnos must be the same. Then each
# upper dir is mounted by the other driver (a stopped container can be
# mounted by either) and must show the same view again.
. "$(dirname "$0")/fuse-standalone.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fuse-lib.sh"
fuse_lib_init
kernel_overlay_ok || skip "needs overlayfs in the kernel"

T=$FUSE_T
make_lowers "$T"
L="$T/l2:$T/l1"
mkdir -p "$T/k/upper" "$T/k/work" "$T/k/mnt" "$T/f/upper" "$T/f/work" "$T/f/mnt"
mount_kernel "$L" "$T/k/upper" "$T/k/work" "$T/k/mnt"
mount_cbfuse "$L" "$T/f/upper" "$T/f/work" "$T/f/mnt"

say "before any change"
"$LIST_TREE" "$T/k/mnt" >"$T/k.0"
"$LIST_TREE" "$T/f/mnt" >"$T/f.0"
same_tree "untouched merged views" "$T/k.0" "$T/f.0"
grep -q '^/etc/to-delete ' "$T/f.0" && fail "whiteout did not hide /etc/to-delete"
grep -q '^/opt/replaced/old-a ' "$T/f.0" && fail "opaque dir did not hide /opt/replaced/old-a"

say "the same changes through both"
fs_ops "$T/k/mnt" "$T/k.ops"
fs_ops "$T/f/mnt" "$T/f.ops"
same_tree "results of calls" "$T/k.ops" "$T/f.ops"
grep -q 'readdir-ino-mismatch 0' "$T/f.ops" || fail "readdir inode numbers differ from stat's"
"$LIST_TREE" "$T/k/mnt" >"$T/k.1"
"$LIST_TREE" "$T/f/mnt" >"$T/f.1"
same_tree "changed merged views" "$T/k.1" "$T/f.1"
[ "$(stat -c %s "$T/f/mnt/srv/sparse")" = 8388608 ] || fail "sparse file size changed"
cmp "$T/l1/srv/sparse" "$T/f/mnt/srv/sparse" || fail "sparse file content changed by copy-up"
cmp "$T/l1/bin/busybox" "$T/f/mnt/bin/busybox-hardlink" || fail "hardlinked copy-up differs"

say "upper dirs"
umount "$T/k/mnt"
"$CB_FUSE_MOUNT" --unmount "$T/f/mnt" || fail "unmount of the fuse mount failed"
list_upper "$T/k/upper" >"$T/k.upper"
list_upper "$T/f/upper" >"$T/f.upper"
same_tree "upper dirs" "$T/k.upper" "$T/f.upper"
[ -z "$(ls -A "$T/f/work/cowbox-fuse" 2>/dev/null)" ] || fail "work dir not cleaned"

say "swap: each upper dir under the other driver"
mount_kernel "$L" "$T/f/upper" "$T/f/work" "$T/k/mnt"
mount_cbfuse "$L" "$T/k/upper" "$T/k/work" "$T/f/mnt"
"$LIST_TREE" "$T/k/mnt" >"$T/k.2"
"$LIST_TREE" "$T/f/mnt" >"$T/f.2"
same_tree "fuse-written upper under the kernel" "$T/k.1" "$T/k.2"
same_tree "kernel-written upper under cowbox-fuse" "$T/k.1" "$T/f.2"
grep -q "^/srv/setgid-dir/inherits f 0644 0 50 " "$T/f.1" || fail "new file in a set-gid dir did not take its group"
grep -q "^/srv/setgid-dir/sub d 2755 0 50 " "$T/f.1" || fail "new dir in a set-gid dir did not inherit it"
say "ok"
