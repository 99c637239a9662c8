#!/bin/bash
# A registry on HTTPS with a self-signed certificate: refused by default
# (certificate named, no silent fall back to HTTP), pulled over HTTPS with
# --tls-verify=false, and login works over it. A plain HTTP registry is
# reached over HTTP only because it is local.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"
need htpasswd
htpasswd -Bbc "$TESTTMP/htpasswd" carol 'pw' >/dev/null 2>&1 || fail "htpasswd failed"
TEST_REGISTRY_TLS=1 registry_start "$TESTTMP/htpasswd"
registry_push "oci:$FIXTURES/busybox-gzip.oci:gzip" cowbox/busybox:gzip --dest-creds carol:pw
export REGISTRY_AUTH_FILE=$TESTTMP/auth.json
want=$(fixture_config busybox-gzip.oci gzip)

refuse "$REGISTRY.*(certificate|SSL).*--tls-verify=false" pull "$REGISTRY/cowbox/busybox:gzip"
printf 'pw\n' >"$TESTTMP/pw"
"$COWBOX" login --tls-verify=false -u carol --password-stdin "$REGISTRY" <"$TESTTMP/pw" \
	>/dev/null 2>"$TESTTMP/e" || fail "login over TLS: $(cat "$TESTTMP/e")"
ok --log-level info pull --tls-verify=false "$REGISTRY/cowbox/busybox:gzip"
[ "$out" = "$want" ] || fail "pull printed '$out', want $want"
printf '%s' "$err" | grep -q " over https:" || fail "not pulled over https: $err"
store_check

# The plain HTTP registry of the other tests: reached over http, as local.
tls_registry=$REGISTRY
TEST_REGISTRY_TLS=0 registry_start
registry_push "oci:$FIXTURES/busybox-zstd.oci:zstd" cowbox/busybox:zstd
ok --log-level info pull "$REGISTRY/cowbox/busybox:zstd"
printf '%s' "$err" | grep -q " over http:" || fail "local plain registry not pulled over http: $err"
