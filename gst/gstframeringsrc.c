/*
 * frameringsrc ring=NAME [latest=false] [from-oldest=false] [timeout-ms=-1]
 *
 * Waits for segment NAME to appear, sets caps from its geometry and pushes
 * buffers that wrap acquired slots: no copy; a slot goes back to the ring when
 * downstream frees its buffer. Several buffers may be out at once, each on a
 * handle of its own (see gstframeringslot.h). The segment's end of stream
 * becomes EOS. Redelivered frames (their previous consumer died holding them)
 * are marked in the buffer's GstFrameringFrameMeta.
 */
#include "gstframeringsrc.h"

#include <errno.h>
#include <string.h>

#include "gstframeringformat.h"
#include "gstframeringslot.h"

GST_DEBUG_CATEGORY_STATIC(fr_src_debug);
#define GST_CAT_DEFAULT fr_src_debug

#define DEFAULT_TIMEOUT_MS -1
#define DEFAULT_HANDLES 2
/* How often a source waiting for its segment looks for it. */
#define SEGMENT_POLL_MS 10

enum {
	PROP_0,
	PROP_RING,
	PROP_LATEST,
	PROP_FROM_OLDEST,
	PROP_TIMEOUT_MS,
	PROP_HANDLES,
	PROP_COPIES
};

struct _GstFrameringSrc {
	GstPushSrc parent;

	/* properties, under the object lock */
	gchar *ring;
	gboolean latest;
	gboolean from_oldest;
	gint timeout_ms;
	guint handles;
	guint64 copies; /* layout conversions; evictions are counted by cons */

	/* streaming thread, and start/stop; cons is written under the object lock */
	FrConsumers *cons; /* NULL until the segment is found */
	guint32 mode;
	FrGstFrameLayout layout; /* the segment's default geometry */
	GstVideoInfo caps_info;  /* GStreamer's layout for the negotiated caps */
	gboolean meta_ok;        /* downstream reads GstVideoMeta (strides of our own) */
	gboolean have_seq;
	guint64 last_seq;
	gboolean warned_geometry;
	gint unlocked;
	GMutex wait_lock;
	GCond wait_cond;
};

G_DEFINE_TYPE(GstFrameringSrc, gst_framering_src, GST_TYPE_PUSH_SRC)

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(FR_GST_TEMPLATE_CAPS));

/* Sleep @ms unless unlocked meanwhile; FALSE when unlocked. */
static gboolean nap(GstFrameringSrc *self, gint ms)
{
	gint64 until = g_get_monotonic_time() + (gint64)ms * G_TIME_SPAN_MILLISECOND;

	g_mutex_lock(&self->wait_lock);
	while (!g_atomic_int_get(&self->unlocked) &&
	       g_cond_wait_until(&self->wait_cond, &self->wait_lock, until))
		;
	g_mutex_unlock(&self->wait_lock);
	return !g_atomic_int_get(&self->unlocked);
}

/*
 * Attach to the segment, waiting for it to appear (at most timeout-ms).
 * OK, FLUSHING (unlocked meanwhile) or ERROR (posted).
 */
