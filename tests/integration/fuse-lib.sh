# Sourced by tests/integration/7*-fuse-*.sh (after lib.sh) and bench/fuse:
# layer fixtures, mounting through the kernel overlayfs, cowbox-fuse and
# fuse-overlayfs, and tree comparison. Every mount made here is unmounted
# by the test's exit trap.
#
# Set CB_FUSE_MOUNT to the cb-fuse-mount test driver, else it is looked up
# next to $COWBOX's build tree.

fuse_lib_init() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	[ -c /dev/fuse ] || skip "needs /dev/fuse"
	[ -n "${_standalone_tmp:-}" ] && on_exit "rm -rf '$_standalone_tmp'"
	need setfattr getfattr python3 mknod
	if [ -z "${CB_FUSE_MOUNT:-}" ]; then
		CB_FUSE_MOUNT=$(dirname "$COWBOX")/../storage/fuse/cb-fuse-mount
	fi
	[ -x "$CB_FUSE_MOUNT" ] || skip "needs the cb-fuse-mount test driver (build storage/fuse)"
	export COWBOX_FUSE_HELPER="${COWBOX_FUSE_HELPER:-$(dirname "$CB_FUSE_MOUNT")/cowbox-fuse}"
	[ -x "$COWBOX_FUSE_HELPER" ] || skip "needs cowbox-fuse (build storage/fuse)"
	LIST_TREE=${LIST_TREE:-$(cd "$(dirname "$0")/../.." && pwd)/fixtures/list-tree}
	[ -x "$LIST_TREE" ] || skip "needs fixtures/list-tree"
	# tmpfs: whiteouts, trusted xattrs and RENAME_WHITEOUT everywhere, no disk
	FUSE_T="$TESTTMP/fusetest-$(uniq_name)"
	mkdir -p "$FUSE_T"
	mount -t tmpfs -o size=4g cbtest "$FUSE_T" || skip "cannot mount a tmpfs"
	on_exit "umount -l '$FUSE_T' 2>/dev/null"
}

kernel_overlay_ok() {
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
	grep -qw overlay /proc/filesystems
}

# make_lowers DIR: DIR/l1 (a small busybox rootfs, bottom) and DIR/l2 (top:
# a whiteout, an opaque dir and changes, written by hand in the overlay
# format the store uses: storage/extract.h).
make_lowers() {
	d=$1
	[ -x /bin/busybox ] || skip "needs busybox-static"
	l1=$d/l1 l2=$d/l2
	mkdir -p "$l1" "$l2"
	(
		cd "$l1"
		mkdir -p bin etc root tmp usr/bin usr/share/doc var/tmp opt/replaced/sub srv/data dev
		chmod 0700 root
		chmod 1777 tmp var/tmp
		cp /bin/busybox bin/busybox
		for a in sh ls cat echo mv cp rm ln mkdir stat find; do ln -s busybox "bin/$a"; done
		printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n' >etc/passwd
		printf 'root:x:0:\nnogroup:x:65534:\n' >etc/group
		echo "welcome" >etc/motd
		echo "delete me" >etc/to-delete
		echo a >opt/replaced/old-a
		echo b >opt/replaced/old-b
		echo c >opt/replaced/sub/old-c
		for i in $(seq 1 20); do echo "doc $i" >"usr/share/doc/f$i"; done
		echo shared >srv/data/original
		ln srv/data/original srv/data/original.hardlink
		echo tool >usr/bin/setuid-tool
		chmod 4755 usr/bin/setuid-tool
		mkdir -m 2775 srv/setgid-dir
		chown 0:50 srv/setgid-dir
		mkdir -m 1777 srv/sticky-dir
		mkfifo srv/fifo
		mknod srv/dev-null c 1 3
		ln -s ../etc/motd srv/motd-link
		ln -s /nonexistent srv/dangling
		echo owned >srv/owned-1234
		chown 1234:5678 srv/owned-1234
		setfattr -n user.origin -v lower1 srv/owned-1234
		setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= usr/bin/setuid-tool 2>/dev/null || true
		dd if=/dev/urandom of=srv/sparse bs=4096 count=1 seek=1000 2>/dev/null
		truncate -s 8M srv/sparse
		mkdir -p usr/lib/deep/er/still var/empty-lower
		echo deep >usr/lib/deep/er/still/file
		find . -exec touch -h -d @1600000000 {} +
	)
	(
		cd "$l2"
		mkdir -p etc opt/replaced srv usr/share/doc
		mknod etc/to-delete c 0 0
		echo "welcome v2" >etc/motd
		setfattr -n trusted.overlay.opaque -v y opt/replaced
		echo new >opt/replaced/new-file
		echo two >srv/layer2-file
		echo "doc 3 v2" >usr/share/doc/f3
		mknod usr/share/doc/f4 c 0 0
		find . -exec touch -h -d @1600000100 {} +
	)
}

