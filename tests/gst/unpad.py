#!/usr/bin/python3
"""unpad.py FORMAT WIDTH HEIGHT FILE: print FILE's frames without row padding.

FILE holds raw frames in GStreamer's default layout for FORMAT (GstVideoInfo:
rows 4-byte aligned, planes one after the other). The padding bytes of such a
frame are whatever the buffer's memory held, so two correct files may differ
there; this keeps only the visible bytes of every row of every plane."""
import sys


def ru(n, a):
    return (n + a - 1) // a * a


def planes(fmt, w, h):
    """[(offset, stride, row_bytes, rows)] and the frame size."""
    bpp = {"GRAY8": 1, "GRAY16_LE": 2, "RGB": 3, "BGR": 3, "RGBA": 4, "BGRA": 4, "YUY2": 2}
    if fmt in bpp:
        stride = ru(w * bpp[fmt], 4)
        return [(0, stride, w * bpp[fmt], h)], stride * h
    h2 = ru(h, 2)
    if fmt == "NV12":
        s = ru(w, 4)
        return [(0, s, w, h), (s * h2, s, ru(w, 2), h2 // 2)], s * h2 * 3 // 2
    if fmt == "I420":
        s0, s1 = ru(w, 4), ru(ru(w, 2) // 2, 4)
        u = s0 * h2
        v = u + s1 * (h2 // 2)
        cw = ru(w, 2) // 2
        return [(0, s0, w, h), (u, s1, cw, h2 // 2), (v, s1, cw, h2 // 2)], v + s1 * (h2 // 2)
    sys.exit("unpad.py: unknown format " + fmt)


def main():
    fmt, w, h, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    layout, size = planes(fmt, w, h)
    data = open(path, "rb").read()
    if len(data) % size:
        sys.exit("unpad.py: %s: %d bytes is not a whole number of %d-byte frames"
                 % (path, len(data), size))
    out = sys.stdout.buffer
    for f in range(0, len(data), size):
        for off, stride, row, rows in layout:
            for r in range(rows):
                start = f + off + r * stride
                out.write(data[start:start + row])


main()
