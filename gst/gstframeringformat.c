/* Caps <-> framering formats, slot layouts, timestamps: shared by both elements. */
#include "gstframeringformat.h"

#include <string.h>
#include <time.h>

static const struct {
	GstVideoFormat video;
	guint32 fr;
} format_map[] = {
	{ GST_VIDEO_FORMAT_GRAY8, FR_FORMAT_GRAY8 },
	{ GST_VIDEO_FORMAT_GRAY16_LE, FR_FORMAT_GRAY16 },
	{ GST_VIDEO_FORMAT_RGB, FR_FORMAT_RGB24 },
	{ GST_VIDEO_FORMAT_BGR, FR_FORMAT_BGR24 },
	{ GST_VIDEO_FORMAT_RGBA, FR_FORMAT_RGBA32 },
	{ GST_VIDEO_FORMAT_BGRA, FR_FORMAT_BGRA32 },
	{ GST_VIDEO_FORMAT_YUY2, FR_FORMAT_YUYV },
	{ GST_VIDEO_FORMAT_NV12, FR_FORMAT_NV12 },
	{ GST_VIDEO_FORMAT_I420, FR_FORMAT_I420 },
};

guint32 fr_gst_format_from_video(GstVideoFormat format)
{
	for (gsize i = 0; i < G_N_ELEMENTS(format_map); i++)
		if (format_map[i].video == format)
			return format_map[i].fr;
	return FR_FORMAT_RAW;
}

GstVideoFormat fr_gst_video_from_format(guint32 format)
{
	for (gsize i = 0; i < G_N_ELEMENTS(format_map); i++)
		if (format_map[i].fr == format)
			return format_map[i].video;
	return GST_VIDEO_FORMAT_UNKNOWN;
}

gboolean fr_gst_layout(guint32 format, guint32 width, guint32 height, guint32 stride,
		       FrGstFrameLayout *out)
{
	GstVideoFormat vf = fr_gst_video_from_format(format);
	guint64 bytes;

	memset(out, 0, sizeof(*out));
	out->format = format;
	out->width = width;
	out->height = height;
	if (format == FR_FORMAT_JPEG)
		return width > 0 && height > 0;
	if (vf == GST_VIDEO_FORMAT_UNKNOWN || width > G_MAXINT || height > G_MAXINT ||
	    fr_format_frame_bytes(format, width, height, stride, &bytes) < 0 || bytes > G_MAXSIZE)
		return FALSE;
	if (!stride)
		stride = (guint32)fr_format_default_stride(format, width);
	out->stride = stride;
	if (!gst_video_info_set_format(&out->info, vf, width, height))
		return FALSE;
	/* Overwrite GstVideoInfo's own layout with framering's (lib/format.c). */
	GstVideoInfo *vi = &out->info;
	gsize luma = (gsize)stride * height;
	vi->stride[0] = (gint)stride;
	vi->offset[0] = 0;
	if (format == FR_FORMAT_NV12) {
		vi->stride[1] = (gint)stride;
		vi->offset[1] = luma;
	} else if (format == FR_FORMAT_I420) {
		vi->stride[1] = vi->stride[2] = (gint)(stride / 2);
		vi->offset[1] = luma;
		vi->offset[2] = luma + (gsize)(stride / 2) * (height / 2);
	}
	vi->size = (gsize)bytes;
	return TRUE;
}

gboolean fr_gst_same_layout(const GstVideoInfo *a, const GstVideoInfo *b)
{
	if (GST_VIDEO_INFO_FORMAT(a) != GST_VIDEO_INFO_FORMAT(b) ||
	    GST_VIDEO_INFO_WIDTH(a) != GST_VIDEO_INFO_WIDTH(b) ||
	    GST_VIDEO_INFO_HEIGHT(a) != GST_VIDEO_INFO_HEIGHT(b) ||
	    GST_VIDEO_INFO_N_PLANES(a) != GST_VIDEO_INFO_N_PLANES(b))
		return FALSE;
	for (guint i = 0; i < GST_VIDEO_INFO_N_PLANES(a); i++)
		if (a->stride[i] != b->stride[i] || a->offset[i] != b->offset[i])
			return FALSE;
	return TRUE;
}

guint64 fr_gst_jpeg_capacity(guint32 width, guint32 height)
{
	/* tjBufSize(w, h, TJSAMP_444): 8x8 MCUs, 6 bytes per pixel, plus headers. */
	guint64 w = ((guint64)width + 7) & ~G_GUINT64_CONSTANT(7);
	guint64 h = ((guint64)height + 7) & ~G_GUINT64_CONSTANT(7);
	return w * h * 6 + 2048;
}

