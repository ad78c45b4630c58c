/*
 * The framering module: create(), open(), unlink(), stat(), the exceptions and
 * how a negative errno value from the library becomes one of them.
 */
#include "pyfr.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#ifndef PYFR_VERSION
#define PYFR_VERSION FR_VERSION
#endif

PyObject *pyfr_error;
PyObject *pyfr_invalid;
PyObject *pyfr_eos;

static const char *const mode_names[] = {
	[FR_SPSC] = "spsc",
	[FR_MPMC] = "mpmc",
	[FR_BROADCAST] = "broadcast",
};

const char *pyfr_mode_name(uint32_t mode)
{
	return mode >= FR_SPSC && mode <= FR_BROADCAST ? mode_names[mode] : "unknown";
}

const char *pyfr_role_name(unsigned role)
{
	return role == FR_PRODUCER ? "producer" : role == FR_CONSUMER ? "consumer" : "unknown";
}

/* The exception class for @err: the built-in OSError subclasses Python users
 * already catch for these errno values, and framering.Error for the rest. */
static PyObject *error_class(int err)
{
	switch (err) {
	case ETIMEDOUT:
	case EAGAIN: return PyExc_TimeoutError;
	case ENOENT: return PyExc_FileNotFoundError;
	case EACCES:
	case EPERM: return PyExc_PermissionError;
	case EEXIST: return PyExc_FileExistsError;
	case EINVAL:
	case ENAMETOOLONG: return pyfr_invalid;
	case ENOMEM: return PyExc_MemoryError;
	default: return pyfr_error;
	}
}

static PyObject *raise_text(int err, PyObject *name, PyObject *text)
{
	if (!text)
		return NULL;
	if (err == EPIPE) {
		/* EOFError carries no errno: the message says it all. */
		PyErr_SetObject(pyfr_eos, text);
		Py_DECREF(text);
		return NULL;
	}
	PyObject *cls = error_class(err);
	PyObject *args = cls == PyExc_MemoryError ? PyTuple_Pack(1, text)
		: name ? Py_BuildValue("(iOO)", err, text, name)
		       : Py_BuildValue("(iO)", err, text);
	Py_DECREF(text);
	if (args) {
		PyErr_SetObject(cls, args);
		Py_DECREF(args);
	}
	return NULL;
}

PyObject *pyfr_raise(int err, const char *what, PyObject *name)
{
	err = err < 0 ? -err : err;
	return raise_text(err, name, PyUnicode_FromFormat("%s: %s", what, fr_strerror(-err)));
}

PyObject *pyfr_raise_msg(int err, PyObject *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	PyObject *text = PyUnicode_FromFormatV(fmt, ap);
	va_end(ap);
	return raise_text(err < 0 ? -err : err, name, text);
}

/* ---- arguments ------------------------------------------------------------ */

/* A non-negative integer argument that fits @max, or -1 with ValueError set. */
static int64_t arg_uint(PyObject *v, const char *what, uint64_t max)
{
	if (!v)
		return 0;
	unsigned long long x = PyLong_AsUnsignedLongLong(v);
	bool bad = false;
	if (PyErr_Occurred()) {
		if (PyErr_ExceptionMatches(PyExc_TypeError))
			return -1;
		PyErr_Clear(); /* negative or too large */
		bad = true;
	}
	if (bad || x > max) {
		pyfr_raise_msg(EINVAL, NULL, "%s must be an integer from 0 to %llu", what,
			       (unsigned long long)max);
		return -1;
	}
	return (int64_t)x;
}

static int arg_mode(const char *s, uint32_t *mode)
{
	for (uint32_t m = FR_SPSC; m <= FR_BROADCAST; m++)
		if (strcmp(s, mode_names[m]) == 0) {
			*mode = m;
			return 0;
		}
	pyfr_raise_msg(EINVAL, NULL, "mode must be 'spsc', 'mpmc' or 'broadcast', not '%s'", s);
	return -1;
}

static int arg_format(const char *s, uint32_t *format)
{
	int f = fr_format_from_name(s);
	if (f < 0) {
		pyfr_raise_msg(EINVAL, NULL,
			       "unknown format '%s' (formats: raw, gray8, gray16, rgb24, bgr24, "
			       "rgba32, bgra32, yuyv, nv12, i420, jpeg)",
			       s);
		return -1;
	}
	*format = (uint32_t)f;
	return 0;
}

