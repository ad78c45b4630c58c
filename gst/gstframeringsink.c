/*
 * frameringsink ring=NAME [mode=spsc|mpmc|broadcast] [slots=N] [perms=0600]
 *
 * Publishes each buffer into segment NAME, created from the negotiated caps or
 * attached to as producer when it exists with the same geometry. Zero copy:
 * the allocation query is answered with a pool whose buffers are claimed
 * slots, so upstream writes the pixels straight into the segment and render
 * only publishes. A buffer from elsewhere is copied once into a slot and
 * counted (read-only property "copies"). PTS becomes timestamp_ns; EOS ends
 * the stream for the consumers.
 */
#include "gstframeringsink.h"

#include <errno.h>
#include <string.h>

#include "gstframeringformat.h"
#include "gstframeringpool.h"

GST_DEBUG_CATEGORY_STATIC(fr_sink_debug);
#define GST_CAT_DEFAULT fr_sink_debug

#define DEFAULT_MODE FR_BROADCAST
#define DEFAULT_SLOTS 8
#define DEFAULT_PERMS 0600

enum { PROP_0, PROP_RING, PROP_MODE, PROP_SLOTS, PROP_PERMS, PROP_COPIES };

struct _GstFrameringSink {
	GstBaseSink parent;

	/* properties, under the object lock */
	gchar *ring;
	guint mode;
	gboolean mode_set; /* given explicitly: an existing segment must match */
	guint slots;
	gboolean slots_set;
	guint perms;
	guint64 copies;

	/* written by the streaming thread (set_caps, event) and stop, under the
	 * object lock; the streaming thread reads them without it */
	FrProducer *prod; /* NULL when detached */
	GstBufferPool *pool;
	GstVideoInfo in_info; /* the negotiated caps (raw formats) */
	gint unlocked;        /* basesink asked render to return */
	guint64 dropped_jpeg;
};

G_DEFINE_TYPE(GstFrameringSink, gst_framering_sink, GST_TYPE_BASE_SINK)

GType gst_framering_mode_get_type(void)
{
	static GType type;
	static const GEnumValue values[] = {
		{ FR_SPSC, "one producer, one consumer, FIFO", "spsc" },
		{ FR_MPMC, "many producers and consumers, each frame to one consumer", "mpmc" },
		{ FR_BROADCAST, "one producer, every consumer sees every frame", "broadcast" },
		{ 0, NULL, NULL },
	};

	if (g_once_init_enter(&type))
		g_once_init_leave(&type, g_enum_register_static("GstFrameringMode", values));
	return type;
}

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(FR_GST_TEMPLATE_CAPS));

static const char *mode_name(guint32 mode)
{
	return mode == FR_SPSC        ? "spsc"
	       : mode == FR_MPMC      ? "mpmc"
	       : mode == FR_BROADCAST ? "broadcast"
				      : "?";
}

static gchar *describe(guint32 format, guint32 w, guint32 h, guint32 stride)
{
	const char *name = fr_format_name(format);
	if (format == FR_FORMAT_JPEG || !stride)
		return g_strdup_printf("%ux%u %s", w, h, name ? name : "?");
	return g_strdup_printf("%ux%u %s (stride %u)", w, h, name ? name : "?", stride);
}

/* The segment holds frames of @want's format and size, with slots big enough,
 * in the mode and slot count asked for (when asked). Its layout in *@seg. */
static gboolean segment_fits(GstFrameringSink *self, const struct fr_info *info,
			     const FrGstFrameLayout *want, FrGstFrameLayout *seg, gchar **why)
{
	gchar *have = describe(info->format, info->width, info->height, info->stride);
	gboolean ok = FALSE;

	if (info->format != want->format || info->width != want->width ||
	    info->height != want->height) {
		gchar *caps = describe(want->format, want->width, want->height, 0);
		*why = g_strdup_printf("it holds %s frames, the caps are %s", have, caps);
		g_free(caps);
	} else if (!fr_gst_layout(info->format, info->width, info->height, info->stride, seg) ||
		   (want->format != FR_FORMAT_JPEG && seg->info.size > info->frame_capacity)) {
		*why = g_strdup_printf("its %s frames do not fit its %" G_GUINT64_FORMAT
				       "-byte slots",
				       have, info->frame_capacity);
	} else if (self->mode_set && info->mode != self->mode) {
		*why = g_strdup_printf("it is %s, not %s", mode_name(info->mode),
				       mode_name(self->mode));
	} else if (self->slots_set && info->slots != self->slots) {
		*why = g_strdup_printf("it has %u slots, not %u", info->slots, self->slots);
	} else {
		ok = TRUE;
	}
	g_free(have);
	return ok;
}

