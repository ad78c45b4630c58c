/*
 * SPSC slot reuse: positions and payload slots are decoupled, so the producer
 * reuses the slot released most recently (cache-hot) and a restarted producer
 * rebuilds the free set from the ring without touching frames in flight.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "helpers.h"

TestSuite(slot_reuse, .fini = frt_cleanup);

static struct fr_ring *make(char *name, size_t size, uint64_t frame_bytes)
{
	frt_name(name, size, "reuse");
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 4, .format = FR_FORMAT_RAW,
				.frame_bytes = frame_bytes};
	struct fr_ring *r;
	cr_assert_eq(fr_create(name, &cfg, &r), 0);
	return r;
}

static void *publish_byte(struct fr_ring *p, unsigned char v)
{
	struct fr_frame f;
	cr_assert_eq(fr_claim(p, &f, 0), 0);
	memset(f.data, v, f.capacity);
	cr_assert_eq(fr_publish(p, &f), 0);
	return f.data;
}

static void *consume_byte(struct fr_ring *c, unsigned char v)
{
	struct fr_frame f;
	cr_assert_eq(fr_acquire(c, &f, 0), 0);
	const unsigned char *px = f.data;
	cr_assert(px[0] == v && px[f.bytes - 1] == v, "frame %llu holds %u, want %u",
		  (unsigned long long)f.seq, px[0], v);
	cr_assert_eq(fr_release(c, &f), 0);
	return f.data;
}

Test(slot_reuse, large_frames_reuse_the_slot_released_last)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make(name, sizeof(name), 1 << 20);
	struct fr_ring *c;
	cr_assert_eq(fr_open(name, FR_CONSUMER, &c), 0);

	/* One frame in flight at a time: always the same slot. */
	void *first = publish_byte(p, 1);
	consume_byte(c, 1);
	for (unsigned char v = 2; v < 20; v++) {
		cr_assert_eq(publish_byte(p, v), first, "frame %u went to a cold slot", v);
		consume_byte(c, v);
	}

	/* Two in flight: the next claim takes the one released last. */
	void *a = publish_byte(p, 30);
	void *b = publish_byte(p, 31);
	cr_assert_neq(a, b);
	consume_byte(c, 30);
	cr_assert_eq(publish_byte(p, 32), a, "the slot just released is the hottest");
	consume_byte(c, 31);
	consume_byte(c, 32);
	fr_close(c);
	fr_close(p);
}

Test(slot_reuse, a_restarted_producer_keeps_frames_in_flight)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make(name, sizeof(name), 4096);
	struct fr_ring *c;
	cr_assert_eq(fr_open(name, FR_CONSUMER, &c), 0);
	void *in_flight[2] = {publish_byte(p, 7), publish_byte(p, 8)};
	struct fr_frame claimed;
	cr_assert_eq(fr_claim(p, &claimed, 0), 0); /* a claim that dies with the producer */
	fr_close(p);

	cr_assert_eq(fr_open(name, FR_PRODUCER, &p), 0);
	void *next[2] = {publish_byte(p, 9), publish_byte(p, 10)};
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			cr_assert_neq(next[i], in_flight[j], "a frame in flight was overwritten");
	cr_assert_eq(fr_claim(p, &claimed, 0), -EAGAIN, "4 slots, 4 frames in flight: full");
	for (unsigned char v = 7; v <= 10; v++)
		consume_byte(c, v);
	fr_close(p);
	fr_close(c);
}
