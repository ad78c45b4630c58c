/*
 * Hot depth (lib/depth.c): a flat-out producer of large frames is held back
 * while its consumers are behind, for at most FR_HOT_DEPTH_WAIT_NS per claim;
 * a paced producer, a claim with timeout 0, and latest readers never hold it.
 *
 * Whether a producer is flat out is a sample of its pace; the tests set the
 * sample's result in the handle (internal.h) so that nothing depends on how
 * fast this machine is, and test the sampling itself with set timestamps.
 * The only clock assertion is a lower bound the library guarantees: a held
 * claim waited at least FR_HOT_DEPTH_WAIT_NS.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <framering.h>
#include <testhooks.h>

#include "helpers.h"
#include "internal.h"

TestSuite(hot_depth, .fini = frt_cleanup, .timeout = 120);

#define FRAME_BYTES (1u << 20) /* large: hot slots in every mode */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct fr_ring *create(char *name, const char *tag, uint32_t mode, uint32_t slots)
{
	struct fr_config cfg = {.mode = mode, .slots = slots, .format = FR_FORMAT_RAW,
				.frame_bytes = FRAME_BYTES};
	return frt_create_ok(frt_name(name, FRT_NAME_SIZE, tag), &cfg);
}

static void put(struct fr_ring *p)
{
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(p, &f, 0));
	f.bytes = 64;
	FRT_ASSERT_OK(fr_publish(p, &f));
}

static uint64_t waits(struct fr_ring *r)
{
	return frt_info_ok(r).producer_waits;
}

/* A flat-out producer's blocking claim goes through without being held. */
static void expect_not_held(struct fr_ring *p, const char *what)
{
	struct fr_frame f;
	p->hot_flat_out = true;
	uint64_t w0 = waits(p);
	FRT_ASSERT_OK(fr_claim(p, &f, -1));
	cr_expect_eq(waits(p), w0, "%s", what);
	FRT_ASSERT_OK(fr_cancel(p, &f));
}

/*
 * Consumers behind: frame 0 held by @c, frame 1 published and unread. With
 * the producer flat out, a blocking claim is held (a producer wait, at least
 * FR_HOT_DEPTH_WAIT_NS) and then claims a free slot anyway; a claim with
 * timeout 0 is not held; and once @c gave frame 0 back, nothing holds.
 */
static void check_hold(struct fr_ring *p, struct fr_ring *c, const char *mode)
{
	put(p);
	put(p);
	struct fr_frame held, f;
	FRT_ASSERT_OK(fr_acquire(c, &held, 0));
	cr_assert_eq(held.seq, 0);
	p->hot_flat_out = true;

	uint64_t w0 = waits(p);
	FRT_ASSERT_OK(fr_claim(p, &f, 0)); /* timeout 0: never held */
	cr_expect_eq(waits(p), w0, "%s: a claim with timeout 0 was held", mode);
	FRT_ASSERT_OK(fr_cancel(p, &f));

	w0 = waits(p);
	uint64_t t0 = now_ns();
	fr_test_set_reap_slice(0); /* only the hold's end ends its sleep */
	FRT_ASSERT_OK(fr_claim(p, &f, -1)); /* held, then a slot all the same */
	fr_test_set_reap_slice(1);
	uint64_t took = now_ns() - t0;
	cr_expect_eq(waits(p), w0 + 1, "%s: a flat-out claim with consumers behind was not held",
		     mode);
	cr_expect_geq(took, FR_HOT_DEPTH_WAIT_NS, "%s: held only %llu ns", mode,
		      (unsigned long long)took);
	cr_expect_neq(f.data, held.data, "%s: the held frame's slot was claimed", mode);
	FRT_ASSERT_OK(fr_cancel(p, &f));

	p->hot_flat_out = false; /* paced: never held, however far behind */
	w0 = waits(p);
	FRT_ASSERT_OK(fr_claim(p, &f, -1));
	cr_expect_eq(waits(p), w0, "%s: a paced producer was held", mode);
	FRT_ASSERT_OK(fr_cancel(p, &f));

	/* Caught up: every frame read (aborted positions skipped), then a
	 * claim: nothing holds it. */
	FRT_ASSERT_OK(fr_release(c, &held));
	while (fr_acquire(c, &f, 0) == 0)
		FRT_ASSERT_OK(fr_release(c, &f));
	char what[64];
	snprintf(what, sizeof what, "%s: held with the consumers caught up", mode);
	expect_not_held(p, what);
}

