/*
 * iceoryx (C binding, zero-copy): the producer loans a chunk, writes into it
 * and publishes it; the consumer takes the chunk, reads it in place and
 * releases it. Acknowledgements go back through a second publisher/subscriber
 * pair. Publisher and subscriber are set up so nothing is lost (publisher
 * waits for a slow consumer, subscriber queue blocks the producer), queue
 * depth 4 like the framering runs. Waiting: BENCH_WAIT_DEFAULT blocks in a
 * WaitSet, BENCH_WAIT_SPIN polls take_chunk.
 *
 * Needs the RouDi daemon (iox-roudi) running with mempools that fit the frames
 * (see bench_iceoryx_print_config).
 */
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/publisher.h>
#include <iceoryx_binding_c/runtime.h>
#include <iceoryx_binding_c/subscriber.h>
#include <iceoryx_binding_c/wait_set.h>

#define IOX_BENCH_QUEUE 4u
#define IOX_BENCH_ALIGN 64u
#define IOX_CONNECT_TIMEOUT_NS 5000000000ull

struct iox_ep {
	iox_pub_storage_t pub_storage;
	iox_sub_storage_t sub_storage;
	iox_ws_storage_t ws_storage;
	iox_pub_t pub; /* producer: data; consumer: ack */
	iox_sub_t sub; /* producer: ack; consumer: data */
	iox_ws_t ws;
	void *loan;
	const void *taken;
	int spin;
};

static void start_runtime(const struct bench_ep *e, const char *role)
{
	char name[96];
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	snprintf(name, sizeof(name), "%s-%s%d", e->run->name, role, e->index);
	iox_runtime_init(name);
}

static void make_pub(struct iox_ep *s, const char *instance, const char *event)
{
	iox_pub_options_t o;
	iox_pub_options_init(&o);
	o.historyCapacity = 0;
	o.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
	s->pub = iox_pub_init(&s->pub_storage, "framering-bench", instance, event, &o);
}

static int make_sub(struct iox_ep *s, const char *instance, const char *event)
{
	iox_sub_options_t o;
	iox_sub_options_init(&o);
	o.queueCapacity = IOX_BENCH_QUEUE;
	o.historyRequest = 0;
	o.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
	s->sub = iox_sub_init(&s->sub_storage, "framering-bench", instance, event, &o);
	s->ws = iox_ws_init(&s->ws_storage);
	if (iox_ws_attach_subscriber_state(s->ws, s->sub, SubscriberState_HAS_DATA, 0, NULL) !=
	    WaitSetResult_SUCCESS)
		return -EPROTO;
	return 0;
}

static int iox_open(struct bench_ep *e, int producer, char *why, size_t whylen)
{
	struct iox_ep *s = calloc(1, sizeof(*s));
	int rc;
	if (!s)
		return -ENOMEM;
	e->priv = s;
	s->spin = e->run->wait == BENCH_WAIT_SPIN;
	start_runtime(e, producer ? "p" : "c");
	make_pub(s, e->run->name, producer ? "data" : "ack");
	rc = make_sub(s, e->run->name, producer ? "ack" : "data");
	if (rc)
		snprintf(why, whylen, "iceoryx: cannot attach the subscriber to a WaitSet");
	return rc;
}

static int iox_prod_open(struct bench_ep *e, char *why, size_t whylen)
{
	return iox_open(e, 1, why, whylen);
}

static int iox_cons_open(struct bench_ep *e, char *why, size_t whylen)
{
	return iox_open(e, 0, why, whylen);
}

static void nap(void)
{
	struct timespec ts = {0, 100000};
	nanosleep(&ts, NULL);
}

/* Both directions matched: our subscriber subscribed, our publisher has one. */
static int iox_connect(struct bench_ep *e)
{
	struct iox_ep *s = e->priv;
	uint64_t deadline = bench_now_ns() + IOX_CONNECT_TIMEOUT_NS;
	while (iox_sub_get_subscription_state(s->sub) != SubscribeState_SUBSCRIBED ||
	       !iox_pub_has_subscribers(s->pub)) {
		if (bench_now_ns() > deadline)
			return -ETIMEDOUT;
		nap();
	}
	return 0;
}

static int loan(struct iox_ep *s, void **buf, uint32_t bytes)
{
	uint64_t deadline = 0;
	for (;;) {
		enum iox_AllocationResult r =
			iox_pub_loan_aligned_chunk(s->pub, buf, bytes, IOX_BENCH_ALIGN);
		if (r == AllocationResult_SUCCESS)
			return 0;
		if (r != AllocationResult_RUNNING_OUT_OF_CHUNKS)
			return -ENOMEM;
		/* the mempool is shared: wait a while for a chunk to come back */
		if (!deadline)
			deadline = bench_now_ns() + IOX_CONNECT_TIMEOUT_NS;
		else if (bench_now_ns() > deadline)
			return -ENOBUFS;
		sched_yield();
	}
}