/* A segment name as UTF-8; the library checks what it may contain. */
static const char *arg_name(PyObject *name)
{
	if (!PyUnicode_Check(name)) {
		PyErr_Format(PyExc_TypeError, "segment name must be a str, not %.100s",
			     Py_TYPE(name)->tp_name);
		return NULL;
	}
	const char *s = PyUnicode_AsUTF8(name);
	if (!s)
		return NULL;
	int rc = fr_name_check(s);
	if (rc < 0) {
		pyfr_raise_msg(rc, name,
			       "bad segment name (1 to 200 of A-Z a-z 0-9 . _ -, after an "
			       "optional '/')");
		return NULL;
	}
	return s;
}

/* ---- module functions ----------------------------------------------------- */

PyDoc_STRVAR(create_doc,
	     "create(name, *, width=0, height=0, format='bgr24', slots=4, mode='spsc',\n"
	     "       stride=0, frame_bytes=0, perms=0o600, replace_stale=False) -> Ring\n\n"
	     "Create segment NAME and attach to it as its producer. format: a name as\n"
	     "the framering command spells it; raw and jpeg need frame_bytes. stride 0:\n"
	     "the packed row rounded up to 64 bytes. mode: 'spsc', 'mpmc' or 'broadcast'.\n"
	     "FileExistsError when it exists (replace_stale=True replaces a segment\n"
	     "whose peers and creator are all dead).");

static PyObject *mod_create(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = { "name",   "width",       "height", "format",        "slots",
				  "mode",   "stride",      "frame_bytes", "perms", "replace_stale",
				  NULL };
	PyObject *name, *width = NULL, *height = NULL, *slots = NULL, *stride = NULL;
	PyObject *frame_bytes = NULL, *perms = NULL;
	const char *format = "bgr24", *mode = "spsc";
	int replace = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$OOsOsOOOp:create", kwlist, &name, &width,
					 &height, &format, &slots, &mode, &stride, &frame_bytes,
					 &perms, &replace))
		return NULL;
	const char *cname = arg_name(name);
	if (!cname)
		return NULL;
	struct fr_config cfg = { .slots = 4, .perms = 0600 };
	int64_t v;
	if ((v = arg_uint(width, "width", UINT32_MAX)) < 0)
		return NULL;
	cfg.width = (uint32_t)v;
	if ((v = arg_uint(height, "height", UINT32_MAX)) < 0)
		return NULL;
	cfg.height = (uint32_t)v;
	if (slots && (v = arg_uint(slots, "slots", FR_MAX_SLOTS)) < 0)
		return NULL;
	if (slots)
		cfg.slots = (uint32_t)v;
	if ((v = arg_uint(stride, "stride", UINT32_MAX)) < 0)
		return NULL;
	cfg.stride = (uint32_t)v;
	if ((v = arg_uint(frame_bytes, "frame_bytes", INT64_MAX)) < 0)
		return NULL;
	cfg.frame_bytes = (uint64_t)v;
	if (perms && (v = arg_uint(perms, "perms", 07777)) < 0)
		return NULL;
	if (perms)
		cfg.perms = (uint32_t)v;
	if (arg_mode(mode, &cfg.mode) < 0 || arg_format(format, &cfg.format) < 0)
		return NULL;
	cfg.flags = replace ? FR_CREATE_REPLACE_STALE : 0;
	if (cfg.slots == 0) {
		/* 0 would mean the library's default; say what was wrong instead. */
		return pyfr_raise_msg(EINVAL, name, "slots must be a power of two from 2 to %u",
				      FR_MAX_SLOTS);
	}

	struct fr_ring *ring = NULL;
	int rc;
	/* Creating writes the whole segment (posix_fallocate): let other threads run. */
	Py_BEGIN_ALLOW_THREADS
	rc = fr_create(cname, &cfg, &ring);
	Py_END_ALLOW_THREADS
	if (rc == -EINVAL)
		return pyfr_raise_msg(rc, name,
				      "create: invalid configuration (slots a power of two, "
				      "broadcast at least 4; a size for the format: width and "
				      "height, or frame_bytes for raw and jpeg; a stride that "
				      "holds a row)");
	if (rc < 0)
		return pyfr_raise(rc, "create", name);
	return pyfr_ring_new(ring, name, FR_PRODUCER, 0);
}

