/*
 * framering.Ring: one library handle, shared safely between Python threads.
 *
 * The library lets one thread at a time use a handle, and a handle holds at
 * most one frame. So a ring is owned by one thread per call (busy, under mu),
 * and a ring holding a frame makes other threads' claim() and acquire() wait
 * until that frame ends, while the thread holding it gets EBUSY at once (it
 * would wait for itself). Several frames in flight need several handles:
 * Ring.open_from() attaches another one on the same mapping.
 *
 * Waits run with the GIL released, in slices of PYFR_SLICE_MS: between two the
 * thread runs signal handlers, gives up when another thread closes the ring,
 * and lets threads queued for the handle (info(), close()) go first.
 */
#include "pyfr.h"

#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* pthread_cond_timedwait's deadline (CLOCK_REALTIME) @ms from now. */
static struct timespec deadline_in(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

static PyObject *closed_error(void)
{
	PyErr_SetString(PyExc_ValueError, "operation on a closed ring");
	return NULL;
}

/* ---- owning the handle ---------------------------------------------------- */

/* Try to take the handle for one slice at most; GIL released by the caller.
 * Others than the closer stop waiting once the ring is being closed. */
static bool take_slice(struct pyfr_ring *r, bool closer)
{
	struct timespec until = deadline_in(PYFR_SLICE_MS);
	bool got = false;
	pthread_mutex_lock(&r->mu);
	r->queued++;
	while (r->busy && (closer || !r->closing))
		if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT)
			break;
	r->queued--;
	if (!r->busy) {
		r->busy = true;
		r->grabs++;
		got = true;
	}
	pthread_mutex_unlock(&r->mu);
	return got;
}

/*
 * close() sets `closing` and then takes the handle like anyone: a thread that
 * sees `closing` while it waits gives up, except close() itself and a frame's
 * dealloc (@closer true): that one must give its frame back before the close
 * (which may still fail), and must not lose a pending signal either, so it
 * runs no handlers (@interruptible false); they run at the next chance.
 */
static int take(struct pyfr_ring *r, bool closer, bool interruptible)
{
	for (;;) {
		pthread_mutex_lock(&r->mu);
		bool got = !r->busy && (closer || !r->closing);
		if (got) {
			r->busy = true;
			r->grabs++;
		}
		pthread_mutex_unlock(&r->mu);
		if (got)
			break;
		if (r->closing && !closer) {
			closed_error();
			return -1;
		}
		Py_BEGIN_ALLOW_THREADS
		got = take_slice(r, closer);
		Py_END_ALLOW_THREADS
		if (got) {
			if (!r->closing || closer)
				break;
			pyfr_ring_give(r);
		}
		if (interruptible && PyErr_CheckSignals() < 0)
			return -1;
	}
	if (!r->ring) {
		pyfr_ring_give(r);
		closed_error();
		return -1;
	}
	return 0;
}

int pyfr_ring_take(struct pyfr_ring *r)
{
	return take(r, false, true);
}

int pyfr_ring_take_quiet(struct pyfr_ring *r)
{
	return take(r, true, false);
}

static void set_closing(struct pyfr_ring *r, bool closing)
{
	pthread_mutex_lock(&r->mu);
	r->closing = closing;
	pthread_mutex_unlock(&r->mu);
	pthread_cond_broadcast(&r->cv); /* waiters for the frame to end give up */
}

void pyfr_ring_give(struct pyfr_ring *r)
{
	pthread_mutex_lock(&r->mu);
	r->busy = false;
	pthread_mutex_unlock(&r->mu);
	pthread_cond_broadcast(&r->cv);
}

/*
 * Between two slices of a wait: give the handle up, and when others are
 * queued for it, wait until one of them had it before trying again (a
 * waiter that took it straight back would starve them). GIL released.
 */
static void give_turn(struct pyfr_ring *r)
{
	pthread_mutex_lock(&r->mu);
	r->busy = false;
	pthread_cond_broadcast(&r->cv);
	uint64_t grabs = r->grabs;
	struct timespec until = deadline_in(PYFR_SLICE_MS);
	while (r->queued > 0 && r->grabs == grabs && !r->closing)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&r->mu);
}

void pyfr_ring_clear_held(struct pyfr_ring *r, struct pyfr_frame *fr)
{
	pthread_mutex_lock(&r->mu);
	if (r->held == fr)
		r->held = NULL;
	pthread_mutex_unlock(&r->mu);
	pthread_cond_broadcast(&r->cv);
}

