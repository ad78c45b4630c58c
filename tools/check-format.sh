#!/usr/bin/env bash
# The project's formatting, as CI checks it:
#   - lib/*.c and gst/ (the GStreamer plugin) as clang-format (.clang-format) writes them;
#   - lib/, include/, tools/, gst/ and tests/gst/: lines of at most 100 columns (tabs count 8);
#   - every tracked text file: no trailing white space, a final newline.
#   tools/check-format.sh [--fix]     (--fix runs clang-format -i on lib/*.c and gst/)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. tools/deps.sh
fr_ensure_packages clang-format

status=0
if [ "${1:-}" = "--fix" ]; then
	clang-format -i lib/*.c gst/*.c gst/*.h
fi
if ! clang-format --dry-run --Werror lib/*.c gst/*.c gst/*.h 2>/tmp/check-format.$$; then
	sed -n '1,20p' /tmp/check-format.$$ >&2
	echo "format: lib/*.c or gst/ differs from clang-format" \
		"(run tools/check-format.sh --fix)" >&2
	status=1
fi
rm -f /tmp/check-format.$$

long=$(for f in lib/*.c lib/*.h include/*.h tools/*.c tools/*.h gst/*.c gst/*.h tests/gst/*; do
	expand -t 8 "$f" | awk -v f="$f" 'length($0) > 100 { print f ":" FNR ": " length($0) " columns" }'
done)
if [ -n "$long" ]; then
	echo "$long" >&2
	echo "format: lines over 100 columns in lib/, include/, tools/, gst/ or tests/gst/" >&2
	status=1
fi

while IFS= read -r f; do
	case "$f" in tests/fuzz/corpus*/*|*.png|*.csv|*.jpg) continue ;; esac
	[ -s "$f" ] || continue
	if grep -qnP '[ \t]+$' "$f"; then
		echo "$f: trailing white space on line $(grep -nP '[ \t]+$' "$f" | head -n 1 | cut -d: -f1)" >&2
		status=1
	fi
	if [ "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" != "0a" ]; then
		echo "$f: no newline at the end" >&2
		status=1
	fi
done < <(git ls-files)

[ "$status" -eq 0 ] &&
	echo "format: ok (clang-format on lib/*.c and gst/, 100 columns, white space)"
exit "$status"
