/*
 * Broadcast consumer policies: reliable consumers hold the producer back,
 * latest consumers (FR_LATEST) never do. A slow latest consumer gets an
 * increasing subsequence and counts every frame it skipped as a drop; with
 * only latest consumers attached fr_claim never waits; FR_ACQUIRE_NEWEST
 * jumps to the newest frame. Where a new consumer starts (newest frame, seq 0
 * on a fresh segment, or with FR_FROM_OLDEST the oldest frame still held),
 * how many consumers may attach, and what fr_info says about them.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>

#include "test_broadcast_util.h"

TestSuite(broadcast_latest, .fini = frt_cleanup, .timeout = 280);

static struct fr_ring *open_consumer(const char *name, unsigned flags)
{
	return frt_open_ok(name, FR_CONSUMER | flags);
}

/* Publish one frame filled with bct_byte(seq); the producer must not wait. */
static void publish(struct fr_ring *prod, uint64_t seq)
{
	bct_publish_byte(prod, seq, 0);
}

static struct fr_peer_info self_info(struct fr_ring *r, unsigned flags)
{
	struct fr_peer_info pi;
	cr_assert_geq(bct_find_self(r, FR_CONSUMER, flags, &pi), 0, "own peer entry not found");
	return pi;
}

Test(broadcast_latest, new_consumer_starts_at_newest_frame_or_at_zero)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = bct_create_ok(name, "start", 8, 4096);
	struct fr_ring *early = open_consumer(name, 0);
	for (uint64_t s = 0; s < 5; s++)
		publish(prod, s);
	struct fr_ring *late = open_consumer(name, FR_LATEST);
	bct_acquire_expect(early, 0, 0); /* attached before anything was published */
	bct_acquire_expect(late, 0, 4);  /* the newest published frame */
	publish(prod, 5);
	bct_acquire_expect(late, 0, 5);
	struct fr_frame f;
	cr_assert_eq(fr_acquire(late, &f, 0), -EAGAIN);
	cr_assert_eq(self_info(late, FR_LATEST).dropped, 0, "starting late is not a drop");
	for (uint64_t s = 1; s < 6; s++)
		bct_acquire_expect(early, 0, s);
	fr_close(late);
	fr_close(early);
	fr_close(prod);
	cr_assert_eq(fr_unlink(name), 0);
}

Test(broadcast_latest, reliable_consumer_holds_the_producer_back)
{
	char name[FRT_NAME_SIZE];
	const uint32_t slots = 8;
	struct fr_ring *prod = bct_create_ok(name, "hold", slots, 4096);
	struct fr_ring *rel = open_consumer(name, 0);
	struct fr_ring *lat = open_consumer(name, FR_LATEST);
	/* Every slot holds a frame the reliable consumer has not read yet. */
	for (uint64_t s = 0; s < slots; s++)
		publish(prod, s);
	struct fr_frame f;
	cr_assert_eq(fr_claim(prod, &f, 0), -EAGAIN, "the producer overwrote an unread frame");
	struct fr_peer_info pi = self_info(rel, 0);
	cr_expect_eq(pi.cursor, 0);
	cr_expect_eq(pi.lag, slots);
	cr_expect_eq(pi.flags & FR_LATEST, 0);
	cr_expect(pi.alive);
	struct fr_info info;
	cr_assert_eq(fr_info(prod, &info), 0);
	cr_expect_eq(info.tail, 0, "tail is the slowest reliable cursor");
	cr_expect_eq(info.fill, slots);
	/* What a latest consumer reads frees nothing for the producer. */
	bct_acquire_expect(lat, 0, 0);
	cr_assert_eq(fr_claim(prod, &f, 0), -EAGAIN);
	/* Reading seq 0 frees its slot, and only that one. */
	bct_acquire_expect(rel, 0, 0);
	publish(prod, slots);
	cr_assert_eq(fr_claim(prod, &f, 0), -EAGAIN);
	for (uint64_t s = 1; s <= slots; s++)
		bct_acquire_expect(rel, 0, s);
	pi = self_info(rel, 0);
	cr_expect_eq(pi.cursor, slots + 1);
	cr_expect_eq(pi.lag, 0);
	cr_expect_eq(pi.delivered, slots + 1);
	cr_assert_eq(fr_info(prod, &info), 0);
	cr_expect_eq(info.tail, slots + 1);
	cr_expect_eq(info.fill, 0);
	cr_expect_eq(info.latest_stalls, 0, "only the reliable consumer blocked the producer");
	cr_expect_gt(info.producer_waits, 0);
	cr_expect_eq(self_info(rel, 0).dropped, 0);
	fr_close(lat);
	fr_close(rel);
	fr_close(prod);
	cr_assert_eq(fr_unlink(name), 0);
}

