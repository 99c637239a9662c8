#!/bin/bash
# Proves: `inspect` of a container gives docker's State (created, running
# with its pid, exited with its code), Config (the image's Env with -e over
# it, Entrypoint and Cmd by run's rules, WorkingDir, User, Hostname, the
# image's Labels with --label over them) and HostConfig (the limits,
# binds, tmpfs, sysctls, network mode as given); `inspect --format` prints
# {{.Field.Path}} and {{json ...}} for each argument and refuses what it
# does not understand before printing anything; --type picks images or
# containers, a container first when a name is both; `ps --filter`
# matches id, name (a regular expression), label (key, key=value; every
# label filter must match), status (which looks at every container) and
# ancestor (the image, however it is named), the same key ORed and
# different keys ANDed, and refuses unknown keys. The environment is
# resolved when the container is made (-e KEY from that caller,
# --env-file from that directory): inspect and start elsewhere, with
# another environment, see and get the same.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
ok import "$FIXTURES/busybox-gzip.oci" bb
mkdir -p "$TESTTMP/vol"

cd "$TESTTMP"
echo 'FROMFILE=1' >env.list
export CBT_FOO=bar
ok create --name made -e CBT_FOO --env-file env.list -e A=1 -e COWBOX_FIXTURE=over -l tier=web -l solo -w /srv -u 1000 \
	--memory 64m --cpus 1.5 --pids-limit 50 --shm-size 8m --read-only \
	-v "$TESTTMP/vol:/vol:ro" --tmpfs /t:size=1m --sysctl net.ipv4.ip_forward=1 \
	--entrypoint /bin/sh bb -c 'echo hi'
made=$out
cd /
unset CBT_FOO
ok inspect made
python3 - "$out" "$made" "$TESTTMP" <<'PY' || fail "inspect of a created container: $out"
import json, sys
c = json.loads(sys.argv[1])[0]
assert c["Id"] == sys.argv[2], c["Id"]
s, cf, hc = c["State"], c["Config"], c["HostConfig"]
assert s["Status"] == "created" and s["Running"] is False and s["Pid"] == 0, s
assert cf["Entrypoint"] == ["/bin/sh"] and cf["Cmd"] == ["-c", "echo hi"], cf
assert "A=1" in cf["Env"] and "COWBOX_FIXTURE=over" in cf["Env"], cf["Env"]
assert "CBT_FOO=bar" in cf["Env"] and "FROMFILE=1" in cf["Env"], cf["Env"]
assert any(e.startswith("PATH=") for e in cf["Env"]), cf["Env"]
assert cf["WorkingDir"] == "/srv" and cf["User"] == "1000", cf
assert cf["Hostname"] == sys.argv[2][:12], cf["Hostname"]
assert cf["Labels"] == {"org.cowbox.fixture": "busybox", "tier": "web", "solo": ""}, cf["Labels"]
assert hc["Memory"] == 64 << 20 and hc["NanoCpus"] == 1500000000 and hc["PidsLimit"] == 50, hc
assert hc["ShmSize"] == 8 << 20 and hc["ReadonlyRootfs"] is True, hc
assert hc["Binds"] == [sys.argv[3] + "/vol:/vol:ro"] and hc["Tmpfs"] == {"/t": "size=1m"}, hc
assert hc["Sysctls"] == {"net.ipv4.ip_forward": "1"} and hc["NetworkMode"] == "none", hc
PY
# start from another directory and environment gets what create resolved.
( cd "$TESTTMP" && CBT_FOO=bar "$COWBOX" create --name envc2 -e CBT_FOO --env-file env.list bb \
	sh -c 'echo $CBT_FOO $FROMFILE' >/dev/null ) || fail "create envc2"
CBT_FOO=other ok start -a envc2
[ "$out" = "bar 1" ] || fail "start elsewhere: env $out"
ok rm envc2
# The image's own Entrypoint/Cmd when none is given.
ok create --name plain bb
ok inspect -f '{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{.Config.Image}}' plain
img_cmd=$("$COWBOX" inspect -f '{{json .Config.Cmd}}' bb)
[ "$out" = "null|$img_cmd|bb" ] || fail "image's process in inspect: $out (image Cmd $img_cmd)"
say "created: Config and HostConfig by run's rules"

ok run -d --name up -l tier=db bb sleep 300
up=$out
lc_track "$up"
until_true 5 sh -c "'$COWBOX' exec up true" || fail "up did not start"
ok inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.Id}}' up made
pid=$(awk 'NR==1 {print $3}' <<<"$out")
[ "$(sed -n 1p <<<"$out")" = "running true $pid $up" ] && [ "$pid" -gt 1 ] ||
	fail "--format of a running container: $out"
