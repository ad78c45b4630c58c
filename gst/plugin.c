/* The framering GStreamer plugin: frameringsink and frameringsrc. */
#include <gst/gst.h>

#include "gstframeringformat.h"
#include "gstframeringsink.h"
#include "gstframeringsrc.h"

#ifndef PACKAGE
#define PACKAGE "framering"
#endif

static gboolean plugin_init(GstPlugin *plugin)
{
	fr_gst_register_meta();
	return gst_element_register(plugin, "frameringsink", GST_RANK_NONE,
				    GST_TYPE_FRAMERING_SINK) &&
	       gst_element_register(plugin, "frameringsrc", GST_RANK_NONE, GST_TYPE_FRAMERING_SRC);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, framering,
		  "Zero-copy video frames between processes through framering rings", plugin_init,
		  FR_GST_VERSION, "MIT", "framering", "the framering project")
