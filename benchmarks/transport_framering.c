/*
 * framering: frames through one segment in the run's mode (SPSC, MPMC or
 * BROADCAST; 4 slots, or the next power of two that holds one pinned slot per
 * broadcast consumer plus two), acknowledgements back through a second, 64-byte segment (SPSC,
 * or MPMC when several consumers acknowledge). Nothing is copied: the
 * producer writes into the claimed slot, the consumer reads the acquired slot.
 *
 * BENCH_WAIT_EPOLL waits the way an event loop does: each process watches the
 * fr_fd() of the handle it consumes from (the consumer its data handle, the
 * producer its ack handle) with epoll, and calls fr_acquire(..., 0) until a
 * frame or -EAGAIN (which re-arms the fd) before each epoll_wait. Claims
 * sleep at once on the futex (spin 0), as in BENCH_WAIT_BLOCK, so the two
 * rows differ in the consumers' wait only.
 */
#include "bench.h"

#include "framering.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define FR_BENCH_SLOTS 4u /* like the iceoryx subscriber queue */

struct fr_ep {
	struct fr_ring *data;
	struct fr_ring *ack;
	struct fr_frame frame;
	int epfd; /* BENCH_WAIT_EPOLL: epoll on the fr_fd of the handle consumed from; else -1 */
};

static void seg_names(const struct bench_run *r, char *data, char *ack, size_t len)
{
	snprintf(data, len, "/%s-data", r->name);
	snprintf(ack, len, "/%s-ack", r->name);
}

static uint32_t ack_mode(const struct bench_run *r)
{
	return r->consumers > 1 ? FR_MPMC : FR_SPSC;
}

static int set_wait(const struct bench_run *r, struct fr_ring *ring)
{
	switch (r->wait) {
	case BENCH_WAIT_SPIN:
		return fr_set_spin(ring, -1);
	case BENCH_WAIT_BLOCK:
	case BENCH_WAIT_EPOLL: /* the claims; acquires never block there */
		return fr_set_spin(ring, 0);
	default:
		return 0; /* library default */
	}
}

/* This side's state in e->priv, and the names of the run's two segments. */
static struct fr_ep *ep_new(struct bench_ep *e, char *data, char *ack, size_t len)
{
	struct fr_ep *s = calloc(1, sizeof(*s));
	if (s) {
		s->epfd = -1;
		e->priv = s;
		seg_names(e->run, data, ack, len);
	}
	return s;
}

/* BENCH_WAIT_EPOLL: watch @ring's fr_fd with a new epoll instance in s->epfd. */
static int watch(const struct bench_run *r, struct fr_ep *s, struct fr_ring *ring, char *why,
		 size_t whylen)
{
	struct epoll_event ev = {.events = EPOLLIN};
	if (r->wait != BENCH_WAIT_EPOLL)
		return 0;
	int fd = fr_fd(ring);
	if (fd < 0) {
		snprintf(why, whylen, "fr_fd: %s", fr_strerror(fd));
		return fd;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;
		snprintf(why, whylen, "epoll: %s", strerror(errno));
		return err;
	}
	return 0;
}

/*
 * fr_acquire as the run waits: the library's wait (timeout_ms as fr_acquire's),
 * or the event loop's round of fr_acquire(..., 0) until a frame or -EAGAIN,
 * then epoll_wait, until the frame comes or timeout_ms (-1: never) passed.
 */
static int take(struct fr_ep *s, struct fr_ring *ring, struct fr_frame *f, int timeout_ms)
{
	if (s->epfd < 0)
		return fr_acquire(ring, f, timeout_ms);
	uint64_t end = bench_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000u;
	for (;;) {
		struct epoll_event ev;
		int ms = -1, rc = fr_acquire(ring, f, 0);
		if (rc != -EAGAIN)
			return rc;
		if (timeout_ms >= 0) {
			uint64_t now = bench_now_ns();
			if (now >= end)
				return -ETIMEDOUT;
			ms = (int)((end - now + 999999u) / 1000000u);
		}
		if (epoll_wait(s->epfd, &ev, 1, ms) < 0 && errno != EINTR)
			return -errno;
	}
}

