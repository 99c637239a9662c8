#!/bin/bash
# Proves: `cowbox export` writes a container's filesystem as a tar — its
# image's files with its changes (an added file, a made directory, a
# deleted file gone, a set-uid mode kept) — for a stopped container
# (mounted for the export and unmounted after, with the overlay and the
# FUSE driver) and for a running one, where only the root filesystem is
# written: not its volume's or tmpfs's contents, not /proc; the tar is
# what `import --rootfs` makes a runnable image of again; owners are the
# container's own ids with a user namespace (a stopped one is refused:
# its map comes at start); what the container's process does to its own
# root (chroot into a subdirectory) does not change what is exported, and
# a foreground container whose process left its rootfs is refused; hard
# links are link entries (the data once); -o FILE is 0600 and appears
# whole or not at all, also when export is killed (which leaves no mount
# either); errors are one line with exit 125.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
need tar
ok import "$FIXTURES/busybox-gzip.oci" bb

ok run --name changed bb sh -c 'echo new >/etc/newfile; rm /bin/vi; mkdir -p /opt/x;
	cp /bin/busybox /root/suid; chmod 4755 /root/suid; ln -s /etc/newfile /root/link;
	mkdir /h; dd if=/dev/zero of=/h/big bs=1024 count=1024 2>/dev/null;
	for i in $(seq 40); do ln /h/big /h/l$i; done'
ok export -o "$TESTTMP/changed.tar" changed
list=$(tar tvf "$TESTTMP/changed.tar")
names=$(tar tf "$TESTTMP/changed.tar")
grep -qx './etc/newfile' <<<"$names" || fail "export lacks the added file"
grep -qx './opt/x/' <<<"$names" || fail "export lacks the made directory"
grep -qx './bin/busybox' <<<"$names" || fail "export lacks the image's files"
! grep -qx './bin/vi' <<<"$names" || fail "export has the deleted /bin/vi"
grep -q '^-rwsr-xr-x 0/0 .* ./root/suid$' <<<"$list" || fail "set-uid mode or owner lost: $(grep suid <<<"$list")"
grep -q '^lrwxrwxrwx .* ./root/link -> /etc/newfile$' <<<"$list" || fail "symlink: $(grep link <<<"$list")"
[ "$(tar xOf "$TESTTMP/changed.tar" ./etc/newfile)" = new ] || fail "added file's content"
[ "$(grep -c ' link to ./h/' <<<"$list")" = 40 ] || fail "hard links: $(grep '/h/' <<<"$list" | head -3)"
[ "$(stat -c %s "$TESTTMP/changed.tar")" -lt $((24 << 20)) ] || fail "hard links copied: $(stat -c %s "$TESTTMP/changed.tar") bytes"
[ "$(stat -c %a "$TESTTMP/changed.tar")" = 600 ] || fail "-o FILE mode $(stat -c %a "$TESTTMP/changed.tar")"
! grep -q "$COWBOX_ROOT/containers" /proc/self/mountinfo || fail "the stopped container was left mounted"
ls "$TESTTMP" | grep -q 'tmp-' && fail "a temporary file was left: $(ls "$TESTTMP")"
say "stopped: changes in, deletion out, modes, links and hard links kept, 0600, unmounted after"

# The tar is an image again.
ok import --rootfs "$TESTTMP/changed.tar" exported:1
ok run --rm exported:1 sh -c 'cat /etc/newfile; [ ! -e /bin/vi ] && echo no-vi; stat -c %a /root/suid'
[ "$(echo $out)" = "new no-vi 4755" ] || fail "run of the re-imported export: $out"
say "import --rootfs of the export runs, with the changes"

# The FUSE driver mounts a stopped container for it the same way.
if [ -c /dev/fuse ]; then
	ok --storage-driver fuse export -o "$TESTTMP/fuse.tar" changed
	[ "$(tar tf "$TESTTMP/fuse.tar" | LC_ALL=C sort)" = "$(LC_ALL=C sort <<<"$names")" ] ||
		fail "FUSE export differs from the overlay's"
	! grep -q "$COWBOX_ROOT/containers" /proc/self/mountinfo || fail "FUSE export left a mount"
	say "FUSE driver: the same entries"
fi

# A running container: its root filesystem only.
mkdir -p "$TESTTMP/vol"
echo host-file >"$TESTTMP/vol/volfile"
ok run -d --name live -v "$TESTTMP/vol:/vol" --tmpfs /scratch bb \
	sh -c 'echo live >/root/live; echo t >/scratch/t; sleep 300'
