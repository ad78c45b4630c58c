/*
 * The frame clock (lib/clock.c): timestamps read through the TSC must stay
 * CLOCK_MONOTONIC as far as anyone can tell. Each read is bracketed by two
 * clock_gettime calls: it may be early by a little (the anchor's read time
 * and the 30 ppm cut), never later than the second call, and never behind
 * the previous read. No bound here is a speed: the bracket widens, never
 * narrows, when the machine is slow.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"
#include "internal.h"

TestSuite(clock, .fini = frt_cleanup, .timeout = 120);

#if defined(__x86_64__)
#define FRT_X86_64 1
#else
#define FRT_X86_64 0
#endif

/* Early by at most this: FRI_CLOCK_READ_MAX_NS + 30 ppm of an anchor span, with room. */
#define EARLY_MAX_NS 1000u

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int clocksource_is_tsc(void)
{
	FILE *fp = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	char name[32] = "";
	if (!fp)
		return 0;
	int is = fgets(name, sizeof name, fp) && strcmp(name, "tsc\n") == 0;
	fclose(fp);
	return is;
}

struct bracket_stats {
	uint64_t reads, extrapolated;
};

/* @n reads of @c, each between two clock_gettime calls; a pause of
 * @pause_us every 1000 reads, so that anchors come and go. */
static struct bracket_stats bracket_reads(struct fri_clock *c, unsigned n, unsigned pause_us)
{
	struct bracket_stats st = {0, 0};
	uint64_t prev = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t before = mono_ns();
		uint64_t base = c->base_ns;
		uint64_t v = fri_clock_now(c);
		uint64_t after = mono_ns();
		cr_assert_leq(v, after, "read %u: %lu is %lu ns after the clock read that followed it", i,
			      (unsigned long)v, (unsigned long)(v - after));
		cr_assert_geq(v + EARLY_MAX_NS, before, "read %u: %lu ns early", i,
			      (unsigned long)(before - v));
		cr_assert_geq(v, prev, "read %u went back by %lu ns", i, (unsigned long)(prev - v));
		prev = v;
		st.reads++;
		st.extrapolated += c->base_ns == base && c->mult != 0;
		if (pause_us && i % 1000 == 999)
			usleep(pause_us);
	}
	return st;
}

Test(clock, tsc_only_where_the_kernel_keeps_time_with_it)
{
	cr_assert_eq(fri_clock_uses_tsc(), clocksource_is_tsc() && FRT_X86_64,
		     "fri_clock_uses_tsc() %d, clocksource tsc %d", fri_clock_uses_tsc(),
		     clocksource_is_tsc());
}

Test(clock, off_by_environment)
{
	setenv("FRAMERING_TSC_CLOCK", "0", 1);
	cr_assert_not(fri_clock_uses_tsc());
	struct fri_clock c;
	fri_clock_init(&c);
	struct bracket_stats st = bracket_reads(&c, 20000, 0);
	cr_assert_eq(st.extrapolated, 0);
	cr_assert_eq(c.mult, 0, "a clock that is off calibrated");
}

/* Half a second of reads across anchors: inside the bracket, monotonic, and
 * (where the TSC is used) mostly extrapolated, which is the point. */
Test(clock, follows_clock_monotonic)
{
	struct fri_clock c;
	fri_clock_init(&c);
	struct bracket_stats st = bracket_reads(&c, 200000, 2000);
	if (fri_clock_uses_tsc()) {
		cr_assert_neq(c.mult, 0, "never calibrated");
		cr_assert_gt(st.extrapolated, st.reads / 2, "%lu of %lu reads extrapolated",
			     (unsigned long)st.extrapolated, (unsigned long)st.reads);
	}
}

/* A clock whose anchor went wrong (as after a suspend, or a VM moved to a
 * host with another TSC): the next anchor calibrates again and the reads are
 * back inside the bracket; a TSC behind the anchor re-anchors at once. */
