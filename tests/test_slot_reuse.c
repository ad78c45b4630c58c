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
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 4, .format = FR_FORMAT_RAW,
				.frame_bytes = frame_bytes};
	return frt_create_ok(frt_name(name, size, "reuse"), &cfg);
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

Test(slot_reuse, large_frames_cycle_through_few_slots)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make(name, sizeof(name), 1 << 20);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	void *used[40];

	/* One frame in flight: the producer learns of a release at its next
	 * publish, so frames alternate between two slots, not all four. */
	for (unsigned i = 0; i < 20; i++) {
		used[i] = publish_byte(p, (unsigned char)i);
		consume_byte(c, (unsigned char)i);
	}
	cr_assert_eq(frt_distinct(used, 20), 2, "one frame in flight used %u of 4 slots",
		     frt_distinct(used, 20));
	cr_assert_eq(frt_repeats(used, 20), 0, "%u frames rewrote the slot just read",
		     frt_repeats(used, 20));

	/* Two in flight: three slots at most. */
	for (unsigned i = 0; i < 40; i += 2) {
		used[i] = publish_byte(p, (unsigned char)(100 + i));
		used[i + 1] = publish_byte(p, (unsigned char)(101 + i));
		consume_byte(c, (unsigned char)(100 + i));
		consume_byte(c, (unsigned char)(101 + i));
	}
	cr_assert_leq(frt_distinct(used, 40), 3, "two frames in flight used %u of 4 slots",
		      frt_distinct(used, 40));
	fr_close(c);
	fr_close(p);
}

Test(slot_reuse, a_restarted_producer_keeps_frames_in_flight)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make(name, sizeof(name), 1 << 20); /* large: slots from the free set */
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
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

/* ---- broadcast ---------------------------------------------------------------- */

static struct fr_ring *make_bc(char *name, size_t size, uint32_t slots, uint64_t frame_bytes)
{
	struct fr_config cfg = {.mode = FR_BROADCAST, .slots = slots, .format = FR_FORMAT_RAW,
				.frame_bytes = frame_bytes};
	return frt_create_ok(frt_name(name, size, "bcreuse"), &cfg);
}

Test(slot_reuse, broadcast_large_frames_keep_two_slots_in_turn)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make_bc(name, sizeof(name), 8, 1 << 20);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	void *used[40];
	/* One frame in flight (a camera's pace): two slots take turns, so that
	 * no frame is written where the reader has just read (claim_recent). */
	for (unsigned i = 0; i < 20; i++) {
		used[i] = publish_byte(p, (unsigned char)i);
		consume_byte(c, (unsigned char)i);
	}
	cr_log_info("broadcast, one frame in flight: %u of 8 slots", frt_distinct(used, 20));
	cr_assert_eq(frt_distinct(used, 20), 2, "one frame in flight used %u of 8 slots",
		     frt_distinct(used, 20));
	cr_assert_eq(frt_repeats(used, 20), 0, "%u frames rewrote the slot just read",
		     frt_repeats(used, 20));
	for (unsigned i = 0; i < 40; i += 2) { /* two in flight */
		used[i] = publish_byte(p, (unsigned char)(100 + i));
		used[i + 1] = publish_byte(p, (unsigned char)(101 + i));
		consume_byte(c, (unsigned char)(100 + i));
		consume_byte(c, (unsigned char)(101 + i));
	}
	cr_log_info("broadcast, two frames in flight: %u of 8 slots", frt_distinct(used, 40));
	cr_assert_leq(frt_distinct(used, 40), 3, "two frames in flight used %u of 8 slots",
		      frt_distinct(used, 40));
	fr_close(c);
	fr_close(p);
}

Test(slot_reuse, broadcast_small_frames_keep_round_robin)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make_bc(name, sizeof(name), 8, 4096);
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	void *used[16];
	for (unsigned i = 0; i < 16; i++) {
		used[i] = publish_byte(p, (unsigned char)i);
		consume_byte(c, (unsigned char)i);
	}
	cr_assert_eq(frt_distinct(used, 16), 8, "small slots: %u of 8 used", frt_distinct(used, 16));
	fr_close(c);
	fr_close(p);
}

