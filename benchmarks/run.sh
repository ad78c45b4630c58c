#!/bin/sh
# Build and run framering-bench: framering against pipes, unix sockets, TCP on
# 127.0.0.1 and Eclipse iceoryx, on this machine, in one run.
#
#   benchmarks/run.sh            full run (about 3-4 minutes on 2 cores): prints the
#                                table, writes benchmarks/results/<date>.csv,
#                                <date>-idle.csv, <date>.md and <date>.png
#   benchmarks/run.sh --quick    CI check (seconds): every transport runs and
#                                delivers correct data; exit status 1 otherwise
#
# Other arguments go to framering-bench (e.g. --only framering, --reps 7).
# Missing Debian packages are installed with apt-get (root or sudo). The
# iceoryx daemon iox-roudi is started for the run and stopped afterwards.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build-bench"
quick=0
for a in "$@"; do
	[ "$a" = "--quick" ] && quick=1
done

say() { printf '%s\n' "run.sh: $*" >&2; }

# --- packages -----------------------------------------------------------------
need="gcc meson ninja-build pkg-config cmake iceoryx libiceoryx-binding-c-dev"
[ "$quick" = 1 ] || need="$need gnuplot-nox"
missing=""
for p in $need; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	say "installing:$missing"
	$sudo apt-get update -qq
	# iceoryx is optional: when its packages cannot be installed its rows are skipped.
	if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null; then
		say "some packages failed to install; retrying without iceoryx"
		rest=$(printf '%s\n' $missing | grep -v iceoryx | tr '\n' ' ')
		[ -z "$rest" ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $rest >/dev/null
	fi
fi

# --- build ----------------------------------------------------------------------
if [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" "$root" >/dev/null
else
	meson setup "$build" "$root" --buildtype=release -Dtests=false -Dtools=false \
		-Dbenchmarks=true >/dev/null
fi
ninja -C "$build" benchmarks/framering-bench >/dev/null
bench="$build/benchmarks/framering-bench"

# --- iceoryx daemon ------------------------------------------------------------
tmp=$(mktemp -d)
roudi_pid=""
cleanup() {
	if [ -n "$roudi_pid" ] && kill -0 "$roudi_pid" 2>/dev/null; then
		kill -INT "$roudi_pid" 2>/dev/null || true
		i=0
		while kill -0 "$roudi_pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$roudi_pid" 2>/dev/null || true
		wait "$roudi_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

iox_arg="--no-iceoryx"
if command -v iox-roudi >/dev/null 2>&1 && "$bench" --iceoryx-config >"$tmp/roudi.toml" 2>/dev/null; then
	iox-roudi -c "$tmp/roudi.toml" >"$tmp/roudi.log" 2>&1 &
	roudi_pid=$!
	i=0
	while [ $i -lt 100 ]; do
		if grep -q "RouDi is ready" "$tmp/roudi.log" 2>/dev/null; then
			iox_arg=""
			break
		fi
		kill -0 "$roudi_pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	if [ -n "$iox_arg" ]; then
		say "iox-roudi did not start; iceoryx rows skipped. Its log:"
		sed 's/^/  /' "$tmp/roudi.log" >&2
	fi
else
	say "iceoryx not available (no iox-roudi or no C binding); iceoryx rows skipped"
fi

# --- run -------------------------------------------------------------------------
if [ "$quick" = 1 ]; then
	# shellcheck disable=SC2086
	"$bench" $iox_arg "$@"
	exit $?
fi

mkdir -p "$here/results"
stamp=$(date -u +%Y-%m-%d-%H%M)
csv="$here/results/$stamp.csv"
idle="$here/results/$stamp-idle.csv"
md="$here/results/$stamp.md"
png="$here/results/$stamp.png"
status=0
# shellcheck disable=SC2086
"$bench" $iox_arg --csv "$csv" --idle-csv "$idle" "$@" >"$md" || status=$?
cat "$md"
say "wrote $csv, $idle, $md"

# --- plot ------------------------------------------------------------------------
if command -v gnuplot >/dev/null 2>&1 && [ -s "$csv" ]; then
	transports=$(awk -F, 'NR > 1 && !seen[$1]++ { print $1 }' "$csv")
	for w in handoff touch; do
		files=""
		titles=""
		for t in $transports; do
			f="$tmp/$w-$(printf '%s' "$t" | tr '+' '_').dat"
			awk -F, -v t="$t" -v w="$w" '$1 == t && $2 == w { print $3, $6, $8, $9 }' "$csv" >"$f"
			if [ -s "$f" ]; then
				files="$files $f"
				titles="$titles $t"
			fi
		done
		eval "files_$w=\"\$files\""
		eval "titles_$w=\"\$titles\""
	done
	host_cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
	ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")
	# shellcheck disable=SC2154
	cat >"$tmp/plot.gp" <<EOF
set terminal pngcairo size 1600,1150 font "sans,11"
set output "$png"
set multiplot layout 2,2 title "framering-bench $stamp: $ncpu CPUs ($host_cpu), medians of repetitions"
set logscale xy
set grid xtics ytics mytics
set xtics ("64 B" 64, "640x480x3" 921600, "1920x1080x3" 6220800, "3840x2160x3" 24883200)
set xrange [40:40000000]
set key outside right top font ",10"
set style data linespoints
set format y "10^{%L}"
hf = "$files_handoff"
ht = "$titles_handoff"
tf = "$files_touch"
tt = "$titles_touch"
set ylabel "frames/s"
set title "handoff: 64-byte header written, frame handed over"
plot for [i=1:words(hf)] word(hf, i) using 1:2 title word(ht, i) lw 2 pt (i % 13) + 1
set title "touch: every byte written and read"
plot for [i=1:words(tf)] word(tf, i) using 1:2 title word(tt, i) lw 2 pt (i % 13) + 1
set ylabel "one-way latency p50 (us)"
set format y "%g"
set title "handoff: ping-pong latency (round trip / 2), p50"
plot for [i=1:words(hf)] word(hf, i) using 1:3 title word(ht, i) lw 2 pt (i % 13) + 1
set title "touch: ping-pong latency (round trip / 2), p50"
plot for [i=1:words(tf)] word(tf, i) using 1:3 title word(tt, i) lw 2 pt (i % 13) + 1
unset multiplot
EOF
	if gnuplot "$tmp/plot.gp"; then
		say "wrote $png"
	else
		say "gnuplot failed"
		status=1
	fi
fi
exit $status