/* Wait (GIL released) for at most a slice until the ring holds no frame. */
static void wait_not_held(struct pyfr_ring *r, int ms)
{
	struct timespec until = deadline_in(ms);
	pthread_mutex_lock(&r->mu);
	while (r->held && !r->closing)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&r->mu);
}

/* ---- construction and closing --------------------------------------------- */

PyObject *pyfr_ring_new(struct fr_ring *ring, PyObject *name, unsigned role, unsigned flags)
{
	struct pyfr_ring *r = PyObject_New(struct pyfr_ring, &pyfr_ring_type);
	if (!r) {
		fr_close(ring);
		return NULL;
	}
	r->ring = ring;
	r->name = Py_NewRef(name);
	r->role = role;
	r->flags = flags;
	r->busy = false;
	r->queued = 0;
	r->grabs = 0;
	r->closing = false;
	r->held = NULL;
	r->holder = 0;
	r->pid = getpid();
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	int rc = fr_info(ring, &r->geo);
	if (rc < 0) {
		Py_DECREF(r);
		return pyfr_raise(rc, "info", name);
	}
	return (PyObject *)r;
}

static void ring_dealloc(struct pyfr_ring *r)
{
	/* A frame keeps its ring alive, so none is held here. */
	fr_close(r->ring);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	Py_XDECREF(r->name);
	PyObject_Free(r);
}

PyDoc_STRVAR(close_doc,
	     "close()\n\nDetach. A frame still held is released (consumer) or cancelled\n"
	     "(producer): BufferError while arrays of it are alive, as mmap.close().\n"
	     "When the last producer closes after publishing, the stream ends.\n"
	     "Closing a closed ring does nothing.");

static PyObject *ring_close(struct pyfr_ring *r, PyObject *unused)
{
	(void)unused;
	if (!r->ring)
		Py_RETURN_NONE;
	set_closing(r, true);
	int rc = take(r, true, true);
	set_closing(r, false);
	if (rc < 0) {
		if (PyErr_ExceptionMatches(PyExc_ValueError)) { /* closed meanwhile */
			PyErr_Clear();
			Py_RETURN_NONE;
		}
		return NULL;
	}
	struct pyfr_frame *held = r->held;
	if (held && held->views > 0) {
		pyfr_ring_give(r);
		PyErr_Format(PyExc_BufferError,
			     "cannot close ring '%U': frame %llu still has %zd array(s) or "
			     "buffer(s) alive",
			     r->name, (unsigned long long)held->f.seq, held->views);
		return NULL;
	}
	if (held)
		pyfr_frame_forget(held); /* fr_close gives its slot back */
	struct fr_ring *ring = r->ring;
	r->ring = NULL;
	fr_close(ring);
	pyfr_ring_give(r);
	Py_RETURN_NONE;
}

/* ---- claim and acquire ---------------------------------------------------- */

/* Seconds as a float or None (forever) -> milliseconds, -1 for forever. */
static int parse_timeout(PyObject *t, int64_t *ms)
{
	if (!t || t == Py_None) {
		*ms = -1;
		return 0;
	}
	double s = PyFloat_AsDouble(t);
	if (s == -1.0 && PyErr_Occurred())
		return -1;
	if (isnan(s) || s < 0) {
		pyfr_raise_msg(EINVAL, NULL, "timeout must be None or seconds >= 0");
		return -1;
	}
	if (isinf(s) || s > 1e9) {
		*ms = -1;
		return 0;
	}
	*ms = (int64_t)ceil(s * 1000.0); /* never wait less than asked */
	return 0;
}

static int call(struct pyfr_ring *r, bool claim, struct fr_frame *f, int ms, unsigned flags)
{
	return claim ? fr_claim(r->ring, f, ms) : fr_acquire_ex(r->ring, f, ms, flags);
}

/*
 * claim() and acquire(): try once with the GIL held (the common case when
 * frames flow: no GIL round trip), then wait in slices. Returns the frame, or
 * NULL with an exception; *err gets the library's code (-EPIPE at the end).
 */
