#!/usr/bin/python3
"""framering's Python binding against the ways Python programs move frames today.

    /usr/bin/python3 benchmarks/python_bench.py [--build DIR] [--reps N] [--seconds S]
    /usr/bin/python3 benchmarks/python_bench.py --quick     # correctness only, seconds

1920x1080x3 frames, a producer process pinned to CPU 0 and a consumer process
pinned to CPU 1, every row in the same run:

    framering-python   the binding on both sides (SPSC, 4 slots)
    framering-C>python a C producer (framering-pypeer), the binding consuming
    framering-C        C on both sides: the handoff the binding is compared to
    mp-queue           multiprocessing.Queue(maxsize=4) of arrays (pickled)
    zeromq             PUSH/PULL over TCP on 127.0.0.1, as imagezmq sends arrays
                       (a JSON header, then the array, copy=True; HWM 4)
    shm-queue          multiprocessing.shared_memory with 4 slots, and Queues of
                       free and filled slot indices

Workloads, as benchmarks/main.c defines them: handoff, the producer writes a
64-byte header (counter, timestamp) and the consumer checks the counter (the
copying transports still carry the whole frame); touch, the producer fills
every byte (a copy from a prepared image) and the consumer reads every byte
through numpy (a sum over a uint64 view) and checks the sum. Every frame is
checked; a wrong one fails the run. frames/s counts the frames after a warm-up
of 20, until the last one arrived; each row is the median (min-max) of the
repetitions. The targets of issue 11 are evaluated from the same run.

Needs the binding and framering-pypeer built (meson: ninja -C DIR python-binding;
DIR defaults to build-bench/, then build/) and python3-zmq for the ZeroMQ rows.
"""
import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
import traceback
from multiprocessing import connection, shared_memory

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W, H, C = 1920, 1080, 3
FRAME_BYTES = W * H * C
SLOTS = 4
WARMUP = 20
MASK = (1 << 64) - 1

fr = None    # the framering module, imported from the build directory
zmq = None   # pyzmq, when installed
PEER = None  # framering-pypeer


# ---- frames -------------------------------------------------------------------

class Image:
    """The prepared image the producer copies (touch), and the checks."""

    def __init__(self):
        rng = np.random.default_rng(4)
        self.src = rng.integers(0, 256, (H, W, C), dtype=np.uint8)
        words = self.src.reshape(-1).view(np.uint64)
        self.rest = int(words[2:].sum(dtype=np.uint64))  # words 0, 1: the header

    def check_touch(self, a, n):
        words = a.reshape(-1).view(np.uint64)
        got = int(words.sum(dtype=np.uint64))
        expect = (self.rest + n + int(words[1])) & MASK
        if int(words[0]) != n or got != expect:
            raise AssertionError(f"frame {n}: counter {int(words[0])}, sum {got:#x}, "
                                 f"expected {expect:#x}")


def header(a):
    """The first 64 bytes of frame array `a`, as 8 uint64 (a view)."""
    return a.reshape(-1)[:64].view(np.uint64)


def fill(a, image, touch, n):
    if touch:
        np.copyto(a, image.src)
    h = header(a)
    h[0] = n
    h[1] = time.monotonic_ns()


def check(a, image, touch, n):
    if touch:
        image.check_touch(a, n)
    elif int(header(a)[0]) != n:
        raise AssertionError(f"frame {n} carries counter {int(header(a)[0])}")


class Meter:
    """frames/s after the warm-up, until the last frame arrived."""

    def __init__(self):
        self.n = 0
        self.t0 = self.t1 = 0.0

    def tick(self):
        self.n += 1
        now = time.perf_counter()
        if self.n == WARMUP:
            self.t0 = now
        self.t1 = now

    def result(self):
        if self.n <= WARMUP or self.t1 <= self.t0:
            raise AssertionError(f"only {self.n} frames arrived")
        return self.n - WARMUP, self.t1 - self.t0


def pin(cpu):
    if len(os.sched_getaffinity(0)) > 1 and cpu < os.cpu_count():
        os.sched_setaffinity(0, {cpu})


# ---- the transports: a producer and a consumer each --------------------------
# A producer runs for `seconds`, then ends the stream; a consumer returns
# (frames after the warm-up, seconds) and raises on a wrong frame.

