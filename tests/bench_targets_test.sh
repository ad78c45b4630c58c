#!/bin/sh
# benchmarks/run.sh --targets on a committed run (2026-11-30-0744): each verdict
# follows its figure, and a ratio that misses its limit by less than the
# rounding shows the digits that miss it, never the limit itself next to MISSED.
# Usage: bench_targets_test.sh RUN.SH RESULTS.csv
set -eu
out=$(sh "$1" --targets "$2") || { echo "run.sh --targets failed" >&2; exit 1; }

# the line of target $1 must contain $2 and end in $3
expect() {
	line=$(printf '%s\n' "$out" | grep -F -- "| $1 |") || {
		echo "no line for: $1" >&2
		exit 1
	}
	case $line in
	*"$2"*"| $3 |") ;;
	*) echo "expected '$2' ... '$3' in: $line" >&2; exit 1 ;;
	esac
}

# 0.89997 against 0.9: "0.90x" would contradict its verdict
expect 'touch: framering-mpmc >= 0.9x floor-touch frames/s' '| 0.89997x bracketed median' MISSED
# 0.995 against 1.0
expect 'touch: framering-broadcast-3 >= 1.0x iceoryx-3 frames/s' '| 0.995x bracketed median' MISSED
# met, or missed far from the line: two decimals as before
expect 'touch: framering-spsc >= 0.9x floor-touch frames/s' '| 1.01x bracketed median' met
expect 'busy-wait latency p50: framering-spsc+spin <= 1.5x floor-spin' '| 1.29x bracketed median' met
expect 'handoff: framering-broadcast-3 >= 1.5x iceoryx-3 frames/s' '| 18.7x bracketed median' met
echo "targets report: verdicts and figures agree"
