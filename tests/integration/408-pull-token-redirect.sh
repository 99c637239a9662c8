#!/bin/bash
# Bearer tokens and redirected blobs (tests/integration/fake-registry.py):
# the token server gets the repository scope and the credentials from
# login; blobs redirected to another host (127.0.0.2) get no Authorization;
# a blob transfer cut in the middle resumes with Range.
. "$(dirname "$0")/lib.sh"
need python3
ip -4 addr show dev lo 2>/dev/null | grep -q '127.0.0.1/8' || skip "needs 127.0.0.2 on lo (127.0.0.0/8)"
log=$TESTTMP/fake.log
python3 "$(dirname "$0")/fake-registry.py" --layout "$FIXTURES/busybox-gzip.oci" \
	--repo cowbox/busybox --ports "$TESTTMP/ports" --log "$log" \
	--user bob --password 's3cret' --drop-first >"$TESTTMP/fake.out" 2>&1 &
fake=$!
on_exit "kill $fake 2>/dev/null; wait $fake 2>/dev/null"
i=0
until [ -s "$TESTTMP/ports" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "fake registry did not start: $(cat "$TESTTMP/fake.out")"
	sleep 0.05
done
read -r port cdn_port <"$TESTTMP/ports"
REG=127.0.0.1:$port
export REGISTRY_AUTH_FILE=$TESTTMP/auth.json
want=$(awk '$1 == "busybox-gzip.oci" && $2 == "gzip" { print $4 }' "$FIXTURES/manifest.txt")

# Anonymous: the token server refuses.
refuse "$REG.*authentication required" pull "$REG/cowbox/busybox:gzip"
grep -q "^token-denied user=-" "$log" || fail "no anonymous token request: $(cat "$log")"

printf 'nope\n' >"$TESTTMP/pw"
set +e
"$COWBOX" login -u bob --password-stdin "$REG" <"$TESTTMP/pw" >/dev/null 2>"$TESTTMP/e"
rc=$?
set -e
[ "$rc" = 125 ] && grep -q "wrong username or password" "$TESTTMP/e" ||
	fail "login with a wrong password: exit $rc, $(cat "$TESTTMP/e")"
[ ! -e "$REGISTRY_AUTH_FILE" ] || fail "failed login wrote the auth file"
printf 's3cret\n' >"$TESTTMP/pw"
"$COWBOX" login -u bob --password-stdin "$REG" <"$TESTTMP/pw" >/dev/null 2>"$TESTTMP/e" ||
	fail "login: $(cat "$TESTTMP/e")"

: >"$log"
ok pull "$REG/cowbox/busybox:gzip"
[ "$out" = "$want" ] || fail "pull printed '$out', want $want"
grep -q "^token service=fake-registry scope=repository:cowbox/busybox:pull user=bob$" "$log" ||
	fail "token request lacks service, scope or user: $(cat "$log")"
grep -q "^cdn sha256:.* auth=yes" "$log" && fail "credentials were sent to the blob host: $(cat "$log")"
grep -q "^cdn sha256:.* auth=no" "$log" || fail "blobs were not fetched from the redirect: $(cat "$log")"
grep -q "^drop " "$log" || fail "the fake registry dropped nothing: $(cat "$log")"
dropped=$(awk '/^drop / { print $2; exit }' "$log")
at=$(awk '/^drop / { sub("at=", "", $3); print $3; exit }' "$log")
grep -q "^cdn $dropped range=bytes=$at- auth=no" "$log" ||
	fail "the cut blob was not resumed from byte $at: $(cat "$log")"
store_check
