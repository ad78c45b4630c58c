/* framering bridge recv: frames from a ZeroMQ socket into a local segment. See bridge.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "bridge_net.h"
#include "bridge_wire.h"
#include "jpeg.h"
#include "opts.h"
#include "seg.h"
#include "tool.h"

#define DEFAULT_MODE FR_BROADCAST
#define DEFAULT_SLOTS 8u

/* The receiver while it runs. */
struct recv_run {
	void *ctx;
	struct bridge_sock sock;
	struct fr_ring *ring; /* NULL before the first frame and after an end of stream */
	struct fr_info info;  /* the segment, once attached */
	struct jpeg_codec codec;
	struct stats st;
	struct lat_hist decode;           /* ns per JPEG decoded into a slot */
	uint64_t dropped[BRIDGE_E_COUNT]; /* messages dropped, by reason */
	uint64_t gaps;                    /* native: frames missing between seqs */
	uint64_t ends;                    /* native: end-of-stream messages */
	uint64_t last_seq;
	bool have_seq;
	uint64_t last_frame_ns;
	char why[256]; /* details of the last drop */
	struct bridge_ratelimit warn;
};

static uint64_t reconnects(struct recv_run *run)
{
	uint64_t up, down;

	bridge_sock_events(&run->sock, &up, &down);
	return up > 1 ? up - 1 : 0;
}

static int socket_type(const struct bridge_opts *o)
{
	if (o->pubsub)
		return ZMQ_SUB;
	return o->imagezmq ? ZMQ_REP : ZMQ_PULL;
}

static int recv_setup(const struct bridge_opts *o, struct recv_run *run)
{
	char label[FR_NAME_MAX + 32];
	struct fr_info info;
	int rc;

	if ((rc = tool_install_signals("bridge")))
		return rc;
	if (o->label)
		snprintf(label, sizeof(label), "%s", o->label);
	else
		snprintf(label, sizeof(label), "bridge recv %s", o->shown);
	/* imagezmq frames carry no capture time: no latency to show. */
	stats_init(&run->st, label, o->quiet, !o->imagezmq);
	uint32_t mode = o->mode ? o->mode : DEFAULT_MODE,
		 slots = o->slots ? o->slots : DEFAULT_SLOTS;
	if (mode == FR_BROADCAST && slots < 4)
		return opt_usage_error("bridge", "--slots %u: a broadcast segment needs at least 4",
				       slots);
	/* A segment that exists must be what the options say (its geometry: frame by frame). */
	if (fr_stat(o->name, &info) == 0) {
		if (o->mode && o->mode != info.mode)
			return tool_failf("bridge recv %s: the segment is %s, not %s", o->shown,
					  opt_mode_name(info.mode), opt_mode_name(o->mode));
		if (o->slots && o->slots != info.slots)
			return tool_failf("bridge recv %s: the segment has %u slots, not %u",
					  o->shown, info.slots, o->slots);
	}
	if (!(run->ctx = bridge_ctx_new()))
		return tool_failf("bridge recv: cannot start ZeroMQ: %s",
				  zmq_strerror(zmq_errno()));
	/*
	 * No ZMQ_CONFLATE for --latest: it keeps one part of a multipart message,
	 * and every message here has two. Freshness comes from the sender, which
	 * takes the newest frame whenever the socket can take one.
	 */
	run->sock = (struct bridge_sock){ .ctx = run->ctx,
					  .type = socket_type(o),
					  .endpoint = o->endpoint,
					  .bind = o->bind,
					  .hwm = o->latest ? 1 : 2,
					  .maxmsgsize = BRIDGE_MAX_FRAME_BYTES };
	if ((rc = bridge_sock_open(&run->sock)))
		return tool_failf("bridge recv %s: %s", o->shown, run->sock.err);
	run->last_frame_ns = now_ns();
	return TOOL_OK;
}

/* ---- the segment ----------------------------------------------------------------- */

static const char *fname(uint32_t format)
{
	const char *n = fr_format_name(format);
	return n ? n : "?";
}

