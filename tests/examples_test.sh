#!/usr/bin/env bash
# The README's examples: the code in README.md is exactly examples/*.c, and the
# two programs move 100 frames from one process to the other.
#   examples_test.sh SOURCE_ROOT PRODUCER CONSUMER
set -euo pipefail
top=$1 producer=$2 consumer=$3
name="frt-example-$$"
trap 'rm -f "/dev/shm/$name"' EXIT

for f in producer consumer; do
	# The fenced block that follows the marker line <!-- examples/$f.c -->.
	awk -v marker="<!-- examples/$f.c -->" '
		$0 == marker { armed = 1; next }
		armed && /^```/ { if (inside) exit; inside = 1; next }
		inside { print }' "$top/README.md" >"/tmp/$name.$f.c"
	if ! diff -u "$top/examples/$f.c" "/tmp/$name.$f.c"; then
		echo "README.md's $f example differs from examples/$f.c" >&2
		rm -f "/tmp/$name.$f.c"
		exit 1
	fi
	rm -f "/tmp/$name.$f.c"
done

"$producer" "$name" &
pid=$!
for _ in $(seq 200); do [ -e "/dev/shm/$name" ] && break; sleep 0.05; done
out=$("$consumer" "$name")
wait "$pid"
frames=$(grep -c '^frame ' <<<"$out")
if [ "$frames" -ne 100 ]; then
	echo "consumer saw $frames frames, expected 100" >&2
	exit 1
fi
last=$(tail -n 1 <<<"$out")
[ "$last" = "frame 99: 640x480, first pixel 99" ] || { echo "unexpected last line: $last" >&2; exit 1; }
echo "examples: 100 frames moved; README code matches"
