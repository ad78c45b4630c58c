"""The API of issue 11, in the names it fixes: create, open, claim, acquire,
iteration, info, close, unlink, context managers, frame attributes, and which
exception each failure raises."""
import errno
import os
import time

import pytest

np = pytest.importorskip("numpy", reason="python3-numpy is not installed")
import framering as fr  # noqa: E402


def test_issue_example(name):
    image = np.arange(720 * 1280 * 3, dtype=np.uint32).astype(np.uint8).reshape(720, 1280, 3)
    cam = fr.create(name, width=1280, height=720, format="bgr24", slots=8, mode="broadcast")
    rx = fr.open(name, "consumer", latest=False)
    with cam.claim(timeout=1.0) as frame:
        assert frame.array.shape == (720, 1280, 3)
        frame.array[:] = image
    with rx.acquire(timeout=1.0) as frame:
        assert np.array_equal(frame.array, image)
        assert (frame.seq, frame.width, frame.height, frame.format) == (0, 1280, 720, "bgr24")
        assert frame.stride == 1280 * 3
        assert frame.bytes == 1280 * 720 * 3
        assert frame.redelivered is False
        assert frame.flags == 0
        assert frame.timestamp_ns > 0
    for i in range(3):
        with cam.claim(timeout=1.0) as frame:
            frame.array[0, 0, 0] = i
    cam.close()
    seen = []
    for frame in rx:
        seen.append((frame.seq, int(frame.array[0, 0, 0])))
    assert seen == [(1, 0), (2, 1), (3, 2)]
    info = rx.info()
    assert info["published"] == 4 and info["end_of_stream"] is True
    rx.close()
    fr.unlink(name)
    assert not os.path.exists(f"/dev/shm/{name}")


def test_create_defaults_and_ring_attributes(name):
    with fr.create(name, width=64, height=48) as cam:
        assert (cam.name, cam.role, cam.mode, cam.format) == (name, "producer", "spsc", "bgr24")
        assert (cam.width, cam.height, cam.stride, cam.slots) == (64, 48, 192, 4)
        assert cam.capacity >= 64 * 48 * 3
        assert not cam.closed and not cam.latest
        assert "spsc producer 64x48 bgr24" in repr(cam)
    assert cam.closed
    cam.close()  # a second close does nothing


@pytest.mark.parametrize("mode", ["spsc", "mpmc", "broadcast"])
def test_every_mode_moves_frames(name, mode):
    with fr.create(name, width=16, height=8, format="gray8", mode=mode, slots=4) as cam, \
            fr.open(name, "consumer") as rx:
        assert rx.mode == mode
        for i in range(10):
            with cam.claim(timeout=1.0) as f:
                f.array[:] = i
            with rx.acquire(timeout=1.0) as g:
                assert g.seq == i and (g.array == i).all()


def test_open_roles_and_flags(name):
    with fr.create(name, width=8, height=8, format="gray8", mode="broadcast", slots=8):
        with fr.open(name, "consumer", latest=True) as a, \
                fr.open(name, "consumer", from_oldest=True) as b:
            assert a.latest and not b.latest and a.role == b.role == "consumer"
            peers = a.info()["peers"]
            assert sum(p["role"] == "consumer" for p in peers) == 2
            assert sum(p["latest"] for p in peers) == 1


def test_producer_opened_by_name(name):
    fr.create(name, width=8, height=8, format="gray8").close()  # made ahead of its camera
    with fr.open(name, "producer") as cam, fr.open(name, "consumer") as rx:
        with cam.claim(0) as f:
            f.array[:] = 9
        with rx.acquire(0) as g:
            assert g.array[7, 7] == 9


def test_context_managers_publish_cancel_release(name):
    with fr.create(name, width=8, height=8, format="gray8") as cam, \
            fr.open(name, "consumer") as rx:
        with pytest.raises(RuntimeError):
            with cam.claim(0) as f:
                f.array[:] = 1
                raise RuntimeError("camera glitch")
        assert f.ended
        with pytest.raises(TimeoutError):
            rx.acquire(0)  # cancelled: nothing published
        with cam.claim(0) as f:
            f.array[:] = 2
        assert f.ended and cam.info()["published"] == 1
        with pytest.raises(KeyError):
            with rx.acquire(0) as g:
                raise KeyError("detector bug")
        assert g.ended
        assert rx.info()["consumed"] == 1
        # Ending inside the block is fine: the exit does nothing more.
        with cam.claim(0) as f:
            f.publish()
        with rx.acquire(0) as g:
            g.release()


