#!/usr/bin/env bash
# The framering command and issue 12, end to end: cli_fd_test.sh FRAMERING JPEG_CHECK
#   --dir: segments in a plain directory (as two containers sharing a volume
#   would have them): create, pub, sub, ls, rm and rm --stale there, nothing
#   in /dev/shm;
#   pub --anonymous --serve PATH: sub/info/pub --via PATH get the segment, the
#   frames and the snapshots are right, nothing is ever in /dev/shm, and after
#   a SIGKILL nothing is left but the socket, which the next server replaces;
#   a socket path that is no server's, or a server that sends garbage: one line;
#   doctor: text and JSON, stale and half-shared segments, FAIL on --need.
# Every wait is bounded; nothing is timed.
set -u
fr=$(realpath "$1")
check=$(realpath "$2")
# shellcheck source=tests/cli_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
cli_setup frfd

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

# memfd_users LABEL: processes holding the anonymous segment LABEL (fd or mapping).
memfd_users() {
	{
		find /proc/[0-9]*/fd -lname "/memfd:$1 *" 2>/dev/null | cut -d/ -f3
		grep -l -s -F "/memfd:$1 " /proc/[0-9]*/maps | cut -d/ -f3
	} | sort -u | wc -l
}

# serve_garbage KIND PATH: a server that is not framering's, for one client:
# "text" sends text, "fd" a file's fd with framering's tag. Returns once it listens.
serve_garbage() {
	python3 - "$1" "$2" >"$tmp/garbage.out" <<'EOF' &
import socket, sys
kind, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(4)
s.settimeout(60)
print("ready", flush=True)
c, _ = s.accept()
if kind == "text":
    c.sendall(b"hello, this is not framering\n")
else:
    with open("/proc/self/status", "rb") as f:
        socket.send_fds(c, [b"FRfd"], [f.fileno()])
c.close()
s.close()
EOF
	garbage=$!
	bgpids+=("$garbage")
	local i
	for i in $(seq 200); do
		grep -q ready "$tmp/garbage.out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "the garbage server ($1) never listened"
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

# ---- an anonymous segment served on a socket; sub, info and pub --via --------
sock="$tmp/cam.sock"
anon="$seg-anon"
"$fr" pub "$anon" --anonymous --serve "$sock" --source pattern --size 320x240 --mode mpmc \
	--slots 8 --count 300 --fps 0 --quiet 2>"$tmp/apub.err" &
apub=$!
bgpids+=("$apub")
# info waits for the server (which may not listen yet) and reports the segment.
run 0 "info --via --wait" -- timeout 60 "$fr" info --via "$sock" --wait=30 --json
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert (d["name"], d["mode"], d["width"], d["height"], d["format"]) == \
    (sys.argv[2], "mpmc", 320, 240, "bgr24"), d
assert any(p["role"] == "producer" and p["alive"] for p in d["peers"]), d["peers"]
' "$tmp/out" "$sock" || fail "info --via --json: $(head -c 600 "$tmp/out")"
run 0 "info --via" -- "$fr" info --via "$sock"
grep -q "320x240 bgr24" "$tmp/out" || fail "info --via: $(cat "$tmp/out")"
[ -S "$sock" ] || fail "pub --serve: $sock is not a socket"
[ "$(stat -c %a "$sock")" = 600 ] || fail "pub --serve: socket mode $(stat -c %a "$sock"), not 600"
[ "$(memfd_users "$anon")" -ge 1 ] || fail "pub --anonymous: no process holds memfd:$anon"
no_shm "pub --anonymous"
run 0 "sub --via" -- timeout 60 "$fr" sub --via "$sock" --jpeg "$tmp/asnap" --every 100 --quiet --timeout 60
grep -q "summary: 300 frames.*drops 0, 3 JPEGs.*end of stream" "$tmp/err" || fail "sub --via: $(cat "$tmp/err")"
snapshots "$tmp/asnap" 320x240 0 100 200
wait "$apub" || fail "pub --anonymous --serve exited $?: $(cat "$tmp/apub.err")"
grep -q "summary: 300 frames.*served to 3 clients" "$tmp/apub.err" ||
	fail "pub --serve summary: $(cat "$tmp/apub.err")"
[ -e "$sock" ] && fail "pub --serve left $sock behind"
[ "$(memfd_users "$anon")" -eq 0 ] || fail "memfd:$anon still held after every process ended"
no_shm "sub --via"

# A second producer attaches --via; the consumer gets every frame of both, then the end.
mp="$seg-mp"
"$fr" pub "$mp" --anonymous --serve "$sock" --source pattern --size 64x48 --format gray8 \
	--mode mpmc --slots 8 --fps 50 --quiet 2>"$tmp/mpub.err" &
mpub=$!
bgpids+=("$mpub")
"$fr" sub --via "$sock" --wait=30 --quiet --timeout 60 2>"$tmp/msub.err" &
msub=$!
bgpids+=("$msub")
wait_consumers 1 --via "$sock" --wait=30
run 0 "pub --via" -- timeout 60 "$fr" pub --via "$sock" --wait=30 --source pattern --count 50 --fps 0 --quiet
grep -q "summary: 50 frames" "$tmp/err" || fail "pub --via: $(cat "$tmp/err")"
run 1 "pub --via, another size" -- "$fr" pub --via "$sock" --source pattern --size 640x480 --count 1
one_line "pub --via, another size" "the segment holds 64x48 gray8 frames"
kill -TERM "$mpub"
wait "$mpub" || fail "pub --serve after SIGTERM exited $?: $(cat "$tmp/mpub.err")"
timeout 60 tail --pid="$msub" -f /dev/null || fail "sub --via goes on after both producers closed"
wait "$msub" || fail "sub --via of two producers exited $?: $(cat "$tmp/msub.err")"
served=$(sed -nE 's/.*summary: ([0-9]+) frames.*/\1/p' "$tmp/mpub.err")
got=$(sed -nE 's/.*summary: ([0-9]+) frames.*end of stream.*/\1/p' "$tmp/msub.err")
[ -n "$served" ] && [ "${got:-x}" = $((served + 50)) ] ||
	fail "sub --via got ${got:-?} frames, the producers published ${served:-?} + 50: $(cat "$tmp/msub.err")"
[ -e "$sock" ] && fail "pub --serve left $sock behind after SIGTERM"
no_shm "pub --via"

# ---- SIGKILL: nothing left but the socket, which the next server replaces ------
kill9="$seg-kill"
"$fr" pub "$kill9" --anonymous --serve "$sock" --source pattern --size 64x48 --format gray8 \
	--mode broadcast --slots 8 --fps 100 --quiet 2>/dev/null &
kpub=$!
bgpids+=("$kpub")
"$fr" sub --via "$sock" --wait=30 --quiet 2>"$tmp/ksub.err" &
ksub=$!
bgpids+=("$ksub")
wait_consumers 1 --via "$sock" --wait=30
run 1 "a second broadcast producer --via" -- "$fr" pub --via "$sock" --source pattern --count 1
one_line "a second broadcast producer --via" "no room for another producer"
run 1 "pub --serve where a server listens" -- "$fr" pub --anonymous --serve "$sock" \
	--source pattern --size 64x48 --count 1
one_line "pub --serve where a server listens" "a server is listening there already"
kill -KILL "$kpub"
wait "$kpub" 2>/dev/null
kill -TERM "$ksub"
wait "$ksub" || fail "sub --via after its server was killed exited $?: $(cat "$tmp/ksub.err")"
[ -S "$sock" ] || fail "after SIGKILL: the socket $sock is gone (expected to stay)"
[ "$(memfd_users "$kill9")" -eq 0 ] || fail "after SIGKILL: memfd:$kill9 is still held"
no_shm "SIGKILL"
run 1 "sub --via the socket of a killed server" -- "$fr" sub --via "$sock"
one_line "sub --via the socket of a killed server" "connection refused"
run 0 "pub --serve replaces the stale socket" -- timeout 60 "$fr" pub "$seg-again" --anonymous \
	--serve "$sock" --source pattern --size 64x48 --format gray8 --mode mpmc --slots 8 --count 2 \
	--fps 0 --quiet
[ -e "$sock" ] && fail "pub --serve over a stale socket left $sock behind"

# ---- sockets that are no framering server's: one line each ------------------------
: >"$tmp/plain"
run 1 "sub --via a regular file" -- "$fr" sub --via "$tmp/plain"
one_line "sub --via a regular file" "not a socket"
run 1 "pub --serve over a regular file" -- "$fr" pub --anonymous --serve "$tmp/plain" \
	--source pattern --size 64x48 --count 1
one_line "pub --serve over a regular file" "exists and is not a socket"
[ -f "$tmp/plain" ] || fail "pub --serve removed a regular file"
run 1 "info --via a missing socket" -- "$fr" info --via "$tmp/none.sock"
one_line "info --via a missing socket" "no such socket"
run 1 "info --via --wait=0.3 a missing socket" -- timeout 60 "$fr" info --via "$tmp/none.sock" --wait=0.3
one_line "info --via --wait=0.3" "no server after waiting 0.3 s"
serve_garbage text "$tmp/g1.sock"
run 1 "sub --via a server that sends text" -- timeout 60 "$fr" sub --via "$tmp/g1.sock"
one_line "sub --via a server that sends text" "sent no framering segment"
wait "$garbage"
serve_garbage fd "$tmp/g2.sock"
run 1 "info --via a server that sends another fd" -- timeout 60 "$fr" info --via "$tmp/g2.sock"
one_line "info --via a server that sends another fd" "not a framering segment"
wait "$garbage"
run 2 "--anonymous without --serve" -- "$fr" pub --anonymous --source pattern --size 64x48
run 2 "sub --via and a NAME" -- "$fr" sub --via "$sock" "$seg"
run 2 "info --via and --dir" -- "$fr" info --via "$sock" --dir "$vol"
run 2 "pub --via and --anonymous" -- "$fr" pub --via "$sock" --anonymous --source pattern
run 2 "pub --wait without --via" -- "$fr" pub "$seg" --wait=1 --source pattern
run 2 "--serve with a path too long" -- "$fr" pub --anonymous --serve "$tmp/$(printf 'x%.0s' $(seq 120))" \
	--source pattern --size 64x48
no_shm "bad sockets"

# ---- doctor -------------------------------------------------------------------------
"$fr" doctor --json >"$tmp/doc.json" 2>"$tmp/doc.err"
rc=$?
[ "$rc" -le 1 ] || fail "doctor --json exited $rc: $(cat "$tmp/doc.err")"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] in ("ok", "warn", "fail") and d["dir"] == "/dev/shm", d
assert all(c["status"] in ("ok", "warn", "fail") for c in d["checks"]), d["checks"]
' "$tmp/doc.json" || fail "doctor --json does not parse: $(head -c 600 "$tmp/doc.json")"
run 0 "create stale for doctor" -- "$fr" create "$seg-st" --dir "$vol" --size 64x48 --format gray8
run 0 "create 0640 for doctor" -- "$fr" create "$seg-half" --dir "$vol" --size 64x48 --format gray8 --perm 0640
"$fr" sub "$seg-half" --dir "$vol" --quiet 2>/dev/null &
half=$!
bgpids+=("$half")
wait_consumers 1 "$seg-half" --dir "$vol"
run 0 "doctor --dir" -- "$fr" doctor --dir "$vol"
grep -qv '^\(OK\|WARN\|FAIL\)  ' "$tmp/out" && fail "doctor: a line without a status: $(cat "$tmp/out")"
for name in directory size free "huge pages" stale permissions inotify anonymous; do
	grep -q "^[A-Z]* *$name  " "$tmp/out" || fail "doctor: no '$name' check: $(cat "$tmp/out")"
