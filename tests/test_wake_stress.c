/*
 * Wake-up stress: a lost wake-up is a hang, and the hang is caught.
 *
 * Producer and consumer processes both sleep on every wait (spin 0) on a
 * 2-slot ring, with the 100 ms reap slice off, so nothing but a wake-up ever
 * ends a sleep: a wake-up lost anywhere (the waker's barrier, the sleeper's
 * announce barrier, the futex word) leaves a side asleep until its bounded
 * timeout, which fails the run. A million hand-offs in SPSC, fewer in the
 * other modes.
 *
 * Wakers skip their fence while nobody on the line may sleep (busy-waiting
 * peers: lib/wait.c), and a peer that leaves busy-waiting sets its bit and
 * calls membarrier before it may sleep. The switching runs exercise exactly
 * that: both sides flip between busy-waiting and sleeping every few frames
 * (at different counts), so that sleeps begin right after the flip, while the
 * other side may still be publishing or releasing without a fence. A wake-up
 * lost there is a stall like any other.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <framering.h>
#include <testhooks.h>

#include "helpers.h"

TestSuite(wake_stress, .fini = frt_cleanup, .timeout = 280);

#define STALL_MS 10000 /* a wait this long means a wake-up was lost */

struct side {
	const char *name;
	uint32_t mode;
	uint64_t count;
	_Atomic uint64_t done;
	_Atomic int error; /* the failing call's return code, 0 = none */
	unsigned switch_every; /* 0: always sleep (spin 0); else flip busy/sleep every n frames */
};

/* Spin for frame @i of a side that flips every @every frames (0: never),
 * starting at busy-waiting when @busy_first. */
static long spin_for(uint64_t i, unsigned every, bool busy_first)
{
	if (every == 0)
		return 0;
	bool busy = ((i / every) % 2 == 0) == busy_first;
	return busy ? -1 : 0;
}

static int consumer_main(void *arg)
{
	struct side *s = arg;
	fr_test_set_reap_slice(0);
	struct fr_ring *r;
	FRT_CHILD_OK(fr_open(s->name, FR_CONSUMER, &r));
	FRT_CHILD_OK(fr_set_spin(r, 0));
	for (uint64_t i = 0; i < s->count; i++) {
		struct fr_frame f;
		if (s->switch_every && i % s->switch_every == 0)
			FRT_CHILD_OK(fr_set_spin(r, spin_for(i, s->switch_every, true)));
		int rc = fr_acquire(r, &f, STALL_MS);
		if (rc != 0) {
			atomic_store(&s->error, rc);
			frt_child_fail(__FILE__, __LINE__, "acquire %lu of %lu: %d (%s)",
				       (unsigned long)i, (unsigned long)s->count, rc,
				       fr_strerror(rc));
		}
		uint64_t v;
		memcpy(&v, f.data, sizeof v);
		FRT_CHILD_CHECKF(v == i, "frame %lu carries %lu", (unsigned long)i,
				 (unsigned long)v);
		FRT_CHILD_OK(fr_release(r, &f));
		atomic_store_explicit(&s->done, i + 1, memory_order_relaxed);
	}
	fr_close(r);
	return 0;
}

static void run(uint32_t mode, uint64_t count, unsigned switch_every)
{
	char name[FRT_NAME_SIZE];
	/* The producer flips at other counts than the consumer, so every
	 * combination of busy and sleeping sides comes up. */
	unsigned prod_every = switch_every ? switch_every + 2 : 0;
	struct fr_config cfg = {.mode = mode, .slots = mode == FR_BROADCAST ? 4 : 2,
				.frame_bytes = 64};
	struct fr_ring *p = frt_create_ok(frt_name(name, sizeof name, "wake"), &cfg);
	FRT_ASSERT_OK(fr_set_spin(p, 0));
	struct side *s = frt_shared_alloc(sizeof *s);
	cr_assert(s);
	s->name = name;
	s->mode = mode;
	s->count = count;
	s->switch_every = switch_every;
	pid_t pid = frt_spawn_ok(consumer_main, s);
	if (mode == FR_BROADCAST) { /* a reliable reader must be there before frame 0 */
		struct fr_info info;
		for (int i = 0; i < FRT_BOUND_S * 100; i++) {
			FRT_ASSERT_OK(fr_info(p, &info));
			if (info.live_peers == 2)
				break;
			frt_sleep_ms(10);
		}
	}
	fr_test_set_reap_slice(0);
	for (uint64_t i = 0; i < count; i++) {
		struct fr_frame f;
		if (prod_every && i % prod_every == 0)
			FRT_ASSERT_OK(fr_set_spin(p, spin_for(i, prod_every, false)));
		int rc = fr_claim(p, &f, STALL_MS);
		cr_assert_eq(rc, 0, "claim %lu of %lu: %d (%s): a lost wake-up (consumer at %lu)",
			     (unsigned long)i, (unsigned long)count, rc, fr_strerror(rc),
			     (unsigned long)atomic_load(&s->done));
		memcpy(f.data, &i, sizeof i);
		f.bytes = sizeof i;
		FRT_ASSERT_OK(fr_publish(p, &f));
	}
	fr_test_set_reap_slice(1);
	FRT_ASSERT_CHILD(pid);
	cr_assert_eq(atomic_load(&s->done), count);
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(p, &info));
	cr_log_info("mode %u, %s: %lu hand-offs, producer waited %lu times, consumer %lu, no stall",
		    mode, switch_every ? "flipping busy/sleep" : "always sleeping", (unsigned long)count,
		    (unsigned long)info.producer_waits, (unsigned long)info.consumer_waits);
	fr_close(p);
	frt_shared_free(s, sizeof *s);
}

Test(wake_stress, spsc_million_handoffs)
{
	run(FR_SPSC, 1000000, 0);
}

Test(wake_stress, spsc_flipping_busy_and_sleeping)
{
	run(FR_SPSC, 500000, 5);
}

Test(wake_stress, mpmc)
{
	run(FR_MPMC, 200000, 0);
}

Test(wake_stress, mpmc_flipping_busy_and_sleeping)
{
	run(FR_MPMC, 200000, 5);
}

Test(wake_stress, broadcast)
{
	run(FR_BROADCAST, 200000, 0);
}

/* Every waker fences (FRAMERING_MEMBARRIER=0, both processes): the same flips. */
Test(wake_stress, spsc_flipping_fenced)
{
	setenv("FRAMERING_MEMBARRIER", "0", 1);
	run(FR_SPSC, 200000, 5);
}

Test(wake_stress, broadcast_flipping_busy_and_sleeping)
{
	run(FR_BROADCAST, 200000, 5);
}