static GstFlowReturn attach(GstFrameringSrc *self)
{
	struct fr_info *info = g_new0(struct fr_info, 1);
	struct fr_ring *ring = NULL;
	GstFlowReturn ret = GST_FLOW_ERROR;
	gboolean waiting_logged = FALSE;
	int rc;

	GST_OBJECT_LOCK(self);
	gchar *name = g_strdup(self->ring);
	gboolean latest = self->latest, from_oldest = self->from_oldest;
	gint timeout_ms = self->timeout_ms;
	guint handles = self->handles;
	GST_OBJECT_UNLOCK(self);
	gint64 deadline = timeout_ms < 0 ? G_MAXINT64
					 : g_get_monotonic_time() +
					       (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;

	if (!name || fr_name_check(name) < 0) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("ring '%s' is not a segment name ([A-Za-z0-9._-], 1 to %d)",
				   name ? name : "", FR_NAME_MAX),
				  (NULL));
		goto out;
	}
	for (;;) {
		unsigned flags = FR_CONSUMER;
		rc = fr_stat(name, info);
		if (rc == 0) {
			if (info->mode == FR_BROADCAST)
				flags |= (latest ? FR_LATEST : 0) |
					 (from_oldest ? FR_FROM_OLDEST : 0);
			rc = fr_open(name, flags, &ring);
		}
		if (rc == 0)
			break;
		if (rc != -ENOENT && rc != -EPROTO && rc != -EINVAL) {
			/* -EPROTO: being created; -EINVAL: replaced by one of another mode */
			if (rc == -EBUSY)
				GST_ELEMENT_ERROR(self, RESOURCE, BUSY,
						  ("ring '%s' admits no more consumers", name),
						  ("SPSC segments have one consumer, broadcast "
						   "segments slots - 2"));
			else
				GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
						  ("ring '%s': %s", name, fr_strerror(rc)), (NULL));
			goto out;
		}
		if (!waiting_logged) {
			GST_INFO_OBJECT(self, "waiting for ring '%s' to appear", name);
			waiting_logged = TRUE;
		}
		if (g_get_monotonic_time() >= deadline) {
			GST_ELEMENT_ERROR(
			    self, RESOURCE, NOT_FOUND,
			    ("ring '%s' did not appear within %d ms", name, timeout_ms),
			    ("last error: %s", fr_strerror(rc)));
			goto out;
		}
		if (!nap(self, SEGMENT_POLL_MS)) {
			ret = GST_FLOW_FLUSHING;
			goto out;
		}
	}
	if ((rc = fr_info(ring, info)) < 0) {
		GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
				  ("ring '%s': %s", name, fr_strerror(rc)), (NULL));
		goto out;
	}
	if ((latest || from_oldest) && info->mode != FR_BROADCAST)
		GST_WARNING_OBJECT(self, "latest and from-oldest only matter on broadcast rings");
	if (info->format == FR_FORMAT_JPEG
		? !info->width || !info->height
		: fr_gst_video_from_format(info->format) == GST_VIDEO_FORMAT_UNKNOWN) {
		const char *fname = fr_format_name(info->format);
		GST_ELEMENT_ERROR(self, STREAM, FORMAT,
				  ("ring '%s' holds %s frames%s, which GStreamer cannot describe "
				   "(supported: " FR_GST_SUPPORTED_TEXT ")",
				   name, fname ? fname : "unknown",
				   info->format == FR_FORMAT_JPEG ? " of no given size" : ""),
				  (NULL));
		goto out;
	}
	if (!fr_gst_layout(info->format, info->width, info->height, info->stride, &self->layout)) {
		GST_ELEMENT_ERROR(self, STREAM, FORMAT,
				  ("ring '%s': a %ux%u frame with stride %u is invalid", name,
				   info->width, info->height, info->stride),
				  (NULL));
		goto out;
	}
	self->mode = info->mode;
	FrConsumers *cons = fr_consumers_new(ring, info->mode, 0, latest, handles);
	ring = NULL;
	GST_OBJECT_LOCK(self);
	self->cons = cons;
	GST_OBJECT_UNLOCK(self);
	GST_INFO_OBJECT(self, "attached to ring '%s': %ux%u %s", name, info->width, info->height,
			fr_format_name(info->format));
	ret = GST_FLOW_OK;
out:
	fr_close(ring);
	g_free(name);
	g_free(info);
	return ret;
}

static GstCaps *gst_framering_src_get_caps(GstBaseSrc *bsrc, GstCaps *filter)
{
	GstFrameringSrc *self = GST_FRAMERING_SRC(bsrc);
	GstCaps *caps = NULL, *result;

	/* Any thread may ask; the layout is set before cons, under the lock. */
	GST_OBJECT_LOCK(self);
	if (self->cons)
		caps = fr_gst_caps_for(self->layout.format, self->layout.width,
				       self->layout.height);
	GST_OBJECT_UNLOCK(self);
	if (!caps)
		caps = gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(bsrc));
	if (!filter)
		return caps;
	result = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
	gst_caps_unref(caps);
	return result;
}

/* The caps come from the segment: find it first (in the streaming thread). */
static gboolean gst_framering_src_negotiate(GstBaseSrc *bsrc)
{
	GstFrameringSrc *self = GST_FRAMERING_SRC(bsrc);

	if (!self->cons && attach(self) != GST_FLOW_OK)
		return FALSE;
	return GST_BASE_SRC_CLASS(gst_framering_src_parent_class)->negotiate(bsrc);
}