/* Open segment @name as FR_PRODUCER or FR_CONSUMER, with the run's wait strategy. */
static int attach(const struct bench_run *r, const char *name, unsigned role,
		  struct fr_ring **ring, char *why, size_t whylen)
{
	int rc = fr_open(name, role, ring);
	if (rc) {
		snprintf(why, whylen, "fr_open(%s, %s): %s", name,
			 role == FR_CONSUMER ? "consumer" : "producer", fr_strerror(rc));
		return rc;
	}
	rc = set_wait(r, *ring);
	if (rc)
		snprintf(why, whylen, "fr_set_spin: %s", fr_strerror(rc));
	return rc;
}

static int fr_setup(struct bench_run *r, char *why, size_t whylen)
{
	(void)r;
	(void)why;
	(void)whylen;
	return 0;
}

static void fr_teardown(struct bench_run *r)
{
	char data[96], ack[96];
	seg_names(r, data, ack, sizeof(data));
	(void)fr_unlink(data); /* normally unlinked already by the producer */
	(void)fr_unlink(ack);
}

static int fr_prod_open(struct bench_ep *e, char *why, size_t whylen)
{
	const struct bench_run *r = e->run;
	char data[96], ack[96];
	struct fr_config cfg;
	struct fr_ring *creator = NULL;
	struct fr_ep *s = ep_new(e, data, ack, sizeof(data));
	int rc;

	if (!s)
		return -ENOMEM;

	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = (uint32_t)r->mode;
	cfg.slots = r->slots ? r->slots : FR_BENCH_SLOTS;
	/* a broadcast pool keeps one pinned slot per consumer plus two free */
	while (r->mode == FR_BROADCAST && cfg.slots < (uint32_t)r->consumers + 2)
		cfg.slots *= 2;
	cfg.format = FR_FORMAT_RAW;
	cfg.frame_bytes = r->frame_bytes;
	rc = fr_create(data, &cfg, &s->data);
	if (rc && r->mode == FR_BROADCAST) {
		snprintf(why, whylen, "fr_create(FR_BROADCAST) failed: %s", fr_strerror(rc));
		return BENCH_SKIP;
	}
	if (rc) {
		snprintf(why, whylen, "fr_create(%s): %s", data, fr_strerror(rc));
		return rc;
	}

	/* The ack segment: created here, then attached as its consumer. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.mode = ack_mode(r);
	cfg.slots = FR_BENCH_SLOTS;
	cfg.format = FR_FORMAT_RAW;
	cfg.frame_bytes = sizeof(struct bench_hdr);
	rc = fr_create(ack, &cfg, &creator);
	if (rc) {
		snprintf(why, whylen, "fr_create(%s): %s", ack, fr_strerror(rc));
		return rc;
	}
	fr_close(creator);
	rc = attach(r, ack, FR_CONSUMER, &s->ack, why, whylen);
	if (!rc)
		rc = watch(r, s, s->ack, why, whylen);
	if (rc)
		return rc;
	rc = set_wait(r, s->data);
	if (rc)
		snprintf(why, whylen, "fr_set_spin: %s", fr_strerror(rc));
	return rc;
}

static int fr_prod_connect(struct bench_ep *e)
{
	char data[96], ack[96];
	seg_names(e->run, data, ack, sizeof(data));
	/* every peer is attached: the names are no longer needed */
	(void)fr_unlink(data);
	(void)fr_unlink(ack);
	return 0;
}

