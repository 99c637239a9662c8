#!/bin/bash
# Proves: --runroot DIR (and COWBOX_RUN_DIR) moves all of cowbox's run state
# there, as podman's --runroot does: a detached container's state, log and
# lock, a foreground run's state while it runs, and the compiled seccomp
# filter; ps, exec, logs and rm find the container through the same
# --runroot and not without it; nothing for it appears in /run/cowbox; a
# relative --runroot is refused with exit 125; --userns auto still takes
# its ID range from the host's one pool; a world-writable run root gets no
# seccomp cache.
. "$(dirname "$0")/lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb
rr="$TESTTMP/run"
n=$(uniq_name)
on_exit "\"$COWBOX\" --runroot \"$rr\" rm -f $n >/dev/null 2>&1"

ok --runroot "$rr" run -d --name "$n" bb sh -c 'echo hello; sleep 30'
id=$out
[ -f "$rr/$id/state" ] || fail "no state in the run root: $(ls -la "$rr")"
[ ! -e "/run/cowbox/$id" ] || fail "state also in /run/cowbox"
ls "$rr"/seccomp-*.bpf >/dev/null 2>&1 || fail "the seccomp filter was not cached in the run root"

ok --runroot "$rr" ps
grep -q "$n" <<<"$out" || fail "ps --runroot does not list the container: $out"
ok ps
! grep -q "$n" <<<"$out" || fail "ps without --runroot lists it as running: $out"

ok --runroot "$rr" exec "$n" echo exec-ok
[ "$out" = exec-ok ] || fail "exec through --runroot: $out"
for _ in $(seq 50); do
	cb --runroot "$rr" logs "$n"
	[ "$out" = hello ] && break
	sleep 0.1
done
[ "$out" = hello ] || fail "logs through --runroot: $out"

# A foreground run: its state is in the run root while it runs.
COWBOX_RUN_DIR="$rr" "$COWBOX" run --rm bb sh -c 'sleep 2' &
fg=$!
seen=
for _ in $(seq 40); do
	for d in "$rr"/*/; do
		d=${d%/}
		[ "${d##*/}" = "$id" ] && continue
		[ -f "$d/state" ] && seen=${d##*/}
	done
	[ -n "$seen" ] && break
	sleep 0.05
done
[ -n "$seen" ] || fail "no state of the foreground run in COWBOX_RUN_DIR"
[ ! -e "/run/cowbox/$seen" ] || fail "the foreground run's state is in /run/cowbox too"
wait $fg || fail "foreground run failed"
[ ! -e "$rr/$seen" ] || fail "the foreground run's state was left behind"

# The ID ranges of --userns auto are the host's one pool: their locks
# stay in /run/cowbox/userns, or two run roots could hand out one range.
ok --runroot "$rr" run --rm --userns auto bb true
[ ! -e "$rr/userns" ] || fail "--userns auto took its range in the run root: $(ls "$rr/userns")"
[ -d /run/cowbox/userns ] || fail "no range locks in /run/cowbox/userns"

ok --runroot "$rr" rm -f "$n"
[ ! -e "$rr/$id" ] || fail "rm -f left the state in the run root"

# A run root others may write is not trusted with compiled filters: the
# container runs (its filter compiled for it) and nothing is cached there.
open="$TESTTMP/open-run"
mkdir -m 0777 "$open"
ok --runroot "$open" run --rm bb true
! ls "$open"/seccomp-*.bpf >/dev/null 2>&1 || fail "a seccomp filter was cached in a world-writable run root"

refuse 'runroot relative/dir: must be an absolute path' --runroot relative/dir ps
echo "ok: --runroot and COWBOX_RUN_DIR hold all run state"
