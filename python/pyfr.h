/*
 * The framering Python binding: what module.c, ring.c and frame.c share.
 *
 * A Ring object wraps one library handle (struct fr_ring), and a Frame object
 * the one frame that handle holds. The numpy arrays of a frame point straight
 * at its slot; each holds the frame through a Pin (its numpy base), so the
 * frame knows how many arrays and buffers of it are alive and refuses to hand
 * the slot back while any is (BufferError, as mmap.close() does).
 */
#ifndef PYFR_H
#define PYFR_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <framering.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * A wait is made of library waits of at most this long. Between two, the
 * waiting thread takes the GIL to run signal handlers (Ctrl-C), notices a
 * close() from another thread and lets threads queued for the ring have it.
 */
#define PYFR_SLICE_MS 250

/* The thread that holds the ring's handle, and the frame it holds. */
struct pyfr_frame;

struct pyfr_ring {
	PyObject_HEAD
	struct fr_ring *ring; /* NULL once closed */
	PyObject *name;       /* str, as given to create() or open() */
	unsigned role;        /* FR_PRODUCER or FR_CONSUMER */
	unsigned flags;       /* FR_LATEST, FR_FROM_OLDEST */
	struct fr_info geo;   /* geometry at open (only its identity fields are used) */
	pid_t pid;            /* the process that opened it (a fork() child's copy: ECHILD) */

	/*
	 * The library lets one thread at a time use a handle. `busy` says one is
	 * inside a library call on it; whoever sets it owns the handle until it
	 * clears it. mu guards busy, queued, grabs and held, and is never held
	 * while waiting for the GIL (nor the GIL taken while holding it), so the
	 * two cannot deadlock. The GIL guards everything else.
	 */
	pthread_mutex_t mu;
	pthread_cond_t cv;    /* busy cleared, held cleared, or closing set */
	bool busy;
	int queued;           /* threads waiting for busy to clear */
	uint64_t grabs;       /* times busy was set: lets a waiter see its turn was taken */
	bool closing;         /* close() is waiting for the handle */
	struct pyfr_frame *held; /* the frame the handle holds (borrowed: the frame
				  * clears this when it ends or dies) */
	unsigned long holder; /* the thread that claimed or acquired it */
};

enum pyfr_frame_state {
	PYFR_HELD,  /* claimed or acquired: the slot is ours */
	PYFR_ENDED, /* published, cancelled or released: the slot is not ours */
};

struct pyfr_frame {
	PyObject_HEAD
	struct pyfr_ring *ring; /* strong */
	struct fr_frame f;
	int state;              /* enum pyfr_frame_state */
	bool producer;
	bool from_iter;         /* handed out by Ring.__next__, which ends it at the next step */
	Py_ssize_t views;       /* arrays (through their pins) and buffers alive */
	uint64_t stride;        /* f.stride, or the format's default when it is 0 */
};

extern PyTypeObject pyfr_ring_type;
extern PyTypeObject pyfr_frame_type;
extern PyTypeObject pyfr_pin_type;

/* framering.Error, framering.InvalidArgument, framering.EndOfStream */
extern PyObject *pyfr_error;
extern PyObject *pyfr_invalid;
extern PyObject *pyfr_eos;

/* module.c: raise the Python exception for a negative errno value @err of
 * @what on segment @name (may be NULL). Returns NULL. */
PyObject *pyfr_raise(int err, const char *what, PyObject *name);
/* The same with a message of the binding's own (argument checks). */
PyObject *pyfr_raise_msg(int err, PyObject *name, const char *fmt, ...);
const char *pyfr_mode_name(uint32_t mode);
const char *pyfr_role_name(unsigned role);
PyObject *pyfr_info_dict(const struct fr_info *info);

/* ring.c */
PyObject *pyfr_ring_new(struct fr_ring *ring, PyObject *name, unsigned role, unsigned flags);
/* Take the handle for a call; 0, or -1 with an exception set (closed, signal).
 * Waits with the GIL released. */
int pyfr_ring_take(struct pyfr_ring *r);
/* The same for a deallocator: leaves signals for later, and gets the handle
 * even while another thread is closing the ring. */
int pyfr_ring_take_quiet(struct pyfr_ring *r);
void pyfr_ring_give(struct pyfr_ring *r);
/* Record that the handle holds nothing any more (the frame ended or died). */
void pyfr_ring_clear_held(struct pyfr_ring *r, struct pyfr_frame *fr);

/* frame.c */
int pyfr_numpy_init(void);
struct pyfr_frame *pyfr_frame_new(struct pyfr_ring *r, const struct fr_frame *f);
/* End the frame the handle holds: publish (producer) or release (consumer), or
 * cancel. The caller owns the handle (pyfr_ring_take). 0 or -1 with an
 * exception set; BufferError while arrays or buffers of it are alive. */
int pyfr_frame_end(struct pyfr_frame *fr, bool cancel);
/* Mark the frame ended without telling the library (fr_close does it). */
void pyfr_frame_forget(struct pyfr_frame *fr);

#endif /* PYFR_H */