/* Same pixels in another channel order (imagezmq arrays do not say theirs). */
static bool same_channels(uint32_t a, uint32_t b)
{
	bool colour = a != FR_FORMAT_GRAY8 && a != FR_FORMAT_GRAY16;
	return colour && bridge_pixel_bytes(a) && bridge_pixel_bytes(a) == bridge_pixel_bytes(b);
}

/* Does frame @m fit segment @i? BRIDGE_OK, or BRIDGE_E_MISMATCH with run->why. */
static int fits(struct recv_run *run, const struct fr_info *i, const struct bridge_meta *m)
{
	if (i->format == FR_FORMAT_RAW || i->format == FR_FORMAT_JPEG) {
		bool kind_ok = i->format == FR_FORMAT_RAW
				   ? m->kind == BRIDGE_RAW && m->format == FR_FORMAT_RAW
				   : m->kind == BRIDGE_JPEG;
		if (!kind_ok || m->payload_bytes > i->frame_capacity ||
		    (i->format == FR_FORMAT_JPEG && i->width &&
		     (m->width != i->width || m->height != i->height))) {
			snprintf(run->why, sizeof(run->why),
				 "a %" PRIu64 "-byte %s %ux%u frame does not fit a %s segment of "
				 "%ux%u, %" PRIu64 "-byte slots",
				 m->payload_bytes,
				 m->kind == BRIDGE_JPEG ? "JPEG" : fname(m->format), m->width,
				 m->height, fname(i->format), i->width, i->height,
				 i->frame_capacity);
			return BRIDGE_E_MISMATCH;
		}
		return BRIDGE_OK;
	}
	bool format_ok = m->kind == BRIDGE_JPEG
			     ? bridge_jpeg_pixel_format(i->format)
			     : m->format == i->format ||
				   (m->any_channel_order && same_channels(m->format, i->format));
	if (!format_ok || m->width != i->width || m->height != i->height) {
		snprintf(run->why, sizeof(run->why),
			 "a %ux%u %s frame does not fit a %ux%u %s segment", m->width, m->height,
			 m->kind == BRIDGE_JPEG ? "JPEG" : fname(m->format), i->width, i->height,
			 fname(i->format));
		return BRIDGE_E_MISMATCH;
	}
	return BRIDGE_OK;
}

/* The segment to create for frame @m. */
static void config_for(const struct bridge_opts *o, const struct bridge_meta *m,
		       struct fr_config *cfg)
{
	*cfg = (struct fr_config){ .mode = o->mode ? o->mode : DEFAULT_MODE,
				   .slots = o->slots ? o->slots : DEFAULT_SLOTS,
				   .width = m->width,
				   .height = m->height,
				   .format = m->format };
	if (m->format == FR_FORMAT_RAW && m->kind == BRIDGE_JPEG)
		cfg->format = FR_FORMAT_BGR24; /* an imagezmq JPEG: OpenCV's order */
	if (cfg->format == FR_FORMAT_RAW)
		cfg->frame_bytes = m->payload_bytes ? m->payload_bytes : 1;
	else if (cfg->format == FR_FORMAT_JPEG)
		cfg->frame_bytes = jpeg_max_bytes(m->width, m->height);
}

/*
 * Attach as producer to the segment that exists when frame @m fits it, or
 * create it for @m. BRIDGE_OK, or why not (run->why says more).
 */
static int attach(const struct bridge_opts *o, struct recv_run *run, const struct bridge_meta *m)
{
	struct fr_config cfg;
	int rc = fr_stat(o->name, &run->info);

	if (rc == 0) {
		if ((rc = fits(run, &run->info, m)))
			return rc;
		rc = fr_open(o->name, FR_PRODUCER, &run->ring);
	} else if (rc == -ENOENT) {
		config_for(o, m, &cfg);
		rc = fr_create(o->name, &cfg, &run->ring);
		if (rc == -EEXIST) /* created by someone else meanwhile */
			rc = fr_open(o->name, FR_PRODUCER, &run->ring);
	}
	if (!rc && (rc = fr_info(run->ring, &run->info))) {
		fr_close(run->ring);
		run->ring = NULL;
	}
	if (rc) {
		snprintf(run->why, sizeof(run->why), "%s %s: %s",
			 rc == -EBUSY ? "no room for a producer in" : "cannot attach to", o->shown,
			 fr_strerror(rc));
		return BRIDGE_E_SEGMENT;
	}
	return fits(run, &run->info, m);
}