/* A frame a reliable reader has not read yet is never the one reused, and a
 * frame a latest reader pins is left alone: readers check every byte. */
Test(slot_reuse, broadcast_large_frames_never_overwrite_what_readers_need)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make_bc(name, sizeof(name), 4, 1 << 20);
	struct fr_ring *slow, *latest;
	cr_assert_eq(fr_open(name, FR_CONSUMER, &slow), 0);
	cr_assert_eq(fr_open(name, FR_CONSUMER | FR_LATEST, &latest), 0);
	struct fr_frame pinned;
	publish_byte(p, 1);
	cr_assert_eq(fr_acquire(latest, &pinned, 0), 0); /* the latest reader pins seq 0 */
	publish_byte(p, 2);
	publish_byte(p, 3);
	/* The slow reliable reader has read nothing: seq 0..2 are needed; with seq 0
	 * also pinned, one slot of four is free and then the camera must wait. */
	publish_byte(p, 4);
	struct fr_frame f;
	cr_assert_eq(fr_claim(p, &f, 0), -EAGAIN, "a frame the reliable reader needs was taken");
	const unsigned char *px = pinned.data;
	cr_assert(px[0] == 1 && px[pinned.bytes - 1] == 1, "the pinned frame was overwritten");
	for (unsigned char v = 1; v <= 4; v++)
		consume_byte(slow, v);
	cr_assert_eq(fr_release(latest, &pinned), 0);
	fr_close(latest);
	fr_close(slow);
	fr_close(p);
}

#define BC_STREAM_FRAMES 3000
#define BC_READERS 2

/* Processes: a camera and two reliable readers verifying every byte of
 * 256-512 KiB frames while the camera reuses hot slots. */
Test(slot_reuse, broadcast_large_frames_intact_across_processes, .timeout = 240)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = make_bc(name, sizeof(name), 8, 512 << 10);
	struct frt_stream *s = frt_shared_alloc(sizeof(*s) * (1 + BC_READERS));
	cr_assert(s);
	pid_t pids[1 + BC_READERS];
	fr_close(p); /* made ahead of its camera: published nothing, ends nothing */
	for (int i = 0; i < BC_READERS; i++) {
		s[1 + i] = (struct frt_stream){.name = name, .min_len = 256 << 10,
					       .max_len = 512 << 10, .in_order = 1,
					       .wait_ms = 20000};
		pids[1 + i] = frt_spawn(frt_consume_main, &s[1 + i]);
	}
	/* Reliable readers see every frame from the first on: start the camera
	 * once both are attached (each child opens its own handle). */
	struct fr_info info = {0};
	for (int t = 0; t < FRT_BOUND_S * 100 && info.live_peers < BC_READERS; t++) {
		cr_assert_eq(fr_stat(name, &info), 0);
		frt_sleep_ms(10);
	}
	cr_assert_eq(info.live_peers, BC_READERS, "the readers did not attach");
	s[0] = (struct frt_stream){.name = name, .count = BC_STREAM_FRAMES, .min_len = 256 << 10,
				   .max_len = 512 << 10, .in_order = 1, .wait_ms = 20000};
	pids[0] = frt_spawn(frt_produce_main, &s[0]);
	cr_assert_eq(frt_wait_all(pids, 1 + BC_READERS, FRT_BOUND_S, NULL), 0);
	cr_assert_eq(s[0].frames, BC_STREAM_FRAMES);
	for (int i = 1; i <= BC_READERS; i++)
		cr_assert_eq(s[i].frames, BC_STREAM_FRAMES, "reader %d got %lu frames", i,
			     (unsigned long)s[i].frames);
	frt_shared_free(s, sizeof(*s) * (1 + BC_READERS));
}