def test_explicit_publish_and_release(name):
    with fr.create(name, width=8, height=8, format="gray8") as cam, \
            fr.open(name, "consumer") as rx:
        f = cam.claim()
        f.array[:] = 5
        f.timestamp_ns = 12345
        f.flags = 0x00010000
        f.publish()
        g = rx.acquire()
        assert (g.timestamp_ns, g.flags, g.redelivered) == (12345, 0x00010000, False)
        g.release()
        f = cam.claim()
        f.cancel()
        with pytest.raises(ValueError):
            f.publish()


def test_dropped_frame_gives_its_slot_back(name):
    with fr.create(name, width=8, height=8, format="gray8", slots=2) as cam, \
            fr.open(name, "consumer") as rx:
        for _ in range(5):
            cam.claim(0)  # dropped at once: cancelled
        with cam.claim(0):
            pass
        assert rx.acquire(0).seq == 0  # dropped at once: released
        assert rx.info()["consumed"] == 1


def test_raw_and_jpeg_bytes(name):
    for fmt in ("raw", "jpeg"):
        n = f"{name}-{fmt}"
        try:
            with fr.create(n, format=fmt, frame_bytes=1000) as cam, \
                    fr.open(n, "consumer") as rx:
                with cam.claim(0) as f:
                    assert f.array.shape == (f.bytes,) and f.bytes == 1000
                    payload = np.frombuffer(b"\xff\xd8hello\xff\xd9", dtype=np.uint8)
                    f.array[:payload.size] = payload
                    f.bytes = payload.size
                with rx.acquire(0) as g:
                    assert g.bytes == payload.size and g.format == fmt
                    assert g.array.shape == (payload.size,) and g.array.dtype == np.uint8
                    assert bytes(g.array) == payload.tobytes()
                    assert bytes(memoryview(g)) == payload.tobytes()
        finally:
            if os.path.exists(f"/dev/shm/{n}"):
                fr.unlink(n)


def test_info_and_stats(name):
    with fr.create(name, width=32, height=16, format="rgba32", slots=8, mode="broadcast",
                   perms=0o640) as cam, fr.open(name, "consumer") as rx:
        with cam.claim(0):
            pass
        rx.acquire(0).release()
        info = rx.info()
        for key in ("abi_version", "mode", "slots", "width", "height", "stride", "format",
                    "perms", "frame_capacity", "payload_stride", "segment_bytes", "creator_pid",
                    "creator_alive", "created_ns", "head", "tail", "fill", "published",
                    "consumed", "dropped", "redelivered", "aborted", "producer_waits",
                    "consumer_waits", "latest_stalls", "end_of_stream", "live_peers", "peers",
                    "stale"):
            assert key in info, key
        assert (info["mode"], info["format"], info["slots"]) == ("broadcast", "rgba32", 8)
        assert (info["width"], info["height"], info["stride"], info["perms"]) == \
            (32, 16, 128, 0o640)
        assert info["creator_pid"] == os.getpid() and info["creator_alive"]
        assert info["live_peers"] == 2 and info["published"] == 1
        roles = sorted(p["role"] for p in info["peers"])
        assert roles == ["consumer", "producer"]
        assert all(p["pid"] == os.getpid() and p["alive"] for p in info["peers"])
        st = rx.stats()
        assert (st["role"], st["delivered"], st["cursor"], st["lag"]) == ("consumer", 1, 1, 0)
        assert fr.stat(name)["published"] == 1


def test_open_from_gives_more_frames_in_flight(name):
    with fr.create(name, width=8, height=8, format="gray8", mode="mpmc", slots=4) as cam, \
            fr.open(name, "consumer") as rx, rx.open_from("consumer") as rx2:
        for i in range(2):
            with cam.claim(0) as f:
                f.array[:] = i
        a, b = rx.acquire(0), rx2.acquire(0)  # two frames held at once
        assert sorted([a.seq, b.seq]) == [0, 1]
        a.release()
        b.release()


