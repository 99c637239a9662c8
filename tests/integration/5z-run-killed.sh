#!/bin/bash
# Proves: a `run --rm` killed with SIGKILL at any point of its start or
# its run leaves nothing for the user to clean up. Its name is free at
# once: the next `run --name` with it removes the dead holder itself.
# `rm` of one succeeds. Once `ps -a` has looked, no --rm container is
# left, the store checks clean, and no mount of it is left; a kept one
# whose `run -d` was killed early stays Created, unmounted; what killed
# starters leave in the run directory goes after a minute. A kept
# container (no --rm) killed while it ran is kept, Exited (137), as docker
# keeps one. A killed `bench boot` leaves nothing either, nor a restart
# (start -d) killed with its rootfs mounted on the host. The kills land
# at spread points of a start (0-39 ms after it began): each round checks
# the name, so the test does not depend on where one lands.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
R=$TESTTMP/run
P=$(uniq_name)
cleanup() {
	local c
	for c in memory pids cpu cpuacct cpuset freezer devices blkio unified; do
		rm_cgroup_dirs "/sys/fs/cgroup/$c/$P"
	done
	rm_cgroup_dirs "/sys/fs/cgroup/$P"
}
on_exit cleanup
ok import "$FIXTURES/busybox-gzip.oci" k9-base
# kill_after MS ARGS...: start cowbox ARGS in the background, SIGKILL it
# MS ms later (it may have ended by then), and reap it.
kill_after() {
	local ms=$1 pid
	shift
	"$COWBOX" --runroot "$R" "$@" >/dev/null 2>&1 & # not a function: $! is cowbox
	pid=$!
	sleep "$(printf '0.%03d' "$ms")"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
n="k9-$$"
for i in $(seq 40); do
	kill_after $(((i * 17) % 40)) run --rm --cgroup-parent "$P" --name "$n" k9-base true
	cb --runroot "$R" run --rm --cgroup-parent "$P" --name "$n" k9-base true
	[ "$rc" = 0 ] || fail "round $i: the name of a killed run --rm was not freed: $err"
done
for i in $(seq 20); do
	kill_after $(((i * 13) % 40)) run --rm --cgroup-parent "$P" k9-base sleep 5
done
# Half of what is left goes by `rm` (which must not fail on a container
# that looking it up removed), the rest once ps -a has looked.
ids=$(ls "$COWBOX_ROOT/containers" | grep -E '^[0-9a-f]{64}$' | awk 'NR % 2' || true)
[ -z "$ids" ] || ok --runroot "$R" rm -f $ids
ok --runroot "$R" ps -a -q
[ -z "$out" ] || fail "ps -a lists containers of killed run --rm: $out"
left=$(ls "$COWBOX_ROOT/containers" | grep -Ec '^[0-9a-f]{64}$' || true)
[ "$left" = 0 ] || fail "$left containers of killed run --rm are left in the store"
cb check
[ "$rc" = 0 ] || fail "check after the kills: $out $err"
store_check
grep -q " $COWBOX_ROOT/" /proc/self/mountinfo && fail "mounts of the store are left: $(grep " $COWBOX_ROOT/" /proc/self/mountinfo)"

# A kept container whose `run -d` was killed before its supervisor ran it
# stays Created, and its rootfs (mounted for that supervisor) is unmounted
# once a command looks: no mount is left, and `check --repair` finds only
# names of creates killed half-way (free by design) to remove.
for i in $(seq 12); do
	kill_after $(((i * 11) % 40)) run -d --cgroup-parent "$P" --name "$n-d$i" k9-base true
done
sleep 1 # a supervisor that got away runs `true` to its end
ok --runroot "$R" ps -a
# A create killed between claiming its name and putting its container in
# place leaves the name pointing nowhere: free for the next create, and
# what `check --repair` removes; nothing else may be left.
cb check --repair
[ "$rc" = 0 ] || fail "check --repair after the killed run -d: $out $err"
grep -v '^checked' <<<"$out" |
	grep -v '^repaired: containers/.names: removed [0-9]* names of containers never made' &&
	fail "check --repair found more than dangling names: $out"
cb check
[ "$rc" = 0 ] || fail "check after check --repair: $out $err"
store_check
grep -q " $COWBOX_ROOT/" /proc/self/mountinfo && fail "killed run -d left mounts: $(grep " $COWBOX_ROOT/" /proc/self/mountinfo)"
ids=$(ls "$COWBOX_ROOT/containers" | grep -E '^[0-9a-f]{64}$' || true)
[ -z "$ids" ] || ok --runroot "$R" rm -f $ids
# The same, made exactly (a kill lands in that window only now and then):
# what a starter killed after mounting the rootfs leaves is the mounted
# container and its state directory, unlocked and empty.
ok create --name "$n-kept" k9-base true
kept=$out
ok create --rm --name "$n-vol" k9-base true
vol=$out
for id in $kept $vol; do
	ok mount "$id"
	mkdir -p "$R/$id"
done
grep -q " $COWBOX_ROOT/containers/$kept/merged " /proc/self/mountinfo || fail "cowbox mount made no mount"
ok --runroot "$R" ps -a
grep -q " $COWBOX_ROOT/" /proc/self/mountinfo && fail "an orphan's rootfs stays mounted: $(grep " $COWBOX_ROOT/" /proc/self/mountinfo)"
grep -q "${kept:0:12} .*Created" <<<"$out" || fail "the kept orphan is not listed Created: $out"
grep -q "${vol:0:12}" <<<"$out" && fail "the --rm orphan is listed: $out"
[ ! -e "$COWBOX_ROOT/containers/$vol" ] || fail "the --rm orphan is still in the store"
cb check
[ "$rc" = 0 ] || fail "check after the kills: $out $err"
ok --runroot "$R" rm "$kept"

# A restart by a supervisor (start -d of an exited container) killed after
# it mounted the rootfs on the host, before its supervisor ran the command
# (strace kills it at the supervisor's fork): the next command to look
# finds the state it left (running, held by nobody), unmounts the rootfs
# and records the start killed, Exited (137). The old exited state, kept
# until the supervisor wrote its own, hid the mount.
if command -v strace >/dev/null; then
	ok --runroot "$R" run --name "$n-re" k9-base true
	ok --runroot "$R" inspect -f '{{.Id}}' "$n-re"
	re=$out
	set +e
	strace -o /dev/null -e trace=clone,clone3,fork,vfork \
		-e inject=clone,clone3,fork,vfork:error=EAGAIN:signal=KILL:when=1 \
		"$COWBOX" --runroot "$R" start "$n-re" >/dev/null 2>&1
	rc=$?
	set -e
	[ "$rc" = 137 ] || fail "strace did not kill start at its fork: exit $rc"
	grep -q " $COWBOX_ROOT/containers/$re/merged " /proc/self/mountinfo ||
		fail "the killed restart had not mounted its rootfs: the kill came too early"
	ok --runroot "$R" ps -a
	grep "$n-re" <<<"$out" | grep -q "Exited (137)" || fail "want the killed restart Exited (137): $out"
	grep -q " $COWBOX_ROOT/containers/$re/" /proc/self/mountinfo &&
		fail "a killed restart left its rootfs mounted: $(grep " $COWBOX_ROOT/" /proc/self/mountinfo)"
	ok --runroot "$R" start -a "$n-re"
	ok --runroot "$R" rm "$n-re"
else
	say "no strace: the killed restart not checked"
fi

# What killed starters leave in the run directory goes once it is a
# minute old and nobody holds it: an empty state directory, a half-made
# one (.new-*); one that is locked (its starter at work) stays.
empty=$R/$(printf '%064d' 1)
held=$R/$(printf '%064d' 2)
mkdir -p "$empty" "$held" "$R/.new-0123456789abcdef"
touch -d '2 minutes ago' "$empty" "$held" "$R/.new-0123456789abcdef"
flock -x "$held" sleep 30 &
holder=$!
for i in $(seq 50); do flock -xn "$held" true 2>/dev/null || break; sleep 0.1; done
ok --runroot "$R" ps -a
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null || true
[ ! -e "$empty" ] || fail "an empty, unlocked state directory a minute old stays"
[ ! -e "$R/.new-0123456789abcdef" ] || fail "a half-made state directory stays"
[ -d "$held" ] || fail "a locked state directory was removed"
rmdir "$held"

# `bench boot` makes its containers as run does, the state lock first: a
# bench killed at any point leaves nothing once ps has looked.
for i in $(seq 6); do
	kill_after $(((i * 23) % 60 + 15)) bench boot -n 100 --cgroup-parent "$P" k9-base
done
ok --runroot "$R" ps -a -q
[ -z "$out" ] || fail "ps -a lists containers of a killed bench: $out"
left=$(ls "$COWBOX_ROOT/containers" | grep -Ec '^[0-9a-f]{64}$' || true)
[ "$left" = 0 ] || fail "$left containers of a killed bench are left in the store"
grep -q " $COWBOX_ROOT/" /proc/self/mountinfo && fail "a killed bench left mounts: $(grep " $COWBOX_ROOT/" /proc/self/mountinfo)"

# A kept container stays, as it ended: killed while it ran, Exited (137).
"$COWBOX" --runroot "$R" run --cgroup-parent "$P" --name "$n-kept" k9-base sleep 30 >/dev/null 2>&1 &
pid=$!
for i in $(seq 100); do
	cb --runroot "$R" ps -q -f "name=$n-kept"
	[ -n "$out" ] && break
	sleep 0.1
done
[ -n "$out" ] || fail "the kept container did not start"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
ok --runroot "$R" ps -a
grep "$n-kept" <<<"$out" | grep -q "Exited (137)" || fail "want the killed kept container Exited (137): $out"
ok --runroot "$R" rm -f "$n-kept"
say "40 killed run --rm freed their names at once; 20 more and 6 killed benches left nothing after ps; a kept one stays"