def framering_producer(ctx, touch, seconds, image):
    ring = fr.open(ctx["name"], "producer")
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end or n < WARMUP + 10:
        f = ring.claim()
        fill(f.array, image, touch, n)  # the array dies here: the frame can go
        f.publish()
        n += 1
    ring.close()  # end of stream


def framering_consumer(ctx, touch, image):
    ring = fr.open(ctx["name"], "consumer")
    meter = Meter()
    while True:
        try:
            f = ring.acquire()
        except fr.EndOfStream:
            break
        check(f.array, image, touch, meter.n)
        f.release()
        meter.tick()
    ring.close()
    return meter.result()


def queue_producer(ctx, touch, seconds, image):
    q = ctx["queue"]
    # put() pickles later, in a feeder thread: an array may be written again
    # only when the queue's bound guarantees it was pickled and taken.
    pool = [image.src.copy() for _ in range(SLOTS + 2)]
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end or n < WARMUP + 10:
        a = pool[n % len(pool)]
        fill(a, image, touch, n)
        q.put(a)
        n += 1
    q.put(None)


def queue_consumer(ctx, touch, image):
    q, meter = ctx["queue"], Meter()
    while (a := q.get()) is not None:
        check(a, image, touch, meter.n)
        meter.tick()
    return meter.result()


def zmq_producer(ctx, touch, seconds, image):
    sock = zmq.Context.instance().socket(zmq.PUSH)
    sock.setsockopt(zmq.SNDHWM, SLOTS)
    sock.setsockopt(zmq.LINGER, -1)
    sock.connect(f"tcp://127.0.0.1:{ctx['port'].get()}")
    a = image.src.copy()
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end or n < WARMUP + 10:
        fill(a, image, touch, n)
        # imagezmq's send_array: a JSON header, then the array (copied).
        sock.send_json(dict(msg="frame", dtype=str(a.dtype), shape=a.shape), zmq.SNDMORE)
        sock.send(a, 0, copy=True, track=False)
        n += 1
    sock.send_json(dict(msg="end"))
    sock.close()
    # The process ends with os._exit: only term() waits for the queue to drain.
    zmq.Context.instance().term()


def zmq_consumer(ctx, touch, image):
    sock = zmq.Context.instance().socket(zmq.PULL)
    sock.setsockopt(zmq.RCVHWM, SLOTS)
    ctx["port"].put(sock.bind_to_random_port("tcp://127.0.0.1"))
    meter = Meter()
    while True:
        md = sock.recv_json()
        if md["msg"] == "end":
            break
        # imagezmq's recv_array.
        msg = sock.recv(copy=True, track=False)
        a = np.frombuffer(msg, dtype=md["dtype"]).reshape(md["shape"])
        check(a, image, touch, meter.n)
        meter.tick()
    sock.close()
    zmq.Context.instance().term()
    return meter.result()


def shm_views(shm):
    return [np.ndarray((H, W, C), np.uint8, shm.buf, offset=i * FRAME_BYTES) for i in range(SLOTS)]


def shm_producer(ctx, touch, seconds, image):
    views, free, ready = shm_views(ctx["shm"]), ctx["free"], ctx["ready"]
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end or n < WARMUP + 10:
        i = free.get()
        fill(views[i], image, touch, n)
        ready.put(i)
        n += 1
    ready.put(None)
    del views


def shm_consumer(ctx, touch, image):
    views, free, ready = shm_views(ctx["shm"]), ctx["free"], ctx["ready"]
    meter = Meter()
    while (i := ready.get()) is not None:
        check(views[i], image, touch, meter.n)
        free.put(i)
        meter.tick()
    del views
    return meter.result()


# ---- running a pair ------------------------------------------------------------

def child(role, fn, ctx, touch, seconds, image, out):
    try:
        pin(0 if role == "producer" else 1)
        if role == "producer":
            fn(ctx, touch, seconds, image)
            out.send(("ok", None))
        else:
            out.send(("ok", fn(ctx, touch, image)))
    except BaseException:  # noqa: BLE001 - reported by the parent
        out.send(("error", f"{role}: {traceback.format_exc()}"))
        os._exit(1)