Test(broadcast_latest, acquire_newest_jumps_and_counts_the_skipped_frames)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = bct_create_ok(name, "newest", 8, 4096);
	struct fr_ring *lat = open_consumer(name, FR_LATEST);
	for (uint64_t s = 0; s < 5; s++)
		publish(prod, s);
	bct_acquire_expect(lat, FR_ACQUIRE_NEWEST, 4);
	cr_assert_eq(self_info(lat, FR_LATEST).dropped, 4);
	for (uint64_t s = 5; s < 8; s++)
		publish(prod, s);
	bct_acquire_expect(lat, FR_ACQUIRE_NEWEST, 7);
	cr_assert_eq(self_info(lat, FR_LATEST).dropped, 6);

	/* Nothing newer: nothing to return, nothing dropped. */
	struct fr_frame f;
	cr_assert_eq(fr_acquire_ex(lat, &f, 0, FR_ACQUIRE_NEWEST), -EAGAIN);
	cr_assert_eq(self_info(lat, FR_LATEST).dropped, 6);
	/* Exactly the next one: no drop either. */
	publish(prod, 8);
	bct_acquire_expect(lat, FR_ACQUIRE_NEWEST, 8);
	cr_assert_eq(self_info(lat, FR_LATEST).dropped, 6);

	/* While a frame is held, acquire_ex refuses and the frame stays intact
	 * however often the producer laps the ring. */
	publish(prod, 9);
	cr_assert_eq(fr_acquire_ex(lat, &f, 0, FR_ACQUIRE_NEWEST), 0);
	cr_assert_eq(f.seq, 9);
	struct fr_frame g;
	cr_assert_eq(fr_acquire_ex(lat, &g, 0, FR_ACQUIRE_NEWEST), -EBUSY);
	for (uint64_t s = 10; s < 100; s++)
		publish(prod, s);
	bct_expect_bytes(&f);
	cr_assert_eq(fr_acquire_ex(lat, &g, 0, FR_ACQUIRE_NEWEST), -EBUSY);
	cr_assert_eq(fr_release(lat, &f), 0);
	bct_acquire_expect(lat, FR_ACQUIRE_NEWEST, 99);
	struct fr_peer_info pi = self_info(lat, FR_LATEST);
	cr_assert_eq(pi.dropped, 6 + 89);
	cr_assert_eq(pi.delivered, 5);
	cr_assert_eq(pi.delivered + pi.dropped, 100, "every published frame delivered or dropped");

	/* A plain acquire after being lapped also skips forward and counts. */
	for (uint64_t s = 100; s < 140; s++)
		publish(prod, s);
	cr_assert_eq(fr_acquire(lat, &f, 0), 0);
	cr_assert_gt(f.seq, 100);
	bct_expect_bytes(&f);
	pi = self_info(lat, FR_LATEST);
	cr_assert_eq(pi.delivered + pi.dropped, f.seq + 1, "delivered %llu + dropped %llu != %llu",
		     (unsigned long long)pi.delivered, (unsigned long long)pi.dropped,
		     (unsigned long long)f.seq + 1);
	cr_assert_eq(fr_release(lat, &f), 0);

	struct fr_info info;
	cr_assert_eq(fr_info(prod, &info), 0);
	cr_expect_eq(info.dropped, pi.dropped);
	cr_expect_eq(info.producer_waits, 0, "a latest consumer made the producer wait");
	cr_expect_eq(info.latest_stalls, 0);
	fr_close(lat);
	fr_close(prod);
	cr_assert_eq(fr_unlink(name), 0);
}

static void run_stream(const char *name, struct fr_ring *prod, struct bct_producer *p,
		       struct bct_consumer *cons, int ncons)
{
	char why[512];
	int rc = bct_run_stream(name, prod, p, cons, ncons, why, sizeof why);
	cr_assert_eq(rc, 0, "%s", why);
}