static PyObject *get_frame(struct pyfr_ring *r, bool claim, PyObject *timeout, unsigned flags,
			   int *err)
{
	const char *what = claim ? "claim" : "acquire";
	int64_t ms;
	*err = 0;
	if (parse_timeout(timeout, &ms) < 0)
		return NULL;
	if (!r->ring)
		return closed_error();
	if (claim != (r->role == FR_PRODUCER))
		return pyfr_raise_msg(EINVAL, r->name, "%s: this ring is a %s", what,
				      pyfr_role_name(r->role));
	int64_t until = ms < 0 ? INT64_MAX : now_ns() + ms * 1000000;
	unsigned long me = PyThread_get_thread_ident();
	struct fr_frame f;
	int rc = -EAGAIN;
	for (bool first = true;; first = false) {
		if (pyfr_ring_take(r) < 0)
			return NULL;
		if (r->held) {
			/* One frame per handle: wait for another thread's to end. */
			struct pyfr_frame *h = r->held;
			pyfr_ring_give(r);
			if (getpid() != r->pid) /* as the library answers first */
				return pyfr_raise(-ECHILD, what, r->name);
			if (r->holder == me) {
				*err = -EBUSY;
				return pyfr_raise_msg(
					EBUSY, r->name,
					"%s: this ring already holds frame %llu: end it first "
					"(publish, cancel or release), or attach another handle "
					"with Ring.open_from()",
					what, (unsigned long long)h->f.seq);
			}
			int64_t left = until - now_ns();
			if (left <= 0) {
				*err = ms == 0 ? -EAGAIN : -ETIMEDOUT;
				return pyfr_raise_msg(*err, r->name,
						      "%s: timed out; another thread holds "
						      "frame %llu of this ring",
						      what, (unsigned long long)h->f.seq);
			}
			int slice = left / 1000000 < PYFR_SLICE_MS ? (int)(left / 1000000) + 1
								   : PYFR_SLICE_MS;
			Py_BEGIN_ALLOW_THREADS
			wait_not_held(r, slice);
			Py_END_ALLOW_THREADS
			if (PyErr_CheckSignals() < 0)
				return NULL;
			continue;
		}
		if (first)
			rc = call(r, claim, &f, 0, flags);
		if (rc == -EAGAIN && ms != 0) {
			int64_t left = until - now_ns();
			int slice = 0;
			if (left > 0 && left / 1000000 < PYFR_SLICE_MS)
				slice = (int)((left + 999999) / 1000000); /* round up */
			else if (left > 0)
				slice = PYFR_SLICE_MS;
			Py_BEGIN_ALLOW_THREADS
			rc = slice > 0 ? call(r, claim, &f, slice, flags) : -ETIMEDOUT;
			if (rc == -ETIMEDOUT || rc == -EINTR)
				give_turn(r);
			Py_END_ALLOW_THREADS
			if (rc == -ETIMEDOUT || rc == -EINTR) {
				if (PyErr_CheckSignals() < 0)
					return NULL;
				if (now_ns() < until) {
					rc = -EAGAIN;
					continue; /* next slice */
				}
				rc = -ETIMEDOUT;
				break;
			}
		}
		if (rc == 0)
			break;
		pyfr_ring_give(r);
		break;
	}
	if (rc < 0) {
		*err = rc;
		if (rc == -EPIPE)
			return pyfr_raise_msg(rc, r->name, "end of stream: the producer closed and "
							   "every frame was read");
		return pyfr_raise(rc, what, r->name);
	}
	/* The handle holds the frame and this thread still owns the handle. */
	struct pyfr_frame *fr = pyfr_frame_new(r, &f);
	if (!fr) {
		PyObject *type, *value, *tb;
		PyErr_Fetch(&type, &value, &tb);
		if (claim)
			fr_cancel(r->ring, &f);
		else
			fr_release(r->ring, &f);
		pyfr_ring_give(r);
		PyErr_Restore(type, value, tb);
		return NULL;
	}
	pthread_mutex_lock(&r->mu);
	r->held = fr;
	r->holder = me;
	pthread_mutex_unlock(&r->mu);
	pyfr_ring_give(r);
	return (PyObject *)fr;
}

PyDoc_STRVAR(claim_doc,
	     "claim(timeout=None) -> Frame\n\n"
	     "Claim a free slot (producer). Write into frame.array, then publish (or\n"
	     "use the frame as a context manager: published on a normal exit, cancelled\n"
	     "on an exception). timeout in seconds; None waits forever, 0 tries once.\n"
	     "TimeoutError when no slot came free in time.");