static void check_mode(uint32_t mode, const char *tag, const char *label)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create(name, tag, mode, 8);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	check_hold(p, c, label);
	fr_close(c);
	fr_close(p);
}

Test(hot_depth, spsc)
{
	check_mode(FR_SPSC, "hdspsc", "spsc");
}

Test(hot_depth, mpmc)
{
	check_mode(FR_MPMC, "hdmpmc", "mpmc");
}

Test(hot_depth, broadcast)
{
	check_mode(FR_BROADCAST, "hdbc", "broadcast");
}

/*
 * Crowded (more peers than CPUs), a claim held for depth sleeps instead of
 * yielding, so that the release that ends the hold wakes it at once
 * (lib/ring.c); a crowded claim that is not held (a producer that is not flat
 * out) and waits for a full ring still yields. A child runs each claim with
 * the hook point crowd_yield armed to kill it at its first yield, and without
 * the reap slice's wake-ups: the held claim must end on its own when the hold
 * does, with nobody releasing anything.
 */
enum crowd_wait { CROWD_HELD, CROWD_FULL };

/* For a child (no Criterion): a 4-slot ring of large frames in @mode, its
 * producer and a consumer, the name already unlinked. 0 or the failing rc. */
static int child_ring(uint32_t mode, const char *tag, struct fr_ring **p, struct fr_ring **c)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = mode, .slots = 4, .format = FR_FORMAT_RAW,
				.frame_bytes = FRAME_BYTES};
	int rc = fr_create(frt_name(name, sizeof name, tag), &cfg, p);
	if (rc)
		return rc;
	rc = fr_open(name, FR_CONSUMER, c);
	(void)fr_unlink(name);
	return rc;
}

/* For a child: publish a 64-byte frame without waiting. 0 or the failing rc. */
static int child_put(struct fr_ring *p)
{
	struct fr_frame f;
	int rc = fr_claim(p, &f, 0);
	if (rc)
		return rc;
	f.bytes = 64;
	return fr_publish(p, &f);
}

static int crowded_claim(void *arg)
{
	enum crowd_wait what = *(const enum crowd_wait *)arg;
	struct fr_ring *p, *c;
	struct fr_frame f, held;
	FRT_CHILD_CHECK(child_ring(FR_BROADCAST, "hdcrowd", &p, &c) == 0);
	/* Consumers behind (held) or every slot unread (full). */
	unsigned frames = what == CROWD_HELD ? 2 : 4;
	for (unsigned i = 0; i < frames; i++)
		FRT_CHILD_CHECK(child_put(p) == 0);
	if (what == CROWD_HELD)
		FRT_CHILD_CHECK(fr_acquire(c, &held, 0) == 0);
	/* What a crowded machine's count would have said, for the next waits. */
	p->crowded = true;
	p->may_yield = true;
	p->crowd_countdown = 1000;
	p->hot_flat_out = what == CROWD_HELD;
	fr_test_set_reap_slice(0);
	fr_test_hook_arm("crowd_yield", 1);
	uint64_t t0 = now_ns();
	int rc = fr_claim(p, &f, what == CROWD_HELD ? -1 : 50);
	uint64_t took = now_ns() - t0;
	fr_test_hook_arm(NULL, 0);
	if (what == CROWD_FULL) { /* not reached if it yielded */
		FRT_CHILD_CHECKF(rc == -ETIMEDOUT, "full ring: %s", fr_strerror(rc));
		return 0;
	}
	FRT_CHILD_CHECKF(rc == 0, "held claim: %s", fr_strerror(rc));
	FRT_CHILD_CHECKF(took >= FR_HOT_DEPTH_WAIT_NS, "held only %llu ns",
			 (unsigned long long)took);
	FRT_CHILD_CHECK(f.data != held.data);
	return 0;
}

