# Sourced by the project's scripts: install the Debian packages that are missing.
# Usage: fr_ensure_packages pkg...   (needs root or sudo when something is missing)

fr_ensure_packages() {
	local missing=() pkg
	for pkg in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
			missing+=("$pkg")
		fi
	done
	((${#missing[@]})) || return 0
	echo "installing missing Debian packages: ${missing[*]}" >&2
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
		sudo=(sudo)
	fi
	"${sudo[@]}" apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# What building and testing framering needs. The Python binding is built and
# tested for Debian's /usr/bin/python3 (python3-dev, python3-numpy, pytest); its
# benchmark compares against ZeroMQ (python3-zmq). GStreamer: the plugin's
# headers (core, base: video meta, base classes), and for its tests
# gst-launch-1.0, videotestsrc/videoconvert (base) and jpegenc (good). The ZeroMQ
# bridge: libzmq to build it (its tests use pyzmq and numpy, above).
FR_BUILD_PACKAGES=(gcc libc6-dev meson ninja-build pkg-config libcriterion-dev libturbojpeg0-dev python3 groff-base
	python3-dev python3-numpy python3-pytest python3-zmq
	libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
	gstreamer1.0-plugins-base gstreamer1.0-plugins-good
	libzmq3-dev)
