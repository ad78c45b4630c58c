/*
 * framering.Frame: the frame a ring holds, and numpy arrays that are its slot.
 *
 * Lifetime rule: an array of a frame (frame.array, frame.planes, and every
 * numpy view made from them) holds a Pin as its base, and a buffer of it
 * (memoryview(frame)) counts too. While any is alive the frame cannot be
 * published, cancelled or released, nor its ring closed: BufferError, as
 * mmap.close() raises with exports alive. So no array can outlive the time
 * the slot is ours, and none can read a slot the producer is rewriting.
 */
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include "pyfr.h"

#include <errno.h>
#include <numpy/arrayobject.h>

int pyfr_numpy_init(void)
{
	import_array1(-1);
	return 0;
}

/* ---- pins ----------------------------------------------------------------- */

/* The numpy base of an array of a frame: counts as one view while alive. */
struct pyfr_pin {
	PyObject_HEAD
	struct pyfr_frame *frame; /* strong */
};

static PyObject *pin_new(struct pyfr_frame *fr)
{
	struct pyfr_pin *p = PyObject_New(struct pyfr_pin, &pyfr_pin_type);
	if (!p)
		return NULL;
	p->frame = (struct pyfr_frame *)Py_NewRef(fr);
	fr->views++;
	return (PyObject *)p;
}

static void pin_dealloc(struct pyfr_pin *p)
{
	p->frame->views--;
	Py_DECREF(p->frame);
	PyObject_Free(p);
}

PyTypeObject pyfr_pin_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "framering._Pin",
	.tp_basicsize = sizeof(struct pyfr_pin),
	.tp_dealloc = (destructor)pin_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Keeps a frame's slot from being handed back while an array of it lives.",
};

/* ---- frames --------------------------------------------------------------- */

static const char *end_name(const struct pyfr_frame *fr, bool cancel)
{
	return !fr->producer ? "release" : cancel ? "cancel" : "publish";
}

struct pyfr_frame *pyfr_frame_new(struct pyfr_ring *r, const struct fr_frame *f)
{
	struct pyfr_frame *fr = PyObject_New(struct pyfr_frame, &pyfr_frame_type);
	if (!fr)
		return NULL;
	fr->ring = (struct pyfr_ring *)Py_NewRef(r);
	fr->f = *f;
	fr->state = PYFR_HELD;
	fr->producer = r->role == FR_PRODUCER;
	fr->from_iter = false;
	fr->views = 0;
	fr->stride = f->stride ? f->stride : fr_format_default_stride(f->format, f->width);
	return fr;
}

void pyfr_frame_forget(struct pyfr_frame *fr)
{
	fr->state = PYFR_ENDED;
	pyfr_ring_clear_held(fr->ring, fr);
}

int pyfr_frame_end(struct pyfr_frame *fr, bool cancel)
{
	struct pyfr_ring *r = fr->ring;
	if (fr->state != PYFR_HELD || r->held != fr || !r->ring) {
		PyErr_Format(PyExc_ValueError, "%s: frame %llu was already ended",
			     end_name(fr, cancel), (unsigned long long)fr->f.seq);
		return -1;
	}
	if (fr->views > 0) {
		PyErr_Format(PyExc_BufferError,
			     "cannot %s frame %llu: %zd array(s) or buffer(s) of it are still "
			     "alive (del them first, or keep a .copy())",
			     end_name(fr, cancel), (unsigned long long)fr->f.seq, fr->views);
		return -1;
	}
	int rc;
	if (!fr->producer)
		rc = fr_release(r->ring, &fr->f);
	else if (cancel)
		rc = fr_cancel(r->ring, &fr->f);
	else
		rc = fr_publish(r->ring, &fr->f);
	if (rc == -EINVAL && fr->producer && !cancel) {
		/* The metadata does not fit the slot; the frame stays claimed. */
		pyfr_raise_msg(rc, r->name, "publish: frame metadata does not fit the slot");
		return -1;
	}
	pyfr_frame_forget(fr);
	if (rc < 0) {
		pyfr_raise(rc, end_name(fr, cancel), r->name);
		return -1;
	}
	return 0;
}