static void open_failed(GstFrameringSink *self, const gchar *name, const gchar *what, int rc)
{
	if (rc == -EBUSY)
		GST_ELEMENT_ERROR(self, RESOURCE, BUSY,
				  ("ring '%s': another producer is attached", name),
				  ("%s: %s", what, fr_strerror(rc)));
	else if (rc == -EACCES)
		GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ_WRITE,
				  ("ring '%s': permission denied", name), ("%s", what));
	else if (rc == -EINVAL)
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("ring '%s' cannot be made so: slots must be a power of two, "
				   "at least 4 in broadcast mode",
				   name),
				  ("%s: %s", what, fr_strerror(rc)));
	else if (rc == -ENOSPC)
		GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT,
				  ("ring '%s': /dev/shm has no room for it (lower slots=)", name),
				  ("%s", what));
	else
		GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ_WRITE,
				  ("ring '%s': %s", name, fr_strerror(rc)), ("%s", what));
}

/* Create the segment from @want, or attach to the one of that name. */
static gboolean attach(GstFrameringSink *self, const FrGstFrameLayout *want)
{
	struct fr_info *info = g_new0(struct fr_info, 1);
	struct fr_ring *ring = NULL;
	FrGstFrameLayout seg = *want;
	gchar *name, *why = NULL;
	gboolean ok = FALSE;
	int rc = -ENOENT;

	GST_OBJECT_LOCK(self);
	name = g_strdup(self->ring);
	struct fr_config cfg = {
		.mode = self->mode,
		.slots = self->slots,
		.width = want->width,
		.height = want->height,
		.format = want->format,
		.stride = want->stride,
		.perms = self->perms,
		.flags = FR_CREATE_REPLACE_STALE,
	};
	GST_OBJECT_UNLOCK(self);
	if (want->format == FR_FORMAT_JPEG)
		cfg.frame_bytes = fr_gst_jpeg_capacity(want->width, want->height);

	if (!name || fr_name_check(name) < 0) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("ring '%s' is not a segment name ([A-Za-z0-9._-], 1 to %d)",
				   name ? name : "", FR_NAME_MAX),
				  (NULL));
		goto out;
	}
	/* Two attempts: another process may create the name between our stat and create. */
	for (int attempt = 0; attempt < 2 && !ring; attempt++) {
		rc = fr_stat(name, info);
		if (rc == 0) {
			g_clear_pointer(&why, g_free);
			if (segment_fits(self, info, want, &seg, &why)) {
				rc = fr_open(name, FR_PRODUCER, &ring);
				if (rc == 0)
					GST_INFO_OBJECT(self, "attached to ring '%s' as producer",
							name);
				else if (rc != -ENOENT)
					break;
				continue;
			}
			if (!fr_info_is_stale(info)) {
				GST_ELEMENT_ERROR(
				    self, RESOURCE, SETTINGS,
				    ("ring '%s' exists and does not fit: %s", name, why),
				    ("remove it (framering rm %s) or use another ring", name));
				goto out;
			}
			GST_INFO_OBJECT(self, "replacing stale ring '%s' (%s)", name, why);
			seg = *want;
		} else if (rc != -ENOENT) {
			break;
		}
		rc = fr_create(name, &cfg, &ring);
		if (rc == 0) {
			seg = *want;
			GST_INFO_OBJECT(self, "created ring '%s': %s, %u slots", name,
					mode_name(cfg.mode), cfg.slots);
		} else if (rc != -EEXIST) {
			break;
		}
	}
	if (!ring) {
		open_failed(self, name, "attaching", rc);
		goto out;
	}
	if ((rc = fr_info(ring, info)) < 0) {
		fr_close(ring);
		open_failed(self, name, "fr_info", rc);
		goto out;
	}
	FrProducer *prod = fr_producer_new(ring, &seg, info->frame_capacity);
	GstBufferPool *pool = gst_framering_pool_new(prod);
	GST_OBJECT_LOCK(self);
	self->prod = prod;
	self->pool = pool;
	GST_OBJECT_UNLOCK(self);
	ok = TRUE;