/* A latest consumer attached before the first frame: every frame was delivered or dropped. */
static void check_latest_accounting(const struct bct_consumer *c, uint64_t published)
{
	cr_assert(c->info_found, "latest consumer did not find its peer entry");
	cr_expect_gt(c->delivered, 0);
	cr_expect_eq(c->info_delivered, c->delivered);
	cr_expect_eq(c->info_delivered + c->info_dropped, published,
		     "latest consumer: delivered %llu + dropped %llu != published %llu",
		     (unsigned long long)c->info_delivered, (unsigned long long)c->info_dropped,
		     (unsigned long long)published);
	/* The drops are exactly the seqs it never saw. */
	uint64_t unseen = c->first_seq + c->gaps + (published - 1 - c->last_seq);
	cr_expect_eq(c->info_dropped, unseen, "dropped %llu, but %llu seqs were not delivered",
		     (unsigned long long)c->info_dropped, (unsigned long long)unseen);
	cr_expect_eq(c->info_cursor, published);
}

Test(broadcast_latest, slow_latest_consumer_drops_and_never_stalls_the_producer)
{
	char name[FRT_NAME_SIZE];
	const uint64_t frames = 3000;
	struct fr_ring *prod = bct_create_ok(name, "slow", 8, 16384);
	struct bct_consumer *cons = bct_consumers_ok(2);
	cons[0] = (struct bct_consumer){
		.flags = FR_CONSUMER, .pattern = BCT_PATTERN_SUM, .min_len = 24, .max_len = 16384,
	};
	cons[1] = (struct bct_consumer){
		.flags = FR_CONSUMER | FR_LATEST, .pattern = BCT_PATTERN_SUM, .min_len = 24,
		.max_len = 16384, .hold_us = 5000, .verify_twice = 1,
	};
	/* Paced at about one frame per ms so that the latest consumer sees a few hundred. */
	struct bct_producer p = {
		.pattern = BCT_PATTERN_SUM, .count = frames, .min_len = 24, .max_len = 16384,
		.pace_us = 1000, .claim_timeout_ms = FRT_WAIT_MS,
	};
	run_stream(name, prod, &p, cons, 2);

	cr_expect_eq(cons[0].delivered, frames, "reliable consumer got %llu of %llu",
		     (unsigned long long)cons[0].delivered, (unsigned long long)frames);
	cr_expect_eq(cons[0].gaps, 0);
	cr_expect_eq(cons[0].sum, p.sum);
	cr_expect_eq(cons[0].info_dropped, 0);
	check_latest_accounting(&cons[1], frames);

	struct fr_info info;
	cr_assert_eq(fr_stat(name, &info), 0);
	cr_expect_eq(info.published, frames);
	cr_expect_eq(info.dropped, cons[1].info_dropped);
	cr_expect_eq(info.latest_stalls, 0, "a claim was blocked by the latest consumer's pin");
	printf("slow latest consumer (5 ms/frame): %llu frames published, %llu delivered, "
	       "%llu dropped; reliable consumer %llu delivered; producer waits %llu, "
	       "latest stalls %llu\n",
	       (unsigned long long)frames, (unsigned long long)cons[1].info_delivered,
	       (unsigned long long)cons[1].info_dropped, (unsigned long long)cons[0].delivered,
	       (unsigned long long)info.producer_waits, (unsigned long long)info.latest_stalls);
	fflush(stdout);
	cr_assert_eq(fr_unlink(name), 0);
	frt_shared_free(cons, 2 * sizeof *cons);
}

Test(broadcast_latest, only_latest_consumers_claim_never_waits)
{
	char name[FRT_NAME_SIZE];
	const uint64_t frames = 20000;
	struct fr_ring *prod = bct_create_ok(name, "onlylatest", 8, 16384);
	struct bct_consumer *cons = bct_consumers_ok(3);
	for (int i = 0; i < 3; i++)
		cons[i] = (struct bct_consumer){
			.flags = FR_CONSUMER | FR_LATEST, .pattern = BCT_PATTERN_BYTE,
			.verify_twice = 1,
		};
	cons[1].hold_rand_us = 2000; /* 0..2 ms per frame */
	cons[2].hold_us = 5000;
	/* claim_timeout_ms 0: any claim that would have to wait fails the producer. */
	struct bct_producer p = { .pattern = BCT_PATTERN_BYTE, .count = frames,
				  .claim_timeout_ms = 0 };
	run_stream(name, prod, &p, cons, 3);

	for (int i = 0; i < 3; i++)
		check_latest_accounting(&cons[i], frames);
	struct fr_info info;
	cr_assert_eq(fr_stat(name, &info), 0);
	cr_expect_eq(info.published, frames);
	cr_expect_eq(info.producer_waits, 0, "fr_claim waited %llu times",
		     (unsigned long long)info.producer_waits);
	cr_expect_eq(info.latest_stalls, 0);
	cr_expect_eq(info.dropped,
		     cons[0].info_dropped + cons[1].info_dropped + cons[2].info_dropped);
	cr_assert_eq(fr_unlink(name), 0);
	frt_shared_free(cons, 3 * sizeof *cons);
}