gboolean fr_gst_layout_from_caps(GstCaps *caps, FrGstFrameLayout *out, gchar **why)
{
	GstStructure *s;
	GstVideoInfo vi;
	gint w = 0, h = 0;

	*why = NULL;
	if (!caps || gst_caps_get_size(caps) != 1 || !gst_caps_is_fixed(caps)) {
		*why = g_strdup("caps are not fixed");
		return FALSE;
	}
	s = gst_caps_get_structure(caps, 0);
	if (gst_structure_has_name(s, "image/jpeg")) {
		if (!gst_structure_get_int(s, "width", &w) ||
		    !gst_structure_get_int(s, "height", &h) || w <= 0 || h <= 0) {
			*why = g_strdup("image/jpeg caps without width and height");
			return FALSE;
		}
		return fr_gst_layout(FR_FORMAT_JPEG, (guint32)w, (guint32)h, 0, out);
	}
	if (!gst_structure_has_name(s, "video/x-raw") || !gst_video_info_from_caps(&vi, caps)) {
		*why = g_strdup_printf(
		    "%s cannot go through a ring (supported: " FR_GST_SUPPORTED_TEXT ")",
		    gst_structure_get_name(s));
		return FALSE;
	}
	guint32 format = fr_gst_format_from_video(GST_VIDEO_INFO_FORMAT(&vi));
	if (format == FR_FORMAT_RAW) {
		*why = g_strdup_printf(
		    "format %s cannot go through a ring (supported: " FR_GST_SUPPORTED_TEXT ")",
		    gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&vi)));
		return FALSE;
	}
	if (GST_VIDEO_INFO_IS_INTERLACED(&vi)) {
		*why = g_strdup("interlaced video cannot go through a ring (progressive only)");
		return FALSE;
	}
	/* GStreamer's own layout when framering can represent it (no video meta
	 * needed on either side), framering's default stride otherwise (I420 whose
	 * GStreamer chroma stride is not half the luma stride). */
	if (fr_gst_layout(format, (guint32)vi.width, (guint32)vi.height, (guint32)vi.stride[0],
			  out) &&
	    fr_gst_same_layout(&out->info, &vi))
		return TRUE;
	if (fr_gst_layout(format, (guint32)vi.width, (guint32)vi.height, 0, out))
		return TRUE;
	*why = g_strdup_printf("framering cannot hold %dx%d %s frames (YUY2 needs an even width, "
			       "NV12 and I420 an even width and height)",
			       vi.width, vi.height, gst_video_format_to_string(vi.finfo->format));
	return FALSE;
}

GstCaps *fr_gst_caps_for(guint32 format, guint32 width, guint32 height)
{
	if (width == 0 || height == 0 || width > G_MAXINT || height > G_MAXINT)
		return NULL;
	if (format == FR_FORMAT_JPEG)
		return gst_caps_new_simple("image/jpeg", "width", G_TYPE_INT, (gint)width, "height",
					   G_TYPE_INT, (gint)height, "framerate",
					   GST_TYPE_FRACTION_RANGE, 0, 1, G_MAXINT, 1,
					   "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
	GstVideoFormat vf = fr_gst_video_from_format(format);
	if (vf == GST_VIDEO_FORMAT_UNKNOWN)
		return NULL;
	/* The ring knows no frame rate: downstream may pick one (an encoder's
	 * nominal rate); the timestamps stay the capture times either way. */
	return gst_caps_new_simple(
	    "video/x-raw", "format", G_TYPE_STRING, gst_video_format_to_string(vf), "width",
	    G_TYPE_INT, (gint)width, "height", G_TYPE_INT, (gint)height, "framerate",
	    GST_TYPE_FRACTION_RANGE, 0, 1, G_MAXINT, 1, "pixel-aspect-ratio", GST_TYPE_FRACTION, 1,
	    1, "interlace-mode", G_TYPE_STRING, "progressive", NULL);
}

void fr_gst_add_video_meta(GstBuffer *buffer, const FrGstFrameLayout *layout)
{
	const GstVideoInfo *vi = &layout->info;
	gsize offset[GST_VIDEO_MAX_PLANES];
	gint stride[GST_VIDEO_MAX_PLANES];

	/* The 1.22 signature takes non-const arrays. */
	memcpy(offset, vi->offset, sizeof(offset));
	memcpy(stride, vi->stride, sizeof(stride));
	gst_buffer_add_video_meta_full(buffer, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(vi),
				       (guint)vi->width, (guint)vi->height,
				       GST_VIDEO_INFO_N_PLANES(vi), offset, stride);
}

guint64 fr_gst_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (guint64)ts.tv_sec * 1000000000u + (guint64)ts.tv_nsec;
}

/* CLOCK_MONOTONIC minus @clock's time, now: adds to a clock time to get timestamp_ns. */
static gint64 clock_offset(GstClock *clock)
{
	GstClockTime ct = gst_clock_get_time(clock);
	return (gint64)fr_gst_monotonic_ns() - (gint64)ct;
}

guint64 fr_gst_timestamp_from_running_time(GstElement *element, GstClockTime running_time)
{
	GstClock *clock;
	guint64 ts = 0;

	if (!GST_CLOCK_TIME_IS_VALID(running_time) || !(clock = gst_element_get_clock(element)))
		return 0;
	gint64 mono = (gint64)(running_time + gst_element_get_base_time(element)) +
		      clock_offset(clock);
	if (mono > 0)
		ts = (guint64)mono;
	gst_object_unref(clock);
	return ts;
}

GstClockTime fr_gst_running_time_from_timestamp(GstElement *element, guint64 timestamp_ns)
{
	GstClock *clock = gst_element_get_clock(element);
	GstClockTime rt = GST_CLOCK_TIME_NONE;

	if (!clock)
		return rt;
	gint64 t = (gint64)timestamp_ns - clock_offset(clock) -
		   (gint64)gst_element_get_base_time(element);
	rt = t > 0 ? (GstClockTime)t : 0;
	gst_object_unref(clock);
	return rt;
}

void fr_gst_register_meta(void)
{
	static const gchar *tags[] = { NULL };

	gst_meta_register_custom(FR_GST_FRAME_META_NAME, tags, NULL, NULL, NULL);
}