static PyObject *ring_claim(struct pyfr_ring *r, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "timeout", NULL };
	PyObject *timeout = Py_None;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:claim", kwlist, &timeout))
		return NULL;
	int err;
	return get_frame(r, true, timeout, 0, &err);
}

PyDoc_STRVAR(acquire_doc,
	     "acquire(timeout=None, newest=False) -> Frame\n\n"
	     "Acquire the next published frame (consumer); read frame.array in place,\n"
	     "then release it (or use the frame as a context manager). newest: a\n"
	     "broadcast consumer jumps to the newest frame. TimeoutError when none\n"
	     "came in time, framering.EndOfStream once the producer closed and every\n"
	     "frame was read.");

static PyObject *ring_acquire(struct pyfr_ring *r, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "timeout", "newest", NULL };
	PyObject *timeout = Py_None;
	int newest = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|Op:acquire", kwlist, &timeout, &newest))
		return NULL;
	int err;
	return get_frame(r, false, timeout, newest ? FR_ACQUIRE_NEWEST : 0, &err);
}

/* ---- iteration ------------------------------------------------------------ */

static PyObject *ring_iter(struct pyfr_ring *r)
{
	if (r->role != FR_CONSUMER)
		return pyfr_raise_msg(EINVAL, r->name, "only a consumer ring can be iterated");
	return Py_NewRef(r);
}

/* The frame the previous step handed out is released first (BufferError while
 * arrays of it are alive); the iteration stops at the end of the stream. */
static PyObject *ring_iternext(struct pyfr_ring *r)
{
	if (!r->ring)
		return closed_error();
	struct pyfr_frame *prev = r->held;
	if (prev && prev->from_iter && r->holder == PyThread_get_thread_ident()) {
		Py_INCREF(prev);
		int rc = pyfr_ring_take(r);
		if (rc == 0) {
			rc = r->held == prev ? pyfr_frame_end(prev, false) : 0;
			pyfr_ring_give(r);
		}
		Py_DECREF(prev);
		if (rc < 0)
			return NULL;
	}
	int err;
	PyObject *fr = get_frame(r, false, Py_None, 0, &err);
	if (!fr && err == -EPIPE && PyErr_ExceptionMatches(pyfr_eos)) {
		PyErr_Clear();
		return NULL; /* StopIteration */
	}
	if (fr)
		((struct pyfr_frame *)fr)->from_iter = true;
	return fr;
}

/* ---- information ---------------------------------------------------------- */

PyDoc_STRVAR(info_doc, "info() -> dict\n\nGeometry, counters and peers of the segment "
		       "(fr_info): mode, slots, width, height,\nstride, format, published, "
		       "consumed, dropped, redelivered, peers, ...");

static PyObject *ring_info(struct pyfr_ring *r, PyObject *unused)
{
	(void)unused;
	struct fr_info *info = PyMem_Malloc(sizeof(*info));
	if (!info)
		return PyErr_NoMemory();
	PyObject *d = NULL;
	if (pyfr_ring_take(r) == 0) {
		int rc = fr_info(r->ring, info);
		pyfr_ring_give(r);
		d = rc < 0 ? pyfr_raise(rc, "info", r->name) : pyfr_info_dict(info);
	}
	PyMem_Free(info);
	return d;
}

PyDoc_STRVAR(stats_doc, "stats() -> dict\n\nThis handle's own counters (fr_handle_stats): "
			"index, role, delivered,\ndropped, cursor, lag.");

static PyObject *ring_stats(struct pyfr_ring *r, PyObject *unused)
{
	(void)unused;
	struct fr_handle_stats st;
	if (pyfr_ring_take(r) < 0)
		return NULL;
	int rc = fr_handle_stats(r->ring, &st);
	pyfr_ring_give(r);
	if (rc < 0)
		return pyfr_raise(rc, "stats", r->name);
	return Py_BuildValue("{sIsssIsKsKsKsK}", "index", st.index, "role",
			     pyfr_role_name(st.role), "flags", st.flags, "delivered",
			     (unsigned long long)st.delivered, "dropped",
			     (unsigned long long)st.dropped, "cursor",
			     (unsigned long long)st.cursor, "lag", (unsigned long long)st.lag);
}

