#!/bin/bash
# Proves: `logs --tail N` prints exactly the last N lines of a detached
# container's log (a last line without its newline counts as a line; 0
# prints nothing; more than there are prints all; `all` is the default),
# also when the lines span more than one 64 KB block read from the end;
# with -f it starts there and follows; a bad N is refused with exit 125.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb

ok run -d bb sh -c 'for i in 1 2 3 4 5; do echo line$i; done; printf partial'
a=$out
lc_track "$a"
ok wait "$a"
for n in 0 1 2 6 9 all; do
	cb logs --tail "$n" "$a"
	[ "$rc" = 0 ] || fail "logs --tail $n exited $rc: $err"
	got=$(printf '%s' "$out" | tr '\n' ' ')
	case $n in
	0) want= ;;
	1) want=partial ;;
	2) want='line5 partial' ;;
	*) want='line1 line2 line3 line4 line5 partial' ;;
	esac
	[ "$got" = "$want" ] || fail "logs --tail $n: got [$got], want [$want]"
done

# 30000 numbered lines (about 190 KB): the tail crosses block boundaries.
ok run -d bb sh -c 'seq 1 30000 | sed s/^/entry-/'
b=$out
lc_track "$b"
ok wait "$b"
for n in 1 10000 12345 30000; do
	"$COWBOX" logs --tail "$n" "$b" >"$TESTTMP/tail"
	[ "$(wc -l <"$TESTTMP/tail")" = "$n" ] || fail "--tail $n: $(wc -l <"$TESTTMP/tail") lines"
	[ "$(head -1 "$TESTTMP/tail")" = "entry-$((30001 - n))" ] ||
		fail "--tail $n starts at $(head -1 "$TESTTMP/tail")"
	[ "$(tail -1 "$TESTTMP/tail")" = entry-30000 ] || fail "--tail $n ends at $(tail -1 "$TESTTMP/tail")"
done
"$COWBOX" logs --tail 40000 "$b" | cmp -s - <("$COWBOX" logs "$b") || fail "--tail beyond the log is not the whole log"

# -f from the tail: the last line already written, then what comes.
ok run -d bb sh -c 'echo old1; echo old2; sleep 1; echo new1'
c=$out
lc_track "$c"
sleep 0.5
timeout 20 "$COWBOX" logs -f --tail 1 "$c" >"$TESTTMP/follow" || fail "logs -f --tail 1 failed"
[ "$(tr '\n' ' ' <"$TESTTMP/follow")" = "old2 new1 " ] || fail "logs -f --tail 1: $(cat "$TESTTMP/follow")"

refuse 'logs --tail x: expected a number of lines or all' logs --tail x "$a"
refuse 'logs --tail -3: expected a number of lines or all' logs --tail -3 "$a"
ok rm "$a" "$b" "$c"
echo "ok: logs --tail"