/* Take one chunk, waiting as configured. */
static int take(struct iox_ep *s, const void **out)
{
	for (;;) {
		enum iox_ChunkReceiveResult r = iox_sub_take_chunk(s->sub, out);
		if (r == ChunkReceiveResult_SUCCESS)
			return 0;
		if (r != ChunkReceiveResult_NO_CHUNK_AVAILABLE)
			return -EPROTO;
		if (s->spin) {
			bench_cpu_relax();
		} else {
			iox_notification_info_t info[2];
			uint64_t missed = 0;
			(void)iox_ws_wait(s->ws, info, 2, &missed);
		}
	}
}

static int iox_claim(struct bench_ep *e, void **buf)
{
	struct iox_ep *s = e->priv;
	int rc = loan(s, &s->loan, (uint32_t)e->run->frame_bytes);
	if (!rc)
		*buf = s->loan;
	return rc;
}

static int iox_publish(struct bench_ep *e)
{
	struct iox_ep *s = e->priv;
	iox_pub_publish_chunk(s->pub, s->loan);
	s->loan = NULL;
	return 0;
}

static int iox_ack_wait(struct bench_ep *e, uint64_t *counter)
{
	struct iox_ep *s = e->priv;
	const void *p;
	int rc = take(s, &p);
	if (rc)
		return rc;
	memcpy(counter, p, sizeof(*counter));
	iox_sub_release_chunk(s->sub, p);
	return 0;
}

static int iox_acquire(struct bench_ep *e, const void **buf)
{
	struct iox_ep *s = e->priv;
	int rc = take(s, &s->taken);
	if (rc)
		return rc;
	*buf = s->taken;
	return 0;
}

static int iox_release(struct bench_ep *e)
{
	struct iox_ep *s = e->priv;
	iox_sub_release_chunk(s->sub, s->taken);
	s->taken = NULL;
	return 0;
}

static int iox_ack_send(struct bench_ep *e, uint64_t counter)
{
	struct iox_ep *s = e->priv;
	void *p;
	int rc = loan(s, &p, sizeof(struct bench_hdr));
	if (rc)
		return rc;
	memcpy(p, &counter, sizeof(counter));
	iox_pub_publish_chunk(s->pub, p);
	return 0;
}

static int iox_idle_wait(struct bench_ep *e, int ms)
{
	struct iox_ep *s = e->priv;
	iox_notification_info_t info[2];
	uint64_t missed = 0;
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	uint64_t n = iox_ws_timed_wait(s->ws, ts, info, 2, &missed);
	return n ? -EPROTO : -ETIMEDOUT; /* nothing is ever sent in the idle test */
}

static void iox_close(struct bench_ep *e)
{
	struct iox_ep *s = e->priv;
	if (!s)
		return;
	if (s->ws) {
		iox_ws_detach_subscriber_state(s->ws, s->sub, SubscriberState_HAS_DATA);
		iox_ws_deinit(s->ws);
	}
	if (s->sub)
		iox_sub_deinit(s->sub);
	if (s->pub)
		iox_pub_deinit(s->pub);
	iox_runtime_shutdown();
	free(s);
	e->priv = NULL;
}

/* A chunk holds a chunk header and the 64-byte aligned payload. */
#define IOX_CHUNK_OVERHEAD 128u

void bench_iceoryx_print_config(const size_t *sizes, int nsizes)
{
	printf("[general]\nversion = 1\n\n[[segment]]\n\n");
	/* small chunks: 64-byte frames and acknowledgements */
	printf("[[segment.mempool]]\nsize = %u\ncount = %u\n\n",
	       (unsigned)(sizeof(struct bench_hdr) + IOX_CHUNK_OVERHEAD), 256u);
	for (int i = 0; i < nsizes; i++) {
		size_t chunk = (sizes[i] + IOX_CHUNK_OVERHEAD + 63) & ~(size_t)63;
		if (sizes[i] <= sizeof(struct bench_hdr))
			continue;
		/* queue + one held by the subscriber + one loaned by the publisher, x2 */
		printf("[[segment.mempool]]\nsize = %zu\ncount = %u\n\n", chunk,
		       2 * (IOX_BENCH_QUEUE + 2));
	}
}

const struct bench_transport bench_tp_iceoryx = {
	.name = "iceoryx",
	.max_consumers = 1,
	.prod_open = iox_prod_open,
	.prod_connect = iox_connect,
	.cons_open = iox_cons_open,
	.cons_connect = iox_connect,
	.claim = iox_claim,
	.publish = iox_publish,
	.ack_wait = iox_ack_wait,
	.acquire = iox_acquire,
	.release = iox_release,
	.ack_send = iox_ack_send,
	.idle_wait = iox_idle_wait,
	.close = iox_close,
};
