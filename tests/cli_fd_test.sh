#!/usr/bin/env bash
# The framering command and issue 12, end to end: cli_fd_test.sh FRAMERING JPEG_CHECK
#   --dir: segments in a plain directory (as two containers sharing a volume
#   would have them): create, pub, sub, ls, rm and rm --stale there, nothing
#   in /dev/shm.
# Every wait is bounded; nothing is timed.
set -u
fr=$(realpath "$1")
check=$(realpath "$2")
tmp=$(mktemp -d)
seg="frfd-$$"
bgpids=()
failures=0

cleanup() {
	for pid in "${bgpids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	rm -f /dev/shm/frfd-"$$"*
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# run WANT DESCRIPTION -- COMMAND...: exit status must be WANT; a failure must
# say one "framering: ..." line on stderr.
run() {
	local want=$1 desc=$2
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$desc: exit $got, expected $want; stderr: $(head -c 400 "$tmp/err")"
	fi
	if [ "$want" != 0 ] && ! grep -q '^framering: ' "$tmp/err"; then
		fail "$desc: no 'framering: ...' message on stderr: $(head -c 400 "$tmp/err")"
	fi
	return 0
}

# one_line DESCRIPTION PATTERN: stderr of the last run is one line matching PATTERN.
one_line() {
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$1: expected one line on stderr: $(cat "$tmp/err")"
	grep -q -- "$2" "$tmp/err" || fail "$1: expected '$2' on stderr: $(cat "$tmp/err")"
}

# consumers INFO-ARGS...: live consumers of the segment, from info --json.
consumers() {
	"$fr" info --json "$@" 2>/dev/null |
		python3 -c 'import json,sys; print(sum(p["role"]=="consumer" and p["alive"] for p in json.load(sys.stdin)["peers"]))' 2>/dev/null
}

# wait_consumers N INFO-ARGS...: until N consumers are attached (at most 10 s).
wait_consumers() {
	local want=$1 i n
	shift
	for i in $(seq 200); do
		n=$(consumers "$@")
		[ "${n:-0}" -ge "$want" ] && return 0
		sleep 0.05
	done
	fail "$*: $want consumer(s) never attached"
	return 1
}

# snapshots DIR SIZE SEQ...: DIR/frame-SEQ.jpg decode at SIZE and show SEQ.
snapshots() {
	local dir=$1 size=$2 seq f out
	shift 2
	for seq in "$@"; do
		f=$(printf '%s/frame-%06d.jpg' "$dir" "$seq")
		out=$("$check" "$f") || { fail "snapshot $f does not decode"; continue; }
		[ "$out" = "$size $seq" ] || fail "snapshot $f: '$out', expected '$size $seq'"
	done
}

# no_shm CONTEXT: this test never puts anything in /dev/shm.
no_shm() {
	local f
	for f in /dev/shm/frfd-"$$"*; do
		[ -e "$f" ] && fail "$1: ${f#/dev/shm/} appeared in /dev/shm"
	done
}

# ---- --dir: segments in a plain directory, as on a volume two containers share ----
vol="$tmp/vol"
mkdir "$vol"
echo "not a segment" >"$vol/notes.txt"
head -c 65536 /dev/urandom >"$vol/$seg-foreign"
run 0 "create --dir" -- "$fr" create "$seg-d" --dir "$vol" --mode mpmc --slots 8 --size 320x240
[ -f "$vol/$seg-d" ] || fail "create --dir: no $vol/$seg-d"
grep -q "320x240 bgr24" "$tmp/out" || fail "create --dir: $(cat "$tmp/out")"
"$fr" sub "$seg-d" --dir "$vol" --jpeg "$tmp/dsnap" --every 100 --count 300 --quiet --timeout 60 \
	2>"$tmp/dsub.err" &
dsub=$!
bgpids+=("$dsub")
wait_consumers 1 "$seg-d" --dir "$vol"
run 0 "pub --dir" -- timeout 60 "$fr" pub "$seg-d" --dir "$vol" --source pattern --count 300 --fps 0 --quiet
grep -q "summary: 300 frames" "$tmp/err" || fail "pub --dir: $(cat "$tmp/err")"
wait "$dsub" || fail "sub --dir exited $?: $(cat "$tmp/dsub.err")"
grep -q "summary: 300 frames.*drops 0, 3 JPEGs" "$tmp/dsub.err" || fail "sub --dir: $(cat "$tmp/dsub.err")"
snapshots "$tmp/dsnap" 320x240 0 100 200
run 0 "ls --dir" -- "$fr" ls --dir "$vol"
grep -q "^/$seg-d .*mpmc .*320x240 bgr24 .* 300 " "$tmp/out" || fail "ls --dir: $(cat "$tmp/out")"
grep -q "foreign\|notes" "$tmp/out" && fail "ls --dir lists files that are not segments: $(cat "$tmp/out")"
run 0 "ls --dir, relative" -- bash -c "cd '$tmp' && '$fr' ls --dir vol"
grep -q "^/$seg-d " "$tmp/out" || fail "ls --dir vol (relative): $(cat "$tmp/out")"
FRAMERING_DIR="$vol" "$fr" ls --json |
	python3 -c "import json,sys; assert any(s['name']=='/$seg-d' for s in json.load(sys.stdin))" ||
	fail "FRAMERING_DIR=DIR ls --json lacks /$seg-d"
"$fr" ls | grep -q "$seg-d" && fail "plain ls lists a segment of --dir"
run 1 "info without --dir" -- "$fr" info "$seg-d"
run 0 "info --dir" -- "$fr" info "$seg-d" --dir "$vol"
grep -q "published 300, consumed 300" "$tmp/out" || fail "info --dir: $(cat "$tmp/out")"
run 1 "rm --dir of a file that is not a segment" -- "$fr" rm "$seg-foreign" --dir "$vol"
run 0 "rm --dir" -- "$fr" rm "$seg-d" --dir "$vol"
[ -e "$vol/$seg-d" ] && fail "rm --dir left $vol/$seg-d"
# rm --stale --dir: the stale one goes, the live one and the other files stay.
run 0 "create stale --dir" -- "$fr" create "$seg-old" --dir "$vol" --size 64x48 --format gray8
run 0 "create live --dir" -- "$fr" create "$seg-live" --dir "$vol" --size 64x48 --format gray8
"$fr" sub "$seg-live" --dir "$vol" --quiet 2>/dev/null &
live=$!
bgpids+=("$live")
wait_consumers 1 "$seg-live" --dir "$vol"
run 0 "rm --stale --dir" -- "$fr" rm --stale --dir "$vol"
grep -q "^removed /$seg-old$" "$tmp/out" || fail "rm --stale --dir: $(cat "$tmp/out")"
[ -e "$vol/$seg-old" ] && fail "rm --stale --dir left the stale segment"
[ -e "$vol/$seg-live" ] || fail "rm --stale --dir removed the live segment"
[ -e "$vol/notes.txt" ] && [ -e "$vol/$seg-foreign" ] || fail "rm --stale --dir removed other files"
kill -TERM "$live"
wait "$live"
run 0 "rm the live one --dir" -- "$fr" rm "$seg-live" --dir "$vol"
run 1 "--dir missing" -- "$fr" ls --dir "$tmp/nothing"
one_line "--dir missing" "No such file or directory"
run 1 "--dir a file" -- "$fr" create "$seg-x" --dir "$vol/notes.txt" --size 64x48
one_line "--dir a file" "Not a directory"
run 1 "FRAMERING_DIR relative" -- env FRAMERING_DIR=vol "$fr" ls
one_line "FRAMERING_DIR relative" "not an absolute path"
no_shm "--dir"

# ---- --help ---------------------------------------------------------------------------
for cmd in create info ls pub sub rm; do
	"$fr" "$cmd" --help | grep -q -- "--dir DIR" || fail "$cmd --help does not tell of --dir"
done

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all CLI checks of --dir passed"
