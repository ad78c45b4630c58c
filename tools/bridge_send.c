/* framering bridge send: a local segment's frames to a ZeroMQ socket. See bridge.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bridge.h"
#include "bridge_net.h"
#include "bridge_wire.h"
#include "jpeg.h"
#include "opts.h"
#include "seg.h"
#include "tool.h"

/* The sender while it runs. */
struct send_run {
	void *ctx;
	struct bridge_sock sock;
	struct fr_ring *ring;
	struct fr_info info; /* the segment as found before attaching */
	struct jpeg_codec codec;
	struct stats st;
	struct lat_hist encode; /* ns per JPEG encoded */
	unsigned acq_flags;     /* FR_ACQUIRE_NEWEST with --latest on broadcast */
	char host[256];         /* imagezmq "msg" by default */
	uint64_t lib_dropped;   /* frames the library skipped for this latest consumer */
	uint64_t skipped;       /* frames that could not be encoded or sent */
	uint64_t unanswered;    /* REQ/REP: frames whose reply never came */
	uint64_t refused;       /* REQ/REP: replies other than "OK" */
	uint64_t resets;        /* REQ/REP: sockets reset after a lost reply */
	uint64_t jpeg_frames, jpeg_bytes;
	uint64_t last_seq;
	bool ended; /* the segment's stream ended */
	struct bridge_ratelimit warn;
	/*
	 * Zero copy: raw pixels go to ZeroMQ straight from the slot; the frame is
	 * released only once ZeroMQ is done with them (it says so on @lent_fd).
	 */
	int lent_fd; /* eventfd, written from ZeroMQ's I/O thread */
	bool lent;   /* @held's pixels are in a message: not released yet */
	struct fr_frame held;
};

static uint64_t reconnects(struct send_run *run)
{
	uint64_t up, down;

	bridge_sock_events(&run->sock, &up, &down);
	return up > 1 ? up - 1 : 0;
}

static void tick(struct send_run *run)
{
	struct fr_handle_stats hs;

	if (run->ring && fr_handle_stats(run->ring, &hs) == 0 && hs.dropped > run->lib_dropped) {
		stats_drops(&run->st, hs.dropped - run->lib_dropped);
		run->lib_dropped = hs.dropped;
	}
	bridge_status(&run->st, reconnects(run));
}

/* The socket type of this side and pattern. */
static int socket_type(const struct bridge_opts *o)
{
	if (o->pubsub)
		return ZMQ_PUB;
	return o->imagezmq ? ZMQ_REQ : ZMQ_PUSH;
}

/* Can frames of this segment go out as asked? Before attaching. */
static int send_check(const struct bridge_opts *o, const struct fr_info *info)
{
	const char *fname = fr_format_name(info->format);

	if (!fname)
		fname = "?";
	if (o->latest && info->mode != FR_BROADCAST)
		tool_warnf("bridge send %s: --latest only matters on broadcast segments (this one "
			   "is %s)",
			   o->shown, opt_mode_name(info->mode));
	if (info->format == FR_FORMAT_JPEG)
		return TOOL_OK; /* compressed already: sent as they are */
	if (o->jpeg && !jpeg_can_encode(info->format))
		return tool_failf("bridge send %s: --jpeg: %s frames cannot be encoded as JPEG",
				  o->shown, fname);
	if (o->imagezmq && !o->jpeg && !bridge_izmq_array_format(info->format))
		return tool_failf("bridge send %s: %s frames have no imagezmq array form "
				  "(gray8, gray16, rgb24, bgr24, rgba32, bgra32); add --jpeg",
				  o->shown, fname);
	return TOOL_OK;
}