# mount_kernel LOWERS(colon, top first) UPPER WORK TARGET
mount_kernel() {
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3,redirect_dir=off,index=off,metacopy=off,xino=off" "$4" ||
		fail "kernel overlay mount of $4 failed"
	on_exit "umount -l '$4' 2>/dev/null"
}

# mount_cbfuse LOWERS(colon, top first) UPPER WORK TARGET [SERVER-OPTIONS]
mount_cbfuse() {
	set -- "$@"
	lowargs=""
	oldifs=$IFS
	IFS=:
	for l in $1; do lowargs="$lowargs --lower $l"; done
	IFS=$oldifs
	# shellcheck disable=SC2086
	"$CB_FUSE_MOUNT" ${5:+-o "$5"} --log "$FUSE_T/cbfuse.log" $lowargs --upper "$2" --work "$3" "$4" ||
		fail "cowbox-fuse mount of $4 failed"
	on_exit "umount -l '$4' 2>/dev/null"
}

mount_fuse_overlayfs() {
	fuse-overlayfs -o "lowerdir=$1,upperdir=$2,workdir=$3,allow_other,suid,dev" "$4" ||
		fail "fuse-overlayfs mount of $4 failed"
	on_exit "umount -l '$4' 2>/dev/null"
}

# list_upper DIR: list-tree plus the overlay bits list-tree hides
# (whiteouts show as c 0000 0:0 already; opaque dirs get a line).
list_upper() {
	"$LIST_TREE" "$1"
	(cd "$1" && find . -type d -print0 | xargs -0 getfattr -h --absolute-names -n trusted.overlay.opaque 2>/dev/null |
		sed -n 's/^# file: \.\(.*\)/\1/p; s/^trusted.overlay.opaque="\(.*\)"/opaque=\1/p' | paste -d' ' - - | sort)
}

# same_tree WHAT A-FILE B-FILE: the two listings must be equal
same_tree() {
	if ! diff -u "$2" "$3" >"$FUSE_T/diff.out"; then
		cat "$FUSE_T/diff.out" >&2
		fail "$1 differ (kernel overlay vs cowbox-fuse)"
	fi
}