/* Publish, cancel or release from Python: own the handle for the call. */
static PyObject *end(struct pyfr_frame *fr, bool cancel)
{
	if (fr->state != PYFR_HELD) {
		PyErr_Format(PyExc_ValueError, "%s: frame %llu was already ended",
			     end_name(fr, cancel), (unsigned long long)fr->f.seq);
		return NULL;
	}
	if (pyfr_ring_take(fr->ring) < 0)
		return NULL;
	int rc = pyfr_frame_end(fr, cancel);
	pyfr_ring_give(fr->ring);
	if (rc < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *frame_publish(struct pyfr_frame *fr, PyObject *unused)
{
	(void)unused;
	if (!fr->producer)
		return pyfr_raise_msg(EINVAL, fr->ring->name,
				      "publish: this frame was acquired; release it");
	return end(fr, false);
}

static PyObject *frame_cancel(struct pyfr_frame *fr, PyObject *unused)
{
	(void)unused;
	if (!fr->producer)
		return pyfr_raise_msg(EINVAL, fr->ring->name,
				      "cancel: this frame was acquired; release it");
	return end(fr, true);
}

static PyObject *frame_release(struct pyfr_frame *fr, PyObject *unused)
{
	(void)unused;
	if (fr->producer)
		return pyfr_raise_msg(EINVAL, fr->ring->name,
				      "release: this frame was claimed; publish or cancel it");
	return end(fr, false);
}

static PyObject *frame_enter(struct pyfr_frame *fr, PyObject *unused)
{
	(void)unused;
	if (fr->state != PYFR_HELD)
		return PyErr_Format(PyExc_ValueError, "frame %llu was already ended",
				    (unsigned long long)fr->f.seq);
	return Py_NewRef(fr);
}

/* Publish on a normal exit, cancel on an exception, release a consumer's
 * frame either way; nothing when the body already ended it. */
static PyObject *frame_exit(struct pyfr_frame *fr, PyObject *args)
{
	PyObject *type = Py_None, *value, *tb;
	if (!PyArg_UnpackTuple(args, "__exit__", 0, 3, &type, &value, &tb))
		return NULL;
	if (fr->state != PYFR_HELD)
		Py_RETURN_FALSE;
	PyObject *rc = end(fr, type != Py_None);
	if (!rc)
		return NULL;
	Py_DECREF(rc);
	Py_RETURN_FALSE;
}

/*
 * A frame dropped while held gives its slot back (cancelled if claimed). No
 * array of it can be alive: each holds the frame. Nothing to report: -ECHILD
 * means a fork() child's copy (the parent owns the frame), -EPROTO a frame
 * already taken from us by a scribble.
 */
static void frame_dealloc(struct pyfr_frame *fr)
{
	if (fr->state == PYFR_HELD) {
		struct pyfr_ring *r = fr->ring;
		PyObject *type, *value, *tb;
		PyErr_Fetch(&type, &value, &tb);
		if (pyfr_ring_take_quiet(r) == 0) {
			if (r->held == fr)
				(void)(fr->producer ? fr_cancel(r->ring, &fr->f)
						    : fr_release(r->ring, &fr->f));
			pyfr_frame_forget(fr);
			pyfr_ring_give(r);
		} else {
			PyErr_Clear(); /* closed: fr_close gave the slot back */
			pyfr_frame_forget(fr);
		}
		PyErr_Restore(type, value, tb);
	}
	Py_DECREF(fr->ring);
	PyObject_Free(fr);
}

/* ---- arrays --------------------------------------------------------------- */

static int check_live(struct pyfr_frame *fr)
{
	if (fr->state == PYFR_HELD)
		return 0;
	PyErr_Format(PyExc_ValueError,
		     "frame %llu was already ended: its slot is not ours any more",
		     (unsigned long long)fr->f.seq);
	return -1;
}

/* An array of @nd dimensions at @offset bytes into the slot. */
static PyObject *view(struct pyfr_frame *fr, int type, int nd, npy_intp *dims, npy_intp *strides,
		      uint64_t offset)
{
	PyObject *pin = pin_new(fr);
	if (!pin)
		return NULL;
	PyArray_Descr *descr = PyArray_DescrFromType(type);
	if (!descr) {
		Py_DECREF(pin);
		return NULL;
	}
	/* A consumer's array is read-only: in broadcast others read the same slot. */
	PyObject *a = PyArray_NewFromDescr(&PyArray_Type, descr, nd, dims, strides,
					   (char *)fr->f.data + offset,
					   fr->producer ? NPY_ARRAY_WRITEABLE : 0, NULL);
	if (!a) {
		Py_DECREF(pin);
		return NULL;
	}
	if (PyArray_SetBaseObject((PyArrayObject *)a, pin) < 0) { /* steals pin */
		Py_DECREF(a);
		return NULL;
	}
	return a;
}

/* The frame's size from its geometry, checked against the slot once more. */
static int pixel_bytes(struct pyfr_frame *fr, uint64_t *bytes)
{
	int rc = fr_format_frame_bytes(fr->f.format, fr->f.width, fr->f.height,
				       (uint32_t)fr->stride, bytes);
	if (rc < 0 || *bytes > fr->f.capacity) {
		pyfr_raise_msg(EPROTO, fr->ring->name,
			       "frame %llu: %ux%u %s with stride %llu does not fit its slot",
			       (unsigned long long)fr->f.seq, fr->f.width, fr->f.height,
			       fr_format_name(fr->f.format), (unsigned long long)fr->stride);
		return -1;
	}
	return 0;
}

static PyObject *bytes_view(struct pyfr_frame *fr)
{
	uint64_t n = fr->f.bytes <= fr->f.capacity ? fr->f.bytes : fr->f.capacity;
	npy_intp dims[1] = { (npy_intp)n }, strides[1] = { 1 };
	return view(fr, NPY_UINT8, 1, dims, strides, 0);
}

static PyObject *frame_array(struct pyfr_frame *fr, void *c)
{
	(void)c;
	if (check_live(fr) < 0)
		return NULL;
	uint32_t fmt = fr->f.format;
	if (fmt == FR_FORMAT_RAW || fmt == FR_FORMAT_JPEG)
		return bytes_view(fr);
	uint64_t total;
	if (pixel_bytes(fr, &total) < 0)
		return NULL;
	npy_intp h = fr->f.height, w = fr->f.width, s = (npy_intp)fr->stride;
	npy_intp dims[3] = { h, w, 0 }, strides[3] = { s, 0, 1 };
	switch (fmt) {
	case FR_FORMAT_GRAY8:
		strides[1] = 1;
		return view(fr, NPY_UINT8, 2, dims, strides, 0);
	case FR_FORMAT_GRAY16:
		strides[1] = 2;
		return view(fr, NPY_UINT16, 2, dims, strides, 0);
	case FR_FORMAT_RGB24:
	case FR_FORMAT_BGR24: dims[2] = 3; break;
	case FR_FORMAT_RGBA32:
	case FR_FORMAT_BGRA32: dims[2] = 4; break;
	case FR_FORMAT_YUYV: dims[2] = 2; break;
	default:
		/* nv12, i420: every byte of the frame, in H * 3/2 rows of stride
		 * bytes (with stride == width, what cv2.cvtColor takes). */
		dims[0] = h + h / 2;
		dims[1] = s;
		strides[1] = 1;
		return view(fr, NPY_UINT8, 2, dims, strides, 0);
	}
	strides[1] = dims[2];
	return view(fr, NPY_UINT8, 3, dims, strides, 0);
}

static PyObject *frame_planes(struct pyfr_frame *fr, void *c)
{
	(void)c;
	if (check_live(fr) < 0)
		return NULL;
	uint32_t fmt = fr->f.format;
	if (fmt != FR_FORMAT_NV12 && fmt != FR_FORMAT_I420) {
		PyObject *a = frame_array(fr, NULL);
		if (!a)
			return NULL;
		PyObject *t = PyTuple_Pack(1, a);
		Py_DECREF(a);
		return t;
	}
	uint64_t total;
	if (pixel_bytes(fr, &total) < 0)
		return NULL;
	npy_intp h = fr->f.height, w = fr->f.width, s = (npy_intp)fr->stride;
	npy_intp ydims[2] = { h, w }, ystrides[2] = { s, 1 };
	PyObject *y = view(fr, NPY_UINT8, 2, ydims, ystrides, 0);
	if (!y)
		return NULL;
	PyObject *t = NULL;
	if (fmt == FR_FORMAT_NV12) {
		/* Interleaved U, V at half height and width, rows stride apart. */
		npy_intp dims[3] = { h / 2, w / 2, 2 }, strides[3] = { s, 2, 1 };
		PyObject *uv = view(fr, NPY_UINT8, 3, dims, strides, (uint64_t)(s * h));
		if (uv)
			t = PyTuple_Pack(2, y, uv);
		Py_XDECREF(uv);
	} else {
		/* U, then V: half height and width, rows stride / 2 apart. */
		npy_intp dims[2] = { h / 2, w / 2 }, strides[2] = { s / 2, 1 };
		uint64_t u_at = (uint64_t)(s * h), v_at = u_at + (uint64_t)((s / 2) * (h / 2));
		PyObject *u = view(fr, NPY_UINT8, 2, dims, strides, u_at);
		PyObject *v = u ? view(fr, NPY_UINT8, 2, dims, strides, v_at) : NULL;
		if (v)
			t = PyTuple_Pack(3, y, u, v);
		Py_XDECREF(u);
		Py_XDECREF(v);
	}
	Py_DECREF(y);
	return t;
}

/* ---- the buffer protocol: memoryview(frame), file.write(frame), ... ------- */

static int frame_getbuffer(struct pyfr_frame *fr, Py_buffer *b, int flags)
{
	if (fr->state != PYFR_HELD) {
		PyErr_Format(PyExc_BufferError, "frame %llu was already ended",
			     (unsigned long long)fr->f.seq);
		b->obj = NULL;
		return -1;
	}
	uint64_t n = fr->f.bytes <= fr->f.capacity ? fr->f.bytes : fr->f.capacity;
	if (PyBuffer_FillInfo(b, (PyObject *)fr, fr->f.data, (Py_ssize_t)n, !fr->producer,
			      flags) < 0)
		return -1;
	fr->views++;
	return 0;
}

static void frame_releasebuffer(struct pyfr_frame *fr, Py_buffer *b)
{
	(void)b;
	fr->views--;
}

static PyBufferProcs frame_as_buffer = {
	.bf_getbuffer = (getbufferproc)frame_getbuffer,
	.bf_releasebuffer = (releasebufferproc)frame_releasebuffer,
};

/* ---- attributes ----------------------------------------------------------- */

#define FRAME_GETTER(field)                                                 \
	static PyObject *get_##field(struct pyfr_frame *fr, void *c)        \
	{                                                                   \
		(void)c;                                                    \
		return PyLong_FromUnsignedLongLong(fr->f.field);            \
	}
FRAME_GETTER(seq)
FRAME_GETTER(timestamp_ns)
FRAME_GETTER(width)
FRAME_GETTER(height)
FRAME_GETTER(bytes)
FRAME_GETTER(capacity)
FRAME_GETTER(flags)

static PyObject *get_stride(struct pyfr_frame *fr, void *c)
{
	(void)c;
	return PyLong_FromUnsignedLongLong(fr->stride);
}

static PyObject *get_format(struct pyfr_frame *fr, void *c)
{
	(void)c;
	const char *f = fr_format_name(fr->f.format);
	return PyUnicode_FromString(f ? f : "unknown");
}

static PyObject *get_redelivered(struct pyfr_frame *fr, void *c)
{
	(void)c;
	return PyBool_FromLong(fr->f.flags & FR_FRAME_REDELIVERED);
}

static PyObject *get_ended(struct pyfr_frame *fr, void *c)
{
	(void)c;
	return PyBool_FromLong(fr->state != PYFR_HELD);
}

/* The producer's settable fields, while the frame is still claimed. */
static int settable(struct pyfr_frame *fr, PyObject *v, const char *what, uint64_t max,
		    uint64_t *out)
{
	if (!v) {
		PyErr_Format(PyExc_AttributeError, "cannot delete frame.%s", what);
		return -1;
	}
	if (!fr->producer) {
		PyErr_Format(PyExc_AttributeError,
			     "frame.%s is read-only: only a producer sets it before publishing",
			     what);
		return -1;
	}
	if (check_live(fr) < 0)
		return -1;
	unsigned long long x = PyLong_AsUnsignedLongLong(v);
	bool bad = false;
	if (PyErr_Occurred()) {
		if (PyErr_ExceptionMatches(PyExc_TypeError))
			return -1;
		PyErr_Clear(); /* negative or too large */
		bad = true;
	}
	if (bad || x > max) {
		pyfr_raise_msg(EINVAL, fr->ring->name, "frame.%s must be an integer from 0 to %llu",
			       what, (unsigned long long)max);
		return -1;
	}
	*out = x;
	return 0;
}

static int set_bytes(struct pyfr_frame *fr, PyObject *v, void *c)
{
	(void)c;
	return settable(fr, v, "bytes", fr->f.capacity, &fr->f.bytes);
}

static int set_timestamp_ns(struct pyfr_frame *fr, PyObject *v, void *c)
{
	(void)c;
	return settable(fr, v, "timestamp_ns", UINT64_MAX, &fr->f.timestamp_ns);
}

static int set_flags(struct pyfr_frame *fr, PyObject *v, void *c)
{
	(void)c;
	uint64_t x;
	if (settable(fr, v, "flags", UINT32_MAX, &x) < 0)
		return -1;
	if (x & ~(uint64_t)FR_FRAME_USER_MASK) {
		pyfr_raise_msg(EINVAL, fr->ring->name,
			       "frame.flags: applications own the bits of FRAME_USER_MASK "
			       "(0xffff0000) only");
		return -1;
	}
	fr->f.flags = (uint32_t)x;
	return 0;
}

static PyGetSetDef frame_getset[] = {
	{ "array", (getter)frame_array, NULL,
	  "a numpy array that is the slot: (H, W) gray8 and gray16, (H, W, 3) rgb24 and\n"
	  "bgr24, (H, W, 4) rgba32 and bgra32, (H, W, 2) yuyv, rows `stride` bytes\n"
	  "apart; nv12 and i420: (H * 3 // 2, stride), the whole frame (see planes);\n"
	  "raw and jpeg: 1-D, `bytes` long. Read-only for a consumer.",
	  NULL },
	{ "planes", (getter)frame_planes, NULL,
	  "nv12: (Y, UV) with UV (H/2, W/2, 2); i420: (Y, U, V); other formats: (array,)",
	  NULL },
	{ "seq", (getter)get_seq, NULL, "sequence number (set at publish)", NULL },
	{ "timestamp_ns", (getter)get_timestamp_ns, (setter)set_timestamp_ns,
	  "CLOCK_MONOTONIC time of capture; producer: 0 means 'now' at publish", NULL },
	{ "width", (getter)get_width, NULL, "width in pixels", NULL },
	{ "height", (getter)get_height, NULL, "height in pixels", NULL },
	{ "stride", (getter)get_stride, NULL, "bytes between rows of the first plane", NULL },
	{ "format", (getter)get_format, NULL, "format name, as the framering command spells it",
	  NULL },
	{ "bytes", (getter)get_bytes, (setter)set_bytes,
	  "bytes of this frame; a producer of raw or jpeg frames sets it", NULL },
	{ "capacity", (getter)get_capacity, NULL, "bytes in the slot", NULL },
	{ "flags", (getter)get_flags, (setter)set_flags,
	  "FRAME_REDELIVERED and the application's bits (FRAME_USER_MASK)", NULL },
	{ "redelivered", (getter)get_redelivered, NULL,
	  "True when a consumer that held this frame died and it is delivered again", NULL },
	{ "ended", (getter)get_ended, NULL, "True once published, cancelled or released", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyMethodDef frame_methods[] = {
	{ "publish", (PyCFunction)frame_publish, METH_NOARGS,
	  "publish()\n\nHand the claimed frame to the consumers." },
	{ "cancel", (PyCFunction)frame_cancel, METH_NOARGS,
	  "cancel()\n\nGive the claimed slot back unpublished." },
	{ "release", (PyCFunction)frame_release, METH_NOARGS,
	  "release()\n\nGive the acquired frame back." },
	{ "__enter__", (PyCFunction)frame_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)frame_exit, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyObject *frame_repr(struct pyfr_frame *fr)
{
	const char *f = fr_format_name(fr->f.format);
	return PyUnicode_FromFormat("<framering.Frame seq=%llu %ux%u %s, %llu bytes%s%s>",
				    (unsigned long long)fr->f.seq, fr->f.width, fr->f.height,
				    f ? f : "?", (unsigned long long)fr->f.bytes,
				    fr->f.flags & FR_FRAME_REDELIVERED ? ", redelivered" : "",
				    fr->state == PYFR_HELD ? "" : ", ended");
}

PyDoc_STRVAR(frame_doc,
	     "A frame held by a ring (Ring.claim, Ring.acquire, iteration).\n\n"
	     "frame.array is the slot itself. Arrays and buffers of the frame must be\n"
	     "gone before it is published, cancelled or released: BufferError otherwise.\n"
	     "As a context manager: published (cancelled on an exception) or released\n"
	     "on exit. A frame dropped while held is cancelled or released.");

PyTypeObject pyfr_frame_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "framering.Frame",
	.tp_basicsize = sizeof(struct pyfr_frame),
	.tp_dealloc = (destructor)frame_dealloc,
	.tp_repr = (reprfunc)frame_repr,
	.tp_as_buffer = &frame_as_buffer,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = frame_doc,
	.tp_methods = frame_methods,
	.tp_getset = frame_getset,
};
