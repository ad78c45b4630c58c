/*
 * What frameringsink and frameringsrc share: caps <-> framering formats, the
 * layout of a frame in a slot as a GstVideoInfo, and PTS <-> timestamp_ns.
 */
#ifndef GST_FRAMERING_FORMAT_H
#define GST_FRAMERING_FORMAT_H

#include <framering.h>
#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/* The raw formats the ring carries, as GStreamer names them (caps syntax). */
#define FR_GST_RAW_FORMATS "{ GRAY8, GRAY16_LE, RGB, BGR, RGBA, BGRA, YUY2, NV12, I420 }"

/* Both elements' pad template caps. JPEG needs the size (it sizes a new segment's slots). */
#define FR_GST_TEMPLATE_CAPS                    \
	GST_VIDEO_CAPS_MAKE(FR_GST_RAW_FORMATS) \
	"; image/jpeg, width = " GST_VIDEO_SIZE_RANGE ", height = " GST_VIDEO_SIZE_RANGE

/* For error messages: what can go through a ring. */
#define FR_GST_SUPPORTED_TEXT                                                         \
	"video/x-raw in GRAY8, GRAY16_LE, RGB, BGR, RGBA, BGRA, YUY2, NV12 or I420, " \
	"and image/jpeg"

/* A frame as the ring holds it: format, size, and for raw formats the plane
 * layout in the slot (offsets and strides as framering lays them out). */
typedef struct {
	guint32 format; /* enum fr_format */
	guint32 width;
	guint32 height;
	guint32 stride;    /* first plane; 0 for JPEG */
	GstVideoInfo info; /* raw formats: the layout in the slot; info.size = frame bytes */
} FrGstFrameLayout;

/* framering format for a GStreamer raw format, or FR_FORMAT_RAW when the ring cannot carry it. */
guint32 fr_gst_format_from_video(GstVideoFormat format);

/* GStreamer raw format for a framering format, or GST_VIDEO_FORMAT_UNKNOWN (RAW, JPEG). */
GstVideoFormat fr_gst_video_from_format(guint32 format);

/*
 * The layout of a @format frame of @width x @height whose first plane's rows
 * are @stride bytes apart, exactly as framering lays it out (lib/format.c):
 * NV12's chroma plane follows the luma at the same stride, I420's U and V
 * planes follow at stride / 2. FALSE when framering refuses the geometry.
 */
gboolean fr_gst_layout(guint32 format, guint32 width, guint32 height, guint32 stride,
		       FrGstFrameLayout *out);

/* TRUE when @a and @b put every plane at the same offset with the same stride. */
gboolean fr_gst_same_layout(const GstVideoInfo *a, const GstVideoInfo *b);

/*
 * Parse fixed caps into a layout with the default framering stride choice: the
 * caps' own GstVideoInfo stride when framering can lay the frame out exactly
 * like that (then buffers need no video meta at all), framering's 64-byte
 * aligned default otherwise. JPEG: width and height only. On failure *why
 * gets a message for the user (g_free it).
 */
gboolean fr_gst_layout_from_caps(GstCaps *caps, FrGstFrameLayout *out, gchar **why);

/* Fixed caps for a segment's default geometry (framerate left open), or NULL
 * when GStreamer cannot describe the format (RAW). */
GstCaps *fr_gst_caps_for(guint32 format, guint32 width, guint32 height);

/* The slot capacity the sink gives a JPEG segment: the TurboJPEG bound for a
 * 4:4:4 frame, as `framering create --format jpeg` computes it. */
guint64 fr_gst_jpeg_capacity(guint32 width, guint32 height);

/* Add the video meta that describes @layout to @buffer (raw formats). */
void fr_gst_add_video_meta(GstBuffer *buffer, const FrGstFrameLayout *layout);

/* CLOCK_MONOTONIC now, in nanoseconds (what timestamp_ns counts). */
guint64 fr_gst_monotonic_ns(void);

/*
 * PTS -> timestamp_ns: the clock time at which @element presents the buffer,
 * expressed on CLOCK_MONOTONIC. 0 (the library's "now at publish") without a
 * clock or a valid running time.
 */
guint64 fr_gst_timestamp_from_running_time(GstElement *element, GstClockTime running_time);

/* timestamp_ns -> running time of @element (a live source's PTS), clamped at
 * 0; GST_CLOCK_TIME_NONE without a clock. */
GstClockTime fr_gst_running_time_from_timestamp(GstElement *element, guint64 timestamp_ns);

/* The custom meta each frameringsrc buffer carries: "seq", "timestamp-ns"
 * (guint64) and "redelivered" (gboolean). Registered by the plugin. */
#define FR_GST_FRAME_META_NAME "GstFrameringFrameMeta"
void fr_gst_register_meta(void);

G_END_DECLS

#endif