PyDoc_STRVAR(open_doc,
	     "open(name, role, latest=False, from_oldest=False) -> Ring\n\n"
	     "Attach to segment NAME as 'producer' or 'consumer'. A broadcast consumer\n"
	     "may be latest (never holds the producer back, skips to newer frames) and\n"
	     "start from the oldest frame still held instead of the newest.");

static PyObject *mod_open(PyObject *self, PyObject *args, PyObject *kw)
{
	(void)self;
	static char *kwlist[] = { "name", "role", "latest", "from_oldest", NULL };
	PyObject *name;
	const char *role;
	int latest = 0, oldest = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "Os|pp:open", kwlist, &name, &role, &latest,
					 &oldest))
		return NULL;
	const char *cname = arg_name(name);
	if (!cname)
		return NULL;
	unsigned r;
	if (strcmp(role, "producer") == 0)
		r = FR_PRODUCER;
	else if (strcmp(role, "consumer") == 0)
		r = FR_CONSUMER;
	else
		return pyfr_raise_msg(EINVAL, name,
				      "role must be 'producer' or 'consumer', not '%s'", role);
	unsigned flags = (latest ? FR_LATEST : 0) | (oldest ? FR_FROM_OLDEST : 0);
	if (flags && r != FR_CONSUMER)
		return pyfr_raise_msg(EINVAL, name, "latest and from_oldest are for consumers");

	struct fr_ring *ring = NULL;
	int rc;
	/* Opening may wait up to 500 ms for a segment still being made. */
	Py_BEGIN_ALLOW_THREADS
	rc = fr_open(cname, r | flags, &ring);
	Py_END_ALLOW_THREADS
	if (rc == -EINVAL)
		return pyfr_raise_msg(rc, name,
				      "open: latest and from_oldest need a broadcast segment");
	if (rc == -EBUSY)
		return pyfr_raise_msg(rc, name,
				      "open: the %s role is taken (spsc: one of each; broadcast: "
				      "one producer, up to min(31, slots - 2) consumers; 64 "
				      "handles)",
				      role);
	if (rc < 0)
		return pyfr_raise(rc, "open", name);
	return pyfr_ring_new(ring, name, r, flags);
}

PyDoc_STRVAR(unlink_doc, "unlink(name)\n\nRemove segment NAME's name; attached rings keep "
			 "working.");

