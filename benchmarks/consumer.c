/*
 * A consumer process: open the transport once the producer has, connect,
 * then receive every frame up to the stop frame, checking each one and
 * acknowledging the pings. In the idle test it waits for a frame that never
 * comes and measures the CPU time the wait cost.
 */
#include "child.h"
#include "frame.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>

static double cpu_seconds(const struct rusage *u0, const struct rusage *u1)
{
	return (double)(u1->ru_utime.tv_sec - u0->ru_utime.tv_sec) +
	       (double)(u1->ru_stime.tv_sec - u0->ru_stime.tv_sec) +
	       (double)(u1->ru_utime.tv_usec - u0->ru_utime.tv_usec) / 1e6 +
	       (double)(u1->ru_stime.tv_usec - u0->ru_stime.tv_usec) / 1e6;
}

static int idle_wait(struct bench_ep *e, struct ctl *c, int idle_ms)
{
	struct rusage u0, u1;
	c->where[1 + e->index].phase = PH_IDLE;
	uint64_t t0 = bench_now_ns();
	getrusage(RUSAGE_SELF, &u0);
	int rc = e->run->tp->idle_wait(e, idle_ms);
	getrusage(RUSAGE_SELF, &u1);
	uint64_t t1 = bench_now_ns();
	if (rc != -ETIMEDOUT) {
		ctl_fail(c, "idle wait returned %s", rc ? strerror(-rc) : "a frame");
		return rc ? rc : -EPROTO;
	}
	c->idle_cpu_s[e->index] = cpu_seconds(&u0, &u1);
	c->idle_wall_s[e->index] = (double)(t1 - t0) / 1e9;
	return 0;
}

static int receive_frames(struct bench_ep *e, struct ctl *c)
{
	const struct bench_run *r = e->run;
	int index = e->index;
	uint64_t expected = 0, stream = 0;
	char why[256];

	c->where[1 + index].phase = PH_PING;
	for (;;) {
		const void *buf;
		struct bench_hdr h;
		int rc;
		if ((rc = r->tp->acquire(e, &buf))) {
			ctl_fail(c, "consumer %d receive: %s", index, strerror(-rc));
			return rc;
		}
		if ((rc = frame_check(buf, r->frame_bytes, expected, r->touch, &h, why,
				      sizeof(why)))) {
			ctl_fail(c, "consumer %d: %s", index, why);
			return rc;
		}
		if ((rc = r->tp->release(e))) {
			ctl_fail(c, "consumer %d release: %s", index, strerror(-rc));
			return rc;
		}
		expected++;
		c->where[1 + index].frames = expected;
		if ((h.flags & BENCH_F_PING) && (rc = r->tp->ack_send(e, h.counter))) {
			ctl_fail(c, "consumer %d ack: %s", index, strerror(-rc));
			return rc;
		}
		if (h.flags & BENCH_F_STREAM)
			stream++;
		if (h.flags & BENCH_F_STOP) {
			c->t_end[index] = bench_now_ns();
			c->frames[index] = stream;
			return 0;
		}
	}
}

int consumer_main(const struct bench_run *r, struct ctl *c, int index, int idle_ms)
{
	struct bench_ep e = {.run = r, .index = index};
	char why[256] = "";
	int rc;

	volatile int *phase = &c->where[1 + index].phase;
	if ((rc = ctl_wait(c, &c->prod_ready, 1)))
		return rc == -ECANCELED ? 0 : 1; /* the producer reported why */
	*phase = PH_OPEN;
	rc = r->tp->cons_open(&e, why, sizeof(why));
	if (rc) {
		ctl_fail(c, "consumer %d open: %s", index, why[0] ? why : strerror(-rc));
		goto out;
	}
	atomic_fetch_add(&c->cons_ready, 1);
	*phase = PH_CONNECT;
	if (r->tp->cons_connect && (rc = r->tp->cons_connect(&e))) {
		ctl_fail(c, "consumer %d connect: %s", index, strerror(-rc));
		goto out;
	}
	rc = idle_ms ? idle_wait(&e, c, idle_ms) : receive_frames(&e, c);
out:
	*phase = PH_DONE;
	atomic_fetch_add(&c->cons_done, 1);
	/* stay attached until the producer is finished with us */
	(void)ctl_wait(c, &c->prod_done, 1);
	if (e.priv)
		r->tp->close(&e);
	return rc ? 1 : 0;
}
