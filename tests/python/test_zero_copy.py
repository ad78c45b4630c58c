"""Zero copy, shown: the arrays point into the segment's mapping, two views of
one frame share memory, a byte written through frame.array is read by a C
consumer in another process and the reverse, and 10,000 frames go each way
between C and Python with a checksum of every byte."""
import ctypes
import subprocess
import tempfile

import pytest

np = pytest.importorskip("numpy", reason="python3-numpy is not installed")
import framering as fr  # noqa: E402
from frtest import checksum, python_child, segment_mapping  # noqa: E402

FRAMES = 10000


def data_address(a):
    return a.__array_interface__["data"][0]


def test_array_is_inside_the_mapping(name):
    with fr.create(name, width=320, height=240, format="bgr24", slots=4) as cam:
        spans = segment_mapping(name)
        assert spans, "the segment is not mapped?"
        with cam.claim(0) as f:
            a = f.array
            lo, hi = data_address(a), data_address(a) + a.strides[0] * a.shape[0]
            assert any(s <= lo and hi <= e for s, e in spans), (hex(lo), spans)
            # The same address through the buffer protocol and ctypes.
            buf = (ctypes.c_char * f.bytes).from_buffer(memoryview(f))
            assert ctypes.addressof(buf) == lo
            del buf, a


def test_views_share_memory(name):
    with fr.create(name, width=64, height=32, format="gray8") as cam, \
            fr.open(name, "consumer") as rx:
        with cam.claim(0) as f:
            a, b = f.array, f.array
            assert a is not b and np.shares_memory(a, b)
            assert np.shares_memory(a[::2, ::3], b)
            a[5, 7] = 42
            assert b[5, 7] == 42  # one memory, two views
            assert np.shares_memory(np.frombuffer(memoryview(f), np.uint8), a)
            del a, b
        with rx.acquire(0) as g:
            c, d = g.array, g.planes[0]
            assert np.shares_memory(c, d) and c[5, 7] == 42
            del c, d


def test_consumer_reads_the_producers_slot_in_place(name):
    """A consumer on the same mapping (open_from) sees the very address the
    producer wrote: the frame was not copied on its way."""
    with fr.create(name, width=64, height=32, format="rgb24", slots=2) as cam, \
            cam.open_from("consumer") as rx:
        for i in range(6):
            with cam.claim(0) as f:
                f.array[:] = i
                where = data_address(f.array)
            with rx.acquire(0) as g:
                assert data_address(g.array) == where and (g.array == i).all()


PAD_W, PAD_H, PAD_STRIDE = 50, 20, 256


def test_python_writes_c_reads(name, peer):
    with fr.create(name, width=PAD_W, height=PAD_H, format="bgr24", stride=PAD_STRIDE) as cam:
        reader = subprocess.Popen([peer, "peek", name, str(7 * PAD_STRIDE + 13 * 3 + 2)],
                                  stdout=subprocess.PIPE, text=True)
        with cam.claim(1.0) as f:
            f.array[:] = 0
            f.array[7, 13, 2] = 201  # row 7, pixel 13, third channel
        out, _ = reader.communicate(timeout=30)
        assert reader.returncode == 0 and out.strip() == "201"


def test_c_writes_python_reads(name, peer):
    fr.create(name, width=PAD_W, height=PAD_H, format="bgr24", stride=PAD_STRIDE).close()
    with fr.open(name, "consumer") as rx:
        subprocess.run([peer, "poke", name, str(11 * PAD_STRIDE + 21 * 3 + 1), "99"],
                       check=True, timeout=30)
        with rx.acquire(5.0) as g:
            a = g.array
            assert a[11, 21, 1] == 99
            assert np.count_nonzero(a) == 1
            del a


def read_lines(path):
    with open(path) as fh:
        return [line.split() for line in fh]


def test_c_producer_python_consumer(name, peer):
    # Made ahead of its camera: closing the creator ends nothing.
    fr.create(name, width=64, height=48, format="rgb24", slots=8).close()
    with fr.open(name, "consumer") as rx, tempfile.TemporaryFile("w+") as log:
        producer = subprocess.Popen([peer, "produce", name, str(FRAMES)], stdout=log)
        got = []
        for frame in rx:  # until the C producer closes
            got.append((frame.seq, checksum(frame.array)))
        assert producer.wait(timeout=60) == 0
        log.seek(0)
        sent = [(int(seq), s) for seq, s in (line.split() for line in log)]
    assert len(got) == FRAMES
    assert [s for s, _ in got] == list(range(FRAMES))  # in order, none missing
    assert got == sent  # every byte of every frame


def test_python_producer_c_consumer(name, peer):
    rng = np.random.default_rng(11)
    with tempfile.TemporaryFile("w+") as log:
        with fr.create(name, width=64, height=48, format="rgb24", slots=8) as cam:
            consumer = subprocess.Popen([peer, "consume", name, str(FRAMES)], stdout=log)
            sent = []
            for i in range(FRAMES):
                with cam.claim(timeout=10.0) as f:
                    f.array[:] = rng.integers(0, 256, size=f.array.shape, dtype=np.uint8)
                    sent.append((i, checksum(f.array)))
        # Closed: the stream ends and the C consumer drains it.
        assert consumer.wait(timeout=60) == 0
        log.seek(0)
        got = [(int(seq), s) for seq, s, flags in (line.split() for line in log)]
    assert len(got) == FRAMES
    assert got == sent


def test_python_to_python_across_processes(name):
    """Two interpreters: what one writes through frame.array the other reads."""
    with fr.create(name, width=32, height=16, format="gray16", slots=4) as cam:
        child = python_child(
            "import framering as fr, numpy as np\n"
            f"rx = fr.open({name!r}, 'consumer')\n"
            "total = 0\n"
            "for f in rx:\n"
            "    with f:\n"
            "        total += int(f.array.astype(np.uint64).sum())\n"
            "print(total)\n", stdout=subprocess.PIPE, text=True)
        expect = 0
        for i in range(100):
            with cam.claim(10.0) as f:
                f.array[:] = np.arange(512, dtype=np.uint16).reshape(16, 32) * (i + 1)
                expect += int(f.array.astype(np.uint64).sum())
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0 and int(out) == expect
