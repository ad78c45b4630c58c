/*
 * Attach/detach churn on a broadcast segment. While the producer runs and a
 * steady reliable consumer reads every frame, churner processes attach
 * (reliable or latest, some from the oldest frame), read a few frames,
 * sometimes close while still holding one, and detach, in a loop. Nothing
 * wedges (every wait is bounded and hitting a bound fails), the steady
 * consumer loses nothing, and at the end every holder and writing bit of every
 * slot is clear and every peer entry is free.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>

#include "test_broadcast_util.h"

TestSuite(broadcast_churn, .fini = frt_cleanup, .timeout = 280);

#define NCHURN 3
#define ITERATIONS 500

struct shared {
	_Atomic int stop;          /* set by the last churner: the producer may finish */
	_Atomic int churners_done;
	struct bct_consumer steady;
	struct churner {
		const char *name;
		unsigned id;
		uint64_t attaches, frames, closed_holding;
		char error[256];
	} churn[NCHURN];
};

static struct shared *sh;

__attribute__((format(printf, 2, 3))) static int churn_fail(struct churner *c, const char *fmt,
							     ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof c->error, fmt, ap);
	va_end(ap);
	fprintf(stderr, "[churner %u] %s\n", c->id, c->error);
	return FRT_CHILD_FAILED;
}

static int churner_main(void *arg)
{
	struct churner *c = arg;
	uint64_t rng = frt_mix64(c->id * 1000003u + (uint64_t)getpid()) | 1;
	int result = 0;
	for (int it = 0; it < ITERATIONS && result == 0; it++) {
		unsigned flags = FR_CONSUMER;
		uint64_t r = frt_rand(&rng);
		if (r & 1)
			flags |= FR_LATEST;
		if ((r >> 1) % 4 == 0)
			flags |= FR_FROM_OLDEST;
		struct fr_ring *ring = NULL;
		int rc = fr_open(c->name, flags, &ring);
		if (rc != 0) {
			result = churn_fail(c, "iteration %d: fr_open(0x%x): %d (%s)", it, flags,
					    rc, fr_strerror(rc));
			break;
		}
		c->attaches++;
		unsigned want = 1 + (unsigned)((r >> 3) % 4);
		uint64_t last = 0;
		for (unsigned k = 0; k < want; k++) {
			struct fr_frame f;
			unsigned aflags = (flags & FR_LATEST) && ((r >> 5) & 1) ? FR_ACQUIRE_NEWEST
										: 0;
			rc = fr_acquire_ex(ring, &f, FRT_WAIT_MS, aflags);
			if (rc != 0) {
				result = churn_fail(c,
						    "iteration %d frame %u: fr_acquire_ex: %d (%s)",
						    it, k, rc, fr_strerror(rc));
				break;
			}
			c->frames++;
			if (k > 0 && f.seq <= last)
				result = churn_fail(c, "seq %llu after %llu",
						    (unsigned long long)f.seq,
						    (unsigned long long)last);
			last = f.seq;
			long off = bct_check_byte(f.data, f.bytes, bct_byte(f.seq));
			if (result == 0 && (f.bytes != f.capacity || off >= 0))
				result = churn_fail(c, "seq %llu torn at byte %ld",
						    (unsigned long long)f.seq, off);
			if (frt_rand(&rng) % 8 == 0)
				frt_sleep_us((long)(frt_rand(&rng) % 1000));
			off = bct_check_byte(f.data, f.bytes, bct_byte(f.seq));
			if (result == 0 && off >= 0)
				result = churn_fail(c, "seq %llu overwritten while held, byte %ld",
						    (unsigned long long)f.seq, off);
			if (result != 0)
				break;
			if (k + 1 == want && frt_rand(&rng) % 3 == 0) {
				c->closed_holding++; /* fr_close releases it */
				break;
			}
			rc = fr_release(ring, &f);
			if (rc != 0) {
				result = churn_fail(c, "fr_release: %d (%s)", rc, fr_strerror(rc));
				break;
			}
		}
		fr_close(ring);
	}
	if (atomic_fetch_add(&sh->churners_done, 1) + 1 == NCHURN)
		atomic_store(&sh->stop, 1);
	return result;
}