static int send_setup(const struct bridge_opts *o, struct send_run *run)
{
	char label[FR_NAME_MAX + 32];
	int rc;

	if ((rc = tool_install_signals("bridge")))
		return rc;
	if (o->label)
		snprintf(label, sizeof(label), "%s", o->label);
	else
		snprintf(label, sizeof(label), "bridge send %s", o->shown);
	stats_init(&run->st, label, o->quiet, true);
	if (gethostname(run->host, sizeof(run->host) - 1))
		snprintf(run->host, sizeof(run->host), "framering");
	if ((rc = seg_stat_wait("bridge send", o->name, o->shown, o->wait, &run->info)) ||
	    tool_stop)
		return rc;
	if ((rc = send_check(o, &run->info)))
		return rc;
	if (!(run->ctx = bridge_ctx_new()))
		return tool_failf("bridge send: cannot start ZeroMQ: %s",
				  zmq_strerror(zmq_errno()));
	run->sock = (struct bridge_sock){ .ctx = run->ctx,
					  .type = socket_type(o),
					  .endpoint = o->endpoint,
					  .bind = o->bind,
					  .hwm = o->latest || o->imagezmq ? 1 : 2,
					  .maxmsgsize = -1 };
	if ((rc = bridge_sock_open(&run->sock)))
		return tool_failf("bridge send %s: %s", o->shown, run->sock.err);
	bool latest = o->latest && run->info.mode == FR_BROADCAST;
	if ((rc = fr_open(o->name, FR_CONSUMER | (latest ? FR_LATEST : 0), &run->ring)))
		return seg_fail("bridge send", o->shown, rc);
	run->acq_flags = latest ? FR_ACQUIRE_NEWEST : 0;
	return TOOL_OK;
}

/* A frame that cannot go: counted, said (at most once a second), released by the caller. */
static int skip(struct send_run *run, const struct fr_frame *f, const char *why)
{
	run->skipped++;
	stats_drops(&run->st, 1);
	bridge_warn_limited(&run->warn, "bridge send: frame %" PRIu64 " skipped: %s", f->seq, why);
	return -1;
}

/* The frame as JPEG: the codec's buffer, or the slot itself for a jpeg segment. */
static int frame_jpeg(const struct bridge_opts *o, struct send_run *run, const struct fr_frame *f,
		      struct bridge_meta *m, const unsigned char **data, size_t *len)
{
	m->kind = BRIDGE_JPEG;
	m->stride = 0;
	if (f->format == FR_FORMAT_JPEG) {
		if (f->bytes < 4 || f->bytes > f->capacity)
			return skip(run, f, "not a JPEG");
		m->format = FR_FORMAT_JPEG;
		if (jpeg_header(&run->codec, f->data, f->bytes, &m->width, &m->height))
			return skip(run, f, jpeg_error(&run->codec));
		*data = f->data;
		*len = f->bytes;
		return 0;
	}
	struct fr_image img = { f->data, f->capacity, f->width, f->height, f->stride, f->format };
	uint64_t t0 = now_ns();
	if (jpeg_encode(&run->codec, &img, (int)o->quality, data, len))
		return skip(run, f, jpeg_error(&run->codec));
	hist_add(&run->encode, now_ns() - t0);
	/* What the JPEG decodes into: the frame's format, or what it was converted to. */
	m->format = jpeg_format_supported(f->format) ? f->format
		    : f->format == FR_FORMAT_GRAY16  ? FR_FORMAT_GRAY8
						     : FR_FORMAT_BGR24;
	run->jpeg_frames++;
	run->jpeg_bytes += *len;
	return 0;
}

/* A frame's bytes as they are: the geometry's for pixel formats, f->bytes otherwise. */
static int frame_raw(struct send_run *run, const struct fr_frame *f, struct bridge_meta *m,
		     const unsigned char **data, size_t *len)
{
	uint64_t need = f->bytes;

	m->kind = BRIDGE_RAW;
	m->format = f->format;
	if (f->format != FR_FORMAT_RAW &&
	    fr_format_frame_bytes(f->format, f->width, f->height, f->stride, &need))
		return skip(run, f, "impossible geometry");
	if (need > f->capacity || need > BRIDGE_MAX_FRAME_BYTES)
		return skip(run, f, "larger than the bridge carries");
	*data = f->data;
	*len = need;
	return 0;
}

