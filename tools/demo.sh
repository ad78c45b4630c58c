#!/usr/bin/env bash
# The demo pipeline: a camera and two vision consumers on one shared-memory segment.
#
#   tools/demo.sh            (BUILD_DIR=dir to build elsewhere; default build-demo/;
#                             DEMO_SECONDS=n to run longer than 10 s)
#
# Installs the Debian packages that are missing, builds the framering command,
# creates a 1280x720 BGR broadcast segment, runs a 60 fps synthetic camera
# (`framering pub --source pattern`) for about 10 s and two consumers attached to
# it: one saves a JPEG snapshot every 60 frames, one only measures (a "latest"
# consumer: it never holds the camera back). Their status lines show live; a
# summary follows. Ctrl-C stops everything and removes the segment.
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/deps.sh
. "$top/tools/deps.sh"

seconds="${DEMO_SECONDS:-10}"
case "$seconds" in '' | *[!0-9]* | 0) echo "demo: DEMO_SECONDS must be a positive integer" >&2; exit 2 ;; esac
fps=60

say() { printf '\n== %s\n' "$*"; }

say "checking the Debian packages the demo needs"
fr_ensure_packages gcc libc6-dev meson ninja-build pkg-config libturbojpeg0-dev

builddir="${BUILD_DIR:-$top/build-demo}"
say "building into $builddir"
if [ -f "$builddir/build.ninja" ]; then
	meson setup --reconfigure "$builddir" "$top" -Dtools=true >/dev/null
else
	meson setup "$builddir" "$top" -Dtools=true -Dtests=false -Dbenchmarks=false >/dev/null
fi
meson compile -C "$builddir" >/dev/null
fr="$builddir/tools/framering"
[ -x "$fr" ] || { echo "demo: $fr was not built" >&2; exit 1; }

seg="framering-demo-$$"
snapdir="$builddir/demo-snapshots"
logdir="$(mktemp -d "${TMPDIR:-/tmp}/framering-demo.XXXXXX")"
pids=()
tail_pid=

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$tail_pid" ]; then
		kill "$tail_pid" 2>/dev/null || true
		wait "$tail_pid" 2>/dev/null || true
	fi
	"$fr" rm --force "$seg" 2>/dev/null || true
	rm -rf "$logdir"
	exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up" >&2; exit 130' INT TERM

rm -rf "$snapdir"
mkdir -p "$snapdir"

say "creating segment /$seg: 1280x720 bgr24, broadcast, 8 slots"
"$fr" create "$seg" --mode broadcast --slots 8 --size 1280x720 --format bgr24

say "starting two consumers and a ${fps} fps camera for ${seconds} s (status every second)"
: >"$logdir/snap.log"
: >"$logdir/measure.log"
: >"$logdir/camera.log"
tail -q -n +1 -F "$logdir/camera.log" "$logdir/snap.log" "$logdir/measure.log" 2>/dev/null &
tail_pid=$!

"$fr" sub "$seg" --label snapshots --jpeg "$snapdir" --every 60 --quality 85 2>"$logdir/snap.log" &
snap_pid=$!
pids+=("$snap_pid")
"$fr" sub "$seg" --label measure --latest 2>"$logdir/measure.log" &
measure_pid=$!
pids+=("$measure_pid")

# The camera starts once both consumers are attached, so they see frame 0 on.
for _ in $(seq 100); do
	attached=$("$fr" info --json "$seg" | grep -c '"role": "consumer"' || true)
	[ "$attached" -ge 2 ] && break
	sleep 0.05
done

"$fr" pub "$seg" --label camera --source pattern --fps "$fps" --count $((fps * seconds)) 2>"$logdir/camera.log" &
pub_pid=$!
pids+=("$pub_pid")

status=0
wait "$pub_pid" || status=1
# The camera closed: the consumers drain the stream, see its end and exit.
wait "$snap_pid" || status=1
wait "$measure_pid" || status=1
pids=()
sleep 0.3 # let tail show the last lines
kill "$tail_pid" 2>/dev/null || true
wait "$tail_pid" 2>/dev/null || true
tail_pid=

# "...: summary: N frames in S s, F fps, M MB/s, latency p50 A ms p99 B ms, drops D..."
row() {
	local who=$1 log=$2 line
	line=$(grep ': summary: ' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		printf '%-10s %s\n' "$who" "(no summary: see the errors above)"
		status=1
		return
	fi
	# shellcheck disable=SC2001
	sed -E 's/.*summary: ([0-9]+) frames in [0-9.]+ s, ([0-9.]+) fps, ([0-9.]+) MB\/s, (latency p50 ([0-9.]+) ms p99 ([0-9.]+) ms, )?(drops|skipped) ([0-9]+).*/\1 \2 \3 \5 \6 \8/' <<<"$line" |
		{
			read -r frames rate mbs p50 p99 drops
			if [ -z "$drops" ]; then # no latency fields: the camera
				drops=$p50
				p50=-
				p99=-
			fi
			printf '%-10s %8s %8s %9s %10s %10s %7s\n' "$who" "$frames" "$rate" "$mbs" "$p50" "$p99" "$drops"
		}
}

say "summary"
printf '%-10s %8s %8s %9s %10s %10s %7s\n' "process" "frames" "fps" "MB/s" "p50 ms" "p99 ms" "drops"
row camera "$logdir/camera.log"
row snapshots "$logdir/snap.log"
row measure "$logdir/measure.log"
njpeg=$(find "$snapdir" -name 'frame-*.jpg' | wc -l)
echo
echo "latency: from the frame's capture timestamp (its publish) to its acquire by the consumer."
echo "The snapshot consumer encodes a JPEG from the slot every 60 frames: the frames queued"
echo "behind those encodes set its p99. drops: frames the latest consumer skipped to stay at"
echo "the newest one; the camera's column counts frames it could not produce."
echo "$njpeg JPEG snapshots (every 60th frame, 1280x720) in $snapdir"
first=$(find "$snapdir" -name 'frame-*.jpg' | sort | sed -n 2p)
[ -n "$first" ] && echo "for example: $first"
[ "$njpeg" -gt 0 ] || status=1
exit "$status"
