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
_run_cleanups() { rc=$?; set +e; eval "$_cleanups"; exit $rc; }
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
need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done; }
