#!/usr/bin/env bash
# The framering command end to end: cli_test.sh FRAMERING JPEG_CHECK
#   create -> sub --jpeg (attached first) -> pub --source pattern -> snapshots
#   decode at the right size and show the right frame numbers -> info --json
#   -> rm; JPEG and raw sources; clean stop on SIGINT/SIGTERM; sub and info
#   started before their segment (--wait); bad input of every kind fails with a
#   message and leaves no segment behind.
set -u
fr=$1
check=$2
# shellcheck source=tests/cli_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
cli_setup frcli

json_get() { # json_get KEY < json
	python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

no_leftovers() { # no_leftovers CONTEXT [allowed names...]
	local ctx=$1 f base ok
	shift
	for f in /dev/shm/frcli-"$$"*; do
		[ -e "$f" ] || continue
		base=${f#/dev/shm/}
		ok=0
		for a in "$@"; do [ "$base" = "$a" ] && ok=1; done
		[ "$ok" = 1 ] || fail "$ctx: left segment $base behind"
	done
}

# ---- the pipeline ----------------------------------------------------------
run 0 "create" -- "$fr" create "$seg" --mode mpmc --slots 8 --size 320x240 --format bgr24
[ -e "/dev/shm/$seg" ] || fail "create: no /dev/shm/$seg"
grep -q "320x240 bgr24" "$tmp/out" || fail "create: no description: $(cat "$tmp/out")"

"$fr" sub "$seg" --jpeg "$tmp/snap" --every 100 --count 300 --quiet --timeout 60 \
	2>"$tmp/sub.err" &
sub_pid=$!
bgpids+=("$sub_pid")
wait_consumers 1 "$seg"
run 0 "pub pattern" -- "$fr" pub "$seg" --source pattern --count 300 --fps 0 --quiet
grep -q "summary: 300 frames" "$tmp/err" || fail "pub: no summary of 300 frames: $(cat "$tmp/err")"
wait "$sub_pid"
rc=$?
[ "$rc" -eq 0 ] || fail "sub exited $rc: $(cat "$tmp/sub.err")"
grep -q "summary: 300 frames.*latency p50 .* ms p99 .* ms, drops 0, 3 JPEGs" "$tmp/sub.err" ||
	fail "sub summary: $(cat "$tmp/sub.err")"
[ "$(find "$tmp/snap" -type f | wc -l)" -eq 3 ] || fail "snapshots: $(ls "$tmp/snap")"
for seq in 0 100 200; do
	f=$(printf '%s/snap/frame-%06d.jpg' "$tmp" "$seq")
	out=$("$check" "$f") || { fail "snapshot $f does not decode"; continue; }
	[ "$out" = "320x240 $seq" ] || fail "snapshot $f: '$out', expected '320x240 $seq'"
done

"$fr" info --json "$seg" >"$tmp/info.json" || fail "info --json failed"
python3 -m json.tool "$tmp/info.json" >/dev/null || fail "info --json is not JSON: $(cat "$tmp/info.json")"
[ "$(json_get published <"$tmp/info.json")" = 300 ] || fail "info --json: published is not 300"
[ "$(json_get consumed <"$tmp/info.json")" = 300 ] || fail "info --json: consumed is not 300"
[ "$(json_get width <"$tmp/info.json")" = 320 ] || fail "info --json: width"
[ "$(json_get format <"$tmp/info.json")" = bgr24 ] || fail "info --json: format"
[ "$(json_get mode <"$tmp/info.json")" = mpmc ] || fail "info --json: mode"
run 0 "info" -- "$fr" info "$seg"
grep -q "published 300" "$tmp/out" || fail "info: $(cat "$tmp/out")"
run 0 "ls" -- "$fr" ls
grep -q "^/$seg .*mpmc .*320x240 bgr24" "$tmp/out" || fail "ls: $(cat "$tmp/out")"
"$fr" ls --json | python3 -c "import json,sys; assert any(s['name']=='/$seg' for s in json.load(sys.stdin))" ||
	fail "ls --json does not parse or lacks /$seg"
run 0 "rm" -- "$fr" rm "$seg"
[ -e "/dev/shm/$seg" ] && fail "rm: /dev/shm/$seg still exists"
run 1 "rm again" -- "$fr" rm "$seg"

# ---- jpeg source: decoded into the slots; bad files reported and skipped ----
mkdir -p "$tmp/in"
cp "$tmp/snap/"*.jpg "$tmp/in/"
head -c 700 "$tmp/snap/frame-000100.jpg" >"$tmp/in/frame-000150-truncated.jpg"
"$fr" pub "$seg-small" --source pattern --size 160x120 --count 1 --fps 0 --quiet 2>/dev/null &&
	"$fr" sub "$seg-small" --jpeg "$tmp/small" --count 1 --quiet 2>/dev/null &&
	cp "$tmp/small/frame-000000.jpg" "$tmp/in/frame-000050-small.jpg" ||
	fail "making a 160x120 JPEG"
"$fr" rm "$seg-small"
run 0 "pub jpeg: with a truncated and a wrong-size file" -- \
	"$fr" pub "$seg-j" --source jpeg:"$tmp/in" --format bgr24 --mode mpmc --slots 8 --fps 0 --quiet
[ "$(grep -c 'skipping' "$tmp/err")" -eq 2 ] || fail "pub jpeg: expected 2 skipped files: $(cat "$tmp/err")"
grep -q "frame-000050-small.jpg: JPEG is 160x120, the segment is 320x240" "$tmp/err" ||
	fail "pub jpeg: wrong-size message: $(cat "$tmp/err")"
grep -q "summary: 3 frames" "$tmp/err" || fail "pub jpeg: 3 frames expected: $(cat "$tmp/err")"
run 0 "sub after the stream ended drains it" -- "$fr" sub "$seg-j" --jpeg "$tmp/snap2" --quiet --timeout 30
for i in 0 1 2; do
	out=$("$check" "$(printf '%s/snap2/frame-%06d.jpg' "$tmp" "$i")") || { fail "re-encoded frame $i"; continue; }
	[ "$out" = "320x240 $((i * 100))" ] || fail "jpeg source frame $i shows '$out'"
done
run 0 "rm jpeg segment" -- "$fr" rm "$seg-j"

# ---- raw source --------------------------------------------------------------
head -c $((64 * 48 * 5 + 100)) /dev/urandom >"$tmp/frames.raw"
run 0 "pub raw" -- "$fr" pub "$seg-r" --source raw:"$tmp/frames.raw" --size 64x48 --format gray8 \
	--mode mpmc --slots 8 --fps 0 --quiet
grep -q "summary: 5 frames" "$tmp/err" || fail "pub raw: 5 frames expected: $(cat "$tmp/err")"
grep -q "incomplete last frame" "$tmp/err" || fail "pub raw: no warning about the partial frame"
run 0 "rm raw segment" -- "$fr" rm "$seg-r"

# ---- SIGINT/SIGTERM stop cleanly; closing the producer ends the stream --------
run 0 "create broadcast" -- "$fr" create "$seg-s" --mode broadcast --slots 8 --size 64x48 --format gray8
"$fr" sub "$seg-s" --quiet 2>"$tmp/s1.err" &
s1=$!
"$fr" sub "$seg-s" --latest --quiet 2>"$tmp/s2.err" &
s2=$!
bgpids+=("$s1" "$s2")
wait_consumers 2 "$seg-s"
"$fr" pub "$seg-s" --source pattern --fps 100 --quiet 2>"$tmp/p.err" &
p=$!
bgpids+=("$p")
sleep 1
kill -INT "$p"
wait "$p" || fail "pub after SIGINT exited $?: $(cat "$tmp/p.err")"
grep -q "summary:" "$tmp/p.err" || fail "pub after SIGINT: no summary"
wait "$s1" || fail "reliable sub at end of stream exited $?: $(cat "$tmp/s1.err")"
wait "$s2" || fail "latest sub at end of stream exited $?: $(cat "$tmp/s2.err")"
grep -q "summary: [1-9][0-9]* frames.*end of stream" "$tmp/s1.err" || fail "sub saw no frame: $(cat "$tmp/s1.err")"
run 0 "rm ended broadcast" -- "$fr" rm "$seg-s"
# An idle consumer (no producer yet) and info --watch stop on a signal too.
run 0 "create idle" -- "$fr" create "$seg-s" --mode broadcast --slots 4 --size 64x48 --format gray8
"$fr" sub "$seg-s" --quiet 2>"$tmp/s3.err" &
s3=$!
bgpids+=("$s3")
wait_consumers 1 "$seg-s"
kill -TERM "$s3"
wait "$s3" || fail "idle sub after SIGTERM exited $?"
grep -q "summary: 0 frames.*stopped by a signal" "$tmp/s3.err" || fail "idle sub: $(cat "$tmp/s3.err")"
"$fr" info --watch --quiet "$seg-s" >/dev/null 2>"$tmp/w.err" &
w=$!
bgpids+=("$w")
sleep 1.5
kill -INT "$w"
wait "$w" || fail "info --watch after SIGINT exited $?"
grep -q "summary: watched" "$tmp/w.err" || fail "info --watch: no summary: $(cat "$tmp/w.err")"
"$fr" info --watch --json "$seg-s" 2>/dev/null >"$tmp/w.json" &
w=$!
bgpids+=("$w")
sleep 2.5
kill -TERM "$w"
wait "$w"
python3 -c '
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert docs and any("rates" in d for d in docs), docs
' "$tmp/w.json" || fail "info --watch --json: not one JSON object per line: $(head -c 300 "$tmp/w.json")"
[ "$(grep -c '"rates"' "$tmp/w.json")" -ge 1 ] || fail "info --watch --json: no rates line"
"$fr" info --watch --quiet "$seg-s" >/dev/null 2>"$tmp/w2.err" &
w=$!
bgpids+=("$w")
sleep 0.5
run 0 "rm broadcast" -- "$fr" rm "$seg-s"
timeout 10 tail --pid="$w" -f /dev/null || fail "info --watch goes on after the segment was removed"
wait "$w" || fail "info --watch of a removed segment exited $?"
grep -q "segment removed" "$tmp/w2.err" || fail "info --watch: $(cat "$tmp/w2.err")"

# ---- a slow latest consumer: every frame is either received or counted as a drop ----
run 0 "create latest" -- "$fr" create "$seg-l" --mode broadcast --slots 4 --size 320x240 --format bgr24
"$fr" sub "$seg-l" --latest --jpeg "$tmp/slow" --quiet --timeout 60 2>"$tmp/l.err" &
l=$!
bgpids+=("$l")
wait_consumers 1 "$seg-l"
run 0 "pub to a slow latest consumer" -- "$fr" pub "$seg-l" --source pattern --count 300 --fps 0 --quiet
wait "$l" || fail "latest sub exited $?: $(cat "$tmp/l.err")"
got=$(sed -nE 's/.*summary: ([0-9]+) frames.*drops ([0-9]+).*/\1 \2/p' "$tmp/l.err")
read -r lframes ldrops <<<"$got"
[ -n "$got" ] && [ $((lframes + ldrops)) -eq 300 ] ||
	fail "latest sub: frames + drops != 300: $(cat "$tmp/l.err")"
"$fr" info --json "$seg-l" >"$tmp/l.json"
[ "$(json_get dropped <"$tmp/l.json")" = "${ldrops:-x}" ] ||
	fail "latest sub counted ${ldrops:-?} drops, the segment $(json_get dropped <"$tmp/l.json")"
[ "$(find "$tmp/slow" -name '*.jpg' | wc -l)" -eq "${lframes:-0}" ] || fail "latest sub: one JPEG per frame expected"
run 0 "rm latest" -- "$fr" rm "$seg-l"

# ---- stale segments: marked by ls, removed by rm --stale, the live one kept ----
run 0 "create stale" -- "$fr" create "$seg-old" --size 64x48 --format gray8
run 0 "create live" -- "$fr" create "$seg-live" --size 64x48 --format gray8
"$fr" sub "$seg-live" --quiet 2>/dev/null &
s5=$!
bgpids+=("$s5")
wait_consumers 1 "$seg-live"
run 0 "ls with stale" -- "$fr" ls
grep -q "^/$seg-old .* stale$" "$tmp/out" || fail "ls does not mark /$seg-old stale: $(cat "$tmp/out")"
grep -q "^/$seg-live .* live$" "$tmp/out" || fail "ls does not mark /$seg-live live: $(cat "$tmp/out")"
# Only these names: other programs' segments in /dev/shm are none of this test's business.
run 0 "rm --stale" -- "$fr" rm --stale "$seg-old" "$seg-live"
grep -q "^removed /$seg-old$" "$tmp/out" || fail "rm --stale: $(cat "$tmp/out")"
grep -q "^kept /$seg-live: in use" "$tmp/out" || fail "rm --stale kept nothing: $(cat "$tmp/out")"
[ -e "/dev/shm/$seg-old" ] && fail "rm --stale left the stale segment"
[ -e "/dev/shm/$seg-live" ] || fail "rm --stale removed a segment in use"
run 1 "rm --stale of a missing one" -- "$fr" rm --stale "$seg-old"
kill -TERM "$s5"
wait "$s5"
run 0 "rm the live one" -- "$fr" rm "$seg-live"

# ---- services start in any order: sub and info --wait for their segment ----------
# Waits (at most 10 s) until PID has its SIGINT and SIGTERM handlers (SigCgt bits
# 2 and 15): a signal sent before that would kill it or, in the background of a
# script, be ignored.
wait_handlers() {
	local i mask
	for i in $(seq 200); do
		mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
		[ -n "$mask" ] && (((0x$mask & 0x4002) == 0x4002)) && return 0
		sleep 0.05
	done
	fail "pid $1 never installed its signal handlers"
	return 1
}
# A consumer started before its segment exists gets every frame once it appears.
"$fr" sub "$seg-w" --wait=30 --count 20 --quiet 2>"$tmp/w1.err" &
s6=$!
bgpids+=("$s6")
wait_handlers "$s6"
kill -0 "$s6" 2>/dev/null || fail "sub --wait did not wait: $(cat "$tmp/w1.err")"
run 0 "create after sub --wait" -- "$fr" create "$seg-w" --size 64x48 --format gray8
run 0 "pub to sub --wait" -- timeout 60 "$fr" pub "$seg-w" --source pattern --count 20 --fps 0 --quiet
timeout 60 tail --pid="$s6" -f /dev/null || fail "sub --wait goes on after 20 frames"
wait "$s6" || fail "sub --wait exited $?: $(cat "$tmp/w1.err")"
grep -q "summary: 20 frames.*drops 0, --count reached" "$tmp/w1.err" ||
	fail "sub --wait: $(cat "$tmp/w1.err")"
run 0 "rm after sub --wait" -- "$fr" rm "$seg-w"
# info --wait succeeds once the segment appears, and shows it.
"$fr" info "$seg-w" --wait=30 >"$tmp/w2.out" 2>"$tmp/w2.err" &
i1=$!
bgpids+=("$i1")
wait_handlers "$i1"
run 0 "create after info --wait" -- "$fr" create "$seg-w" --size 64x48 --format gray8
timeout 60 tail --pid="$i1" -f /dev/null || fail "info --wait goes on after the segment appeared"
wait "$i1" || fail "info --wait exited $?: $(cat "$tmp/w2.err")"
grep -q "64x48 gray8" "$tmp/w2.out" || fail "info --wait: $(cat "$tmp/w2.out" "$tmp/w2.err")"
run 0 "rm after info --wait" -- "$fr" rm "$seg-w"
# A wait with a limit fails after it, with one line; the time is bounded, not measured.
run 1 "info --wait=1 on a missing segment" -- timeout 60 "$fr" info "$seg-w" --wait=1
one_line "info --wait=1"
grep -q "no such segment after waiting 1 s" "$tmp/err" || fail "info --wait=1: $(cat "$tmp/err")"
run 1 "sub --wait=0.2 on a missing segment" -- timeout 60 "$fr" sub "$seg-w" --wait=0.2
one_line "sub --wait=0.2"
# Signals end a wait without a limit: sub as it always stops (0, with its summary),
# info as a shell reports the signal (130, 143), so 'info --wait && ...' stops too.
"$fr" sub "$seg-w" --wait --quiet 2>"$tmp/w3.err" &
s7=$!
bgpids+=("$s7")
wait_handlers "$s7" && kill -TERM "$s7"
wait "$s7" || fail "sub --wait after SIGTERM exited $?: $(cat "$tmp/w3.err")"
grep -q "summary: 0 frames.*stopped by a signal before the segment appeared" "$tmp/w3.err" ||
	fail "sub --wait after SIGTERM: $(cat "$tmp/w3.err")"
"$fr" info "$seg-w" --wait 2>"$tmp/w4.err" &
i2=$!
bgpids+=("$i2")
wait_handlers "$i2" && kill -INT "$i2"
wait "$i2"
rc=$?
[ "$rc" -eq 130 ] || fail "info --wait after SIGINT exited $rc, expected 130: $(cat "$tmp/w4.err")"
run 2 "info --wait=abc" -- "$fr" info "$seg-w" --wait=abc
one_line "info --wait=abc"
run 2 "sub --wait=abc" -- "$fr" sub "$seg-w" --wait=abc
run 2 "sub --wait=-1" -- "$fr" sub "$seg-w" --wait=-1
run 2 "info --wait 5 (the value needs '=')" -- "$fr" info --wait 5 "$seg-w"
no_leftovers "--wait"

# ---- bad input: a message, a non-zero status, no segment left behind ----------
missing="$seg-missing"
run 1 "info missing" -- "$fr" info "$missing"
grep -q "no such segment" "$tmp/err" || fail "info missing: $(cat "$tmp/err")"
run 1 "sub missing" -- "$fr" sub "$missing"
run 1 "pub missing" -- "$fr" pub "$missing" --source pattern --count 1
grep -q "no such segment" "$tmp/err" || fail "pub missing: $(cat "$tmp/err")"
run 1 "rm missing" -- "$fr" rm "$missing"
no_leftovers "missing segment"

# A file in /dev/shm that is not a framering segment: refused and never touched.
notours="$seg-notours"
head -c 65536 /dev/urandom >"/dev/shm/$notours"
sum_before=$(md5sum <"/dev/shm/$notours")
for cmd in info sub rm; do
	run 1 "$cmd on a foreign file" -- "$fr" "$cmd" "$notours"
	grep -q "not a framering segment" "$tmp/err" || fail "$cmd on a foreign file: $(cat "$tmp/err")"
done
run 1 "pub on a foreign file" -- "$fr" pub "$notours" --source pattern --count 1
run 1 "create over a foreign file" -- "$fr" create "$notours" --size 64x48
"$fr" ls | grep -q "$notours" && fail "ls lists a foreign file"
"$fr" ls --json | python3 -m json.tool >/dev/null || fail "ls --json with a foreign file"
[ "$(md5sum <"/dev/shm/$notours")" = "$sum_before" ] || fail "the foreign file was modified"
rm -f "/dev/shm/$notours"

bad="$seg-bad"
run 2 "size 0x10" -- "$fr" create "$bad" --size 0x10
run 2 "size 12x" -- "$fr" create "$bad" --size 12x
run 2 "size abc" -- "$fr" create "$bad" --size abc
run 2 "size -5x5" -- "$fr" create "$bad" --size -5x5
run 2 "size 99999x10" -- "$fr" create "$bad" --size 99999x10
run 2 "odd yuyv" -- "$fr" create "$bad" --size 321x240 --format yuyv
run 2 "frame too large" -- "$fr" create "$bad" --size 65535x65535 --format rgba32
run nonzero "segment too large for /dev/shm" -- "$fr" create "$bad" --size 32000x32000 --format rgba32 --slots 65536
run 2 "no size" -- "$fr" create "$bad" --format gray8
run 2 "unknown format" -- "$fr" create "$bad" --size 64x48 --format bgr25
grep -q "unknown format" "$tmp/err" || fail "unknown format message: $(cat "$tmp/err")"
run 2 "unknown mode" -- "$fr" create "$bad" --size 64x48 --mode fifo
run 2 "slots 3" -- "$fr" create "$bad" --size 64x48 --slots 3
run 2 "slots 0" -- "$fr" create "$bad" --size 64x48 --slots 0
run 2 "bad perm" -- "$fr" create "$bad" --size 64x48 --perm 0999
run 2 "raw without bytes" -- "$fr" create "$bad" --format raw
run 2 "frame-bytes too small" -- "$fr" create "$bad" --size 64x48 --format gray8 --frame-bytes 10
run 2 "stride too small" -- "$fr" create "$bad" --size 64x48 --format bgr24 --stride 100
run 2 "bad name" -- "$fr" create "a/b" --size 64x48
run 2 "pub unknown format" -- "$fr" pub "$bad" --source pattern --size 64x48 --format nope
run 2 "pub bad size" -- "$fr" pub "$bad" --source pattern --size 64by48
run 2 "pub bad source" -- "$fr" pub "$bad" --source camera0 --size 64x48
run 2 "pub no source" -- "$fr" pub "$bad" --size 64x48
run 2 "pub bad fps" -- "$fr" pub "$bad" --source pattern --size 64x48 --fps -1
run 2 "pub bad count" -- "$fr" pub "$bad" --source pattern --size 64x48 --count x
run 1 "pub missing jpeg dir" -- "$fr" pub "$bad" --source jpeg:"$tmp/nothing" --size 64x48
run 2 "sub bad every" -- "$fr" sub "$bad" --every 0
run 2 "sub bad quality" -- "$fr" sub "$bad" --quality 101
run 2 "sub --every without --jpeg" -- "$fr" sub "$bad" --every 5
run 2 "unknown option" -- "$fr" info "$bad" --colour
run 2 "missing value" -- "$fr" create "$bad" --size
run 2 "no name" -- "$fr" create --size 64x48
run 2 "two names" -- "$fr" info "$bad" other
run 2 "unknown command" -- "$fr" frobnicate
run 2 "no command" -- "$fr"
no_leftovers "bad input"

# Existing segment, wrong geometry or role; YUV frames become JPEGs too.
run 0 "create nv12" -- "$fr" create "$seg-n" --size 320x240 --format nv12 --mode spsc
run 1 "create exists" -- "$fr" create "$seg-n" --size 320x240 --format nv12
grep -q "exists" "$tmp/err" || fail "create exists: $(cat "$tmp/err")"
run 1 "pub wrong size" -- "$fr" pub "$seg-n" --source pattern --size 640x480 --count 1
grep -q "320x240 nv12" "$tmp/err" || fail "pub wrong size message: $(cat "$tmp/err")"
run 1 "pub jpeg into nv12" -- "$fr" pub "$seg-n" --source jpeg:"$tmp/in"
"$fr" sub "$seg-n" --jpeg "$tmp/nv" --quiet 2>"$tmp/s4.err" &
s4=$!
bgpids+=("$s4")
wait_consumers 1 "$seg-n"
run 1 "a second consumer on spsc" -- "$fr" sub "$seg-n" --count 1
grep -q "no room for another consumer" "$tmp/err" || fail "second spsc consumer: $(cat "$tmp/err")"
run 1 "rm with a live process refused" -- "$fr" rm "$seg-n"
[ -e "/dev/shm/$seg-n" ] || fail "rm removed a segment in use"
run 0 "pub pattern into nv12" -- "$fr" pub "$seg-n" --source pattern --count 2 --fps 0 --quiet
wait "$s4" || fail "sub of nv12 exited $?: $(cat "$tmp/s4.err")"
for i in 0 1; do
	out=$("$check" "$(printf '%s/nv/frame-%06d.jpg' "$tmp" "$i")") || { fail "nv12 snapshot $i"; continue; }
	[ "$out" = "320x240 $i" ] || fail "nv12 snapshot $i shows '$out'"
done
run 0 "rm nv12" -- "$fr" rm "$seg-n"
run 0 "create raw" -- "$fr" create "$seg-x" --format raw --frame-bytes 4096 --mode mpmc
run 1 "sub --jpeg of raw frames" -- "$fr" sub "$seg-x" --jpeg "$tmp/raw" --count 1
run 1 "pattern into raw frames" -- "$fr" pub "$seg-x" --source pattern --count 1
run 0 "rm raw" -- "$fr" rm "$seg-x"
no_leftovers "end"

# ---- --help everywhere ----------------------------------------------------------
for cmd in create info ls pub sub rm; do
	run 0 "$cmd --help" -- "$fr" "$cmd" --help
	grep -q "^Usage: framering $cmd" "$tmp/out" || fail "$cmd --help: $(head -3 "$tmp/out")"
done
run 0 "--help" -- "$fr" --help
grep -q "^Usage: framering COMMAND" "$tmp/out" || fail "--help"
for cmd in info sub; do
	run 0 "$cmd --help" -- "$fr" "$cmd" --help
	grep -q -- "--wait\[=SEC\]" "$tmp/out" || fail "$cmd --help does not tell of --wait"
done
run 0 "--version" -- "$fr" --version
grep -q "^framering [0-9]" "$tmp/out" && grep -q "^libframering [0-9].*segment ABI [0-9]" "$tmp/out" ||
	fail "--version: $(cat "$tmp/out")"

cli_finish "all CLI checks passed"
