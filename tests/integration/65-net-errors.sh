#!/bin/bash
# `cowbox network` create/ls/inspect/rm and its refusals: bad CIDR,
# overlapping subnets, a name in use, an exhausted subnet, a network in
# use, the built-in network; each is one `cowbox: network ...` line and
# exit 125. A container on a created network gets its bridge and subnet.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net-lib.sh"

ok network ls
printf '%s\n' "$out" | grep -q '^cowbox0 .*10\.87\.0\.0/16' || fail "ls lacks cowbox0: $out"

ok network create --subnet 10.90.0.0/30 tiny
[ "$out" = tiny ] || fail "create printed '$out'"
ok network create --subnet 10.91.0.0/24 other
ok network create auto
ok network inspect auto
printf '%s\n' "$out" | grep -q '"subnet": "10.86.0.0/24"' || fail "auto subnet: $out"

refuse '^cowbox: network create bad: 10\.90\.0\.0/33: not a CIDR' network create --subnet 10.90.0.0/33 bad
refuse '^cowbox: network create bad: nonsense: not a CIDR' network create --subnet nonsense bad
refuse 'host bits set \(did you mean 10\.92\.0\.0/24\?\)' network create --subnet 10.92.0.5/24 bad
refuse '^cowbox: network create bad: subnet 10\.90\.0\.0/16 overlaps network tiny \(10\.90\.0\.0/30\)' \
	network create --subnet 10.90.0.0/16 bad
refuse 'overlaps network cowbox0 \(10\.87\.0\.0/16\)' network create --subnet 10.87.4.0/24 bad
refuse '^cowbox: network create tiny: network tiny already exists' network create --subnet 10.93.0.0/24 tiny
refuse '^cowbox: network create cowbox0: network cowbox0 already exists' network create --subnet 10.93.0.0/24 cowbox0
refuse 'not a valid network name' network create --subnet 10.93.0.0/24 'a/b'
refuse '^cowbox: network inspect nope: network nope: no such network' network inspect nope
refuse '^cowbox: network frob: unknown command' network frob

# A /30 holds one container: the second finds the subnet exhausted.
start t1 --network tiny t1 -- busybox sleep 600
[ "$(addr_of t1)" = 10.90.0.2 ] || fail "t1 got $(addr_of t1)"
in_ns ip -o -4 addr show dev cowbox1 | grep -q 'inet 10.90.0.1/30' || fail "bridge cowbox1 not addressed"
in_ctr t1 busybox ping -c1 -W2 10.90.0.1 >/dev/null || fail "t1 cannot reach 10.90.0.1"
set +e
harness run --network tiny t2 -- busybox true >"$TESTTMP/t2.out" 2>&1
rc=$?
set -e
[ "$rc" = 125 ] || fail "second container on tiny exited $rc"
grep -q "network tiny: no free address in 10.90.0.0/30" "$TESTTMP/t2.out" || fail "t2: $(cat "$TESTTMP/t2.out")"
set +e
harness run --network nope t3 -- busybox true >"$TESTTMP/t3.out" 2>&1
rc=$?
set -e
[ "$rc" = 125 ] && grep -q "network nope: no such network" "$TESTTMP/t3.out" || fail "t3: $(cat "$TESTTMP/t3.out")"

refuse '^cowbox: network rm tiny: network tiny is in use by container t1$' network rm tiny
ok network ls
printf '%s\n' "$out" | grep -Eq '^tiny +10\.90\.0\.0/30 +10\.90\.0\.1 +cowbox1 +1$' || fail "ls: $out"
stop t1
ok network rm tiny other
ok network ls -q
[ "$(echo $out)" = "cowbox0 auto" ] || fail "ls -q after rm: $out"
in_ns ip link show cowbox1 >/dev/null 2>&1 && fail "bridge of tiny left"
ok network prune
[ "$out" = auto ] || fail "prune printed '$out'"
ok network ls -q
[ "$out" = cowbox0 ] || fail "ls -q after prune: $out"
no_leftovers all
say "ok"