[ "$(sed -n 2p <<<"$out")" = "created false 0 $made" ] || fail "--format, second argument: $out"
[ -d "/proc/$pid" ] || fail "State.Pid $pid is no process"
cb run --name gone bb sh -c 'exit 3'
[ "$rc" = 3 ] || fail "run exit 3: $rc"
cb run --name gone2 bb sh -c 'exit 4'
ok inspect -f '{{.State.Status}}:{{.State.ExitCode}}' gone gone2
[ "$(echo $out)" = "exited:3 exited:4" ] || fail "exit codes in inspect: $out"
say "State: created, running with its pid, exited with its code"

refuse 'template action \{\{range .Mounts\}\}: only' inspect -f '{{range .Mounts}}{{end}}' up
refuse 'a \{\{ without \}\}' inspect -f '{{.Id' up
ok inspect --type image -f '{{.Id}}' bb
grep -Eqx 'sha256:[0-9a-f]{64}' <<<"$out" || fail "--type image: $out"
refuse 'up: no such image$' inspect --type image up
ok create --name bb bb true
ok inspect -f '{{.State.Status}}' bb
[ "$out" = created ] || fail "inspect NAME of a container and an image: $out (want the container's)"
ok inspect --type image -f '{{.Config.Cmd}}' bb
ok rm bb
refuse 'no such container' inspect --type container bb
ok inspect -f '{{.Nope}} {{json .Nope}}' up
[ "$out" = "<no value> null" ] || fail "missing field: $out"
say "--format and --type"

# ps --filter
ids() { "$COWBOX" ps "$@" -q | sort | tr '\n' ' '; }
short() { for i in "$@"; do echo "${i:0:12}"; done | sort | tr '\n' ' '; }
gone=$("$COWBOX" inspect -f '{{.Id}}' gone)
[ "$(ids -a -f label=tier)" = "$(short "$made" "$up")" ] || fail "label=tier: $(ids -a -f label=tier)"
[ "$(ids -a -f label=tier -f label=solo)" = "$(short "$made")" ] || fail "two label filters (AND)"
[ -z "$(ids -a -f label=tier=web -f label=tier=db)" ] || fail "label=tier=web AND tier=db matched"
[ "$(ids -a -f name='^up$')" = "$(short "$up")" ] || fail "name=^up\$: $(ids -a -f name='^up$')"
[ "$(ids -a -f name='^(up|made)$')" = "$(short "$made" "$up")" ] || fail "name regex alternation"
refuse 'ps --filter name=\(: not a regular expression' ps -f 'name=('
bb_id=$("$COWBOX" inspect --type image -f '{{.Id}}' bb)
[ "$(ids -a -f ancestor=docker.io/library/bb:latest | wc -w)" = 5 ] || fail "ancestor by full name"
[ "$(ids -a -f ancestor="${bb_id:7:10}" | wc -w)" = 5 ] || fail "ancestor by ID prefix"
[ "$(ids -a -f label=tier=web)" = "$(short "$made")" ] || fail "label=tier=web"
[ "$(ids -a -f label=org.cowbox.fixture=busybox -f name=up)" = "$(short "$up")" ] || fail "image label AND name"
[ "$(ids -f status=exited -f status=created -f name=gone)" = "$(short "$gone" "$("$COWBOX" inspect -f '{{.Id}}' gone2)")" ] ||
	fail "status (ORed, every container) AND name: $(ids -f status=exited -f status=created -f name=gone)"
[ "$(ids -f status=running)" = "$(short "$up")" ] || fail "status=running"
[ "$(ids -a -f id="${made:0:6}")" = "$(short "$made")" ] || fail "id= prefix"
[ "$(ids -a -f ancestor=bb | wc -w)" = 5 ] || fail "ancestor=bb: $(ids -a -f ancestor=bb)"
[ -z "$(ids -a -f label=nosuch)" ] || fail "label=nosuch matched"
ok ps -a -f name=up --format json
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); assert len(r)==1 and r[0]["Labels"]["tier"]=="db", r' "$out" ||
	fail "ps --format json Labels: $out"
refuse 'ps --filter color=red: expected id=, name=, label=' ps -f color=red
refuse 'status is created, running, paused or exited' ps -f status=sleeping
say "ps --filter: id, name, label, status, ancestor"
ok rm -f up made plain gone gone2
