#!/bin/bash
# Proves: `restart` stops a running container (its stop signal, SIGKILL
# after -t) and starts it again, detached, with the options it was
# created with: a new first process, its log kept and appended to, its
# name printed once; a created container is just started; a --rm one is
# refused and left running; unknown names and a bad -t are refused (125).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" rs-base
c=$(uniq_name)
ok run -d --name "$c" -e WHO=env-kept rs-base sh -c 'echo "boot $WHO"; trap "exit 0" TERM; while :; do sleep 0.1; done'
lc_track "$out"
id=$out
until_true 5 eval '[ "$("$COWBOX" logs "$c")" = "boot env-kept" ]' || fail "first boot: $("$COWBOX" logs "$c")"
pid1=$(state_of "$id" pid)
ok restart -t 5 "$c"
[ "$out" = "$c" ] || fail "restart printed '$out'"
[ "$(state_of "$id")" = running ] || fail "not running after restart: $(state_of "$id")"
pid2=$(state_of "$id" pid)
[ "$pid1" != "$pid2" ] && [ -d "/proc/$pid2" ] && [ ! -d "/proc/$pid1" ] ||
	fail "restart did not replace the first process ($pid1 -> $pid2)"
until_true 5 eval '[ "$("$COWBOX" logs "$c" | grep -c "^boot env-kept$")" = 2 ]' ||
	fail "the log after restart: $("$COWBOX" logs "$c")"

# A created container: started.
ok create --name "$c-c" rs-base sh -c 'echo created-then-started; sleep 1000'
lc_track "$out"
cid=$out
ok restart "$c-c"
[ "$(state_of "$cid")" = running ] || fail "restart of a created container: $(state_of "$cid")"

# A --rm container would be gone after its stop: refused, still running.
ok run -d --rm --name "$c-rm" rs-base sleep 1000
lc_track "$out"
rid=$out
refuse "restart $c-rm: a --rm container is removed when it stops" restart "$c-rm"
[ "$(state_of "$rid")" = running ] || fail "the refused --rm container stopped"

refuse "restart nosuch-$c: no such container" restart "nosuch-$c"
refuse "restart -t x: expected a number of seconds" restart -t x "$c"
ok rm -f "$c" "$c-c" "$c-rm"
