#!/usr/bin/env bash
# The GStreamer plugin end to end, one behaviour per call (meson suite 'gstreamer'):
#   gst_test.sh CASE BUILD_DIR PLUGIN_DIR FRAMERING GST_CHECK JPEG_CHECK [B_SANITIZE]
# CASE: roundtrip zerocopy cli eos refuse latest wait kill install. Producer and
# consumer always run in separate processes. Every wait is bounded (pipelines
# by `timeout`, polls by a count); nothing asserts on time.
set -u
case_=$1 build=$2 plugdir=$3 fr=$4 check=$5 jpeg_check=$6 sanitize=${7:-none}
unpad_py="$(dirname "${BASH_SOURCE[0]}")/unpad.py"
if [ "$sanitize" != none ]; then
	# gst-launch-1.0 is not instrumented: it cannot load a sanitized plugin.
	echo "gst_$case_: skipped in a $sanitize build"
	exit 77
fi
if ! command -v gst-launch-1.0 >/dev/null; then
	echo "gst-launch-1.0 missing (gstreamer1.0-tools)"
	exit 1
fi

export GST_PLUGIN_PATH=$plugdir
# One registry for the build's tests: scanned once, not per pipeline.
export GST_REGISTRY=$build/gst-test-registry.bin
tmp=$(mktemp -d)
prefix="frgst-$case_-$$"
bgpids=()
failures=0
T=60 # the bound of every pipeline, in seconds

cleanup() {
	# TERM first: `timeout` passes it on to its pipeline.
	for pid in "${bgpids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	sleep 0.2
	for pid in "${bgpids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	wait 2>/dev/null
	rm -f /dev/shm/"$prefix"*
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# gst-launch-1.0, bounded, quiet but for errors.
GL=(timeout -k 5 "$T" gst-launch-1.0 -q)
launch() { "${GL[@]}" "$@"; }

# bg COMMAND...: in the background, remembered so that cleanup can stop it.
# COMMAND must be a program (not a function): $! is then its own pid.
bg() {
	"$@" &
	bgpids+=($!)
}

# consumer_field NAME FIELD: FIELD of the segment's first live consumer, or empty.
consumer_field() {
	"$fr" info --json "$1" 2>/dev/null | python3 -c '
import json, sys
peers = [p for p in json.load(sys.stdin)["peers"] if p["role"] == "consumer" and p["alive"]]
print(peers[0][sys.argv[1]] if peers else "")' "$2" 2>/dev/null
}

# wait_until DESCRIPTION COMMAND...: poll COMMAND every 50 ms, at most 20 s.
wait_until() {
	local desc=$1 i
	shift
	for i in $(seq 400); do
		"$@" && return 0
		sleep 0.05
	done
	fail "never happened: $desc"
	return 1
}

has_consumer() { [ -n "$(consumer_field "$1" pid)" ]; }
# segment_field NAME FIELD: FIELD of the segment's JSON description.
segment_field() {
	"$fr" info --json "$1" 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)[sys.argv[1]])' "$2" 2>/dev/null
}
producer_waiting() { local n; n=$(segment_field "$1" producer_waits); [ "${n:-0}" -ge 1 ]; }
delivered_at_least() { local n; n=$(consumer_field "$1" delivered); [ "${n:-0}" -ge "$2" ]; }
not_running() { ! kill -0 "$1" 2>/dev/null; }
lines_at_least() { [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ]; }

# ---------------------------------------------------------------------------