Test(broadcast_latest, latest_consumer_holding_a_frame_never_holds_the_producer_back)
{
	/* The smallest pool (4 slots). The latest consumer keeps seq 0 until the
	 * producer has published every frame: were its pin or its cursor holding
	 * the producer back, the producer would wedge and time out. */
	char name[FRT_NAME_SIZE];
	const uint64_t frames = 2000;
	struct fr_ring *prod = bct_create_ok(name, "pin", 4, 8192);
	struct bct_consumer *cons = bct_consumers_ok(2);
	cons[0] = (struct bct_consumer){ .name = name, .flags = FR_CONSUMER,
					 .pattern = BCT_PATTERN_BYTE };
	cons[1] = (struct bct_consumer){ .name = name, .flags = FR_CONSUMER | FR_LATEST,
					 .pattern = BCT_PATTERN_BYTE, .verify_twice = 1,
					 .hold_first_until = frames };
	int pipefd[2];
	cr_assert_eq(pipe(pipefd), 0);
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		cons[i].ready_fd = pipefd[1];
		pids[i] = frt_spawn(bct_consume_main, &cons[i]);
		cr_assert_gt(pids[i], 0);
	}
	close(pipefd[1]);
	int ready = frt_ready_wait(pipefd[0], 2, FRT_WAIT_MS);
	close(pipefd[0]);
	/* Publish seq 0 and wait until the latest consumer holds it. */
	publish(prod, 0);
	int held = -1;
	uint64_t deadline = frt_now_ns() + FRT_WAIT_MS * UINT64_C(1000000);
	static struct fr_info info;
	while (ready == 0 && held != 0 && frt_now_ns() < deadline) {
		cr_assert_eq(fr_info(prod, &info), 0);
		for (uint32_t i = 0; i < info.peer_count; i++)
			if ((info.peers[i].flags & FR_LATEST) && info.peers[i].delivered == 1)
				held = 0;
		frt_sleep_us(1000);
	}
	struct bct_producer p = { .ring = prod, .pattern = BCT_PATTERN_BYTE, .first = 1,
				  .count = frames, .claim_timeout_ms = FRT_WAIT_MS };
	int prc = ready == 0 && held == 0 ? bct_produce(&p) : -1;
	fr_close(prod);
	int bad;
	int st = frt_wait_all(pids, 2, FRT_BOUND_S, &bad);
	cr_assert_eq(ready, 0, "consumers did not attach");
	cr_assert_eq(held, 0, "the latest consumer did not acquire seq 0");
	cr_assert_eq(prc, 0, "producer: %s", p.error);
	cr_assert_eq(st, 0, "consumer %d ended with status %d: %s", bad, st,
		     bad >= 0 ? cons[bad].error : "");
	cr_expect_eq(cons[0].delivered, frames);
	cr_expect_eq(cons[0].gaps, 0);
	check_latest_accounting(&cons[1], frames);
	/* seq 0, held to the end, then the newest: everything in between dropped. */
	cr_expect_eq(cons[1].first_seq, 0);
	cr_expect_eq(cons[1].delivered, 2);
	cr_expect_eq(cons[1].last_seq, frames - 1);
	cr_assert_eq(fr_stat(name, &info), 0);
	cr_expect_eq(info.latest_stalls, 0);
	cr_assert_eq(fr_unlink(name), 0);
	frt_shared_free(cons, 2 * sizeof *cons);
}