Test(clock, recalibrates_when_the_tsc_and_the_clock_part)
{
	if (!fri_clock_uses_tsc())
		cr_skip_test("the clocksource is not the TSC: every read is clock_gettime");
	struct fri_clock c;
	fri_clock_init(&c);
	bracket_reads(&c, 50000, 1000);
	cr_assert_neq(c.mult, 0);

	/* The anchor now says a second later; a read before the next anchor
	 * trusts it (that is what an anchor is), and gives a second ahead. */
	c.base_ns += 1000000000u;
	(void)fri_clock_now(&c);
	usleep(2 * FRI_CLOCK_ANCHOR_NS / 1000); /* the next read anchors */
	uint64_t before = mono_ns();
	uint64_t v = fri_clock_now(&c);
	uint64_t after = mono_ns();
	cr_assert(v >= before - EARLY_MAX_NS && v <= after,
		  "after a slip of 1 s: %ld ns from the bracket's start (the clock must give the real time, even below the last value)",
		  (long)((int64_t)v - (int64_t)before));
	cr_assert_eq(c.mult, 0, "a slip of 1 s kept the old calibration");
	bracket_reads(&c, 50000, 1000);

	c.base_tsc += UINT64_C(1) << 40; /* an anchor ahead of the TSC */
	before = mono_ns();
	v = fri_clock_now(&c);
	after = mono_ns();
	cr_assert(v >= before - EARLY_MAX_NS && v <= after,
		  "with the TSC behind the anchor: %ld ns from the bracket's start",
		  (long)((int64_t)v - (int64_t)before));
}

/* ---- across processes: a producer's stamps against the consumer's clock ---- */

#define XFRAMES 20000u

struct stamped {
	uint64_t before; /* the producer's CLOCK_MONOTONIC before fr_claim */
};

static int stamping_producer(void *arg)
{
	const char *name = arg;
	struct fr_ring *r;
	FRT_CHILD_OK(fr_open(name, FR_PRODUCER, &r));
	for (unsigned i = 0; i < XFRAMES; i++) {
		struct fr_frame f;
		uint64_t before = mono_ns();
		FRT_CHILD_OK(fr_claim(r, &f, FRT_BOUND_S * 1000));
		((struct stamped *)f.data)->before = before;
		f.bytes = sizeof(struct stamped);
		FRT_CHILD_OK(fr_publish(r, &f));
		if (i % 1000 == 999)
			usleep(2000); /* across anchors */
	}
	fr_close(r);
	return 0;
}

/* Each frame's timestamp lies between the producer's clock before its claim
 * (less EARLY_MAX_NS) and the consumer's clock after the acquire, and no
 * frame's is behind its predecessor's. */
Test(clock, stamps_between_producer_and_consumer_clocks)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 8, .frame_bytes = 4096};
	struct fr_ring *cons;
	fr_close(frt_create_ok(frt_name(name, sizeof name, "clock"), &cfg));
	FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &cons));
	pid_t pid = frt_spawn_ok(stamping_producer, name);
	uint64_t prev = 0;
	for (unsigned i = 0; i < XFRAMES; i++) {
		struct fr_frame f;
		FRT_ASSERT_OK(fr_acquire(cons, &f, FRT_BOUND_S * 1000));
		uint64_t after = mono_ns();
		uint64_t before = ((const struct stamped *)f.data)->before;
		cr_assert_leq(f.timestamp_ns, after, "frame %u: stamped %lu ns in the consumer's future",
			      i, (unsigned long)(f.timestamp_ns - after));
		cr_assert_geq(f.timestamp_ns + EARLY_MAX_NS, before,
			      "frame %u: stamped %lu ns before its claim", i,
			      (unsigned long)(before - f.timestamp_ns));
		cr_assert_geq(f.timestamp_ns, prev, "frame %u: stamp went back", i);
		prev = f.timestamp_ns;
		FRT_ASSERT_OK(fr_release(cons, &f));
	}
	FRT_ASSERT_CHILD(pid);
	fr_close(cons);
}
