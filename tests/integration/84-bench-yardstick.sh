#!/bin/bash
# Proves: bench/bare-container, the yardstick tools/bench-peers sets
# beside every runtime, is what it says it is: its command runs as pid 1
# of new pid, mount and net namespaces, on an overlay of the rootfs with
# /proc mounted and nothing else; it hands back the command's exit status;
# it reuses its upper only while empty (else it refuses, naming it); its
# own failures are 125 with the step named; it leaves no mount behind.
# Without it bench-peers' "floor" would be a number nobody checked.
. "$(dirname "$0")/lib.sh"

build=$(cd "$(dirname "$COWBOX")/.." && pwd)
bare=$build/bench/bare-container
[ -x "$bare" ] || fail "no $bare (bench/meson.build builds it)"

rootfs=$TESTTMP/rootfs
mkdir "$rootfs"
tar -xf "$FIXTURES/busybox/rootfs.tar" -C "$rootfs"
dir=$TESTTMP/bare

# bare ARGS...: output in $out/$err, status in $rc. Never fails.
bare() {
	set +e
	"$bare" "$@" >"$TESTTMP/.out" 2>"$TESTTMP/.err"
	rc=$?
	set -e
	out=$(cat "$TESTTMP/.out")
	err=$(cat "$TESTTMP/.err")
}

bare "$dir" "$rootfs" /bin/true
[ "$rc" = 0 ] || fail "true exited $rc: $err"
bare "$dir" "$rootfs" /bin/sh -c 'exit 3'
[ "$rc" = 3 ] || fail "exit 3 came back as $rc"

# pid 1; a mount table of the overlay and /proc alone; only lo.
bare "$dir" "$rootfs" /bin/sh -c 'echo $$; awk "{ print \$5, \$9 }" /proc/self/mountinfo; \
	awk "NR > 2 { print \$1 }" /proc/net/dev'
[ "$rc" = 0 ] || fail "the look inside exited $rc: $err"
want=$(printf '1\n/ overlay\n/proc proc\nlo:')
[ "$out" = "$want" ] || fail "inside: want
$want
got
$out"

# The upper is kept for the next run only while empty.
bare "$dir" "$rootfs" /bin/sh -c 'echo x >/written'
[ "$rc" = 0 ] || fail "a write into the rootfs exited $rc: $err"
[ -f "$dir/upper/written" ] || fail "the write is not in $dir/upper"
[ ! -e "$rootfs/written" ] || fail "the write went through to the lower rootfs"
bare "$dir" "$rootfs" /bin/true
[ "$rc" = 125 ] || fail "a non-empty upper: exit $rc (want 125)"
case "$err" in "bare-container: $dir/upper: Directory not empty") ;;
*) fail "a non-empty upper: $err" ;; esac
rm "$dir/upper/written"

bare "$dir" "$rootfs" /no/such/command
[ "$rc" = 125 ] || fail "a missing command: exit $rc (want 125)"
case "$err" in "bare-container: /no/such/command: No such file or directory") ;;
*) fail "a missing command: $err" ;; esac

bare "$dir" "$TESTTMP/no-such-lower" /bin/true
[ "$rc" = 125 ] || fail "a missing lower: exit $rc (want 125)"
case "$err" in "bare-container: mount overlay: "*) ;; *) fail "a missing lower: $err" ;; esac

# Namespaces alone: pid 1 on the host's root.
bare - "$rootfs/bin/sh" -c 'echo $$; test -d /usr/share'
[ "$rc" = 0 ] && [ "$out" = 1 ] || fail "namespaces alone: exit $rc, '$out': $err"

if grep -qF "$TESTTMP" /proc/self/mountinfo; then
	fail "a mount left behind: $(grep -F "$TESTTMP" /proc/self/mountinfo)"
fi
