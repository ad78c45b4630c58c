#!/usr/bin/env bash
# `meson install` puts the header, both libraries, a pkg-config file and the
# man pages in place: a program builds against the installed copy with
# pkg-config alone and runs.
#   install_test.sh BUILD_DIR SOURCE_ROOT [B_SANITIZE]
set -euo pipefail
build=$1 top=$2 sanitize=${3:-none}
if [ "$sanitize" != none ]; then
	echo "install: skipped in a $sanitize build (the installed library needs the sanitizer runtime)"
	exit 77
fi
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null

pc=$(find "$dest" -name framering.pc | head -n 1)
[ -n "$pc" ] || { echo "no framering.pc installed" >&2; exit 1; }
find "$dest" -name framering.h | grep -q . || { echo "header not installed" >&2; exit 1; }
find "$dest" -name 'libframering.a' | grep -q . || { echo "static library not installed" >&2; exit 1; }
find "$dest" -name 'libframering.so*' | grep -q . || { echo "shared library not installed" >&2; exit 1; }
# The man pages: the API's in section 3 (a .so page per call, e.g. fr_claim's
# group page and fr_publish's link to it), the command's in section 1 when
# the command is installed.
mandir=$(find "$dest" -type d -path '*/share/man' | head -n 1)
[ -n "$mandir" ] || { echo "no share/man installed" >&2; exit 1; }
for page in man3/framering.3 man3/fr_claim.3 man3/fr_publish.3; do
	[ -f "$mandir/$page" ] || { echo "$page not installed under $mandir" >&2; exit 1; }
done
if find "$dest" -type f -path '*/bin/framering' | grep -q .; then
	[ -f "$mandir/man1/framering.1" ] || { echo "man1/framering.1 not installed under $mandir" >&2; exit 1; }
fi

export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$dest"
cflags=$(pkg-config --cflags framering)
libs=$(pkg-config --libs framering)
cc -std=c11 -Wall -Werror $cflags "$top/examples/producer.c" -o "$dest/producer" $libs
cc -std=c11 -Wall -Werror $cflags "$top/examples/consumer.c" -o "$dest/consumer" $libs
libdir=$(dirname "$(find "$dest" -name 'libframering.so' | head -n 1)")
name="frt-install-$$"
trap 'rm -rf "$dest"; rm -f "/dev/shm/$name"' EXIT
LD_LIBRARY_PATH="$libdir" "$dest/producer" "$name" &
pid=$!
for _ in $(seq 200); do [ -e "/dev/shm/$name" ] && break; sleep 0.05; done
frames=$(LD_LIBRARY_PATH="$libdir" "$dest/consumer" "$name" | grep -c '^frame ')
wait "$pid"
[ "$frames" -eq 100 ] || { echo "installed build moved $frames frames, expected 100" >&2; exit 1; }
echo "install: header, static and shared libraries, pkg-config, man pages; an example built with pkg-config moved 100 frames"
