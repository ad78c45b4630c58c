/* frameringsink's producer handle and the buffer pool of claimed slots. */
#include "gstframeringpool.h"

#include <errno.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC(fr_pool_debug);
#define GST_CAT_DEFAULT fr_pool_debug

/* A blocked claim looks at its cancel flag this often: the library's waits
 * cannot be interrupted from another thread, only bounded. */
#define CLAIM_SLICE_MS 100

struct _FrProducer {
	gint refs;
	GMutex lock;
	GCond cond;
	struct fr_ring *ring; /* NULL once closed */
	FrGstFrameLayout layout;
	guint64 capacity;
	gboolean busy;    /* the handle claims or holds a claim */
	GstBuffer *owner; /* the pool buffer holding the claim (NULL: the copy) */
	gboolean held;    /* the claim succeeded: frame is valid */
	struct fr_frame frame;
	guint live_memories; /* memories pointing into the slots */
	gboolean closing;
};

FrProducer *fr_producer_new(struct fr_ring *ring, const FrGstFrameLayout *layout, guint64 capacity)
{
	FrProducer *p = g_new0(FrProducer, 1);

	p->refs = 1;
	g_mutex_init(&p->lock);
	g_cond_init(&p->cond);
	p->ring = ring;
	p->layout = *layout;
	p->capacity = capacity;
	return p;
}

FrProducer *fr_producer_ref(FrProducer *prod)
{
	g_atomic_int_inc(&prod->refs);
	return prod;
}

/* With the lock: close the handle once closing and idle. */
static void maybe_close(FrProducer *p)
{
	if (p->closing && p->ring && !p->busy && p->live_memories == 0) {
		fr_close(p->ring); /* the last producer leaving ends the stream */
		p->ring = NULL;
	}
}

void fr_producer_unref(FrProducer *prod)
{
	if (!g_atomic_int_dec_and_test(&prod->refs))
		return;
	/* Nothing can hold a claim or a memory any more. */
	fr_close(prod->ring);
	g_mutex_clear(&prod->lock);
	g_cond_clear(&prod->cond);
	g_free(prod);
}

const FrGstFrameLayout *fr_producer_layout(FrProducer *prod)
{
	return &prod->layout;
}

guint64 fr_producer_capacity(FrProducer *prod)
{
	return prod->capacity;
}

void fr_producer_close(FrProducer *prod)
{
	g_mutex_lock(&prod->lock);
	g_atomic_int_set(&prod->closing, TRUE);
	maybe_close(prod);
	g_cond_broadcast(&prod->cond);
	g_mutex_unlock(&prod->lock);
}

void fr_producer_kick(FrProducer *prod)
{
	g_mutex_lock(&prod->lock);
	g_cond_broadcast(&prod->cond);
	g_mutex_unlock(&prod->lock);
}

GstFlowReturn fr_producer_claim(FrProducer *prod, GstBuffer *owner, gboolean dontwait,
				const gint *cancel, struct fr_frame *frame, gint *err)
{
	GstFlowReturn ret = GST_FLOW_OK;
	int rc;

	g_mutex_lock(&prod->lock);
	while (prod->busy && !prod->closing && !g_atomic_int_get(cancel)) {
		if (dontwait) {
			g_mutex_unlock(&prod->lock);
			return GST_FLOW_EOS;
		}
		gint64 until = g_get_monotonic_time() + CLAIM_SLICE_MS * G_TIME_SPAN_MILLISECOND;
		g_cond_wait_until(&prod->cond, &prod->lock, until);
	}
	if (prod->closing || !prod->ring || g_atomic_int_get(cancel)) {
		g_mutex_unlock(&prod->lock);
		return GST_FLOW_FLUSHING;
	}
	/* Reserve the handle: from here only this thread uses it. */
	prod->busy = TRUE;
	prod->owner = owner;
	prod->held = FALSE;
	g_mutex_unlock(&prod->lock);

	for (;;) {
		rc = fr_claim(prod->ring, frame, dontwait ? 0 : CLAIM_SLICE_MS);
		if (rc == 0)
			break;
		if (rc == -EAGAIN && dontwait) {
			ret = GST_FLOW_EOS;
			break;
		}
		if (rc != -ETIMEDOUT && rc != -EAGAIN && rc != -EINTR) {
			*err = rc;
			ret = GST_FLOW_ERROR;
			break;
		}
		if (g_atomic_int_get(cancel) || g_atomic_int_get(&prod->closing)) {
			ret = GST_FLOW_FLUSHING;
			break;
		}
	}

	g_mutex_lock(&prod->lock);
	if (ret == GST_FLOW_OK) {
		prod->frame = *frame;
		prod->held = TRUE;
	} else {
		prod->busy = FALSE;
		prod->owner = NULL;
		maybe_close(prod);
		g_cond_broadcast(&prod->cond);
	}
	g_mutex_unlock(&prod->lock);
	return ret;
}

