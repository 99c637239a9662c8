#!/bin/bash
# htpasswd Basic auth: pull without credentials and login with a wrong
# password are refused; login writes auth.json (0600, base64 "auth"),
# pull then works; logout removes the credentials again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"
need htpasswd
htpasswd -Bbc "$TESTTMP/htpasswd" alice 'right pass' >/dev/null 2>&1 || fail "htpasswd failed"
registry_start "$TESTTMP/htpasswd"
registry_push "oci:$FIXTURES/busybox-gzip.oci:gzip" cowbox/busybox:gzip --dest-creds 'alice:right pass'
export REGISTRY_AUTH_FILE="$TESTTMP/auth/auth.json"
want=$(fixture_config busybox-gzip.oci gzip)

refuse "authentication required" pull "$REGISTRY/cowbox/busybox:gzip"

cb login -u alice --password-stdin "$REGISTRY" </dev/null
[ "$rc" = 125 ] || fail "login without a password exited $rc"
printf 'wrong pass\n' >"$TESTTMP/pw"
set +e
"$COWBOX" login -u alice --password-stdin "$REGISTRY" <"$TESTTMP/pw" >"$TESTTMP/o" 2>"$TESTTMP/e"
rc=$?
set -e
[ "$rc" = 125 ] || fail "login with a wrong password exited $rc: $(cat "$TESTTMP/e")"
grep -q "wrong username or password" "$TESTTMP/e" || fail "wrong password error: $(cat "$TESTTMP/e")"
[ ! -e "$REGISTRY_AUTH_FILE" ] || fail "a failed login wrote $REGISTRY_AUTH_FILE"

printf 'right pass\n' >"$TESTTMP/pw"
"$COWBOX" login -u alice --password-stdin "$REGISTRY" <"$TESTTMP/pw" >"$TESTTMP/o" 2>"$TESTTMP/e" ||
	fail "login failed: $(cat "$TESTTMP/e")"
[ "$(stat -c %a "$REGISTRY_AUTH_FILE")" = 600 ] || fail "auth file mode $(stat -c %a "$REGISTRY_AUTH_FILE")"
enc=$(printf 'alice:right pass' | base64)
python3 - "$REGISTRY_AUTH_FILE" "$REGISTRY" "$enc" <<'PY' || fail "auth.json is not in the containers-auth.json format"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["auths"][sys.argv[2]]["auth"] == sys.argv[3], d
PY

ok pull "$REGISTRY/cowbox/busybox:gzip"
[ "$out" = "$want" ] || fail "authenticated pull printed '$out'"

# Credentials from ~/.docker/config.json work too.
ok logout "$REGISTRY"
refuse "not logged in" logout "$REGISTRY"
unset REGISTRY_AUTH_FILE
export HOME="$TESTTMP/home" XDG_RUNTIME_DIR="$TESTTMP/run"
mkdir -p "$HOME/.docker" "$XDG_RUNTIME_DIR"
printf '{"auths":{"http://%s/v2/":{"auth":"%s"}}}\n' "$REGISTRY" "$enc" >"$HOME/.docker/config.json"
ok rmi "$REGISTRY/cowbox/busybox:gzip"
ok pull "$REGISTRY/cowbox/busybox:gzip"

# A wrong password stored in the file is reported as such.
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REGISTRY" "$(printf 'alice:nope' | base64)" >"$HOME/.docker/config.json"
refuse "wrong username or password" pull "$REGISTRY/cowbox/busybox:gzip"
store_check
