/*
 * floor: the least a shared-memory handoff can cost on this machine, measured
 * in the same run as everything else. Frame buffers in a MAP_SHARED mapping,
 * a "published" counter and a "released" counter on their own cache lines,
 * and an acknowledgement on two more: its payload (the frame's counter) and
 * the counter that publishes it; both sides busy-spin. No library, no slot
 * descriptors, no validation, no sleeping: what is left is the cross-core
 * cache-line transfers themselves. One consumer.
 *
 * The acknowledgement has the frame's shape: a payload line read after the
 * word that announces it, as the frame's header is read after "published",
 * and as every other shared-memory transport's acknowledgement is a small
 * frame of its own (descriptor or chunk header, then payload). One-way
 * latency is half the round trip, which is one hand-off only when both
 * directions are alike: a bare counter as the acknowledgement made the
 * floor's round trip one cache-line transfer shorter than any transport's.
 *
 * r->slots buffers (0 = 1), used in turn: floor-spin has one, so the producer
 * waits for each release and the handoff is nothing but counters; floor-touch
 * has two, so the producer fills one while the consumer reads the other, and
 * the buffer it fills next is always the one the consumer released last.
 */
#include "bench.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define FLOOR_DATA_OFFSET 4096u

struct floor_shm {
	_Alignas(128) _Atomic uint64_t published; /* written by the producer */
	_Alignas(128) _Atomic uint64_t released;  /* written by the consumer */
	_Alignas(128) uint64_t ack_payload;       /* written by the consumer before ack */
	_Alignas(128) _Atomic uint64_t ack;       /* written by the consumer: acks sent */
};
_Static_assert(sizeof(struct floor_shm) <= FLOOR_DATA_OFFSET, "control lines fit one page");

struct floor_ep {
	struct floor_shm *shm;
	char *data;
	size_t stride; /* bytes from one buffer to the next: whole pages */
	uint64_t nbuf; /* a power of two: a mask, not a division, on the hot path */
	uint64_t seen; /* consumer: frames taken; producer: acks taken */
	uint64_t acked; /* consumer: acks sent */
};

/* The mapping is created before fork and inherited; its address is kept here. */
static void *floor_map;
static size_t floor_len;

static size_t floor_stride(const struct bench_run *r)
{
	return (r->frame_bytes + FLOOR_DATA_OFFSET - 1) / FLOOR_DATA_OFFSET * FLOOR_DATA_OFFSET;
}

static uint64_t floor_nbuf(const struct bench_run *r)
{
	return r->slots ? r->slots : 1;
}

static int floor_setup(struct bench_run *r, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	if (floor_nbuf(r) & (floor_nbuf(r) - 1))
		return -EINVAL;
	floor_len = FLOOR_DATA_OFFSET + floor_stride(r) * floor_nbuf(r);
	floor_map = mmap(NULL, floor_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (floor_map == MAP_FAILED) {
		floor_map = NULL;
		return -errno;
	}
	return 0;
}

static void floor_teardown(struct bench_run *r)
{
	(void)r;
	if (floor_map)
		munmap(floor_map, floor_len);
	floor_map = NULL;
}

static struct floor_ep the_ep; /* one endpoint per process */

static int floor_open(struct bench_ep *e, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	the_ep.shm = floor_map;
	the_ep.data = (char *)floor_map + FLOOR_DATA_OFFSET;
	the_ep.stride = floor_stride(e->run);
	the_ep.nbuf = floor_nbuf(e->run);
	the_ep.seen = 0;
	the_ep.acked = 0;
	e->priv = &the_ep;
	return 0;
}

static int floor_claim(struct bench_ep *e, void **buf)
{
	struct floor_ep *s = e->priv;
	uint64_t pub = atomic_load_explicit(&s->shm->published, memory_order_relaxed);
	/* Acquire: the consumer's reads of the frame that was in this buffer are done. */
	while (pub - atomic_load_explicit(&s->shm->released, memory_order_acquire) >= s->nbuf)
		bench_cpu_relax();
	*buf = s->data + (pub & (s->nbuf - 1)) * s->stride;
	return 0;
}

static int floor_publish(struct bench_ep *e)
{
	struct floor_ep *s = e->priv;
	uint64_t pub = atomic_load_explicit(&s->shm->published, memory_order_relaxed);
	atomic_store_explicit(&s->shm->published, pub + 1, memory_order_release);
	return 0;
}

static int floor_ack_wait(struct bench_ep *e, uint64_t *counter)
{
	struct floor_ep *s = e->priv;
	uint64_t a;
	/* Acquire: pairs with the consumer's release store of ack; its payload
	 * store is visible once the new count is. */
	while ((a = atomic_load_explicit(&s->shm->ack, memory_order_acquire)) == s->seen)
		bench_cpu_relax();
	if (a != s->seen + 1)
		return -EPROTO; /* one acknowledgement per ping */
	s->seen = a;
	*counter = s->shm->ack_payload;
	return 0;
}

static int floor_acquire(struct bench_ep *e, const void **buf)
{
	struct floor_ep *s = e->priv;
	while (atomic_load_explicit(&s->shm->published, memory_order_acquire) == s->seen)
		bench_cpu_relax();
	*buf = s->data + (s->seen & (s->nbuf - 1)) * s->stride;
	return 0;
}

static int floor_release(struct bench_ep *e)
{
	struct floor_ep *s = e->priv;
	s->seen++;
	atomic_store_explicit(&s->shm->released, s->seen, memory_order_release);
	return 0;
}

static int floor_ack_send(struct bench_ep *e, uint64_t counter)
{
	struct floor_ep *s = e->priv;
	s->shm->ack_payload = counter;
	/* Release: pairs with the producer's acquire load of ack; the payload
	 * above is visible before the count that announces it. */
	atomic_store_explicit(&s->shm->ack, ++s->acked, memory_order_release);
	return 0;
}

static int floor_idle_wait(struct bench_ep *e, int ms)
{
	(void)e;
	(void)ms;
	return -ENOTSUP; /* a busy spinner is never idle: not part of the idle test */
}

static void floor_close(struct bench_ep *e)
{
	e->priv = NULL;
}

const struct bench_transport bench_tp_floor = {
	.name = "floor",
	.max_consumers = 1,
	.setup = floor_setup,
	.teardown = floor_teardown,
	.prod_open = floor_open,
	.cons_open = floor_open,
	.claim = floor_claim,
	.publish = floor_publish,
	.ack_wait = floor_ack_wait,
	.acquire = floor_acquire,
	.release = floor_release,
	.ack_send = floor_ack_send,
	.idle_wait = floor_idle_wait,
	.close = floor_close,
};
