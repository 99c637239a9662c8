#!/bin/bash
# Proves: `stats` shows what containers use, from their cgroups (v1 here,
# v2 in cbvm) and their processes: a busy loop's CPU % is far above an
# idle container's (which uses none); 20 MiB written to /dev/shm show in
# its memory against its --memory limit (the host's memory without one);
# tasks are counted; a container with only lo moved no bytes; -a adds a
# created container with zeros; --format json carries the same numbers;
# without -a and names only running containers are listed; streaming
# prints a table per interval; a name that is no container, and a bad
# --interval, are refused (125).
. "$(dirname "$0")/lib.sh"

ok import "$FIXTURES/busybox-gzip.oci" stats-base
busy=$(uniq_name)
idle=$(uniq_name)
made=$(uniq_name)
on_exit "$COWBOX" rm -f "$busy" "$idle" "$made" '>/dev/null' '2>&1'
ok run -d --name "$busy" --memory 64m stats-base \
	sh -c 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=20 2>/dev/null; touch /dev/shm/done; while :; do :; done'
ok run -d --name "$idle" stats-base sh -c 'sleep 1000 & wait'
ok create --name "$made" stats-base true
for _ in $(seq 600); do
	cb exec "$busy" test -e /dev/shm/done
	[ "$rc" = 0 ] && break
	sleep 0.1
done
[ "$rc" = 0 ] || fail "the busy container did not fill /dev/shm"

ok stats --no-stream --interval 0.5 --format json "$busy" "$idle"
echo "$out" >"$TESTTMP/named.json"
python3 - "$TESTTMP/named.json" "$busy" "$idle" <<'PY' || fail "stats of the two containers: $out"
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
busy, idle = rows[sys.argv[2]], rows[sys.argv[3]]
host = int(open("/proc/meminfo").read().split()[1]) * 1024
MiB = 1 << 20
# A loop that never sleeps: well above an idle container even on a busy
# two-core machine (100 is one whole CPU).
assert busy["running"] and busy["cpu_percent"] > 20, busy
assert idle["cpu_percent"] < 5, idle
assert busy["cpu_ns"] > 0, busy
assert busy["mem_usage"] >= 20 * MiB and busy["mem_limit"] == 64 * MiB, busy
assert abs(busy["mem_percent"] - 100.0 * busy["mem_usage"] / busy["mem_limit"]) < 0.01, busy
assert 0 < idle["mem_usage"] < 20 * MiB and idle["mem_limit"] == host, (idle, host)
assert busy["pids"] >= 1 and idle["pids"] == 2, (busy["pids"], idle["pids"])
for r in (busy, idle):
    assert r["net_input"] == 0 and r["net_output"] == 0, r
    assert r["block_input"] >= 0 and r["block_output"] >= 0, r
PY

ok stats --no-stream -a --interval 0.2 --format json
echo "$out" >"$TESTTMP/all.json"
python3 - "$TESTTMP/all.json" "$made" <<'PY' || fail "stats -a: $out"
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
m = rows[sys.argv[2]]
assert not m["running"] and m["cpu_percent"] == 0 and m["mem_usage"] == 0 and m["pids"] == 0, m
PY

ok stats --no-stream --interval 0.2
[ "$(echo "$out" | head -1 | tr -s ' ')" = "CONTAINER ID NAME CPU % MEM USAGE / LIMIT MEM % NET I/O BLOCK I/O PIDS" ] ||
	fail "table header: $(echo "$out" | head -1)"
echo "$out" | grep -q " $busy .*MiB / 64MiB " || fail "no row for $busy: $out"
echo "$out" | grep -q " $idle " || fail "no row for $idle: $out"
echo "$out" | grep -q " $made " && fail "a created container is listed without -a: $out"

# Streaming: a table per interval until stopped.
set +e
timeout 2 "$COWBOX" stats --interval 0.3 "$idle" >"$TESTTMP/stream"
set -e
[ "$(grep -c '^CONTAINER ID' "$TESTTMP/stream")" -ge 2 ] || fail "streaming printed: $(cat "$TESTTMP/stream")"

refuse "stats nosuch-$busy: no such container" stats --no-stream "nosuch-$busy"
refuse "stats --interval 0: expected seconds" stats --interval 0
refuse "stats --format yaml: expected json or table" stats --format yaml
ok rm -f "$busy"
refuse "no such container" stats --no-stream "$busy"
