/*
 * iceoryx (C binding, zero-copy): the producer loans a chunk, writes into it
 * and publishes it; each consumer takes the chunk, reads it in place and
 * releases it. Acknowledgements go back through one more publisher per
 * consumer ("ack0", "ack1", ...), each with its own subscriber in the
 * producer. Publisher and subscribers are set up so nothing is lost
 * (publisher waits for a slow consumer, subscriber queue blocks the
 * producer), queue depth 4 like the framering runs. Waiting:
 * BENCH_WAIT_DEFAULT blocks in a WaitSet, BENCH_WAIT_SPIN polls take_chunk.
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
/* The first chunk on each ack publisher: the consumer's subscription is in place. */
#define IOX_HELLO UINT64_MAX

struct iox_ep {
	iox_pub_storage_t pub_storage;
	iox_sub_storage_t sub_storage[BENCH_MAX_CONSUMERS];
	iox_ws_storage_t ws_storage;
	iox_pub_t pub; /* producer: data; consumer: its ack */
	iox_sub_t sub[BENCH_MAX_CONSUMERS]; /* producer: every consumer's ack; consumer: data */
	int nsub;
	int next; /* producer: the ack subscriber to try first */
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

/* Subscriber @k of @s, attached to the WaitSet with notification id @k. */
static int make_sub(struct iox_ep *s, int k, const char *instance, const char *event)
{
	iox_sub_options_t o;
	iox_sub_options_init(&o);
	o.queueCapacity = IOX_BENCH_QUEUE;
	o.historyRequest = 0;
	o.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
	s->sub[k] = iox_sub_init(&s->sub_storage[k], "framering-bench", instance, event, &o);
	s->nsub = k + 1;
	if (iox_ws_attach_subscriber_state(s->ws, s->sub[k], SubscriberState_HAS_DATA,
					   (uint64_t)k, NULL) != WaitSetResult_SUCCESS)
		return -EPROTO;
	return 0;
}

static int iox_open(struct bench_ep *e, int producer, char *why, size_t whylen)
{
	const struct bench_run *r = e->run;
	struct iox_ep *s = calloc(1, sizeof(*s));
	char event[16];
	int rc = 0;
	if (!s)
		return -ENOMEM;
	e->priv = s;
	s->spin = r->wait == BENCH_WAIT_SPIN;
	start_runtime(e, producer ? "p" : "c");
	s->ws = iox_ws_init(&s->ws_storage);
	if (producer) {
		make_pub(s, r->name, "data");
		for (int k = 0; k < r->consumers && !rc; k++) {
			snprintf(event, sizeof(event), "ack%d", k);
			rc = make_sub(s, k, r->name, event);
		}
	} else {
		snprintf(event, sizeof(event), "ack%d", e->index);
		make_pub(s, r->name, event);
		rc = make_sub(s, 0, r->name, "data");
	}
	if (rc)
		snprintf(why, whylen, "iceoryx: cannot attach a subscriber to a WaitSet");
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

static int all_subscribed(const struct iox_ep *s)
{
	for (int k = 0; k < s->nsub; k++)
		if (iox_sub_get_subscription_state(s->sub[k]) != SubscribeState_SUBSCRIBED)
			return 0;
	return 1;
}

/* Both directions matched: our subscribers subscribed, our publisher has a subscriber. */
static int wait_matched(const struct iox_ep *s, uint64_t deadline)
{
	while (!all_subscribed(s) || !iox_pub_has_subscribers(s->pub)) {
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

/*
 * The consumer, once its data subscription is in place and the producer
 * subscribes to its acks, says hello on its ack publisher. The producer's
 * has_subscribers only says that some consumer subscribed: with several, the
 * frames could start before the last one listens, so it waits for every
 * hello instead.
 */
static int iox_cons_connect(struct bench_ep *e)
{
	struct iox_ep *s = e->priv;
	void *p;
	uint64_t hello = IOX_HELLO;
	int rc = wait_matched(s, bench_now_ns() + IOX_CONNECT_TIMEOUT_NS);
	if (!rc)
		rc = loan(s, &p, sizeof(struct bench_hdr));
	if (rc)
		return rc;
	memcpy(p, &hello, sizeof(hello));
	iox_pub_publish_chunk(s->pub, p);
	return 0;
}

static int iox_prod_connect(struct bench_ep *e)
{
	struct iox_ep *s = e->priv;
	uint64_t deadline = bench_now_ns() + IOX_CONNECT_TIMEOUT_NS;
	int rc = wait_matched(s, deadline);
	for (int k = 0; k < s->nsub && !rc; k++) {
		const void *p;
		uint64_t v;
		/* polled, not the WaitSet: a consumer that never says hello times out */
		while (iox_sub_take_chunk(s->sub[k], &p) != ChunkReceiveResult_SUCCESS) {
			if (bench_now_ns() > deadline)
				return -ETIMEDOUT;
			nap();
		}
		memcpy(&v, p, sizeof(v));
		iox_sub_release_chunk(s->sub[k], p);
		if (v != IOX_HELLO)
			rc = -EPROTO;
	}
	return rc;
}

/* Wait as configured for a chunk on any subscriber. */
static void wait_for_data(struct iox_ep *s)
{
	if (s->spin) {
		bench_cpu_relax();
	} else {
		iox_notification_info_t info[BENCH_MAX_CONSUMERS];
		uint64_t missed = 0;
		(void)iox_ws_wait(s->ws, info, BENCH_MAX_CONSUMERS, &missed);
	}
}

/* Take one chunk from subscriber @k, or from whichever has one when @k < 0: its index. */
static int take(struct iox_ep *s, int k, const void **out)
{
	for (;;) {
		for (int i = 0; i < s->nsub; i++) {
			int j = k >= 0 ? k : (s->next + i) % s->nsub;
			enum iox_ChunkReceiveResult r = iox_sub_take_chunk(s->sub[j], out);
			if (r == ChunkReceiveResult_SUCCESS) {
				s->next = (j + 1) % s->nsub;
				return j;
			}
			if (r != ChunkReceiveResult_NO_CHUNK_AVAILABLE)
				return -EPROTO;
			if (k >= 0)
				break;
		}
		wait_for_data(s);
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

/* Any consumer's acknowledgement: the harness collects one from each, in any order. */
static int iox_ack_wait(struct bench_ep *e, uint64_t *counter)
{
	struct iox_ep *s = e->priv;
	const void *p;
	int k = take(s, -1, &p);
	if (k < 0)
		return k;
	memcpy(counter, p, sizeof(*counter));
	iox_sub_release_chunk(s->sub[k], p);
	return 0;
}

static int iox_acquire(struct bench_ep *e, const void **buf)
{
	struct iox_ep *s = e->priv;
	int rc = take(s, 0, &s->taken);
	if (rc < 0)
		return rc;
	*buf = s->taken;
	return 0;
}

static int iox_release(struct bench_ep *e)
{
	struct iox_ep *s = e->priv;
	iox_sub_release_chunk(s->sub[0], s->taken);
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
	for (int k = 0; k < s->nsub; k++) {
		if (s->ws)
			iox_ws_detach_subscriber_state(s->ws, s->sub[k], SubscriberState_HAS_DATA);
		iox_sub_deinit(s->sub[k]);
	}
	if (s->ws)
		iox_ws_deinit(s->ws);
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
	.max_consumers = BENCH_MAX_CONSUMERS,
	.prod_open = iox_prod_open,
	.prod_connect = iox_prod_connect,
	.cons_open = iox_cons_open,
	.cons_connect = iox_cons_connect,
	.claim = iox_claim,
	.publish = iox_publish,
	.ack_wait = iox_ack_wait,
	.acquire = iox_acquire,
	.release = iox_release,
	.ack_send = iox_ack_send,
	.idle_wait = iox_idle_wait,
	.close = iox_close,
};