/* A message part of @len bytes: @head (may be NULL) then @data. */
static int make_part(zmq_msg_t *part, const void *head, size_t head_len, const void *data,
		     size_t len)
{
	if (zmq_msg_init_size(part, head_len + len))
		return -ENOMEM;
	if (head_len)
		memcpy(zmq_msg_data(part), head, head_len);
	if (len)
		memcpy((char *)zmq_msg_data(part) + head_len, data, len);
	return 0;
}

/* ZeroMQ's I/O thread is done with a lent slot: only an eventfd write there. */
static void slot_returned(void *data, void *hint)
{
	uint64_t one = 1;
	ssize_t w = write(*(const int *)hint, &one, sizeof(one));

	(void)data;
	(void)w; /* an eventfd write of 1 cannot fail short of overflow */
}

/* A message part that is the slot's bytes themselves (PUSH and REQ: one peer takes it). */
static int lend_part(struct send_run *run, zmq_msg_t *part, const void *data, size_t len)
{
	if (zmq_msg_init_data(part, (void *)data, len, slot_returned, &run->lent_fd))
		return -ENOMEM;
	run->lent = true;
	return 0;
}

/* An imagezmq array: rows packed, as numpy's C order has them; lent when they are. */
static int make_array(struct send_run *run, zmq_msg_t *part, const struct fr_frame *f, bool lend)
{
	size_t row = (size_t)f->width * bridge_pixel_bytes(f->format);

	if (f->stride == row && lend)
		return lend_part(run, part, f->data, row * f->height);
	if (zmq_msg_init_size(part, row * f->height))
		return -ENOMEM;
	unsigned char *out = zmq_msg_data(part);
	if (f->stride == row) {
		memcpy(out, f->data, row * f->height);
		return 0;
	}
	for (uint32_t y = 0; y < f->height; y++)
		memcpy(out + y * row, (const unsigned char *)f->data + (size_t)y * f->stride, row);
	return 0;
}

/*
 * The two message parts for held frame @f: raw pixels lent straight from the
 * slot (run->lent: the frame stays held until ZeroMQ gives it back), or
 * copied or encoded out of it (PUB: a slow subscriber must not hold a slot;
 * JPEG). 0, or -1 (skipped, counted).
 */
static int build(const struct bridge_opts *o, struct send_run *run, const struct fr_frame *f,
		 zmq_msg_t parts[2], size_t *bytes)
{
	struct bridge_meta m = { .width = f->width,
				 .height = f->height,
				 .stride = f->stride,
				 .flags = f->flags,
				 .seq = f->seq };
	const unsigned char *data = NULL;
	size_t len = 0;
	uint64_t mono = now_ns();
	bool jpeg = o->jpeg || f->format == FR_FORMAT_JPEG;
	bool lend = !jpeg && run->sock.type != ZMQ_PUB;
	int rc;

	m.capture_ns = bridge_realtime_ns() - (mono > f->timestamp_ns ? mono - f->timestamp_ns : 0);
	if (jpeg          ? frame_jpeg(o, run, f, &m, &data, &len)
	    : o->imagezmq ? 0
			  : frame_raw(run, f, &m, &data, &len))
		return -1;
	if (!o->imagezmq) {
		unsigned char head[BRIDGE_HEADER_BYTES];
		m.payload_bytes = len;
		bridge_native_header(&m, head);
		if (make_part(&parts[0], head, sizeof(head), NULL, 0))
			return skip(run, f, "out of memory");
		rc = lend && len ? lend_part(run, &parts[1], data, len)
				 : make_part(&parts[1], NULL, 0, data, len);
	} else {
		char json[1400];
		const char *msg = o->msg ? o->msg : run->host;
		size_t json_len = bridge_izmq_json(json, sizeof(json), msg, jpeg, f->format,
						   f->width, f->height);
		if (!json_len)
			return skip(run, f, "no imagezmq form for this frame");
		if (make_part(&parts[0], json, json_len, NULL, 0))
			return skip(run, f, "out of memory");
		rc = jpeg ? make_part(&parts[1], NULL, 0, data, len)
			  : make_array(run, &parts[1], f, lend);
	}
	if (rc) {
		zmq_msg_close(&parts[0]);
		return skip(run, f, "out of memory");
	}
	*bytes = zmq_msg_size(&parts[1]);
	return 0;
}