# roundtrip NAME CAPS [SINK_PROPS [UNPAD [SRC_PROPS]]]: a reference file straight
# from videotestsrc, then the same frames through a ring into another process;
# the files must be identical (UNPAD="FORMAT W H": identical but for padding).
roundtrip() {
	local name=$1 caps=$2 sinkprops=${3:-mode=mpmc} unpad=${4:-} srcprops=${5:-}
	local ring="$prefix-$1" n=8
	launch videotestsrc num-buffers=$n pattern=ball ! $caps ! filesink location="$tmp/ref" ||
		{ fail "$name: reference pipeline"; return; }
	bg "${GL[@]}" frameringsrc ring="$ring" timeout-ms=30000 $srcprops ! \
		filesink location="$tmp/out"
	local src=$!
	launch videotestsrc num-buffers=$n pattern=ball ! $caps ! frameringsink ring="$ring" \
		$sinkprops || fail "$name: sink pipeline"
	wait "$src" || fail "$name: source pipeline exited $?"
	local what="files identical"
	if [ -n "$unpad" ]; then
		# GStreamer pads these rows, and padding bytes are whatever the memory
		# held (heap garbage in the reference): compare the pixels.
		"$unpad_py" $unpad "$tmp/ref" >"$tmp/ref.px" && mv "$tmp/ref.px" "$tmp/ref"
		"$unpad_py" $unpad "$tmp/out" >"$tmp/out.px" && mv "$tmp/out.px" "$tmp/out"
		what="pixels identical"
	fi
	if [ -s "$tmp/ref" ] && cmp -s "$tmp/ref" "$tmp/out"; then
		echo "ok: $name round trip, $n frames, $(stat -c %s "$tmp/out") bytes, $what"
	else
		fail "$name: files differ" \
			"($(stat -c %s "$tmp/ref") vs $(stat -c %s "$tmp/out") bytes)"
	fi
	rm -f "$tmp/ref" "$tmp/out" "/dev/shm/$ring"
}

case_roundtrip() {
	local fmt
	for fmt in GRAY8 GRAY16_LE RGB BGR RGBA BGRA YUY2 NV12 I420; do
		roundtrip "$fmt" "video/x-raw,format=$fmt,width=320,height=240,framerate=30/1"
	done
	roundtrip JPEG "video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! jpegenc"
	# 322x242: GStreamer pads rows (GRAY8 to 324 bytes, RGB to 968), which the
	# segment keeps; its I420 chroma stride (164) is not half the luma stride
	# (324), so that segment gets framering's own strides and the source
	# converts back for filesink, which reads no video meta.
	for fmt in GRAY8 GRAY16_LE RGB BGR RGBA BGRA YUY2 NV12 I420; do
		roundtrip "$fmt-322x242" \
			"video/x-raw,format=$fmt,width=322,height=242,framerate=30/1" \
			mode=mpmc "$fmt 322 242"
	done
	# The other modes. SPSC has one consumer handle: the source moves the frame
	# filesink keeps (its last sample) to the heap to take the next one.
	roundtrip BGR-spsc "video/x-raw,format=BGR,width=320,height=240,framerate=30/1" mode=spsc
	# Broadcast keeps no frame for a consumer not yet attached: the source
	# starts at the oldest frame still held, and 16 slots hold all 8.
	roundtrip BGR-broadcast "video/x-raw,format=BGR,width=320,height=240,framerate=30/1" \
		"mode=broadcast slots=16" "" from-oldest=true

	# A padded stride: a broadcast segment made by the command with 1024-byte
	# rows, the source attached first; the sink attaches to it, videotestsrc
	# writes at that stride through the video meta of the sink's buffers.
	local ring="$prefix-padded"
	local caps="video/x-raw,format=BGR,width=320,height=240,framerate=30/1"
	"$fr" create "$ring" --mode broadcast --size 320x240 --format bgr24 --stride 1024 \
		>/dev/null ||
		fail "padded: create"
	launch videotestsrc num-buffers=8 pattern=ball ! $caps ! filesink location="$tmp/ref"
	bg "$check" --timeout "$T" frameringsrc name=src ring="$ring" ! \
		filesink location="$tmp/out" >"$tmp/src.txt"
	local src=$!
	wait_until "padded: the source attached" has_consumer "$ring"
	"$check" --timeout "$T" videotestsrc num-buffers=8 pattern=ball ! $caps ! \
		frameringsink name=sink ring="$ring" >"$tmp/sink.txt" ||
		fail "padded: sink: $(tail -n 1 "$tmp/sink.txt")"
	wait "$src" || fail "padded: source: $(tail -n 1 "$tmp/src.txt")"
	cmp -s "$tmp/ref" "$tmp/out" || fail "padded: files differ"
	grep -q '^sink copies=0$' "$tmp/sink.txt" ||
		fail "padded: the sink copied: $(grep copies "$tmp/sink.txt")"
	# filesink reads no video meta: each frame is converted to GStreamer's strides.
	grep -q '^src copies=8$' "$tmp/src.txt" ||
		fail "padded: expected 8 stride conversions: $(grep copies "$tmp/src.txt")"
	[ "$failures" = 0 ] && echo "ok: padded stride 1024: files identical, sink copies 0," \
		"source converted 8 frames for filesink"
}

