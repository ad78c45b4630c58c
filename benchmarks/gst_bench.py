#!/usr/bin/python3
"""GStreamer benchmark (issue 13): 1920x1080 BGR frames between two processes.

    benchmarks/gst_bench.py            full run: every row --reps times (default 5);
                                       table on stdout and benchmarks/results/gst-<date>.md
    benchmarks/gst_bench.py --quick    check (seconds): each pipeline runs and delivers
                                       every frame; exit status 1 otherwise

Rows, each process pinned to its own CPU when there are two:
  framering   videotestsrc ! frameringsink  +  frameringsrc ! fakesink   (broadcast ring,
              4 slots, made by `framering create`; the source attached first)
  shm         videotestsrc ! shmsink        +  shmsrc ! caps ! fakesink   (GStreamer's own;
              fakesink without last-sample, or shmsink never finishes: see row_shm)
  in-process  videotestsrc ! fakesink       (one process: the floor, the source's own fill)
videotestsrc draws a black frame (pattern=black): it renders it once and copies it into
each buffer, so the fill is one 6 MB copy per frame, into a slot for frameringsink.

How it measures. Each repetition runs each row twice, with N1 and N2 frames (300 and
3000), and takes the difference: frames/s = (N2 - N1) / (wall2 - wall1), CPU per frame =
(cpu2 - cpu1) / (N2 - N1) for each process (user + system, from wait4). Starting
gst-launch-1.0, negotiating and tearing down cost the same in both runs and cancel out.
Wall time runs from the start of the process started last (the consumer that waits for
the ring, or the shmsink that waits for a client, is started before) until both exited.
Cells are medians over the repetitions, with (min-max).

It builds what it needs in build-gst-bench/ (release) and installs the Debian packages
it lacks (tools/deps.sh, plus gstreamer1.0-plugins-bad for shmsink/shmsrc).
"""
import argparse
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W, H = 1920, 1080
FRAME_BYTES = W * H * 3
CAPS = "video/x-raw,format=BGR,width=%d,height=%d" % (W, H)
SRC = ["videotestsrc", "pattern=black"]
TARGETS = {"floor": 0.9, "shm": 1.3}


def say(msg):
    print("gst_bench: " + msg, file=sys.stderr, flush=True)


def ensure_packages():
    script = ('. "%s/tools/deps.sh" && fr_ensure_packages "${FR_BUILD_PACKAGES[@]}" '
              'gstreamer1.0-plugins-bad' % ROOT)
    subprocess.run(["bash", "-c", script], check=True)


