#!/usr/bin/env bash
# framering bridge end to end, on 127.0.0.1 only (issue 14):
#   bridge_test.sh FRAMERING BRIDGE_CHECK BRIDGE_PEER_PY
#   - native: 1,000 raw frames pub -> send -> recv -> a checker, in order, every
#     byte; JPEG frames decodable at the right size; a segment that exists is
#     attached (rows copied to its stride); the end of the stream goes through;
#   - --latest with a stopped receiver: the sender drops, the camera never waits;
#   - kill -9 of the receiver mid-stream (stopped first, a request left
#     unanswered), restarted: the sender recovers alone (PUSH/PULL, and
#     imagezmq's REQ/REP, whose socket is reset); then kill -9 of a sender,
#     restarted: the receiver takes the new one;
#   - hostile: malformed messages of every kind at recv, native and imagezmq:
#     counted, dropped, answered, no crash, the good frame after them delivered;
#   - imagezmq interop with a Python peer (pyzmq + numpy) speaking its format:
#     its sender -> recv --imagezmq -> segment, send --imagezmq -> its hub, raw
#     and JPEG, REQ/REP and PUB/SUB.
# Every wait is bounded; nothing asserts on time. Exit 77 (skipped) without
# pyzmq or numpy.
set -u
fr=$1
check=$2
peer=$3
py=/usr/bin/python3
if ! "$py" -c 'import zmq, numpy' 2>/dev/null; then
	echo "bridge: python3-zmq or python3-numpy missing: skipped"
	exit 77
fi
tmp=$(mktemp -d)
seg="frbr-$$"
bgpids=()
failures=0
checks=0

