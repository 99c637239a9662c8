#!/bin/bash
# Proves: the static cowbox lays out the code a run executes in one place
# (tools/cowbox.order, linked by lld), and that list is not stale: a
# single-stepped `run --rm IMAGE true` (bench/steptrace: cowbox and its
# child until the command's exec) executes code in at most 12 of the
# binary's 64 KB windows (the kernel maps each window a fault lands in:
# a run's page faults and most of its RSS), and nearly every function it
# enters is on the list. Input order, before the list, spread the same run
# over 18 windows; laid out, 8 on the machine that wrote the list (another
# CPU runs other variants of glibc's string functions: the list has them
# all, together at its end, a few windows more). Stale (a run's path
# changed, functions renamed): run bench/make-order and rebuild.
. "$(dirname "$0")/lib.sh"
need python3 readelf nm

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$(dirname "$COWBOX")/.." && pwd)
steptrace=$build/bench/steptrace
[ -x "$steptrace" ] || skip "no bench/steptrace (x86-64 only)"
readelf -p .comment "$COWBOX" | grep -q LLD || skip "cowbox not linked by lld (a sanitizer build, or no lld)"

ok import "$FIXTURES/busybox-gzip.oci" bb
ok run --rm bb true # what a first run of a store does once
range=$(readelf -lW "$COWBOX" | awk '$1 == "LOAD" && ($7 ~ /E/ || $8 == "E") { print $3, $6 }')
read -r lo size <<<"$range"
hi=$(printf '0x%x' $((lo + size)))
"$steptrace" "$TESTTMP/rips" "$lo" "$hi" "$COWBOX" run --rm bb true ||
	fail "single-stepped run failed"

# Read with bench/make-order's own functions.
order=$src/tools/cowbox.order
python3 - "$src/bench/make-order" "$COWBOX" "$TESTTMP/rips" "$order" <<'PY' || fail "code layout: see above"
import importlib.machinery, importlib.util, sys
loader = importlib.machinery.SourceFileLoader("make_order", sys.argv[1])
mo = importlib.util.module_from_spec(importlib.util.spec_from_loader("make_order", loader))
loader.exec_module(mo)
binary, rips, order = sys.argv[2:]
ran, _ = mo.functions_ran(mo.functions(binary), [rips])
with open(rips) as f:
    windows = {int(line, 16) >> 16 for line in f}
with open(order) as f:
    missing = sorted(set(ran) - set(f.read().split()))
print(f"# {len(ran)} functions ran, in {len(windows)} windows of 64 KB; "
      f"{len(missing)} not on the list: {' '.join(missing[:20])}")
if not ran:
    sys.exit("no function of cowbox ran")
# glibc picks string functions by CPU (AVX2, EVEX...): another machine
# may run a variant this list does not name.
if len(missing) > max(10, len(ran) // 20):
    sys.exit(f"{len(missing)} of {len(ran)} functions a run enters are not on tools/cowbox.order")
if len(windows) > 12:
    sys.exit(f"a run's code spans {len(windows)} windows of 64 KB (want <= 12)")
PY
