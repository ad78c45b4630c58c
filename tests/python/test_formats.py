"""Every format's array: shape, dtype and strides, packed and with a padded
stride, on the producer's side and the consumer's; planes of nv12 and i420.
Pixels written through the array land at the bytes the format's layout says."""
import pytest

np = pytest.importorskip("numpy", reason="python3-numpy is not installed")
import framering as fr  # noqa: E402

W, H = 10, 6  # small and even, so that every format takes it

# format: (dtype, shape, bytes per pixel of the first plane)
PACKED = {
    "gray8": (np.uint8, (H, W), 1),
    "gray16": (np.uint16, (H, W), 2),
    "rgb24": (np.uint8, (H, W, 3), 3),
    "bgr24": (np.uint8, (H, W, 3), 3),
    "rgba32": (np.uint8, (H, W, 4), 4),
    "bgra32": (np.uint8, (H, W, 4), 4),
    "yuyv": (np.uint8, (H, W, 2), 2),
}


def strides_of(fmt, stride):
    dtype, shape, bpp = PACKED[fmt]
    return (stride, bpp) if len(shape) == 2 else (stride, bpp, 1)


@pytest.mark.parametrize("stride", [0, 96], ids=["default-stride", "padded-stride"])
@pytest.mark.parametrize("fmt", sorted(PACKED))
def test_packed_formats(name, fmt, stride):
    dtype, shape, bpp = PACKED[fmt]
    with fr.create(name, width=W, height=H, format=fmt, stride=stride) as cam, \
            fr.open(name, "consumer") as rx:
        s = stride or cam.stride
        assert s == (stride or 64)  # the default: W * bpp rounded up to 64
        with cam.claim(0) as f:
            a = f.array
            assert (a.shape, a.dtype, a.strides) == (shape, dtype, strides_of(fmt, s))
            assert f.stride == s and f.format == fmt
            assert a.flags.writeable and not a.flags.owndata
            memoryview(f).cast("B")[:] = b"\0" * f.bytes
            values = np.arange(a.size, dtype=np.uint32).reshape(shape)
            a[:] = (values * 7 + 1).astype(dtype)
            expect = a.copy()
            raw = np.frombuffer(memoryview(f), dtype=np.uint8).copy()
            del a
        # Pixel (y, x) starts at y * stride + x * bpp: the padding stays untouched.
        for y in range(H):
            row = raw[y * s:y * s + W * bpp]
            assert row.tobytes() == np.ascontiguousarray(expect[y]).tobytes()
            assert not raw[y * s + W * bpp:(y + 1) * s].any()
        with rx.acquire(0) as g:
            b = g.array
            assert (b.shape, b.dtype, b.strides) == (shape, dtype, strides_of(fmt, s))
            assert not b.flags.writeable
            assert np.array_equal(b, expect)
            del b


@pytest.mark.parametrize("stride", [0, 32], ids=["default-stride", "padded-stride"])
@pytest.mark.parametrize("fmt", ["nv12", "i420"])
def test_planar_formats(name, fmt, stride):
    with fr.create(name, width=W, height=H, format=fmt, stride=stride) as cam, \
            fr.open(name, "consumer") as rx:
        s = stride or cam.stride
        with cam.claim(0) as f:
            a = f.array
            # The whole frame, H * 3/2 rows of stride bytes.
            assert (a.shape, a.dtype, a.strides) == ((H * 3 // 2, s), np.uint8, (s, 1))
            a[:] = 0
            planes = f.planes
            y = planes[0]
            assert (y.shape, y.strides) == ((H, W), (s, 1))
            y[:] = 10
            if fmt == "nv12":
                assert len(planes) == 2
                uv = planes[1]
                assert (uv.shape, uv.strides) == ((H // 2, W // 2, 2), (s, 2, 1))
                uv[..., 0] = 20
                uv[..., 1] = 30
            else:
                assert len(planes) == 3
                u, v = planes[1], planes[2]
                assert u.shape == v.shape == (H // 2, W // 2)
                assert u.strides == v.strides == (s // 2, 1)
                u[:] = 20
                v[:] = 30
            raw = np.frombuffer(memoryview(f), dtype=np.uint8).copy()
            assert f.bytes == s * H * 3 // 2
            del a, planes, y
            if fmt == "nv12":
                del uv
            else:
                del u, v
        for r in range(H):
            assert (raw[r * s:r * s + W] == 10).all() and not raw[r * s + W:(r + 1) * s].any()
        c = s * H
        if fmt == "nv12":
            for r in range(H // 2):
                row = raw[c + r * s:c + r * s + W]
                assert (row[0::2] == 20).all() and (row[1::2] == 30).all()
        else:
            h = s // 2
            for r in range(H // 2):
                assert (raw[c + r * h:c + r * h + W // 2] == 20).all()
                vr = c + h * (H // 2) + r * h
                assert (raw[vr:vr + W // 2] == 30).all()
        with rx.acquire(0) as g:
            planes = g.planes
            assert (planes[0] == 10).all()
            if fmt == "nv12":
                assert (planes[1][..., 0] == 20).all() and (planes[1][..., 1] == 30).all()
            else:
                assert (planes[1] == 20).all() and (planes[2] == 30).all()
            assert g.array.shape == (H * 3 // 2, s)
            del planes


def test_opencv_layout_when_packed(name):
    """With stride == width, nv12's array is the (H * 3/2, W) image OpenCV converts."""
    with fr.create(name, width=64, height=4, format="nv12") as cam:
        with cam.claim(0) as f:
            assert f.stride == 64 and f.array.shape == (6, 64)
            assert f.array.flags.c_contiguous


@pytest.mark.parametrize("fmt", sorted(PACKED) + ["nv12", "i420"])
def test_planes_of_single_plane_formats(name, fmt):
    with fr.create(name, width=W, height=H, format=fmt) as cam:
        with cam.claim(0) as f:
            p = f.planes
            if fmt in ("nv12", "i420"):
                assert len(p) in (2, 3)
            else:
                assert len(p) == 1 and p[0].shape == f.array.shape
                assert np.shares_memory(p[0], f.array)
            del p


def test_broadcast_consumers_see_the_same_slot(name):
    with fr.create(name, width=W, height=H, format="rgb24", mode="broadcast", slots=4) as cam, \
            fr.open(name, "consumer") as a, fr.open(name, "consumer") as b:
        with cam.claim(0) as f:
            f.array[:] = 77
        fa, fb = a.acquire(0), b.acquire(0)
        assert fa.seq == fb.seq == 0
        assert (fa.array == 77).all() and (fb.array == 77).all()
        fa.release()
        fb.release()