lc_track "$out"
until_true 5 sh -c "'$COWBOX' exec live test -e /scratch/t" || fail "the container did not start"
"$COWBOX" export live >"$TESTTMP/live.tar" || fail "export of a running container: exit $?"
names=$(tar tf "$TESTTMP/live.tar")
grep -qx './root/live' <<<"$names" || fail "running export lacks the container's new file"
grep -qx './vol/' <<<"$names" || fail "running export lacks the volume's mount point"
! grep -q '^./vol/.' <<<"$names" || fail "running export has the volume's contents: $(grep '^./vol/' <<<"$names")"
! grep -q '^./scratch/.' <<<"$names" || fail "running export has the tmpfs's contents"
! grep -q '^./proc/.' <<<"$names" || fail "running export went into /proc"
! grep -q '^./dev/.' <<<"$names" || fail "running export went into /dev"
ok rm -f live
say "running: the rootfs alone (no volume, tmpfs, /proc or /dev contents)"

# Its process's root is the container's to change: export does not follow it.
ok run -d --name jail bb sh -c 'mkdir -p /tmp/x/bin && cp /bin/busybox /tmp/x/bin/sleep &&
	touch /tmp/x/only && exec chroot /tmp/x /bin/sleep 300'
lc_track "$out"
jail=$out
until_true 5 test -e "$COWBOX_ROOT/containers/$jail/merged/tmp/x/only" || fail "jail did not start"
"$COWBOX" export jail >"$TESTTMP/jail.tar" || fail "export of a chrooted container: exit $?"
names=$(tar tf "$TESTTMP/jail.tar")
grep -qx './bin/busybox' <<<"$names" && grep -qx './tmp/x/only' <<<"$names" ||
	fail "export of a chrooted container is not its rootfs: $(head -5 <<<"$names")"
ok rm -f jail
# In the foreground its rootfs is its process's only: refused when left.
"$COWBOX" run --name fgjail bb sh -c 'mkdir -p /tmp/x/bin && cp /bin/busybox /tmp/x/bin/sleep &&
	touch /tmp/x/only && exec chroot /tmp/x /bin/sleep 30' >/dev/null 2>&1 &
fg=$!
fg_jailed() {
	local p
	p=$("$COWBOX" inspect -f '{{.State.Pid}}' fgjail 2>/dev/null) && [ "${p:-0}" != 0 ] &&
		[ -e "/proc/$p/root/only" ]
}
until_true 5 fg_jailed || fail "fgjail did not start"
refuse "export: container fgjail: its process's root is not its root filesystem" export fgjail
ok kill fgjail
wait $fg || true
say "a process's chroot does not change what is exported"

# Killed while writing: no temporary file, no mount left.
ok run --name bigc bb dd if=/dev/urandom of=/big bs=1M count=200
"$COWBOX" export -o "$TESTTMP/big.tar" bigc &
ex=$!
# Stopped once its temporary file exists, then killed: mid-write however
# fast this disk takes 200 MB (a fixed sleep lost the race on a fast one).
i=0
while [ ! -e "$TESTTMP/big.tar.tmp-$ex" ] && [ $i -lt 2000 ]; do
	sleep 0.005
	i=$((i + 1))
done
kill -STOP $ex
[ -e "$TESTTMP/big.tar.tmp-$ex" ] || fail "export showed no temporary file before it ended"
kill -TERM $ex
kill -CONT $ex
wait $ex && fail "export was not interrupted" || true
ls "$TESTTMP" | grep -q 'big.tar' && fail "an interrupted export left $(ls "$TESTTMP" | grep big)"
! grep -q "$COWBOX_ROOT/containers" /proc/self/mountinfo || fail "an interrupted export left a mount"
ok rm bigc
say "interrupted: nothing left"

# A user namespace: owners as the container sees them.
ok run -d --name uns --userns 0:100000:65536 bb sh -c 'echo u >/root/u; sleep 300'
lc_track "$out"
until_true 5 sh -c "'$COWBOX' exec uns test -e /root/u" || fail "the userns container did not start"
ok export -o "$TESTTMP/uns.tar" uns
list=$(tar tvf "$TESTTMP/uns.tar")
grep -q '^-rw-r--r-- 0/0 .* ./root/u$' <<<"$list" || fail "userns: its file not root's: $(grep root/u <<<"$list")"
grep -q '^-rwxr-xr-x 0/0 .* ./bin/busybox$' <<<"$list" || fail "userns: an image file not root's"
ok stop -t 1 uns
refuse 'export: container uns runs in a user namespace: start it first' export -o "$TESTTMP/u2.tar" uns
[ ! -e "$TESTTMP/u2.tar" ] || fail "a refused export left its file"
say "user namespace: the container's ids; stopped: refused"

refuse 'no such container' export -o "$TESTTMP/x.tar" nosuch
refuse "export changed: $TESTTMP/nodir/x.tar.tmp-[0-9]+: No such file or directory" \
	export -o "$TESTTMP/nodir/x.tar" changed
ls "$TESTTMP" | grep -q 'tmp-' && fail "a temporary file was left: $(ls "$TESTTMP")"
store_check