def test_module_constants():
    assert fr.FORMATS == ("raw", "gray8", "gray16", "rgb24", "bgr24", "rgba32", "bgra32",
                          "yuyv", "nv12", "i420", "jpeg")
    assert fr.MODES == ("spsc", "mpmc", "broadcast")
    assert fr.FRAME_REDELIVERED == 1 and fr.FRAME_USER_MASK == 0xFFFF0000
    assert fr.SPIN_ADAPTIVE == -2
    assert fr.__version__ == fr.library_version()


def test_set_spin_values(name):
    with fr.create(name, width=8, height=8, format="gray8") as cam:
        for ns in (0, -1, 1000, fr.SPIN_ADAPTIVE):
            assert cam.set_spin(ns) is None
        with pytest.raises(ValueError):
            cam.set_spin(fr.SPIN_ADAPTIVE - 1)


# ---- which exception for which failure ---------------------------------------

def test_exception_classes():
    assert issubclass(fr.Error, OSError)
    assert issubclass(fr.EndOfStream, EOFError)
    assert issubclass(fr.InvalidArgument, fr.Error) and issubclass(fr.InvalidArgument, ValueError)


def test_file_not_found(name):
    with pytest.raises(FileNotFoundError) as e:
        fr.open(name, "consumer")
    assert e.value.errno == errno.ENOENT and e.value.filename == name
    with pytest.raises(FileNotFoundError):
        fr.unlink(name)
    with pytest.raises(FileNotFoundError):
        fr.stat(name)


def test_file_exists(name):
    with fr.create(name, width=8, height=8):
        with pytest.raises(FileExistsError) as e:
            fr.create(name, width=8, height=8)
        assert e.value.errno == errno.EEXIST


def test_replace_stale(name):
    pid = os.fork()
    if pid == 0:  # a creator that dies without cleaning up
        fr.create(name, width=8, height=8)
        os._exit(0)
    os.waitpid(pid, 0)
    assert fr.stat(name)["stale"]
    with pytest.raises(FileExistsError):
        fr.create(name, width=8, height=8)
    fr.create(name, width=8, height=8, replace_stale=True).close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_permission_denied(name):
    with fr.create(name, width=8, height=8, perms=0o600):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setgid(65534)
                os.setuid(65534)  # nobody
                try:
                    fr.open(name, "consumer")
                except PermissionError as e:
                    code = 0 if e.errno == errno.EACCES else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0


def test_timeouts(name):
    with fr.create(name, width=8, height=8, format="gray8", slots=2) as cam, \
            fr.open(name, "consumer") as rx:
        with pytest.raises(TimeoutError) as e:
            rx.acquire(timeout=0)
        assert e.value.errno == errno.EAGAIN
        t = time.monotonic()
        with pytest.raises(TimeoutError) as e:
            rx.acquire(timeout=0.1)
        assert e.value.errno == errno.ETIMEDOUT and time.monotonic() - t >= 0.1
        for _ in range(2):
            cam.claim(0).publish()
        with pytest.raises(TimeoutError):
            cam.claim(timeout=0.05)  # full
        t = time.monotonic()
        with pytest.raises(TimeoutError):
            cam.claim(timeout=0.6)  # longer than a slice of the binding's wait
        assert time.monotonic() - t >= 0.6


def test_end_of_stream(name):
    cam = fr.create(name, width=8, height=8, format="gray8")
    rx = fr.open(name, "consumer")
    cam.claim(0).publish()
    cam.close()
    assert rx.acquire(0).seq == 0
    for timeout in (0, 1.0, None):
        with pytest.raises(fr.EndOfStream) as e:
            rx.acquire(timeout)
        assert isinstance(e.value, EOFError)
    assert list(rx) == []
    rx.close()


def test_busy_role(name):
    with fr.create(name, width=8, height=8) as cam, fr.open(name, "consumer"):
        with pytest.raises(fr.Error) as e:
            fr.open(name, "consumer")
        assert e.value.errno == errno.EBUSY and not isinstance(e.value, ValueError)
        with pytest.raises(fr.Error) as e:
            fr.open(name, "producer")
        assert e.value.errno == errno.EBUSY
        with pytest.raises(fr.Error) as e:
            cam.open_from("producer")
        assert e.value.errno == errno.EBUSY
