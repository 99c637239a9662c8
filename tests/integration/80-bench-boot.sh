#!/bin/bash
# Proves: `cowbox bench boot` runs exactly N containers (P at a time),
# prints well-formed JSON whose phases are each > 0 and, laid on the
# timeline, cover no more than each container's total; the table and the
# SVG plot are made; a failing command fails the bench; and nothing it
# made remains (container, mount, cgroup, veth).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bench-lib.sh"
need python3

ok import "$FIXTURES/busybox-gzip.oci" bb

check_json() { # FILE N PARALLEL
	python3 - "$@" <<'PY' || fail "bench boot JSON: see above"
import json, sys
doc = json.load(open(sys.argv[1]))
n, par = int(sys.argv[2]), int(sys.argv[3])
def die(m):
    print("bad JSON: " + m, file=sys.stderr); sys.exit(1)
if doc["bench"] != "boot": die("bench %r" % doc["bench"])
if doc["n"] != n or len(doc["samples"]) != n: die("n %r, %d samples, want %d" % (doc["n"], len(doc["samples"]), n))
if doc["parallel"] != par: die("parallel %r" % doc["parallel"])
phases = ["rootfs", "clone", "mounts", "cgroup", "exec", "teardown"]
for k in ("to_exec", "to_exit", "total", "command"):
    m = doc["metrics"][k]
    if not (0 < m["min_ns"] <= m["median_ns"] <= m["p90_ns"] <= m["p99_ns"] <= m["max_ns"]): die("metric %s: %r" % (k, m))
for p in phases:
    m = doc["phases"][p]
    if not (0 < m["median_ns"] <= m["p90_ns"] <= m["p99_ns"] <= m["max_ns"]): die("phase %s: %r" % (p, m))
for i, s in enumerate(doc["samples"]):
    if s["exit_code"] != 0: die("sample %d exit %d" % (i, s["exit_code"]))
    if not (0 < s["to_exec_ns"] < s["to_exit_ns"] < s["total_ns"]): die("sample %d: %r" % (i, s))
    iv = []
    for p in phases:
        a, b = s["phases"][p]
        if not b > a >= 0: die("sample %d phase %s not > 0: %r" % (i, p, [a, b]))
        if b > s["total_ns"]: die("sample %d phase %s ends after the total" % (i, p))
        iv.append((a, b))
    # The phases laid on the timeline add up to no more than the total
    # (on cgroup v1 the cgroup overlaps the child's mounts: counted once).
    iv.sort(); covered = 0; cs, ce = iv[0]
    for a, b in iv[1:]:
        if a > ce: covered += ce - cs; cs, ce = a, b
        else: ce = max(ce, b)
    covered += ce - cs
    if covered > s["total_ns"]: die("sample %d: phases cover %d > total %d" % (i, covered, s["total_ns"]))
    if doc["cgroup_version"] == 2 and sum(b - a for a, b in iv) > s["total_ns"]:
        die("sample %d: phases add up to more than the total" % i)
PY
}

ok bench boot -n 12 --cgroup-parent "$CGP" --format json bb
printf '%s\n' "$out" >"$TESTTMP/boot.json"
check_json "$TESTTMP/boot.json" 12 1
nothing_left "bench boot -n 12"

ok bench boot -n 9 --parallel 3 --cgroup-parent "$CGP" --format json --plot "$TESTTMP/boot.svg" bb true
printf '%s\n' "$out" >"$TESTTMP/boot3.json"
check_json "$TESTTMP/boot3.json" 9 3
python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); assert r.tag.endswith("svg"), r.tag; assert len(list(r.iter("{http://www.w3.org/2000/svg}rect"))) > 5' \
	"$TESTTMP/boot.svg" || fail "the plot is not a well-formed SVG"
nothing_left "bench boot --parallel 3"

# The table: every row there.
ok bench boot -n 3 --network host --cgroup-parent "$CGP" bb
for row in "to exec" "to exit" "rootfs" "clone" "mounts" "cgroup" "exec" "teardown"; do
	printf '%s\n' "$out" | grep -q "$row" || fail "table lacks $row: $out"
done
printf '%s\n' "$out" | grep -q "^cowbox bench boot: 3 containers" || fail "table header: $out"

# A command that fails fails the bench, and still cleans up.
refuse "exited 3" bench boot -n 4 --cgroup-parent "$CGP" bb sh -c 'exit 3'
refuse "nosuchimage" bench boot -n 2 nosuchimage
refuse "--network bridge" bench boot --network bridge bb
refuse "-n 0" bench boot -n 0 bb
refuse "only .svg" bench boot --plot x.png bb
nothing_left "failed benches"