out:
	g_free(why);
	g_free(name);
	g_free(info);
	return ok;
}

static void detach(GstFrameringSink *self)
{
	GST_OBJECT_LOCK(self);
	FrProducer *prod = self->prod;
	GstBufferPool *pool = self->pool;
	self->prod = NULL;
	self->pool = NULL;
	GST_OBJECT_UNLOCK(self);
	if (prod) {
		fr_producer_close(prod);
		fr_producer_unref(prod);
	}
	gst_clear_object(&pool);
}

static gboolean gst_framering_sink_set_caps(GstBaseSink *bsink, GstCaps *caps)
{
	GstFrameringSink *self = GST_FRAMERING_SINK(bsink);
	FrGstFrameLayout want;
	gchar *why = NULL;

	if (!fr_gst_layout_from_caps(caps, &want, &why)) {
		GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("frameringsink: %s", why),
				  ("caps %" GST_PTR_FORMAT, (void *)caps));
		g_free(why);
		return FALSE;
	}
	if (want.format != FR_FORMAT_JPEG)
		gst_video_info_from_caps(&self->in_info, caps);
	if (self->prod) {
		const FrGstFrameLayout *have = fr_producer_layout(self->prod);
		if (have->format == want.format && have->width == want.width &&
		    have->height == want.height)
			return TRUE;
		gchar *a = describe(have->format, have->width, have->height, 0);
		gchar *b = describe(want.format, want.width, want.height, 0);
		GST_ELEMENT_ERROR(
		    self, STREAM, FORMAT,
		    ("frameringsink: the ring holds %s frames; caps cannot change to %s", a, b),
		    (NULL));
		g_free(a);
		g_free(b);
		return FALSE;
	}
	return attach(self, &want);
}

/*
 * What the sink accepts: an attached (or existing, live) segment's geometry,
 * otherwise every supported format. But an upstream that offers nothing the
 * ring can carry is answered with its own caps, and a query without filter
 * (a link check) also gets plain "video/x-raw" and "image/jpeg" after the
 * real caps: negotiation then reaches set_caps, which refuses with a message
 * naming the supported formats or the segment's geometry, where a bare
 * not-negotiated (or a link error) would name nothing.
 */
static GstCaps *gst_framering_sink_get_caps(GstBaseSink *bsink, GstCaps *filter)
{
	GstFrameringSink *self = GST_FRAMERING_SINK(bsink);
	GstCaps *caps = NULL, *result;
	FrGstFrameLayout l = { 0 };

	/* Any thread may ask: the streaming thread may detach meanwhile. */
	GST_OBJECT_LOCK(self);
	if (self->prod)
		l = *fr_producer_layout(self->prod);
	GST_OBJECT_UNLOCK(self);
	if (l.width) {
		caps = fr_gst_caps_for(l.format, l.width, l.height);
	} else {
		struct fr_info *info = g_new0(struct fr_info, 1);
		GST_OBJECT_LOCK(self);
		gchar *name = g_strdup(self->ring);
		GST_OBJECT_UNLOCK(self);
		if (name && fr_stat(name, info) == 0 && !fr_info_is_stale(info))
			caps = fr_gst_caps_for(info->format, info->width, info->height);
		g_free(name);
		g_free(info);
	}
	if (!caps)
		caps = gst_pad_get_pad_template_caps(GST_BASE_SINK_PAD(bsink));
	if (!filter) {
		caps = gst_caps_make_writable(caps);
		gst_caps_append(caps, gst_caps_from_string("video/x-raw; image/jpeg"));
		return caps;
	}
	result = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
	gst_caps_unref(caps);
	if (gst_caps_is_empty(result) && !gst_caps_is_empty(filter)) {
		gst_caps_unref(result);
		result = gst_caps_ref(filter);
	}
	return result;
}

