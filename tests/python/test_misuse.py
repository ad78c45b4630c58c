"""Misuse never crashes the interpreter and says what was wrong: ending a frame
while views of it live (BufferError), using a frame or ring after it ended,
wrong roles, bad names, formats and arguments, two frames on one ring, fork()."""
import errno
import gc
import os
import pickle

import pytest

np = pytest.importorskip("numpy", reason="python3-numpy is not installed")
import framering as fr  # noqa: E402


@pytest.fixture
def pair(name):
    cam = fr.create(name, width=16, height=8, format="rgb24", slots=4)
    rx = fr.open(name, "consumer")
    yield cam, rx
    rx.close()
    cam.close()


# ---- the lifetime rule: no view outlives the time the slot is ours -----------

def test_release_with_a_live_view_raises_buffer_error(pair):
    cam, rx = pair
    with cam.claim(0) as f:
        f.array[:] = 3
    g = rx.acquire(0)
    a = g.array
    with pytest.raises(BufferError, match="1 array"):
        g.release()
    assert not g.ended and a[0, 0, 0] == 3  # still held, still readable
    del a
    g.release()
    assert g.ended


@pytest.mark.parametrize("make", [
    lambda f: f.array[2:, ::2],              # a numpy view of a view
    lambda f: f.array.reshape(8, -1),        # rows stay stride apart: still a view
    lambda f: f.planes[0],
    lambda f: memoryview(f),                 # the buffer protocol
    lambda f: np.frombuffer(memoryview(f), dtype=np.uint8),
    lambda f: np.asarray(f),
], ids=["slice", "reshape", "planes", "memoryview", "frombuffer", "asarray"])
def test_every_kind_of_view_pins_the_frame(pair, make):
    cam, rx = pair
    f = cam.claim(0)
    v = make(f)
    assert np.shares_memory(np.asarray(v), np.asarray(f))
    with pytest.raises(BufferError):
        f.publish()
    with pytest.raises(BufferError):
        f.cancel()
    with pytest.raises(BufferError):
        cam.close()
    assert not cam.closed
    if isinstance(v, memoryview):
        v.release()
    del v
    f.publish()
    g = rx.acquire(0)
    v = make(g)
    with pytest.raises(BufferError):
        g.release()
    with pytest.raises(BufferError):
        rx.close()
    if isinstance(v, memoryview):
        v.release()
    del v
    g.release()


def test_copies_do_not_pin(pair):
    cam, rx = pair
    with cam.claim(0) as f:
        f.array[:] = 8
    with rx.acquire(0) as g:
        kept = g.array.copy()
        total = int(g.array.sum())
    assert (kept == 8).all() and total == 8 * kept.size


def test_context_exit_with_a_live_view(pair):
    cam, rx = pair
    cam.claim(0).publish()
    with pytest.raises(BufferError):
        with rx.acquire(0) as g:
            a = g.array
    assert not g.ended  # held until the view is gone
    del a
    g.release()


def test_view_in_a_reference_cycle(pair):
    cam, rx = pair
    cam.claim(0).publish()
    g = rx.acquire(0)
    cycle = [g.array]
    cycle.append(cycle)
    del cycle
    with pytest.raises(BufferError):
        g.release()
    gc.collect()
    g.release()


def test_iteration_releases_the_previous_frame(pair):
    cam, rx = pair
    for _ in range(3):
        cam.claim(0).publish()
    cam.close()
    seqs = []
    for frame in rx:
        seqs.append(frame.seq)
        if frame.seq == 1:
            a = frame.array  # still alive when the loop asks for the next frame
            assert a.size
            with pytest.raises(BufferError):
                next(rx)
            del a
    assert seqs == [0, 1, 2]


# ---- use after the end -------------------------------------------------------

def test_frame_after_release(pair):
    cam, rx = pair
    cam.claim(0).publish()
    g = rx.acquire(0)
    g.release()
    with pytest.raises(ValueError, match="already ended"):
        g.array
    with pytest.raises(ValueError):
        g.planes
    with pytest.raises(BufferError):
        memoryview(g)
    with pytest.raises(ValueError):
        g.release()
    with pytest.raises(ValueError):
        with g:
            pass
    assert g.seq == 0 and g.width == 16  # the metadata stays readable


def test_frame_after_publish(pair):
    cam, _ = pair
    f = cam.claim(0)
    f.publish()
    with pytest.raises(ValueError):
        f.array
    with pytest.raises(ValueError):
        f.bytes = 10
    with pytest.raises(ValueError):
        f.publish()


def test_ring_after_close(name):
    cam = fr.create(name, width=8, height=8)
    rx = fr.open(name, "consumer")
    f = cam.claim(0)
    cam.close()  # cancels the frame held
    assert f.ended
    with pytest.raises(ValueError):
        f.array
    with pytest.raises(ValueError):
        f.publish()
    for call in (lambda: cam.claim(0), cam.info, cam.stats, lambda: cam.set_spin(0),
                 lambda: cam.open_from("consumer")):
        with pytest.raises(ValueError, match="closed ring"):
            call()
    with pytest.raises(ValueError):
        with cam:
            pass
    rx.close()
    with pytest.raises(ValueError):
        rx.acquire(0)
    with pytest.raises(ValueError):
        next(iter(rx))
    assert "closed" in repr(rx)


# ---- wrong roles ---------------------------------------------------------------

