#!/bin/bash
# Proves: `cp` copies files and directories into and out of a container,
# created (its rootfs mounted for the copy and unmounted after) or running
# (through its own root, so a tmpfs it mounted is reached), with docker's
# rules (into a directory, as a new name, SRC/. for the contents, -L);
# modes and times are kept, what goes in belongs to the container's root
# (through its user namespace's map: host root-owned files there become
# the container's root's) and -a keeps ids (a set-uid file copied out
# loses the bit either way); DEST "-" writes a tar of SRC
# to stdout, SRC "-" unpacks one (hostile entries refused); device nodes
# are never made (no device cgroup guards them where they land); the
# container's symlinks,
# absolute or relative, never lead a copy to the host's files, either way;
# bad arguments are refused with one line (125).
. "$(dirname "$0")/lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" cp-base
h="$TESTTMP/host"
mkdir -p "$h/tree/sub" "$h/out"
echo hello >"$h/tree/hello"
echo deep >"$h/tree/sub/deep"
chmod 0750 "$h/tree/sub"
chmod 0640 "$h/tree/hello"
touch -d '2001-09-09 01:46:40 UTC' "$h/tree/hello"
ln -s hello "$h/tree/link"
chown 1234:5678 "$h/tree/sub/deep"

# A created container: in, then out.
c=$(uniq_name)
ok create --name "$c" cp-base true
ok cp "$h/tree" "$c:/in"
ok cp "$h/tree/hello" "$c:/in/renamed"
refuse "cp $c:/merged/: no such directory" cp "$h/tree/." "$c:/merged/"
ok cp "$h/tree/." "$c:/tmp"
grep -q " $COWBOX_ROOT/containers/.*/merged " /proc/self/mounts && fail "the rootfs stayed mounted after cp"
ok cp "$c:/in" "$h/out/in"
ok cp "$c:/tmp/hello" "$h/out/"
[ "$(cat "$h/out/in/hello")" = hello ] && [ "$(cat "$h/out/in/sub/deep")" = deep ] ||
	fail "round trip: $(ls -lR "$h/out")"
[ "$(cat "$h/out/in/renamed")" = hello ] || fail "cp FILE C:/dir/NEWNAME"
[ "$(cat "$h/out/hello")" = hello ] || fail "cp C:/FILE DIR/"
[ "$(stat -c %a "$h/out/in/sub")" = 750 ] && [ "$(stat -c %a "$h/out/in/hello")" = 640 ] ||
	fail "modes not kept: $(stat -c '%a %n' "$h/out/in/sub" "$h/out/in/hello")"
[ "$(stat -c %Y "$h/out/in/hello")" = 1000000000 ] || fail "mtime not kept"
[ "$(readlink "$h/out/in/link")" = hello ] || fail "a symlink was not copied as a link"
# Ownership: in, the container's root; out, the caller; -a keeps ids.
ok start -a "$c" 2>/dev/null || true
ok run --rm --name "$c-own" cp-base true
[ "$(stat -c %u:%g "$h/out/in/sub/deep")" = 0:0 ] || fail "copied out not owned by the caller"
ok cp -a "$h/tree/sub/deep" "$c:/deep-a"
ok cp -a "$c:/deep-a" "$h/out/deep-a"
[ "$(stat -c %u:%g "$h/out/deep-a")" = 1234:5678 ] || fail "-a did not keep the ids"
# Out of a container a set-uid file loses the bit, with -a too.
cp "$h/tree/hello" "$h/suid" && chmod 4755 "$h/suid"
ok cp -a "$h/suid" "$c:/suid"
ok cp "$c:/suid" "$h/out/suid"
ok cp -a "$c:/suid" "$h/out/suid-a"
[ "$(stat -c %a "$h/out/suid")" = 755 ] && [ "$(stat -c %a "$h/out/suid-a")" = 755 ] ||
	fail "set-uid out: $(stat -c '%a %n' "$h/out/suid" "$h/out/suid-a")"