static gboolean gst_framering_src_set_caps(GstBaseSrc *bsrc, GstCaps *caps)
{
	GstFrameringSrc *self = GST_FRAMERING_SRC(bsrc);

	if (self->layout.format != FR_FORMAT_JPEG &&
	    !gst_video_info_from_caps(&self->caps_info, caps))
		return FALSE;
	return TRUE;
}

/* No pool: buffers wrap slots. Only learn whether downstream reads video meta. */
static gboolean gst_framering_src_decide_allocation(GstBaseSrc *bsrc, GstQuery *query)
{
	GstFrameringSrc *self = GST_FRAMERING_SRC(bsrc);

	self->meta_ok = gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL);
	while (gst_query_get_n_allocation_pools(query) > 0)
		gst_query_remove_nth_allocation_pool(query, 0);
	return TRUE;
}

/* Copy a frame laid out with strides of the segment's into GStreamer's default
 * layout, for a downstream that does not read video meta. */
static GstBuffer *copy_to_caps_layout(GstFrameringSrc *self, GstBuffer *slot,
				      const FrGstFrameLayout *fl)
{
	GstBuffer *out = gst_buffer_new_allocate(NULL, self->caps_info.size, NULL);
	GstVideoFrame in, dst;
	gboolean ok = FALSE;

	if (gst_video_frame_map(&in, &fl->info, slot, GST_MAP_READ)) {
		if (gst_video_frame_map(&dst, &self->caps_info, out, GST_MAP_WRITE)) {
			ok = gst_video_frame_copy(&dst, &in);
			gst_video_frame_unmap(&dst);
		}
		gst_video_frame_unmap(&in);
	}
	if (!ok)
		gst_clear_buffer(&out);
	GST_OBJECT_LOCK(self);
	self->copies++;
	GST_OBJECT_UNLOCK(self);
	return out;
}

static GstFlowReturn gst_framering_src_create(GstPushSrc *psrc, GstBuffer **outbuf)
{
	GstFrameringSrc *self = GST_FRAMERING_SRC(psrc);
	GstFlowReturn ret;
	FrLease *lease;
	gint err = 0;

	if (!self->cons)
		return GST_FLOW_NOT_NEGOTIATED;
	GST_OBJECT_LOCK(self);
	gint timeout_ms = self->timeout_ms;
	GST_OBJECT_UNLOCK(self);

	for (;;) {
		ret = fr_consumers_next(self->cons, timeout_ms, &self->unlocked, &lease, &err);
		if (ret == GST_FLOW_EOS)
			GST_INFO_OBJECT(self, "end of stream in the ring");
		if (ret == FR_GST_FLOW_TIMEOUT) {
			GST_ELEMENT_ERROR(self, RESOURCE, READ,
					  ("no frame within %d ms (timeout-ms)", timeout_ms),
					  (NULL));
			return GST_FLOW_ERROR;
		}
		if (ret == GST_FLOW_ERROR)
			GST_ELEMENT_ERROR(self, RESOURCE, READ,
					  ("reading the ring: %s", fr_strerror(err)), (NULL));
		if (ret != GST_FLOW_OK)
			return ret;

		const struct fr_frame *f = fr_lease_frame(lease);
		FrGstFrameLayout fl;
		gsize size = (gsize)f->bytes;
		/* Frames carry their own geometry; the caps carry the segment's. */
		if (f->format != self->layout.format || f->width != self->layout.width ||
		    f->height != self->layout.height ||
		    (f->format != FR_FORMAT_JPEG &&
		     (!fr_gst_layout(f->format, f->width, f->height, f->stride, &fl) ||
		      fl.info.size > f->bytes))) {
			if (!self->warned_geometry)
				GST_ELEMENT_WARNING(self, STREAM, FORMAT,
						    ("dropping frames whose geometry is not the "
						     "segment's"),
						    ("frame %" G_GUINT64_FORMAT ": %ux%u format %u",
						     f->seq, f->width, f->height, f->format));
			self->warned_geometry = TRUE;
			fr_lease_drop(lease);
			continue;
		}
		GstBuffer *buf = gst_buffer_new();
		guint64 seq = f->seq, ts = f->timestamp_ns;
		gboolean redelivered = (f->flags & FR_FRAME_REDELIVERED) != 0;
		if (f->format != FR_FORMAT_JPEG)
			size = fl.info.size;
		gst_buffer_append_memory(buf, fr_lease_into_memory(lease, size));
		if (f->format != FR_FORMAT_JPEG &&
		    !fr_gst_same_layout(&fl.info, &self->caps_info)) {
			if (self->meta_ok) {
				fr_gst_add_video_meta(buf, &fl);
			} else {
				GstBuffer *copy = copy_to_caps_layout(self, buf, &fl);
				gst_buffer_unref(buf); /* the slot goes back now */
				if (!copy) {
					GST_ELEMENT_ERROR(self, STREAM, FAILED,
							  ("could not copy a frame"), (NULL));
					return GST_FLOW_ERROR;
				}
				buf = copy;
			}
		}
		GST_BUFFER_PTS(buf) = fr_gst_running_time_from_timestamp(GST_ELEMENT(self), ts);
		GST_BUFFER_OFFSET(buf) = seq;
		GST_BUFFER_OFFSET_END(buf) = seq + 1;
		/* SPSC and broadcast seqs are consecutive: a gap is frames skipped. */
		if (!self->have_seq || (self->mode != FR_MPMC && seq != self->last_seq + 1))
			GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
		self->have_seq = TRUE;
		self->last_seq = seq;
		GstCustomMeta *meta = gst_buffer_add_custom_meta(buf, FR_GST_FRAME_META_NAME);
		gst_structure_set(gst_custom_meta_get_structure(meta), "seq", G_TYPE_UINT64, seq,
				  "timestamp-ns", G_TYPE_UINT64, ts, "redelivered", G_TYPE_BOOLEAN,
				  redelivered, NULL);
		if (redelivered)
			GST_INFO_OBJECT(self, "frame %" G_GUINT64_FORMAT " is redelivered", seq);
		*outbuf = buf;
		return GST_FLOW_OK;
	}
}