/* ---- one message ------------------------------------------------------------------ */

/* Rows of one plane of a frame: where they start, how many bytes, how far apart. */
struct plane {
	uint64_t src_off, dst_off, row, rows, src_stride, dst_stride;
};

/* Copy a raw frame's planes from rows @ss apart to rows @ds apart. */
static void copy_planes(unsigned char *dst, uint32_t ds, const unsigned char *src, uint32_t ss,
			uint32_t format, uint32_t w, uint32_t h, uint64_t bytes)
{
	if (ds == ss || format == FR_FORMAT_RAW) {
		memcpy(dst, src, bytes);
		return;
	}
	struct plane planes[3] = { { 0, 0, fr_format_min_stride(format, w), h, ss, ds } };
	unsigned n = 1;
	if (format == FR_FORMAT_NV12) {
		planes[n++] =
		    (struct plane){ (uint64_t)ss * h, (uint64_t)ds * h, w, h / 2, ss, ds };
	} else if (format == FR_FORMAT_I420) {
		uint64_t cs = ss / 2, cd = ds / 2;
		planes[n++] =
		    (struct plane){ (uint64_t)ss * h, (uint64_t)ds * h, w / 2, h / 2, cs, cd };
		planes[n++] = (struct plane){ (uint64_t)ss * h + cs * (h / 2),
					      (uint64_t)ds * h + cd * (h / 2),
					      w / 2,
					      h / 2,
					      cs,
					      cd };
	}
	for (unsigned p = 0; p < n; p++)
		for (uint64_t y = 0; y < planes[p].rows; y++)
			memcpy(dst + planes[p].dst_off + y * planes[p].dst_stride,
			       src + planes[p].src_off + y * planes[p].src_stride, planes[p].row);
}

/* A free slot: waited for (reliable), or not at all (--latest: BRIDGE_E_FULL). */
static int claim(const struct bridge_opts *o, struct recv_run *run, struct fr_frame *f, int *status)
{
	uint64_t t0 = now_ns();
	int rc;

	if (o->latest) {
		rc = fr_claim(run->ring, f, 0);
		if (rc == -EAGAIN)
			return BRIDGE_E_FULL;
	} else {
		while ((rc = fr_claim(run->ring, f, 200)) == -ETIMEDOUT || rc == -EAGAIN ||
		       rc == -EINTR) {
			stats_wait(&run->st, now_ns() - t0);
			t0 = now_ns();
			bridge_status(&run->st, reconnects(run));
			if (tool_stop)
				return BRIDGE_E_FULL; /* not counted: the command stops */
		}
	}
	if (rc)
		*status = seg_fail("bridge recv", o->shown, rc);
	return BRIDGE_OK;
}

/* The frame's capture time on this machine's CLOCK_MONOTONIC (0: unknown, "now"). */
static uint64_t local_time(const struct bridge_meta *m, uint64_t mono)
{
	if (!m->capture_ns)
		return 0;
	uint64_t real = bridge_realtime_ns();
	uint64_t age = real > m->capture_ns ? real - m->capture_ns : 0;
	return mono > age ? mono - age : 1;
}

/* Claimed slot @f gets frame @m: copied, or decoded in place. BRIDGE_OK or BRIDGE_E_JPEG. */
static int fill(struct recv_run *run, const struct bridge_meta *m, struct fr_frame *f)
{
	const struct fr_info *i = &run->info;

	if (i->format == FR_FORMAT_RAW || i->format == FR_FORMAT_JPEG) {
		if (m->payload_bytes)
			memcpy(f->data, m->payload, m->payload_bytes);
		f->bytes = m->payload_bytes;
		return BRIDGE_OK;
	}
	if (m->kind == BRIDGE_JPEG) {
		struct fr_image img = { f->data,   f->capacity, f->width,
					f->height, f->stride,   f->format };
		uint64_t t0 = now_ns();
		if (jpeg_decode(&run->codec, m->payload, m->payload_bytes, &img)) {
			snprintf(run->why, sizeof(run->why), "%s", jpeg_error(&run->codec));
			return BRIDGE_E_JPEG;
		}
		hist_add(&run->decode, now_ns() - t0);
		return BRIDGE_OK;
	}
	copy_planes(f->data, f->stride, m->payload, m->stride, f->format, f->width, f->height,
		    m->payload_bytes);
	return BRIDGE_OK;
}

