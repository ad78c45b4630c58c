#!/usr/bin/python3
"""Motion detection by frame differencing on a live framering segment, numpy only.

    motion.py NAME [--threshold 25] [--min-pixels 16] [--scale 2] [--frames N]
              [--timeout SECONDS]

For every frame, prints the regions that moved since the previous frame,
largest first (pixels that changed, grouped into 4-connected clusters of
16x16-pixel cells):

    frame 42: motion x 310-389 y 120-199 (1604 px), x 8-71 y 440-463 (212 px)
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


def moving_regions(prev, cur, threshold, min_pixels, cell):
    """[(pixels, x0, x1, y0, y1)] of the clusters of changed pixels, largest first."""
    changed = np.abs(cur - prev) > threshold
    h, w = changed.shape
    gh, gw = -(-h // cell), -(-w // cell)
    grid = np.zeros((gh * cell, gw * cell), dtype=bool)
    grid[:h, :w] = changed
    counts = grid.reshape(gh, cell, gw, cell).sum(axis=(1, 3))
    labels = np.zeros((gh, gw), dtype=np.int32)
    regions = []
    for gy, gx in zip(*np.nonzero(counts >= 2)):  # a lone changed pixel is noise
        if labels[gy, gx]:
            continue
        label = len(regions) + 1
        labels[gy, gx] = label
        stack, n = [(gy, gx)], 0
        ys, xs = [], []
        while stack:  # flood fill over the few moving cells
            y, x = stack.pop()
            n += int(counts[y, x])
            ys.append(y)
            xs.append(x)
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < gh and 0 <= nx < gw and not labels[ny, nx] and counts[ny, nx] >= 2:
                    labels[ny, nx] = label
                    stack.append((ny, nx))
        if n < min_pixels:
            continue
        # The changed pixels' own bounds, within the cluster's cells.
        y0, y1, x0, x1 = min(ys) * cell, (max(ys) + 1) * cell, min(xs) * cell, (max(xs) + 1) * cell
        mine = grid[y0:y1, x0:x1] & np.kron(labels[min(ys):max(ys) + 1, min(xs):max(xs) + 1]
                                            == label, np.ones((cell, cell), dtype=bool))
        rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
        regions.append((n, x0 + cols[0], x0 + cols[-1], y0 + rows[0], y0 + rows[-1]))
    return sorted(regions, reverse=True)


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
                s = args.scale
                regions = moving_regions(prev, cur, args.threshold, args.min_pixels,
                                         max(1, 16 // s))
                if not regions:
                    print(f"frame {seq}: still", flush=True)
                else:
                    moving += 1
                    print(f"frame {seq}: motion " + ", ".join(
                        f"x {x0 * s}-{min(x1 * s + s - 1, width - 1)} "
                        f"y {y0 * s}-{min(y1 * s + s - 1, height - 1)} ({n} px)"
                        for n, x0, x1, y0, y1 in regions[:4]), flush=True)
            prev = cur
        stats = rx.stats()
    print(f"{frames} frames, {moving} with motion, {stats['dropped']} skipped to stay current")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
