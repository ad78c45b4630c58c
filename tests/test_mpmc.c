/*
 * MPMC ring: timeouts, several handles per role, end of stream with several
 * producers, and 2 producer + 2 consumer processes moving 200,000 frames, each
 * delivered exactly once with its payload intact.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"

TestSuite(mpmc, .fini = frt_cleanup, .timeout = 240);

static struct fr_ring *make_ring(char *name, const char *tag, uint32_t slots, uint64_t bytes)
{
	struct fr_config cfg = { .mode = FR_MPMC, .slots = slots, .frame_bytes = bytes };
	return frt_create_ok(frt_name(name, FRT_NAME_SIZE, tag), &cfg);
}

static void publish_id(struct fr_ring *prod, uint64_t id)
{
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	uint64_t len = frt_frame_len(id, 24, 1024);
	cr_assert_geq(f.capacity, len);
	frt_fill(f.data, len, id);
	f.bytes = len;
	FRT_ASSERT_OK(fr_publish(prod, &f));
}

/* Acquire one frame and return its id (payload verified). */
static uint64_t acquire_id(struct fr_ring *cons, uint64_t *seq)
{
	struct fr_frame f;
	uint64_t id, sum;
	FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
	cr_assert_eq(frt_verify(f.data, f.bytes, &id, &sum), 0, "frame seq %lu corrupt",
		     (unsigned long)f.seq);
	if (seq)
		*seq = f.seq;
	FRT_ASSERT_OK(fr_release(cons, &f));
	return id;
}

Test(mpmc, timeouts_when_empty_and_full)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p0 = make_ring(name, "to", 4, 1024);
	struct fr_ring *p1 = frt_open_ok(name, FR_PRODUCER);
	struct fr_ring *c0 = frt_open_ok(name, FR_CONSUMER);
	struct fr_ring *c1 = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;

	FRT_ASSERT_ERR(fr_acquire(c0, &f, 0), -EAGAIN);
	FRT_ASSERT_ERR(fr_acquire(c1, &f, 20), -ETIMEDOUT);
	for (uint64_t i = 0; i < 4; i++)
		publish_id(i % 2 ? p1 : p0, i);
	FRT_ASSERT_ERR(fr_claim(p0, &f, 0), -EAGAIN);
	FRT_ASSERT_ERR(fr_claim(p1, &f, 20), -ETIMEDOUT);

	/* Delivered in publish order, each once, whichever consumer asks. */
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t seq;
		cr_assert_eq(acquire_id(i % 2 ? c0 : c1, &seq), i);
		cr_assert_eq(seq, i);
	}
	FRT_ASSERT_ERR(fr_acquire(c0, &f, 0), -EAGAIN);
	FRT_ASSERT_ERR(fr_acquire(c1, &f, 0), -EAGAIN);

	fr_close(c1);
	fr_close(c0);
	fr_close(p1);
	fr_close(p0);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* A claimed-but-unpublished slot holds back later ones; cancel lets them through. */
