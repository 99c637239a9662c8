#!/bin/bash
# Proves: `ps` lists running containers (and with -a the others) in
# docker's columns with "Up N seconds" / "Exited (N) ... ago" / "Created",
# -q prints short IDs, --format json gives the same facts; `kill -s`
# delivers the named signal (by name, SIG-name or number; the exit code
# shows which), default KILL; kill of a stopped container or with an
# unknown signal is refused with one line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb
n=$(uniq_name)

ok run -d --name "$n-up" bb sleep 100
up=$out; lc_track "$up"
ok run -d --name "$n-ex" bb sh -c 'exit 2'
ex=$out; lc_track "$ex"
ok wait "$n-ex"
ok create --name "$n-cr" bb true
cr=$out; lc_track "$cr"
sleep 1

ok ps
[ "$(echo "$out" | head -1 | tr -s ' ')" = "CONTAINER ID IMAGE COMMAND CREATED STATUS NAMES" ] ||
	fail "ps header: $(echo "$out" | head -1)"
[ "$(echo "$out" | wc -l)" = 2 ] || fail "ps without -a shows more than the running one: $out"
line=$(echo "$out" | grep "^${up:0:12} ") || fail "ps lacks the running container: $out"
echo "$line" | grep -Eq ' bb +"sleep 100" +[0-9]+ seconds? ago +Up [0-9]+ seconds? +'"$n-up"'$' ||
	fail "ps line: $line"
ok ps -a
echo "$out" | grep "^${ex:0:12} " | grep -Eq 'Exited \(2\) [0-9]+ seconds? ago +'"$n-ex"'$' ||
	fail "ps -a exited line: $out"
echo "$out" | grep "^${cr:0:12} " | grep -Eq ' Created +'"$n-cr"'$' || fail "ps -a created line: $out"
ok ps -q
[ "$out" = "${up:0:12}" ] || fail "ps -q: $out"
ok ps -a --format json
echo "$out" | python3 -c '
import json, sys
up, ex, cr, n = sys.argv[1:]
rows = {r["Id"]: r for r in json.load(sys.stdin)}
assert set(rows) >= {up, ex, cr}, rows.keys()
assert rows[up]["State"] == "running" and rows[up]["Pid"] > 0 and rows[up]["Names"] == [n + "-up"], rows[up]
assert rows[up]["Status"].startswith("Up ") and rows[up]["Command"] == "sleep 100", rows[up]
assert rows[ex]["State"] == "exited" and rows[ex]["ExitCode"] == 2, rows[ex]
assert rows[cr]["State"] == "created" and rows[cr]["Status"] == "Created", rows[cr]
assert rows[up]["Image"] == "bb" and rows[up]["ImageID"].startswith("sha256:"), rows[up]
' "$up" "$ex" "$cr" "$n" || fail "ps --format json: $out"

# kill -s by name, SIG-name and number; the exit code is 128+N. --init:
# pid 1 of a pid namespace ignores signals it has no handler for (as under
# docker); cowbox's init forwards them to the command.
for sig in USR1:138 SIGTERM:143 2:130; do
	ok run -d --init --name "$n-k${sig%%:*}" bb sleep 100
	lc_track "$out"
	ok kill -s "${sig%%:*}" "$n-k${sig%%:*}"
	[ "$out" = "$n-k${sig%%:*}" ] || fail "kill printed '$out'"
	ok wait "$n-k${sig%%:*}"
	[ "$out" = "${sig#*:}" ] || fail "kill -s ${sig%%:*}: exit $out, want ${sig#*:}"
done
ok kill "$n-up"
ok wait "$n-up"
[ "$out" = 137 ] || fail "kill (default KILL): exit $out"
refuse "kill $n-up: container is not running" kill "$n-up"
ok run -d --name "$n-z" bb sleep 100
lc_track "$out"
refuse "kill -s NOSUCH: unknown signal" kill -s NOSUCH "$n-z"
ok ps -q
echo "$out" | grep -q . || fail "the refused kill stopped the container"
