/* frameringsrc's consumer handles and the memory that lends a slot downstream. */
#include "gstframeringslot.h"

#include <errno.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC(fr_slot_debug);
#define GST_CAT_DEFAULT fr_slot_debug

/* A blocked acquire looks at its cancel flag this often: the library's waits
 * cannot be interrupted from another thread, only bounded. */
#define ACQUIRE_SLICE_MS 100

/* Marks a handle the streaming thread is acquiring with. */
#define RESERVED ((FrLease *)&reserved_marker)
static gint reserved_marker;

struct _FrLease {
	FrConsumers *cons;
	guint handle;
	struct fr_frame frame;
	guint8 *data; /* the slot, or the heap copy once evicted */
	gsize size;   /* bytes lent downstream */
	gboolean evicted;
	gint maps;  /* mappings in progress, under cons->lock */
	gint refs;  /* memories sharing it */
	GList link; /* in cons->out, oldest first, while it holds its handle */
};

struct _FrConsumers {
	gint refs; /* the source's, plus one per lease */
	GMutex lock;
	GCond cond;
	guint32 mode;
	unsigned extra_flags; /* fr_open_from flags of the handles after the first */
	unsigned acquire_flags;
	gboolean dedupe; /* broadcast: every handle sees every frame; deliver each once */
	gboolean closing;
	gboolean can_grow;
	guint n, max;
	struct fr_ring *ring[FR_GST_MAX_HANDLES];
	FrLease *lent[FR_GST_MAX_HANDLES]; /* NULL: free */
	guint64 used[FR_GST_MAX_HANDLES];  /* when it last took a frame, for round robin */
	guint64 tick;
	GQueue out; /* leases holding their handle, oldest first */
	gboolean have_seq;
	guint64 last_seq;
	guint64 evictions;
};

/* ---- the memory ----------------------------------------------------------- */

typedef struct {
	GstMemory mem;
	FrLease *lease;
} FrSlotMemory;

typedef struct {
	GstAllocator parent;
} FrSlotAllocator;

typedef struct {
	GstAllocatorClass parent_class;
} FrSlotAllocatorClass;

GType fr_slot_allocator_get_type(void);
G_DEFINE_TYPE(FrSlotAllocator, fr_slot_allocator, GST_TYPE_ALLOCATOR)

static void consumers_unref(FrConsumers *c);

static void lease_unref(FrLease *l)
{
	FrConsumers *c = l->cons;

	g_mutex_lock(&c->lock);
	if (--l->refs > 0) {
		g_mutex_unlock(&c->lock);
		return;
	}
	if (l->evicted) {
		g_free(l->data);
	} else {
		/* Downstream is done with it: the slot goes back to the ring. */
		fr_release(c->ring[l->handle], &l->frame);
		c->lent[l->handle] = NULL;
		g_queue_unlink(&c->out, &l->link);
		if (c->closing) {
			fr_close(c->ring[l->handle]);
			c->ring[l->handle] = NULL;
		}
	}
	g_cond_broadcast(&c->cond);
	g_mutex_unlock(&c->lock);
	g_free(l);
	consumers_unref(c);
}

static gpointer slot_mem_map(GstMemory *mem, gsize maxsize, GstMapFlags flags)
{
	FrLease *l = ((FrSlotMemory *)mem)->lease;
	gpointer data;

	(void)maxsize;
	if (flags & GST_MAP_WRITE)
		return NULL; /* the consumers' pixels: read only */
	g_mutex_lock(&l->cons->lock);
	l->maps++;
	data = l->data;
	g_mutex_unlock(&l->cons->lock);
	return data;
}

static void slot_mem_unmap(GstMemory *mem)
{
	FrLease *l = ((FrSlotMemory *)mem)->lease;

	g_mutex_lock(&l->cons->lock);
	if (--l->maps == 0)
		g_cond_broadcast(&l->cons->cond); /* an eviction may wait for this */
	g_mutex_unlock(&l->cons->lock);
}

static GstMemory *slot_mem_new(FrLease *lease, GstMemory *parent, gsize maxsize, gsize offset,
			       gsize size)
{
	FrSlotMemory *m = g_new0(FrSlotMemory, 1);

	gst_memory_init(&m->mem, GST_MEMORY_FLAG_READONLY, fr_slot_allocator_get(), parent, maxsize,
			0, offset, size);
	m->lease = lease;
	return &m->mem;
}

static GstMemory *slot_mem_share(GstMemory *mem, gssize offset, gssize size)
{
	FrLease *l = ((FrSlotMemory *)mem)->lease;
	GstMemory *parent = mem->parent ? mem->parent : mem;

	if (size == -1)
		size = (gssize)mem->size - offset;
	g_mutex_lock(&l->cons->lock);
	l->refs++;
	g_mutex_unlock(&l->cons->lock);
	return slot_mem_new(l, parent, mem->maxsize, mem->offset + (gsize)offset, (gsize)size);
}

