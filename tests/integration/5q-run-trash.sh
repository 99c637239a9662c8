#!/bin/bash
# Proves: the store's trash (docs/store.md) stays garbage and stays small. A
# `run --rm` whose container wrote nothing leaves its directory in
# ROOT/trash and its name free at once; the next foreground run deletes it
# while its own container still runs; a container that wrote something is
# deleted when its run returns; rm and gc empty the trash (gc counts it);
# an entry that is a symlink, or holds more than a container's layout (a
# deep tree, links out), is removed without following any link; a store
# whose trash/ went missing gets it back; concurrent runs share the
# deleting; the store passes its check throughout. A run --rm whose
# overlay is gone is recycled: its directories become spares that later
# containers are made of, empty; one held after its container is not. The
# same for the run state: a foreground
# run's state directory goes to RUNDIR/.trash, the next run deletes it,
# ps and rm empty it, and ps never lists it.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ok import "$FIXTURES/busybox-gzip.oci" trash-base
T=$COWBOX_ROOT/trash
in_trash() { ls -A "$T" 2>/dev/null | wc -l; }
containers() { ls "$COWBOX_ROOT/containers" | grep -Ec '^[0-9a-f]{64}$' || true; }

name=$(uniq_name)
ok run --rm --name "$name" trash-base true
[ "$(in_trash)" = 1 ] || fail "a run --rm that wrote nothing: want 1 trash entry, got $(ls -A "$T")"
first=$(ls -A "$T")
[ -d "$T/$first/upper" ] && [ -z "$(ls -A "$T/$first/upper")" ] || fail "trash entry: no empty upper"
[ "$(containers)" = 0 ] || fail "the container is still listed in containers/"
ok ps -a
case "$out" in *"$name"*) fail "ps -a still shows the removed container: $out" ;; esac
store_check

# The name is free at once, and the entry goes while the next container
# runs (not after it: the run is still there when it is gone).
"$COWBOX" run --rm --name "$name" trash-base sleep 3 >/dev/null 2>&1 &
bg=$!
n=0
while [ -e "$T/$first" ] && [ $n -lt 50 ]; do sleep 0.05; n=$((n + 1)); done
[ ! -e "$T/$first" ] || fail "the next run did not delete the trash entry $first"
kill -0 $bg 2>/dev/null || fail "the trash was deleted only after the next run ended"
wait $bg || fail "the second run failed"
[ "$(in_trash)" = 1 ] || fail "want only the last run's entry, got $(ls -A "$T")"

# A container that wrote something is deleted when its run returns.
ok run --rm trash-base sh -c 'sleep 0.3; echo x >/written'
[ "$(in_trash)" = 0 ] || fail "a run --rm that wrote a file left trash: $(ls -A "$T")"

# Many runs: it does not pile up.
for i in 1 2 3 4 5 6; do
	ok run --rm trash-base sleep 0.1
done
[ "$(in_trash)" -le 2 ] || fail "6 runs left $(in_trash) trash entries"

# Concurrent runs delete the same trash: no error, no pile-up, a sound store.
pids=""
for i in 1 2 3 4 5 6 7 8; do
	"$COWBOX" run --rm trash-base sleep 0.2 >"$TESTTMP/c$i.out" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || fail "a concurrent run failed: $(cat "$TESTTMP"/c*.out)"
done
ok run --rm trash-base sleep 0.5
[ "$(in_trash)" -le 2 ] || fail "after concurrent runs: $(in_trash) trash entries"
store_check

# rm empties the trash (even when what it removes went there first).
ok run --rm trash-base true
ok create trash-base
ok rm "$out"
[ "$(in_trash)" = 0 ] || fail "rm left trash: $(ls -A "$T")"

# An entry that is a link to a container-like directory, and one with more
# than the known layout (a link where work/ should be, a deep tree): links
# are removed, never followed; the steps leave the odd entry, rm walks it.
V=$TESTTMP/victim
mkdir -p "$V/upper" "$V/work/work/incompat/volatile" "$TESTTMP/outside"
echo keep >"$V/container.json"
echo keep >"$TESTTMP/outside/f"
ln -s "$V" "$T/evil"
mkdir -p "$T/odd/a/b/c"
ln -s "$V/work" "$T/odd/work"
ln -s "$TESTTMP/outside" "$T/odd/a/b/c/link"
touch "$T/odd/a/b/c/f"
ok run --rm trash-base sleep 0.3
[ ! -e "$T/evil" ] && [ ! -L "$T/evil" ] || fail "the link entry is still in the trash"
[ "$(cat "$V/container.json")" = keep ] && [ -d "$V/upper" ] &&
	[ -d "$V/work/work/incompat/volatile" ] || fail "deleting the trash went through a link"
[ -e "$T/odd/a/b/c/f" ] || fail "a launch walked an odd trash entry (steps never walk)"
ok create trash-base
ok rm "$out"
[ ! -e "$T/odd" ] || fail "rm did not delete the odd entry: $(find "$T/odd")"
[ "$(cat "$V/container.json")" = keep ] && [ -d "$V/work/work/incompat/volatile" ] &&
	[ "$(cat "$TESTTMP/outside/f")" = keep ] || fail "rm's walk of the trash went through a link"

