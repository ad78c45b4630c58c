#!/usr/bin/python3
"""framering bridge against bare ZeroMQ and imagezmq's way, on 127.0.0.1 (issue 14).

  benchmarks/bridge_bench.py            the full run (about 5 minutes; run it on an
                                        otherwise idle machine: it uses both cores
                                        and, for imagezmq's PUB/SUB row, gigabytes)
  benchmarks/bridge_bench.py --quick    a few seconds: every path delivers frames
                                        (exit 1 otherwise); the numbers mean nothing

Options: --build DIR (a meson build with the bridge; default build-bridge-bench/,
set up and compiled when missing), --reps N (5), --frames N (400 per repetition),
--fresh-seconds S (60), --mem-limit-mb M (the freshness rows stop when their
processes hold more together; default 60% of the memory available, at most 14 GB),
--out FILE (default benchmarks/results/bridge-<date>.md for full runs).

Rows (1920x1080x3 frames, 6,220,800 bytes):
- throughput, frames/s at the receiving end, median (min-max) of the repetitions:
  bridge raw: a camera process publishing into a broadcast segment (it writes
  only a frame number into each slot), `bridge send` -> `bridge recv` -> a
  segment -> a consumer process; bare ZeroMQ PUSH/PULL in C (bridge-helper,
  default socket options, the same bytes in one message); imagezmq-style
  REQ/REP in python3-zmq (a JSON part and the numpy array, copy=False, the
  b"OK" reply, as imagezmq sends them); pyzmq PUSH/PULL for reference.
- bridge JPEG (quality 90): frames/s, bytes per frame, encode and decode time
  per frame (p50 from the summaries of send and recv), the camera copying
  frames of tools/pattern.c into the slots.
- freshness: a camera at 60 frames/s and a receiver that handles 10 a second,
  for --fresh-seconds. bridge: camera -> segment -> `send --latest` ->
  `recv` -> segment -> a latest consumer taking the newest frame 10 times a
  second. imagezmq: PUB (60 frames/s, the capture time in "msg") -> SUB hub
  taking one message every 100 ms, both with ZeroMQ's default queues. Age of
  each frame taken = receive time - capture time (CLOCK_MONOTONIC, one
  machine); p50, p99, max, p99 over the first and the last 10 s, and the peak
  resident memory of every process (the bridge's includes the segment pages
  it touched: 8 slots of 6 MB per segment).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
W, H, C = 1920, 1080, 3
FRAME_BYTES = W * H * C
PY = "/usr/bin/python3"


# ---- the Python processes (run as this script with a leading "_" command) --------


def _frame():
    import numpy as np
    return np.zeros((H, W, C), dtype=np.uint8)


def _metadata(msg, a):
    # imagezmq's send_array: json.dumps(dict(msg=..., dtype=..., shape=...))
    return json.dumps(dict(msg=msg, dtype=str(a.dtype), shape=a.shape)).encode()


def _stop_flag():
    flag = {"stop": False}

    def handler(sig, frame):
        flag["stop"] = True
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return flag


def child_izmq_send(args):
    import zmq
    mode, endpoint, count, fps = args[0], args[1], int(args[2]), float(args[3])
    flag = _stop_flag()
    ctx = zmq.Context()
    s = ctx.socket(zmq.REQ if mode == "reqrep" else zmq.PUB)
    s.linger = 0
    if mode == "reqrep":
        s.connect(endpoint)
    else:
        s.bind(endpoint)
        time.sleep(0.5)  # the subscriber connects
    a = _frame()
    period, due, n = (1.0 / fps if fps else 0), time.monotonic(), 0
    while not flag["stop"] and (not count or n < count):
        if period:
            due += period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        s.send(_metadata(str(time.monotonic_ns()), a), zmq.SNDMORE)
        s.send(a, copy=False)
        n += 1
        if mode == "reqrep":
            if not s.poll(10000):
                print("RESULT frames=%d error=no-reply" % n, flush=True)
                return 1
            s.recv()
    print("RESULT frames=%d" % n, flush=True)
    return 0


def child_izmq_hub(args):
    import numpy as np
    import zmq
    endpoint, count = args[0], int(args[1])
    ctx = zmq.Context()
    s = ctx.socket(zmq.REP)
    s.linger = 0
    s.bind(endpoint)
    print("READY", flush=True)
    n, first, last = 0, 0, 0
    while n < count:
        if not s.poll(10000):
            break
        parts = s.recv_multipart(copy=False)
        md = json.loads(parts[0].bytes)
        image = np.frombuffer(parts[1].buffer, dtype=md["dtype"]).reshape(md["shape"])
        assert image.shape == (H, W, C)
        s.send(b"OK")
        last = time.monotonic()
        if not n:
            first = last
        n += 1
    fps = (n - 1) / (last - first) if n > 1 and last > first else 0
    print("RESULT frames=%d fps=%.1f" % (n, fps), flush=True)
    return 0 if n else 1


def child_izmq_slow_hub(args):
    import numpy as np
    import zmq
    endpoint, seconds, rate = args[0], float(args[1]), float(args[2])
    flag = _stop_flag()
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    s.linger = 0
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(endpoint)
    ages, first10, last10 = [], [], []
    start = due = time.monotonic()
    while not flag["stop"] and time.monotonic() - start < seconds:
        if not s.poll(1000):
            continue
        parts = s.recv_multipart(copy=False)
        now = time.monotonic_ns()
        md = json.loads(parts[0].bytes)
        np.frombuffer(parts[1].buffer, dtype=md["dtype"]).reshape(md["shape"])
        age = (now - int(md["msg"])) / 1e6
        t = time.monotonic() - start
        ages.append(age)
        if t < 10:
            first10.append(age)
        if t >= seconds - 10:
            last10.append(age)
        due += 1.0 / rate  # "processing" until the next tick
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))] if v else 0.0
    print("RESULT frames=%d age_p50_ms=%.2f age_p99_ms=%.2f age_max_ms=%.2f "
          "first10_p99_ms=%.2f last10_p99_ms=%.2f seconds=%.1f" %
          (len(ages), q(ages, .5), q(ages, .99), max(ages or [0]), q(first10, .99),
           q(last10, .99), time.monotonic() - start), flush=True)
    return 0 if ages else 1


def child_py_push(args):
    import zmq
    endpoint, nbytes, count = args[0], int(args[1]), int(args[2])
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.linger = 10000
    s.connect(endpoint)
    buf = bytearray(nbytes)
    for _ in range(count):
        s.send(buf, copy=False)
    s.close()
    ctx.term()
    print("RESULT frames=%d" % count, flush=True)
    return 0


def child_py_pull(args):
    import zmq
    endpoint, count = args[0], int(args[1])
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.linger = 0
    s.bind(endpoint)
    print("READY", flush=True)
    n, first, last = 0, 0, 0
    while n < count:
        if not s.poll(10000):
            break
        s.recv(copy=False)
        last = time.monotonic()
        if not n:
            first = last
        n += 1
    fps = (n - 1) / (last - first) if n > 1 and last > first else 0
    print("RESULT frames=%d fps=%.1f" % (n, fps), flush=True)
    return 0 if n else 1


CHILDREN = {"_izmq-send": child_izmq_send, "_izmq-hub": child_izmq_hub,
            "_izmq-slow-hub": child_izmq_slow_hub, "_py-push": child_py_push,
            "_py-pull": child_py_pull}


# ---- orchestration ----------------------------------------------------------------


class Proc:
    """A process of a row: output in files, peak memory sampled."""

    def __init__(self, bench, name, cmd):
        self.name = name
        self.out = open(os.path.join(bench.tmp, name + ".out"), "w+")
        self.err = open(os.path.join(bench.tmp, name + ".err"), "w+")
        self.p = subprocess.Popen(cmd, stdout=self.out, stderr=self.err)
        self.peak_kb = 0
        bench.procs.append(self)

    def rss_kb(self):
        try:
            with open("/proc/%d/status" % self.p.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None

    def stop(self, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def text(self):
        self.out.flush()
        self.err.flush()
        with open(self.out.name) as o, open(self.err.name) as e:
            return o.read() + e.read()

    def result(self):
        m = None
        for m in re.finditer(r"RESULT (.*)", self.text()):
            pass
        if not m:
            return {}
        return dict(kv.split("=", 1) for kv in m.group(1).split())

    def wait_line(self, word, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if word in self.text():
                return True
            if self.p.poll() is not None:
                return False
            time.sleep(0.05)
        return False


class Bench:
    def __init__(self, a):
        self.a = a
        self.tmp = tempfile.mkdtemp(prefix="bridge-bench-")
        self.procs = []
        self.seg = "frbb-%d" % os.getpid()
        self.build = a.build
        self.fr = os.path.join(self.build, "tools", "framering")
        self.helper = os.path.join(self.build, "benchmarks", "bridge-helper")
        self.failed = []
        self.mem_total_peak = 0
        self.mem_over = False
        self._sampling = False

    # -- plumbing
    def port(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return "tcp://127.0.0.1:%d" % port

    def fr_run(self, *args):
        return subprocess.run([self.fr] + list(args), capture_output=True, text=True,
                              timeout=60)

    def create(self, name, mode="broadcast", slots=8):
        r = self.fr_run("create", name, "--mode", mode, "--slots", str(slots),
                        "--size", "%dx%d" % (W, H), "--format", "bgr24")
        if r.returncode:
            raise RuntimeError("create %s: %s" % (name, r.stderr))

    def rm(self, *names):
        for n in names:
            self.fr_run("rm", "--force", n)

    def consumers(self, name, want, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = self.fr_run("info", "--json", name)
            if r.returncode == 0:
                peers = json.loads(r.stdout)["peers"]
                if sum(p["role"] == "consumer" and p["alive"] for p in peers) >= want:
                    return True
            time.sleep(0.05)
        raise RuntimeError("%s: no consumer attached within %d s" % (name, timeout))

    def sample(self, procs):
        """Peak resident memory of @procs, in a thread, until stop_sampling()."""
        self._sampling = True
        self.mem_over = False
        self.mem_total_peak = 0

        def loop():
            while self._sampling:
                total = 0
                for p in procs:
                    kb = p.rss_kb()
                    p.peak_kb = max(p.peak_kb, kb)
                    total += kb
                self.mem_total_peak = max(self.mem_total_peak, total)
                if total > self.a.mem_limit_mb * 1024:
                    self.mem_over = True
                time.sleep(0.2)
        t = threading.Thread(target=loop, daemon=True)
        t.start()
        return t

    def stop_sampling(self, t):
        self._sampling = False
        t.join()

    def cleanup(self):
        for p in self.procs:
            if p.p.poll() is None:
                p.p.kill()
                p.p.wait()
        self.procs = []

    # -- throughput rows: frames/s at the receiver
    def bridge_raw(self, n, jpeg=False):
        a, b, ep = self.seg + "-a", self.seg + "-b", self.port()
        self.create(a)
        self.create(b)
        try:
            recv = Proc(self, "recv", [self.fr, "bridge", "recv", ep, b, "--bind", "--quiet"])
            sink = Proc(self, "sink", [self.helper, "sink", b, str(n)] +
                        (["lossy"] if jpeg else []))
            self.consumers(b, 1)
            send = Proc(self, "send", [self.fr, "bridge", "send", a, ep, "--quiet"] +
                        (["--jpeg=90"] if jpeg else []))
            self.consumers(a, 1)
            cam = Proc(self, "camera", [self.helper, "camera", a, str(n), "0"] +
                       (["8"] if jpeg else []))
            cam.wait(300)
            sink.wait(120)
            send.wait(60)
            recv.stop()
            res = dict(sink.result())
            if jpeg:
                m = re.search(r"JPEG (\d+) bytes/frame, encode p50 ([\d.]+) ms", send.text())
                d = re.search(r"decode p50 ([\d.]+) ms", recv.text())
                if m and d:
                    res.update(bytes=m.group(1), encode_ms=m.group(2), decode_ms=d.group(1))
            return res
        finally:
            self.cleanup()
            self.rm(a, b)

    def bare_c(self, n):
        ep = self.port()
        try:
            pull = Proc(self, "pull", [self.helper, "pull", ep, str(n)])
            pull.wait_line("READY", 10)
            push = Proc(self, "push", [self.helper, "push", ep, str(FRAME_BYTES + 64), str(n)])
            pull.wait(120)
            push.wait(30)
            return pull.result()
        finally:
            self.cleanup()

    def python_pair(self, recv_cmd, send_cmd, n):
        ep = self.port()
        try:
            rx = Proc(self, "py-recv", [PY, __file__, recv_cmd, ep, str(n)])
            rx.wait_line("READY", 10)
            if send_cmd == "_py-push":
                tx = Proc(self, "py-send", [PY, __file__, send_cmd, ep, str(FRAME_BYTES), str(n)])
            else:
                tx = Proc(self, "py-send", [PY, __file__, send_cmd, "reqrep", ep, str(n), "0"])
            rx.wait(180)
            tx.wait(30)
            return rx.result()
        finally:
            self.cleanup()

    # -- freshness rows
    def fresh_bridge(self, seconds):
        a, b, ep = self.seg + "-a", self.seg + "-b", self.port()
        self.create(a)
        self.create(b)
        try:
            recv = Proc(self, "recv", [self.fr, "bridge", "recv", ep, b, "--bind", "--quiet"])
            slow = Proc(self, "slow", [self.helper, "slow", b, str(seconds), "10"])
            self.consumers(b, 1)
            send = Proc(self, "send", [self.fr, "bridge", "send", a, ep, "--latest", "--quiet"])
            self.consumers(a, 1)
            cam = Proc(self, "camera", [self.helper, "camera", a, "0", "60"])
            t = self.sample([cam, send, recv, slow])
            end = time.monotonic() + seconds + 30
            while slow.p.poll() is None and time.monotonic() < end and not self.mem_over:
                time.sleep(0.2)
            slow.stop()
            self.stop_sampling(t)
            cam.stop()
            send.wait(30)
            recv.stop()
            res = dict(slow.result())
            res["camera"] = cam.result()
            res["mem"] = {p.name: p.peak_kb for p in (cam, send, recv, slow)}
            res["stopped"] = self.mem_over
            return res
        finally:
            self.cleanup()
            self.rm(a, b)

    def fresh_imagezmq(self, seconds):
        ep = self.port()
        try:
            pub = Proc(self, "izmq-pub", [PY, __file__, "_izmq-send", "pub", ep, "0", "60"])
            hub = Proc(self, "izmq-sub", [PY, __file__, "_izmq-slow-hub", ep, str(seconds),
                                          "10"])
            t = self.sample([pub, hub])
            end = time.monotonic() + seconds + 30
            while hub.p.poll() is None and time.monotonic() < end and not self.mem_over:
                time.sleep(0.2)
            hub.stop()
            self.stop_sampling(t)
            pub.stop()
            res = dict(hub.result())
            res["mem"] = {p.name: p.peak_kb for p in (pub, hub)}
            res["stopped"] = self.mem_over
            return res
        finally:
            self.cleanup()


# ---- the run ------------------------------------------------------------------------


def build(a):
    if os.path.exists(os.path.join(a.build, "build.ninja")):
        subprocess.run(["meson", "compile", "-C", a.build, "tools/framering",
                        "benchmarks/bridge-helper"], check=True, stdout=subprocess.DEVNULL)
        return
    subprocess.run(["bash", "-c", '. "%s/tools/deps.sh" && fr_ensure_packages '
                    '"${FR_BUILD_PACKAGES[@]}"' % ROOT], check=True)
    subprocess.run(["meson", "setup", a.build, ROOT, "--buildtype=release", "-Dtests=false"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["meson", "compile", "-C", a.build, "tools/framering",
                    "benchmarks/bridge-helper"], check=True, stdout=subprocess.DEVNULL)


def median_range(values):
    if not values:
        return "-", 0
    med = statistics.median(values)
    return "%.0f (%.0f-%.0f)" % (med, min(values), max(values)), med


def mem_mb(kb):
    return "%.0f MB" % (kb / 1024)


def default_mem_limit():
    avail = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) // 1024
    return max(512, min(14 * 1024, int(avail * 0.6)))


def main():
    if len(sys.argv) > 1 and sys.argv[1] in CHILDREN:
        sys.exit(CHILDREN[sys.argv[1]](sys.argv[2:]))
    p = argparse.ArgumentParser(description="framering bridge benchmark (issue 14)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--build", default=os.path.join(ROOT, "build-bridge-bench"))
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--frames", type=int, default=400)
    p.add_argument("--fresh-seconds", type=float, default=60)
    p.add_argument("--mem-limit-mb", type=int, default=default_mem_limit())
    p.add_argument("--out")
    a = p.parse_args()
    if a.quick:
        a.reps, a.frames, a.fresh_seconds = 1, 20, 3
    build(a)
    bench = Bench(a)
    try:
        sys.exit(run(a, bench))
    finally:
        bench.cleanup()
        shutil.rmtree(bench.tmp, ignore_errors=True)


def run(a, bench):
    """The rows, the tables and the targets; the exit status."""
    lines, ok = [], True

    def say(s=""):
        lines.append(s)
        print(s, flush=True)

    def check(name, res, want):
        nonlocal ok
        got = int(float(res.get("frames", 0)))
        if got < want:
            ok = False
            say("FAIL: %s delivered %d frames, expected at least %d" % (name, got, want))

    say("# framering bridge benchmark%s" % (" (--quick: delivery check only)" if a.quick else ""))
    say()
    say("%s, %d CPUs, %s; 1920x1080x3 frames over TCP on 127.0.0.1; %d repetition(s) of %d "
        "frames." % (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(), os.uname().release,
                     a.reps, a.frames))
    say()
    rows = [("bridge raw (send -> recv, segment to segment)", lambda: bench.bridge_raw(a.frames)),
            ("bare ZeroMQ PUSH/PULL in C (same bytes)", lambda: bench.bare_c(a.frames)),
            ("imagezmq-style REQ/REP (python3-zmq)",
             lambda: bench.python_pair("_izmq-hub", "_izmq-send", a.frames)),
            ("pyzmq PUSH/PULL (reference)",
             lambda: bench.python_pair("_py-pull", "_py-push", a.frames))]
    fps = {}
    say("| path | frames/s median (min-max) |")
    say("|---|---:|")
    for name, run in rows:
        vals = []
        for _ in range(a.reps):
            res = run()
            check(name, res, a.frames)
            if float(res.get("fps", 0)) > 0:
                vals.append(float(res["fps"]))
        text, fps[name] = median_range(vals)
        say("| %s | %s |" % (name, text))
    say()
    jp = []
    for _ in range(a.reps):
        res = bench.bridge_raw(a.frames, jpeg=True)
        check("bridge JPEG", res, a.frames)
        jp.append(res)
    col = lambda k: [float(r[k]) for r in jp if k in r]
    say("| bridge JPEG, quality 90 | frames/s | bytes/frame | encode ms/frame (p50) | "
        "decode ms/frame (p50) |")
    say("|---|---:|---:|---:|---:|")
    say("| tools/pattern.c frames | %s | %s | %s | %s |" % (
        median_range([v for v in col("fps") if v > 0])[0],
        "%.0f" % statistics.median(col("bytes")) if col("bytes") else "-",
        "%.2f" % statistics.median(col("encode_ms")) if col("encode_ms") else "-",
        "%.2f" % statistics.median(col("decode_ms")) if col("decode_ms") else "-"))
    say()
    fb = bench.fresh_bridge(a.fresh_seconds)
    check("freshness, bridge", fb, 1)
    fi = bench.fresh_imagezmq(a.fresh_seconds)
    check("freshness, imagezmq PUB/SUB", fi, 1)
    say("Freshness: camera at 60 frames/s, receiver handling 10 a second, %g s "
        "(memory limit for the row: %d MB in all)." % (a.fresh_seconds, a.mem_limit_mb))
    say()
    say("| path | frames taken | age p50 ms | p99 ms | max ms | p99 first 10 s | "
        "p99 last 10 s | peak memory |")
    say("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, r in (("bridge: send --latest -> recv -> latest consumer", fb),
                    ("imagezmq PUB/SUB, default queues", fi)):
        mem = ", ".join("%s %s" % (k, mem_mb(v)) for k, v in r.get("mem", {}).items())
        stopped = " (stopped early: memory limit)" if r.get("stopped") else ""
        say("| %s%s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, stopped, r.get("frames", "-"), r.get("age_p50_ms", "-"),
            r.get("age_p99_ms", "-"), r.get("age_max_ms", "-"), r.get("first10_p99_ms", "-"),
            r.get("last10_p99_ms", "-"), mem))
    say()
    if a.quick:
        say("quick: every path delivered frames" if ok else "quick: FAILED")
        say("(--quick runs too few frames for the numbers above to mean anything; no target "
            "is evaluated)")
        return 0 if ok else 1
    raw, bare = fps.get(rows[0][0], 0), fps.get(rows[1][0], 0)
    izmq = fps.get(rows[2][0], 0)
    interval = 1000.0 / 60
    p99 = float(fb.get("age_p99_ms", 1e9))
    targets = [
        ("bridge raw >= 0.8x bare ZeroMQ PUSH/PULL (C)", raw / bare if bare else 0, 0.8, "x"),
        ("bridge raw >= 1.0x imagezmq-style REQ/REP", raw / izmq if izmq else 0, 1.0, "x"),
    ]
    say("| target (issue 14) | measured | |")
    say("|---|---:|---|")
    for name, val, want, unit in targets:
        say("| %s | %.2f%s | %s |" % (name, val, unit, "met" if val >= want else "MISSED"))
    say("| bridge --latest p99 age < 3 frame intervals (%.1f ms) for the whole run | %.1f ms | "
        "%s |" % (3 * interval, p99, "met" if p99 < 3 * interval and not fb.get("stopped")
                  else "MISSED"))
    grew = float(fi.get("last10_p99_ms", 0)) > float(fi.get("first10_p99_ms", 0))
    say("| (reference) imagezmq PUB/SUB p99 age, first vs last 10 s | %s -> %s ms | %s |" % (
        fi.get("first10_p99_ms", "-"), fi.get("last10_p99_ms", "-"),
        "grows" if grew else "does not grow"))
    out = a.out or os.path.join(HERE, "results", "bridge-%s.md" % time.strftime("%Y-%m-%d-%H%M"))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("written to %s" % out)
    return 0 if ok else 1


if __name__ == "__main__":
    main()
