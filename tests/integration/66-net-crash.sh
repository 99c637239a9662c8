#!/bin/bash
# A launcher killed with SIGKILL leaves a lease, a bridge and rules; the
# next call (a new container, or any `cowbox network` command) frees the
# dead lease and removes its veth and rules; `network prune` then removes
# the idle bridge and the table. A lease of
# a live container is never taken.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"

start d1 -p 8081:80 d1 -- busybox sleep 600
start live --network bridge live -- busybox sleep 600
a_live=$(addr_of live)
kill -KILL "$(cat "$TESTTMP/ctr/d1.hpid")"
sleep 0.3
[ -f "$NET_RUN/leases/$(addr_of d1)" ] || fail "expected d1's lease to be left behind"
in_ns nft list chain inet cowbox published | grep -q 'ctr:d1' || fail "expected d1's rule to be left"

# A new container: d1's address is free again, live's is not touched.
start d2 --network bridge d2 -- busybox sleep 600
[ "$(addr_of d2)" = "$(addr_of d1)" ] || fail "d2 got $(addr_of d2), d1's $(addr_of d1) was not freed"
in_ns nft list chain inet cowbox published | grep -q 'ctr:d1' && fail "d1's rule survived"
in_ctr live busybox ping -c1 -W2 "$(addr_of d2)" >/dev/null || fail "live cannot reach d2"
[ -f "$NET_RUN/leases/$a_live" ] || fail "live's lease was taken"

# Kill everyone's launcher: `network ls` cleans it all.
for c in d2 live; do kill -KILL "$(cat "$TESTTMP/ctr/$c.hpid")"; done
sleep 0.3
[ "$(ls "$NET_RUN/leases" | wc -l)" = 2 ] || fail "expected 2 leases left after SIGKILL"
ok network ls
printf '%s\n' "$out" | grep -Eq '^cowbox0 .* 0$' || fail "ls after crash: $out"
[ "$(ls "$NET_RUN/leases" | wc -l)" = 0 ] || fail "network ls left leases: $(ls "$NET_RUN/leases")"
no_leftovers_at_all
say "ok"
