#!/bin/bash
# Proves: `stop` sends the container's stop signal: the image's StopSignal
# (docker's STOPSIGNAL), unless --stop-signal says another; it waits the
# container's --stop-timeout (not stop's default 10 s) before SIGKILL, and
# -t still wins; an image or option naming no signal is refused (125)
# before anything runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lifecycle-lib.sh"

# The busybox fixture again, its config given a StopSignal (and a second
# copy with a bogus one): blobs re-hashed, manifest and index rewritten.
with_stop_signal() { # DIR SIGNAL
	python3 - "$FIXTURES/busybox-gzip.oci" "$1" "$2" <<'EOF'
import hashlib, json, os, shutil, sys
src, dst, sig = sys.argv[1:]
shutil.copytree(src, dst)
b = os.path.join(dst, "blobs", "sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(b, d), "wb").write(data)
    return "sha256:" + d, len(data)
idx = json.load(open(os.path.join(dst, "index.json")))
m = json.load(open(os.path.join(b, idx["manifests"][0]["digest"][7:])))
cfg = json.load(open(os.path.join(b, m["config"]["digest"][7:])))
cfg.setdefault("config", {})["StopSignal"] = sig
m["config"]["digest"], m["config"]["size"] = put(json.dumps(cfg).encode())
idx["manifests"][0]["digest"], idx["manifests"][0]["size"] = put(json.dumps(m).encode())
json.dump(idx, open(os.path.join(dst, "index.json"), "w"))
EOF
}
with_stop_signal "$TESTTMP/usr1.oci" SIGUSR1
with_stop_signal "$TESTTMP/bogus.oci" SIGBOGUS
ok import "$TESTTMP/usr1.oci" bbusr1
ok import "$TESTTMP/bogus.oci" bbbogus
ok import "$FIXTURES/busybox-gzip.oci" bb

loop='while :; do sleep 0.1; done'

# The image's StopSignal.
ok run -d bbusr1 sh -c "trap 'echo got-usr1; exit 7' USR1; trap 'echo got-term; exit 9' TERM; $loop"
a=$out
lc_track "$a"
sleep 0.5
ok stop "$a"
ok wait "$a"
[ "$out" = 7 ] || fail "stop of an image with StopSignal SIGUSR1: exit $out, log: $("$COWBOX" logs "$a")"
ok logs "$a"
[ "$out" = got-usr1 ] || fail "log: $out"

# --stop-signal wins over the image's.
ok run -d --stop-signal TERM bbusr1 sh -c "trap 'echo got-usr1; exit 7' USR1; trap 'echo got-term; exit 9' TERM; $loop"
b=$out
lc_track "$b"
sleep 0.5
ok stop "$b"
ok wait "$b"
[ "$out" = 9 ] || fail "--stop-signal TERM: exit $out"

# --stop-timeout: a container that ignores the signal gets SIGKILL after
# 1 s, not 10; -t given to stop still decides.
ok run -d --stop-timeout 1 bb sh -c "trap '' TERM; $loop"
c=$out
lc_track "$c"
sleep 0.5
t0=$(date +%s%N)
ok stop "$c"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 900 ] && [ "$ms" -lt 6000 ] || fail "--stop-timeout 1: stop took $ms ms"
ok wait "$c"
[ "$out" = 137 ] || fail "--stop-timeout: exit $out (want 137, SIGKILL)"
ok run -d --stop-timeout 60 bb sh -c "trap '' TERM; $loop"
d=$out
lc_track "$d"
sleep 0.5
t0=$(date +%s%N)
ok stop -t 0 "$d"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 6000 ] || fail "stop -t 0 of a --stop-timeout 60 container took $ms ms"

n=$(ls "$COWBOX_ROOT/containers" | grep -c . || true)
refuse 'stop-signal FOO: unknown signal' run --rm --stop-signal FOO bb true
refuse 'stop-timeout x: expected a number of seconds' run --rm --stop-timeout x bb true
refuse 'image StopSignal SIGBOGUS: unknown signal' run --rm bbbogus true
refuse 'create bbbogus: image StopSignal SIGBOGUS: unknown signal' create bbbogus true
ok create --stop-signal KILL bbbogus true
lc_track "$out"
ok rm "$out"
[ "$(ls "$COWBOX_ROOT/containers" | grep -c . || true)" = "$n" ] || fail "a refused run left a container"
ok rm "$a" "$b" "$c" "$d"
store_check
echo "ok: stop signals and timeouts"