# fs_ops ROOT LOG: the same changes, made inside a mounted rootfs; exit
# codes and errnos of calls that may fail go to LOG, to be compared too.
# (When the overlay issue's fs-suite.sh lands, run it here instead.)
fs_ops() {
	root=$1 log=$2
	: >"$log"
	try() { # try LABEL CMD...: log the errno name a call fails with
		lbl=$1
		shift
		if "$@" 2>/dev/null; then echo "$lbl ok" >>"$log"; else echo "$lbl fail" >>"$log"; fi
	}
	pyerr() { # pyerr LABEL PYTHON: log OK or the errno name
		python3 -c "import os,errno,sys
os.chdir(sys.argv[1])
try:
    $2
    print('$1 ok')
except OSError as e:
    print('$1', errno.errorcode[e.errno])" "$root" >>"$log"
	}
	(
		cd "$root"
		# create, modify, truncate, delete
		echo fresh >new-file
		mkdir -p new-dir/a/b
		echo deep >new-dir/a/b/c
		echo "more" >>etc/motd
		truncate -s 3 etc/passwd
		: >usr/share/doc/f5
		rm etc/group
		rm new-dir/a/b/c
		rm usr/share/doc/f6 usr/share/doc/f7
		# delete a dir with lower contents, then recreate it: opaque
		rm -rf usr/share/doc
		mkdir usr/share/doc
		echo again >usr/share/doc/f1
		rm -rf usr/lib/deep
		# metadata copy-ups
		chmod 0640 srv/owned-1234
		chown 42:43 srv/data/original
		touch -h -d @1700000000 srv/motd-link
		touch -d @1700000001 usr/share/doc/f1
		setfattr -n user.added -v yes srv/layer2-file
		setfattr -x user.origin srv/owned-1234
		setfattr -n user.dir -v d1 srv/sticky-dir
		chmod 4711 usr/bin/setuid-tool
		# renames: files across layers, upper-only dirs, lower dirs (EXDEV)
		mv etc/motd etc/motd.moved
		mv srv/layer2-file srv/renamed-file
		mkdir fresh-dir && echo x >fresh-dir/x
		mv fresh-dir srv/fresh-dir-moved
		mv new-dir/a new-dir/a2
		pyerr rename-lower-dir "os.rename('opt/replaced', 'opt/replaced2')"
		pyerr rename-lower-dir2 "os.rename('usr/lib', 'usr/lib2')"
		mv opt/replaced opt/replaced-by-mv
		echo over >tmp/over && mv tmp/over srv/owned-1234
		# replace a lower dir by an (empty) upper dir via rename
		mkdir empty-up
		pyerr rename-over-lower-dir "os.rename('empty-up', 'var/empty-lower')"
		# links, specials
		ln bin/busybox bin/busybox-hardlink
		ln new-file new-file.link
		ln -s ../new-file srv/new-symlink
		mkfifo srv/new-fifo
		mknod srv/new-null c 1 3
		pyerr mknod-whiteout "os.mknod('srv/fake-whiteout', 0o20644, os.makedev(0, 0))"
		# whited-out and opaque things of the hand-made top layer
		pyerr stat-whited-out "os.stat('etc/to-delete')"
		pyerr stat-opaque-hidden "os.stat('opt/replaced-by-mv/old-a')"
		echo back >etc/to-delete
		pyerr get-private-xattr "os.getxattr('opt/replaced-by-mv', 'trusted.overlay.opaque')"
		pyerr set-private-xattr "os.setxattr('srv', 'trusted.overlay.opaque', b'y')"
		# rmdir of a dir that is empty in the merged view
		mkdir -p srv/data2 && rm -f srv/data/original srv/data/original.hardlink
		pyerr rmdir-merged-empty "os.rmdir('srv/data')"
		pyerr rmdir-nonempty "os.rmdir('opt')"
		pyerr rename-noreplace "os.link('new-file', 'nr') or os.rename('nr','new-file')"
		# permissions (default_permissions): nobody cannot write root's dirs
		try nobody-create setpriv --reuid 65534 --regid 65534 --clear-groups sh -c ': >etc/nobody'
		try nobody-tmp setpriv --reuid 65534 --regid 65534 --clear-groups sh -c 'echo n >tmp/nobody'
		try nobody-sticky-rm setpriv --reuid 65534 --regid 65534 --clear-groups rm -f srv/sticky-dir/x
		try nobody-read-root setpriv --reuid 65534 --regid 65534 --clear-groups ls root
		# a new file in a set-gid dir takes its group
		: >srv/setgid-dir/inherits 2>/dev/null || true
		mkdir -p srv/setgid-dir/sub 2>/dev/null || true
		# sparse file copy-up keeps its size
		chmod 0600 srv/sparse
		# written files get fixed mtimes so both runs compare
		for f in new-file etc/motd.moved etc/passwd usr/share/doc/f5 new-dir/a2/b tmp/nobody etc/to-delete \
			srv/owned-1234 usr/share/doc/f1 new-file.link srv/fresh-dir-moved/x srv/setgid-dir/inherits; do
			[ -e "$f" ] && touch -d @1700000002 "$f"
		done
		true
	)
	# readdir of the merged view, with inode numbers consistent with stat
	python3 - "$root" >>"$log" <<'PY'
import os, sys
root = sys.argv[1]
bad = 0
for d, dirs, files in os.walk(root):
    with os.scandir(d) as it:
        for e in it:
            if e.inode() != os.lstat(e.path).st_ino:
                bad += 1
print("readdir-ino-mismatch", bad)
PY
}

# server_pid TARGET: the pid of the cowbox-fuse serving TARGET
server_pid() {
	for p in /proc/[0-9]*; do
		c=$( { tr "\0" " " <"$p/cmdline"; } 2>/dev/null) || continue
		case "$c" in *cowbox-fuse*" $1 "*) echo "${p#/proc/}"; return 0 ;; esac
	done
	return 1
}
