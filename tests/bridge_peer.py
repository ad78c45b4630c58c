#!/usr/bin/python3
"""The other end of `framering bridge` in the bridge tests, with pyzmq and numpy.

It speaks imagezmq's documented wire format, written here from its
documentation (a JSON part {"msg": ..., "dtype": ..., "shape": [...]}, or
{"msg": ...} for a JPEG, then the bytes; REQ/REP with the reply b"OK", or
PUB/SUB), and sends hostile messages of every kind at `bridge recv`.

  bridge_peer.py frames FILE N H W C [SEED]   N random uint8 frames of H x W x C
  bridge_peer.py izmq-send ENDPOINT (--file F --shape H W C | --jpeg-dir D) --count N
                 [--pubsub] [--fps R]         an ImageSender (REQ connects, PUB binds)
  bridge_peer.py izmq-hub ENDPOINT (--file F --shape H W C | --jpeg WxH) --count N
                 [--pubsub]                   an ImageHub (REP binds, SUB connects)
  bridge_peer.py hostile ENDPOINT --jpeg-file J        native messages at recv (PUSH)
  bridge_peer.py hostile-izmq ENDPOINT --jpeg-file J   imagezmq requests at recv (REQ)

Every wait is bounded (--timeout, default 30 s); exit 1 on any failure.
"""
import argparse
import hashlib
import json
import struct
import sys
import time

import numpy as np
import zmq

# enum fr_format and the native payload kinds (tools/bridge_wire.h)
RAW, GRAY8, GRAY16, RGB24, BGR24, RGBA32, BGRA32, YUYV, NV12, I420, JPEG = range(11)
KIND_RAW, KIND_JPEG, KIND_END = range(3)


def fail(msg):
    print("bridge_peer: FAIL: " + msg)
    sys.exit(1)


def load_frames(path, shape):
    data = np.fromfile(path, dtype=np.uint8)
    size = int(np.prod(shape))
    if not size or data.size % size:
        fail("%s does not hold whole %s frames" % (path, shape))
    return data.reshape((-1,) + tuple(shape))