Test(broadcast_latest, thirty_one_consumers_pin_one_frame_and_a_32nd_is_refused)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = bct_create_ok(name, "many", 64, 4096);
	struct fr_ring *cons[FR_MAX_BROADCAST_CONSUMERS];
	for (int i = 0; i < FR_MAX_BROADCAST_CONSUMERS; i++)
		cons[i] = open_consumer(name, FR_LATEST);
	struct fr_ring *extra = NULL;
	cr_assert_eq(fr_open(name, FR_CONSUMER, &extra), -EBUSY);
	cr_assert_eq(fr_open(name, FR_CONSUMER | FR_LATEST, &extra), -EBUSY);

	/* Every consumer holds seq 0 at once: all 31 holder bits on one slot. */
	publish(prod, 0);
	struct fr_frame f[FR_MAX_BROADCAST_CONSUMERS];
	for (int i = 0; i < FR_MAX_BROADCAST_CONSUMERS; i++) {
		cr_assert_eq(fr_acquire(cons[i], &f[i], 0), 0, "consumer %d", i);
		cr_assert_eq(f[i].seq, 0);
	}
	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	unsigned writing;
	cr_expect_eq(bct_holders(&v, &writing), 0x7fffffffu);
	cr_expect_eq(writing, 0);
	/* The producer laps the ring around the pinned slot and never waits. */
	for (uint64_t s = 1; s < 200; s++)
		publish(prod, s);
	for (int i = 0; i < FR_MAX_BROADCAST_CONSUMERS; i++) {
		bct_expect_bytes(&f[i]);
		cr_assert_eq(fr_release(cons[i], &f[i]), 0);
	}
	cr_expect_eq(bct_holders(&v, &writing), 0);
	frt_view_close(&v);

	/* A detach frees an entry for the next consumer. */
	fr_close(cons[7]);
	cr_assert_eq(fr_open(name, FR_CONSUMER, &cons[7]), 0);
	bct_acquire_expect(cons[7], 0, 199);
	for (int i = 0; i < FR_MAX_BROADCAST_CONSUMERS; i++)
		fr_close(cons[i]);
	fr_close(prod);
	cr_assert_eq(fr_unlink(name), 0);
}

Test(broadcast_latest, consumers_are_limited_to_slots_minus_two)
{
	/* Pins of slots - 2 consumers leave the camera two free slots. */
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = bct_create_ok(name, "limit", 4, 4096);
	struct fr_ring *a = open_consumer(name, FR_LATEST);
	struct fr_ring *b = open_consumer(name, 0);
	struct fr_ring *c = NULL;
	cr_assert_eq(fr_open(name, FR_CONSUMER | FR_LATEST, &c), -EBUSY);
	fr_close(b);
	fr_close(a);
	fr_close(prod);
	cr_assert_eq(fr_unlink(name), 0);
}

/*
 * A camera is nearly always in the middle of writing a frame: the slot of
 * seq head - slots is then being rewritten. A reliable FR_FROM_OLDEST
 * consumer must start at the oldest frame still held and read every frame
 * after it, not jump to the newest.
 */
Test(broadcast_latest, reliable_from_oldest_consumer_starts_at_the_oldest_frame_still_held)
{
	char name[FRT_NAME_SIZE];
	const uint32_t slots = 8;
	struct fr_ring *prod = bct_create_ok(name, "oldest", slots, 4096);
	for (uint64_t s = 0; s < 20; s++)
		publish(prod, s);
	/* Idle producer: the ring holds seqs 12..19. */
	struct fr_ring *idle = open_consumer(name, FR_FROM_OLDEST);
	for (uint64_t s = 20 - slots; s < 20; s++)
		bct_acquire_expect(idle, 0, s);
	cr_expect_eq(self_info(idle, FR_FROM_OLDEST).dropped, 0);
	fr_close(idle);

	/* Producer writing seq 20 into the slot of seq 12: 13..19 are held. */
	struct fr_frame w;
	cr_assert_eq(fr_claim(prod, &w, 0), 0);
	struct fr_ring *rel = open_consumer(name, FR_FROM_OLDEST);
	cr_expect_eq(self_info(rel, FR_FROM_OLDEST).cursor, 21 - slots,
		     "attached at seq %llu, the oldest held is %u",
		     (unsigned long long)self_info(rel, FR_FROM_OLDEST).cursor, 21 - slots);
	for (uint64_t s = 21 - slots; s < 20; s++)
		bct_acquire_expect(rel, 0, s);
	/* A frame gone before it attached is no drop of this consumer. */
	cr_expect_eq(self_info(rel, FR_FROM_OLDEST).dropped, 0);
	memset(w.data, bct_byte(20), w.capacity);
	w.bytes = w.capacity;
	cr_assert_eq(fr_publish(prod, &w), 0);
	bct_acquire_expect(rel, 0, 20);
	fr_close(rel);
	fr_close(prod);
	cr_assert_eq(fr_unlink(name), 0);
}