static gboolean gst_framering_src_unlock(GstBaseSrc *bsrc)
{
	GstFrameringSrc *self = GST_FRAMERING_SRC(bsrc);

	g_mutex_lock(&self->wait_lock);
	g_atomic_int_set(&self->unlocked, 1);
	g_cond_broadcast(&self->wait_cond);
	g_mutex_unlock(&self->wait_lock);
	return TRUE;
}

static gboolean gst_framering_src_unlock_stop(GstBaseSrc *bsrc)
{
	g_atomic_int_set(&GST_FRAMERING_SRC(bsrc)->unlocked, 0);
	return TRUE;
}

static gboolean gst_framering_src_start(GstBaseSrc *bsrc)
{
	GstFrameringSrc *self = GST_FRAMERING_SRC(bsrc);

	g_atomic_int_set(&self->unlocked, 0);
	self->have_seq = FALSE;
	self->warned_geometry = FALSE;
	self->meta_ok = FALSE;
	return TRUE;
}

static void detach(GstFrameringSrc *self)
{
	GST_OBJECT_LOCK(self);
	FrConsumers *cons = self->cons;
	self->cons = NULL;
	if (cons)
		self->copies += fr_consumers_evictions(cons);
	GST_OBJECT_UNLOCK(self);
	if (cons)
		fr_consumers_close(cons);
}

static gboolean gst_framering_src_stop(GstBaseSrc *bsrc)
{
	detach(GST_FRAMERING_SRC(bsrc));
	return TRUE;
}