Test(mpmc, cancel_and_out_of_order_publish)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p0 = make_ring(name, "cancel", 4, 1024);
	struct fr_ring *p1 = frt_open_ok(name, FR_PRODUCER);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame a, b, f;

	FRT_ASSERT_OK(fr_claim(p0, &a, 0));
	FRT_ASSERT_OK(fr_claim(p1, &b, 0));
	cr_assert_neq(a.data, b.data, "two producers got the same slot");
	frt_fill(b.data, 100, 1);
	b.bytes = 100;
	FRT_ASSERT_OK(fr_publish(p1, &b));
	frt_fill(a.data, 100, 0);
	a.bytes = 100;
	FRT_ASSERT_OK(fr_publish(p0, &a));
	/* Both arrive, each exactly once. */
	uint64_t x = acquire_id(c, NULL), y = acquire_id(c, NULL);
	cr_assert(x + y == 1 && x != y, "ids %lu and %lu", (unsigned long)x, (unsigned long)y);

	/* A cancelled claim is skipped, the frame claimed after it still arrives. */
	FRT_ASSERT_OK(fr_claim(p0, &a, 0));
	FRT_ASSERT_OK(fr_claim(p1, &b, 0));
	FRT_ASSERT_OK(fr_cancel(p0, &a));
	frt_fill(b.data, 64, 9);
	b.bytes = 64;
	FRT_ASSERT_OK(fr_publish(p1, &b));
	cr_assert_eq(acquire_id(c, NULL), 9);
	FRT_ASSERT_ERR(fr_acquire(c, &f, 0), -EAGAIN);
	/* The ring still has all its slots. */
	for (uint64_t i = 0; i < 4; i++)
		publish_id(p0, 100 + i);
	for (uint64_t i = 0; i < 4; i++)
		cr_assert_eq(acquire_id(c, NULL), 100 + i);

	fr_close(c);
	fr_close(p1);
	fr_close(p0);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(mpmc, epipe_after_every_producer_closed)
{
	char name[FRT_NAME_SIZE];
	fr_close(make_ring(name, "eos", 8, 1024)); /* create-only: not a producer that published */
	struct fr_ring *p0 = frt_open_ok(name, FR_PRODUCER);
	struct fr_ring *p1 = frt_open_ok(name, FR_PRODUCER);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;

	publish_id(p0, 0);
	publish_id(p1, 1);
	fr_close(p0);
	/* One producer left: not the end. */
	cr_assert_eq(acquire_id(c, NULL), 0);
	cr_assert_eq(acquire_id(c, NULL), 1);
	FRT_ASSERT_ERR(fr_acquire(c, &f, 0), -EAGAIN);
	publish_id(p1, 2);
	publish_id(p1, 3);
	fr_close(p1);
	/* Drained first, then the end. */
	cr_assert_eq(acquire_id(c, NULL), 2);
	cr_assert_eq(acquire_id(c, NULL), 3);
	FRT_ASSERT_ERR(fr_acquire(c, &f, 0), -EPIPE);
	FRT_ASSERT_ERR(fr_acquire(c, &f, 30), -EPIPE);
	FRT_ASSERT_ERR(fr_acquire(c, &f, -1), -EPIPE);
	fr_close(c);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* A producer closing with a claimed frame: the slot is skipped, later frames still arrive. */
Test(mpmc, close_with_claimed_frame)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p0 = make_ring(name, "closeclaim", 4, 1024);
	struct fr_ring *p1 = frt_open_ok(name, FR_PRODUCER);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(p0, &f, 0));
	fr_close(p0);
	publish_id(p1, 5);
	cr_assert_eq(acquire_id(c, NULL), 5);
	FRT_ASSERT_ERR(fr_acquire(c, &f, 0), -EAGAIN); /* p1 is still attached */
	for (uint64_t i = 0; i < 8; i++) { /* every slot comes back */
		publish_id(p1, 10 + i);
		cr_assert_eq(acquire_id(c, NULL), 10 + i);
	}
	/* A consumer closing with an acquired frame releases it. */
	struct fr_ring *c2 = frt_open_ok(name, FR_CONSUMER);
	publish_id(p1, 20);
	publish_id(p1, 21);
	FRT_ASSERT_OK(fr_acquire(c2, &f, 0));
	fr_close(c2);
	uint64_t seq;
	cr_assert_eq(acquire_id(c, &seq), 21);
	FRT_ASSERT_ERR(fr_acquire(c, &f, 0), -EAGAIN);
	fr_close(p1);
	FRT_ASSERT_ERR(fr_acquire(c, &f, 0), -EPIPE);
	fr_close(c);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(mpmc, counters)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make_ring(name, "cnt", 128, 1024);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	for (uint64_t i = 0; i < 100; i++) {
		publish_id(p, i);
		if (i % 3 == 0)
			cr_assert_eq(acquire_id(c, NULL), i / 3);
	}
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(c, &info));
	cr_expect_eq(info.published, 100);
	cr_expect_eq(info.consumed, 34);
	cr_expect_eq(info.fill, 66);
	fr_close(c);
	fr_close(p);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- processes ------------------------------------------------------------ */