# The FUSE driver's runs too (its work/cowbox-fuse is in the known layout):
# the trash does not grow.
if [ -c /dev/fuse ]; then
	ok --storage-driver fuse run --rm trash-base true
	ok --storage-driver fuse run --rm trash-base sleep 0.3
	ok --storage-driver fuse run --rm trash-base sleep 0.3
	[ "$(in_trash)" = 1 ] || fail "FUSE runs left $(in_trash) trash entries: $(ls -A "$T")"
fi

# gc empties it and counts it among the leftovers.
ok run --rm trash-base true
[ "$(in_trash)" = 1 ] || fail "want 1 trash entry before gc, got $(ls -A "$T")"
ok gc
case "$out" in *", 1 leftovers;"*) ;; *) fail "gc did not count the trash entry: $out" ;; esac
[ "$(in_trash)" = 0 ] || fail "gc left trash: $(ls -A "$T")"

# The run state's trash, in a run directory of this test's own.
R=$TESTTMP/run
state_trash() { ls -A "$R/.trash" 2>/dev/null | wc -l; }
ok --runroot "$R" run --rm trash-base true
[ "$(state_trash)" = 1 ] || fail "run state trash: want 1 entry, got $(ls -A "$R/.trash" 2>&1)"
st1=$(ls -A "$R/.trash")
[ ! -e "$R/$st1" ] || fail "the state directory is still in the run directory"
ok --runroot "$R" run --rm trash-base sleep 0.3
[ ! -e "$R/.trash/$st1" ] || fail "the next run did not delete the state trash $st1"
[ "$(state_trash)" = 1 ] || fail "run state trash: $(ls -A "$R/.trash")"
ok --runroot "$R" ps -a
[ "$(state_trash)" = 0 ] || fail "ps did not empty the state trash: $(ls -A "$R/.trash")"
ok --runroot "$R" run --rm trash-base true
ok --runroot "$R" create trash-base
ok --runroot "$R" rm "$out"
[ "$(state_trash)" = 0 ] || fail "rm did not empty the state trash: $(ls -A "$R/.trash")"
# A kept container's state stays where it was.
ok --runroot "$R" run --name "$name-kept" trash-base true
ok --runroot "$R" ps -a
case "$out" in *Exited*"$name-kept"*) ;; *) fail "a kept container's state: $out" ;; esac
ok --runroot "$R" rm "$name-kept"

# Recycling (storage/spare.h): a run --rm whose overlay is gone when it
# ends puts its directory in the trash to be taken apart (r-*); the next
# run makes its directories spares, and containers are made of them.
S=$COWBOX_ROOT/spare
spares() { ls -A "$S" 2>/dev/null | wc -l; }
case "$(stat -f -c %T "$COWBOX_ROOT")" in
tmpfs | ramfs) say "a store in memory: no spares (storage/spare.h), not tested here" ;;
*)
ok gc
[ "$(spares)" = 0 ] || fail "gc left spares: $(ls -A "$S")"
ok run --rm trash-base true
case "$(ls -A "$T")" in r-*) ;; *) fail "a run whose overlay is gone: want an r- entry, got $(ls -A "$T")" ;; esac
ok run --rm trash-base true
[ "$(spares)" -ge 3 ] || fail "the next run made $(spares) spares of a recycled entry"
before=$(spares)
ok create trash-base sh -c 'ls -A /tmp; echo made >/tmp/made'
ctr=$out
[ "$(spares)" = $((before - 2)) ] || fail "create took $((before - $(spares))) spares, want 2 (its directory, upper)"
[ -z "$(ls -A "$COWBOX_ROOT/containers/$ctr/upper")" ] || fail "a spare upper is not empty"
ok start -a "$ctr"
[ -z "$out" ] || fail "a container made of spares sees files in /tmp: $out"
ok rm "$ctr"
[ -z "$(find "$S" -mindepth 1 -maxdepth 1 -type d ! -empty)" ] || fail "a spare holds something"
store_check

# An overlay held after its container (a host process in it, through
# /proc/PID/root): not recycled, and what the holder writes there never
# reaches a later container.
n=$(uniq_name)
"$COWBOX" run --rm --name "$n" trash-base sleep 2 >/dev/null 2>&1 &
bg=$!
k=0
until pid=$("$COWBOX" inspect -f '{{.State.Pid}}' "$n" 2>/dev/null) && [ "${pid:-0}" -gt 0 ]; do
	k=$((k + 1)); [ $k -lt 100 ] || fail "the run did not start"; sleep 0.05
done
(cd "/proc/$pid/root/tmp" && exec sleep 30) &
holder=$!
on_exit "kill $holder 2>/dev/null"
wait $bg || fail "the held run failed"
entry=$(ls -A "$T")
case "$entry" in r-*|"") fail "a held overlay's directory was put to be recycled: '$entry'" ;; esac
echo leak >"/proc/$holder/cwd/leak" || fail "the holder cannot write through the held overlay"
for i in 1 2 3 4; do
	ok run --rm trash-base sh -c 'ls -A /tmp'
	[ -z "$out" ] || fail "a later container sees what was written through a held overlay: $out"
done
kill $holder
wait $holder 2>/dev/null || true
ok gc
[ "$(in_trash)" = 0 ] && [ "$(spares)" = 0 ] || fail "gc left trash or spares: $(ls -A "$T" "$S")"
;;
esac

# A store whose trash/ went missing (or older than it) gets it back.
rmdir "$T"
ok run --rm trash-base true
[ -d "$T" ] || fail "trash/ was not made again"
store_check