PyDoc_STRVAR(fileno_doc,
	     "fileno() -> int\n\nAn fd for event loops (fr_fd): readable when this ring may have\n"
	     "work. When it is, call acquire(timeout=0) (or claim(timeout=0)) until\n"
	     "TimeoutError; only that re-arms it. Readiness may be spurious. The fd\n"
	     "belongs to the ring (close() closes it). asyncio:\n"
	     "loop.add_reader(ring.fileno(), callback).");

static PyObject *ring_fileno(struct pyfr_ring *r, PyObject *unused)
{
	(void)unused;
	if (pyfr_ring_take(r) < 0)
		return NULL;
	int fd = fr_fd(r->ring);
	pyfr_ring_give(r);
	if (fd < 0)
		return pyfr_raise(fd, "fileno", r->name);
	return PyLong_FromLong(fd);
}

PyDoc_STRVAR(set_spin_doc,
	     "set_spin(ns)\n\nHow long a wait spins before it sleeps: 0 sleeps at once, -1 never\n"
	     "sleeps (busy-waits; dedicated cores only), ns > 0 spins that long,\n"
	     "SPIN_ADAPTIVE (-2) adapts to the ring's recent waits (the default).");

static PyObject *ring_set_spin(struct pyfr_ring *r, PyObject *arg)
{
	long ns = PyLong_AsLong(arg);
	if (ns == -1 && PyErr_Occurred())
		return NULL;
	if (pyfr_ring_take(r) < 0)
		return NULL;
	int rc = fr_set_spin(r->ring, ns);
	pyfr_ring_give(r);
	if (rc < 0)
		return pyfr_raise(rc, "set_spin", r->name);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(open_from_doc,
	     "open_from(role, latest=False, from_oldest=False) -> Ring\n\n"
	     "Attach another handle to this ring's segment, on the same mapping (also\n"
	     "after the name was unlinked): one more frame in flight, or a ring per\n"
	     "thread. It is a peer of its own, as if made by framering.open().");

static PyObject *ring_open_from(struct pyfr_ring *r, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "role", "latest", "from_oldest", NULL };
	const char *role;
	int latest = 0, oldest = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|pp:open_from", kwlist, &role, &latest,
					 &oldest))
		return NULL;
	unsigned rl;
	if (strcmp(role, "producer") == 0)
		rl = FR_PRODUCER;
	else if (strcmp(role, "consumer") == 0)
		rl = FR_CONSUMER;
	else
		return pyfr_raise_msg(EINVAL, r->name,
				      "role must be 'producer' or 'consumer', not '%s'", role);
	unsigned flags = (latest ? FR_LATEST : 0) | (oldest ? FR_FROM_OLDEST : 0);
	if (pyfr_ring_take(r) < 0)
		return NULL;
	struct fr_ring *ring = NULL;
	int rc = fr_open_from(r->ring, rl | flags, &ring);
	pyfr_ring_give(r);
	if (rc == -EBUSY)
		return pyfr_raise_msg(rc, r->name, "open_from: the %s role is taken", role);
	if (rc < 0)
		return pyfr_raise(rc, "open_from", r->name);
	return pyfr_ring_new(ring, r->name, rl, flags);
}

static PyObject *ring_enter(struct pyfr_ring *r, PyObject *unused)
{
	(void)unused;
	if (!r->ring)
		return closed_error();
	return Py_NewRef(r);
}

static PyObject *ring_exit(struct pyfr_ring *r, PyObject *args)
{
	(void)args;
	return ring_close(r, NULL);
}

static PyObject *ring_repr(struct pyfr_ring *r)
{
	const char *fmt = fr_format_name(r->geo.format);
	return PyUnicode_FromFormat("<framering.Ring '%U' %s %s %ux%u %s, %u slots%s>", r->name,
				    pyfr_mode_name(r->geo.mode), pyfr_role_name(r->role),
				    r->geo.width, r->geo.height, fmt ? fmt : "?", r->geo.slots,
				    r->ring ? "" : ", closed");
}

static PyObject *ring_reduce(struct pyfr_ring *r, PyObject *unused)
{
	(void)unused;
	return PyErr_Format(PyExc_TypeError,
			    "cannot pickle a framering.Ring: open segment '%U' in the other "
			    "process",
			    r->name);
}