/* Native: the sender's stream ended. Close the producer: local consumers see the end too. */
static void stream_ended(struct recv_run *run)
{
	run->ends++;
	run->have_seq = false;
	fr_close(run->ring);
	run->ring = NULL;
}

/* Native seqs: frames the sender skipped or that were lost on the way. */
static void count_gap(struct recv_run *run, const struct bridge_meta *m)
{
	if (run->have_seq && m->seq > run->last_seq + 1)
		run->gaps += m->seq - run->last_seq - 1;
	run->last_seq = m->seq;
	run->have_seq = true;
}

/*
 * Decode, check, publish one message. BRIDGE_OK, or the bridge_error that
 * dropped it; *status becomes TOOL_FAIL (reported) when the segment fails.
 */
static int take(const struct bridge_opts *o, struct recv_run *run, struct bridge_rx *rx,
		int *status)
{
	struct bridge_part parts[BRIDGE_MAX_PARTS];
	struct bridge_meta m;
	int rc;

	run->why[0] = '\0';
	for (unsigned k = 0; k < rx->kept; k++)
		parts[k] = (struct bridge_part){ zmq_msg_data(&rx->part[k]),
						 zmq_msg_size(&rx->part[k]) };
	rc = o->imagezmq ? bridge_izmq_decode(parts, rx->total, &m, NULL, 0)
			 : bridge_native_decode(parts, rx->total, &m);
	if (rc)
		return rc;
	if (m.kind == BRIDGE_END) {
		stream_ended(run);
		return BRIDGE_OK;
	}
	if (m.kind == BRIDGE_JPEG) {
		uint32_t w, h;
		if (jpeg_header(&run->codec, m.payload, m.payload_bytes, &w, &h)) {
			snprintf(run->why, sizeof(run->why), "%s", jpeg_error(&run->codec));
			return BRIDGE_E_JPEG;
		}
		if (o->imagezmq) {
			m.width = w;
			m.height = h;
			if ((uint64_t)w * h * 4 > BRIDGE_MAX_FRAME_BYTES)
				return BRIDGE_E_SIZE;
		} else if (w != m.width || h != m.height) {
			snprintf(run->why, sizeof(run->why),
				 "the JPEG is %ux%u, its header says %ux%u", w, h, m.width,
				 m.height);
			return BRIDGE_E_JPEG;
		}
	}
	if (!run->ring ? (rc = attach(o, run, &m)) != 0 : (rc = fits(run, &run->info, &m)) != 0)
		return rc;
	struct fr_frame f;
	if ((rc = claim(o, run, &f, status)) || *status)
		return rc;
	if ((rc = fill(run, &m, &f))) {
		fr_cancel(run->ring, &f);
		return rc;
	}
	uint64_t mono = now_ns(), ts = local_time(&m, mono);
	f.timestamp_ns = ts;
	f.flags = m.flags;
	if ((rc = fr_publish(run->ring, &f))) {
		*status = seg_fail("bridge recv", o->shown, rc);
		return BRIDGE_OK;
	}
	stats_frame(&run->st, m.payload_bytes, ts && mono > ts ? mono - ts : 0);
	run->last_frame_ns = mono;
	if (!o->imagezmq)
		count_gap(run, &m);
	return BRIDGE_OK;
}

