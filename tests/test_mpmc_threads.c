/*
 * MPMC with threads: 2 producer and 2 consumer threads, each with its own
 * handle, move 200,000 frames; each is delivered exactly once with its payload
 * intact. Threads (not processes) so that ThreadSanitizer sees every access:
 * the handles share one mapping (fr_open_from), so every thread touches the
 * slots at the same addresses. A second test attaches with fr_open (a mapping
 * per handle), the way independent callers in one process do.
 * Uses only cr_assert, cr_expect, cr_assert_eq and cr_expect_eq, which
 * standalone.h also provides.
 */
#ifdef FRT_STANDALONE
#include "standalone.h" /* the ThreadSanitizer build: see there */
#else
#include <criterion/criterion.h>
#endif

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <framering.h>

#include "helpers.h"

TestSuite(mpmc_threads, .fini = frt_cleanup, .timeout = 280);

#define NPROD 2
#define NCONS 2

struct worker {
	struct frt_stream s;
	int producer;
	int rc;
};

static void *worker_main(void *p)
{
	struct worker *w = p;
	w->rc = w->producer ? frt_produce(&w->s) : frt_consume(&w->s);
	return NULL;
}

static void run_threads(const char *tag, uint32_t slots, uint64_t per_producer, int set_spin,
			long spin_ns, int shared_mapping)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_MPMC, .slots = slots, .frame_bytes = 1024 };
	struct fr_ring *creator = NULL;
	FRT_ASSERT_OK(fr_create(frt_name(name, sizeof name, tag), &cfg, &creator));

	uint64_t total = NPROD * per_producer;
	_Atomic uint8_t *seen_id = calloc(total, 1);
	_Atomic uint8_t *seen_seq = calloc(total, 1);
	struct worker *w = calloc(NPROD + NCONS, sizeof *w);
	_Atomic uint32_t barrier = 0;
	cr_assert(seen_id && seen_seq && w);

	pthread_t tid[NPROD + NCONS];
	for (int i = 0; i < NPROD + NCONS; i++) {
		w[i].producer = i < NPROD;
		w[i].s.name = name;
		w[i].s.min_len = 32;
		w[i].s.max_len = 1024;
		w[i].s.set_spin = set_spin;
		w[i].s.spin_ns = spin_ns;
		/* Bounded waits: a wedged ring fails the test instead of hanging it. */
		w[i].s.wait_ms = FRT_BOUND_S * 1000 / 2;
		if (w[i].producer) {
			w[i].s.first_id = (uint64_t)i * per_producer;
			w[i].s.count = per_producer;
			w[i].s.barrier = &barrier;
			w[i].s.barrier_n = NPROD;
		} else {
			w[i].s.seen_id = seen_id;
			w[i].s.seen_seq = seen_seq;
			w[i].s.total = total;
		}
	}
	/* Attach every worker's handle here, so that the creator (which never
	 * publishes and so never ends the stream) can close before they run. */
	for (int i = 0; shared_mapping && i < NPROD + NCONS; i++)
		FRT_ASSERT_OK(fr_open_from(creator, w[i].producer ? FR_PRODUCER : FR_CONSUMER,
					   &w[i].s.ring));
	fr_close(creator);
	for (int i = 0; i < NPROD + NCONS; i++)
		cr_assert_eq(pthread_create(&tid[i], NULL, worker_main, &w[i]), 0);
	for (int i = 0; i < NPROD + NCONS; i++)
		pthread_join(tid[i], NULL);

	uint64_t produced = 0, consumed = 0, psum = 0, csum = 0;
	for (int i = 0; i < NPROD + NCONS; i++) {
		cr_expect_eq(w[i].rc, 0, "%s %d failed: %s",
			     w[i].producer ? "producer" : "consumer", i, w[i].s.error);
		if (w[i].producer) {
			produced += w[i].s.frames;
			psum += w[i].s.sum;
		} else {
			consumed += w[i].s.frames;
			csum += w[i].s.sum;
		}
	}
	cr_assert_eq(produced, total);
	cr_assert_eq(consumed, total, "consumed %lu of %lu", (unsigned long)consumed,
		     (unsigned long)total);
	cr_assert_eq(psum, csum, "payload checksums differ");
	for (uint64_t i = 0; i < total; i++) {
		cr_assert_eq(atomic_load(&seen_id[i]), 1, "id %lu delivered %u times",
			     (unsigned long)i, atomic_load(&seen_id[i]));
		cr_assert_eq(atomic_load(&seen_seq[i]), 1, "seq %lu delivered %u times",
			     (unsigned long)i, atomic_load(&seen_seq[i]));
	}
	struct fr_info info;
	FRT_ASSERT_OK(fr_stat(name, &info));
	cr_expect_eq(info.published, total);
	cr_expect_eq(info.consumed, total);
	cr_expect_eq(info.end_of_stream, 1);
	free(w);
	free(seen_seq);
	free(seen_id);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(mpmc_threads, two_producers_two_consumers_200k_frames)
{
	run_threads("thr", 16, 100000, 0, 0, 1);
}

/* Two slots, no spinning: the futex sleep/wake paths under contention. */
Test(mpmc_threads, two_slots_futex_only)
{
	run_threads("thrfutex", 2, 10000, 1, 0, 1);
}

/* Each thread with a mapping of its own (fr_open). */
Test(mpmc_threads, separate_mappings)
{
	run_threads("thrsep", 8, 20000, 0, 0, 0);
}
