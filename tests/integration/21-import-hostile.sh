#!/bin/bash
# Proves: no entry of a hostile tar (.. names, absolute names, writes
# through symlinks, hard links out of the layer, whiteouts with .., forged
# overlay xattrs, oversized entries, too many entries, over-long names) can
# create or change anything outside the store; each is refused with exit
# 125 and one line naming the entry; the store is left unchanged.
. "$(dirname "$0")/lib.sh"

H="$FIXTURES/hostile"
passwd_before=$(stat -c '%h %s %Y' /etc/passwd)
canary="$TESTTMP/outside"
mkdir -p "$canary"
ok import "$FIXTURES/busybox-gzip.oci"
before=$(store_state)

declare -A want=(
	[dotdot]="entry '../cowbox-hostile-dotdot': path leaves the layer"
	[dotdot-nested]="path leaves the layer"
	[absolute]="entry '/tmp/cowbox-hostile-absolute': absolute path"
	[symlink-absolute-write]="entry 'lnk/cowbox-hostile-symlink-absolute': writes through a symlink"
	[symlink-relative-write]="writes through a symlink"
	[symlink-deep-write]="writes through a symlink"
	[symlink-inside-write]="entry 'lnk/file': writes through a symlink"
	[symlink-dot]="the layer root must be a directory"
	[hardlink-absolute]="hard link target '/etc/passwd': absolute path"
	[hardlink-dotdot]="path leaves the layer"
	[hardlink-through-symlink]="hard link through a symlink"
	[hardlink-to-dir]="hard link to a directory"
	[whiteout-dotdot]="path leaves the layer"
	[whiteout-dotdot-name]="whiteout without a name"
	[xattr-trusted-overlay]="reserved overlay xattr"
	[huge-size]="[Tt]runcated|larger than"
	[many-entries]="more than 5000 entries"
	[long-name]="name longer than 4096 bytes"
	[long-component]="File name too long|name too long"
)
for n in "${!want[@]}"; do
	refuse "${want[$n]}" import --max-entries 5000 --rootfs "$H/$n.tar" "hostile-$n"
	refuse "${want[$n]}" import --max-entries 5000 "$H/$n.oci"
	[ "$(store_state)" = "$before" ] || fail "$n: the store changed"
done
# Replacing a symlink with a file never writes through it.
ok import --rootfs "$H/symlink-file-write.tar" hostile-ok
[ ! -e /tmp/cowbox-hostile-symlink-file ] || fail "wrote through a symlink"

# The size cap stops an entry while it streams.
refuse "larger than 1048576 bytes" import --max-size 1m --rootfs "$FIXTURES/busybox/rootfs.tar" big

found=$(find / -xdev -name 'cowbox-hostile-*' -not -path "$COWBOX_ROOT/*" -not -path "$H/*" 2>/dev/null | head -5)
[ -z "$found" ] || fail "hostile files outside the store: $found"
[ "$(stat -c '%h %s %Y' /etc/passwd)" = "$passwd_before" ] || fail "/etc/passwd changed"
store_check
