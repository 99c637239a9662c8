#!/bin/bash
# Proves: the launcher and its cgroup support work on pure cgroup v2 and an
# older kernel (Debian 12's 6.1), by running 50-run-basic.sh,
# 51-run-isolation.sh and 54-run-cgroup.sh inside ../shared/vm/cbvm
# (CLONE_INTO_CGROUP, memory.max, pids.max, cpu.max, cpuset); and that the
# store works there too: 6.1 has no overlayfs "lowerdir+", so the 200-layer
# image (32-layers200.sh) mounts through the one-string lowerdir fallback,
# and create/rm (30), run IMAGE (5a), exec (5e: cowbox runs chrooted in
# the VM, where a joined mount namespace's root is not the container's),
# stats from v2 cgroup files (5m) and pause through cgroup.freeze (5p)
# work, and --cpu-shares, --memory-swap, --memory-reservation reach
# cpu.weight, memory.swap.max and memory.low (5r), and a run on a store
# inside a shared mount keeps its mounts to itself (5w: on 6.1 every
# rootfs is a host mount, cloned for the container, as on a stock
# systemd Debian 12). Slow (a few minutes).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
# shared/ sits beside the repository (here, and in CI's clean clone).
CBVM=${CBVM:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/vm/cbvm}
[ -x "$CBVM" ] || skip "needs $CBVM (qemu VM with pure cgroup v2)"
[ -e /dev/kvm ] || [ -n "${CBVM_SLOW_OK:-}" ] || say "no /dev/kvm: the VM runs emulated (slow)"
here=$(cd "$(dirname "$0")" && pwd)
# The VM has its own /tmp: the script goes where both see it.
script=$(mktemp /var/tmp/cbvm-run.XXXXXX)
on_exit rm -f "$script"
cat >"$script" <<S
set -e
stat -f -c %T /sys/fs/cgroup
uname -r
modprobe overlay
for t in 50-run-basic 51-run-isolation 54-run-cgroup 30-create-rm 32-layers200 5a-run-image 5e-exec 5m-stats 5p-pause 5r-run-sysctl-mount-limits 5w-run-shared-store; do
	d=\$(mktemp -d /tmp/cbt.XXXXXX)
	COWBOX=$COWBOX FIXTURES=$FIXTURES TESTTMP=\$d bash $here/\$t.sh || { echo "VMFAIL \$t"; exit 1; }
	echo "VMPASS \$t"
done
S
set +e
output=$("$CBVM" --timeout 600 -- bash "$script" 2>&1)
rc=$?
set -e
echo "$output" | grep -E 'VMPASS|VMFAIL|FAIL|cgroup|#|^6\.' | head -40
# cbvm's own setup (qemu or the Debian kernel package from apt) failing is
# a machine without the VM, not a failure of cowbox.
if [ "$rc" = 2 ] && echo "$output" | grep -q '^cbvm: '; then
	skip "cbvm could not start: $(echo "$output" | grep -m1 '^cbvm: ')"
fi
[ "$rc" = 0 ] || fail "inside cbvm: exit $rc"
echo "$output" | grep -q 'cgroup v2: ok' || fail "the VM did not run the v2 path"
echo "$output" | grep -q '^cgroup2fs' || fail "the VM's /sys/fs/cgroup is not cgroup2"
echo "$output" | grep -q '^6\.1\.' || fail "the VM did not run kernel 6.1"
echo "$output" | grep -q 'VMPASS 32-layers200' || fail "the 200-layer image did not mount on 6.1"
say "pure cgroup v2 and kernel 6.1 (cbvm): ok"
