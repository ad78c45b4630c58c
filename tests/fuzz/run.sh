#!/usr/bin/env bash
# Build the libFuzzer target with clang (ASan+UBSan) and fuzz hostile segments.
#   tests/fuzz/run.sh [SECONDS] [extra libFuzzer options...]     (default 60 s)
# Installs clang and the fuzzer runtime when missing. Starts from the seed
# corpus in tests/fuzz/corpus (never modified: new inputs go to the build
# directory) and fails when the fuzzer finds a crash, a hang (-timeout) or a
# memory error; the reproducer is saved under $BUILD_DIR/artifacts/. Replay
# one with: $BUILD_DIR/tests/fuzz/fuzz_segment FILE
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tools/deps.sh
. "$top/tools/deps.sh"
seconds="${1:-60}"
shift || true
fr_ensure_packages "${FR_BUILD_PACKAGES[@]}" clang libclang-rt-14-dev libfuzzer-14-dev

builddir="${BUILD_DIR:-$top/build-fuzz}"
if [ -f "$builddir/build.ninja" ]; then
	meson setup --reconfigure "$builddir" "$top" -Dfuzz=true >/dev/null
else
	CC=clang meson setup "$builddir" "$top" -Dfuzz=true -Dtools=false -Dbenchmarks=false \
		-Dwerror=true -Dbuildtype=debugoptimized
fi
meson compile -C "$builddir" tests/fuzz/fuzz_segment

work="$builddir/fuzz-corpus" # grows run after run; the seeds stay as committed
mkdir -p "$work" "$builddir/artifacts"
# Leftover segment files of earlier fuzzer processes that died (the fuzzer
# removes its own at a clean exit; a crash leaves it).
for f in /dev/shm/frfuzz-*; do
	[ -e "$f" ] || continue
	pid="${f##*/frfuzz-}"
	pid="${pid#tpl-}"
	pid="${pid%%-*}"
	if [[ "$pid" =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null; then
		rm -f "$f"
	fi
done

echo "fuzzing for $seconds s (ASan+UBSan; a run longer than 10 s per input is a hang)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
"$builddir/tests/fuzz/fuzz_segment" \
	-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
	-print_final_stats=1 -artifact_prefix="$builddir/artifacts/" "$@" \
	"$work" "$top/tests/fuzz/corpus" || status=$?
if [ "$status" -ne 0 ]; then
	echo "FAIL: the fuzzer found a crash, hang or memory error (exit $status);" \
		"reproducer in $builddir/artifacts/" >&2
	exit 1
fi
echo "fuzzing: no crash in $seconds s"
