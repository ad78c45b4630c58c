#!/usr/bin/env python3
"""Write the seed corpus of fuzz_segment.c into tests/fuzz/corpus/.

Each seed is byte 0 = template, then ops (see the input format at the top of
fuzz_segment.c). The seeds open both roles, move frames, and scribble on the
fields the data path reads, so the fuzzer starts from inputs that get past
validation. Run again after changing the op encoding; files named `crash-*`
or `hang-*` are reproducers of fixed bugs and are kept.
"""
import os
import struct
import sys

# templates (fuzz_segment.c specs[]; the last one is a raw file)
SPSC, MPMC, BC, SPSC_GRAY8, MPMC_NV12, BC_RGB24, RAW = range(7)
(PATCH, FIELD, FIELD2, RESIZE, OPEN_P, OPEN_C, CLAIM, PUBLISH, CANCEL, ACQUIRE,
 RELEASE, INFO, STAT, CLOSE, OPEN_FROM) = range(15)

# field indices (fuzz_segment.c fields[])
HEADER_FIELDS = ["magic", "abi_version", "header_bytes", "segment_bytes", "mode", "policy",
                 "slot_count", "max_peers", "desc_offset", "log_offset", "payload_offset",
                 "payload_stride", "frame_capacity", "width", "height", "stride", "format",
                 "creator_pid", "log_count", "created_ns", "creator_start", "state", "perms",
                 "head", "published", "producer_waits", "aborted", "latest_stalls", "tail",
                 "consumer_waits", "redelivered", "redeliver_pos", "dropped", "consumed_retired",
                 "data_wait.event", "data_wait.waiters", "space_wait.event",
                 "space_wait.waiters", "stream", "orphans", "attaches"]
PEER_FIELDS = ["state", "role", "flags", "pid", "start_time", "generation", "attach_ns",
               "held", "cursor", "delivered", "dropped", "pinned"]
DESC_FIELDS = ["turn", "seq", "timestamp_ns", "bytes", "width", "height", "stride", "format",
               "flags", "owner"]
F = {}
for i, n in enumerate(HEADER_FIELDS):
    F["h." + n] = i
for i, n in enumerate(PEER_FIELDS):
    F["p." + n] = len(HEADER_FIELDS) + i
for i, n in enumerate(DESC_FIELDS):
    F["d." + n] = len(HEADER_FIELDS) + len(PEER_FIELDS) + i
F["log"] = len(HEADER_FIELDS) + len(PEER_FIELDS) + len(DESC_FIELDS)


def setv(field, index, value):
    """FIELD op with an explicit 8-byte value."""
    return bytes([FIELD, F[field], index, 0xff]) + struct.pack("<Q", value & (2**64 - 1))


def nudge(field, index, delta):
    """FIELD op: current value + delta (-128..127)."""
    return bytes([FIELD, F[field], index, 64, delta & 0xff])


def edge(field, index, k):
    """FIELD op: edge value number k."""
    return bytes([FIELD, F[field], index, k])


OPEN_BOTH = bytes([OPEN_P, 0, 0, OPEN_C, 0, 0])
ROUND = bytes([CLAIM, 0, PUBLISH, 0, 0, ACQUIRE, 0, 0, RELEASE, 0])
TAIL = bytes([INFO, 0, INFO, 2, STAT, CLOSE, 0, CLOSE, 2])

seeds = {}
names = {SPSC: "spsc", MPMC: "mpmc", BC: "bc", SPSC_GRAY8: "spsc-gray8",
         MPMC_NV12: "mpmc-nv12", BC_RGB24: "bc-rgb24"}
for t, n in names.items():
    seeds[f"{n}-default"] = bytes([t])
    seeds[f"{n}-rounds"] = bytes([t]) + OPEN_BOTH + ROUND * 6 + TAIL
    seeds[f"{n}-latest"] = bytes([t, OPEN_P, 0, 0, OPEN_C, 1, 1, OPEN_C, 0, 2]) + ROUND * 3 + \
        bytes([ACQUIRE, 1, 1, RELEASE, 1, CLAIM, 0, CANCEL, 0]) + TAIL
    seeds[f"{n}-publish-tweaks"] = bytes([t]) + OPEN_BOTH + \
        bytes([CLAIM, 0, PUBLISH, 0, 0x0f]) + struct.pack("<Q", 5000) + \
        struct.pack("<Q", 0xffff0001) + bytes([1]) + struct.pack("<HHH", 9, 9, 3) + \
        bytes([PUBLISH, 0, 0, ACQUIRE, 0, 0]) + TAIL
    # identity corruption before the open
    for f, v in [("h.slot_count", 8), ("h.mode", 4), ("h.payload_stride", 8192),
                 ("h.log_count", 16), ("h.max_peers", 63), ("h.header_bytes", 8192)]:
        seeds[f"{n}-pre-{f[2:]}"] = bytes([t]) + setv(f, 0, v) + OPEN_BOTH + ROUND + TAIL
    # live corruption of the data path
    live = [("head", nudge("h.head", 0, 5)), ("head-back", nudge("h.head", 0, -3)),
            ("tail", nudge("h.tail", 0, 7)), ("tail-max", edge("h.tail", 0, 30)),
            ("turn0", nudge("d.turn", 0, 1)), ("turn1-max", edge("d.turn", 1, 30)),
            ("desc-bytes", setv("d.bytes", 0, 1 << 40)),
            ("desc-format", setv("d.format", 1, 99)),
            ("desc-geometry", setv("d.width", 0, 0xffffffff)),
            ("desc-seq", nudge("d.seq", 2, 9)),
            ("peer-state", setv("p.state", 1, 2)), ("peer-held", nudge("p.held", 1, 3)),
            ("peer-held-other", setv("p.held", 5, 1)), ("peer-role", setv("p.role", 0, 7)),
            ("peer-cursor", setv("p.cursor", 0, 1 << 50)),
            ("orphans", setv("h.orphans", 0, 3)), ("stream-end", setv("h.stream", 0, 1 << 63)),
            ("stream-producers", setv("h.stream", 0, 0x7fff)),
            ("waiters", setv("h.data_wait.waiters", 0, 2**64 - 1)),
            ("redeliver", setv("h.redeliver_pos", 0, 1)),
            ("log", setv("log", 0, (0 << 32) | 0xfff)),
            ("log-seq", setv("log", 1, (5 << 32) | 1)),
            ("patch-desc", bytes([PATCH, 0x00, 0x30, 15]) + bytes(range(0xf0, 0x100)))]
    for what, op in live:
        seeds[f"{n}-live-{what}"] = bytes([t]) + OPEN_BOTH + ROUND * 2 + op + ROUND * 3 + TAIL
