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

python3 - "$COWBOX" "$TESTTMP/rips" "$src/tools/cowbox.order" <<'PY' || fail "code layout: see above"
import bisect, subprocess, sys
binary, rips, order = sys.argv[1:]
syms = []
for line in subprocess.run(["nm", "-n", "-S", "--defined-only", binary], capture_output=True,
                           text=True, check=True).stdout.splitlines():
    f = line.split()
    if len(f) == 4 and f[2] in "tTWwiI":
        syms.append((int(f[0], 16), int(f[1], 16), f[3]))
syms.sort()
starts = [s[0] for s in syms]
listed = set(open(order).read().split())
ran, windows = set(), set()
for line in open(rips):
    ip = int(line, 16)
    windows.add(ip >> 16)
    i = bisect.bisect_right(starts, ip) - 1
    if i >= 0 and ip < syms[i][0] + max(syms[i][1], 1):
        ran.add(syms[i][2])
missing = sorted(ran - listed)
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
