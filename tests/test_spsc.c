/*
 * SPSC ring: timeouts, FIFO order and metadata, cancel, end of stream, and a
 * producer process and a consumer process moving 200,000 checked frames.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"

TestSuite(spsc, .fini = frt_cleanup, .timeout = 240);

static struct fr_ring *make_ring(char *name, const char *tag, uint32_t slots, uint64_t bytes)
{
	struct fr_config cfg = { .mode = FR_SPSC, .slots = slots, .frame_bytes = bytes };
	return frt_create_ok(frt_name(name, FRT_NAME_SIZE, tag), &cfg);
}

static void publish_id(struct fr_ring *prod, uint64_t id, uint64_t len)
{
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	cr_assert_geq(f.capacity, len);
	frt_fill(f.data, len, id);
	f.bytes = len;
	FRT_ASSERT_OK(fr_publish(prod, &f));
}

static void acquire_id(struct fr_ring *cons, uint64_t want_seq, uint64_t want_id)
{
	struct fr_frame f;
	uint64_t id, sum;
	FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
	cr_assert_eq(f.seq, want_seq, "seq %lu, want %lu", (unsigned long)f.seq,
		     (unsigned long)want_seq);
	cr_assert_eq(frt_verify(f.data, f.bytes, &id, &sum), 0, "frame seq %lu corrupt",
		     (unsigned long)f.seq);
	cr_assert_eq(id, want_id);
	FRT_ASSERT_OK(fr_release(cons, &f));
}

Test(spsc, timeouts_when_empty_and_full)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "to", 4, 256);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;

	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 20), -ETIMEDOUT);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 1), -ETIMEDOUT);

	for (uint64_t i = 0; i < 4; i++)
		publish_id(prod, i, 64);
	FRT_ASSERT_ERR(fr_claim(prod, &f, 0), -EAGAIN);
	FRT_ASSERT_ERR(fr_claim(prod, &f, 20), -ETIMEDOUT);
	FRT_ASSERT_ERR(fr_claim(prod, &f, 1), -ETIMEDOUT);

	struct fr_info info;
	FRT_ASSERT_OK(fr_info(prod, &info));
	cr_expect_geq(info.producer_waits, 1);
	cr_expect_geq(info.consumer_waits, 1);
	cr_expect_eq(info.fill, 4);
	cr_expect_eq(info.published, 4);

	/* One release makes exactly one slot free. */
	acquire_id(cons, 0, 0);
	publish_id(prod, 4, 64);
	FRT_ASSERT_ERR(fr_claim(prod, &f, 0), -EAGAIN);
	for (uint64_t i = 1; i <= 4; i++)
		acquire_id(cons, i, i);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);

	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* A held frame is not reused: the producer fills the other slots, then waits. */
Test(spsc, held_frame_blocks_its_slot)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "hold", 2, 128);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	publish_id(prod, 0, 100);
	publish_id(prod, 1, 100);

	struct fr_frame held, f;
	uint64_t id, sum;
	FRT_ASSERT_OK(fr_acquire(cons, &held, 0));
	cr_assert_eq(held.seq, 0);
	FRT_ASSERT_ERR(fr_claim(prod, &f, 0), -EAGAIN); /* slot 0 is held, slot 1 full */
	/*
	 * Acquiring and releasing the next frame while the first is still held (if
	 * the library allows two held frames at all) must not hand the held slot to
	 * the producer.
	 */
	struct fr_frame next;
	if (fr_acquire(cons, &next, 0) == 0) {
		cr_assert_eq(next.seq, 1);
		FRT_ASSERT_OK(fr_release(cons, &next));
	}
	for (int i = 0; i < 2; i++) {
		struct fr_frame g;
		if (fr_claim(prod, &g, 0) != 0)
			break;
		cr_assert_neq(g.data, NULL);
		memset(g.data, 0xee, (size_t)g.capacity);
		FRT_ASSERT_OK(fr_publish(prod, &g));
	}
	cr_assert_eq(frt_verify(held.data, held.bytes, &id, &sum), 0,
		     "the held frame was overwritten");
	cr_assert_eq(id, 0);
	FRT_ASSERT_OK(fr_release(cons, &held));
	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A consistent geometry that varies with i and fits 4096 bytes, for every format. */
