#!/bin/bash
# Proves: the launcher and its cgroup support work on pure cgroup v2 and an
# older kernel (Debian 12's 6.1), by running 50-run-basic.sh,
# 51-run-isolation.sh and 54-run-cgroup.sh inside ../shared/vm/cbvm
# (CLONE_INTO_CGROUP, memory.max, pids.max, cpu.max, cpuset). Slow (~1 min).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
CBVM=${CBVM:-/work/shared/vm/cbvm}
[ -x "$CBVM" ] || skip "needs $CBVM (qemu VM with pure cgroup v2)"
[ -e /dev/kvm ] || [ -n "${CBVM_SLOW_OK:-}" ] || say "no /dev/kvm: the VM runs emulated (slow)"
here=$(cd "$(dirname "$0")" && pwd)
# The VM has its own /tmp: the script goes where both see it.
script=$(mktemp /var/tmp/cbvm-run.XXXXXX)
on_exit rm -f "$script"
cat >"$script" <<S
set -e
stat -f -c %T /sys/fs/cgroup
for t in 50-run-basic 51-run-isolation 54-run-cgroup; do
	d=\$(mktemp -d /tmp/cbt.XXXXXX)
	COWBOX=$COWBOX FIXTURES=/nonexistent TESTTMP=\$d bash $here/\$t.sh || { echo "VMFAIL \$t"; exit 1; }
	echo "VMPASS \$t"
done
S
set +e
output=$("$CBVM" --timeout 600 -- bash "$script" 2>&1)
rc=$?
set -e
echo "$output" | grep -E 'VMPASS|VMFAIL|FAIL|cgroup|#' | head -40
[ "$rc" = 0 ] || fail "inside cbvm: exit $rc"
echo "$output" | grep -q 'cgroup v2: ok' || fail "the VM did not run the v2 path"
echo "$output" | grep -q '^cgroup2fs' || fail "the VM's /sys/fs/cgroup is not cgroup2"
say "pure cgroup v2 (cbvm): ok"