static GstMemory *slot_mem_copy(GstMemory *mem, gssize offset, gssize size)
{
	GstMapInfo in, out;
	GstMemory *copy;

	if (size == -1)
		size = (gssize)mem->size - offset;
	if (!gst_memory_map(mem, &in, GST_MAP_READ))
		return NULL;
	copy = gst_allocator_alloc(NULL, (gsize)size, NULL);
	if (copy && gst_memory_map(copy, &out, GST_MAP_WRITE)) {
		memcpy(out.data, in.data + offset, (gsize)size);
		gst_memory_unmap(copy, &out);
	}
	gst_memory_unmap(mem, &in);
	return copy;
}

static gboolean slot_mem_is_span(GstMemory *a, GstMemory *b, gsize *offset)
{
	(void)a;
	(void)b;
	(void)offset;
	return FALSE;
}

static GstMemory *slot_alloc(GstAllocator *allocator, gsize size, GstAllocationParams *params)
{
	(void)allocator;
	(void)size;
	(void)params;
	return NULL; /* memories come from fr_lease_into_memory() only */
}

static void slot_free(GstAllocator *allocator, GstMemory *mem)
{
	FrLease *l = ((FrSlotMemory *)mem)->lease;

	(void)allocator;
	g_free(mem);
	lease_unref(l);
}

static void fr_slot_allocator_class_init(FrSlotAllocatorClass *klass)
{
	GstAllocatorClass *alloc_class = GST_ALLOCATOR_CLASS(klass);

	alloc_class->alloc = slot_alloc;
	alloc_class->free = slot_free;
	GST_DEBUG_CATEGORY_INIT(fr_slot_debug, "frameringslot", 0, "framering slot memory");
}

static void fr_slot_allocator_init(FrSlotAllocator *self)
{
	GstAllocator *alloc = GST_ALLOCATOR(self);

	alloc->mem_type = "FrameringSlot";
	alloc->mem_map = slot_mem_map;
	alloc->mem_unmap = slot_mem_unmap;
	alloc->mem_share = slot_mem_share;
	alloc->mem_copy = slot_mem_copy;
	alloc->mem_is_span = slot_mem_is_span;
	GST_OBJECT_FLAG_SET(alloc, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);
}

GstAllocator *fr_slot_allocator_get(void)
{
	static GstAllocator *allocator;

	if (g_once_init_enter(&allocator)) {
		GstAllocator *a = g_object_new(fr_slot_allocator_get_type(), NULL);
		gst_object_ref_sink(a);
		/* Lives as long as the process: memories may outlive any element. */
		GST_OBJECT_FLAG_SET(a, GST_OBJECT_FLAG_MAY_BE_LEAKED);
		g_once_init_leave(&allocator, a);
	}
	return allocator;
}

/* ---- the handles ---------------------------------------------------------- */

FrConsumers *fr_consumers_new(struct fr_ring *primary, guint32 mode, unsigned open_flags,
			      gboolean latest, guint max_handles)
{
	FrConsumers *c = g_new0(FrConsumers, 1);

	c->refs = 1;
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	g_queue_init(&c->out);
	c->mode = mode;
	c->ring[0] = primary;
	c->n = 1;
	c->max = CLAMP(max_handles, 1, FR_GST_MAX_HANDLES);
	if (mode == FR_SPSC)
		c->max = 1; /* one consumer per SPSC segment */
	c->can_grow = c->max > 1;
	c->dedupe = mode == FR_BROADCAST;
	if (mode == FR_BROADCAST && latest) {
		c->extra_flags = FR_CONSUMER | FR_LATEST;
		c->acquire_flags = FR_ACQUIRE_NEWEST;
	} else if (mode == FR_BROADCAST) {
		/*
		 * A reliable extra handle starts at the oldest frame still held, which
		 * is never later than the next undelivered one: the handle that took
		 * the last frame is reliable too, and its cursor protects what follows.
		 */
		c->extra_flags = FR_CONSUMER | FR_FROM_OLDEST;
	} else {
		c->extra_flags = FR_CONSUMER;
	}
	(void)open_flags;
	return c;
}

static void consumers_unref(FrConsumers *c)
{
	if (!g_atomic_int_dec_and_test(&c->refs))
		return;
	for (guint i = 0; i < c->n; i++)
		fr_close(c->ring[i]);
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
	g_free(c);
}

void fr_consumers_close(FrConsumers *cons)
{
	g_mutex_lock(&cons->lock);
	cons->closing = TRUE;
	for (guint i = 0; i < cons->n; i++) {
		if (!cons->lent[i] && cons->ring[i]) {
			fr_close(cons->ring[i]);
			cons->ring[i] = NULL;
		}
	}
	g_mutex_unlock(&cons->lock);
	consumers_unref(cons);
}

guint64 fr_consumers_evictions(FrConsumers *cons)
{
	g_mutex_lock(&cons->lock);
	guint64 n = cons->evictions;
	g_mutex_unlock(&cons->lock);
	return n;
}

/* With the lock: the free handle that took a frame longest ago, or -1. In
 * broadcast every idle reliable handle holds the camera back by its lag, so
 * taking them in turn keeps every lag short. */