def run_processes(producer, consumer, ctx, touch, seconds, image):
    """Run a producer and a consumer process; the consumer's (frames, seconds)."""
    mpc = mp.get_context("fork")
    procs = {}
    for role, fn in (("consumer", consumer), ("producer", producer)):
        recv, send = mpc.Pipe(duplex=False)
        p = mpc.Process(target=child, args=(role, fn, ctx, touch, seconds, image, send))
        p.start()
        send.close()
        procs[role] = (p, recv)
    results, error = {}, None
    pending = {recv: role for role, (p, recv) in procs.items()}
    while pending and not error:
        ready = connection.wait(list(pending), timeout=120)
        if not ready:
            error = "no result after 120 s"
        for recv in ready:
            role = pending.pop(recv)
            try:
                status, value = recv.recv()
            except EOFError:
                status, value = "error", f"the {role} died"
            if status != "ok":
                error = value
            results[role] = value
    for p, _ in procs.values():
        if error:
            p.kill()  # the other side may wait forever for a frame or a slot
        p.join(60)
    if error:
        raise RuntimeError(error)
    return results["consumer"]


def c_process(args, cpu):
    return subprocess.Popen([PEER] + args, stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: pin(cpu))


def c_producer(name, python_consumer, seconds, image):
    """The C peer produces (handoff); the binding or the C peer consumes."""
    mpc = mp.get_context("fork")
    if python_consumer:
        recv, send = mpc.Pipe(duplex=False)
        cons = mpc.Process(target=child, args=("consumer", framering_consumer, {"name": name},
                                                False, seconds, image, send))
        cons.start()
        send.close()
    else:
        cons = c_process(["bench-consume", name, str(WARMUP)], 1)
    prod = c_process(["bench-produce", name, str(seconds)], 0)
    prod.communicate(timeout=60)
    if prod.returncode != 0:
        raise RuntimeError("the C producer failed")
    if python_consumer:
        try:
            status, value = recv.recv()
        except EOFError:
            status, value = "error", "consumer died"
        cons.join(60)
        if status != "ok":
            raise RuntimeError(value)
        return value
    out, _ = cons.communicate(timeout=60)
    if cons.returncode != 0:
        raise RuntimeError("the C consumer failed")
    frames, secs = out.split()
    return int(frames), float(secs)


def make_segment(name):
    fr.create(name, width=W, height=H, format="bgr24", slots=SLOTS).close()  # ahead of its camera


def measure(transport, touch, seconds, image):
    """(frames, seconds) of one repetition."""
    name = f"frbench-py-{os.getpid()}"
    if transport == "framering-python":
        make_segment(name)
        try:
            return run_processes(framering_producer, framering_consumer, {"name": name}, touch,
                                 seconds, image)
        finally:
            fr.unlink(name)
    if transport in ("framering-C>python", "framering-C"):
        make_segment(name)
        try:
            return c_producer(name, transport == "framering-C>python", seconds, image)
        finally:
            fr.unlink(name)
    mpc = mp.get_context("fork")
    if transport == "mp-queue":
        return run_processes(queue_producer, queue_consumer, {"queue": mpc.Queue(maxsize=SLOTS)},
                             touch, seconds, image)
    if transport == "zeromq":
        return run_processes(zmq_producer, zmq_consumer, {"port": mpc.Queue()}, touch, seconds,
                             image)
    if transport == "shm-queue":
        shm = shared_memory.SharedMemory(create=True, size=SLOTS * FRAME_BYTES)
        try:
            free, ready = mpc.Queue(), mpc.Queue()
            for i in range(SLOTS):
                free.put(i)
            return run_processes(shm_producer, shm_consumer,
                                 {"shm": shm, "free": free, "ready": ready}, touch, seconds, image)
        finally:
            shm.close()
            shm.unlink()
    raise ValueError(transport)


ROWS = [
    ("framering-python", "handoff"), ("framering-python", "touch"),
    ("framering-C>python", "handoff"), ("framering-C", "handoff"),
    ("mp-queue", "handoff"), ("mp-queue", "touch"),
    ("zeromq", "handoff"), ("zeromq", "touch"),
    ("shm-queue", "handoff"), ("shm-queue", "touch"),
]


# ---- report --------------------------------------------------------------------