static void set_geometry(struct fr_frame *f, uint64_t i)
{
	f->format = (uint32_t)(i % FR_FORMAT_COUNT);
	f->width = 2 * (uint32_t)(1 + i % 8);
	f->height = 2 * (uint32_t)(1 + i % 4);
	f->stride = (uint32_t)fr_format_min_stride(f->format, f->width) + 2 * (uint32_t)(i % 3);
}

Test(spsc, fifo_order_and_metadata)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "meta", 4, 4096);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);

	/* 1000 frames through 4 slots, in batches of 1..4, with all metadata varied. */
	uint64_t next_pub = 0, next_acq = 0;
	for (int round = 0; next_pub < 1000; round++) {
		int batch = 1 + round % 4;
		for (int b = 0; b < batch; b++, next_pub++) {
			struct fr_frame f;
			FRT_ASSERT_OK(fr_claim(prod, &f, 0));
			uint64_t len = frt_frame_len(next_pub, 24, 4096);
			frt_fill(f.data, len, next_pub);
			f.bytes = len;
			f.timestamp_ns = 1000 + next_pub;
			set_geometry(&f, next_pub);
			f.flags = FRT_ID_FLAGS(next_pub);
			FRT_ASSERT_OK(fr_publish(prod, &f));
			cr_assert_eq(f.seq, next_pub);
		}
		for (int b = 0; b < batch; b++, next_acq++) {
			struct fr_frame f;
			uint64_t id, sum;
			FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
			cr_assert_eq(f.seq, next_acq);
			cr_assert_eq(f.bytes, frt_frame_len(next_acq, 24, 4096));
			cr_assert_eq(frt_verify(f.data, f.bytes, &id, &sum), 0);
			cr_assert_eq(id, next_acq);
			cr_assert_eq(f.timestamp_ns, 1000 + next_acq);
			struct fr_frame want;
			set_geometry(&want, next_acq);
			cr_assert_eq(f.width, want.width);
			cr_assert_eq(f.height, want.height);
			cr_assert_eq(f.stride, want.stride);
			cr_assert_eq(f.format, want.format);
			cr_assert_eq(f.flags & FR_FRAME_USER_MASK, FRT_ID_FLAGS(next_acq));
			cr_assert_eq(f.flags & FR_FRAME_REDELIVERED, 0);
			FRT_ASSERT_OK(fr_release(cons, &f));
		}
	}

	/* Timestamp 0 means "now" at publish, CLOCK_MONOTONIC. */
	uint64_t before = now_ns();
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	f.timestamp_ns = 0;
	FRT_ASSERT_OK(fr_publish(prod, &f));
	uint64_t after = now_ns();
	FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
	cr_expect_geq(f.timestamp_ns, before);
	cr_expect_leq(f.timestamp_ns, after);
	cr_expect_eq(f.bytes, f.capacity, "default bytes: the full frame");
	FRT_ASSERT_OK(fr_release(cons, &f));

	struct fr_info info;
	FRT_ASSERT_OK(fr_info(cons, &info));
	cr_expect_eq(info.published, 1001);
	cr_expect_eq(info.consumed, 1001);
	cr_expect_eq(info.fill, 0);
	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(spsc, cancel_and_bad_publish)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "cancel", 4, 512);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;

	/* A cancelled frame is never delivered and takes no seq. */
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	memset(f.data, 0x11, 512);
	FRT_ASSERT_OK(fr_cancel(prod, &f));
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);
	for (int i = 0; i < 10; i++) { /* cancelling does not leak slots */
		FRT_ASSERT_OK(fr_claim(prod, &f, 0));
		FRT_ASSERT_OK(fr_cancel(prod, &f));
	}
	publish_id(prod, 7, 200);
	acquire_id(cons, 0, 7);

	/* More bytes than the slot holds is refused, and nothing is delivered. */
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	f.bytes = f.capacity + 1;
	FRT_ASSERT_ERR(fr_publish(prod, &f), -EINVAL);
	fr_cancel(prod, &f); /* the claim may or may not survive the refused publish */
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);
	publish_id(prod, 8, 300);
	acquire_id(cons, 1, 8);

	/* One frame per handle at a time; a frame is given back once. */
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	struct fr_frame extra;
	FRT_ASSERT_ERR(fr_claim(prod, &extra, 0), -EBUSY);
	frt_fill(f.data, 64, 9);
	f.bytes = 64;
	FRT_ASSERT_OK(fr_publish(prod, &f));
	FRT_ASSERT_ERR(fr_publish(prod, &f), -EINVAL);
	FRT_ASSERT_ERR(fr_cancel(prod, &f), -EINVAL);
	publish_id(prod, 10, 64);
	struct fr_frame g;
	FRT_ASSERT_OK(fr_acquire(cons, &g, 0));
	cr_assert_eq(g.seq, 2);
	FRT_ASSERT_ERR(fr_acquire(cons, &extra, 0), -EBUSY);
	FRT_ASSERT_OK(fr_release(cons, &g));
	FRT_ASSERT_ERR(fr_release(cons, &g), -EINVAL);
	acquire_id(cons, 3, 10); /* the second release did not skip a frame */
	FRT_ASSERT_ERR(fr_acquire(cons, &g, 0), -EAGAIN);
	FRT_ASSERT_ERR(fr_acquire(cons, &g, -2), -EINVAL);
	FRT_ASSERT_ERR(fr_claim(prod, &g, -2), -EINVAL);

	/* Role checks: a consumer cannot claim, a producer cannot acquire. */
	int rc = fr_claim(cons, &f, 0);
	cr_expect_lt(rc, 0, "fr_claim on a consumer handle returned %d", rc);
	rc = fr_acquire(prod, &f, 0);
	cr_expect_lt(rc, 0, "fr_acquire on a producer handle returned %d", rc);

	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(spsc, epipe_after_producer_closed_and_drained)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "eos", 8, 256);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;
	for (uint64_t i = 0; i < 3; i++)
		publish_id(prod, i, 100);
	fr_close(prod);

	/* The frames published before the close are still delivered... */
	for (uint64_t i = 0; i < 3; i++)
		acquire_id(cons, i, i);
	/* ...then the end, whatever the timeout. */
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EPIPE);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 50), -EPIPE);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, -1), -EPIPE);
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(cons, &info));
	cr_expect_eq(info.end_of_stream, 1);

	/* A producer that attaches again clears the end of stream. */
	prod = frt_open_ok(name, FR_PRODUCER);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);
	publish_id(prod, 3, 100);
	acquire_id(cons, 3, 3);
	fr_close(prod);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EPIPE);

	/* A consumer attaching after the end also drains, then gets -EPIPE. */
	fr_close(cons);
	cons = frt_open_ok(name, FR_CONSUMER);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, -1), -EPIPE);
	fr_close(cons);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(spsc, epipe_only_after_drain)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "drain", 4, 256);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;
	for (uint64_t i = 0; i < 4; i++)
		publish_id(prod, i, 64);
	FRT_ASSERT_OK(fr_acquire(cons, &f, 0)); /* held across the close */
	cr_assert_eq(f.seq, 0);
	fr_close(prod);
	FRT_ASSERT_OK(fr_release(cons, &f));
	for (uint64_t i = 1; i < 4; i++) {
		FRT_ASSERT_OK(fr_acquire(cons, &f, -1));
		cr_assert_eq(f.seq, i);
		FRT_ASSERT_OK(fr_release(cons, &f));
	}
	FRT_ASSERT_ERR(fr_acquire(cons, &f, -1), -EPIPE);
	fr_close(cons);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* Closing a handle that holds a frame gives it back: released (consumer), cancelled (producer). */
