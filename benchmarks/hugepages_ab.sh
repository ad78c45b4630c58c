#!/bin/sh
# Page kinds for the payload, compared in one run (issue 15, item 5): the touch
# rows of framering at 1920x1080x3 and 3840x2160x3 with segments on
#   small     a tmpfs mounted huge=never (4 KiB pages),
#   thp       a tmpfs mounted huge=advise, which the library's
#             madvise(MADV_HUGEPAGE) on the payload takes (transparent huge pages),
#   hugetlbfs a hugetlbfs mount (2 MB pages; files in whole huge pages),
# alternating, REPS times. For /dev/shm itself thp is
# `mount -o remount,huge=advise /dev/shm`; anonymous (memfd) segments follow
# /sys/kernel/mm/transparent_hugepage/shmem_enabled instead. hugetlbfs needs
# huge pages: where the pool has too few free, the kernel may allocate surplus
# ones for the run (vm.nr_overcommit_hugepages, restored on exit). Needs root
# to mount; the mounts are removed on exit. Each mode prints the most memory
# it held in huge pages, as proof that it took.
#
#   benchmarks/hugepages_ab.sh [REPS]      (default 3; run benchmarks/run.sh once first)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bench="$here/../build-bench/benchmarks/framering-bench"
reps=${1:-3}
case "$reps" in '' | *[!0-9]* | 0)
	echo "hugepages_ab.sh: REPS must be a positive number" >&2
	exit 2
	;;
esac
[ -x "$bench" ] || { echo "hugepages_ab.sh: build it first (benchmarks/run.sh --quick)" >&2; exit 1; }
base=$(mktemp -d /tmp/frhuge.XXXXXX)
peak="$base/peak"
overcommit=/proc/sys/vm/nr_overcommit_hugepages
saved_overcommit=""
cleanup() {
	for m in small thp hugetlbfs; do umount "$base/$m" 2>/dev/null || true; done
	[ -z "$saved_overcommit" ] || echo "$saved_overcommit" > "$overcommit"
	rm -rf "$base"
}
trap cleanup EXIT INT TERM
mkdir -p "$base/small" "$base/thp" "$base/hugetlbfs"
if ! mount -t tmpfs -o "size=2g,huge=never,mode=1777" frhuge-small "$base/small" ||
	! mount -t tmpfs -o "size=2g,huge=advise,mode=1777" frhuge-thp "$base/thp"; then
	echo "hugepages_ab.sh: cannot mount a tmpfs (root needed): skipped" >&2
	exit 0
fi
modes="small thp"
# 3840x2160x3 broadcast: 8 slots of 24 MB, and the acknowledgement rings
need=128
free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
if [ "${free:-0}" -lt "$need" ] && [ -w "$overcommit" ]; then
	saved_overcommit=$(cat "$overcommit")
	echo $((saved_overcommit + need)) > "$overcommit"
fi
if mount -t hugetlbfs -o mode=1777 frhuge-hugetlbfs "$base/hugetlbfs"; then
	modes="$modes hugetlbfs"
else
	echo "hugepages_ab.sh: cannot mount hugetlbfs: that mode skipped" >&2
fi
# The most memory in huge pages while a mode runs, in kB.
sample() {
	max=0
	while :; do
		v=$(awk '/^ShmemHugePages:/ { s = $2 } /^HugePages_Total:/ { t = $2 }
			/^HugePages_Free:/ { f = $2 } /^Hugepagesize:/ { z = $2 }
			END { print s + (t - f) * z }' /proc/meminfo)
		[ "$v" -gt "$max" ] && max=$v && echo "$max" > "$peak"
		sleep 0.02
	done
}
for r in $(seq 1 "$reps"); do
	for mode in $modes; do
		echo 0 > "$peak"
		sample & sampler=$!
		for size in 1920x1080x3 3840x2160x3; do
			FRAMERING_DIR="$base/$mode" "$bench" --reps 1 --size "$size" --no-iceoryx \
				--only framering-spsc,framering-mpmc,framering-broadcast-1,framering-broadcast-3 \
				2>/dev/null |
				awk -v m="$mode" -v r="$r" '/\| touch \|/ { print "rep " r ", " m ": " $0 }'
		done
		kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
		echo "rep $r, $mode: peak memory in huge pages $(cat "$peak") kB"
	done
done