def test_wrong_roles(pair):
    cam, rx = pair
    with pytest.raises(fr.InvalidArgument, match="consumer"):
        rx.claim(0)
    with pytest.raises(ValueError, match="producer"):
        cam.acquire(0)
    with pytest.raises(ValueError):
        iter(cam)
    cam.claim(0).publish()
    g = rx.acquire(0)
    with pytest.raises(ValueError):
        g.publish()
    with pytest.raises(ValueError):
        g.cancel()
    for attr, value in (("bytes", 1), ("timestamp_ns", 1), ("flags", 0x10000)):
        with pytest.raises(AttributeError, match="read-only"):
            setattr(g, attr, value)
    with pytest.raises(ValueError, match="read-only"):
        g.array[0, 0, 0] = 1
    with pytest.raises(ValueError):
        g.array.flags.writeable = True
    with pytest.raises(TypeError):
        memoryview(g)[0] = 1
    g.release()
    f = cam.claim(0)
    with pytest.raises(ValueError):
        f.release()
    f.cancel()


def test_bad_frame_fields(pair):
    cam, _ = pair
    f = cam.claim(0)
    with pytest.raises(ValueError):
        f.bytes = f.capacity + 1
    with pytest.raises(ValueError):
        f.bytes = -1
    with pytest.raises(TypeError):
        f.bytes = "many"
    with pytest.raises(ValueError, match="FRAME_USER_MASK"):
        f.flags = fr.FRAME_REDELIVERED
    with pytest.raises(ValueError):
        f.timestamp_ns = -5
    with pytest.raises(AttributeError):
        del f.flags
    with pytest.raises(AttributeError):
        f.seq = 3
    f.cancel()


# ---- bad arguments -------------------------------------------------------------

@pytest.mark.parametrize("bad", ["", "a/b", "x" * 201, "sp ace", "/", "dot/../x"])
def test_bad_names(bad):
    for call in (lambda: fr.create(bad, width=8, height=8), lambda: fr.open(bad, "consumer"),
                 lambda: fr.unlink(bad), lambda: fr.stat(bad)):
        with pytest.raises(ValueError) as e:
            call()
        assert isinstance(e.value, fr.Error)
        assert e.value.errno in (errno.EINVAL, errno.ENAMETOOLONG)


def test_bad_name_types():
    with pytest.raises(TypeError):
        fr.open(b"cam", "consumer")
    with pytest.raises(TypeError):
        fr.create(None)


@pytest.mark.parametrize("kw", [
    dict(format="bgr"), dict(format="BGR 24"), dict(mode="fifo"), dict(slots=3),
    dict(slots=0), dict(slots=-4), dict(slots=1 << 20), dict(width=-1), dict(width=0, height=0),
    dict(format="nv12", width=7, height=8), dict(format="raw"), dict(format="jpeg", width=8),
    dict(stride=4), dict(mode="broadcast", slots=2), dict(perms=0o10000),
], ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_bad_create_arguments(name, kw):
    args = dict(width=8, height=8)
    args.update(kw)
    with pytest.raises(ValueError) as e:
        fr.create(name, **args)
    assert e.value.errno == errno.EINVAL
    assert not os.path.exists(f"/dev/shm/{name}")


def test_bad_open_arguments(name):
    with fr.create(name, width=8, height=8):
        with pytest.raises(ValueError, match="role"):
            fr.open(name, "viewer")
        with pytest.raises(ValueError, match="broadcast"):
            fr.open(name, "consumer", latest=True)  # spsc
        with pytest.raises(ValueError, match="consumers"):
            fr.open(name, "producer", from_oldest=True)
        with pytest.raises(TypeError):
            fr.open(name)


def test_bad_timeouts(pair):
    cam, rx = pair
    for bad in (-1, -0.5, float("nan")):
        with pytest.raises(ValueError, match="timeout"):
            rx.acquire(bad)
    with pytest.raises(TypeError):
        rx.acquire("soon")
    cam.claim(float("inf")).cancel()


def test_two_frames_on_one_ring(pair):
    cam, rx = pair
    f = cam.claim(0)
    with pytest.raises(fr.Error, match="already holds frame") as e:
        cam.claim(0)
    assert e.value.errno == errno.EBUSY
    f.publish()
    cam.claim(0).publish()
    g = rx.acquire(0)
    with pytest.raises(fr.Error) as e:
        rx.acquire(None)  # would wait for itself: refused at once
    assert e.value.errno == errno.EBUSY
    g.release()
    rx.acquire(0).release()


def test_pickling_a_ring_is_refused(pair):
    cam, _ = pair
    with pytest.raises(TypeError, match="open segment"):
        pickle.dumps(cam)


def test_fork_child_gets_echild(pair):
    cam, rx = pair
    cam.claim(0).publish()
    g = rx.acquire(0)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for call in (lambda: cam.claim(0), lambda: rx.acquire(0), rx.info, cam.stats):
                try:
                    call()
                    code = 1
                except fr.Error as e:
                    if e.errno != errno.ECHILD:
                        code = 2
            try:
                g.release()
                code = 3
            except fr.Error as e:
                if e.errno != errno.ECHILD:
                    code = 4
            del g  # the parent's frame: the child's copy lets go silently
            cam.close()
            rx.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    # The parent still holds its frame and its handles.
    assert not g.ended and g.array.shape == (8, 16, 3)
    g.release()
    assert rx.info()["live_peers"] == 2
