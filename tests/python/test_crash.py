"""A Python consumer killed with SIGKILL while it holds a frame (and has numpy
views of it) wedges nobody: SPSC and MPMC deliver the frame again, flagged
redelivered; in broadcast the producer goes on through every slot."""
import os
import signal
import subprocess

import pytest

np = pytest.importorskip("numpy", reason="python3-numpy is not installed")
import framering as fr  # noqa: E402
from frtest import python_child, wait_for  # noqa: E402

HOLDER = """
import sys, time, framering as fr
rx = fr.open({name!r}, 'consumer')
f = rx.acquire(timeout=10.0)
view = f.array[::2]               # a live view of the slot, too
print(f.seq, int(view[0, 0]), flush=True)
time.sleep(60)
"""


def kill_while_holding(name):
    """A child interpreter acquires a frame and is SIGKILLed holding it."""
    child = python_child(HOLDER.format(name=name), stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().split()
        assert line, "the holder printed nothing"
        seq, pixel = int(line[0]), int(line[1])
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return seq, pixel


@pytest.mark.parametrize("mode", ["spsc", "mpmc"])
def test_killed_holder_frame_is_redelivered(name, mode):
    with fr.create(name, width=32, height=8, format="gray8", mode=mode, slots=4) as cam:
        for i in range(3):
            with cam.claim(1.0) as f:
                f.array[:] = 100 + i
        seq, pixel = kill_while_holding(name)
        assert (seq, pixel) == (0, 100)
        with fr.open(name, "consumer") as rx:  # attaching reaps the dead holder
            got = []
            while True:
                try:
                    with rx.acquire(timeout=2.0) as g:
                        got.append((g.seq, g.redelivered, int(g.array[0, 0])))
                except TimeoutError:
                    break
            assert got == [(0, True, 100), (1, False, 101), (2, False, 102)]
            assert rx.info()["redelivered"] == 1
            # And the ring goes on.
            for i in range(10):
                with cam.claim(1.0) as f:
                    f.array[:] = i
                with rx.acquire(1.0) as g:
                    assert g.seq == 3 + i and not g.redelivered


def test_killed_broadcast_holder_does_not_stall_the_camera(name):
    with fr.create(name, width=32, height=8, format="gray8", mode="broadcast", slots=4) as cam, \
            fr.open(name, "consumer") as survivor:
        child = python_child(HOLDER.format(name=name), stdout=subprocess.PIPE, text=True)
        try:
            # Publish once the child is attached, so that it starts at frame 0.
            wait_for(lambda: cam.info()["live_peers"] == 3, what="the holder to attach")
            with cam.claim(1.0) as f:
                f.array[:] = 7
            line = child.stdout.readline().split()
            assert line[:2] == ["0", "7"]
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
            child.stdout.close()
        # The dead reliable consumer's pin and cursor must not hold the camera:
        # many laps around the 4 slots, the survivor reading all of them.
        with survivor.acquire(1.0) as g:
            assert g.seq == 0
        for i in range(1, 40):
            with cam.claim(timeout=5.0) as f:
                f.array[:] = i
            with survivor.acquire(timeout=5.0) as g:
                assert g.seq == i and int(g.array[0, 0]) == i
        assert cam.info()["live_peers"] == 2
