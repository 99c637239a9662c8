#!/bin/bash
# A nested multi-platform index: the host's platform by default,
# --platform picks another, and a platform the index lacks is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"
registry_start
registry_push "oci:$FIXTURES/busybox-multi.oci:multi" cowbox/busybox:multi --all
amd64=$(fixture_config busybox-multi.oci linux/amd64)
arm64=$(fixture_config busybox-multi.oci linux/arm64/v8)
[ -n "$amd64" ] && [ -n "$arm64" ] || fail "manifest.txt lacks the multi-platform entries"
case $(uname -m) in
x86_64) host=$amd64 ;;
aarch64) host=$arm64 ;;
*) host= ;;
esac

if [ -n "$host" ]; then
	ok pull "$REGISTRY/cowbox/busybox:multi"
	[ "$out" = "$host" ] || fail "default platform pulled '$out', want $host"
fi
ok pull --platform linux/arm64/v8 "$REGISTRY/cowbox/busybox:multi"
[ "$out" = "$arm64" ] || fail "--platform linux/arm64/v8 pulled '$out', want $arm64"
ok pull --platform linux/arm64 "$REGISTRY/cowbox/busybox:multi"
[ "$out" = "$arm64" ] || fail "--platform linux/arm64 pulled '$out', want $arm64"
ok pull --platform linux/amd64 "$REGISTRY/cowbox/busybox:multi"
[ "$out" = "$amd64" ] || fail "--platform linux/amd64 pulled '$out', want $amd64"
# The arm64 image's own file is there.
ok inspect "$arm64"
top=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][-1]["Path"])') ||
	fail "inspect output has no layer paths: $out"
[ -f "$top/etc/arch" ] || fail "arm64 layer $top lacks /etc/arch"

refuse "no manifest for linux/s390x.*linux/amd64" pull --platform linux/s390x "$REGISTRY/cowbox/busybox:multi"
refuse "platform" pull --platform nonsense "$REGISTRY/cowbox/busybox:multi"
store_check