static PyObject *mod_unlink(PyObject *self, PyObject *name)
{
	(void)self;
	const char *cname = arg_name(name);
	if (!cname)
		return NULL;
	int rc = fr_unlink(cname);
	if (rc < 0)
		return pyfr_raise(rc, "unlink", name);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(stat_doc, "stat(name) -> dict\n\nWhat Ring.info() reports, without attaching.");

static PyObject *mod_stat(PyObject *self, PyObject *name)
{
	(void)self;
	const char *cname = arg_name(name);
	if (!cname)
		return NULL;
	struct fr_info *info = PyMem_Malloc(sizeof(*info));
	if (!info)
		return PyErr_NoMemory();
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = fr_stat(cname, info);
	Py_END_ALLOW_THREADS
	PyObject *d = rc < 0 ? pyfr_raise(rc, "stat", name) : pyfr_info_dict(info);
	PyMem_Free(info);
	return d;
}

PyDoc_STRVAR(library_version_doc,
	     "library_version() -> str\n\nThe version of the framering library linked in.");

static PyObject *mod_library_version(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	return PyUnicode_FromString(fr_version());
}

/* ---- fr_info as a dict ---------------------------------------------------- */

static int set_item(PyObject *d, const char *key, PyObject *v)
{
	if (!v)
		return -1;
	int rc = PyDict_SetItemString(d, key, v);
	Py_DECREF(v);
	return rc;
}

#define U64(x) PyLong_FromUnsignedLongLong((unsigned long long)(x))

static PyObject *peer_dict(const struct fr_peer_info *p)
{
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	if (set_item(d, "index", U64(p->index)) < 0 ||
	    set_item(d, "pid", PyLong_FromLong(p->pid)) < 0 ||
	    set_item(d, "role", PyUnicode_FromString(pyfr_role_name(p->role))) < 0 ||
	    set_item(d, "flags", U64(p->flags)) < 0 ||
	    set_item(d, "latest", PyBool_FromLong(p->flags & FR_LATEST)) < 0 ||
	    set_item(d, "alive", PyBool_FromLong(p->alive)) < 0 ||
	    set_item(d, "generation", U64(p->generation)) < 0 ||
	    set_item(d, "attach_ns", U64(p->attach_ns)) < 0 ||
	    set_item(d, "cursor", U64(p->cursor)) < 0 || set_item(d, "lag", U64(p->lag)) < 0 ||
	    set_item(d, "delivered", U64(p->delivered)) < 0 ||
	    set_item(d, "dropped", U64(p->dropped)) < 0) {
		Py_DECREF(d);
		return NULL;
	}
	return d;
}

PyObject *pyfr_info_dict(const struct fr_info *i)
{
	const char *fmt = fr_format_name(i->format);
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	struct {
		const char *key;
		uint64_t v;
	} nums[] = {
		{ "abi_version", i->abi_version },
		{ "slots", i->slots },
		{ "width", i->width },
		{ "height", i->height },
		{ "stride", i->stride },
		{ "perms", i->perms },
		{ "frame_capacity", i->frame_capacity },
		{ "payload_stride", i->payload_stride },
		{ "segment_bytes", i->segment_bytes },
		{ "created_ns", i->created_ns },
		{ "head", i->head },
		{ "tail", i->tail },
		{ "fill", i->fill },
		{ "published", i->published },
		{ "consumed", i->consumed },
		{ "dropped", i->dropped },
		{ "redelivered", i->redelivered },
		{ "aborted", i->aborted },
		{ "producer_waits", i->producer_waits },
		{ "consumer_waits", i->consumer_waits },
		{ "latest_stalls", i->latest_stalls },
		{ "live_peers", i->live_peers },
	};
	for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
		if (set_item(d, nums[k].key, U64(nums[k].v)) < 0)
			goto fail;
	if (set_item(d, "mode", PyUnicode_FromString(pyfr_mode_name(i->mode))) < 0 ||
	    set_item(d, "format", PyUnicode_FromString(fmt ? fmt : "unknown")) < 0 ||
	    set_item(d, "creator_pid", PyLong_FromLong(i->creator_pid)) < 0 ||
	    set_item(d, "creator_alive", PyBool_FromLong(i->creator_alive)) < 0 ||
	    set_item(d, "end_of_stream", PyBool_FromLong(i->end_of_stream)) < 0 ||
	    set_item(d, "stale", PyBool_FromLong(fr_info_is_stale(i))) < 0)
		goto fail;
	uint32_t n = i->peer_count < FR_MAX_PEERS ? i->peer_count : FR_MAX_PEERS;
	PyObject *peers = PyList_New(n);
	if (!peers)
		goto fail;
	for (uint32_t k = 0; k < n; k++) {
		PyObject *p = peer_dict(&i->peers[k]);
		if (!p) {
			Py_DECREF(peers);
			goto fail;
		}
		PyList_SET_ITEM(peers, k, p);
	}
	if (set_item(d, "peers", peers) < 0)
		goto fail;
	return d;
fail:
	Py_DECREF(d);
	return NULL;
}

/* ---- the module ----------------------------------------------------------- */

static PyMethodDef module_methods[] = {
	{ "create", (PyCFunction)(void (*)(void))mod_create, METH_VARARGS | METH_KEYWORDS,
	  create_doc },
	{ "open", (PyCFunction)(void (*)(void))mod_open, METH_VARARGS | METH_KEYWORDS, open_doc },
	{ "unlink", mod_unlink, METH_O, unlink_doc },
	{ "stat", mod_stat, METH_O, stat_doc },
	{ "library_version", mod_library_version, METH_NOARGS, library_version_doc },
	{ NULL, NULL, 0, NULL },
};

PyDoc_STRVAR(module_doc,
	     "Zero-copy image frames between processes through shared memory.\n\n"
	     "    import framering as fr\n"
	     "    cam = fr.create('cam', width=1280, height=720, format='bgr24')\n"
	     "    with cam.claim(timeout=1.0) as frame:\n"
	     "        frame.array[:] = image      # (720, 1280, 3) uint8: the slot itself\n"
	     "    rx = fr.open('cam', 'consumer')\n"
	     "    for frame in rx:                # until the producer closes\n"
	     "        with frame:\n"
	     "            detect(frame.array)\n\n"
	     "Arrays and buffers of a frame must be gone before the frame is published or\n"
	     "released (BufferError otherwise): keep a .copy() of what you need later.");

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "framering",
	.m_doc = module_doc,
	.m_size = -1,
	.m_methods = module_methods,
};