static gboolean gst_framering_sink_propose_allocation(GstBaseSink *bsink, GstQuery *query)
{
	GstFrameringSink *self = GST_FRAMERING_SINK(bsink);
	GstCaps *caps;
	gboolean need_pool;
	FrGstFrameLayout want;
	gchar *why = NULL;

	gst_query_parse_allocation(query, &caps, &need_pool);
	if (!self->prod || !caps)
		return TRUE;
	const FrGstFrameLayout *seg = fr_producer_layout(self->prod);
	if (!fr_gst_layout_from_caps(caps, &want, &why) || seg->format == FR_FORMAT_JPEG ||
	    want.format != seg->format || want.width != seg->width || want.height != seg->height) {
		g_free(why);
		return TRUE; /* not frames we can lay out in a slot: no pool, copies */
	}
	/*
	 * One buffer out at a time: a producer handle holds one claim. min = max
	 * says so in the convention of the allocation query: an element that
	 * keeps a buffer until the next one arrives (videorate) then drops the
	 * pool instead of waiting forever for a second buffer (and is copied).
	 */
	gst_query_add_allocation_pool(query, self->pool, (guint)seg->info.size, 1, 1);
	gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL);
	return TRUE;
}

static void count_copy(GstFrameringSink *self, const char *why)
{
	GST_OBJECT_LOCK(self);
	guint64 n = ++self->copies;
	GST_OBJECT_UNLOCK(self);
	if (n == 1)
		GST_INFO_OBJECT(self,
				"copying buffers into the slots (%s): upstream did not use "
				"the ring's buffer pool",
				why);
	GST_DEBUG_OBJECT(self, "copy %" G_GUINT64_FORMAT ": %s", n, why);
}

/* Copy a foreign raw buffer into the claimed slot, converting strides. */
static gboolean copy_raw(GstFrameringSink *self, GstBuffer *buf, const FrGstFrameLayout *seg)
{
	GstVideoFrame in, out;
	gboolean ok = FALSE;

	if (!gst_video_frame_map(&in, &self->in_info, buf, GST_MAP_READ))
		return FALSE;
	GstBuffer *slot = gst_buffer_new();
	gst_buffer_append_memory(slot, fr_producer_wrap_claim(self->prod, seg->info.size));
	if (gst_video_frame_map(&out, &seg->info, slot, GST_MAP_WRITE)) {
		ok = gst_video_frame_copy(&out, &in);
		gst_video_frame_unmap(&out);
	}
	gst_buffer_unref(slot);
	gst_video_frame_unmap(&in);
	return ok;
}