gboolean fr_producer_owns(FrProducer *prod, GstBuffer *buffer)
{
	g_mutex_lock(&prod->lock);
	gboolean owns = prod->held && prod->owner == buffer;
	g_mutex_unlock(&prod->lock);
	return owns;
}

/* With the lock: the claim is over (published or given back). */
static void claim_done(FrProducer *p)
{
	p->busy = FALSE;
	p->held = FALSE;
	p->owner = NULL;
	maybe_close(p);
	g_cond_broadcast(&p->cond);
}

gint fr_producer_publish(FrProducer *prod, guint64 bytes, guint64 timestamp_ns)
{
	struct fr_frame f;
	int rc;

	g_mutex_lock(&prod->lock);
	if (!prod->held) {
		g_mutex_unlock(&prod->lock);
		return -EINVAL;
	}
	f = prod->frame;
	g_mutex_unlock(&prod->lock);

	/* The handle is reserved (busy): no lock needed around the library call. */
	f.bytes = bytes;
	f.timestamp_ns = timestamp_ns;
	rc = fr_publish(prod->ring, &f);
	if (rc < 0 && rc != -EPROTO)
		fr_cancel(prod->ring, &f); /* -EINVAL leaves it claimed: give it back */

	g_mutex_lock(&prod->lock);
	claim_done(prod);
	g_mutex_unlock(&prod->lock);
	return rc;
}

void fr_producer_cancel(FrProducer *prod, GstBuffer *owner)
{
	g_mutex_lock(&prod->lock);
	if (prod->held && prod->owner == owner) {
		fr_cancel(prod->ring, &prod->frame);
		claim_done(prod);
	}
	g_mutex_unlock(&prod->lock);
}

static void slot_memory_gone(gpointer data)
{
	FrProducer *p = data;

	g_mutex_lock(&p->lock);
	p->live_memories--;
	maybe_close(p);
	g_mutex_unlock(&p->lock);
	fr_producer_unref(p);
}

GstMemory *fr_producer_wrap_claim(FrProducer *prod, gsize size)
{
	g_mutex_lock(&prod->lock);
	g_assert(prod->held && size <= prod->frame.capacity);
	prod->live_memories++;
	void *data = prod->frame.data;
	gsize capacity = (gsize)prod->frame.capacity;
	g_mutex_unlock(&prod->lock);
	return gst_memory_new_wrapped(0, data, capacity, 0, size, fr_producer_ref(prod),
				      slot_memory_gone);
}

/* ---- the pool ------------------------------------------------------------- */

struct _GstFrameringPool {
	GstBufferPool parent;
	FrProducer *prod;
	gsize size;          /* bytes of each buffer, as configured */
	gboolean video_meta; /* add a GstVideoMeta (upstream asked for it) */
	gint flushing;
};

G_DEFINE_TYPE(GstFrameringPool, gst_framering_pool, GST_TYPE_BUFFER_POOL)

static const gchar **pool_get_options(GstBufferPool *pool)
{
	static const gchar *options[] = { GST_BUFFER_POOL_OPTION_VIDEO_META, NULL };
	(void)pool;
	return options;
}

/*
 * Accept what the slots can do and, when refusing, change the config so that
 * gst_buffer_pool_config_validate_params() fails: upstream then falls back to
 * a pool of its own (and the sink copies) instead of failing.
 */
