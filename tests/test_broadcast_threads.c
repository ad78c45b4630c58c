/*
 * The torn-frame test with threads instead of processes, so that
 * ThreadSanitizer sees every access to the slots: a producer and reliable and
 * latest consumer threads, fast and slow, each with its own handle. Every
 * consumer checks every byte of every frame when it gets it and again after
 * holding it for a random while; reliable consumers get every frame in order,
 * latest ones an increasing subsequence whose gaps are exactly the drops.
 *
 * Criterion cannot start under ThreadSanitizer, so with -DFRT_STANDALONE the
 * same cases are built as a plain program (standalone.h; CI runs it in suite
 * 'threads'). Uses only cr_assert_eq, which standalone.h also provides.
 */
#ifdef FRT_STANDALONE
#include "standalone.h" /* the ThreadSanitizer build: see there */
#else
#include <criterion/criterion.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <framering.h>

#include "test_broadcast_util.h"

struct tcase {
	const char *tag;
	uint32_t slots;
	uint64_t frames;
	uint64_t bytes;
	long pace_us;
	int ncons;
	struct bct_consumer cons[4];
};

static void *consumer_thread(void *arg)
{
	bct_consume(arg);
	return NULL;
}

__attribute__((format(printf, 3, 4))) static int case_fail(char *why, size_t n, const char *fmt,
							   ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -1;
}

static int run_case(struct tcase *t, char *why, size_t why_size)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_BROADCAST, .slots = t->slots, .frame_bytes = t->bytes };
	struct fr_ring *prod = NULL;
	int rc = fr_create(frt_name(name, sizeof name, t->tag), &cfg, &prod);
	if (rc != 0)
		return case_fail(why, why_size, "fr_create: %d (%s)", rc, fr_strerror(rc));
	int pipefd[2];
	if (pipe(pipefd) != 0) {
		fr_close(prod);
		return case_fail(why, why_size, "pipe: %s", strerror(errno));
	}
	pthread_t tid[4];
	int started = 0;
	for (; started < t->ncons; started++) {
		t->cons[started].name = name;
		/* One mapping for all threads, so ThreadSanitizer sees every access to
		 * the slots at one address (separate mappings would hide races). */
		t->cons[started].sibling = prod;
		t->cons[started].ready_fd = pipefd[1];
		if (pthread_create(&tid[started], NULL, consumer_thread, &t->cons[started]) != 0)
			break;
	}
	int ready = started == t->ncons ? frt_ready_wait(pipefd[0], t->ncons, FRT_WAIT_MS) : -1;
	struct bct_producer p = { .ring = prod, .pattern = BCT_PATTERN_BYTE, .count = t->frames,
				  .pace_us = t->pace_us, .claim_timeout_ms = FRT_WAIT_MS };
	int prc = ready == 0 ? bct_produce(&p) : -1;
	fr_close(prod); /* end of stream: the consumers finish */
	int joined = 0;
	for (int i = 0; i < started; i++) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += FRT_BOUND_S;
		if (pthread_timedjoin_np(tid[i], NULL, &until) != 0)
			break; /* a wedged consumer: report it; the process ends with the test */
		joined++;
	}
	close(pipefd[0]);
	close(pipefd[1]);
	if (joined != started)
		return case_fail(why, why_size, "consumer thread %d did not finish", joined);
	if (ready != 0)
		return case_fail(why, why_size, "consumers did not attach");
	if (prc != 0)
		return case_fail(why, why_size, "producer: %s", p.error);

	uint64_t unseen_by_latest = 0;
	for (int i = 0; i < t->ncons; i++) {
		const struct bct_consumer *c = &t->cons[i];
		if (c->error[0])
			return case_fail(why, why_size, "consumer %d: %s", i, c->error);
		if (c->delivered == 0 || c->last_seq != t->frames - 1)
			return case_fail(why, why_size, "consumer %d: %llu frames, last seq %llu",
					 i, (unsigned long long)c->delivered,
					 (unsigned long long)c->last_seq);
		if (!(c->flags & FR_LATEST) && (c->delivered != t->frames || c->gaps != 0))
			return case_fail(why, why_size, "reliable consumer %d got %llu of %llu", i,
					 (unsigned long long)c->delivered,
					 (unsigned long long)t->frames);
		if (c->flags & FR_LATEST)
			unseen_by_latest += c->first_seq + c->gaps;
		printf("%s: consumer %d (%s): %llu delivered, %llu skipped\n", t->tag, i,
		       c->flags & FR_LATEST ? "latest" : "reliable",
		       (unsigned long long)c->delivered,
		       (unsigned long long)(c->first_seq + c->gaps));
	}
	struct fr_info info;
	rc = fr_stat(name, &info);
	fr_unlink(name);
	if (rc != 0)
		return case_fail(why, why_size, "fr_stat: %d", rc);
	if (info.published != t->frames)
		return case_fail(why, why_size, "published %llu",
				 (unsigned long long)info.published);
	/* Latest consumers attached before the first frame: the drops they
	 * counted are exactly the seqs they did not see. */
	if (info.dropped != unseen_by_latest)
		return case_fail(why, why_size, "%llu drops counted, %llu frames skipped",
				 (unsigned long long)info.dropped,
				 (unsigned long long)unseen_by_latest);
	if (info.latest_stalls != 0 || info.peer_count != 0)
		return case_fail(why, why_size, "latest_stalls %llu, %u peers left",
				 (unsigned long long)info.latest_stalls, info.peer_count);
	fflush(stdout);
	return 0;
}

static const struct bct_consumer base = {
	.flags = FR_CONSUMER, .pattern = BCT_PATTERN_BYTE, .verify_twice = 1,
};

/* 1 producer; reliable fast, reliable pausing, latest fast, latest slow. */
static int mixed(char *why, size_t n)
{
	static struct tcase t;
	memset(&t, 0, sizeof t);
	t = (struct tcase){ .tag = "thr-mixed", .slots = 8, .frames = 20000, .bytes = 4096,
			    .ncons = 4 };
	for (int i = 0; i < 4; i++)
		t.cons[i] = base;
	t.cons[1].hold_rand_us = 2000;
	t.cons[1].hold_every = 16;
	t.cons[2].flags |= FR_LATEST;
	t.cons[3].flags |= FR_LATEST;
	t.cons[3].hold_rand_us = 2000;
	return run_case(&t, why, n);
}

/* The smallest pool: 4 slots, 2 latest consumers holding frames at random. */
static int smallest_pool(char *why, size_t n)
{
	static struct tcase t;
	memset(&t, 0, sizeof t);
	t = (struct tcase){ .tag = "thr-min", .slots = 4, .frames = 10000, .bytes = 4096,
			    .pace_us = 50, .ncons = 2 };
	for (int i = 0; i < 2; i++) {
		t.cons[i] = base;
		t.cons[i].flags |= FR_LATEST;
	}
	t.cons[0].hold_rand_us = 2000;
	t.cons[1].hold_rand_us = 200;
	return run_case(&t, why, n);
}

TestSuite(broadcast_threads, .fini = frt_cleanup, .timeout = 280);

Test(broadcast_threads, reliable_and_latest_threads_never_see_a_torn_frame)
{
	char why[512] = "";
	int rc = mixed(why, sizeof why);
	cr_assert_eq(rc, 0, "%s", why);
}

Test(broadcast_threads, latest_threads_on_the_smallest_pool_never_see_a_torn_frame)
{
	char why[512] = "";
	int rc = smallest_pool(why, sizeof why);
	cr_assert_eq(rc, 0, "%s", why);
}
