/*
 * No torn frame, ever. The producer fills every byte of each frame with one
 * value derived from its seq. Reliable and latest consumer processes, fast
 * and slow, check every byte of every frame when they get it, sleep at random
 * while holding it (so that the producer laps them), and check every byte
 * again before releasing it: a slot written while someone holds it shows up
 * as a byte of another frame.
 */
#include <criterion/criterion.h>

#include <stdio.h>

#include <framering.h>

#include "test_broadcast_util.h"

TestSuite(broadcast_torn, .fini = frt_cleanup, .timeout = 280);

static void run(const char *name, struct fr_ring *prod, uint64_t frames, long pace_us,
		struct bct_consumer *cons, int ncons, int claim_timeout_ms)
{
	struct bct_producer p = { .pattern = BCT_PATTERN_BYTE, .count = frames, .pace_us = pace_us,
				  .claim_timeout_ms = claim_timeout_ms };
	char why[512];
	int rc = bct_run_stream(name, prod, &p, cons, ncons, why, sizeof why);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(p.published, frames);
	for (int i = 0; i < ncons; i++) {
		const struct bct_consumer *c = &cons[i];
		cr_assert(c->info_found, "consumer %d: no peer entry", i);
		cr_expect_eq(c->info_delivered, c->delivered);
		if (c->flags & FR_LATEST) {
			cr_expect_eq(c->info_delivered + c->info_dropped, frames,
				     "latest consumer %d: %llu delivered + %llu dropped", i,
				     (unsigned long long)c->info_delivered,
				     (unsigned long long)c->info_dropped);
		} else {
			cr_expect_eq(c->delivered, frames, "reliable consumer %d got %llu", i,
				     (unsigned long long)c->delivered);
			cr_expect_eq(c->info_dropped, 0);
		}
		printf("consumer %d (%s, hold %llu+rand %llu us, 1 in %u): %llu delivered, "
		       "%llu dropped\n", i, c->flags & FR_LATEST ? "latest" : "reliable",
		       (unsigned long long)c->hold_us, (unsigned long long)c->hold_rand_us,
		       c->hold_every ? c->hold_every : 1, (unsigned long long)c->delivered,
		       (unsigned long long)c->info_dropped);
	}
	fflush(stdout);
	struct fr_info info;
	cr_assert_eq(fr_stat(name, &info), 0);
	cr_expect_eq(info.latest_stalls, 0);
	cr_assert_eq(fr_unlink(name), 0);
}

Test(broadcast_torn, reliable_and_latest_fast_and_slow_never_see_a_torn_frame)
{
	char name[FRT_NAME_SIZE];
	const uint64_t frames = 20000;
	struct fr_ring *prod = bct_create_ok(name, "torn", 8, 16384);
	struct bct_consumer *cons = bct_consumers_ok(4);
	const struct bct_consumer base = {
		.flags = FR_CONSUMER, .pattern = BCT_PATTERN_BYTE, .verify_twice = 1,
	};
	for (int i = 0; i < 4; i++)
		cons[i] = base;
	/* reliable, fast */
	/* reliable, pausing 0..2 ms on one frame in 16 */
	cons[1].hold_rand_us = 2000;
	cons[1].hold_every = 16;
	/* latest, fast */
	cons[2].flags |= FR_LATEST;
	/* latest, 0..2 ms on every frame */
	cons[3].flags |= FR_LATEST;
	cons[3].hold_rand_us = 2000;
	run(name, prod, frames, 0, cons, 4, FRT_WAIT_MS);
	frt_shared_free(cons, 4 * sizeof *cons);
}

Test(broadcast_torn, latest_consumers_on_the_smallest_pool_never_see_a_torn_frame)
{
	/* 4 slots, 2 latest consumers pinning: the producer has exactly the
	 * minimum of two unpinned slots and laps the readers constantly. */
	char name[FRT_NAME_SIZE];
	const uint64_t frames = 20000;
	struct fr_ring *prod = bct_create_ok(name, "tornmin", 4, 65536);
	struct bct_consumer *cons = bct_consumers_ok(2);
	for (int i = 0; i < 2; i++)
		cons[i] = (struct bct_consumer){
			.flags = FR_CONSUMER | FR_LATEST, .pattern = BCT_PATTERN_BYTE,
			.verify_twice = 1,
		};
	cons[0].hold_rand_us = 2000;
	cons[1].hold_rand_us = 200;
	/* Only latest consumers: the claim must never wait (timeout 0). Paced
	 * (about 50 us a frame) so that each held frame is lapped many times. */
	run(name, prod, frames, 50, cons, 2, 0);
	frt_shared_free(cons, 2 * sizeof *cons);
}
