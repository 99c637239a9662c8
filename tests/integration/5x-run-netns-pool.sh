#!/bin/bash
# Proves: a foreground run joins a spare network namespace and makes the
# next one (runtime/netpool.h, docs/runtime.md "Spare network namespaces"),
# and isolation stays whole: each container has a network namespace of its
# own, with only lo, up; none is the host's; no two containers share one,
# even twelve started at once; an address one container adds is not in the
# next; a spare too old, a pool directory others may write, a slot that
# is not a network namespace (an IPC one, a plain file), a claim left by a killed cowbox and a half-made spare
# are never joined, and the stale ones are removed; --userns, --network
# host, -d and COWBOX_NETNS_POOL=0 leave the pool alone; `network prune`
# removes it, mounts included (with the tmpfs it keeps it in on a disk).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
R=$TESTTMP/run
P=$R/net/pool
# A spare is made only when one pays (the child waited for its network
# namespace, not its rootfs: cb_netpool_spare_pays, unit-tested); with
# this test's store on a disk it may not: =1 makes one each time.
export COWBOX_NETNS_POOL=1
on_exit "\"$COWBOX\" --runroot '$R' network prune >/dev/null 2>&1"
ok import "$FIXTURES/busybox-gzip.oci" pool-base
run_in() { ok --runroot "$R" run --rm "$@"; }
spare() { stat -L -c %i "$P/0/ns" 2>/dev/null || true; }
# A spare is made in a run's idle time, after its trash and not before
# the container has run 5 ms (CB_NETPOOL_AFTER_NS): a container that
# lives 0.3 s leaves it that time (one that ends at once does not).
NS='stat -L -c %i /proc/self/ns/net; sleep 0.3'
host=$(stat -L -c %i /proc/self/ns/net)
mounted() { grep -c " $P/" /proc/self/mountinfo || true; }

# The first run makes a spare (a bind mount, as `ip netns add` makes);
# the second joins it: only lo, up.
run_in pool-base sleep 0.3
s1=$(spare)
[ -n "$s1" ] || fail "no spare after a foreground run: $(ls -la "$P" 2>&1)"
[ "$(mounted)" = 1 ] || fail "want one mount under the pool, got: $(grep " $P/" /proc/self/mountinfo)"
# On a disk the pool is kept in a tmpfs of its own (no inode or discard
# for each spare); where the run directory is in memory, it is not.
if [ "$(stat -f -c %T "$R")" != tmpfs ]; then
	[ "$(stat -f -c %T "$P")" = tmpfs ] || fail "the pool is on $(stat -f -c %T "$P"), not in memory"
fi
run_in pool-base sh -c 'stat -L -c %i /proc/self/ns/net; ip -o link | wc -l; ip -o link show lo; sleep 0.3'
set -- $out
[ "$1" = "$s1" ] || fail "the run did not join the spare $s1: $out"
[ "$2" = 1 ] || fail "want only lo in a spare namespace: $out"
case "$out" in *"<LOOPBACK,UP,LOWER_UP>"*) ;; *) fail "lo is not up in a spare: $out" ;; esac
s2=$(spare)
[ -n "$s2" ] && [ "$s2" != "$s1" ] || fail "the joined spare was not replaced by a new one ($s1, $s2)"
[ "$s2" != "$host" ] || fail "a spare is the host's network namespace"
ls "$P" | grep -q '^taken' && fail "a claim was left: $(ls "$P")"

# A container that ends at once (before CB_NETPOOL_AFTER_NS past its
# exec) leaves its launch no time for the pool's steps: its claim stays,
# not unmounted in the exit's path, stale once that cowbox is gone; the
# next run that makes a spare removes it. A slow host may give it the
# time: then there is no claim to begin with.
run_in pool-base true
run_in pool-base sleep 0.3
ls "$P" | grep -q '^taken' && fail "a short run's claim outlived the next spare: $(ls "$P")"
[ "$(mounted)" = 1 ] || fail "want only the new spare mounted: $(grep " $P/" /proc/self/mountinfo)"

# What a container does to its network stays there.
run_in --cap-add NET_ADMIN pool-base sh -c 'ip addr add 10.9.8.7/32 dev lo && ip -o addr show lo'
case "$out" in *10.9.8.7*) ;; *) fail "the address was not added: $out" ;; esac
run_in pool-base sh -c 'ip -o addr show lo'
case "$out" in *10.9.8.7*) fail "the next container sees the address: $out" ;; esac

