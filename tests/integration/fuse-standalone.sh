# Lets a 7*-fuse-*.sh test run by hand from a build (sh tests/integration/
# 70-fuse-compare.sh): the runner's variables get defaults, and a scratch
# dir made here is removed at exit. The runner's own values win.
if [ -z "${TESTTMP:-}" ]; then
	_repo=$(cd "$(dirname "$0")/../.." && pwd)
	: "${COWBOX:=$_repo/build/tools/cowbox}"
	: "${FIXTURES:=$_repo/fixtures/out}"
	TESTTMP=$(mktemp -d /tmp/cbtest.XXXXXX)
	export COWBOX FIXTURES TESTTMP
	_standalone_tmp=$TESTTMP
fi