def jpeg_size(buf):
    """(width, height) from a JPEG's SOF marker, or None."""
    if buf[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(buf):
        if buf[i] != 0xFF:
            return None
        marker, length = buf[i + 1], struct.unpack(">H", buf[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2) and i + 9 <= len(buf):
            h, w = struct.unpack(">HH", buf[i + 5:i + 9])
            return w, h
        i += 2 + length
    return None


def metadata(msg, array=None):
    """imagezmq's metadata part, as its documentation describes it."""
    if array is None:
        return json.dumps(dict(msg=msg)).encode()
    return json.dumps(dict(msg=msg, dtype=str(array.dtype), shape=array.shape)).encode()


def cmd_frames(a):
    rng = np.random.default_rng(a.seed)
    rng.integers(0, 256, size=(a.n, a.h, a.w, a.c), dtype=np.uint8).tofile(a.file)


def cmd_izmq_send(a):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB if a.pubsub else zmq.REQ)
    sock.linger = 1000
    if a.pubsub:
        sock.bind(a.endpoint)
        time.sleep(0.5)  # subscribers connect (PUB drops what nobody takes)
    else:
        sock.connect(a.endpoint)
    if a.jpeg_dir:
        import glob
        files = sorted(glob.glob(a.jpeg_dir + "/*.jpg"))
        items = [(metadata("peer"), open(f, "rb").read()) for f in files]
    else:
        frames = load_frames(a.file, a.shape)
        items = [(metadata("peer", f), f.tobytes()) for f in frames]
    if not items:
        fail("nothing to send")
    for i in range(a.count):
        md, data = items[i % len(items)]
        sock.send_multipart([md, data])
        if not a.pubsub:
            if not sock.poll(a.timeout * 1000):
                fail("frame %d: no reply within %g s" % (i, a.timeout))
            reply = sock.recv()
            if reply != b"OK":
                fail("frame %d: reply %r" % (i, reply))
        if a.fps:
            time.sleep(1.0 / a.fps)
    print("bridge_peer: izmq-send: %d frames sent%s" %
          (a.count, "" if a.pubsub else ", each answered OK"))


def cmd_izmq_hub(a):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB if a.pubsub else zmq.REP)
    sock.linger = 2000  # the last reply goes out before the hub exits
    if a.pubsub:
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        sock.connect(a.endpoint)
    else:
        sock.bind(a.endpoint)
    index = {}
    if a.file:
        frames = load_frames(a.file, a.shape)
        index = {hashlib.sha1(f.tobytes()).digest(): k for k, f in enumerate(frames)}
    got, last = 0, -1
    print("bridge_peer: izmq-hub: listening", flush=True)
    while got < a.count:
        if not sock.poll(a.timeout * 1000):
            fail("%d frames of %d, then none for %g s" % (got, a.count, a.timeout))
        parts = sock.recv_multipart()
        if len(parts) != 2:
            fail("a message of %d parts" % len(parts))
        md = json.loads(parts[0])
        if "msg" not in md:
            fail("no msg in %r" % md)
        if a.jpeg:
            if "dtype" in md or "shape" in md:
                fail("an array where a JPEG was expected: %r" % md)
            size = jpeg_size(parts[1])
            if size != tuple(a.jpeg):
                fail("frame %d: JPEG of %s, expected %s" % (got, size, tuple(a.jpeg)))
        else:
            image = np.frombuffer(parts[1], dtype=md["dtype"]).reshape(md["shape"])
            if list(image.shape) != list(a.shape):
                fail("frame %d: shape %s, expected %s" % (got, image.shape, a.shape))
            k = index.get(hashlib.sha1(image.tobytes()).digest())
            if k is None:
                fail("frame %d: bytes equal to no frame of %s" % (got, a.file))
            # REQ/REP delivers every frame in order; PUB/SUB may skip some
            n = len(index)
            if not a.pubsub and k != got % n:
                fail("frame %d is frame %d of the file" % (got, k))
            if a.pubsub and last >= 0 and k == last:
                fail("frame %d repeated" % k)
            last = k
        got += 1
        if not a.pubsub:
            sock.send(b"OK")
    if not a.pubsub:
        # Serve until the sender is quiet for a second: a peer that disconnects
        # right after its reply may make the REQ side drop that reply (libzmq
        # discards what a connecting socket with ZMQ_IMMEDIATE has not read
        # when the connection ends); and no frame may come after the last one.
        while sock.poll(1000):
            sock.recv_multipart()
            sock.send(b"OK")
            fail("a frame after the %d expected" % a.count)
    sock.close()
    ctx.term()
    print("bridge_peer: izmq-hub: %d frames, %s" %
          (got, "JPEGs of the right size" if a.jpeg else "every byte equal to a frame of the file"))


# ---- hostile messages ----------------------------------------------------------


def native(kind, fmt, w, h, stride, payload, seq=1, flags=0, version=1, head_len=64,
           reserved=(0, 0), declared=None):
    """The two parts of a native message (tools/bridge_wire.h): header, payload."""
    head = b"FRBR" + struct.pack("<HHB3sIIIIIQQQQ", version, head_len, kind,
                                 bytes([reserved[0], 0, 0]), fmt, w, h, stride, flags, seq,
                                 time.time_ns(), len(payload) if declared is None else declared,
                                 reserved[1])
    return [head, payload]


