#!/bin/bash
# cowbox pull NAME@sha256:... and NAME:TAG@sha256:...; a digest the
# registry does not have is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"
registry_start
registry_push "oci:$FIXTURES/busybox-gzip.oci:gzip" cowbox/busybox:gzip
want=$(fixture_config busybox-gzip.oci gzip)
digest=$(fixture_manifest busybox-gzip.oci gzip)
[ -n "$digest" ] || fail "no manifest digest in manifest.txt"

ok pull "$REGISTRY/cowbox/busybox@$digest"
[ "$out" = "$want" ] || fail "pull by digest printed '$out', want $want"
ok pull "$REGISTRY/cowbox/busybox:gzip@$digest"
[ "$out" = "$want" ] || fail "pull by tag@digest printed '$out', want $want"
ok images --format json
printf '%s' "$out" | grep -q "$REGISTRY/cowbox/busybox:gzip" || fail "tag@digest did not name the image: $out"

missing=sha256:$(printf 'nothing' | sha256sum | cut -d' ' -f1)
refuse "cowbox/busybox@$missing: manifest unknown" pull "$REGISTRY/cowbox/busybox@$missing"
refuse "invalid|digest" pull "$REGISTRY/cowbox/busybox@sha256:1234"
store_check