static GstFlowReturn gst_framering_sink_render(GstBaseSink *bsink, GstBuffer *buf)
{
	GstFrameringSink *self = GST_FRAMERING_SINK(bsink);
	struct fr_frame f;
	gint err = 0, rc;

	if (!self->prod)
		return GST_FLOW_NOT_NEGOTIATED;
	const FrGstFrameLayout *seg = fr_producer_layout(self->prod);
	guint64 ts = 0;
	if (GST_BUFFER_PTS_IS_VALID(buf))
		ts = fr_gst_timestamp_from_running_time(
		    GST_ELEMENT(self), gst_segment_to_running_time(&bsink->segment, GST_FORMAT_TIME,
								   GST_BUFFER_PTS(buf)));

	if (buf->pool == self->pool && fr_producer_owns(self->prod, buf)) {
		/* Upstream wrote into the slot itself: only publish. */
		rc = fr_producer_publish(self->prod, seg->info.size, ts);
	} else {
		gsize size = gst_buffer_get_size(buf);
		if (seg->format == FR_FORMAT_JPEG && size > fr_producer_capacity(self->prod)) {
			GST_ELEMENT_WARNING(self, STREAM, TOO_LAZY,
					    ("dropping a %" G_GSIZE_FORMAT "-byte JPEG: the ring's "
					     "slots hold %" G_GUINT64_FORMAT " bytes",
					     size, fr_producer_capacity(self->prod)),
					    (NULL));
			self->dropped_jpeg++;
			return GST_FLOW_OK;
		}
		GstFlowReturn ret = fr_producer_claim(self->prod, NULL, FALSE, &self->unlocked, &f,
						      &err);
		if (ret == GST_FLOW_ERROR)
			GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
					  ("ring: claiming a slot: %s", fr_strerror(err)), (NULL));
		if (ret != GST_FLOW_OK)
			return ret;
		gboolean ok;
		if (seg->format == FR_FORMAT_JPEG) {
			ok = gst_buffer_extract(buf, 0, f.data, size) == size;
		} else {
			size = seg->info.size;
			ok = copy_raw(self, buf, seg);
		}
		if (!ok) {
			fr_producer_cancel(self->prod, NULL);
			GST_ELEMENT_ERROR(self, STREAM, FAILED, ("could not read the buffer"),
					  (NULL));
			return GST_FLOW_ERROR;
		}
		count_copy(self, buf->pool ? "a buffer of another pool" : "a buffer without pool");
		rc = fr_producer_publish(self->prod, size, ts);
	}
	if (rc < 0) {
		GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("ring: publishing: %s", fr_strerror(rc)),
				  (NULL));
		return GST_FLOW_ERROR;
	}
	return GST_FLOW_OK;
}

static gboolean gst_framering_sink_event(GstBaseSink *bsink, GstEvent *event)
{
	GstFrameringSink *self = GST_FRAMERING_SINK(bsink);

	if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && self->prod) {
		/* The stream ends for the consumers once the last claim is back. */
		GST_INFO_OBJECT(self, "end of stream: detaching from the ring");
		detach(self);
	}
	return GST_BASE_SINK_CLASS(gst_framering_sink_parent_class)->event(bsink, event);
}

static gboolean gst_framering_sink_unlock(GstBaseSink *bsink)
{
	GstFrameringSink *self = GST_FRAMERING_SINK(bsink);

	g_atomic_int_set(&self->unlocked, 1);
	GST_OBJECT_LOCK(self);
	FrProducer *prod = self->prod ? fr_producer_ref(self->prod) : NULL;
	GST_OBJECT_UNLOCK(self);
	if (prod) {
		fr_producer_kick(prod);
		fr_producer_unref(prod);
	}
	return TRUE;
}

static gboolean gst_framering_sink_unlock_stop(GstBaseSink *bsink)
{
	g_atomic_int_set(&GST_FRAMERING_SINK(bsink)->unlocked, 0);
	return TRUE;
}

static gboolean gst_framering_sink_start(GstBaseSink *bsink)
{
	GstFrameringSink *self = GST_FRAMERING_SINK(bsink);

	g_atomic_int_set(&self->unlocked, 0);
	return TRUE;
}

static gboolean gst_framering_sink_stop(GstBaseSink *bsink)
{
	detach(GST_FRAMERING_SINK(bsink));
	return TRUE;
}