/* REQ/REP: every request gets its reply, "OK" or what was wrong. */
static void reply(struct recv_run *run, int err)
{
	char text[128];
	zmq_msg_t msg;

	if (!err || err == BRIDGE_E_FULL)
		snprintf(text, sizeof(text), "OK");
	else
		snprintf(text, sizeof(text), "ERROR %s", bridge_error_text(err));
	if (zmq_msg_init_size(&msg, strlen(text)))
		return;
	memcpy(zmq_msg_data(&msg), text, strlen(text));
	if (bridge_send_msg(&run->sock, &msg, false) == -EAGAIN)
		zmq_msg_close(&msg);
}

static void drop(const struct bridge_opts *o, struct recv_run *run, int err)
{
	uint64_t total = 0;

	run->dropped[err]++;
	stats_drops(&run->st, 1);
	for (int e = 0; e < BRIDGE_E_COUNT; e++)
		total += run->dropped[e];
	bridge_warn_limited(
	    &run->warn, "bridge recv %s: dropped a message: %s%s%s (%" PRIu64 " dropped so far)",
	    o->shown, bridge_error_text(err), run->why[0] ? ": " : "", run->why, total);
}

static int recv_loop(const struct bridge_opts *o, struct recv_run *run)
{
	int status = TOOL_OK;

	while (!status && !tool_stop && (!o->count || run->st.frames < o->count)) {
		bridge_status(&run->st, reconnects(run));
		if (o->timeout > 0 && (double)(now_ns() - run->last_frame_ns) / 1e9 >= o->timeout)
			return tool_failf("bridge recv %s: no frame for %g s", o->shown,
					  o->timeout);
		int rc = bridge_sock_wait(&run->sock, ZMQ_POLLIN, 200);
		if (rc == 0 || rc == -EINTR)
			continue;
		struct bridge_rx rx;
		if (rc < 0 || (rc = bridge_recv_parts(&run->sock, &rx)) < 0)
			return tool_failf("bridge recv %s: %s", o->shown, run->sock.err);
		if (rc == 0)
			continue;
		int err = take(o, run, &rx, &status);
		bridge_rx_close(&rx);
		if (run->sock.type == ZMQ_REP)
			reply(run, err);
		if (err && !(err == BRIDGE_E_FULL && tool_stop))
			drop(o, run, err);
	}
	return status;
}

static const char *end_reason(const struct bridge_opts *o, const struct recv_run *run)
{
	if (tool_stop)
		return "stopped by a signal";
	if (o->count && run->st.frames >= o->count)
		return "--count reached";
	return "stopped on an error";
}

static void recv_summary(const struct bridge_opts *o, struct recv_run *run)
{
	char extra[1400], reasons[900] = "", dec[96] = "";
	size_t n = 0;

	for (int e = 1; e < BRIDGE_E_COUNT; e++)
		if (run->dropped[e] && n < sizeof(reasons))
			n += (size_t)snprintf(reasons + n, sizeof(reasons) - n, "%s%s %" PRIu64,
					      n ? ", " : " (", bridge_error_text(e),
					      run->dropped[e]);
	if (n && n < sizeof(reasons) - 1)
		strcat(reasons, ")");
	if (run->decode.count) {
		char q[64];
		bridge_hist_text(q, sizeof(q), &run->decode);
		snprintf(dec, sizeof(dec), ", decode %s", q);
	}
	snprintf(extra, sizeof(extra),
		 "reconnects %" PRIu64 ", dropped messages%s%s, gaps %" PRIu64
		 ", ends of stream %" PRIu64 "%s, %s",
		 reconnects(run), reasons[0] ? "" : " 0", reasons, run->gaps, run->ends, dec,
		 end_reason(o, run));
	fr_close(run->ring);
	run->ring = NULL;
	stats_summary(&run->st, extra);
}

int bridge_recv_run(const struct bridge_opts *o)
{
	struct recv_run *run = calloc(1, sizeof(*run));
	int rc;

	if (!run)
		return tool_fail("bridge recv", -ENOMEM);
	jpeg_codec_init(&run->codec);
	if (!(rc = recv_setup(o, run))) {
		rc = recv_loop(o, run);
		recv_summary(o, run);
	}
	fr_close(run->ring);
	bridge_sock_close(&run->sock, 0);
	bridge_ctx_free(run->ctx);
	jpeg_codec_fini(&run->codec);
	free(run);
	return rc;
}
