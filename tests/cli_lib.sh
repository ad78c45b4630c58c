# shellcheck shell=bash disable=SC2034,SC2154
# (it sets tmp, seg and bgpids for its caller and uses the caller's fr)
# The command-line tests' harness, sourced by cli_test.sh and cli_fd_test.sh
# (which set fr, the framering command, first):
#   cli_setup PREFIX       tmp (a fresh directory), seg (PREFIX-$$), bgpids (the
#                          background pids) and failures; at exit every pid in
#                          bgpids is killed, /dev/shm/PREFIX-$$* and tmp removed
#   fail MESSAGE           say it and count it
#   run WANT DESCRIPTION -- COMMAND...
#                          exit status must be WANT ("nonzero": any failure); a
#                          failure must say one "framering: ..." line on stderr
#   one_line DESCRIPTION [PATTERN]
#                          stderr of the last run is one line (matching PATTERN)
#   consumers INFO-ARGS... live consumers of a segment, from info --json
#   wait_consumers N INFO-ARGS...
#                          until N consumers are attached (at most 10 s)
#   cli_finish MESSAGE     exit 1 when anything failed, else say MESSAGE

cli_setup() {
	cli_prefix="$1-$$"
	tmp=$(mktemp -d)
	seg=$cli_prefix
	bgpids=()
	failures=0
	trap cli_cleanup EXIT
}

cli_cleanup() {
	for pid in "${bgpids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	rm -f /dev/shm/"$cli_prefix"*
	rm -rf "$tmp"
}

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

run() {
	local want=$1 desc=$2
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$want" = nonzero ]; then
		[ "$got" -ne 0 ] || fail "$desc: exit 0, expected failure"
	elif [ "$got" -ne "$want" ]; then
		fail "$desc: exit $got, expected $want; stderr: $(head -c 400 "$tmp/err")"
	fi
	if [ "$want" != 0 ] && ! grep -q '^framering: ' "$tmp/err"; then
		fail "$desc: no 'framering: ...' message on stderr: $(head -c 400 "$tmp/err")"
	fi
	return 0
}

one_line() {
	[ "$(wc -l <"$tmp/err")" -eq 1 ] ||
		fail "$1: expected one line on stderr: $(cat "$tmp/err")"
	if [ $# -ge 2 ]; then
		grep -q -- "$2" "$tmp/err" || fail "$1: expected '$2' on stderr: $(cat "$tmp/err")"
	fi
}

consumers() {
	"$fr" info --json "$@" 2>/dev/null |
		python3 -c 'import json, sys
print(sum(p["role"] == "consumer" and p["alive"] for p in json.load(sys.stdin)["peers"]))' \
			2>/dev/null
}

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

cli_finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures check(s) failed"
		exit 1
	fi
	echo "$1"
}
