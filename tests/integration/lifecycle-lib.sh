# Sourced by 5b-5f: helpers for detached containers. Needs lib.sh first.
# Every container of this test's store is killed and removed at exit, with
# its state under /run/cowbox, even when the test fails.
_lc_ids=""
lc_track() { _lc_ids="$_lc_ids $1"; }
_lc_cleanup() {
	local c
	for c in $("$COWBOX" ps -aq 2>/dev/null); do "$COWBOX" rm -f "$c" >/dev/null 2>&1; done
	for c in $_lc_ids; do rm -rf "/run/cowbox/$c"; done
}
on_exit _lc_cleanup
# state_of ID: the status field of its state file.
state_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "/run/cowbox/$1/state" "${2:-status}"; }
# cgroup_dirs ID: the container's cgroup directories (any version).
cgroup_dirs() { find /sys/fs/cgroup -maxdepth 4 -type d -name "$1" 2>/dev/null; }
# mounted ID: is its rootfs mounted?
mounted() { grep -q "$COWBOX_ROOT/containers/$1" /proc/self/mountinfo; }
# until_true SECS CMD...: retry CMD every 0.1 s for up to SECS.
until_true() { local n=$(($1 * 10)); shift; while ! "$@"; do n=$((n - 1)); [ $n -gt 0 ] || return 1; sleep 0.1; done; }