static gint pick_free(FrConsumers *c)
{
	gint best = -1;

	for (guint i = 0; i < c->n; i++)
		if (!c->lent[i] && (best < 0 || c->used[i] < c->used[best]))
			best = (gint)i;
	return best;
}

/* With the lock: open one more handle on the mapping, or -1 (and stop trying). */
static gint grow(FrConsumers *c)
{
	struct fr_ring *r;
	int rc;

	if (!c->can_grow || c->n >= c->max)
		return -1;
	rc = fr_open_from(c->ring[0], c->extra_flags, &r);
	if (rc < 0) {
		/* -EBUSY: every consumer entry of the segment is taken. */
		GST_INFO("no handle beyond %u on this segment: %s", c->n, fr_strerror(rc));
		c->can_grow = FALSE;
		return -1;
	}
	c->ring[c->n] = r;
	c->used[c->n] = 0;
	GST_DEBUG("opened handle %u", c->n);
	return (gint)c->n++;
}

/*
 * With the lock: move the oldest frame still downstream to the heap and give
 * its slot back, so that its handle can take the next frame; the handle, or
 * -1 after waiting (at most a slice) for a reader of that frame to finish:
 * the caller looks again (the frame may have come back meanwhile).
 */
static gint evict_oldest(FrConsumers *c)
{
	GList *link = g_queue_peek_head_link(&c->out);
	gint64 until = g_get_monotonic_time() + ACQUIRE_SLICE_MS * G_TIME_SPAN_MILLISECOND;

	if (!link || ((FrLease *)link->data)->maps > 0) {
		g_cond_wait_until(&c->cond, &c->lock, until);
		return -1;
	}
	FrLease *l = link->data;
	guint8 *copy = g_malloc(l->size);
	memcpy(copy, l->data, l->size);
	l->data = copy;
	l->evicted = TRUE;
	fr_release(c->ring[l->handle], &l->frame);
	c->lent[l->handle] = NULL;
	g_queue_unlink(&c->out, &l->link);
	c->evictions++;
	GST_DEBUG("frame %" G_GUINT64_FORMAT " copied out of its slot: all %u handles were out",
		  l->frame.seq, c->n);
	return (gint)l->handle;
}

GstFlowReturn fr_consumers_next(FrConsumers *c, gint timeout_ms, const gint *cancel,
				FrLease **lease, gint *err)
{
	gint64 deadline = timeout_ms < 0 ? G_MAXINT64
					 : g_get_monotonic_time() +
					       (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
	struct fr_frame f;
	GstFlowReturn ret;
	int rc;

	g_mutex_lock(&c->lock);
	for (;;) {
		if (g_atomic_int_get(cancel)) {
			ret = GST_FLOW_FLUSHING;
			break;
		}
		gint h = pick_free(c);
		if (h < 0)
			h = grow(c);
		if (h < 0)
			h = evict_oldest(c);
		if (h < 0)
			continue;
		c->lent[h] = RESERVED;
		g_mutex_unlock(&c->lock);

		gint64 left = (deadline - g_get_monotonic_time()) / G_TIME_SPAN_MILLISECOND;
		gint slice = (gint)CLAMP(left, 0, ACQUIRE_SLICE_MS);
		rc = fr_acquire_ex(c->ring[h], &f, slice, c->acquire_flags);

		g_mutex_lock(&c->lock);
		c->lent[h] = NULL;
		if (rc == 0) {
			if (c->dedupe && c->have_seq && f.seq <= c->last_seq) {
				/* Another handle delivered it already. */
				fr_release(c->ring[h], &f);
				continue;
			}
			FrLease *l = g_new0(FrLease, 1);
			l->cons = c;
			l->handle = (guint)h;
			l->frame = f;
			l->data = f.data;
			l->refs = 1;
			l->link.data = l;
			g_queue_push_tail_link(&c->out, &l->link);
			c->lent[h] = l;
			c->used[h] = ++c->tick;
			c->have_seq = TRUE;
			c->last_seq = f.seq;
			g_atomic_int_inc(&c->refs);
			*lease = l;
			ret = GST_FLOW_OK;
			break;
		}
		if (rc == -EPIPE) {
			ret = GST_FLOW_EOS;
			break;
		}
		if (rc == -ETIMEDOUT || rc == -EAGAIN || rc == -EINTR) {
			if (g_get_monotonic_time() >= deadline) {
				ret = FR_GST_FLOW_TIMEOUT;
				break;
			}
			continue;
		}
		if (rc == -EPROTO) {
			/* A bad descriptor in the segment: that frame is skipped. */
			GST_WARNING("skipping a frame: %s", fr_strerror(rc));
			continue;
		}
		*err = rc;
		ret = GST_FLOW_ERROR;
		break;
	}
	g_mutex_unlock(&c->lock);
	return ret;
}

const struct fr_frame *fr_lease_frame(FrLease *lease)
{
	return &lease->frame;
}

GstMemory *fr_lease_into_memory(FrLease *lease, gsize size)
{
	lease->size = size; /* before anyone else can see the lease */
	return slot_mem_new(lease, NULL, size, 0, size);
}

void fr_lease_drop(FrLease *lease)
{
	lease_unref(lease);
}