static gboolean pool_set_config(GstBufferPool *bpool, GstStructure *config)
{
	GstFrameringPool *pool = GST_FRAMERING_POOL(bpool);
	const FrGstFrameLayout *seg = fr_producer_layout(pool->prod);
	GstCaps *caps;
	guint size, min, max;
	FrGstFrameLayout want;
	gchar *why = NULL;

	if (!gst_buffer_pool_config_get_params(config, &caps, &size, &min, &max))
		return FALSE;
	gboolean meta = gst_buffer_pool_config_has_option(config,
							  GST_BUFFER_POOL_OPTION_VIDEO_META);
	if (seg->format == FR_FORMAT_JPEG || !caps || !fr_gst_layout_from_caps(caps, &want, &why) ||
	    want.format != seg->format || want.width != seg->width || want.height != seg->height) {
		GST_DEBUG_OBJECT(pool, "refusing caps %" GST_PTR_FORMAT ": %s", (void *)caps,
				 why ? why : "not the segment's geometry");
		g_free(why);
		gst_buffer_pool_config_set_params(config, NULL, size, min, max);
		return FALSE;
	}
	/* Upstream writes the layout its caps say unless it honours video meta. */
	GstVideoInfo caps_info;
	if (!meta && (!gst_video_info_from_caps(&caps_info, caps) ||
		      !fr_gst_same_layout(&caps_info, &seg->info))) {
		GST_DEBUG_OBJECT(pool, "the slots' strides need video meta, upstream has none");
		gst_buffer_pool_config_set_params(config, NULL, size, min, max);
		return FALSE;
	}
	/* One claim per handle: a producer cannot hold two slots at once. */
	if (min > 1 || size > fr_producer_capacity(pool->prod) || size < seg->info.size) {
		GST_DEBUG_OBJECT(pool,
				 "refusing %u buffers of %u bytes (one slot of %" G_GSIZE_FORMAT
				 " bytes at a time)",
				 min, size, seg->info.size);
		gst_buffer_pool_config_set_params(config, caps, (guint)seg->info.size, MIN(min, 1),
						  1);
		return FALSE;
	}
	pool->size = size;
	pool->video_meta = meta;
	return GST_BUFFER_POOL_CLASS(gst_framering_pool_parent_class)->set_config(bpool, config);
}

/* Buffers are made per claim: nothing to preallocate. */
static gboolean pool_start(GstBufferPool *bpool)
{
	(void)bpool;
	return TRUE;
}

static GstFlowReturn pool_acquire_buffer(GstBufferPool *bpool, GstBuffer **buffer,
					 GstBufferPoolAcquireParams *params)
{
	GstFrameringPool *pool = GST_FRAMERING_POOL(bpool);
	gboolean dontwait = params && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT);
	struct fr_frame f;
	gint err = 0;

	GstBuffer *buf = gst_buffer_new();
	GstFlowReturn ret = fr_producer_claim(pool->prod, buf, dontwait, &bpool->flushing, &f,
					      &err);
	if (ret != GST_FLOW_OK) {
		if (ret == GST_FLOW_ERROR)
			GST_ERROR_OBJECT(pool, "claiming a slot: %s", fr_strerror(err));
		gst_buffer_unref(buf);
		return ret;
	}
	gst_buffer_append_memory(buf, fr_producer_wrap_claim(pool->prod, pool->size));
	if (pool->video_meta)
		fr_gst_add_video_meta(buf, fr_producer_layout(pool->prod));
	GST_LOG_OBJECT(pool, "buffer %p is slot at %p", (void *)buf, f.data);
	*buffer = buf;
	return GST_FLOW_OK;
}

static void pool_reset_buffer(GstBufferPool *bpool, GstBuffer *buffer)
{
	(void)bpool;
	(void)buffer; /* released buffers are freed, never reused */
}

/* Back from upstream or from the sink: a claim never published is given back. */
static void pool_release_buffer(GstBufferPool *bpool, GstBuffer *buffer)
{
	GstFrameringPool *pool = GST_FRAMERING_POOL(bpool);

	fr_producer_cancel(pool->prod, buffer);
	gst_buffer_unref(buffer);
}

static void pool_flush_start(GstBufferPool *bpool)
{
	fr_producer_kick(GST_FRAMERING_POOL(bpool)->prod);
}

static void pool_finalize(GObject *object)
{
	GstFrameringPool *pool = GST_FRAMERING_POOL(object);

	fr_producer_unref(pool->prod);
	G_OBJECT_CLASS(gst_framering_pool_parent_class)->finalize(object);
}

static void gst_framering_pool_class_init(GstFrameringPoolClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS(klass);

	gobject_class->finalize = pool_finalize;
	pool_class->get_options = pool_get_options;
	pool_class->set_config = pool_set_config;
	pool_class->start = pool_start;
	pool_class->acquire_buffer = pool_acquire_buffer;
	pool_class->reset_buffer = pool_reset_buffer;
	pool_class->release_buffer = pool_release_buffer;
	pool_class->flush_start = pool_flush_start;
	GST_DEBUG_CATEGORY_INIT(fr_pool_debug, "frameringpool", 0, "framering slot pool");
}

static void gst_framering_pool_init(GstFrameringPool *pool)
{
	(void)pool;
}

GstBufferPool *gst_framering_pool_new(FrProducer *prod)
{
	GstFrameringPool *pool = g_object_new(GST_TYPE_FRAMERING_POOL, NULL);

	/* GstBufferPool is a floating GstObject: take ownership of it. */
	gst_object_ref_sink(pool);
	pool->prod = fr_producer_ref(prod);
	pool->size = fr_producer_layout(prod)->info.size;
	return GST_BUFFER_POOL(pool);
}