ok cp -L "$h/tree/link" "$c:/followed"
ok cp "$c:/followed" "$h/out/followed"
[ -f "$h/out/followed" ] && [ ! -L "$h/out/followed" ] || fail "-L copied the link, not its target"

# The container's symlinks resolve inside it: an absolute link to a host
# path, and ../ climbing, land in the container, or nowhere.
mkdir -p "$h/victim"
echo secret >"$h/secret"
e=$(uniq_name)
ok run -d --name "$e" cp-base sh -c "ln -s $h/victim /abs; ln -s ../../../../../../$h /rel; ln -s $h/secret /sec; mkdir -p /mnt/t && mount -t tmpfs none /mnt/t 2>/dev/null; sleep 1000"
until_true() { local n=$1; shift; for _ in $(seq $((n * 10))); do "$@" && return 0; sleep 0.1; done; return 1; }
until_true 5 eval '"$COWBOX" exec "$e" test -L /sec' || fail "the container did not make its links"
cb cp "$h/tree/hello" "$e:/abs/planted"
[ ! -e "$h/victim/planted" ] || fail "cp into $e:/abs/ wrote to the host's $h/victim"
cb cp "$h/tree/hello" "$e:/rel/planted"
[ ! -e "$h/planted" ] || fail "cp into $e:/rel/ wrote to the host"
ok cp "$e:/sec" "$h/out/sec"
[ -L "$h/out/sec" ] || fail "the container's link was not copied as a link"
cb cp -L "$e:/sec" "$h/out/sec-followed"
[ "$(cat "$h/out/sec-followed" 2>/dev/null)" != secret ] || fail "cp -L of $e:/sec read the host's file"
cb cp "$e:/rel/secret" "$h/out/sec-rel"
[ ! -e "$h/out/sec-rel" ] || fail "cp out through ../ read the host's file"
# A running container: what it sees, in and out.
ok cp "$h/tree/hello" "$e:/tmp/live"
ok exec "$e" cat /tmp/live
[ "$out" = hello ] || fail "cp into a running container: $out"
ok exec "$e" sh -c 'echo made-inside >/tmp/inside'
ok cp "$e:/tmp/inside" "$h/out/inside"
[ "$(cat "$h/out/inside")" = made-inside ] || fail "cp out of a running container"

# A user namespace: what goes in is its root's, on the host its mapped id.
u=$(uniq_name)
ok run -d --name "$u" --userns 0:200000:65536 cp-base sleep 1000
ok cp "$h/tree/hello" "$u:/tmp/mine"
ok exec "$u" stat -c %u:%g /tmp/mine
[ "$out" = 0:0 ] || fail "copied into a user namespace container: owned by $out inside"
ok exec "$u" sh -c 'echo more >>/tmp/mine'
ok cp -a "$u:/tmp/mine" "$h/out/mine"
[ "$(stat -c %u "$h/out/mine")" = 0 ] || fail "-a out of a user namespace: $(stat -c %u "$h/out/mine")"
ok rm -f "$u"

# A tar on stdout: entries below SRC's name (SRC/.: "./..."), links as
# links, owners as the container sees them.
"$COWBOX" cp "$c:/in" - >"$h/in.tar" || fail "cp C:/in - failed"
tar tf "$h/in.tar" | sort >"$h/in.list"
grep -qx 'in/' "$h/in.list" && grep -qx 'in/sub/deep' "$h/in.list" && grep -qx 'in/link' "$h/in.list" ||
	fail "tar of C:/in lists: $(cat "$h/in.list")"
mkdir "$h/untar" && tar xf "$h/in.tar" -C "$h/untar"
[ "$(cat "$h/untar/in/sub/deep")" = deep ] && [ "$(readlink "$h/untar/in/link")" = hello ] ||
	fail "tar of C:/in: contents"