done
grep -q "^WARN  stale .*/$seg-st (owner [^,]*, creator pid [0-9]*, .*; hint: framering rm --stale" "$tmp/out" ||
	fail "doctor: the stale segment: $(grep stale "$tmp/out")"
grep -q "^WARN  permissions .*/$seg-half (owner [^,]*, 0640" "$tmp/out" ||
	fail "doctor: the 0640 segment: $(grep permissions "$tmp/out")"
grep -q "$seg-foreign\|notes" "$tmp/out" && fail "doctor reports files that are not segments"
run 1 "doctor --need more than is free" -- "$fr" doctor --dir "$vol" --need 1000000T
one_line "doctor --need more than is free" "check FAILed: free"
grep -q "^FAIL  free .* free, .* needed; hint: " "$tmp/out" || fail "doctor --need: $(cat "$tmp/out")"
run 0 "doctor --need 1M" -- "$fr" doctor --dir "$vol" --need 1M
grep -q "^OK    free " "$tmp/out" || fail "doctor --need 1M: $(grep free "$tmp/out")"
"$fr" doctor --dir "$vol" --need 1000000T --json >"$tmp/doc2.json" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 1 ] || fail "doctor --json --need 1000000T exited $rc"
one_line "doctor --json --need 1000000T" "^framering: doctor: 1 check FAILed: free$"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
checks = {c["check"]: c for c in d["checks"]}
assert d["status"] == "fail" and checks["free"]["status"] == "fail", d
assert checks["free"]["hint"] and checks["stale"]["status"] == "warn", checks
segs = {s["name"]: s for s in d["segments"]}
assert set(segs) == {"/" + sys.argv[2] + "-st", "/" + sys.argv[2] + "-half"}, segs
assert segs["/" + sys.argv[2] + "-st"]["state"] == "stale", segs
assert segs["/" + sys.argv[2] + "-half"]["perm"] == "0640", segs
assert d["filesystem"]["free"] > 0 and d["need"] == 1000000 << 40, d
' "$tmp/doc2.json" "$seg" || fail "doctor --json --need: $(head -c 800 "$tmp/doc2.json")"
run 2 "doctor --need 12Q" -- "$fr" doctor --need 12Q
run 1 "doctor, FRAMERING_DIR missing" -- env FRAMERING_DIR="$tmp/nothing" "$fr" doctor
grep -q "^FAIL  directory " "$tmp/out" || fail "doctor of a missing directory: $(cat "$tmp/out")"
kill -TERM "$half"
wait "$half"
no_shm "doctor"

# ---- --help ---------------------------------------------------------------------------
run 0 "doctor --help" -- "$fr" doctor --help
grep -q "^Usage: framering doctor" "$tmp/out" || fail "doctor --help: $(head -3 "$tmp/out")"
for cmd in create info ls pub sub rm doctor; do
	"$fr" "$cmd" --help | grep -q -- "--dir DIR" || fail "$cmd --help does not tell of --dir"
done
for cmd in info pub sub; do
	"$fr" "$cmd" --help | grep -q -- "--via PATH" || fail "$cmd --help does not tell of --via"
done
"$fr" --help | grep -q "^  doctor " || fail "framering --help does not list doctor"

cli_finish "all CLI checks of --dir, --anonymous/--serve/--via and doctor passed"
