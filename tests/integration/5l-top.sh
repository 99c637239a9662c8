#!/bin/bash
# Proves: `top` lists every process of a running container, the command
# `exec -d` started there included, each with its pid in the container's
# namespace (the first one is 1), its host pid (which is really in that
# namespace) and its parent as the container numbers it, and names users
# from the container's /etc/passwd (through the user namespace's map with
# --userns); with --pid host its cgroup tells its processes apart; a
# container that does not run is refused (125).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" bb
ok run -d bb sh -c 'sleep 60 & exec sleep 61'
a=$out
lc_track "$a"
sleep 0.3
ok exec -d -u nobody "$a" sleep 62
ok top "$a"
say "$out"
head -1 <<<"$out" | grep -q '^PID *HOST PID *PPID *USER *TIME *COMMAND' || fail "header: $out"
[ "$(grep -c 'sleep 6[012]$' <<<"$out")" = 3 ] || fail "not every process listed: $out"
read -r pid host ppid user _ cmd <<<"$(awk '$6 == "sleep" && $7 == "61"' <<<"$out")"
[ "$pid" = 1 ] && [ "$ppid" = 0 ] && [ "$user" = root ] || fail "first process: $pid $ppid $user $cmd"
read -r pid2 host2 ppid2 user2 _ <<<"$(awk '$6 == "sleep" && $7 == "60"' <<<"$out")"
[ "$ppid2" = 1 ] || fail "the background sleep's parent is not 1: $ppid2"
[ "$(readlink /proc/$host2/ns/pid)" = "$(readlink /proc/$host/ns/pid)" ] ||
	fail "host pid $host2 is not in the container's pid namespace"
awk '$6 == "sleep" && $7 == "62"' <<<"$out" | grep -qw nobody || fail "exec -u nobody not named: $out"

if [ "$(uname -r | cut -d. -f1)" -ge 6 ]; then
	ok run -d --userns auto bb sleep 60
	b=$out
	lc_track "$b"
	sleep 0.3
	ok top "$b"
	awk 'NR == 2' <<<"$out" | grep -qw root || fail "--userns: container root not named root: $out"
	ok rm -f "$b"
fi

# --pid host: the host's namespace is no boundary; its cgroup is.
ok run -d --pid host bb sh -c 'sleep 50 & exec sleep 51'
c=$out
lc_track "$c"
sleep 0.3
ok top "$c"
[ "$(grep -c '^[0-9]' <<<"$out")" = 2 ] || fail "--pid host: not exactly its two processes: $out"
grep -q 'sleep 51$' <<<"$out" && grep -q 'sleep 50$' <<<"$out" || fail "--pid host: $out"
ok rm -f "$c"

ok stop -t 0 "$a"
refuse 'top .*: container is not running' top "$a"
refuse 'no such container' top nosuchcontainer
ok rm "$a"
echo "ok: top"