/* Close the parts from @i on (not sent, still ours). */
static void close_parts(zmq_msg_t *parts, unsigned i, unsigned n)
{
	for (; i < n; i++)
		zmq_msg_close(&parts[i]);
}

/*
 * Send @parts, waiting while the socket cannot take them (bounded waits: the
 * status lines go on, a signal is seen). TOOL_OK sent, or tool_stop set;
 * TOOL_FAIL reported.
 */
static int transmit(const struct bridge_opts *o, struct send_run *run, zmq_msg_t *parts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int rc;
		while ((rc = bridge_send_msg(&run->sock, &parts[i], i + 1 < n)) == -EAGAIN) {
			int w = 0;
			while (!tool_stop &&
			       (w = bridge_sock_wait(&run->sock, ZMQ_POLLOUT, 200)) != 1 &&
			       (w == 0 || w == -EINTR))
				tick(run);
			if (tool_stop || w < 0) {
				close_parts(parts, i, n);
				if (tool_stop)
					return TOOL_OK;
				return tool_failf("bridge send %s: %s", o->shown, run->sock.err);
			}
		}
		if (rc) { /* part i closed by bridge_send_msg */
			close_parts(parts, i + 1, n);
			return tool_failf("bridge send %s: %s", o->shown, run->sock.err);
		}
	}
	return TOOL_OK;
}

/*
 * REQ/REP: the hub's reply, waited for up to --reply-timeout. A reply that
 * never comes resets the socket (a REQ socket cannot send again before it).
 */
static int await_reply(const struct bridge_opts *o, struct send_run *run)
{
	uint64_t deadline = now_ns() + (uint64_t)(o->reply_timeout * 1e9);

	while (!tool_stop) {
		uint64_t now = now_ns();
		if (now >= deadline)
			break;
		uint64_t left_ms = (deadline - now) / 1000000u + 1;
		int rc = bridge_sock_wait(&run->sock, ZMQ_POLLIN,
					  left_ms < 200 ? (int)left_ms : 200);
		tick(run);
		if (rc == 0 || rc == -EINTR)
			continue;
		if (rc < 0)
			return tool_failf("bridge send %s: %s", o->shown, run->sock.err);
		struct bridge_rx rx;
		if ((rc = bridge_recv_parts(&run->sock, &rx)) < 0)
			return tool_failf("bridge send %s: %s", o->shown, run->sock.err);
		if (rc == 0)
			continue;
		bool ok = rx.total == 1 && zmq_msg_size(&rx.part[0]) == 2 &&
			  !memcmp(zmq_msg_data(&rx.part[0]), "OK", 2);
		if (!ok) {
			char text[80] = "";
			if (rx.kept) {
				size_t n = zmq_msg_size(&rx.part[0]);
				const char *d = zmq_msg_data(&rx.part[0]);
				for (size_t k = 0; k < n && k + 1 < sizeof(text); k++)
					text[k] = d[k] >= 0x20 && d[k] < 0x7f ? d[k] : '?';
			}
			run->refused++;
			bridge_warn_limited(&run->warn, "bridge send %s: the hub replied '%s'",
					    o->shown, text);
		}
		bridge_rx_close(&rx);
		return TOOL_OK;
	}
	if (tool_stop)
		return TOOL_OK;
	run->unanswered++;
	run->resets++;
	stats_drops(&run->st, 1);
	bridge_warn_limited(&run->warn,
			    "bridge send %s: no reply from %s within %g s: socket reset, going on",
			    o->shown, o->endpoint, o->reply_timeout);
	if (bridge_sock_reset(&run->sock))
		return tool_failf("bridge send %s: %s", o->shown, run->sock.err);
	return TOOL_OK;
}

