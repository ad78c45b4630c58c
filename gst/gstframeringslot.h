/*
 * frameringsrc's side of a segment: its consumer handles, and the GstMemory
 * that wraps an acquired slot and releases it when downstream frees it.
 *
 * One handle holds one frame (the library's rule, kept). To have several
 * buffers downstream at once the source opens more handles on its mapping
 * (fr_open_from) when every handle's frame is out, up to a limit and as far
 * as the mode allows (SPSC: one consumer). When they are all out, the oldest
 * frame still downstream is moved to the heap (copied once, counted) and its
 * slot released, so a sink that keeps its last buffer cannot stall the ring.
 */
#ifndef GST_FRAMERING_SLOT_H
#define GST_FRAMERING_SLOT_H

#include "gstframeringformat.h"

G_BEGIN_DECLS

typedef struct _FrConsumers FrConsumers;
typedef struct _FrLease FrLease;

/* Most handles a source opens on one segment. */
#define FR_GST_MAX_HANDLES 16

/*
 * Take over @primary (a consumer handle on a segment of @mode, opened with
 * @open_flags) and allow up to @max_handles handles in all. @latest:
 * broadcast frames are taken newest first.
 */
FrConsumers *fr_consumers_new(struct fr_ring *primary, guint32 mode, unsigned open_flags,
			      gboolean latest, guint max_handles);

/* Close the handles: at once those whose frame is back, the others when their
 * buffer is freed. Drops the caller's reference. */
void fr_consumers_close(FrConsumers *cons);

/* Frames moved to the heap so far (a handle was needed while every one was out). */
guint64 fr_consumers_evictions(FrConsumers *cons);

/* Result of fr_consumers_next() beyond GstFlowReturn's OK, FLUSHING, EOS, ERROR. */
#define FR_GST_FLOW_TIMEOUT GST_FLOW_CUSTOM_ERROR

/*
 * The next frame. Waits at most @timeout_ms (-1: forever; FR_GST_FLOW_TIMEOUT
 * after), returns GST_FLOW_FLUSHING once *@cancel is set (checked at least
 * every 100 ms), GST_FLOW_EOS at the end of the stream, GST_FLOW_ERROR with
 * *@err set on a library error.
 */
GstFlowReturn fr_consumers_next(FrConsumers *cons, gint timeout_ms, const gint *cancel,
				FrLease **lease, gint *err);

/* The frame's descriptor. */
const struct fr_frame *fr_lease_frame(FrLease *lease);

/* A read-only memory of the frame's first @size bytes, in the slot; the
 * lease is the memory's from now on (the slot goes back when it is freed). */
GstMemory *fr_lease_into_memory(FrLease *lease, gsize size);

/* Give the frame back without making a memory of it. */
void fr_lease_drop(FrLease *lease);

/* The allocator of those memories (plugin-wide). */
GstAllocator *fr_slot_allocator_get(void);

G_END_DECLS

#endif