Test(spsc, close_gives_back_held_frames)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "closeheld", 2, 256);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;
	publish_id(prod, 0, 64);
	publish_id(prod, 1, 64);
	FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
	cr_assert_eq(f.seq, 0);
	fr_close(cons); /* holding seq 0: released, not redelivered */
	publish_id(prod, 2, 64); /* its slot is free again */
	cons = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame g;
	FRT_ASSERT_OK(fr_acquire(cons, &g, 0));
	cr_assert_eq(g.seq, 1);
	cr_assert_eq(g.flags & FR_FRAME_REDELIVERED, 0);
	FRT_ASSERT_OK(fr_release(cons, &g));

	/* A producer that closes with a claimed frame: nothing is delivered for it. */
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	memset(f.data, 0x5a, 64);
	fr_close(prod);
	acquire_id(cons, 2, 2);
	FRT_ASSERT_ERR(fr_acquire(cons, &g, 0), -EPIPE);
	prod = frt_open_ok(name, FR_PRODUCER);
	publish_id(prod, 3, 64);
	publish_id(prod, 4, 64);
	acquire_id(cons, 3, 3);
	acquire_id(cons, 4, 4);
	fr_close(prod);
	fr_close(cons);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* Creating and closing without publishing (a "create" command) does not end the stream. */
