#!/bin/bash
# Proves: `cowbox bench footprint` starts exactly N containers at once,
# reports disk per container (small beside a full copy of the image),
# memory (cowbox's own, the container's process, the cgroup's charge) and
# times, as well-formed JSON and a table; and tears everything down.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
need python3

ok import "$FIXTURES/busybox-gzip.oci" bb
ok bench footprint -n 6 --cgroup-parent "$CGP" --format json --plot "$TESTTMP/fp.svg" bb
printf '%s\n' "$out" >"$TESTTMP/fp.json"
python3 - "$TESTTMP/fp.json" <<'PY' || fail "bench footprint JSON: see above"
import json, sys
doc = json.load(open(sys.argv[1]))
def die(m):
    print("bad JSON: " + m, file=sys.stderr); sys.exit(1)
if doc["bench"] != "footprint" or doc["n"] != 6: die("bench/n: %r %r" % (doc["bench"], doc["n"]))
d = doc["disk"]
if not d["store_after_bytes"] > d["store_before_bytes"]: die("store did not grow: %r" % d)
if not 0 < d["per_container_bytes"] < d["full_copy_bytes"]: die("disk: %r" % d)
m = doc["memory"]
if m["cowbox_processes_per_container"] != 0: die("processes: %r" % m)
if m["container_rss_bytes"]["n"] != 6 or m["container_rss_bytes"]["median_bytes"] <= 0: die("rss: %r" % m)
if m["cgroup_charge_bytes"]["n"] != 6 or m["cgroup_charge_bytes"]["median_bytes"] <= 0: die("charge: %r" % m)
t = doc["time"]
if not (t["create_all_ns"] > 0 and t["teardown_all_ns"] > 0 and t["per_container_to_exec"]["n"] == 6): die("time: %r" % t)
for p in ("rootfs", "clone", "mounts", "cgroup", "exec"):
    if doc["phases"][p]["median_ns"] <= 0: die("phase %s" % p)
PY
python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$TESTTMP/fp.svg" || fail "the plot is not well-formed"
nothing_left "bench footprint -n 6"

ok bench footprint -n 2 --cgroup-parent "$CGP" bb
printf '%s\n' "$out" | grep -q "disk per container" || fail "table: $out"
printf '%s\n' "$out" | grep -q "cgroup memory charge" || fail "table: $out"
nothing_left "bench footprint -n 2"