static void gst_framering_src_set_property(GObject *object, guint prop_id, const GValue *value,
					   GParamSpec *pspec)
{
	GstFrameringSrc *self = GST_FRAMERING_SRC(object);

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_RING:
		g_free(self->ring);
		self->ring = g_value_dup_string(value);
		break;
	case PROP_LATEST: self->latest = g_value_get_boolean(value); break;
	case PROP_FROM_OLDEST: self->from_oldest = g_value_get_boolean(value); break;
	case PROP_TIMEOUT_MS: self->timeout_ms = g_value_get_int(value); break;
	case PROP_HANDLES: self->handles = g_value_get_uint(value); break;
	default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_framering_src_get_property(GObject *object, guint prop_id, GValue *value,
					   GParamSpec *pspec)
{
	GstFrameringSrc *self = GST_FRAMERING_SRC(object);

	GST_OBJECT_LOCK(self);
	/* evictions are counted by the handles, under their own lock */
	guint64 evicted = self->cons ? fr_consumers_evictions(self->cons) : 0;
	switch (prop_id) {
	case PROP_RING: g_value_set_string(value, self->ring); break;
	case PROP_LATEST: g_value_set_boolean(value, self->latest); break;
	case PROP_FROM_OLDEST: g_value_set_boolean(value, self->from_oldest); break;
	case PROP_TIMEOUT_MS: g_value_set_int(value, self->timeout_ms); break;
	case PROP_HANDLES: g_value_set_uint(value, self->handles); break;
	case PROP_COPIES: g_value_set_uint64(value, self->copies + evicted); break;
	default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_framering_src_finalize(GObject *object)
{
	GstFrameringSrc *self = GST_FRAMERING_SRC(object);

	detach(self);
	g_free(self->ring);
	g_mutex_clear(&self->wait_lock);
	g_cond_clear(&self->wait_cond);
	G_OBJECT_CLASS(gst_framering_src_parent_class)->finalize(object);
}

static void gst_framering_src_class_init(GstFrameringSrcClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	GstBaseSrcClass *base_class = GST_BASE_SRC_CLASS(klass);
	GstPushSrcClass *push_class = GST_PUSH_SRC_CLASS(klass);
	const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

	gobject_class->set_property = gst_framering_src_set_property;
	gobject_class->get_property = gst_framering_src_get_property;
	gobject_class->finalize = gst_framering_src_finalize;

	g_object_class_install_property(
	    gobject_class, PROP_RING,
	    g_param_spec_string("ring", "Ring", "Name of the framering segment", NULL, rw));
	g_object_class_install_property(
	    gobject_class, PROP_LATEST,
	    g_param_spec_boolean("latest", "Latest",
				 "Broadcast: never hold the producer back; take the newest "
				 "frame each time (skipped frames are counted as drops)",
				 FALSE, rw));
	g_object_class_install_property(
	    gobject_class, PROP_FROM_OLDEST,
	    g_param_spec_boolean("from-oldest", "From oldest",
				 "Broadcast: start at the oldest frame still in the ring "
				 "instead of the newest",
				 FALSE, rw));
	g_object_class_install_property(
	    gobject_class, PROP_TIMEOUT_MS,
	    g_param_spec_int("timeout-ms", "Timeout (ms)",
			     "Fail when the ring does not appear, or no frame arrives, for "
			     "this long (-1: wait forever)",
			     -1, G_MAXINT, DEFAULT_TIMEOUT_MS, rw));
	g_object_class_install_property(
	    gobject_class, PROP_HANDLES,
	    g_param_spec_uint("handles", "Handles",
			      "Most frames downstream may hold at once without a copy, each "
			      "on a consumer handle of its own (SPSC rings allow 1; a "
			      "broadcast ring admits slots - 2 consumers in all)",
			      1, FR_GST_MAX_HANDLES, DEFAULT_HANDLES, rw));
	g_object_class_install_property(
	    gobject_class, PROP_COPIES,
	    g_param_spec_uint64("copies", "Copies",
				"Frames copied: moved out of their slot because downstream "
				"held a frame on every handle, or converted to GStreamer's "
				"strides for a downstream without video meta",
				0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

	gst_element_class_add_static_pad_template(element_class, &src_template);
	gst_element_class_set_static_metadata(
	    element_class, "framering source", "Source/Video",
	    "Pushes the frames of a framering shared-memory ring, zero copy",
	    "the framering project");

	base_class->get_caps = gst_framering_src_get_caps;
	base_class->negotiate = gst_framering_src_negotiate;
	base_class->set_caps = gst_framering_src_set_caps;
	base_class->decide_allocation = gst_framering_src_decide_allocation;
	base_class->unlock = gst_framering_src_unlock;
	base_class->unlock_stop = gst_framering_src_unlock_stop;
	base_class->start = gst_framering_src_start;
	base_class->stop = gst_framering_src_stop;
	push_class->create = gst_framering_src_create;

	GST_DEBUG_CATEGORY_INIT(fr_src_debug, "frameringsrc", 0, "framering source");
}

static void gst_framering_src_init(GstFrameringSrc *self)
{
	self->timeout_ms = DEFAULT_TIMEOUT_MS;
	self->handles = DEFAULT_HANDLES;
	g_mutex_init(&self->wait_lock);
	g_cond_init(&self->wait_cond);
	/* A ring is fed by a camera: frames come at its pace, stamped at capture. */
	gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
	gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}
