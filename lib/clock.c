/*
 * The frame clock: the CLOCK_MONOTONIC value a publish stamps on a frame,
 * read through the CPU's time-stamp counter where the kernel keeps time with
 * it too.
 *
 * clock_gettime costs ~23 ns on the VM this was measured on, and a hand-off
 * pays it on its latency path, once per publish; a bare rdtsc costs ~10 ns.
 * Where the kernel's clocksource is "tsc", CLOCK_MONOTONIC is itself the TSC
 * scaled, so a handle can extrapolate it: it reads the real clock now and
 * then (an anchor, at most FRI_CLOCK_ANCHOR_NS apart), measures the TSC's
 * rate between anchors at least FRI_CLOCK_CALIB_NS apart, and in between
 * returns anchor + elapsed ticks x rate.
 *
 * The promises, which tests/test_clock.c checks:
 *  - never late: a value is at most the real clock at the moment of the read.
 *    The anchor's clock value is taken before its TSC value, and the
 *    extrapolated part is cut by 1/32768 (30 ppm), more than the rate's
 *    measurement error (~50 ns over 10 ms, 5 ppm) plus the kernel's usual
 *    frequency corrections. A consumer that reads CLOCK_MONOTONIC after it
 *    acquired a frame never sees a timestamp in its future;
 *  - early by little: by the anchor's own read time (retried when the read
 *    was interrupted) plus 30 ppm of at most FRI_CLOCK_ANCHOR_NS, well under
 *    a microsecond;
 *  - monotonic per handle, and comparable across processes, since every
 *    handle follows the same system clock;
 *  - nothing assumed elsewhere: without the tsc clocksource, off x86-64, with
 *    FRAMERING_TSC_CLOCK=0, or until a handle has calibrated (its first
 *    FRI_CLOCK_CALIB_NS of stamps), every stamp is a clock_gettime. An anchor
 *    that finds the extrapolation off by more than FRI_CLOCK_SLIP_NS (a
 *    suspend, a migrated VM) starts the calibration again from the real clock.
 * A handle is used by one thread at a time, so its clock needs no atomics.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__x86_64__)
#include <x86intrin.h>
__extension__ typedef unsigned __int128 u128; /* x86-64 GCC and Clang have it */
#endif

static pthread_once_t tsc_once = PTHREAD_ONCE_INIT;
static bool tsc_usable;

static void tsc_probe(void)
{
#if defined(__x86_64__)
	const char *env = getenv("FRAMERING_TSC_CLOCK");
	if (env && strcmp(env, "0") == 0)
		return;
	FILE *fp = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
	if (!fp)
		return;
	char name[32] = "";
	if (fgets(name, sizeof name, fp))
		tsc_usable = strcmp(name, "tsc\n") == 0;
	fclose(fp);
#endif
}

bool fri_clock_uses_tsc(void)
{
	pthread_once(&tsc_once, tsc_probe);
	return tsc_usable;
}

#if defined(__x86_64__)
void fri_clock_init(struct fri_clock *c)
{
	memset(c, 0, sizeof(*c));
	c->tsc = fri_clock_uses_tsc(); /* once here, not at every publish */
}

static uint64_t read_tsc(void)
{
	return __rdtsc();
}

/* Nanoseconds in @ticks at @mult (ns per tick, 32.32 fixed point). */
static uint64_t ticks_ns(uint64_t ticks, uint64_t mult)
{
	return (uint64_t)(((u128)ticks * mult) >> 32);
}

/* The real clock, and a new anchor at it when the read was not interrupted. */
static uint64_t anchor(struct fri_clock *c)
{
	uint64_t t0, ns, t1;
	for (int tries = 0;; tries++) {
		t0 = read_tsc();
		ns = fri_now_ns();
		t1 = read_tsc();
		/* A read that took longer than FRI_CLOCK_READ_MAX_NS was
		 * interrupted: its value could be that much before t1. Before
		 * calibration the bound in ticks is unknown; any read goes. */
		if (c->mult == 0 || ticks_ns(t1 - t0, c->mult) <= FRI_CLOCK_READ_MAX_NS)
			break;
		if (tries == 3)
			return ns; /* no anchor this time: the next read tries again */
	}
	if (c->mult) {
		uint64_t pred = t1 < c->base_tsc ? 0
						 : c->base_ns + ticks_ns(t1 - c->base_tsc, c->mult);
		uint64_t off = pred > ns ? pred - ns : ns - pred;
		if (pred == 0 || off > FRI_CLOCK_SLIP_NS) {
			/* The TSC and the clock parted (suspend, migration): calibrate again. */
			c->mult = 0;
			c->ref_tsc = 0;
		}
	}
	if (c->ref_tsc == 0 || t1 <= c->ref_tsc || ns <= c->ref_ns) {
		c->ref_tsc = t1;
		c->ref_ns = ns;
	} else if (ns - c->ref_ns >= FRI_CLOCK_CALIB_NS) {
		c->mult = (uint64_t)(((u128)(ns - c->ref_ns) << 32) / (t1 - c->ref_tsc));
		if (c->mult == 0) /* a TSC over 4 GHz x 2^32: not a clock */
			c->ref_tsc = 0;
		else if (ns - c->ref_ns >= FRI_CLOCK_REF_MAX_NS) {
			c->ref_tsc = t1; /* measure the next rate afresh: it follows NTP */
			c->ref_ns = ns;
		}
	}
	c->base_tsc = t1;
	c->base_ns = ns;
	if (ns < c->last_ns && c->last_ns - ns > FRI_CLOCK_SLIP_NS)
		c->last_ns = 0; /* after a reset: the real clock rules */
	return ns;
}

uint64_t fri_clock_now(struct fri_clock *c)
{
	if (!c->tsc)
		return fri_now_ns();
	uint64_t tsc = read_tsc(), ns, d = 0;
	/* A TSC behind the anchor (another CPU's, or a reset) re-anchors too. */
	if (c->mult == 0 || tsc < c->base_tsc ||
	    (d = ticks_ns(tsc - c->base_tsc, c->mult)) >= FRI_CLOCK_ANCHOR_NS)
		ns = anchor(c);
	else
		ns = c->base_ns + d - (d >> 15); /* never late: see above */
	if (ns < c->last_ns)
		ns = c->last_ns;
	c->last_ns = ns;
	return ns;
}
#else
void fri_clock_init(struct fri_clock *c)
{
	memset(c, 0, sizeof(*c));
}

uint64_t fri_clock_now(struct fri_clock *c)
{
	(void)c;
	return fri_now_ns();
}
#endif
