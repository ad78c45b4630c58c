/*
 * Hot depth: how many large frames a flat-out producer keeps in flight.
 *
 * With large frames (FR_HOT_SLOT_BYTES and up) every mode writes into the
 * slot released last, still in the cache. That works while the consumers keep
 * up. A producer that writes as fast as it can (a recorder, an offline
 * pipeline) and consumers about as fast fall behind now and then; then the
 * slack fills, the slot that comes free is the oldest, and every slot cycles
 * through the cache (measured at 1920x1080x3: 4 x 6 MB slots ran at the speed
 * of a 4-buffer floor, about three quarters of a 2-buffer one). Such a
 * producer is held back while the consumers are behind, for at most
 * FR_HOT_DEPTH_WAIT_NS per claim (its sleeps end with the hold: ring.c), so
 * that it writes the slot just read: the consumers set the pace either way,
 * and their reads stay in the cache.
 *
 * Only a flat-out producer: one that spends less than an eighth of a frame's
 * time outside claim and publish. A camera waits for its sensor between
 * frames and is never held back, nor is a claim with timeout 0. And only one
 * that writes its frames, taking FR_HOT_DEPTH_MIN_FILL_NS or more between
 * claim and publish: a producer that fills in a few bytes of a large slot
 * (the 1080p hand-off, 40 bytes a frame) has no footprint to keep.
 *
 * Both are sampled on one frame in FRI_HOT_SAMPLE_EVERY (three clock reads):
 * a clock read at every claim and publish cost the 1080p hand-off a fifth of
 * its frames/s (about 50 ns on a 170 ns frame). The modes look at how far
 * behind the consumers are only for a producer that may be held back: that
 * reads lines the consumers write, which costs a hand-off its pipelining.
 */
#include <errno.h>

#include "internal.h"

void fri_hot_sample_flat_out(struct fr_ring *r)
{
	/* The claim after a sampled frame: how long we were away. */
	uint64_t outside = fri_clock_now(&r->clock) - r->hot_published_ns;
	uint64_t filling = r->hot_published_ns - r->hot_claimed_ns;
	r->hot_light = filling < FR_HOT_DEPTH_MIN_FILL_NS;
	r->hot_flat_out = outside <= filling / 8 && !r->hot_light;
	r->hot_sample = FRI_SAMPLE_NONE;
}

int fri_hot_depth_wait(struct fr_ring *r, bool behind)
{
	r->depth_held = false;
	if (!behind)
		return 0;
	uint64_t now = fri_clock_now(&r->clock);
	if (r->depth_wait_since == 0)
		r->depth_wait_since = now;
	r->depth_held = now - r->depth_wait_since < FR_HOT_DEPTH_WAIT_NS;
	return r->depth_held ? -EAGAIN : 0;
}

int64_t fri_hot_hold_left(struct fr_ring *r)
{
	if (!r->depth_held)
		return -1;
	uint64_t in = fri_clock_now(&r->clock) - r->depth_wait_since;
	return in < FR_HOT_DEPTH_WAIT_NS ? (int64_t)(FR_HOT_DEPTH_WAIT_NS - in) : 0;
}

void fri_hot_sample_claim(struct fr_ring *r)
{
	r->hot_claimed_ns = fri_clock_now(&r->clock);
	r->hot_sample = FRI_SAMPLE_CLAIMED;
}

void fri_hot_sample_publish(struct fr_ring *r)
{
	r->hot_published_ns = fri_clock_now(&r->clock);
	r->hot_sample = FRI_SAMPLE_PUBLISHED;
}
