#!/bin/bash
# A tag or a repository the registry does not have, a registry that is
# not there or not reachable the way asked: one line, exit 125, nothing
# recorded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/registry.sh"
registry_start
registry_push "oci:$FIXTURES/busybox-gzip.oci:gzip" cowbox/busybox:gzip

refuse "cowbox/busybox:nope: manifest unknown" pull "$REGISTRY/cowbox/busybox:nope"
refuse "nothing/here:latest: (manifest unknown|repository name not known)" pull "$REGISTRY/nothing/here"
refuse "invalid|reference" pull "$REGISTRY/UPPER/case"
# --tls-verify (=true) never falls back to plain HTTP, even for a local registry.
refuse "$REGISTRY" pull --tls-verify "$REGISTRY/cowbox/busybox:gzip"
# Nothing listens there: a connection error naming the registry.
port=$(_registry_free_port)
refuse "127.0.0.1:$port" pull "127.0.0.1:$port/cowbox/busybox:gzip"
ok images -q
[ -z "$out" ] || fail "a failed pull left images: $out"
store_check
