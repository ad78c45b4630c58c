"""Waits release the GIL, a ring is safe to share between threads, a wait can be
interrupted by a signal handler and by a close() from another thread."""
import errno
import signal
import threading
import time

import pytest

np = pytest.importorskip("numpy", reason="python3-numpy is not installed")
import framering as fr  # noqa: E402
from frtest import wait_for  # noqa: E402


def test_a_wait_releases_the_gil(name):
    with fr.create(name, width=8, height=8, format="gray8") as cam, \
            fr.open(name, "consumer") as rx:
        got = []
        t = threading.Thread(target=lambda: got.append(rx.acquire(timeout=10.0).seq))
        t.start()
        # This thread keeps running Python while the other one waits.
        spins, end = 0, time.monotonic() + 0.3
        while time.monotonic() < end:
            spins += 1
        assert spins > 1000 and t.is_alive()
        cam.claim(0).publish()
        t.join(10)
        assert got == [0]


def test_threads_sharing_one_ring(name):
    """Four threads consume one ring: every frame once, none lost, none torn."""
    frames = 400
    with fr.create(name, width=32, height=16, format="gray16", slots=4) as cam, \
            fr.open(name, "consumer") as rx:
        seen, errors = [], []

        def worker():
            try:
                for frame in rx:
                    with frame:
                        a = frame.array
                        if not (a == a[0, 0]).all() or int(a[0, 0]) != frame.seq:
                            errors.append(frame.seq)
                        seen.append(frame.seq)
                        del a
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for i in range(frames):
            with cam.claim(timeout=10.0) as f:
                f.array[:] = i
        cam.close()  # end of stream: every worker's loop ends
        for t in threads:
            t.join(30)
            assert not t.is_alive()
        assert errors == []
        assert sorted(seen) == list(range(frames))


def test_info_from_another_thread_during_a_wait(name):
    """A thread waiting forever does not lock the others out of the ring: it
    lets queued calls have the handle between two slices of its wait."""
    with fr.create(name, width=8, height=8) as cam:
        rx = fr.open(name, "consumer")
        outcome, infos = [], []

        def waiter():
            try:
                rx.acquire(None)
            except ValueError:  # closed below
                outcome.append("closed")

        def asker():
            for _ in range(3):
                infos.append(rx.info()["consumer_waits"])

        t = threading.Thread(target=waiter)
        t.start()
        wait_for(lambda: cam.info()["consumer_waits"] >= 1, what="the waiter to wait")
        a = threading.Thread(target=asker)
        a.start()
        a.join(30)  # bounded: a lock-out fails here instead of hanging
        assert not a.is_alive() and len(infos) == 3 and t.is_alive()
        rx.close()
        t.join(30)
        assert outcome == ["closed"]


def test_close_from_another_thread_ends_a_wait(name):
    with fr.create(name, width=8, height=8):
        rx = fr.open(name, "consumer")
        result = []

        def waiter():
            try:
                rx.acquire(None)
            except ValueError as e:
                result.append(str(e))

        t = threading.Thread(target=waiter)
        t.start()
        time.sleep(0.1)
        rx.close()
        t.join(30)
        assert not t.is_alive() and "closed ring" in result[0] and rx.closed


def test_second_frame_waits_for_another_threads_frame(name):
    with fr.create(name, width=8, height=8, format="gray8") as cam, \
            fr.open(name, "consumer") as rx:
        for _ in range(2):
            cam.claim(0).publish()
        first = rx.acquire(0)
        got = []
        t = threading.Thread(target=lambda: got.append(rx.acquire(timeout=10.0)))
        t.start()
        time.sleep(0.2)
        assert t.is_alive() and not got  # one frame per ring: it waits for ours
        first.release()
        t.join(10)
        assert got[0].seq == 1
        got[0].release()
        # A bounded wait for another thread's frame times out.
        cam.claim(0).publish()
        held = rx.acquire(0)
        errs = []

        def bounded():
            try:
                rx.acquire(timeout=0.1)
            except TimeoutError as e:
                errs.append(e.errno)

        t = threading.Thread(target=bounded)
        t.start()
        t.join(10)
        assert errs == [errno.ETIMEDOUT]
        held.release()


class Interrupted(Exception):
    pass


def test_a_signal_handler_interrupts_a_wait(name):
    def handler(signum, frame):
        raise Interrupted()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        with fr.create(name, width=8, height=8) as cam, fr.open(name, "consumer") as rx:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            with pytest.raises(Interrupted):
                rx.acquire(60.0)  # a TimeoutError after 60 s would fail the test
            # The ring is fine afterwards.
            cam.claim(0).publish()
            rx.acquire(0).release()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