# Twelve at once: twelve namespaces, none the host's. Each lives on a
# while: the kernel reuses a namespace's inode number once it is gone, so
# two numbers alike prove a shared namespace only between containers that
# are alive together.
for i in $(seq 12); do
	"$COWBOX" --runroot "$R" run --rm pool-base sh -c 'stat -L -c %i /proc/self/ns/net; sleep 2' \
		>"$TESTTMP/ns.$i" 2>&1 &
done
wait
cat "$TESTTMP"/ns.* >"$TESTTMP/all"
[ "$(grep -c '^[0-9][0-9]*$' "$TESTTMP/all")" = 12 ] || fail "concurrent runs: $(cat "$TESTTMP/all")"
[ -z "$(sort "$TESTTMP/all" | uniq -d)" ] || fail "two containers shared a namespace: $(sort "$TESTTMP/all" | uniq -c)"
grep -qx "$host" "$TESTTMP/all" && fail "a container got the host's network namespace"
[ "$(mounted)" -le 1 ] || fail "concurrent runs left mounts: $(grep " $P/" /proc/self/mountinfo)"

# Runs that must make their own leave the spare where it is. (Twelve
# containers that end at once may all end before their idle time made a
# spare, on a slow host: one that lives 0.3 s leaves one, as above.)
run_in pool-base sleep 0.3
s=$(spare)
[ -n "$s" ] || fail "no spare after a foreground run that followed the concurrent ones"
run_in --userns 0:100000:65536 pool-base true
run_in --network host pool-base true
ok --runroot "$R" run -d --name "pool-d-$$" pool-base sleep 30
ok --runroot "$R" rm -f "pool-d-$$"
COWBOX_NETNS_POOL=0 "$COWBOX" --runroot "$R" run --rm pool-base true || fail "run with COWBOX_NETNS_POOL=0"
[ "$(spare)" = "$s" ] || fail "a run that makes its own namespace took the spare"

# A pool directory others may write is not used at all.
chmod 0777 "$P"
run_in pool-base sh -c "$NS"
[ "$out" != "$s" ] || fail "a spare in a world-writable pool directory was joined"
[ "$(spare)" = "$s" ] || fail "the world-writable pool was changed"
chmod 0700 "$P"

# A spare older than five minutes is not joined (the host's sysctls may
# have changed since), and goes.
touch -d '10 minutes ago' "$P/0"
run_in pool-base sh -c "$NS"
[ "$out" != "$s" ] || fail "a spare too old was joined"
[ "$out" != "$host" ] || fail "the container got the host's network namespace"
[ "$(mounted)" = 1 ] || fail "the old spare's mount stays: $(grep " $P/" /proc/self/mountinfo)"

# Slots that are not network namespaces are never joined, nor are claims
# and half-made spares of a cowbox that was killed; those two go when
# the next spare is made.
ok --runroot "$R" network prune
[ "$(mounted)" = 0 ] && [ ! -e "$P" ] || fail "prune left the pool: $(ls -la "$P" 2>&1)"
sleep 0.1 &
dead=$!
wait $dead
mkdir -p "$P/0" "$P/taken.$dead.0" "$P/new.$dead"
touch "$P/0/ns" "$P/taken.$dead.0/ns" "$P/new.$dead/ns"
mount --bind /proc/self/ns/ipc "$P/0/ns"
mount --bind /proc/self/ns/net "$P/taken.$dead.0/ns"
run_in pool-base sh -c "$NS"
[ "$out" != "$host" ] || fail "a claim or a foreign namespace was joined: the host's network"
[ ! -e "$P/taken.$dead.0" ] && [ ! -e "$P/new.$dead" ] || fail "stale entries stay: $(ls "$P")"
[ "$(mounted)" = 1 ] || fail "want only the new spare mounted: $(grep " $P/" /proc/self/mountinfo)"
s=$(spare)
[ -n "$s" ] && [ "$s" != "$host" ] || fail "no fresh spare made"
ok --runroot "$R" network prune
mkdir -p "$P/0" && touch "$P/0/ns"
run_in pool-base ip -o link show lo
case "$out" in *"<LOOPBACK,UP,LOWER_UP>"*) ;; *) fail "after a plain-file slot: $out" ;; esac

ok --runroot "$R" network prune
[ "$(mounted)" = 0 ] && [ ! -e "$P" ] || fail "prune left the pool"
say "spares joined once each, stale and foreign entries refused, prune clean"