case_zerocopy() {
	local caps="video/x-raw,format=BGR,width=320,height=240,framerate=30/1" r
	# Upstream honouring the pool (videotestsrc, and videoconvert) writes into the slots.
	r="$prefix-a"
	"$check" --timeout "$T" videotestsrc num-buffers=20 ! $caps ! frameringsink name=sink \
		ring="$r" >"$tmp/a.txt"
	grep -q '^sink copies=0$' "$tmp/a.txt" && grep -q '^eos$' "$tmp/a.txt" ||
		fail "videotestsrc: $(tr '\n' ' ' <"$tmp/a.txt")"
	r="$prefix-b"
	"$check" --timeout "$T" videotestsrc num-buffers=20 ! \
		video/x-raw,format=I420,width=320,height=240 ! videoconvert ! $caps ! \
		frameringsink name=sink ring="$r" >"$tmp/b.txt"
	grep -q '^sink copies=0$' "$tmp/b.txt" && grep -q '^eos$' "$tmp/b.txt" ||
		fail "videoconvert: $(tr '\n' ' ' <"$tmp/b.txt")"
	# An upstream that cannot see the pool: every buffer copied once, and counted.
	r="$prefix-c"
	"$check" --timeout "$T" videotestsrc num-buffers=20 ! $caps ! \
		identity drop-allocation=true ! frameringsink name=sink ring="$r" >"$tmp/c.txt"
	grep -q '^sink copies=20$' "$tmp/c.txt" ||
		fail "drop-allocation: $(tr '\n' ' ' <"$tmp/c.txt")"
	# videorate keeps each buffer until the next one arrives: it must not get the
	# pool (one claim at a time) or it would wait forever for a second buffer.
	r="$prefix-e"
	"$check" --timeout "$T" videotestsrc num-buffers=20 ! $caps ! videorate ! \
		video/x-raw,framerate=60/1 ! frameringsink name=sink ring="$r" >"$tmp/e.txt"
	grep -q '^eos$' "$tmp/e.txt" || fail "videorate: $(tr '\n' ' ' <"$tmp/e.txt")"
	# The source's buffers are the slots: memory inside this process's mapping.
	r="$prefix-d"
	bg "${GL[@]}" videotestsrc num-buffers=20 ! $caps ! frameringsink ring="$r" mode=mpmc
	"$check" --timeout "$T" frameringsrc name=src ring="$r" timeout-ms=30000 ! fakesink \
		>"$tmp/d.txt"
	local inside outside
	inside=$(grep -c 'in_segment=1' "$tmp/d.txt")
	outside=$(grep -c 'in_segment=0' "$tmp/d.txt")
	[ "$inside" = 20 ] && [ "$outside" = 0 ] && grep -q '^src copies=0$' "$tmp/d.txt" ||
		fail "source: $inside buffers in the segment, $outside outside:" \
			"$(grep -v ^buffer "$tmp/d.txt" | tr '\n' ' ')"
	[ "$failures" = 0 ] &&
		echo "ok: sink copies 0 with videotestsrc and videoconvert, 20 with" \
		"drop-allocation; videorate runs (copied); 20/20 source buffers inside the" \
		"segment mapping, src copies 0"
}

