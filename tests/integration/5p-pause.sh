#!/bin/bash
# Proves: pause freezes every process of a running container (a counter
# its two processes write stops moving; ps says "(Paused)", its JSON State
# "paused") and unpause lets them go on; a paused container refuses exec,
# kill -s TERM and a second pause, while exec --no-cgroup (a debugger)
# still enters it, stop and restart thaw it after the signal (so it sees
# it), and kill (SIGKILL) and rm -f end it as it is;
# its cgroups, the freezer's included, go with it (v1 here; cgroup.freeze
# on v2 in cbvm); pause of a stopped or a --no-cgroup container, and
# unpause of one not paused, are refused (125).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" pz-base
c=$(uniq_name)
ok run -d --name "$c" pz-base sh -c '(while :; do echo x >>/tmp/child; sleep 0.05; done) &
	i=0; while :; do i=$((i + 1)); echo $i >/tmp/count; sleep 0.05; done'
lc_track "$out"
id=$out
count() { "$COWBOX" exec --no-cgroup "$c" sh -c 'echo $(cat /tmp/count) $(wc -l </tmp/child)'; }
until_true 10 eval '[ -n "$(count 2>/dev/null)" ]' || fail "the container did not start counting"
ok pause "$c"
[ "$out" = "$c" ] || fail "pause printed '$out'"
a=$(count)
sleep 0.5
b=$(count)
[ "$a" = "$b" ] || fail "a paused container went on: $a then $b"
ok ps
echo "$out" | grep -q "Up .* (Paused) .*$c\$" || fail "ps does not say Paused: $out"
ok ps --format json
echo "$out" | python3 -c 'import json,sys; s=[c["State"] for c in json.load(sys.stdin) if sys.argv[1] in c["Names"]]; assert s == ["paused"], s' "$c" ||
	fail "ps --format json State: $out"
refuse "pause $c: container is already paused" pause "$c"
refuse "exec $c: container is paused: unpause it first" exec "$c" true
refuse "kill $c: container is paused: unpause it first" kill -s TERM "$c"
ok unpause "$c"
until_true 10 eval '[ "$(count)" != "$b" ]' || fail "unpause did not let it go on: $(count)"
refuse "unpause $c: container is not paused" unpause "$c"

# Paused again: kill (SIGKILL) ends it as it is.
ok pause "$c"
ok kill "$c"
ok wait "$c"
[ "$out" = 137 ] || fail "kill of a paused container: wait says $out"
[ -z "$(cgroup_dirs "$id")" ] || fail "cgroups left: $(cgroup_dirs "$id")"

# stop of a paused one: the signal, then a thaw, so it is seen (a shell
# trapping TERM exits 42 well before -t's SIGKILL); restart likewise.
ok run -d --name "$c-s" pz-base sh -c 'trap "exit 42" TERM; while :; do sleep 0.1; done'
lc_track "$out"
sid=$out
ok pause "$c-s"
ok stop -t 20 "$c-s"
ok wait "$c-s"
[ "$out" = 42 ] || fail "stop of a paused container: exit $out (the signal was not seen)"
ok start "$c-s"
ok pause "$c-s"
ok restart -t 20 "$c-s"
[ "$(state_of "$sid")" = running ] ||
	fail "restart of a paused container did not leave it running"
cb exec "$c-s" true
[ "$rc" = 0 ] || fail "the restarted container is still paused: $err"
ok rm -f "$c-s"

# rm -f of a paused one.
ok run -d --name "$c-2" pz-base sleep 1000
lc_track "$out"
id2=$out
ok pause "$c-2"
ok rm -f "$c-2"
[ -z "$(cgroup_dirs "$id2")" ] || fail "cgroups left after rm -f: $(cgroup_dirs "$id2")"

refuse "pause $c: container is not running" pause "$c"
ok run -d --no-cgroup --name "$c-3" pz-base sleep 1000
lc_track "$out"
refuse "pause $c-3: the container has no cgroup" pause "$c-3"
ok rm -f "$c" "$c-3"
