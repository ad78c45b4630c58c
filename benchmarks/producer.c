/*
 * The producer process: open the transport, wait until every consumer has
 * opened, connect, then warm up (page faults, connections), measure ping-pong
 * latency (one frame, then every consumer's acknowledgement) and stream
 * frames for the throughput figure. In the idle test it only waits for the
 * consumers.
 */
#include "child.h"
#include "frame.h"
#include "stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define LAT_MAX 200000u /* ping-pong samples kept at most */

static int send_frame(struct bench_ep *e, uint64_t counter, uint64_t flags)
{
	const struct bench_run *r = e->run;
	void *buf;
	int rc = r->tp->claim(e, &buf);
	if (rc)
		return rc;
	frame_fill(buf, r->frame_bytes, counter, flags, r->touch);
	return r->tp->publish(e);
}

static int collect_acks(struct bench_ep *e, struct ctl *c, uint64_t counter)
{
	for (int i = 0; i < e->run->consumers; i++) {
		uint64_t got;
		int rc = e->run->tp->ack_wait(e, &got);
		if (rc) {
			ctl_fail(c, "ack: %s", strerror(-rc));
			return rc;
		}
		if (got != counter) {
			ctl_fail(c, "ack for frame %" PRIu64 ", expected %" PRIu64, got, counter);
			return -EPROTO;
		}
	}
	return 0;
}

/* One round trip: a frame out, every consumer's acknowledgement back. */
static int ping(struct bench_ep *e, struct ctl *c, uint64_t counter)
{
	int rc = send_frame(e, counter, BENCH_F_PING);
	if (rc) {
		ctl_fail(c, "send: %s", strerror(-rc));
		return rc;
	}
	return collect_acks(e, c, counter);
}

static int warm_up(struct bench_ep *e, struct ctl *c, const struct bench_timing *t,
		   uint64_t *counter)
{
	c->where[0].phase = PH_WARMUP;
	uint64_t until = bench_now_ns() + (uint64_t)(t->warm_s * 1e9);
	for (uint64_t i = 0; i < t->warm_frames && (i < 3 || bench_now_ns() < until); i++) {
		int rc = ping(e, c, (*counter)++);
		if (rc)
			return rc;
	}
	return 0;
}

/* one-way latency in microseconds from sorted round trips in nanoseconds */
static double one_way_us(const uint64_t *sorted, uint64_t n, double q)
{
	return (double)percentile_u64(sorted, n, q) / 2.0 / 1000.0;
}

static int ping_pong(struct bench_ep *e, struct ctl *c, const struct bench_timing *t,
		     uint64_t *counter)
{
	uint64_t *lat = malloc(LAT_MAX * sizeof(*lat)), n = 0;
	int rc = 0;
	if (!lat) {
		ctl_fail(c, "out of memory");
		return -ENOMEM;
	}
	c->where[0].phase = PH_PING;
	uint64_t until = bench_now_ns() + (uint64_t)(t->lat_s * 1e9);
	while (n < LAT_MAX && (n < t->min_lat || bench_now_ns() < until)) {
		uint64_t t0 = bench_now_ns();
		if ((rc = ping(e, c, (*counter)++)))
			break;
		lat[n++] = bench_now_ns() - t0;
		c->where[0].frames = *counter;
	}
	if (!rc) {
		sort_u64(lat, n);
		c->lat_n = n;
		c->lat_p50 = one_way_us(lat, n, 0.50);
		c->lat_p99 = one_way_us(lat, n, 0.99);
		c->lat_p999 = one_way_us(lat, n, 0.999);
	}
	free(lat);
	return rc;
}

/* Frames as fast as the transport takes them; the last one carries BENCH_F_STOP. */
static int stream(struct bench_ep *e, struct ctl *c, const struct bench_timing *t,
		  uint64_t *counter)
{
	/* small frames: look at the clock every 64 frames, not at every one */
	uint64_t every = e->run->frame_bytes <= 4096 ? 64 : 1, sent = 0;
	c->where[0].phase = PH_STREAM;
	c->t_start = bench_now_ns();
	uint64_t until = c->t_start + (uint64_t)(t->tput_s * 1e9);
	for (int stop = 0; !stop;) {
		if (sent + 1 >= t->min_tput && sent % every == 0 && bench_now_ns() >= until)
			stop = 1;
		int rc = send_frame(e, (*counter)++, BENCH_F_STREAM | (stop ? BENCH_F_STOP : 0));
		if (rc) {
			ctl_fail(c, "send: %s", strerror(-rc));
			return rc;
		}
		sent++;
		c->where[0].frames = *counter;
	}
	c->sent = sent;
	return 0;
}

static int measure(struct bench_ep *e, struct ctl *c, const struct bench_timing *t)
{
	uint64_t counter = 0; /* numbers every frame, across the three phases */
	int rc = warm_up(e, c, t, &counter);
	if (!rc)
		rc = ping_pong(e, c, t, &counter);
	if (!rc)
		rc = stream(e, c, t, &counter);
	return rc;
}

int producer_main(const struct bench_run *r, struct ctl *c, const struct bench_timing *t,
		  int idle_ms)
{
	struct bench_ep e = {.run = r, .index = 0};
	char why[256] = "";
	c->where[0].phase = PH_OPEN;
	int rc = r->tp->prod_open(&e, why, sizeof(why));

	if (rc == BENCH_SKIP) {
		ctl_fail(c, "%s", why);
		return CHILD_EXIT_SKIP;
	}
	if (rc) {
		ctl_fail(c, "producer open: %s", why[0] ? why : strerror(-rc));
		goto out;
	}
	atomic_store(&c->prod_ready, 1);
	if ((rc = ctl_wait(c, &c->cons_ready, r->consumers)))
		goto out;
	c->where[0].phase = PH_CONNECT;
	if (r->tp->prod_connect && (rc = r->tp->prod_connect(&e))) {
		ctl_fail(c, "producer connect: %s", strerror(-rc));
		goto out;
	}
	if (!idle_ms && (rc = measure(&e, c, t)))
		goto out;
	c->where[0].phase = PH_DRAIN;
	rc = ctl_wait(c, &c->cons_done, r->consumers);
out:
	c->where[0].phase = PH_DONE;
	atomic_store(&c->prod_done, 1);
	if (rc)
		atomic_store(&c->abort, 1);
	if (e.priv)
		r->tp->close(&e);
	return rc ? 1 : 0;
}