static PyMethodDef ring_methods[] = {
	{ "claim", (PyCFunction)(void (*)(void))ring_claim, METH_VARARGS | METH_KEYWORDS,
	  claim_doc },
	{ "acquire", (PyCFunction)(void (*)(void))ring_acquire, METH_VARARGS | METH_KEYWORDS,
	  acquire_doc },
	{ "close", (PyCFunction)ring_close, METH_NOARGS, close_doc },
	{ "info", (PyCFunction)ring_info, METH_NOARGS, info_doc },
	{ "stats", (PyCFunction)ring_stats, METH_NOARGS, stats_doc },
	{ "set_spin", (PyCFunction)ring_set_spin, METH_O, set_spin_doc },
	{ "fileno", (PyCFunction)ring_fileno, METH_NOARGS, fileno_doc },
	{ "open_from", (PyCFunction)(void (*)(void))ring_open_from, METH_VARARGS | METH_KEYWORDS,
	  open_from_doc },
	{ "__enter__", (PyCFunction)ring_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)ring_exit, METH_VARARGS, NULL },
	{ "__reduce__", (PyCFunction)ring_reduce, METH_NOARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

/* ---- attributes ----------------------------------------------------------- */

static PyObject *get_name(struct pyfr_ring *r, void *c)
{
	(void)c;
	return Py_NewRef(r->name);
}

static PyObject *get_role(struct pyfr_ring *r, void *c)
{
	(void)c;
	return PyUnicode_FromString(pyfr_role_name(r->role));
}

static PyObject *get_mode(struct pyfr_ring *r, void *c)
{
	(void)c;
	return PyUnicode_FromString(pyfr_mode_name(r->geo.mode));
}

static PyObject *get_format(struct pyfr_ring *r, void *c)
{
	(void)c;
	const char *f = fr_format_name(r->geo.format);
	return PyUnicode_FromString(f ? f : "unknown");
}

static PyObject *get_closed(struct pyfr_ring *r, void *c)
{
	(void)c;
	return PyBool_FromLong(r->ring == NULL);
}

static PyObject *get_latest(struct pyfr_ring *r, void *c)
{
	(void)c;
	return PyBool_FromLong(r->flags & FR_LATEST);
}

#define GEO_GETTER(field)                                                   \
	static PyObject *get_##field(struct pyfr_ring *r, void *c)          \
	{                                                                   \
		(void)c;                                                    \
		return PyLong_FromUnsignedLongLong(r->geo.field);           \
	}
GEO_GETTER(width)
GEO_GETTER(height)
GEO_GETTER(stride)
GEO_GETTER(slots)
GEO_GETTER(frame_capacity)

static PyGetSetDef ring_getset[] = {
	{ "name", (getter)get_name, NULL, "the segment's name, as given", NULL },
	{ "role", (getter)get_role, NULL, "'producer' or 'consumer'", NULL },
	{ "mode", (getter)get_mode, NULL, "'spsc', 'mpmc' or 'broadcast'", NULL },
	{ "format", (getter)get_format, NULL, "the segment's default format", NULL },
	{ "width", (getter)get_width, NULL, "the segment's default width", NULL },
	{ "height", (getter)get_height, NULL, "the segment's default height", NULL },
	{ "stride", (getter)get_stride, NULL, "the segment's default stride (bytes per row)",
	  NULL },
	{ "slots", (getter)get_slots, NULL, "slots in the ring", NULL },
	{ "capacity", (getter)get_frame_capacity, NULL, "bytes usable in each slot", NULL },
	{ "latest", (getter)get_latest, NULL, "a broadcast consumer that never holds the "
					      "producer back", NULL },
	{ "closed", (getter)get_closed, NULL, "True once closed", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyDoc_STRVAR(ring_doc,
	     "An attached framering segment (framering.create or framering.open).\n\n"
	     "A ring holds at most one frame at a time: claim() or acquire() while this\n"
	     "thread holds one raises framering.Error (EBUSY); another thread's call\n"
	     "waits until it ends. open_from() attaches another handle. A ring is a\n"
	     "context manager (closed on exit) and, for a consumer, an iterator of\n"
	     "frames that ends at the end of the stream.");

PyTypeObject pyfr_ring_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "framering.Ring",
	.tp_basicsize = sizeof(struct pyfr_ring),
	.tp_dealloc = (destructor)ring_dealloc,
	.tp_repr = (reprfunc)ring_repr,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = ring_doc,
	.tp_iter = (getiterfunc)ring_iter,
	.tp_iternext = (iternextfunc)ring_iternext,
	.tp_methods = ring_methods,
	.tp_getset = ring_getset,
};