#define NPROD 2
#define NCONS 2
#define PER_PRODUCER 100000u
#define TOTAL (NPROD * PER_PRODUCER)

struct shared {
	_Atomic uint32_t barrier;
	struct frt_stream s[NPROD + NCONS];
	_Atomic uint8_t seen_id[TOTAL];
	_Atomic uint8_t seen_seq[TOTAL];
};

static void run_processes(const char *tag, uint32_t slots, int set_spin, long spin_ns,
			  uint64_t per_producer)
{
	char name[FRT_NAME_SIZE];
	fr_close(make_ring(name, tag, slots, 4096));
	struct shared *sh = frt_shared_alloc(sizeof *sh);
	cr_assert_not_null(sh);
	uint64_t total = NPROD * per_producer;
	for (int i = 0; i < NPROD + NCONS; i++) {
		struct frt_stream *s = &sh->s[i];
		s->name = name;
		s->min_len = 64;
		s->max_len = 4096;
		s->set_spin = set_spin;
		s->spin_ns = spin_ns;
		if (i < NPROD) {
			s->first_id = (uint64_t)i * per_producer;
			s->count = per_producer;
			/* All producers attach before any can close: no early end of stream. */
			s->barrier = &sh->barrier;
			s->barrier_n = NPROD;
		} else {
			s->seen_id = sh->seen_id;
			s->seen_seq = sh->seen_seq;
			s->total = total;
		}
	}
	pid_t pids[NPROD + NCONS];
	for (int i = NPROD + NCONS - 1; i >= 0; i--) {
		pids[i] = frt_spawn(i < NPROD ? frt_produce_main : frt_consume_main, &sh->s[i]);
		cr_assert_gt(pids[i], 0);
	}
	int st = frt_wait_all(pids, NPROD + NCONS, FRT_BOUND_S, NULL);
	cr_assert_eq(st, 0, "children failed (%d): %s|%s|%s|%s", st, sh->s[0].error,
		     sh->s[1].error, sh->s[2].error, sh->s[3].error);

	uint64_t produced = 0, consumed = 0, psum = 0, csum = 0;
	for (int i = 0; i < NPROD; i++) {
		produced += sh->s[i].frames;
		psum += sh->s[i].sum;
	}
	for (int i = NPROD; i < NPROD + NCONS; i++) {
		consumed += sh->s[i].frames;
		csum += sh->s[i].sum;
	}
	cr_expect_eq(produced, total);
	cr_expect_eq(consumed, total, "consumed %lu of %lu frames", (unsigned long)consumed,
		     (unsigned long)total);
	cr_expect_eq(psum, csum, "payload checksums differ");
	for (uint64_t i = 0; i < total; i++) {
		cr_assert_eq(atomic_load(&sh->seen_id[i]), 1, "id %lu delivered %u times",
			     (unsigned long)i, atomic_load(&sh->seen_id[i]));
		cr_assert_eq(atomic_load(&sh->seen_seq[i]), 1, "seq %lu delivered %u times",
			     (unsigned long)i, atomic_load(&sh->seen_seq[i]));
	}
	struct fr_info info;
	FRT_ASSERT_OK(fr_stat(name, &info));
	cr_expect_eq(info.published, total);
	cr_expect_eq(info.consumed, total);
	cr_expect_eq(info.fill, 0);
	cr_expect_eq(info.end_of_stream, 1);
	frt_shared_free(sh, sizeof *sh);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(mpmc, two_producers_two_consumers_200k_frames)
{
	run_processes("mp", 16, 0, 0, PER_PRODUCER);
}

/* Few slots and no spinning: contention and futex sleeps on both sides. */
Test(mpmc, two_producers_two_consumers_futex_only)
{
	run_processes("mpfutex", 2, 1, 0, 15000);
}