Test(hot_depth, crowded_held_claims_sleep_and_full_rings_yield)
{
	enum crowd_wait held = CROWD_HELD, full = CROWD_FULL;
	int st = frt_wait(frt_spawn_ok(crowded_claim, &held), 60);
	cr_expect_eq(st, 0, "a crowded claim held for depth: status %d (%d: it yielded)", st,
		     128 + SIGKILL);
	st = frt_wait(frt_spawn_ok(crowded_claim, &full), 60);
	cr_expect_eq(st, 128 + SIGKILL, "a crowded claim on a full ring never yielded: status %d",
		     st);
}

/*
 * A claim that becomes held in the middle of its wait: the ring is full, a
 * release frees a slot while the consumers are still behind, and the claim is
 * held from that try on. Nothing else is released, and the reap slice is off:
 * only the end of the hold may end its sleep (before, it slept on until a
 * release or the slice). In a child, with a thread of its own as the consumer.
 */
struct late_hold {
	struct fr_ring *c;
	int rc;
};

static void *release_one_later(void *arg)
{
	struct late_hold *h = arg;
	struct fr_frame f;
	struct timespec ts = {0, 5 * 1000 * 1000};
	nanosleep(&ts, NULL); /* the producer is asleep on the full ring by then */
	h->rc = fr_acquire(h->c, &f, 0);
	if (h->rc == 0)
		h->rc = fr_release(h->c, &f);
	return NULL;
}

static int held_after_a_release(void *arg)
{
	uint32_t mode = *(const uint32_t *)arg;
	struct fr_ring *p;
	struct fr_frame f;
	struct late_hold h = {.rc = -1};
	pthread_t t;
	FRT_CHILD_CHECK(child_ring(mode, "hdlate", &p, &h.c) == 0);
	int rc;
	while ((rc = child_put(p)) == 0) /* fill the ring */
		;
	FRT_CHILD_CHECKF(rc == -EAGAIN, "fill: %s", fr_strerror(rc));
	p->hot_flat_out = true;
	fr_test_set_reap_slice(0);
	FRT_CHILD_CHECK(pthread_create(&t, NULL, release_one_later, &h) == 0);
	rc = fr_claim(p, &f, -1);
	FRT_CHILD_CHECK(pthread_join(t, NULL) == 0);
	FRT_CHILD_CHECKF(h.rc == 0, "release: %s", fr_strerror(h.rc));
	FRT_CHILD_CHECKF(rc == 0, "claim: %s", fr_strerror(rc));
	return 0;
}

Test(hot_depth, a_claim_held_after_a_release_sleeps_no_longer_than_the_hold)
{
	const uint32_t modes[] = {FR_SPSC, FR_MPMC, FR_BROADCAST};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		int st = frt_wait(frt_spawn_ok(held_after_a_release, (void *)&modes[i]), 30);
		cr_expect_eq(st, 0, "mode %u: status %d (-1: the claim slept on)", modes[i], st);
	}
}

/* A latest reader holding an old frame never holds the producer back. */
Test(hot_depth, latest_readers_never_hold)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create(name, "hdlatest", FR_BROADCAST, 4);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER | FR_LATEST);
	put(p);
	struct fr_frame held;
	FRT_ASSERT_OK(fr_acquire(c, &held, 0)); /* frame 0 pinned, two frames back */
	put(p);
	expect_not_held(p, "a latest reader held the producer back");
	FRT_ASSERT_OK(fr_release(c, &held));
	fr_close(c);
	fr_close(p);
}

