#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan+UBSan) and fuzz them, the time
# split between the two:
#   fuzz_segment  hostile segments (tests/fuzz/corpus)
#   fuzz_bridge   hostile bridge messages, native and imagezmq (tests/fuzz/corpus-bridge)
#   tests/fuzz/run.sh [SECONDS] [extra libFuzzer options...]     (default 60 s in all)
# Installs clang and the fuzzer runtime when missing. Starts from the seed
# corpora (never modified: new inputs go to the build directory) and fails
# when a fuzzer finds a crash, a hang (-timeout) or a memory error; the
# reproducer is saved under $BUILD_DIR/artifacts/ (named after its target).
# Replay one with: $BUILD_DIR/tests/fuzz/fuzz_segment FILE (or fuzz_bridge FILE)
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
meson compile -C "$builddir" tests/fuzz/fuzz_segment tests/fuzz/fuzz_bridge

mkdir -p "$builddir/artifacts"
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

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# fuzz TARGET SECONDS SEEDS MAX_LEN [options]: one target; its corpus grows in
# the build directory run after run, the seeds stay as committed.
fuzz() {
	local target=$1 secs=$2 seeds=$3 max_len=$4 status=0
	shift 4
	local work="$builddir/fuzz-corpus" # fuzz_segment's, as before; fuzz-corpus-bridge
	[ "$target" = fuzz_segment ] || work="$work-${target#fuzz_}"
	mkdir -p "$work"
	echo "fuzzing $target for $secs s (ASan+UBSan; a run longer than 10 s per input is a hang)"
	"$builddir/tests/fuzz/$target" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
		-print_final_stats=1 -artifact_prefix="$builddir/artifacts/$target-" "$@" \
		"$work" "$seeds" || status=$?
	if [ "$status" -ne 0 ]; then
		echo "FAIL: $target found a crash, hang or memory error (exit $status);" \
			"reproducer in $builddir/artifacts/" >&2
		return 1
	fi
}
bridge_secs=$((seconds / 2))
[ "$bridge_secs" -ge 1 ] || bridge_secs=1
segment_secs=$((seconds - bridge_secs))
[ "$segment_secs" -ge 1 ] || segment_secs=1
fuzz fuzz_segment "$segment_secs" "$top/tests/fuzz/corpus" 4096 "$@"
fuzz fuzz_bridge "$bridge_secs" "$top/tests/fuzz/corpus-bridge" 8192 "$@"
echo "fuzzing: no crash in $seconds s ($segment_secs s segments, $bridge_secs s bridge messages)"
