# Sourced by every integration test. The runner sets:
#   COWBOX    the cowbox binary under test
#   FIXTURES  the directory fixtures/make-all wrote (read only for tests)
#   TESTTMP   a fresh scratch directory, removed by the runner afterwards
# A test exits 0 (pass), 77 (skip: say what is missing) or anything else.
set -eu
: "${COWBOX:?}" "${FIXTURES:?}" "${TESTTMP:?}"

export COWBOX_ROOT="$TESTTMP/store"
unset COWBOX_STORAGE_DRIVER

_cleanups=""
# Run "$@" at exit (last registered runs first), even when the test fails.
on_exit() { _cleanups="$*; $_cleanups"; }
# Containers a test left in its stores (TESTTMP/**/containers) go with
# their run state in /run/cowbox, which outlives TESTTMP.
_forget_containers() {
	local d id
	for d in $(find "$TESTTMP" -maxdepth 3 -type d -name containers 2>/dev/null); do
		for id in $(ls "$d" 2>/dev/null | grep -E '^[0-9a-f]{64}$'); do
			"$COWBOX" --root "${d%/containers}" rm -f "$id" >/dev/null 2>&1
			rm -rf "/run/cowbox/$id"
		done
	done
}
# Spare network namespaces (docs/runtime.md) in a test's own run
# directories are bind mounts, in a tmpfs of their own where the run
# directory is on a disk: unmounted before TESTTMP goes.
_drain_pools() {
	local m
	for m in $(awk -v t="$TESTTMP/" 'index($5, t) == 1 && $5 ~ /\/pool(\/|$)/ { print $5 }' \
		/proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
}
_run_cleanups() { rc=$?; set +e; eval "$_cleanups"; _forget_containers; _drain_pools; exit $rc; }
trap _run_cleanups EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
say() { echo "# $*"; }

# cb ARGS...: run cowbox; output in $out/$err, status in $rc. Never fails.
cb() {
	set +e
	"$COWBOX" "$@" >"$TESTTMP/.out" 2>"$TESTTMP/.err"
	rc=$?
	set -e
	out=$(cat "$TESTTMP/.out")
	err=$(cat "$TESTTMP/.err")
}
# ok ARGS...: cowbox must succeed.
ok() { cb "$@"; [ "$rc" = 0 ] || fail "cowbox $* exited $rc: $err"; }
# refuse PATTERN ARGS...: cowbox must exit 125 with one `cowbox: ` line matching PATTERN.
refuse() {
	pat=$1; shift
	cb "$@"
	[ "$rc" = 125 ] || fail "cowbox $* exited $rc (want 125): $err"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "cowbox $*: want one error line, got: $err"
	case "$err" in cowbox:\ *) ;; *) fail "error does not start with 'cowbox: ': $err" ;; esac
	printf '%s\n' "$err" | grep -Eq -- "$pat" || fail "cowbox $*: error '$err' does not match /$pat/"
}
# A name nobody else uses, for global objects (mounts, cgroups, links).
uniq_name() { echo "cbt$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"; }
# rm_cgroup_dirs DIR...: remove a test's cgroup parent directories, their
# (empty) container cgroups first; for any cgroup version.
rm_cgroup_dirs() {
	local d s
	for d in "$@"; do
		[ -d "$d" ] || continue
		for s in "$d"/*/; do [ -d "$s" ] && rmdir "$s" 2>/dev/null; done
		rmdir "$d" 2>/dev/null
	done
	return 0
}
need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done; }

# store_check [--allow-tmp]: the store is consistent (tests/integration/store-check.py).
store_check() { python3 "$(dirname "${BASH_SOURCE[0]}")/store-check.py" "$COWBOX_ROOT" "$@" || fail "store is inconsistent"; }
# store_state: a listing of everything in the store but tmp/, trash/ (what a
# run --rm left to delete: docs/store.md), spare/ (empty directories a
# container may be made of) and locks/, to compare before and after a
# command that must change nothing.
store_state() {
	(cd "$COWBOX_ROOT" 2>/dev/null && find . -path ./tmp -prune -o -path ./trash -prune \
		-o -path ./locks -prune -o -path ./spare -prune -o \
		-printf '%p %y %s\n' | LC_ALL=C sort)
}
# merged_view IMAGE OUTFILE: mount the image's layers read-only in a private
# mount namespace and list the merged tree (fixtures/list-tree format).
merged_view() {
	local lowers
	lowers=$("$COWBOX" inspect "$1" | python3 -c 'import json,sys; print(":".join(l["Path"] for l in reversed(json.load(sys.stdin)[0]["Layers"])))')
	mkdir -p "$TESTTMP/mnt"
	case "$lowers" in
	*:*) ;;
	*) # overlayfs wants two lower layers when it has no upper
		"$FIXTURES_SRC/list-tree" "$lowers" >"$2"
		return ;;
	esac
	unshare -m sh -c "mount -t overlay overlay -o ro,lowerdir=$lowers '$TESTTMP/mnt' && '$FIXTURES_SRC/list-tree' '$TESTTMP/mnt'" >"$2"
}
FIXTURES_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../fixtures" && pwd)"

# busybox_rootfs DIR: a minimal rootfs directory from busybox-static, with
# a root and an `app` (1000:1000) user, for `cowbox run --rootfs` tests.
busybox_rootfs() {
	mkdir -p "$1/bin" "$1/etc" "$1/proc" "$1/sys" "$1/dev" "$1/tmp"
	cp /bin/busybox "$1/bin/" || skip "needs /bin/busybox (busybox-static)"
	local a
	for a in $("$1/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$1/bin/$a"; done
	printf "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n" >"$1/etc/passwd"
	printf "root:x:0:\napp:x:1000:\n" >"$1/etc/group"
}