/* Small frames never: their slots are used in order, the footprint is small. */
Test(hot_depth, small_frames_are_never_held)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 4, .format = FR_FORMAT_RAW,
				.frame_bytes = 4096};
	struct fr_ring *p = frt_create_ok(frt_name(name, sizeof name, "hdsmall"), &cfg);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	put(p);
	put(p);
	struct fr_frame held;
	FRT_ASSERT_OK(fr_acquire(c, &held, 0));
	expect_not_held(p, "a small-frame claim was held");
	FRT_ASSERT_OK(fr_release(c, &held));
	fr_close(c);
	fr_close(p);
}

/* The pace sample: flat out only with little time outside claim and publish,
 * and only when filling a frame took FR_HOT_DEPTH_MIN_FILL_NS or more. */
Test(hot_depth, the_pace_sample)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create(name, "hdsample", FR_SPSC, 4);
	p->claim_may_wait = true;
	const uint64_t second = 1000000000u;
	struct {
		uint64_t filling, outside_before; /* outside: from the publish to now */
		bool flat_out;
	} cases[] = {
	    {second, 0, true},                       /* back to back, a long fill */
	    {second, second / 2, false},             /* away half a frame: paced */
	    {FR_HOT_DEPTH_MIN_FILL_NS / 2, 0, false}, /* a few bytes a frame */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t t = now_ns();
		p->hot_published_ns = t - cases[i].outside_before;
		p->hot_claimed_ns = p->hot_published_ns - cases[i].filling;
		p->hot_sample = FRI_SAMPLE_PUBLISHED;
		p->hot_flat_out = !cases[i].flat_out;
		cr_expect_eq(fri_hot_may_hold(p), cases[i].flat_out, "case %zu", i);
		cr_expect_eq(p->hot_sample, FRI_SAMPLE_NONE, "case %zu: sample not consumed", i);
	}
	/* One frame in FRI_HOT_SAMPLE_EVERY is timed, claim and publish. */
	unsigned sampled = 0;
	for (unsigned i = 0; i < 4 * FRI_HOT_SAMPLE_EVERY; i++) {
		fri_hot_claimed(p);
		fri_hot_published(p);
		sampled += p->hot_sample == FRI_SAMPLE_PUBLISHED;
	}
	cr_expect_eq(sampled, 4u, "%u of %u frames sampled", sampled, 4 * FRI_HOT_SAMPLE_EVERY);
	fr_close(p);
}

/*
 * A producer that writes a few bytes of each large frame (light) collects
 * released slots only when its cached tail says the ring is full: frames stay
 * intact, four fit in flight, the fifth claim finds the ring full, and after
 * the consumer catches up the four slots come back.
 */
Test(hot_depth, a_light_producer_still_reuses_every_slot)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create(name, "hdlight", FR_SPSC, 4);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	bool seen_light = false;
	for (uint64_t round = 0; round < 40; round++) {
		unsigned n = 1 + (unsigned)(round % 4); /* 1 to 4 frames in flight */
		for (unsigned i = 0; i < n; i++) {
			struct fr_frame f;
			FRT_ASSERT_OK(fr_claim(p, &f, 0));
			memcpy(f.data, &round, sizeof(round));
			memcpy((char *)f.data + sizeof(round), &i, sizeof(i));
			f.bytes = 64;
			FRT_ASSERT_OK(fr_publish(p, &f));
			seen_light |= p->hot_light;
		}
		if (n == 4) {
			struct fr_frame f;
			FRT_ASSERT_ERR(fr_claim(p, &f, 0), -EAGAIN);
		}
		for (unsigned i = 0; i < n; i++) {
			struct fr_frame f;
			FRT_ASSERT_OK(fr_acquire(c, &f, 0));
			uint64_t got_round;
			unsigned got_i;
			memcpy(&got_round, f.data, sizeof(got_round));
			memcpy(&got_i, (const char *)f.data + sizeof(got_round), sizeof(got_i));
			cr_assert(got_round == round && got_i == i, "round %llu frame %u: read %llu/%u",
				  (unsigned long long)round, i, (unsigned long long)got_round,
				  got_i);
			FRT_ASSERT_OK(fr_release(c, &f));
		}
	}
	cr_expect(seen_light, "64-byte frames never sampled as light");
	fr_close(c);
	fr_close(p);
}