def hostile_native(jpeg):
    """(what, parts) of every kind of malformed message; then the one good frame."""
    w, h = 32, 16  # the test's segment: 32x16 gray8
    good = bytes(range(256)) * 2  # 512 bytes: 32x16, stride 32
    ok = native(KIND_RAW, GRAY8, w, h, 32, good)
    return [
        ("empty message", [b""]),
        ("one part: header and payload together", [ok[0] + ok[1]]),
        ("header part too short", [b"FRB", good]),
        ("header part cut", [ok[0][:40], good]),
        ("header part too long", [ok[0] + b"x", good]),
        ("bad magic", [b"XXXX" + ok[0][4:], good]),
        ("version 2", native(KIND_RAW, GRAY8, w, h, 32, good, version=2)),
        ("header size 32", native(KIND_RAW, GRAY8, w, h, 32, good, head_len=32)),
        ("reserved byte", native(KIND_RAW, GRAY8, w, h, 32, good, reserved=(1, 0))),
        ("reserved word", native(KIND_RAW, GRAY8, w, h, 32, good, reserved=(0, 5))),
        ("unknown kind", native(7, GRAY8, w, h, 32, good)),
        ("unknown format", native(KIND_RAW, 99, w, h, 32, good)),
        ("width 0", native(KIND_RAW, GRAY8, 0, h, 32, good)),
        ("width 70000", native(KIND_RAW, GRAY8, 70000, h, 70000, good)),
        ("stride below the row", native(KIND_RAW, GRAY8, w, h, 10, good)),
        ("odd nv12", native(KIND_RAW, NV12, 3, 3, 4, bytes(18))),
        ("payload one byte short", native(KIND_RAW, GRAY8, w, h, 32, good[:-1])),
        ("payload one byte long", native(KIND_RAW, GRAY8, w, h, 32, good + b"x")),
        ("size field lies", native(KIND_RAW, GRAY8, w, h, 32, good, declared=513)),
        ("size field huge", native(KIND_RAW, GRAY8, w, h, 32, good, declared=1 << 63)),
        ("library flag bit", native(KIND_RAW, GRAY8, w, h, 32, good, flags=1)),
        ("JPEG into nv12", native(KIND_JPEG, NV12, w, h, 0, jpeg)),
        ("JPEG with a stride", native(KIND_JPEG, GRAY8, w, h, 32, jpeg)),
        ("JPEG of 3 bytes", native(KIND_JPEG, GRAY8, w, h, 0, b"\xff\xd8\xff")),
        ("JPEG of garbage", native(KIND_JPEG, GRAY8, w, h, 0, bytes(range(200)))),
        ("JPEG truncated", native(KIND_JPEG, GRAY8, w, h, 0, jpeg[:len(jpeg) * 2 // 3])),
        ("JPEG of another size", native(KIND_JPEG, GRAY8, 16, 16, 0, jpeg)),
        ("frame of another size", native(KIND_RAW, GRAY8, 16, 16, 16, bytes(256))),
        ("frame of another format", native(KIND_RAW, BGR24, w, h, 96, bytes(96 * h))),
        ("raw bytes into gray8", native(KIND_RAW, RAW, 0, 0, 0, b"opaque")),
        ("end of stream with payload", native(KIND_END, 0, 0, 0, 0, b"x")),
        ("three parts", ok + [b"trailer"]),
        ("nine parts", ok * 4 + [b""]),
    ], ok


def cmd_hostile(a):
    jpeg = open(a.jpeg_file, "rb").read()
    bad, ok = hostile_native(jpeg)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    sock.linger = 5000
    sock.sndtimeo = a.timeout * 1000
    sock.connect(a.endpoint)
    try:
        for what, parts in bad:
            sock.send_multipart(parts)
        sock.send_multipart(ok)
    except zmq.Again:
        fail("recv took nothing for %g s" % a.timeout)
    sock.close()
    ctx.term()
    print("bridge_peer: hostile: %d malformed messages, then 1 good frame" % len(bad))


def hostile_izmq(jpeg):
    w, h = 32, 16
    good = bytes(range(256)) * 2
    md = lambda **kw: json.dumps(kw).encode()
    arr = dict(msg="x", dtype="uint8", shape=[h, w])
    deep = b'{"msg": ' + b"[" * 200 + b"]" * 200 + b', "dtype": "uint8", "shape": [16, 32]}'
    return [
        ("not JSON", [b"not json", good]),
        ("JSON array", [b"[1, 2]", good]),
        ("empty JSON", [b"", good]),
        ("no msg", [md(dtype="uint8", shape=[h, w]), good]),
        ("dtype float32", [md(msg="x", dtype="float32", shape=[h, w]), good]),
        ("dtype big-endian", [md(msg="x", dtype=">u2", shape=[h, w]), good]),
        ("dtype not a string", [md(msg="x", dtype=8, shape=[h, w]), good]),
        ("shape of 1", [md(msg="x", dtype="uint8", shape=[512]), good]),
        ("shape of 4", [md(msg="x", dtype="uint8", shape=[h, w, 1, 1]), good]),
        ("shape negative", [md(msg="x", dtype="uint8", shape=[-16, -32]), good]),
        ("shape zero", [md(msg="x", dtype="uint8", shape=[0, w]), good]),
        ("shape float", [md(msg="x", dtype="uint8", shape=[16.0, 32]), good]),
        ("two channels", [md(msg="x", dtype="uint8", shape=[h, w // 2, 2]), good]),
        ("dtype without shape", [md(msg="x", dtype="uint8"), good]),
        ("bytes short", [md(**arr), good[:-1]]),
        ("bytes long", [md(**arr), good + b"x"]),
        ("one part", [md(**arr)]),
        ("three parts", [md(**arr), good, b""]),
        ("nested too deep", [deep, good]),
        ("duplicate key", [b'{"msg": "x", "msg": "y", "dtype": "uint8", "shape": [16, 32]}',
                           good]),
        ("trailing garbage", [md(**arr) + b" x", good]),
        ("bad escape", [b'{"msg": "\\q", "dtype": "uint8", "shape": [16, 32]}', good]),
        ("unterminated", [b'{"msg": "x", "dtype": "uint8", "shape": [16, 32]', good]),
        ("JSON of 70 kB", [md(msg="x" * 70000, dtype="uint8", shape=[h, w]), good]),
        ("JPEG of garbage", [md(msg="x"), bytes(range(200))]),
        ("JPEG truncated", [md(msg="x"), jpeg[:len(jpeg) * 2 // 3]]),
        ("array of another size", [md(msg="x", dtype="uint8", shape=[8, 8]), bytes(64)]),
        ("array of another type", [md(msg="x", dtype="uint16", shape=[h, w]), good * 2]),
    ], [md(**arr), good]


def cmd_hostile_izmq(a):
    jpeg = open(a.jpeg_file, "rb").read()
    bad, ok = hostile_izmq(jpeg)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 2000  # the last reply goes out before the hub exits
    sock.connect(a.endpoint)
    for what, parts in bad + [("the good frame", ok)]:
        sock.send_multipart(parts)
        if not sock.poll(a.timeout * 1000):
            fail("%s: no reply within %g s" % (what, a.timeout))
        reply = sock.recv()
        want = b"OK" if parts is ok else b"ERROR"
        if not reply.startswith(want):
            fail("%s: reply %r, expected %r..." % (what, reply, want))
    print("bridge_peer: hostile-izmq: %d malformed requests answered ERROR, "
          "then 1 good frame answered OK" % len(bad))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("frames")
    f.add_argument("file")
    for k in ("n", "h", "w", "c"):
        f.add_argument(k, type=int)
    f.add_argument("seed", type=int, nargs="?", default=14)
    for name in ("izmq-send", "izmq-hub", "hostile", "hostile-izmq"):
        s = sub.add_parser(name)
        s.add_argument("endpoint")
        s.add_argument("--timeout", type=float, default=30)
        if name.startswith("izmq"):
            s.add_argument("--file")
            s.add_argument("--shape", type=int, nargs=3)
            s.add_argument("--count", type=int, required=True)
            s.add_argument("--pubsub", action="store_true")
        if name == "izmq-send":
            s.add_argument("--jpeg-dir")
            s.add_argument("--fps", type=float, default=0)
        if name == "izmq-hub":
            s.add_argument("--jpeg", type=lambda v: tuple(int(x) for x in v.split("x")))
        if name.startswith("hostile"):
            s.add_argument("--jpeg-file", required=True)
    a = p.parse_args()
    {"frames": cmd_frames, "izmq-send": cmd_izmq_send, "izmq-hub": cmd_izmq_hub,
     "hostile": cmd_hostile, "hostile-izmq": cmd_hostile_izmq}[a.cmd](a)


if __name__ == "__main__":
    main()
