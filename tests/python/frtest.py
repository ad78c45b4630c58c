"""Helpers shared by the Python binding's tests."""
import os
import subprocess
import sys
import time

import numpy as np


def python_child(code, **kw):
    """Start `code` in another interpreter (this one, with the same module path)."""
    return subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ), **kw)


def wait_for(pred, timeout=10.0, what="condition"):
    """Poll `pred` until it is true; fail the test after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def checksum(a):
    """framering-pypeer's checksum of a frame: the sum of b[j] * (j + 1) over its
    bytes, modulo 2^64, as 16 hex digits."""
    b = np.asarray(a).reshape(-1)
    w = np.arange(1, b.size + 1, dtype=np.uint64)
    return "%016x" % int(np.dot(b.astype(np.uint64), w))


def segment_mapping(name):
    """(start, end) of every mapping of /dev/shm/NAME in this process."""
    spans = []
    with open("/proc/self/maps") as fh:
        for line in fh:
            if line.rstrip().split(" ")[-1] in (f"/dev/shm/{name}",) or \
                    f"/dev/shm/{name} (deleted)" in line:
                lo, hi = line.split()[0].split("-")
                spans.append((int(lo, 16), int(hi, 16)))
    return spans