Test(broadcast_churn, consumers_attach_read_and_detach_while_the_producer_runs)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = bct_create_ok(name, "churn", 8, 8192);
	sh = frt_shared_alloc(sizeof *sh);
	cr_assert_not_null(sh);

	int pipefd[2];
	cr_assert_eq(pipe(pipefd), 0);
	pid_t pids[1 + NCHURN];
	sh->steady = (struct bct_consumer){
		.name = name, .flags = FR_CONSUMER, .pattern = BCT_PATTERN_BYTE,
		.ready_fd = pipefd[1], .verify_twice = 1,
	};
	pids[0] = frt_spawn(bct_consume_main, &sh->steady);
	cr_assert_gt(pids[0], 0);
	close(pipefd[1]);
	int ready = frt_ready_wait(pipefd[0], 1, FRT_WAIT_MS);
	close(pipefd[0]);
	if (ready != 0) {
		frt_kill(pids[0]);
		cr_assert_fail("steady consumer did not attach");
	}
	for (int i = 0; i < NCHURN; i++) {
		sh->churn[i].name = name;
		sh->churn[i].id = (unsigned)i;
		pids[1 + i] = frt_spawn(churner_main, &sh->churn[i]);
		cr_assert_gt(pids[1 + i], 0);
	}

	struct bct_producer p = {
		.ring = prod, .pattern = BCT_PATTERN_BYTE, .count = 2000, .stop = &sh->stop,
		.pace_us = 20, .claim_timeout_ms = FRT_WAIT_MS,
	};
	int prc = bct_produce(&p);
	fr_close(prod);
	int bad;
	int st = frt_wait_all(pids, 1 + NCHURN, FRT_BOUND_S, &bad);
	cr_assert_eq(prc, 0, "producer: %s", p.error);
	const char *why = bad == 0 ? sh->steady.error : bad > 0 ? sh->churn[bad - 1].error : "";
	cr_assert_eq(st, 0, "%s %d ended with status %d: %s",
		     bad == 0 ? "steady consumer" : "churner", bad, st, why);
	cr_expect_eq(sh->steady.delivered, p.published, "steady consumer got %llu of %llu",
		     (unsigned long long)sh->steady.delivered, (unsigned long long)p.published);
	cr_expect_eq(sh->steady.gaps, 0);
	for (int i = 0; i < NCHURN; i++) {
		cr_expect_eq(sh->churn[i].attaches, ITERATIONS);
		printf("churner %d: %llu attaches, %llu frames, closed %llu times while holding\n",
		       i, (unsigned long long)sh->churn[i].attaches,
		       (unsigned long long)sh->churn[i].frames,
		       (unsigned long long)sh->churn[i].closed_holding);
	}
	printf("producer published %llu frames\n", (unsigned long long)p.published);
	fflush(stdout);

	/* Everyone is gone: no slot may still be pinned or marked as being written. */
	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	unsigned writing;
	uint64_t holders = bct_holders(&v, &writing);
	for (uint32_t s = 0; s < v.slots; s++)
		if (frt_view_turn(&v, s) & 0xffffffffu)
			fprintf(stderr, "slot %u: turn word 0x%016llx\n", s,
				(unsigned long long)frt_view_turn(&v, s));
	unsigned not_free = 0;
	for (unsigned i = 0; i < FR_MAX_PEERS; i++)
		not_free += frt_view_peer_state(&v, i) != 0;
	frt_view_close(&v);
	cr_expect_eq(holders, 0, "holder bits left: 0x%llx", (unsigned long long)holders);
	cr_expect_eq(writing, 0, "%u slots still marked as being written", writing);
	cr_expect_eq(not_free, 0, "%u peer entries not free", not_free);

	struct fr_info info;
	cr_assert_eq(fr_stat(name, &info), 0);
	cr_expect_eq(info.peer_count, 0);
	uint64_t read = sh->steady.delivered;
	for (int i = 0; i < NCHURN; i++)
		read += sh->churn[i].frames;
	cr_expect_eq(info.consumed, read, "consumed %llu, the consumers read %llu",
		     (unsigned long long)info.consumed, (unsigned long long)read);
	cr_expect_eq(info.live_peers, 0);
	cr_expect_eq(info.latest_stalls, 0);
	cr_assert_eq(fr_unlink(name), 0);
	frt_shared_free(sh, sizeof *sh);
}
