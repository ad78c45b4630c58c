#!/usr/bin/env bash
# The README's test command: install what is missing, build, run every test.
#   tools/test.sh [meson setup options...]      (BUILD_DIR=dir to build elsewhere; default build/)
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/deps.sh
. "$top/tools/deps.sh"
fr_ensure_packages "${FR_BUILD_PACKAGES[@]}"

builddir="${BUILD_DIR:-$top/build}"
# The GStreamer plugin is part of what is tested (its packages are in
# FR_BUILD_PACKAGES); a later -Dgstreamer=... on the command line wins.
if [ -f "$builddir/build.ninja" ]; then
	meson setup --reconfigure "$builddir" "$top" -Dgstreamer=enabled "$@" >/dev/null
else
	meson setup "$builddir" "$top" -Dgstreamer=enabled "$@"
fi
meson compile -C "$builddir"
meson test -C "$builddir" --print-errorlogs --num-processes 2 ${FR_TEST_SUITES:-}