case_cli() {
	local caps="video/x-raw,format=BGR,width=320,height=240,framerate=30/1" r="$prefix-pub"
	# framering pub -> frameringsrc: raw frames published by the command come out bit exact.
	launch videotestsrc num-buffers=12 pattern=ball ! $caps ! filesink location="$tmp/ref.raw"
	bg "${GL[@]}" frameringsrc ring="$r" timeout-ms=30000 ! filesink location="$tmp/out.raw"
	local src=$!
	"$fr" pub "$r" --source "raw:$tmp/ref.raw" --size 320x240 --format bgr24 --mode mpmc \
		--fps 0 --quiet 2>"$tmp/pub.err" || fail "pub: $(cat "$tmp/pub.err")"
	wait "$src" || fail "pub -> frameringsrc: the source exited $?"
	cmp -s "$tmp/ref.raw" "$tmp/out.raw" || fail "pub -> frameringsrc: files differ"

	# frameringsink -> framering sub --jpeg: snapshots of the right size.
	r="$prefix-sub"
	"$fr" create "$r" --mode broadcast --size 320x240 --format bgr24 >/dev/null
	bg "$fr" sub "$r" --jpeg "$tmp/snaps" --count 10 --timeout "$T" --quiet 2>"$tmp/sub.err"
	local sub=$!
	wait_until "sub attached" has_consumer "$r"
	launch videotestsrc num-buffers=10 ! $caps ! frameringsink ring="$r" || fail "sink pipeline"
	wait "$sub" || fail "sub exited $?: $(cat "$tmp/sub.err")"
	local n
	n=$("$jpeg_check" "$tmp"/snaps/*.jpg 2>/dev/null | grep -c '^320x240 ')
	[ "$n" = 10 ] || fail "frameringsink -> sub --jpeg: $n of 10 snapshots decode at 320x240"

	# JPEG both ways: jpegenc's frames through a jpeg ring, saved as they are by sub.
	r="$prefix-jpeg"
	"$fr" create "$r" --mode broadcast --size 320x240 --format jpeg >/dev/null
	bg "$fr" sub "$r" --jpeg "$tmp/jsnaps" --count 5 --timeout "$T" --quiet 2>"$tmp/jsub.err"
	sub=$!
	wait_until "sub attached (jpeg)" has_consumer "$r"
	launch videotestsrc num-buffers=5 ! $caps ! jpegenc ! frameringsink ring="$r" ||
		fail "jpeg sink pipeline"
	wait "$sub" || fail "sub (jpeg) exited $?: $(cat "$tmp/jsub.err")"
	n=$("$jpeg_check" "$tmp"/jsnaps/*.jpg 2>/dev/null | grep -c '^320x240 ')
	[ "$n" = 5 ] || fail "jpegenc -> frameringsink -> sub: $n of 5 JPEGs decode"
	[ "$failures" = 0 ] &&
		echo "ok: pub -> frameringsrc identical; frameringsink -> sub --jpeg:" \
		"10 snapshots; jpegenc -> frameringsink -> sub: 5 JPEGs"
}

case_eos() {
	local caps="video/x-raw,format=GRAY8,width=160,height=120,framerate=30/1" r
	# The sink's EOS ends the stream: the source pushes EOS (gst-launch exits 0).
	r="$prefix-sink"
	bg "${GL[@]}" frameringsrc ring="$r" timeout-ms=30000 ! fakesink
	local src=$!
	launch videotestsrc num-buffers=5 ! $caps ! frameringsink ring="$r" mode=mpmc ||
		fail "sink pipeline"
	wait "$src" || fail "sink EOS -> source: exited $? (no EOS)"
	# The command's end (pub --count) is EOS too.
	r="$prefix-pub"
	bg "$check" --timeout "$T" frameringsrc name=src ring="$r" timeout-ms=30000 ! fakesink \
		>"$tmp/pub.txt"
	src=$!
	"$fr" pub "$r" --source pattern --size 160x120 --format gray8 --mode spsc --fps 0 \
		--count 7 --quiet 2>/dev/null || fail "pub"
	wait "$src" || fail "pub's end -> source: $(tail -n 1 "$tmp/pub.txt")"
	local n
	n=$(grep -c '^buffer' "$tmp/pub.txt")
	[ "$n" = 7 ] || fail "pub's end: $n of 7 frames"
	# The sink's EOS ends framering sub ("end of stream").
	r="$prefix-sub"
	"$fr" create "$r" --mode broadcast --size 160x120 --format gray8 >/dev/null
	bg "$fr" sub "$r" --timeout "$T" 2>"$tmp/sub.err"
	local sub=$!
	wait_until "sub attached" has_consumer "$r"
	launch videotestsrc num-buffers=5 ! $caps ! frameringsink ring="$r" || fail "sink pipeline"
	wait "$sub" || fail "sub exited $?"
	grep -q "end of stream" "$tmp/sub.err" ||
		fail "sub: no end of stream: $(tail -n 1 "$tmp/sub.err")"
	# EOS sent into a source's pipeline (gst-launch -e, SIGINT) ends it cleanly
	# while it waits for frames.
	r="$prefix-int"
	"$fr" create "$r" --mode broadcast --size 160x120 --format gray8 >/dev/null
	# Not under `timeout`: it would pass SIGINT on twice (to the child and to its
	# process group), and gst-launch stops without EOS on a second one.
	gst-launch-1.0 -e frameringsrc ring="$r" ! fakesink >"$tmp/int.out" 2>&1 &
	src=$!
	bgpids+=($src)
	wait_until "source attached" has_consumer "$r"
	# gst-launch turns SIGINT into EOS only once the pipeline is PLAYING (its
	# "New clock" line); earlier it just stops.
	wait_until "the source's pipeline playing" grep -q "New clock" "$tmp/int.out"
	kill -INT "$src"
	wait_until "the source's pipeline ended" not_running "$src" || kill -KILL "$src"
	wait "$src" || fail "EOS into the source's pipeline: exited $?: $(tail -n 2 "$tmp/int.out")"
	grep -q "Got EOS" "$tmp/int.out" ||
		fail "no EOS after SIGINT with -e: $(tail -n 3 "$tmp/int.out")"
	[ "$failures" = 0 ] &&
		echo "ok: sink EOS -> source EOS; pub end -> source EOS (7 frames);" \
		"sink EOS -> sub end of stream; EOS into a waiting source"
}

# expect_error NAME PIPELINE...: the pipeline must end with an error (not a
# timeout); the error in $tmp/NAME.err. Run by gst_check, not gst-launch-1.0:
# gst-launch 1.22 can miss an error posted before its main loop runs (the
# quit is lost) and then waits forever, and these errors come that early.
expect_error() {
	local name=$1 rc
	shift
	"$check" --timeout "$T" "$@" >"$tmp/$name.err" 2>&1
	rc=$?
	[ "$rc" = 1 ] || fail "$name: exited $rc, not 1 (an error): $(tail -n 1 "$tmp/$name.err")"
}

case_refuse() {
	local r="$prefix-y444"
	# A format the ring cannot carry: refused at negotiation, naming the supported ones.
	expect_error y444 videotestsrc num-buffers=1 ! \
		video/x-raw,format=Y444,width=64,height=64 ! frameringsink ring="$r"
	grep -q "GRAY8, GRAY16_LE, RGB, BGR, RGBA, BGRA, YUY2, NV12 or I420" "$tmp/y444.err" &&
		grep -q "image/jpeg" "$tmp/y444.err" ||
		fail "Y444: no list of formats: $(head -c 400 "$tmp/y444.err")"
	[ -e "/dev/shm/$r" ] && fail "Y444: a segment was left behind"
	# A geometry framering refuses (odd I420 width).
	r="$prefix-odd"
	expect_error odd videotestsrc num-buffers=1 ! \
		video/x-raw,format=I420,width=63,height=64 ! frameringsink ring="$r"
	grep -q "even width" "$tmp/odd.err" || fail "odd I420: $(head -c 400 "$tmp/odd.err")"
	# A raw (opaque) segment has no caps: the source refuses it, naming the formats.
	r="$prefix-raw"
	"$fr" create "$r" --format raw --frame-bytes 4096 >/dev/null
	expect_error raw frameringsrc ring="$r" ! fakesink
	grep -q "raw frames" "$tmp/raw.err" && grep -q "image/jpeg" "$tmp/raw.err" ||
		fail "raw segment: $(head -c 400 "$tmp/raw.err")"
	# A live segment of another geometry: a clear error, the segment untouched.
	r="$prefix-other"
	"$fr" create "$r" --mode broadcast --size 320x240 --format bgr24 >/dev/null
	bg "$fr" sub "$r" --timeout "$T" --quiet 2>/dev/null
	wait_until "sub attached" has_consumer "$r"
	expect_error other videotestsrc num-buffers=1 ! \
		video/x-raw,format=BGR,width=640,height=480 ! frameringsink ring="$r"
	grep -q "320x240" "$tmp/other.err" || fail "other geometry: $(head -c 400 "$tmp/other.err")"
	# perms is a file mode, written in octal.
	r="$prefix-perms"
	launch videotestsrc num-buffers=1 ! video/x-raw,format=GRAY8,width=64,height=64 ! \
		frameringsink ring="$r" perms=0640 || fail "perms pipeline"
	local mode
	mode=$(stat -c %a "/dev/shm/$r")
	[ "$mode" = 640 ] || fail "perms=0640 gave $mode"
	[ "$failures" = 0 ] &&
		echo "ok: Y444 and odd I420 refused with the supported formats named;" \
		"a raw ring refused by the source; a ring of another geometry refused; perms=0640"
}

case_latest() {
	local caps="video/x-raw,format=GRAY8,width=320,height=240,framerate=30/1" r="$prefix-latest"
	# A latest source whose downstream is stuck on its first frame (identity
	# sleeps) never holds the camera back: 100 frames go through a 4-slot ring.
	"$fr" create "$r" --mode broadcast --size 320x240 --format gray8 >/dev/null
	bg gst-launch-1.0 -q frameringsrc ring="$r" latest=true ! identity sleep-time=100000000 ! \
		fakesink
	local src=$!
	wait_until "the latest source attached" has_consumer "$r"
	launch videotestsrc num-buffers=100 ! $caps ! frameringsink ring="$r" ||
		fail "the camera did not finish past a stuck latest source"
	local published
	published=$(segment_field "$r" published)
	[ "$published" = 100 ] || fail "published $published of 100 past a stuck latest source"
	kill -KILL "$src"
	# The same source without latest=true is reliable: it holds the camera back
	# until it dies.
	r="$prefix-reliable"
	"$fr" create "$r" --mode broadcast --size 320x240 --format gray8 >/dev/null
	bg gst-launch-1.0 -q frameringsrc ring="$r" ! identity sleep-time=100000000 ! \
		fakesink
	src=$!
	wait_until "the reliable source attached" has_consumer "$r"
	bg "${GL[@]}" videotestsrc num-buffers=100 ! $caps ! frameringsink ring="$r"
	local sink=$!
	wait_until "the camera waits for the reliable source" producer_waiting "$r"
	published=$(segment_field "$r" published)
	[ "$published" -lt 100 ] || fail "a stuck reliable source did not hold the camera back"
	kill -KILL "$src"
	wait "$sink" || fail "the camera did not go on after the reliable source died"
	[ "$failures" = 0 ] && echo "ok: a stuck latest source let 100 frames through; a stuck" \
		"reliable one held the camera at $published until it was killed"
}

case_wait() {
	local caps="video/x-raw,format=RGB,width=160,height=120,framerate=30/1" r="$prefix-late"
	bg "${GL[@]}" frameringsrc ring="$r" ! filesink location="$tmp/out"
	local src=$!
	sleep 0.5 # not an assertion: lets the source start waiting before the segment exists
	kill -0 "$src" 2>/dev/null || fail "the source did not wait for the segment"
	[ -e "/dev/shm/$r" ] && fail "the segment exists too early"
	launch videotestsrc num-buffers=10 ! $caps ! frameringsink ring="$r" mode=mpmc ||
		fail "sink pipeline"
	wait "$src" || fail "the source exited $?"
	[ "$(stat -c %s "$tmp/out")" = $((10 * 160 * 120 * 3)) ] ||
		fail "the source wrote $(stat -c %s "$tmp/out") bytes, not 10 frames"
	[ "$failures" = 0 ] && echo "ok: a source started first waited, then took all 10 frames"
}

case_kill() {
	local caps="video/x-raw,format=GRAY8,width=160,height=120,framerate=30/1" r="$prefix-sink"
	# SIGKILL the sink: the source keeps running and goes on with a restarted sink.
	bg "$check" --timeout 120 frameringsrc name=src ring="$r" ! fakesink >"$tmp/src.txt"
	local src=$!
	# Started without `timeout` so that the SIGKILL hits gst-launch itself.
	bg gst-launch-1.0 -q videotestsrc is-live=true ! $caps ! frameringsink ring="$r"
	local sink=$!
	wait_until "frames before the kill" lines_at_least "$tmp/src.txt" '^buffer' 5
	kill -KILL "$sink"
	wait "$sink" 2>/dev/null
	local before
	before=$(grep -c '^buffer' "$tmp/src.txt")
	kill -0 "$src" 2>/dev/null || fail "the source died with the sink"
	launch videotestsrc is-live=true num-buffers=20 ! $caps ! frameringsink ring="$r" ||
		fail "restarted sink"
	wait "$src" || fail "source after the sink's restart: $(tail -n 1 "$tmp/src.txt")"
	local after
	after=$(grep -c '^buffer' "$tmp/src.txt")
	[ "$after" -gt "$before" ] || fail "no frame from the restarted sink ($before, then $after)"

	# SIGKILL the source: the sink keeps publishing; a new source takes frames.
	r="$prefix-src"
	bg "$check" --timeout 120 videotestsrc is-live=true num-buffers=150 ! $caps ! \
		frameringsink name=sink ring="$r" >"$tmp/sink.txt"
	sink=$!
	bg gst-launch-1.0 -q frameringsrc ring="$r" ! fakesink
	src=$!
	wait_until "the first source took frames" delivered_at_least "$r" 3
	kill -KILL "$src"
	wait "$src" 2>/dev/null
	"$check" --timeout "$T" frameringsrc name=src ring="$r" ! fakesink >"$tmp/src2.txt" ||
		fail "second source: $(tail -n 1 "$tmp/src2.txt")"
	grep -q '^buffer' "$tmp/src2.txt" || fail "the second source got no frame"
	wait "$sink" ||
		fail "the sink did not survive the source's death: $(tail -n 1 "$tmp/sink.txt")"

	# A source killed while holding a frame of an SPSC ring: the next source gets
	# that frame again, marked redelivered. (320 pixels: the command's default
	# stride is GStreamer's, so the source lends the slot itself to fakesink.)
	r="$prefix-spsc"
	bg "$fr" pub "$r" --source pattern --size 320x240 --format gray8 --mode spsc --fps 0 \
		--count 20 --quiet
	local pub=$!
	bg gst-launch-1.0 -q frameringsrc ring="$r" ! identity sleep-time=100000000 ! \
		fakesink
	src=$!
	wait_until "the source holds a frame" delivered_at_least "$r" 1
	kill -KILL "$src"
	wait "$src" 2>/dev/null
	"$check" --timeout "$T" frameringsrc name=src ring="$r" ! fakesink >"$tmp/re.txt" ||
		fail "source after the kill: $(tail -n 1 "$tmp/re.txt")"
	grep -q '^buffer seq=0 in_segment=1 redelivered=1$' "$tmp/re.txt" ||
		fail "frame 0 not redelivered: $(head -n 2 "$tmp/re.txt" | tr '\n' ' ')"
	[ "$(grep -c '^buffer' "$tmp/re.txt")" = 20 ] ||
		fail "$(grep -c '^buffer' "$tmp/re.txt") of 20 frames after the kill"
	wait "$pub" || fail "pub exited $?"
	[ "$failures" = 0 ] && echo "ok: source survived its sink's SIGKILL ($before frames," \
		"then $after with a restarted sink); sink survived its source's SIGKILL;" \
		"frame 0 redelivered"
}

case_install() {
	local dest="$tmp/dest" r="$prefix-inst"
	meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null ||
		{ fail "meson install"; return; }
	local so
	so=$(find "$dest" -name libgstframering.so | head -n 1)
	[ -n "$so" ] || { fail "libgstframering.so not installed"; return; }
	case "$so" in
	"$dest$(pkg-config --variable=pluginsdir gstreamer-1.0)"/*) ;;
	*) fail "installed as $so, not in GStreamer's plugin directory" ;;
	esac
	# The installed copy alone (no build tree on the plugin path) loads and runs.
	GST_PLUGIN_PATH=$(dirname "$so") GST_REGISTRY="$tmp/registry.bin" \
		timeout -k 5 "$T" gst-launch-1.0 -q videotestsrc num-buffers=3 ! \
		video/x-raw,format=GRAY8,width=64,height=64 ! frameringsink ring="$r" ||
		fail "the installed plugin did not run"
	GST_PLUGIN_PATH=$(dirname "$so") GST_REGISTRY="$tmp/registry.bin" \
		gst-inspect-1.0 framering 2>&1 | grep -q "$so" || fail "gst-inspect did not use $so"
	[ "$failures" = 0 ] &&
		echo "ok: meson install put the plugin in $(dirname "${so#"$dest"}"); it loads"
}

"case_$case_"
if [ "$failures" != 0 ]; then
	echo "gst_$case_: $failures failure(s)"
	exit 1
fi
exit 0
