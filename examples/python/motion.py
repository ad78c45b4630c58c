#!/usr/bin/python3
"""Motion detection by frame differencing on a live framering segment, numpy only.

    motion.py NAME [--threshold 25] [--min-pixels 16] [--scale 2] [--frames N]
              [--timeout SECONDS]

For every frame, prints the region that moved since the previous frame:

    frame 42: motion x 310-389 y 120-199 (1604 px)
    frame 43: still

The luma of each frame is read straight from the slot (every `scale`-th pixel
of every `scale`-th row: a strided view, no copy of the frame), and only that
small luma image is kept for the next comparison. On a broadcast segment it
attaches as a latest consumer, so it never holds the camera back. Stops at the
end of the stream, after --frames frames, or when no frame came for --timeout
seconds.
"""
import argparse
import sys

import numpy as np

import framering as fr


def luma(frame, scale):
    """The frame's luma, every `scale`-th pixel, as a new int16 array.

    Every array made from frame.array is gone when this returns, as it must be
    before the frame is released.
    """
    fmt = frame.format
    if fmt in ("nv12", "i420"):
        return frame.planes[0][::scale, ::scale].astype(np.int16)
    a = frame.array[::scale, ::scale]
    if fmt == "gray8":
        return a.astype(np.int16)
    if fmt == "gray16":
        return (a >> 8).astype(np.int16)
    if fmt == "yuyv":
        return a[..., 0].astype(np.int16)
    if fmt in ("rgb24", "rgba32"):
        r, g, b = a[..., 0], a[..., 1], a[..., 2]
    elif fmt in ("bgr24", "bgra32"):
        b, g, r = a[..., 0], a[..., 1], a[..., 2]
    else:
        raise ValueError(f"motion.py needs pixels, not {fmt} frames")
    # BT.601 weights in 8-bit fixed point.
    y = 77 * r.astype(np.int32) + 150 * g.astype(np.int32) + 29 * b.astype(np.int32)
    return (y >> 8).astype(np.int16)


def moving_region(prev, cur, threshold, min_pixels):
    """(x0, x1, y0, y1, pixels) of the pixels that changed, or None."""
    changed = np.abs(cur - prev) > threshold
    n = int(np.count_nonzero(changed))
    if n < min_pixels:
        return None
    rows = np.flatnonzero(changed.any(axis=1))
    cols = np.flatnonzero(changed.any(axis=0))
    return cols[0], cols[-1], rows[0], rows[-1], n


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("name", help="segment name")
    p.add_argument("--threshold", type=int, default=25, help="luma change that counts")
    p.add_argument("--min-pixels", type=int, default=16,
                   help="changed pixels (at the reduced scale) that make motion")
    p.add_argument("--scale", type=int, default=2, help="look at every Nth pixel and row")
    p.add_argument("--frames", type=int, default=0, help="stop after N frames (0: never)")
    p.add_argument("--timeout", type=float, default=None,
                   help="give up when no frame came for this many seconds")
    args = p.parse_args()

    latest = fr.stat(args.name)["mode"] == "broadcast"
    prev = None
    frames = moving = 0
    with fr.open(args.name, "consumer", latest=latest) as rx:
        while not args.frames or frames < args.frames:
            try:
                frame = rx.acquire(timeout=args.timeout)
            except fr.EndOfStream:
                break
            except TimeoutError:
                print(f"no frame for {args.timeout} s", file=sys.stderr)
                break
            with frame:
                seq, width, height, fmt = frame.seq, frame.width, frame.height, frame.format
                cur = luma(frame, args.scale)
            frames += 1
            if prev is None:
                print(f"frame {seq}: first frame, {width}x{height} {fmt}", flush=True)
            else:
                region = moving_region(prev, cur, args.threshold, args.min_pixels)
                if region is None:
                    print(f"frame {seq}: still", flush=True)
                else:
                    moving += 1
                    s = args.scale
                    x0, x1, y0, y1, n = region
                    print(f"frame {seq}: motion x {x0 * s}-{min(x1 * s + s - 1, width - 1)} "
                          f"y {y0 * s}-{min(y1 * s + s - 1, height - 1)} ({n} px)",
                          flush=True)
            prev = cur
        stats = rx.stats()
    print(f"{frames} frames, {moving} with motion, {stats['dropped']} skipped to stay current")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
