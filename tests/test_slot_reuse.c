/*
 * SPSC slot reuse for large frames: positions and payload slots are
 * decoupled, so the producer reuses recently released (cache-hot) slots, and
 * a restarted producer rebuilds the free set from the ring without touching
 * frames in flight.
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

/* How many distinct slots a run of frames went through. */
static unsigned distinct(void *const *ptrs, unsigned n)
{
	unsigned d = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned j = 0;
		while (j < i && ptrs[j] != ptrs[i])
			j++;
		d += j == i;
	}
	return d;
}

Test(slot_reuse, large_frames_cycle_through_few_slots)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make(name, sizeof(name), 1 << 20);
	struct fr_ring *c;
	cr_assert_eq(fr_open(name, FR_CONSUMER, &c), 0);
	void *used[40];

	/* One frame in flight: the producer learns of a release at its next
	 * publish, so frames alternate between two slots, not all four. */
	for (unsigned i = 0; i < 20; i++) {
		used[i] = publish_byte(p, (unsigned char)i);
		consume_byte(c, (unsigned char)i);
	}
	cr_assert_eq(distinct(used, 20), 2, "one frame in flight used %u of 4 slots",
		     distinct(used, 20));

	/* Two in flight: three slots at most. */
	for (unsigned i = 0; i < 40; i += 2) {
		used[i] = publish_byte(p, (unsigned char)(100 + i));
		used[i + 1] = publish_byte(p, (unsigned char)(101 + i));
		consume_byte(c, (unsigned char)(100 + i));
		consume_byte(c, (unsigned char)(101 + i));
	}
	cr_assert_leq(distinct(used, 40), 3, "two frames in flight used %u of 4 slots",
		      distinct(used, 40));
	fr_close(c);
	fr_close(p);
}

Test(slot_reuse, a_restarted_producer_keeps_frames_in_flight)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make(name, sizeof(name), 1 << 20); /* large: slots from the free set */
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