static int add_exceptions(PyObject *m)
{
	pyfr_error = PyErr_NewExceptionWithDoc(
		"framering.Error", "A framering call failed: an OSError whose errno says why.",
		PyExc_OSError, NULL);
	if (!pyfr_error)
		return -1;
	/* Bad arguments are both: what the library calls EINVAL and what Python
	 * code expects to catch as ValueError. */
	PyObject *bases = PyTuple_Pack(2, pyfr_error, PyExc_ValueError);
	if (!bases)
		return -1;
	pyfr_invalid = PyErr_NewExceptionWithDoc(
		"framering.InvalidArgument",
		"A bad argument (errno EINVAL or ENAMETOOLONG): a framering.Error and a "
		"ValueError.",
		bases, NULL);
	Py_DECREF(bases);
	if (!pyfr_invalid)
		return -1;
	pyfr_eos = PyErr_NewExceptionWithDoc(
		"framering.EndOfStream",
		"The producer closed and every frame was read (an EOFError).", PyExc_EOFError,
		NULL);
	if (!pyfr_eos)
		return -1;
	if (PyModule_AddObjectRef(m, "Error", pyfr_error) < 0 ||
	    PyModule_AddObjectRef(m, "InvalidArgument", pyfr_invalid) < 0 ||
	    PyModule_AddObjectRef(m, "EndOfStream", pyfr_eos) < 0)
		return -1;
	return 0;
}

static int add_constants(PyObject *m)
{
	PyObject *formats = PyTuple_New(FR_FORMAT_COUNT);
	if (!formats)
		return -1;
	for (int i = 0; i < FR_FORMAT_COUNT; i++) {
		PyObject *s = PyUnicode_FromString(fr_format_name((uint32_t)i));
		if (!s) {
			Py_DECREF(formats);
			return -1;
		}
		PyTuple_SET_ITEM(formats, i, s);
	}
	if (PyModule_AddObject(m, "FORMATS", formats) < 0) {
		Py_DECREF(formats);
		return -1;
	}
	PyObject *modes = Py_BuildValue("(sss)", "spsc", "mpmc", "broadcast");
	if (!modes || PyModule_AddObject(m, "MODES", modes) < 0) {
		Py_XDECREF(modes);
		return -1;
	}
	if (PyModule_AddStringConstant(m, "__version__", PYFR_VERSION) < 0 ||
	    PyModule_AddIntConstant(m, "FRAME_REDELIVERED", FR_FRAME_REDELIVERED) < 0 ||
	    PyModule_AddIntConstant(m, "SPIN_ADAPTIVE", FR_SPIN_ADAPTIVE) < 0 ||
	    PyModule_AddObject(m, "FRAME_USER_MASK", U64(FR_FRAME_USER_MASK)) < 0)
		return -1;
	return 0;
}

PyMODINIT_FUNC PyInit_framering(void)
{
	if (pyfr_numpy_init() < 0)
		return NULL;
	if (PyType_Ready(&pyfr_ring_type) < 0 || PyType_Ready(&pyfr_frame_type) < 0 ||
	    PyType_Ready(&pyfr_pin_type) < 0)
		return NULL;
	PyObject *m = PyModule_Create(&module_def);
	if (!m)
		return NULL;
	if (add_exceptions(m) < 0 || add_constants(m) < 0 ||
	    PyModule_AddObjectRef(m, "Ring", (PyObject *)&pyfr_ring_type) < 0 ||
	    PyModule_AddObjectRef(m, "Frame", (PyObject *)&pyfr_frame_type) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
