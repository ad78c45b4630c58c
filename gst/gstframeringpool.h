/*
 * frameringsink's side of a segment: the producer handle, shared by the
 * element and the buffer pool it gives upstream, and that pool, whose buffers
 * are claimed slots.
 */
#ifndef GST_FRAMERING_POOL_H
#define GST_FRAMERING_POOL_H

#include "gstframeringformat.h"

G_BEGIN_DECLS

/*
 * The producer handle and its one claim (a handle holds at most one frame).
 * The pool claims for upstream; the sink claims to copy a foreign buffer; the
 * handle serialises them. Refcounted: every slot memory keeps it (and so the
 * mapping) alive, so a buffer upstream still fills never points into an
 * unmapped segment. Closing (end of stream) waits until no claim is out and
 * no memory points into the slots.
 */
typedef struct _FrProducer FrProducer;

FrProducer *fr_producer_new(struct fr_ring *ring, const FrGstFrameLayout *layout, guint64 capacity);
FrProducer *fr_producer_ref(FrProducer *prod);
void fr_producer_unref(FrProducer *prod);

/* The segment's frame layout (raw formats: the slot's planes). */
const FrGstFrameLayout *fr_producer_layout(FrProducer *prod);
guint64 fr_producer_capacity(FrProducer *prod);

/*
 * Claim a slot for @owner (a pool buffer, or NULL for the sink's copy): waits
 * while another claim is out and while the ring is full. Returns
 * GST_FLOW_FLUSHING once *@cancel becomes non-zero (checked at least every
 * 100 ms) or after close, GST_FLOW_EOS with @dontwait when it would wait,
 * GST_FLOW_ERROR with *@err set on a library error.
 */
GstFlowReturn fr_producer_claim(FrProducer *prod, GstBuffer *owner, gboolean dontwait,
				const gint *cancel, struct fr_frame *frame, gint *err);

/* TRUE when @buffer holds the claim. */
gboolean fr_producer_owns(FrProducer *prod, GstBuffer *buffer);

/* Publish the claim (@bytes of frame, capture time @timestamp_ns, 0 = now);
 * 0 or the library's error (the claim is given back either way). */
gint fr_producer_publish(FrProducer *prod, guint64 bytes, guint64 timestamp_ns);

/* Give the claim back unpublished when @owner holds it (NULL: the copy's claim). */
void fr_producer_cancel(FrProducer *prod, GstBuffer *owner);

/* Wake claimers so that they see their cancel flag. */
void fr_producer_kick(FrProducer *prod);

/* A memory over the claimed slot's first @size bytes (keeps the mapping). */
GstMemory *fr_producer_wrap_claim(FrProducer *prod, gsize size);

/* Detach: ends the stream for the consumers (if frames were published) as
 * soon as no claim is out and no memory points into the slots. */
void fr_producer_close(FrProducer *prod);

#define GST_TYPE_FRAMERING_POOL (gst_framering_pool_get_type())
G_DECLARE_FINAL_TYPE(GstFrameringPool, gst_framering_pool, GST, FRAMERING_POOL, GstBufferPool)

/* A pool whose every buffer is a freshly claimed slot of @prod. */
GstBufferPool *gst_framering_pool_new(FrProducer *prod);

G_END_DECLS

#endif
