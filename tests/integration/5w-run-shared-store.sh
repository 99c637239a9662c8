#!/bin/bash
# Proves: on a host whose mounts propagate (systemd makes / shared), a
# foreground run's rootfs is the container's alone. With the FUSE driver
# (a mount on the host, cloned for the container: as every rootfs is on a
# kernel without the new overlay API) and with the kernel's overlay, on a
# store inside a shared mount: the run succeeds, nothing the container
# mounts (proc, sys, dev...) shows on the host while it runs or after, and
# the host mount of the FUSE rootfs is gone at the end; the FUSE server
# blocks no signal.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
need timeout
S=$TESTTMP/shared-$(uniq_name)
mkdir -p "$S"
mount -t tmpfs cbt-shared "$S" || skip "cannot mount a tmpfs"
on_exit "umount -R -l '$S' 2>/dev/null"
mount --make-shared "$S"
export COWBOX_ROOT=$S/store
ok import "$FIXTURES/busybox-gzip.oci" bb

# Mounts below the store as the host sees them: "TYPE PATH" lines.
host_mounts() { awk -v s="$S/" 'index($5, s) == 1 { for (i = 7; $i != "-"; i++); print $(i + 1), $5 }' /proc/self/mountinfo; }

drivers=overlay
[ -c /dev/fuse ] && drivers="$drivers fuse"
for d in $drivers; do
	ok --storage-driver "$d" run --rm bb sh -c 'grep -q " /proc proc " /proc/mounts && echo ran'
	[ "$out" = ran ] || fail "$d: run on a shared store: $out"
	# While it runs: only the rootfs itself may show, where it is a host
	# mount (FUSE; overlay before Linux 6.8).
	"$COWBOX" --storage-driver "$d" run --rm bb sleep 3 &
	pid=$!
	on_exit "kill $pid 2>/dev/null"
	sleep 1
	during=$(host_mounts | grep -Ev '^(fuse\.cowbox|overlay) .*/merged$' || true)
	[ -z "$during" ] || fail "$d: the container's mounts show on the host: $during"
	# The FUSE server, forked while the launcher blocks signals, blocks none.
	for p in $(pgrep -f "cowbox-fuse.*$S" || true); do
		blk=$(awk '/^SigBlk:/ { print $2 }' "/proc/$p/status")
		[ "$blk" = 0000000000000000 ] || fail "$d: the FUSE server blocks signals: $blk"
	done
	wait $pid || fail "$d: the run that slept failed"
	after=$(host_mounts)
	[ -z "$after" ] || fail "$d: mounts left on the host: $after"
	say "$d: a run on a shared store keeps its mounts to itself"
done
store_check
