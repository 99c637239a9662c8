#!/bin/sh
# The overlay issue's filesystem-behaviour suite (31-fs-suite.sh) on the
# FUSE driver: the same merged view, the same `cowbox diff`, remount,
# commit, save and import.
[ -c /dev/fuse ] || { echo "SKIP: needs /dev/fuse" >&2; exit 77; }
COWBOX_TEST_DRIVER=fuse exec bash "$(dirname "$0")/31-fs-suite.sh"