static int fr_cons_open(struct bench_ep *e, char *why, size_t whylen)
{
	const struct bench_run *r = e->run;
	char data[96], ack[96];
	struct fr_ep *s = ep_new(e, data, ack, sizeof(data));
	int rc;

	if (!s)
		return -ENOMEM;
	rc = attach(r, data, FR_CONSUMER, &s->data, why, whylen);
	if (!rc)
		rc = watch(r, s, s->data, why, whylen);
	if (!rc)
		rc = attach(r, ack, FR_PRODUCER, &s->ack, why, whylen);
	return rc;
}

static int fr_claim_frame(struct bench_ep *e, void **buf)
{
	struct fr_ep *s = e->priv;
	int rc = fr_claim(s->data, &s->frame, -1);
	if (rc)
		return rc;
	if (s->frame.capacity < e->run->frame_bytes) {
		(void)fr_cancel(s->data, &s->frame);
		return -EPROTO;
	}
	s->frame.bytes = e->run->frame_bytes;
	*buf = s->frame.data;
	return 0;
}

static int fr_publish_frame(struct bench_ep *e)
{
	struct fr_ep *s = e->priv;
	/* Like a camera with a capture time: the frame carries the timestamp the
	 * harness already took (else fr_publish reads the clock once more). */
	memcpy(&s->frame.timestamp_ns, (const char *)s->frame.data + offsetof(struct bench_hdr, t_ns),
	       sizeof(s->frame.timestamp_ns));
	return fr_publish(s->data, &s->frame);
}

static int fr_ack_wait(struct bench_ep *e, uint64_t *counter)
{
	struct fr_ep *s = e->priv;
	struct fr_frame f;
	int rc = take(s, s->ack, &f, -1);
	if (rc)
		return rc;
	memcpy(counter, f.data, sizeof(*counter));
	return fr_release(s->ack, &f);
}

static int fr_acquire_frame(struct bench_ep *e, const void **buf)
{
	struct fr_ep *s = e->priv;
	int rc = take(s, s->data, &s->frame, -1);
	if (rc)
		return rc;
	if (s->frame.bytes != e->run->frame_bytes) {
		(void)fr_release(s->data, &s->frame);
		return -EPROTO;
	}
	*buf = s->frame.data;
	return 0;
}

static int fr_release_frame(struct bench_ep *e)
{
	struct fr_ep *s = e->priv;
	return fr_release(s->data, &s->frame);
}

static int fr_ack_send(struct bench_ep *e, uint64_t counter)
{
	struct fr_ep *s = e->priv;
	struct fr_frame f;
	int rc = fr_claim(s->ack, &f, -1);
	if (rc)
		return rc;
	memcpy(f.data, &counter, sizeof(counter));
	f.bytes = sizeof(counter);
	return fr_publish(s->ack, &f);
}

static int fr_idle_wait(struct bench_ep *e, int ms)
{
	struct fr_ep *s = e->priv;
	struct fr_frame f;
	int rc = take(s, s->data, &f, ms);
	if (rc == 0) {
		(void)fr_release(s->data, &f);
		return -EPROTO; /* nothing is ever sent in the idle test */
	}
	return rc;
}

static void fr_close_ep(struct bench_ep *e)
{
	struct fr_ep *s = e->priv;
	if (!s)
		return;
	if (s->epfd >= 0)
		close(s->epfd);
	fr_close(s->data);
	fr_close(s->ack);
	free(s);
	e->priv = NULL;
}

const struct bench_transport bench_tp_framering = {
	.name = "framering",
	.max_consumers = BENCH_MAX_CONSUMERS,
	.setup = fr_setup,
	.teardown = fr_teardown,
	.prod_open = fr_prod_open,
	.prod_connect = fr_prod_connect,
	.cons_open = fr_cons_open,
	.claim = fr_claim_frame,
	.publish = fr_publish_frame,
	.ack_wait = fr_ack_wait,
	.acquire = fr_acquire_frame,
	.release = fr_release_frame,
	.ack_send = fr_ack_send,
	.idle_wait = fr_idle_wait,
	.close = fr_close_ep,
};
