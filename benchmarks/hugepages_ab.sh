#!/bin/sh
# Huge pages for the payload, A/B in one run (issue 15, item 5): the touch
# rows of framering at 1920x1080x3 and 3840x2160x3 with segments on a tmpfs
# mounted huge=never and on one mounted huge=advise (which the library's
# madvise(MADV_HUGEPAGE) on the payload then takes), alternating, REPS times.
# For /dev/shm itself the same is `mount -o remount,huge=advise /dev/shm`;
# anonymous (memfd) segments follow /sys/kernel/mm/transparent_hugepage/
# shmem_enabled instead. Needs root to mount; both mounts are removed on exit.
#
#   benchmarks/hugepages_ab.sh [REPS]      (default 3; run benchmarks/run.sh once first)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bench="$here/../build-bench/benchmarks/framering-bench"
reps=${1:-3}
[ -x "$bench" ] || { echo "hugepages_ab.sh: build it first (benchmarks/run.sh --quick)" >&2; exit 1; }
base=$(mktemp -d /tmp/frhuge.XXXXXX)
peak="$base/peak"
cleanup() {
	umount "$base/never" 2>/dev/null || true
	umount "$base/advise" 2>/dev/null || true
	rm -rf "$base"
}
trap cleanup EXIT INT TERM
for mode in never advise; do
	mkdir -p "$base/$mode"
	if ! mount -t tmpfs -o "size=2g,huge=$mode,mode=1777" "frhuge-$mode" "$base/$mode"; then
		echo "hugepages_ab.sh: cannot mount a tmpfs (root needed): skipped" >&2
		exit 0
	fi
done
# The most shared memory in huge pages while a mode runs: proof that it took.
sample() {
	max=0
	while :; do
		v=$(awk '/^ShmemHugePages:/ { print $2 }' /proc/meminfo)
		[ "$v" -gt "$max" ] && max=$v && echo "$max" > "$peak"
		sleep 0.02
	done
}
for r in $(seq 1 "$reps"); do
	for mode in never advise; do
		echo 0 > "$peak"
		sample & sampler=$!
		for size in 1920x1080x3 3840x2160x3; do
			FRAMERING_DIR="$base/$mode" "$bench" --reps 1 --size "$size" --no-iceoryx \
				--only framering-spsc,framering-broadcast-1,framering-mpmc 2>/dev/null |
				awk -v m="$mode" -v r="$r" '/\| touch \|/ { print "rep " r ", huge=" m ": " $0 }'
		done
		kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
		echo "rep $r, huge=$mode: peak ShmemHugePages $(cat "$peak") kB"
	done
done
