/* frameringsink: publishes every buffer into a framering segment. */
#ifndef GST_FRAMERING_SINK_H
#define GST_FRAMERING_SINK_H

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_FRAMERING_SINK (gst_framering_sink_get_type())
G_DECLARE_FINAL_TYPE(GstFrameringSink, gst_framering_sink, GST, FRAMERING_SINK, GstBaseSink)

#define GST_TYPE_FRAMERING_MODE (gst_framering_mode_get_type())
GType gst_framering_mode_get_type(void);

G_END_DECLS

#endif