Test(spsc, create_only_close_is_not_end_of_stream)
{
	char name[FRT_NAME_SIZE];
	fr_close(make_ring(name, "createonly", 4, 256));
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 10), -ETIMEDOUT);
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(cons, &info));
	cr_expect_eq(info.end_of_stream, 0);
	struct fr_ring *prod = frt_open_ok(name, FR_PRODUCER);
	publish_id(prod, 42, 64);
	acquire_id(cons, 0, 42);
	fr_close(prod);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EPIPE);
	fr_close(cons);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- two processes ------------------------------------------------------- */

#define SPSC_FRAMES 200000u

static void run_two_processes(const char *tag, uint32_t slots, uint64_t frames, int set_spin,
			      long spin_ns)
{
	char name[FRT_NAME_SIZE];
	/* The creator only creates: producer and consumer attach in their own processes. */
	fr_close(make_ring(name, tag, slots, 4096));

	struct frt_stream *s = frt_shared_alloc(2 * sizeof *s);
	cr_assert_not_null(s);
	for (int i = 0; i < 2; i++) {
		s[i].name = name;
		s[i].first_id = 0;
		s[i].count = frames;
		s[i].min_len = 64;
		s[i].max_len = 4096;
		s[i].in_order = 1;
		s[i].set_spin = set_spin;
		s[i].spin_ns = spin_ns;
	}
	pid_t pids[2];
	pids[0] = frt_spawn(frt_consume_main, &s[0]);
	pids[1] = frt_spawn(frt_produce_main, &s[1]);
	cr_assert(pids[0] > 0 && pids[1] > 0);
	int st = frt_wait_all(pids, 2, FRT_BOUND_S, NULL);
	cr_assert_eq(st, 0, "children failed (%d): consumer \"%s\", producer \"%s\"", st,
		     s[0].error, s[1].error);
	cr_expect_eq(s[1].frames, frames);
	cr_expect_eq(s[0].frames, frames, "consumer got %lu of %lu frames",
		     (unsigned long)s[0].frames, (unsigned long)frames);
	cr_expect_eq(s[0].sum, s[1].sum, "payload checksums differ");

	struct fr_info info;
	FRT_ASSERT_OK(fr_stat(name, &info));
	cr_expect_eq(info.published, frames);
	cr_expect_eq(info.consumed, frames);
	cr_expect_eq(info.fill, 0);
	cr_expect_eq(info.end_of_stream, 1);
	cr_expect_eq(info.live_peers, 0);
	frt_shared_free(s, 2 * sizeof *s);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(spsc, two_processes_200k_frames)
{
	run_two_processes("mp", 8, SPSC_FRAMES, 0, 0);
}

/* Busy-waiting (spin -1): no futex at all, the spin path alone. */
Test(spsc, two_processes_busy_wait)
{
	run_two_processes("mpspin", 8, 5000, 1, -1);
}

/* The same with no spinning: every empty/full ring goes through the futex. */
Test(spsc, two_processes_futex_only)
{
	run_two_processes("mpfutex", 4, 30000, 1, 0);
}