# a peer entry that looks alive but holds no lock: reaped at the next attach
seeds["mpmc-orphan-adopt"] = bytes([MPMC]) + setv("p.state", 3, 1) + setv("p.role", 3, 2) + \
    setv("p.held", 3, 1) + bytes([OPEN_P, 0, 0, CLAIM, 0, PUBLISH, 0, 0, OPEN_C, 0, 0]) + \
    ROUND + TAIL
# a dead-looking producer entry whose held hint names the position our live producer holds:
# the reaper (run by the next attach) must leave that claim alone
seeds["mpmc-dead-hint"] = bytes([MPMC, OPEN_P, 0, 0, CLAIM, 0]) + setv("p.state", 5, 1) + \
    setv("p.role", 5, 1) + setv("p.held", 5, 1) + bytes([OPEN_C, 0, 0, PUBLISH, 0, 0]) + \
    ROUND + TAIL
seeds["mpmc-dead-consumer-held"] = bytes([MPMC]) + OPEN_BOTH + bytes([CLAIM, 0, PUBLISH, 0, 0]) + \
    setv("p.state", 6, 1) + setv("p.role", 6, 2) + setv("p.held", 6, 1) + \
    bytes([ACQUIRE, 0, 0, OPEN_C, 1, 0]) + ROUND + TAIL
seeds["bc-dead-pins"] = bytes([BC]) + OPEN_BOTH + ROUND + setv("d.turn", 0, (1 << 32) | 0x7fffffff) + \
    setv("p.state", 7, 1) + setv("p.role", 7, 2) + bytes([OPEN_C, 1, 0]) + ROUND * 3 + TAIL
seeds["spsc-truncated"] = bytes([SPSC, RESIZE]) + struct.pack("<H", 2048) + OPEN_BOTH + TAIL
seeds["spsc-grown"] = bytes([SPSC, RESIZE]) + struct.pack("<H", 8192) + OPEN_BOTH + TAIL
# a descriptor whose geometry needs 2^64 bytes (wraps to 0 without overflow checks)
seeds["crash-desc-geometry-wraps"] = bytes([SPSC]) + OPEN_BOTH + bytes([CLAIM, 0, PUBLISH, 0, 0]) + \
    setv("d.format", 0, 2) + setv("d.width", 0, 0xffffffff) + setv("d.height", 0, 0x80000000) + \
    setv("d.stride", 0, 0) + bytes([ACQUIRE, 0, 0, RELEASE, 0])
# handles sharing one mapping (fr_open_from), closed in any order, with scribbles between
for t, n in [(SPSC, "spsc"), (MPMC, "mpmc"), (BC, "bc")]:
    seeds[f"{n}-open-from"] = bytes([t, OPEN_P, 0, 0, OPEN_FROM, 0, 0x10, OPEN_FROM, 0, 0x11]) + \
        ROUND + nudge("h.head", 0, 2) + bytes([CLOSE, 0, OPEN_FROM, 2, 0x08]) + ROUND * 2 + \
        bytes([CLOSE, 2, OPEN_FROM, 3, 0x18, CLAIM, 1, ACQUIRE, 1, 0]) + TAIL
# raw files: no template
seeds["raw-magic"] = bytes([RAW]) + b"FRMRING1" + bytes(range(64))
seeds["raw-short"] = bytes([RAW]) + b"FRMRING2\x01\x00\x00\x00"

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(out, exist_ok=True)
for f in os.listdir(out):
    if not f.startswith(("crash-", "hang-")):
        os.remove(os.path.join(out, f))
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as fh:
        fh.write(data)
print(f"{len(seeds)} seeds in {out}", file=sys.stderr)
