/* frameringsrc: pushes the frames of a framering segment, zero copy. */
#ifndef GST_FRAMERING_SRC_H
#define GST_FRAMERING_SRC_H

#include <gst/base/gstpushsrc.h>

G_BEGIN_DECLS

#define GST_TYPE_FRAMERING_SRC (gst_framering_src_get_type())
G_DECLARE_FINAL_TYPE(GstFrameringSrc, gst_framering_src, GST, FRAMERING_SRC, GstPushSrc)

G_END_DECLS

#endif