static void gst_framering_sink_set_property(GObject *object, guint prop_id, const GValue *value,
					    GParamSpec *pspec)
{
	GstFrameringSink *self = GST_FRAMERING_SINK(object);

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_RING:
		g_free(self->ring);
		self->ring = g_value_dup_string(value);
		break;
	case PROP_MODE:
		self->mode = (guint)g_value_get_enum(value);
		self->mode_set = TRUE;
		break;
	case PROP_SLOTS:
		self->slots = g_value_get_uint(value);
		self->slots_set = TRUE;
		break;
	case PROP_PERMS: self->perms = g_value_get_uint(value); break;
	default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_framering_sink_get_property(GObject *object, guint prop_id, GValue *value,
					    GParamSpec *pspec)
{
	GstFrameringSink *self = GST_FRAMERING_SINK(object);

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_RING: g_value_set_string(value, self->ring); break;
	case PROP_MODE: g_value_set_enum(value, (gint)self->mode); break;
	case PROP_SLOTS: g_value_set_uint(value, self->slots); break;
	case PROP_PERMS: g_value_set_uint(value, self->perms); break;
	case PROP_COPIES: g_value_set_uint64(value, self->copies); break;
	default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_framering_sink_finalize(GObject *object)
{
	GstFrameringSink *self = GST_FRAMERING_SINK(object);

	detach(self);
	g_free(self->ring);
	G_OBJECT_CLASS(gst_framering_sink_parent_class)->finalize(object);
}

static void gst_framering_sink_class_init(GstFrameringSinkClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	GstBaseSinkClass *sink_class = GST_BASE_SINK_CLASS(klass);
	const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;

	gobject_class->set_property = gst_framering_sink_set_property;
	gobject_class->get_property = gst_framering_sink_get_property;
	gobject_class->finalize = gst_framering_sink_finalize;

	g_object_class_install_property(
	    gobject_class, PROP_RING,
	    g_param_spec_string("ring", "Ring", "Name of the framering segment", NULL, rw));
	g_object_class_install_property(
	    gobject_class, PROP_MODE,
	    g_param_spec_enum("mode", "Mode", "Delivery mode of a segment this sink creates",
			      GST_TYPE_FRAMERING_MODE, DEFAULT_MODE, rw));
	g_object_class_install_property(
	    gobject_class, PROP_SLOTS,
	    g_param_spec_uint("slots", "Slots",
			      "Slots of a segment this sink creates (a power of two; "
			      "broadcast admits slots - 2 consumers)",
			      FR_MIN_SLOTS, FR_MAX_SLOTS, DEFAULT_SLOTS, rw));
	g_object_class_install_property(
	    gobject_class, PROP_PERMS,
	    g_param_spec_uint("perms", "Permissions",
			      "File mode of a segment this sink creates (exactly; the umask "
			      "does not apply)",
			      0, 07777, DEFAULT_PERMS, rw));
	g_object_class_install_property(
	    gobject_class, PROP_COPIES,
	    g_param_spec_uint64("copies", "Copies",
				"Buffers copied into a slot because upstream did not write "
				"into the ring's own buffers",
				0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

	gst_element_class_add_static_pad_template(element_class, &sink_template);
	gst_element_class_set_static_metadata(
	    element_class, "framering sink", "Sink/Video",
	    "Publishes video frames into a framering shared-memory ring, zero copy",
	    "the framering project");

	sink_class->set_caps = gst_framering_sink_set_caps;
	sink_class->get_caps = gst_framering_sink_get_caps;
	sink_class->propose_allocation = gst_framering_sink_propose_allocation;
	sink_class->render = gst_framering_sink_render;
	sink_class->event = gst_framering_sink_event;
	sink_class->unlock = gst_framering_sink_unlock;
	sink_class->unlock_stop = gst_framering_sink_unlock_stop;
	sink_class->start = gst_framering_sink_start;
	sink_class->stop = gst_framering_sink_stop;

	gst_type_mark_as_plugin_api(GST_TYPE_FRAMERING_MODE, 0);
	GST_DEBUG_CATEGORY_INIT(fr_sink_debug, "frameringsink", 0, "framering sink");
}

static void gst_framering_sink_init(GstFrameringSink *self)
{
	self->mode = DEFAULT_MODE;
	self->slots = DEFAULT_SLOTS;
	self->perms = DEFAULT_PERMS;
	/* Publish as soon as a frame arrives: a camera paces itself. And keep no
	 * last sample: once published, a pool buffer's slot belongs to the
	 * consumers and is recycled, so a kept buffer would show later pixels
	 * (and its memory would delay the end of stream). */
	gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
	gst_base_sink_set_last_sample_enabled(GST_BASE_SINK(self), FALSE);
}