def fmt_rate(x):
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def report(rates, args):
    print("| transport | workload | frames/s | µs per frame |")
    print("|---|---|---:|---:|")
    for (t, w), r in rates.items():
        if isinstance(r, str):
            print(f"| {t} | {w} | {r} | - |")
            continue
        med = statistics.median(r)
        print(f"| {t} | {w} | {fmt_rate(med)} ({fmt_rate(min(r))}-{fmt_rate(max(r))}) "
              f"| {1e6 / med:.3g} |")
    print(f"\nEach cell: median (min-max) of {args.reps} repetition(s) of {args.seconds} s.\n")
    if args.quick:
        print("Quick run: every transport delivered correct data; too short to measure.")
        return

    def med(t, w):
        r = rates.get((t, w))
        return statistics.median(r) if isinstance(r, list) else None

    def line(what, a, b, goal, unit="x"):
        if a is None or b is None:
            print(f"| {what} | not measured | - |")
            return
        ratio = a / b
        print(f"| {what} | {ratio:.{1 if ratio < 100 else 0}f}{unit} | "
              f"{'met' if ratio >= goal else 'MISSED'} |")

    print("| target (issue 11), 1920x1080x3, same run | measured | |")
    print("|---|---:|---|")
    line("handoff: framering-python >= 100x zeromq frames/s",
         med("framering-python", "handoff"), med("zeromq", "handoff"), 100)
    line("touch: framering-python >= 3x zeromq frames/s",
         med("framering-python", "touch"), med("zeromq", "touch"), 3)
    line("touch: framering-python >= 1x shm-queue frames/s",
         med("framering-python", "touch"), med("shm-queue", "touch"), 1)
    c, cpy, py = (med("framering-C", "handoff"), med("framering-C>python", "handoff"),
                  med("framering-python", "handoff"))
    if c and cpy:
        print(f"| (reference) per-frame cost of the Python consumer over the C consumer, "
              f"handoff, C producer | {1e6 / cpy - 1e6 / c:.2f} µs "
              f"({1e6 / cpy:.2f} vs {1e6 / c:.2f}) | - |")
    if c and py:
        print(f"| (reference) per-frame cost of Python on both sides over C on both sides, "
              f"handoff | {1e6 / py - 1e6 / c:.2f} µs ({1e6 / py:.2f} vs {1e6 / c:.2f}) | - |")


def load(build):
    global fr, zmq, PEER
    candidates = [build] if build else [os.environ.get("FR_BUILD_DIR"),
                                        os.path.join(ROOT, "build-bench"),
                                        os.path.join(ROOT, "build")]
    for d in filter(None, candidates):
        peer = os.path.join(d, "python", "framering-pypeer")
        if os.access(peer, os.X_OK):
            sys.path.insert(0, os.path.join(d, "python"))
            PEER = peer
            break
    else:
        sys.exit("python_bench: no built binding (ninja -C build-bench python-binding, "
                 "or --build DIR)")
    import framering
    fr = framering
    try:
        import zmq as z
        zmq = z
    except ImportError:
        zmq = None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", help="meson build directory with the binding")
    p.add_argument("--reps", type=int, default=5, help="repetitions per row (default 5)")
    p.add_argument("--seconds", type=float, default=1.0,
                   help="producer time per repetition (default 1.0)")
    p.add_argument("--quick", action="store_true",
                   help="check that every transport delivers correct data (a few seconds)")
    p.add_argument("--only", help="comma-separated transports")
    args = p.parse_args()
    if args.quick:
        args.reps, args.seconds = 1, 0.25
    load(args.build)

    image = Image()
    only = set(args.only.split(",")) if args.only else None
    print(f"python_bench: {W}x{H}x{C} frames, {args.reps} x {args.seconds} s per row, "
          f"producer on CPU 0, consumer on CPU 1; Python {sys.version.split()[0]}, "
          f"numpy {np.__version__}, "
          f"{'pyzmq ' + zmq.__version__ if zmq else 'no pyzmq'}, framering {fr.__version__}"
          f"{' (quick: correctness only, not a measurement)' if args.quick else ''}\n")
    rates, failed = {}, False
    for t, w in ROWS:
        if only and t not in only:
            continue
        if t == "zeromq" and zmq is None:
            rates[(t, w)] = "skipped: python3-zmq not installed"
            continue
        rates[(t, w)] = []
        try:
            for _ in range(args.reps):
                frames, secs = measure(t, w == "touch", args.seconds, image)
                rates[(t, w)].append(frames / secs)
        except Exception as e:  # noqa: BLE001 - reported in the table
            rates[(t, w)] = f"FAILED: {str(e).strip().splitlines()[-1]}"
            print(f"python_bench: {t} {w}: {e}", file=sys.stderr)
            failed = True
        if args.quick and isinstance(rates[(t, w)], list):
            print(f"python_bench: {t} {w}: data ok", file=sys.stderr)
    report(rates, args)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
