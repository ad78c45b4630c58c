/*
 * gst_check: runs one GStreamer pipeline to its end and reports what the
 * framering elements did, for gst_test.sh.
 *   gst_check [--timeout SEC] PIPELINE...
 * Every buffer that an element named "src" pushes is inspected: is its memory
 * inside this process's mapping of the segment (/proc/self/maps), and what
 * does its GstFrameringFrameMeta say. Prints one line per buffer,
 *   buffer seq=S in_segment=0|1 redelivered=0|1
 * then "NAME copies=N" for every element with a "copies" property, and
 * "eos" or "error: ..." at the end. Exit status: 0 at EOS, 1 on an error,
 * 2 when the pipeline did not end within the timeout (default 60 s).
 */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gchar *segment_path; /* "/dev/shm/NAME" */

/* Is [p, p + len) inside a mapping of the segment file? */
static gboolean in_segment(const guint8 *p, gsize len)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[4096];
	gboolean found = FALSE;

	if (!maps)
		return FALSE;
	while (!found && fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char *path = strchr(line, '/');
		if (!path || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		path[strcspn(path, " \n")] = '\0';
		found = strcmp(path, segment_path) == 0 && (guintptr)p >= lo &&
			(guintptr)p + len <= hi;
	}
	fclose(maps);
	return found;
}

static GstPadProbeReturn on_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	GstMapInfo map;
	guint64 seq = G_MAXUINT64;
	gboolean redelivered = FALSE, inside = FALSE;

	(void)pad;
	(void)data;
	if (gst_buffer_map(buf, &map, GST_MAP_READ)) {
		inside = in_segment(map.data, map.size);
		gst_buffer_unmap(buf, &map);
	}
	GstCustomMeta *meta = gst_buffer_get_custom_meta(buf, "GstFrameringFrameMeta");
	if (meta) {
		GstStructure *s = gst_custom_meta_get_structure(meta);
		gst_structure_get_uint64(s, "seq", &seq);
		gst_structure_get_boolean(s, "redelivered", &redelivered);
	}
	if (seq == G_MAXUINT64)
		printf("buffer seq=none in_segment=%d redelivered=%d\n", inside, redelivered);
	else
		printf("buffer seq=%" G_GUINT64_FORMAT " in_segment=%d redelivered=%d\n", seq,
		       inside, redelivered);
	fflush(stdout);
	return GST_PAD_PROBE_OK;
}

static void print_copies(GstBin *bin)
{
	GstIterator *it = gst_bin_iterate_recurse(bin);
	GValue item = G_VALUE_INIT;

	while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
		GstElement *e = g_value_get_object(&item);
		if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), "copies")) {
			guint64 copies = 0;
			g_object_get(e, "copies", &copies, NULL);
			printf("%s copies=%" G_GUINT64_FORMAT "\n", GST_ELEMENT_NAME(e), copies);
		}
		g_value_reset(&item);
	}
	g_value_unset(&item);
	gst_iterator_free(it);
}

int main(int argc, char **argv)
{
	gint timeout_s = 60, status = 2;
	GError *error = NULL;

	gst_init(&argc, &argv);
	if (argc > 2 && strcmp(argv[1], "--timeout") == 0) {
		timeout_s = atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: gst_check [--timeout SEC] PIPELINE...\n");
		return 2;
	}
	gchar *desc = g_strjoinv(" ", argv + 1);
	GstElement *pipeline = gst_parse_launch(desc, &error);
	g_free(desc);
	if (!pipeline || error) { /* a missing element still returns what was built */
		printf("error: %s\n", error ? error->message : "cannot build the pipeline");
		return 1;
	}
	GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
	if (src) {
		gchar *ring = NULL;
		g_object_get(src, "ring", &ring, NULL);
		segment_path = g_strdup_printf("/dev/shm/%s",
					       ring && ring[0] == '/' ? ring + 1 : ring);
		g_free(ring);
		GstPad *pad = gst_element_get_static_pad(src, "src");
		gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, NULL, NULL);
		gst_object_unref(pad);
		gst_object_unref(src);
	}
	gst_element_set_state(pipeline, GST_STATE_PLAYING);
	GstBus *bus = gst_element_get_bus(pipeline);
	GstMessage *msg = gst_bus_timed_pop_filtered(bus, (GstClockTime)timeout_s * GST_SECOND,
						     GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	print_copies(GST_BIN(pipeline));
	if (!msg) {
		printf("timeout: no end within %d s\n", timeout_s);
	} else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
		printf("eos\n");
		status = 0;
	} else {
		GError *err = NULL;
		gst_message_parse_error(msg, &err, NULL);
		printf("error: %s\n", err->message);
		g_error_free(err);
		status = 1;
	}
	fflush(stdout);
	if (msg)
		gst_message_unref(msg);
	gst_object_unref(bus);
	gst_element_set_state(pipeline, GST_STATE_NULL);
	gst_object_unref(pipeline);
	g_free(segment_path);
	return status;
}