"$COWBOX" cp "$c:/in/." - | tar tf - | grep -qx './hello' || fail "cp C:/in/. - is not the contents"
cb cp -L "$e:/sec" -
printf '%s' "$out" | grep -q secret && fail "cp -L C:/sec - read the host's file"
# A tar on stdin, unpacked into a directory of the container; hostile
# entries (.., absolute, through a link to a host path, a hard link out)
# are refused and nothing lands on the host.
tar -C "$h" -cf "$h/tree.tar" tree
"$COWBOX" cp - "$c:/tmp" <"$h/tree.tar" || fail "cp - C:/tmp failed"
"$COWBOX" cp "$c:/tmp/tree" - | tar tf - | grep -qx 'tree/sub/deep' || fail "cp - C:/tmp did not unpack"
ok cp "$c:/tmp/tree/sub/deep" "$h/out/from-tar"
[ "$(cat "$h/out/from-tar")" = deep ] && [ "$(stat -c %u "$h/out/from-tar")" = 0 ] || fail "unpacked file"
python3 - "$h" <<'PY'
import io, sys, tarfile
h = sys.argv[1]
def add(t, name, **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = 1
        t.addfile(ti, io.BytesIO(b"x"))
    else:
        t.addfile(ti)
cases = {
    "dotdot": lambda t: add(t, "../../../../../../" + h + "/victim/dotdot"),
    "abs": lambda t: add(t, h + "/victim/abs"),
    "via-link": lambda t: (add(t, "lnk", type=tarfile.SYMTYPE, linkname=h + "/victim"), add(t, "lnk/via")),
    "hard-out": lambda t: add(t, "hl", type=tarfile.LNKTYPE, linkname="../../../../../../" + h + "/secret"),
    "device": lambda t: add(t, "disk", type=tarfile.BLKTYPE, devmajor=8, devminor=0),
}
for name, build in cases.items():
    with tarfile.open(h + "/" + name + ".tar", "w") as t:
        build(t)
PY
for t in dotdot abs via-link hard-out device; do
	cb cp - "$e:/tmp" <"$h/$t.tar"
	[ "$rc" = 125 ] || fail "cp - of $t.tar: exit $rc ($err)"
done
[ -z "$(ls -A "$h/victim")" ] || fail "a hostile tar wrote to the host: $(ls -A "$h/victim")"
ok exec "$e" sh -c 'ls /tmp/disk 2>&1 || true'
case $out in *"No such file"*) ;; *) fail "a device node from a tar was made: $out" ;; esac
# No device node is made either way: none guards it where it lands.
refuse "/dev/null $h/out/devnull: a device node: not copied" cp "$e:/dev/null" "$h/out/devnull"
[ ! -e "$h/out/devnull" ] || fail "a device node was copied out"
refuse "cp - $h/out: a tar goes into a container" cp - "$h/out"

# ".." never climbs out of the container's root, as SRC or DEST.
ok cp "$c:/in/sub/.." "$h/out/dotdot-in"
[ "$(cat "$h/out/dotdot-in/hello")" = hello ] || fail "cp C:/in/sub/.. is not C:/in: $(ls "$h/out/dotdot-in")"
"$COWBOX" cp "$c:/.." - | tar tf - | grep -q 'upper' && fail "cp C:/.. - reached the store's container directory"
ok cp "$h/tree/hello" "$c:/../../../../hello-dotdot"
ok exec "$e" true
[ ! -e "$COWBOX_ROOT/hello-dotdot" ] && [ ! -e "/hello-dotdot" ] || fail "cp into C:/../.. wrote outside"

# Refused.
refuse "neither is in a container" cp "$h/tree" "$h/out/x"
refuse "both are in containers" cp "$c:/in" "$e:/in"
refuse "cp nosuch-$c: no such container" cp "$h/tree" "nosuch-$c:/x"
refuse "cp $c:/no/such: No such file or directory" cp "$c:/no/such" "$h/out/"
refuse "cp $h/out/nodir/x: its directory: No such file or directory" cp "$c:/in/hello" "$h/out/nodir/x"
refuse "cannot copy a directory onto a file" cp "$c:/in" "$h/out/hello"
refuse "cp $c:/in/hello/: Not a directory" cp "$c:/in/hello/" "$h/out/"
ok rm -f "$e" "$c"
store_check
