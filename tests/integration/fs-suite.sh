#!/bin/sh
# The filesystem-behaviour suite, for any rootfs driver.
#
#   fs-suite.sh ROOTFS OUTDIR
#
# ROOTFS is a mounted, writable container rootfs made from the busybox
# fixture image (fixtures/make-all: cowbox-fixture/busybox). The suite
# changes it the way programs in a container do: create, modify, truncate,
# delete and rename files and directories (across layers), hard links,
# symlinks, chmod/chown, xattrs, a directory deleted and made again
# (opaque), and checks what it reads back at once (content, readdir, link
# counts). Then it writes OUTDIR/tree.txt, the merged view in list-tree
# form. The caller compares tree.txt with fs-suite.tree.expected and
# `cowbox diff` with fs-suite.diff.expected, so every driver (overlay,
# fuse) must give the same view and the same upper dir.
#
# Every regular file it writes gets a fixed mtime, so the expected files do
# not depend on the clock. Exits non-zero (with "fs-suite: ..." on stderr)
# at the first behaviour that is wrong.
set -eu
R=${1:?usage: fs-suite.sh ROOTFS OUTDIR}
OUT=${2:?usage: fs-suite.sh ROOTFS OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
LIST_TREE=${LIST_TREE:-$HERE/../../fixtures/list-tree}
T=1700000100

bad() { echo "fs-suite: $*" >&2; exit 1; }
want() { # want EXPECTED ACTUAL WHAT
	[ "$1" = "$2" ] || bad "$3: want '$1', got '$2'"
}
fix() { touch -h -d "@$T" "$@"; }

[ -x "$R/bin/busybox" ] || bad "$R is not a busybox fixture rootfs"
mkdir -p "$OUT"

# --- create: a new dir and files, a fifo
mkdir "$R/new"
printf 'fresh\n' >"$R/new/file.txt"
mkfifo "$R/new/fifo"
want fresh "$(cat "$R/new/file.txt")" "new file content"

# --- modify files of both layers (copy-up keeps the rest of the file)
printf 'more\n' >>"$R/etc/motd"
printf 'extra:x:7:7::/:/bin/sh\n' >>"$R/etc/passwd"
tail -n 1 "$R/etc/passwd" | grep -q '^extra:' || bad "append to a lower file"
grep -q '^root:' "$R/etc/passwd" || bad "copy-up lost the lower content"

# --- truncate: to zero and to a shorter length
truncate -s 0 "$R/usr/share/cowbox/shared.hardlink"
want 0 "$(stat -c %s "$R/usr/share/cowbox/shared.hardlink")" "truncate to 0"
truncate -s 4 "$R/etc/hostname"
want 4 "$(stat -c %s "$R/etc/hostname")" "truncate to 4"

# --- delete: a lower file, a lower symlink, a lower tree
rm "$R/etc/group"
rm "$R/bin/ls"
rm -r "$R/srv/long"
[ ! -e "$R/etc/group" ] || bad "deleted file still visible"
ls -a "$R/etc" | grep -qx group && bad "readdir shows a deleted file"
ls -a "$R/srv" | grep -qx long && bad "readdir shows a deleted dir"

# --- rename: a lower file, a lower dir (with its subtree), a new file
mv "$R/srv/data/original" "$R/srv/data/renamed"
mv "$R/opt/replaced" "$R/opt/moved"
mv "$R/new/file.txt" "$R/new/file-renamed.txt"
[ -f "$R/opt/moved/new-file" ] || bad "renamed dir lost its content"
[ ! -e "$R/opt/replaced" ] || bad "renamed dir still visible under its old name"

# --- hard links: between new files, and to a lower file (copied up)
ln "$R/new/file-renamed.txt" "$R/new/file.link"
want 2 "$(stat -c %h "$R/new/file.link")" "link count of a new hard link"
ln "$R/etc/passwd" "$R/root/passwd.link"
want "$(cat "$R/etc/passwd")" "$(cat "$R/root/passwd.link")" "hard link to a copied-up file"

# --- symlinks: new relative, new dangling, replace a lower one
ln -s ../etc/motd "$R/new/motd.link"
ln -s /nowhere "$R/new/dangling"
rm "$R/bin/cat" && ln -s busybox "$R/bin/cat"
want "$(cat "$R/etc/motd")" "$(cat "$R/new/motd.link")" "read through a new symlink"

# --- chmod / chown, of lower files and a lower dir
chmod 0600 "$R/etc/motd"
chown 1234:5678 "$R/etc/passwd"
chmod 0750 "$R/usr/share"
chown 42:42 "$R/srv/owned-1234"
want 600 "$(stat -c %a "$R/etc/motd")" "chmod of a lower file"

# --- xattrs: on a new file and on a lower file (metadata copy-up)
setfattr -n user.cowbox -v hello "$R/new/file-renamed.txt"
setfattr -n user.cowbox -v lower "$R/etc/hostname"
want hello "$(getfattr --absolute-names --only-values -n user.cowbox "$R/new/file-renamed.txt")" "xattr of a new file"

# --- delete a directory and make it again: the old entries must not show
rm -r "$R/usr/share/cowbox"
mkdir "$R/usr/share/cowbox"
printf 'again\n' >"$R/usr/share/cowbox/fresh.txt"
want fresh.txt "$(ls -A "$R/usr/share/cowbox")" "readdir of a recreated dir"

# --- a whole subtree made and removed again leaves nothing
mkdir -p "$R/tmp/scratch/a/b" && printf x >"$R/tmp/scratch/a/b/f" && rm -r "$R/tmp/scratch"

# --- readdir of the merged view: a lower dir with a change in each layer
want "$(ls -A "$R/etc" | sort)" "$(ls -A "$R/etc" | sort -u)" "readdir lists a name twice"

# Fixed mtimes for every regular file written above.
fix "$R/new/file-renamed.txt" "$R/etc/motd" "$R/etc/passwd" "$R/etc/hostname" \
	"$R/usr/share/cowbox/fresh.txt"

"$LIST_TREE" "$R" >"$OUT/tree.txt"
