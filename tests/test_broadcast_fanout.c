/*
 * Broadcast fan-out: one producer, three reliable consumer processes, 100,000
 * frames. Every consumer sees every seq exactly once, in order, with the
 * payload the producer wrote (per-frame checksum, and the sum of all
 * checksums equals the producer's).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <unistd.h>

#include <framering.h>

#include "test_broadcast_util.h"

TestSuite(broadcast_fanout, .fini = frt_cleanup, .timeout = 280);

#define NCONS 3
#define FRAMES 100000

Test(broadcast_fanout, three_reliable_consumers_see_every_frame_in_order)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = bct_create_ok(name, "fanout", 8, 4096);
	struct bct_consumer *cons = bct_consumers_ok(NCONS);
	int pipefd[2];
	cr_assert_eq(pipe(pipefd), 0);
	pid_t pids[NCONS];
	for (int i = 0; i < NCONS; i++) {
		cons[i].name = name;
		cons[i].flags = FR_CONSUMER;
		cons[i].pattern = BCT_PATTERN_SUM;
		cons[i].min_len = 24;
		cons[i].max_len = 4096;
		cons[i].ready_fd = pipefd[1];
		cons[i].expect_first = 0;
		pids[i] = frt_spawn(bct_consume_main, &cons[i]);
		cr_assert_gt(pids[i], 0, "fork");
	}
	close(pipefd[1]);
	int ready = frt_ready_wait(pipefd[0], NCONS, FRT_WAIT_MS);
	close(pipefd[0]);
	if (ready != 0) {
		for (int i = 0; i < NCONS; i++)
			frt_kill(pids[i]);
		cr_assert_fail("consumers did not attach");
	}

	struct bct_producer p = {
		.ring = prod, .pattern = BCT_PATTERN_SUM, .count = FRAMES,
		.min_len = 24, .max_len = 4096, .claim_timeout_ms = FRT_WAIT_MS,
	};
	int prc = bct_produce(&p);
	struct fr_info info;
	cr_assert_eq(fr_info(prod, &info), 0);
	fr_close(prod); /* end of stream */

	int bad;
	int st = frt_wait_all(pids, NCONS, FRT_BOUND_S, &bad);
	cr_assert_eq(prc, 0, "producer: %s", p.error);
	cr_assert_eq(st, 0, "consumer %d ended with status %d: %s", bad, st,
		     bad >= 0 ? cons[bad].error : "");
	cr_assert_eq(p.published, FRAMES);
	for (int i = 0; i < NCONS; i++) {
		cr_expect_eq(cons[i].delivered, FRAMES, "consumer %d got %llu frames", i,
			     (unsigned long long)cons[i].delivered);
		cr_expect_eq(cons[i].first_seq, 0);
		cr_expect_eq(cons[i].last_seq, FRAMES - 1);
		cr_expect_eq(cons[i].gaps, 0);
		cr_expect_eq(cons[i].sum, p.sum, "consumer %d: checksum of all frames differs", i);
		cr_expect(cons[i].info_found, "consumer %d did not find its peer entry", i);
		cr_expect_eq(cons[i].info_delivered, FRAMES);
		cr_expect_eq(cons[i].info_dropped, 0);
		cr_expect_eq(cons[i].info_cursor, FRAMES);
	}
	cr_expect_eq(info.published, FRAMES);
	cr_expect_eq(info.dropped, 0, "reliable consumers never drop");
	cr_expect_eq(info.latest_stalls, 0);

	struct fr_info after;
	cr_assert_eq(fr_stat(name, &after), 0);
	cr_expect_eq(after.dropped, 0);
	cr_expect_eq(after.live_peers, 0);
	cr_expect_eq(after.consumed, (uint64_t)NCONS * FRAMES,
		     "consumed %llu after the consumers left", (unsigned long long)after.consumed);
	cr_expect_eq(after.end_of_stream, 1);
	cr_assert_eq(fr_unlink(name), 0);
	cr_expect(!frt_shm_exists(name));
	frt_shared_free(cons, NCONS * sizeof *cons);
}
