/*
 * A producer asleep in fr_claim because a reliable consumer has not read the
 * frames in the pool is woken as soon as that consumer stops holding it back:
 * when it releases a frame, and when it detaches. Observed without timing:
 * the producer's sleeper bit is set in the wait line, and the consumer's
 * call must bump the line's futex event (what wakes the sleeper).
 *
 * The producer clears and sets its sleeper bit again every reap interval, so
 * a wake can be legitimately skipped in that instant; each case is tried up
 * to three times and fails only if no try saw a wake.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <framering.h>

#include "layout.h"
#include "test_broadcast_util.h"

TestSuite(broadcast_wake, .fini = frt_cleanup, .timeout = 120);

#define SLOTS 4
#define PRODUCER_ENTRY 31 /* the broadcast producer's peer entry */

struct claimer {
	struct fr_ring *prod;
	struct fr_frame f;
	int rc;
};

static void *claim_thread(void *arg)
{
	struct claimer *c = arg;
	c->rc = fr_claim(c->prod, &c->f, FRT_WAIT_MS);
	return NULL;
}

enum unblock { BY_RELEASE, BY_DETACH };

/* One try: 1 when the unblocking call bumped the event, 0 when it did not. */
static int try_once(enum unblock how)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_BROADCAST, .slots = SLOTS, .frame_bytes = 4096 };
	struct fr_ring *prod = NULL, *cons = NULL;
	cr_assert_eq(fr_create(frt_name(name, sizeof name, "wake"), &cfg, &prod), 0);
	cr_assert_eq(fr_open(name, FR_CONSUMER, &cons), 0);
	for (int i = 0; i < SLOTS; i++) {
		struct fr_frame f;
		cr_assert_eq(fr_claim(prod, &f, 0), 0);
		cr_assert_eq(fr_publish(prod, &f), 0);
	}
	struct fr_frame held;
	if (how == BY_RELEASE) /* hold seq 0: its slot is pinned, the others unread */
		cr_assert_eq(fr_acquire(cons, &held, 0), 0);

	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	static struct claimer c;
	memset(&c, 0, sizeof c);
	c.prod = prod;
	c.rc = 1;
	pthread_t tid;
	cr_assert_eq(pthread_create(&tid, NULL, claim_thread, &c), 0);
	/* Until the producer announced itself as a sleeper. */
	uint32_t e0;
	uint64_t waiters = 0;
	uint64_t deadline = frt_now_ns() + FRT_WAIT_MS * UINT64_C(1000000);
	do {
		frt_sleep_ms(1);
		waiters = frt_view_waiters(&v.hdr->space_wait);
		e0 = frt_view_event(&v.hdr->space_wait);
	} while (!(waiters & (UINT64_C(1) << PRODUCER_ENTRY)) && frt_now_ns() < deadline);
	cr_assert(waiters & (UINT64_C(1) << PRODUCER_ENTRY), "the producer never slept");

	if (how == BY_RELEASE)
		cr_assert_eq(fr_release(cons, &held), 0);
	else
		fr_close(cons);
	uint32_t e1 = frt_view_event(&v.hdr->space_wait);

	pthread_join(tid, NULL);
	cr_assert_eq(c.rc, 0, "fr_claim: %d (%s)", c.rc, fr_strerror(c.rc));
	cr_assert_eq(fr_cancel(prod, &c.f), 0);
	frt_view_close(&v);
	if (how == BY_RELEASE)
		fr_close(cons);
	fr_close(prod);
	cr_assert_eq(fr_unlink(name), 0);
	return e1 != e0;
}

static void expect_wake(enum unblock how, const char *what)
{
	int woke = 0;
	for (int i = 0; i < 3 && !woke; i++)
		woke = try_once(how);
	cr_expect(woke, "%s did not wake the producer waiting for it", what);
}

Test(broadcast_wake, release_by_the_slowest_reliable_consumer_wakes_the_producer)
{
	expect_wake(BY_RELEASE, "fr_release");
}

Test(broadcast_wake, detach_of_the_slowest_reliable_consumer_wakes_the_producer)
{
	expect_wake(BY_DETACH, "fr_close of a reliable consumer");
}
