"""examples/python/motion.py on a live broadcast ring: a white square moves
10 pixels right per frame, and the example reports where it moved."""
import os
import re
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy", reason="python3-numpy is not installed")
import framering as fr  # noqa: E402
from conftest import SOURCE_ROOT  # noqa: E402
from frtest import wait_for  # noqa: E402

MOTION = os.path.join(SOURCE_ROOT, "examples", "python", "motion.py")


def consumer_delivered(ring):
    return sum(p["delivered"] for p in ring.info()["peers"] if p["role"] == "consumer")


@pytest.mark.parametrize("fmt", ["bgr24", "gray8", "nv12"])
def test_motion_reports_the_moving_square(name, fmt):
    frames = 12
    with fr.create(name, width=160, height=120, format=fmt, mode="broadcast", slots=8) as cam:
        proc = subprocess.Popen([sys.executable, MOTION, name, "--timeout", "10"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: cam.info()["live_peers"] == 2, what="motion.py to attach")
            for i in range(frames):
                with cam.claim(timeout=5.0) as f:
                    y = f.planes[0]  # gray8: the array; bgr24: (H, W, 3); nv12: Y
                    y[:] = 0
                    y[40:56, 10 * i:10 * i + 16] = 255
                    del y
                # One frame at a time: a latest consumer would rightly skip ahead.
                wait_for(lambda: consumer_delivered(cam) == i + 1, what=f"frame {i} read")
        except BaseException:
            proc.kill()
            raise
    out, err = proc.communicate(timeout=30)  # the camera closed: end of stream
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == f"frame 0: first frame, 160x120 {fmt}"
    for i in range(1, frames):  # one region: the square, where it was and where it is
        assert re.fullmatch(rf"frame {i}: motion x {10 * (i - 1)}-{10 * i + 15} y 40-55 "
                            r"\(\d+ px\)", lines[i]), lines[i]
    assert lines[frames] == f"{frames} frames, {frames - 1} with motion, 0 skipped to stay current"