/*
 * Wait until ZeroMQ gives back the slot it was lent, then release the frame
 * (bounded waits: the status lines go on, a signal is seen; the frame stays
 * held then, and is released once the socket and its context are gone).
 */
static int give_back(const struct bridge_opts *o, struct send_run *run)
{
	while (run->lent && !tool_stop) {
		zmq_pollitem_t item = { NULL, run->lent_fd, ZMQ_POLLIN, 0 };
		uint64_t v;
		int n = zmq_poll(&item, 1, 200);
		tick(run);
		if (n > 0 && read(run->lent_fd, &v, sizeof(v)) == sizeof(v)) {
			int rc = fr_release(run->ring, &run->held);
			run->lent = false;
			if (rc)
				return seg_fail("bridge send", o->shown, rc);
		}
	}
	return TOOL_OK;
}

/* One acquired frame: onto the wire (lent or copied), the slot back, the reply (REQ). */
static int send_frame(const struct bridge_opts *o, struct send_run *run, struct fr_frame *f)
{
	zmq_msg_t parts[2];
	size_t bytes = 0;
	uint64_t ts = f->timestamp_ns, seq = f->seq;
	int built = build(o, run, f, parts, &bytes), rc;

	if (run->lent) {
		run->held = *f;
	} else if ((rc = fr_release(run->ring, f))) {
		if (!built)
			close_parts(parts, 0, 2);
		return seg_fail("bridge send", o->shown, rc);
	}
	if (built)
		return TOOL_OK; /* skipped, counted */
	if ((rc = transmit(o, run, parts, 2)) || (rc = give_back(o, run)) || tool_stop)
		return rc;
	uint64_t now = now_ns();
	stats_frame(&run->st, bytes, now > ts ? now - ts : 0);
	run->last_seq = seq;
	if (run->sock.type == ZMQ_REQ)
		return await_reply(o, run);
	return TOOL_OK;
}

/*
 * Did the segment's stream end with nothing left for this consumer? Asked
 * while the socket takes nothing (a peer gone for good): the end of the
 * stream still ends the sender, as it does when frames flow.
 */
static bool stream_over(struct send_run *run)
{
	struct fr_handle_stats hs;
	struct fr_info *info = malloc(sizeof(*info));
	bool over = info && fr_info(run->ring, info) == 0 && info->end_of_stream &&
		    fr_handle_stats(run->ring, &hs) == 0 && hs.lag == 0;

	free(info);
	return over;
}

static int send_loop(const struct bridge_opts *o, struct send_run *run)
{
	int rc = TOOL_OK;

	while (!rc && !tool_stop && (!o->count || run->st.frames < o->count)) {
		tick(run);
		/* Take a frame only when the socket can take it: --latest sends the newest. */
		int w = bridge_sock_wait(&run->sock, ZMQ_POLLOUT, 200);
		if ((w == 0 || w == -EINTR) && stream_over(run)) {
			run->ended = true;
			break;
		}
		if (w == 0 || w == -EINTR)
			continue;
		if (w < 0)
			return tool_failf("bridge send %s: %s", o->shown, run->sock.err);
		struct fr_frame f;
		int err = fr_acquire_ex(run->ring, &f, 200, run->acq_flags);
		if (err == -ETIMEDOUT || err == -EAGAIN || err == -EINTR)
			continue;
		if (err == -EPIPE) {
			run->ended = true;
			break;
		}
		if (err)
			return seg_fail("bridge send", o->shown, err);
		rc = send_frame(o, run, &f);
	}
	return rc;
}