def build(builddir):
    if os.path.exists(os.path.join(builddir, "build.ninja")):
        subprocess.run(["meson", "setup", "--reconfigure", builddir, ROOT],
                       check=True, stdout=subprocess.DEVNULL)
    else:
        subprocess.run(["meson", "setup", builddir, ROOT, "--buildtype=release",
                        "-Dtests=false", "-Dbenchmarks=false", "-Dtools=true",
                        "-Dgstreamer=enabled"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", builddir, "gst/libgstframering.so", "tools/framering"],
                   check=True, stdout=subprocess.DEVNULL)


class Proc:
    """A child pinned to @cpu; stdout to a file; rusage from wait4."""

    def __init__(self, args, cpu, out_path, env):
        ncpu = len(os.sched_getaffinity(0))
        pin = (lambda: os.sched_setaffinity(0, {cpu})) if ncpu >= 2 else None
        self.out_path = out_path
        with open(out_path, "wb") as out:
            self.p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                      preexec_fn=pin)
        self.status = None
        self.cpu_s = None
        self.end = None

    def wait(self, deadline):
        """Reap it (kill it at @deadline); True when it exited by itself."""
        while True:
            pid, status, ru = os.wait4(self.p.pid, os.WNOHANG)
            if pid:
                self.end = time.monotonic()
                self.status = os.waitstatus_to_exitcode(status)
                self.cpu_s = ru.ru_utime + ru.ru_stime
                self.p.returncode = self.status
                return True
            if time.monotonic() > deadline:
                self.p.send_signal(signal.SIGKILL)
                os.wait4(self.p.pid, 0)
                self.p.returncode = -9
                self.status = -9
                return False
            time.sleep(0.002)

    def output(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")


def count_chains(text):
    """Buffers fakesink saw (silent=false, gst-launch -v): one line each."""
    return sum(1 for line in text.splitlines()
               if "chain" in line and "(%d bytes" % FRAME_BYTES in line)


class Bench:
    def __init__(self, builddir, quick):
        self.builddir = builddir
        self.quick = quick
        self.fr = os.path.join(builddir, "tools", "framering")
        self.tmp = tempfile.mkdtemp(prefix="gst-bench-")
        self.env = dict(os.environ)
        self.env["GST_PLUGIN_PATH"] = os.path.join(builddir, "gst")
        self.env["GST_REGISTRY"] = os.path.join(builddir, "gst-bench-registry.bin")
        self.env.pop("GST_DEBUG", None)
        self.timeout = 30 if quick else 120
        self.seq = 0

    def gst(self, *elements):
        return ["gst-launch-1.0"] + (["-v"] if self.quick else ["-q"]) + list(elements)

    def sink_tail(self):
        # quick: fakesink reports every buffer, so that the frames can be counted
        return ["fakesink", "silent=false"] if self.quick else ["fakesink"]

    def out(self, name):
        self.seq += 1
        return os.path.join(self.tmp, "%s-%d.txt" % (name, self.seq))

    def wait_until(self, what, check, bound_s=20):
        end = time.monotonic() + bound_s
        while time.monotonic() < end:
            if check():
                return
            time.sleep(0.01)
        raise RuntimeError("never happened: " + what)

    def consumer_attached(self, ring):
        r = subprocess.run([self.fr, "info", "--json", ring], capture_output=True, text=True)
        if r.returncode:
            return False
        return any(p["role"] == "consumer" and p["alive"] for p in json.loads(r.stdout)["peers"])

    # Each row returns {"wall": s, "cpu": {process: s}, "frames": delivered or None}.

    def row_framering(self, n):
        ring = "fr-gstbench-%d-%d" % (os.getpid(), self.seq)
        subprocess.run([self.fr, "create", ring, "--mode", "broadcast", "--slots", "4",
                        "--size", "%dx%d" % (W, H), "--format", "bgr24"],
                       check=True, stdout=subprocess.DEVNULL)
        try:
            cons = Proc(self.gst("frameringsrc", "ring=" + ring, "!", *self.sink_tail()), 1,
                        self.out("fr-cons"), self.env)
            self.wait_until("frameringsrc attached", lambda: self.consumer_attached(ring))
            t0 = time.monotonic()
            prod = Proc(self.gst(*SRC, "num-buffers=%d" % n, "!", CAPS, "!",
                                 "frameringsink", "ring=" + ring), 0, self.out("fr-prod"),
                        self.env)
            return self.finish(t0, {"producer": prod, "consumer": cons}, cons)
        finally:
            subprocess.run([self.fr, "rm", "--force", ring], capture_output=True)

    def row_shm(self, n):
        sock = os.path.join(self.tmp, "shm-%d.sock" % self.seq)
        prod = Proc(self.gst(*SRC, "num-buffers=%d" % n, "!", CAPS, "!", "shmsink",
                             "socket-path=" + sock, "shm-size=%d" % (64 << 20),
                             "wait-for-connection=true", "sync=false"),
                    0, self.out("shm-prod"), self.env)
        self.wait_until("shmsink's socket", lambda: os.path.exists(sock))
        t0 = time.monotonic()
        # shmsrc needs its caps written by hand. shmsink waits at its end for every
        # buffer to come back, and fakesink would keep its last one: without
        # last-sample the pair ends (shm has no end of stream: once shmsink is done
        # both sides report the closed socket as an error, so their status is ignored;
        # --quick counts the frames instead).
        cons = Proc(self.gst("shmsrc", "socket-path=" + sock, "is-live=true", "!",
                             CAPS + ",framerate=30/1", "!", *self.sink_tail(),
                             "enable-last-sample=false"), 1, self.out("shm-cons"), self.env)
        return self.finish(t0, {"producer": prod, "consumer": cons}, cons,
                           may_fail=("producer", "consumer"))

    def row_inprocess(self, n):
        t0 = time.monotonic()
        p = Proc(self.gst(*SRC, "num-buffers=%d" % n, "!", CAPS, "!", *self.sink_tail()), 0,
                 self.out("inproc"), self.env)
        return self.finish(t0, {"process": p}, p)

    def finish(self, t0, procs, counter, may_fail=()):
        deadline = time.monotonic() + self.timeout
        for name, p in procs.items():
            if not p.wait(deadline):
                raise RuntimeError("%s did not end within %d s: %s"
                                   % (name, self.timeout, p.output()[-400:]))
        for name, p in procs.items():
            if p.status != 0 and name not in may_fail:
                raise RuntimeError("%s exited %d: %s" % (name, p.status, p.output()[-400:]))
        wall = max(p.end for p in procs.values()) - t0
        frames = count_chains(counter.output()) if self.quick else None
        return {"wall": wall, "cpu": {k: p.cpu_s for k, p in procs.items()}, "frames": frames}


ROWS = [
    ("framering", "videotestsrc ! frameringsink + frameringsrc ! fakesink", "row_framering"),
    ("shm", "videotestsrc ! shmsink + shmsrc ! caps ! fakesink", "row_shm"),
    ("in-process", "videotestsrc ! fakesink (one process)", "row_inprocess"),
]


def quick(bench):
    n, failed = 30, False
    for key, desc, fn in ROWS:
        try:
            r = getattr(bench, fn)(n)
            ok = r["frames"] == n
            print("%-10s %-58s %d/%d frames in %.2f s%s" % (
                key, desc, r["frames"], n, r["wall"], "" if ok else "  FAILED"))
            failed |= not ok
        except RuntimeError as e:
            print("%-10s %-58s FAILED: %s" % (key, desc, e))
            failed = True
    return 1 if failed else 0


def med(xs):
    return statistics.median(xs), min(xs), max(xs)


def fmt_range(xs, f):
    m, lo, hi = med(xs)
    return "%s (%s-%s)" % (f(m), f(lo), f(hi))


def full(bench, reps, n1, n2):
    per = {key: {"fps": [], "cpu": {}} for key, _, _ in ROWS}
    for rep in range(reps):
        for key, _, fn in ROWS:  # rows interleaved: a slow spell hits them all
            a = getattr(bench, fn)(n1)
            b = getattr(bench, fn)(n2)
            dt = b["wall"] - a["wall"]
            per[key]["fps"].append((n2 - n1) / dt if dt > 0 else float("nan"))
            for proc in a["cpu"]:
                per[key]["cpu"].setdefault(proc, []).append(
                    (b["cpu"][proc] - a["cpu"][proc]) / (n2 - n1) * 1e6)
            say("rep %d/%d %s: %.0f frames/s" % (rep + 1, reps, key, per[key]["fps"][-1]))

    def total_cpu(key):
        cpus = per[key]["cpu"]
        return [sum(v[i] for v in cpus.values()) for i in range(reps)]

    lines = []
    lines.append("**1920x1080 BGR, videotestsrc pattern=black; median (min-max) of %d "
                 "repetitions, each the difference of a %d- and a %d-frame run**"
                 % (reps, n2, n1))
    lines.append("")
    lines.append("| pipeline | frames/s | CPU µs/frame: producer | consumer | both |")
    lines.append("|---|---:|---:|---:|---:|")
    f0 = lambda v: "%.0f" % v
    for key, desc, _ in ROWS:
        cpus = per[key]["cpu"]
        if "process" in cpus:
            prod, cons = fmt_range(cpus["process"], f0), "-"
        else:
            prod, cons = fmt_range(cpus["producer"], f0), fmt_range(cpus["consumer"], f0)
        lines.append("| %s: `%s` | %s | %s | %s | %s |" % (
            key, desc, fmt_range(per[key]["fps"], f0), prod, cons,
            fmt_range(total_cpu(key), f0)))
    fr = med(per["framering"]["fps"])[0]
    floor = med(per["in-process"]["fps"])[0]
    shm = med(per["shm"]["fps"])[0]
    fr_cpu = med(total_cpu("framering"))[0]
    shm_cpu = med(total_cpu("shm"))[0]
    verdict = lambda ok: "met" if ok else "MISSED"
    lines.append("")
    lines.append("| target (issue 13), same run | measured | |")
    lines.append("|---|---:|---|")
    lines.append("| framering >= %.1fx the in-process floor (frames/s) | %.2fx (%.0f vs %.0f) "
                 "| %s |" % (TARGETS["floor"], fr / floor, fr, floor,
                             verdict(fr >= TARGETS["floor"] * floor)))
    lines.append("| framering >= %.1fx shmsink/shmsrc (frames/s) | %.2fx (%.0f vs %.0f) | %s |"
                 % (TARGETS["shm"], fr / shm, fr, shm, verdict(fr >= TARGETS["shm"] * shm)))
    lines.append("| framering CPU per frame < shmsink/shmsrc (both processes) "
                 "| %.0f vs %.0f µs | %s |" % (fr_cpu, shm_cpu, verdict(fr_cpu < shm_cpu)))
    return "\n".join(lines) + "\n"


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gst = subprocess.run(["gst-launch-1.0", "--version"], capture_output=True, text=True)
    return "%s, %d CPUs; %s" % (model, os.cpu_count() or 0,
                                gst.stdout.splitlines()[1] if gst.returncode == 0 else "?")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="check that each pipeline runs")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--frames", type=int, default=3000, help="frames of the long run")
    ap.add_argument("--short", type=int, default=300, help="frames of the short run")
    ap.add_argument("--build", default=os.path.join(ROOT, "build-gst-bench"),
                    help="build directory (made when missing)")
    ap.add_argument("--no-setup", action="store_true",
                    help="no package installation, no build (use --build as it is)")
    args = ap.parse_args()
    if args.frames <= args.short:
        ap.error("--frames must be more than --short")

    if not args.no_setup:
        ensure_packages()
        build(args.build)
    bench = Bench(args.build, args.quick)
    # Warm-up, not measured: the plugin registry is scanned once.
    subprocess.run(["gst-inspect-1.0", "frameringsink"], env=bench.env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if args.quick:
            return quick(bench)
        report = full(bench, args.reps, args.short, args.frames)
    finally:
        subprocess.run(["rm", "-rf", bench.tmp])
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    head = "# GStreamer elements, %s\n\nMachine: %s\n\n" % (stamp, machine())
    print(head + report)
    os.makedirs(os.path.join(ROOT, "benchmarks", "results"), exist_ok=True)
    path = os.path.join(ROOT, "benchmarks", "results", "gst-%s.md" % stamp)
    with open(path, "w") as f:
        f.write(head + report)
    say("written to " + os.path.relpath(path, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
