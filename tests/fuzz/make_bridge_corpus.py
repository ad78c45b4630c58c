#!/usr/bin/env python3
"""Write the seed corpus of fuzz_bridge.c into tests/fuzz/corpus-bridge/.

Each seed is byte 0 = protocol (0 native, 1 imagezmq), byte 1 = number of
parts, then the length of every part but the last (2 bytes, little-endian),
then the parts (see fuzz_bridge.c). The seeds are valid messages of every
kind, so that the fuzzer starts past the magic and the JSON grammar, and a few
near misses. Run again after changing the input encoding or the wire format.
"""
import json
import os
import struct
import sys

# enum fr_format
RAW, GRAY8, GRAY16, RGB24, BGR24, RGBA32, BGRA32, YUYV, NV12, I420, JPEG = range(11)
KIND_RAW, KIND_JPEG, KIND_END = range(3)


def native(kind, fmt, w, h, stride, payload, seq=7, ts=1_700_000_000_000_000_000, flags=0):
    """The two parts of a native message: the 64-byte header, the payload."""
    head = b"FRBR" + struct.pack("<HHB3xIIIIIQQQQ", 1, 64, kind, fmt, w, h, stride, flags,
                                 seq, ts, len(payload), 0)
    assert len(head) == 64
    return [head, payload]


def seed(proto, parts):
    out = bytes([proto, len(parts)])
    for p in parts[:-1]:
        out += struct.pack("<H", len(p))
    return out + b"".join(parts)


def izmq(md, payload):
    return [json.dumps(md).encode(), payload]


# A tiny JPEG's bytes are not checked by the decoder (the receiver reads them
# with TurboJPEG): any marker-shaped bytes do.
FAKE_JPEG = b"\xff\xd8\xff\xdb" + bytes(60) + b"\xff\xd9"

SEEDS = {
    "native-gray8": seed(0, native(KIND_RAW, GRAY8, 8, 4, 8, bytes(range(32)))),
    "native-bgr24-padded": seed(0, native(KIND_RAW, BGR24, 4, 2, 64, bytes(128))),
    "native-nv12": seed(0, native(KIND_RAW, NV12, 4, 4, 4, bytes(24))),
    "native-i420": seed(0, native(KIND_RAW, I420, 4, 4, 4, bytes(24))),
    "native-gray16-stride0": seed(0, native(KIND_RAW, GRAY16, 2, 2, 0, bytes(128))),
    "native-raw": seed(0, native(KIND_RAW, RAW, 0, 0, 0, b"opaque bytes")),
    "native-jpeg-bgr24": seed(0, native(KIND_JPEG, BGR24, 16, 16, 0, FAKE_JPEG)),
    "native-jpeg-jpeg": seed(0, native(KIND_JPEG, JPEG, 16, 16, 0, FAKE_JPEG)),
    "native-end": seed(0, native(KIND_END, 0, 0, 0, 0, b"", seq=999)),
    "native-flags": seed(0, native(KIND_RAW, GRAY8, 2, 2, 2, bytes(4), flags=0x10000)),
    "native-three-parts": seed(0, native(KIND_RAW, GRAY8, 2, 2, 2, bytes(4)) + [b"x"]),
    "native-one-part": seed(0, [b"".join(native(KIND_RAW, GRAY8, 2, 2, 2, bytes(4)))]),
    "native-short": seed(0, [b"FRBR\x01\x00\x40\x00", b""]),
    "izmq-bgr": seed(1, izmq({"msg": "cam-1", "dtype": "uint8", "shape": [2, 3, 3]},
                             bytes(18))),
    "izmq-gray": seed(1, izmq({"msg": "g", "dtype": "uint8", "shape": [2, 2]}, bytes(4))),
    "izmq-gray16": seed(1, izmq({"msg": "g", "dtype": "uint16", "shape": [2, 2]}, bytes(8))),
    "izmq-bgra": seed(1, izmq({"msg": "a", "dtype": "uint8", "shape": [1, 2, 4]}, bytes(8))),
    "izmq-jpeg": seed(1, izmq({"msg": "pi"}, FAKE_JPEG)),
    "izmq-msg-object": seed(1, izmq({"msg": {"name": ["a", 1, 2.5e3, None, True]},
                                     "dtype": "uint8", "shape": [1, 1]}, bytes(1))),
    "izmq-escapes": seed(1, [b'{"msg": "caf\\u00e9 \\"x\\"\\n", "d\\u0074ype": "uint8", '
                             b'"shape": [1, 1, 1]}', bytes(1)]),
    "izmq-extra-key": seed(1, izmq({"msg": "x", "dtype": "uint8", "shape": [1, 1],
                                    "time": 12.5}, bytes(1))),
    "izmq-one-part": seed(1, [json.dumps({"msg": "x"}).encode()]),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus-bridge")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(SEEDS), out), file=sys.stderr)


if __name__ == "__main__":
    main()