/* Native protocol: tell the receiver that the stream ended (bounded wait for room). */
static void send_end(const struct bridge_opts *o, struct send_run *run)
{
	struct bridge_meta m = { .kind = BRIDGE_END, .seq = run->last_seq };
	unsigned char head[BRIDGE_HEADER_BYTES];
	zmq_msg_t parts[2];

	if (o->imagezmq)
		return;
	bridge_native_header(&m, head);
	for (int i = 0; i < 25 && !tool_stop; i++) {
		if (bridge_sock_wait(&run->sock, ZMQ_POLLOUT, 200) <= 0)
			continue;
		if (make_part(&parts[0], head, sizeof(head), NULL, 0))
			return;
		if (make_part(&parts[1], NULL, 0, NULL, 0)) {
			zmq_msg_close(&parts[0]);
			return;
		}
		if (bridge_send_msg(&run->sock, &parts[0], true)) {
			close_parts(parts, 0, 2);
			return;
		}
		if (bridge_send_msg(&run->sock, &parts[1], false) == -EAGAIN)
			zmq_msg_close(&parts[1]);
		return;
	}
}

static const char *end_reason(const struct bridge_opts *o, const struct send_run *run)
{
	if (run->ended)
		return "end of stream";
	if (tool_stop && !run->ring)
		return "stopped by a signal before the segment appeared";
	if (tool_stop)
		return "stopped by a signal";
	if (o->count && run->st.frames >= o->count)
		return "--count reached";
	return "stopped on an error";
}

static void send_summary(const struct bridge_opts *o, struct send_run *run)
{
	char extra[512], jpeg[160] = "", req[160] = "", enc[64];
	const char *why = end_reason(o, run);

	if (run->ring)
		tick(run);
	if (run->jpeg_frames) {
		bridge_hist_text(enc, sizeof(enc), &run->encode);
		snprintf(jpeg, sizeof(jpeg), ", JPEG %" PRIu64 " bytes/frame, encode %s",
			 run->jpeg_bytes / run->jpeg_frames, enc);
	}
	if (run->sock.type == ZMQ_REQ)
		snprintf(req, sizeof(req),
			 ", %" PRIu64 " unanswered (socket resets %" PRIu64 "), %" PRIu64
			 " refused",
			 run->unanswered, run->resets, run->refused);
	snprintf(extra, sizeof(extra), "reconnects %" PRIu64 "%s%s, skipped %" PRIu64 ", %s",
		 reconnects(run), req, jpeg, run->skipped, why);
	stats_summary(&run->st, extra);
}

int bridge_send_run(const struct bridge_opts *o)
{
	struct send_run *run = calloc(1, sizeof(*run));
	int rc;

	if (!run)
		return tool_fail("bridge send", -ENOMEM);
	jpeg_codec_init(&run->codec);
	if ((run->lent_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		free(run);
		return tool_failf("bridge send: eventfd: %s", strerror(errno));
	}
	bool ran = !(rc = send_setup(o, run));
	if (ran && run->ring)
		rc = send_loop(o, run);
	if (ran && !rc && run->ended)
		send_end(o, run);
	/*
	 * Frames still queued go out for a while (the end of a stream), not
	 * forever. Once the context is gone ZeroMQ holds no slot: a frame still
	 * lent (stopped by a signal meanwhile) can go back then, not before.
	 */
	bridge_sock_close(&run->sock, tool_stop ? 200 : 5000);
	bridge_ctx_free(run->ctx);
	if (run->lent)
		fr_release(run->ring, &run->held);
	if (ran)
		send_summary(o, run);
	fr_close(run->ring);
	close(run->lent_fd);
	jpeg_codec_fini(&run->codec);
	free(run);
	return rc;
}