cleanup() {
	for pid in "${bgpids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	rm -f /dev/shm/frbr-"$$"*
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

ok() {
	checks=$((checks + 1))
	echo "ok: $*"
}

free_port() {
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bg NAME COMMAND...: start in the background, stdout+stderr to $tmp/NAME.log; pid in $last
bg() {
	local name=$1
	shift
	"$@" >"$tmp/$name.log" 2>&1 &
	last=$!
	bgpids+=("$last")
}

# finish PID SECONDS: wait for PID at most SECONDS (then kill it); its exit status
finish() {
	local pid=$1 i
	for i in $(seq $(($2 * 20))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid"
}

# stop PID: SIGTERM, then its exit status (bounded)
stop() {
	kill -TERM "$1" 2>/dev/null
	finish "$1" 20
}

info_get() { # info_get NAME KEY
	"$fr" info --json "$1" 2>/dev/null |
		"$py" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2" 2>/dev/null
}

# until_published NAME N SECONDS: wait until NAME published at least N frames
until_published() {
	local i n
	for i in $(seq $(($3 * 10))); do
		n=$(info_get "$1" published)
		[ "${n:-0}" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: not $2 frames published within $3 s (${n:-none})"
	return 1
}

# until_consumers NAME N: wait until NAME has N live consumers (at most 20 s)
until_consumers() {
	local i n
	for i in $(seq 200); do
		n=$("$fr" info --json "$1" 2>/dev/null | "$py" -c 'import json, sys
peers = json.load(sys.stdin)["peers"]
print(sum(p["role"] == "consumer" and p["alive"] for p in peers))' 2>/dev/null)
		[ "${n:-0}" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: $2 consumer(s) never attached"
	return 1
}

has() { # has FILE PATTERN DESCRIPTION
	if grep -qE "$2" "$1"; then ok "$3"; else fail "$3: no /$2/ in: $(tail -c 600 "$1")"; fi
}

# ---- native, raw: 1,000 frames, every byte ------------------------------------------
a="$seg-a" b="$seg-b" port=$(free_port)
"$fr" create "$a" --mode spsc --slots 8 --size 320x240 --format bgr24 >/dev/null
bg recv "$fr" bridge recv "tcp://127.0.0.1:$port" "$b" --bind --mode spsc --quiet
recv=$last
bg send "$fr" bridge send "$a" "tcp://127.0.0.1:$port" --quiet
send=$last
bg check "$check" "$b" 1000 --pattern --end --wait 60
chk=$last
timeout 120 "$fr" pub "$a" --source pattern --count 1000 --fps 0 --quiet 2>"$tmp/pub.log" ||
	fail "raw: pub: $(cat "$tmp/pub.log")"
finish "$chk" 120 || fail "raw: checker: $(cat "$tmp/check.log")"
has "$tmp/check.log" "1000 frames every byte equal, numbers 0..999, then the end of the stream" \
	"raw: 1000 frames through send -> recv, in order, every byte, then the end of the stream"
finish "$send" 30 || fail "raw: send exited non-zero: $(cat "$tmp/send.log")"
has "$tmp/send.log" "summary: 1000 frames.*drops 0.*end of stream" "raw: send's summary"
stop "$recv" || fail "raw: recv exited non-zero: $(cat "$tmp/recv.log")"
has "$tmp/recv.log" "summary: 1000 frames.*drops 0.*dropped messages 0, gaps 0, ends of stream 1" \
	"raw: recv's summary (nothing dropped, no gap)"
[ "$(info_get "$b" mode)" = spsc ] && [ "$(info_get "$b" width)" = 320 ] &&
	[ "$(info_get "$b" format)" = bgr24 ] && ok "raw: recv made the segment from the first frame" ||
	fail "raw: the segment recv made: $("$fr" info "$b")"
"$fr" rm "$a" "$b" >/dev/null

# ---- native, raw into a segment that exists, of another stride ------------------------
port=$(free_port)
"$fr" create "$a" --mode spsc --slots 8 --size 320x240 --format bgr24 >/dev/null
"$fr" create "$b" --mode spsc --slots 4 --size 320x240 --format bgr24 --stride 1024 >/dev/null
bg recv "$fr" bridge recv "tcp://127.0.0.1:$port" "$b" --bind --quiet
recv=$last
bg send "$fr" bridge send "$a" "tcp://127.0.0.1:$port" --quiet
send=$last
bg check "$check" "$b" 200 --pattern --end
chk=$last
timeout 60 "$fr" pub "$a" --source pattern --count 200 --fps 0 --quiet 2>/dev/null
finish "$chk" 60 || fail "stride: checker: $(cat "$tmp/check.log")"
has "$tmp/check.log" "200 frames every byte equal, numbers 0..199" \
	"raw: into a segment that exists, rows copied from stride 960 to 1024"
finish "$send" 30 || fail "stride: send: $(cat "$tmp/send.log")"
stop "$recv" || fail "stride: recv: $(cat "$tmp/recv.log")"
"$fr" rm "$a" "$b" >/dev/null

# ---- native, JPEG: encoded from the slot, decoded into the slot -------------------------
port=$(free_port)
"$fr" create "$a" --mode spsc --slots 8 --size 320x240 --format bgr24 >/dev/null
bg recv "$fr" bridge recv "tcp://127.0.0.1:$port" "$b" --bind --mode spsc --quiet
recv=$last
bg send "$fr" bridge send "$a" "tcp://127.0.0.1:$port" --jpeg=85 --quiet
send=$last
bg check "$check" "$b" 300 --jpeg 320x240 --end --wait 60
chk=$last
timeout 120 "$fr" pub "$a" --source pattern --count 300 --fps 0 --quiet 2>/dev/null
finish "$chk" 120 || fail "jpeg: checker: $(cat "$tmp/check.log")"
has "$tmp/check.log" "300 frames of the right size, numbers 0..299, then the end" \
	"jpeg: 300 frames decoded into the slots at 320x240, the frame numbers in order"
finish "$send" 30 || fail "jpeg: send: $(cat "$tmp/send.log")"
has "$tmp/send.log" "summary: 300 frames.*JPEG [0-9]+ bytes/frame, encode p50" \
	"jpeg: send's summary has bytes per frame and encode time"
stop "$recv" || fail "jpeg: recv: $(cat "$tmp/recv.log")"
has "$tmp/recv.log" "summary: 300 frames.*dropped messages 0.*decode p50" \
	"jpeg: recv's summary has the decode time"
"$fr" rm "$a" "$b" >/dev/null

# ---- --latest: a stopped receiver never holds the camera back ---------------------------
port=$(free_port)
"$fr" create "$a" --mode broadcast --slots 8 --size 320x240 --format bgr24 >/dev/null
bg recv "$fr" bridge recv "tcp://127.0.0.1:$port" "$b" --bind --quiet
recv=$last
bg send "$fr" bridge send "$a" "tcp://127.0.0.1:$port" --latest --quiet
send=$last
until_consumers "$a" 1
bg pub "$fr" pub "$a" --source pattern --count 600 --fps 100 --quiet
pub=$last
until_published "$b" 20 30
kill -STOP "$recv"
sleep 2 # the camera goes on at 100 fps meanwhile
stopped_at=$(info_get "$b" published)
kill -CONT "$recv"
finish "$pub" 60 || fail "latest: pub did not finish: $(cat "$tmp/pub.log")"
waits=$(info_get "$a" producer_waits)
[ "$waits" = 0 ] && ok "latest: the camera never waited for a slot (producer_waits 0)" ||
	fail "latest: the camera waited $waits times"
finish "$send" 30 || fail "latest: send: $(cat "$tmp/send.log")"
drops=$(sed -n 's/.*summary: .*, drops \([0-9]*\),.*/\1/p' "$tmp/send.log")
[ "${drops:-0}" -gt 0 ] &&
	ok "latest: the sender skipped $drops frames while the receiver was stopped" ||
	fail "latest: no drop at the sender: $(cat "$tmp/send.log")"
until_published "$b" $((stopped_at + 1)) 30 &&
	ok "latest: the receiver got newer frames after it resumed"
stop "$recv" || fail "latest: recv: $(cat "$tmp/recv.log")"
"$fr" rm "$a" "$b" >/dev/null

# ---- restart: kill -9 the receiver mid-stream, start it again; then the sender ------------
for proto in native imagezmq; do
	port=$(free_port)
	opt=()
	[ "$proto" = imagezmq ] && opt=(--imagezmq)
	"$fr" create "$a" --mode broadcast --slots 8 --size 160x120 --format bgr24 >/dev/null
	bg recv "$fr" bridge recv "tcp://127.0.0.1:$port" "$b" --bind "${opt[@]}" --quiet
	recv=$last
	sendopt=("${opt[@]}")
	[ "$proto" = imagezmq ] && sendopt+=(--reply-timeout 1)
	bg send "$fr" bridge send "$a" "tcp://127.0.0.1:$port" "${sendopt[@]}" --quiet
	send=$last
	until_consumers "$a" 1
	bg pub "$fr" pub "$a" --source pattern --fps 100 --quiet
	pub=$last
	until_published "$b" 50 30
	# Stopped first, so that a request is left without its reply (REQ/REP), then killed.
	kill -STOP "$recv"
	sleep 2
	kill -KILL "$recv"
	finish "$recv" 10
	before=$(info_get "$b" published)
	bg recv2 "$fr" bridge recv "tcp://127.0.0.1:$port" "$b" --bind "${opt[@]}" --quiet
	recv=$last
	until_published "$b" $((before + 50)) 30 &&
		ok "restart ($proto): 50 more frames after the receiver was killed and restarted"
	stop "$send" || fail "restart ($proto): send: $(cat "$tmp/send.log")"
	has "$tmp/send.log" "reconnects [1-9]" "restart ($proto): the sender counted the reconnect"
	[ "$proto" = native ] ||
		has "$tmp/send.log" "[1-9][0-9]* unanswered \(socket resets [1-9]" \
			"restart ($proto): the REQ socket whose reply never came was reset"
	# Then a sender killed mid-stream and started again: the receiver takes it back.
	bg send2 "$fr" bridge send "$a" "tcp://127.0.0.1:$port" "${sendopt[@]}" --quiet
	until_published "$b" $(($(info_get "$b" published) + 20)) 30
	kill -KILL "$last"
	finish "$last" 10
	before=$(info_get "$b" published)
	bg send3 "$fr" bridge send "$a" "tcp://127.0.0.1:$port" "${sendopt[@]}" --quiet
	send=$last
	until_published "$b" $((before + 50)) 30 &&
		ok "restart ($proto): 50 more frames after the sender was killed and restarted"
	stop "$pub" >/dev/null
	finish "$send" 30 || fail "restart ($proto): the new send: $(cat "$tmp/send3.log")"
	stop "$recv" || fail "restart ($proto): the new recv: $(cat "$tmp/recv2.log")"
	has "$tmp/recv2.log" "summary: .*reconnects [1-9]" \
		"restart ($proto): the receiver counted the sender's return"
	"$fr" rm "$a" "$b" >/dev/null
done

# ---- hostile messages ----------------------------------------------------------------------
# A real 32x16 JPEG, for the truncated and wrong-size cases.
"$fr" pub "$seg-j" --source pattern --size 32x16 --format bgr24 --count 1 --fps 0 --quiet \
	2>/dev/null && "$fr" sub "$seg-j" --jpeg "$tmp/j" --count 1 --quiet 2>/dev/null ||
	fail "making a 32x16 JPEG"
"$fr" rm "$seg-j" >/dev/null
jpeg="$tmp/j/frame-000000.jpg"
"$py" -c 'import sys; open(sys.argv[1], "wb").write(bytes(range(256)) * 2)' "$tmp/good.raw"
for proto in native imagezmq; do
	port=$(free_port)
	opt=()
	[ "$proto" = imagezmq ] && opt=(--imagezmq)
	"$fr" create "$b" --mode spsc --slots 4 --size 32x16 --format gray8 >/dev/null
	bg recv "$fr" bridge recv "tcp://127.0.0.1:$port" "$b" --bind "${opt[@]}" --quiet
	recv=$last
	what=hostile
	[ "$proto" = imagezmq ] && what=hostile-izmq
	timeout 120 "$py" "$peer" "$what" "tcp://127.0.0.1:$port" --jpeg-file "$jpeg" \
		>"$tmp/peer.log" 2>&1 || fail "hostile ($proto): peer: $(cat "$tmp/peer.log")"
	sent=$(sed -n 's/.*: \([0-9]*\) malformed.*/\1/p' "$tmp/peer.log")
	cat "$tmp/peer.log"
	until_published "$b" 1 30
	kill -0 "$recv" 2>/dev/null &&
		ok "hostile ($proto): recv is alive after $sent malformed messages" ||
		fail "hostile ($proto): recv died: $(cat "$tmp/recv.log")"
	stop "$recv" || fail "hostile ($proto): recv exited non-zero: $(cat "$tmp/recv.log")"
	has "$tmp/recv.log" "summary: 1 frames.*, drops ${sent:-x},.*dropped messages \(" \
		"hostile ($proto): all $sent counted and dropped, by reason"
	grep -o "dropped messages (.*)" "$tmp/recv.log"
	grep -q "dropped a message" "$tmp/recv.log" && ok "hostile ($proto): said so (rate-limited)" ||
		fail "hostile ($proto): no message about the drops"
	bg check "$check" "$b" 1 --file "$tmp/good.raw" --end
	finish "$last" 40 && ok "hostile ($proto): the good frame after them arrived intact" ||
		fail "hostile ($proto): checker: $(cat "$tmp/check.log")"
	"$fr" rm "$b" >/dev/null
done

# ---- imagezmq interop: a Python peer that speaks its format ---------------------------------
"$py" "$peer" frames "$tmp/frames.raw" 10 240 320 3
# its ImageSender -> recv --imagezmq --bind -> segment
port=$(free_port)
bg recv "$fr" bridge recv "tcp://127.0.0.1:$port" "$b" --bind --imagezmq --mode spsc --quiet
recv=$last
bg check "$check" "$b" 200 --file "$tmp/frames.raw"
chk=$last
timeout 120 "$py" "$peer" izmq-send "tcp://127.0.0.1:$port" --file "$tmp/frames.raw" \
	--shape 240 320 3 --count 200 >"$tmp/peer.log" 2>&1 ||
	fail "imagezmq sender: $(cat "$tmp/peer.log")"
finish "$chk" 60 && ok "imagezmq: its sender -> recv --imagezmq: 200 arrays, every byte" ||
	fail "imagezmq sender -> recv: $(cat "$tmp/check.log")"
[ "$(info_get "$b" format)" = bgr24 ] &&
	ok "imagezmq: [240, 320, 3] uint8 made a 320x240 bgr24 segment" ||
	fail "imagezmq: segment made: $("$fr" info "$b")"
stop "$recv" || fail "imagezmq: recv: $(cat "$tmp/recv.log")"
"$fr" rm "$b" >/dev/null

# its sender's JPEGs (the pattern's frames 0..19) -> recv decodes them into the slots
"$fr" create "$a" --mode spsc --slots 32 --size 320x240 --format bgr24 >/dev/null
"$fr" pub "$a" --source pattern --count 20 --fps 0 --quiet 2>/dev/null
"$fr" sub "$a" --jpeg "$tmp/jpegs" --quiet 2>/dev/null || fail "making JPEGs"
"$fr" rm "$a" >/dev/null
port=$(free_port)
bg recv "$fr" bridge recv "tcp://127.0.0.1:$port" "$b" --bind --imagezmq --mode spsc --quiet
recv=$last
bg check "$check" "$b" 20 --jpeg 320x240
chk=$last
timeout 60 "$py" "$peer" izmq-send "tcp://127.0.0.1:$port" --jpeg-dir "$tmp/jpegs" --count 20 \
	>"$tmp/peer.log" 2>&1 || fail "imagezmq jpeg sender: $(cat "$tmp/peer.log")"
finish "$chk" 60 && ok "imagezmq: its JPEGs -> recv --imagezmq: decoded at 320x240, in order" ||
	fail "imagezmq jpeg -> recv: $(cat "$tmp/check.log")"
stop "$recv" || fail "imagezmq jpeg: recv: $(cat "$tmp/recv.log")"
"$fr" rm "$b" >/dev/null

# send --imagezmq -> its ImageHub (REP binds), raw and JPEG
for kind in raw jpeg; do
	port=$(free_port)
	"$fr" create "$a" --mode spsc --slots 8 --size 320x240 --format bgr24 >/dev/null
	hub=(--file "$tmp/frames.raw" --shape 240 320 3 --count 200)
	sopt=()
	if [ "$kind" = jpeg ]; then
		hub=(--jpeg 320x240 --count 50)
		sopt=(--jpeg)
	fi
	bg "hub-$kind" "$py" "$peer" izmq-hub "tcp://127.0.0.1:$port" "${hub[@]}"
	hubpid=$last
	bg "send-$kind" "$fr" bridge send "$a" "tcp://127.0.0.1:$port" --imagezmq "${sopt[@]}" --quiet
	send=$last
	until_consumers "$a" 1
	src=(--source raw:"$tmp/frames.raw" --loop --count 200)
	[ "$kind" = jpeg ] && src=(--source pattern --count 50)
	timeout 120 "$fr" pub "$a" "${src[@]}" --fps 0 --quiet 2>/dev/null
	finish "$hubpid" 60 &&
		ok "imagezmq: send --imagezmq ${sopt[*]} -> its hub: $(tail -n 1 "$tmp/hub-$kind.log")" ||
		fail "imagezmq: send -> hub ($kind): $(cat "$tmp/hub-$kind.log")"
	finish "$send" 30 || fail "imagezmq: send ($kind): $(cat "$tmp/send-$kind.log")"
	has "$tmp/send-$kind.log" "0 unanswered \(socket resets 0\), 0 refused" \
		"imagezmq: every frame answered OK ($kind)"
	"$fr" rm "$a" >/dev/null
done

# PUB/SUB: send --imagezmq --pubsub --bind -> its SUB hub; its PUB sender -> recv --pubsub
port=$(free_port)
"$fr" create "$a" --mode broadcast --slots 8 --size 320x240 --format bgr24 >/dev/null
bg hub "$py" "$peer" izmq-hub "tcp://127.0.0.1:$port" --pubsub --file "$tmp/frames.raw" \
	--shape 240 320 3 --count 30
hubpid=$last
bg send "$fr" bridge send "$a" "tcp://127.0.0.1:$port" --imagezmq --pubsub --bind --quiet
send=$last
until_consumers "$a" 1
bg pub "$fr" pub "$a" --source raw:"$tmp/frames.raw" --loop --fps 100 --quiet
pub=$last
finish "$hubpid" 60 &&
	ok "imagezmq: send --imagezmq --pubsub -> its SUB hub: $(tail -n 1 "$tmp/hub.log")" ||
	fail "imagezmq pubsub: $(cat "$tmp/hub.log")"
stop "$pub" >/dev/null
finish "$send" 30 || fail "imagezmq pubsub: send: $(cat "$tmp/send.log")"
"$fr" rm "$a" >/dev/null
port=$(free_port)
bg recv "$fr" bridge recv "tcp://127.0.0.1:$port" "$b" --imagezmq --pubsub --quiet
recv=$last
timeout 60 "$py" "$peer" izmq-send "tcp://127.0.0.1:$port" --pubsub --file "$tmp/frames.raw" \
	--shape 240 320 3 --count 100 --fps 100 >"$tmp/peer.log" 2>&1 ||
	fail "imagezmq PUB sender: $(cat "$tmp/peer.log")"
until_published "$b" 20 30 &&
	ok "imagezmq: its PUB sender -> recv --imagezmq --pubsub: frames arrive"
stop "$recv" || fail "imagezmq pubsub: recv: $(cat "$tmp/recv.log")"
has "$tmp/recv.log" "dropped messages 0" "imagezmq: nothing its PUB sender sent was refused"
"$fr" rm "$b" >/dev/null

echo "bridge: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
