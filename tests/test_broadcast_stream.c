/*
 * Broadcast stream lifecycle: end of stream reaches every consumer once it
 * drained the ring, a producer that attaches again continues the seqs and
 * clears end of stream, a second live producer is refused, and a creator
 * that closes without publishing does not end the stream.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include <framering.h>

#include "test_broadcast_util.h"

TestSuite(broadcast_stream, .fini = frt_cleanup, .timeout = 120);

/* Publish frame seq at once (bct_byte pattern). */
static void publish(struct fr_ring *prod, uint64_t seq)
{
	bct_publish_byte(prod, seq, 0);
}

/* The next frame at once: seq, its bytes intact. */
static void acquire_expect(struct fr_ring *cons, uint64_t seq)
{
	bct_acquire_expect(cons, 0, seq);
}

static void expect_rc(struct fr_ring *cons, int want)
{
	struct fr_frame f;
	int rc = fr_acquire(cons, &f, 0);
	cr_assert_eq(rc, want, "fr_acquire: %d (%s), expected %d (%s)", rc, fr_strerror(rc), want,
		     fr_strerror(want));
}

Test(broadcast_stream, end_of_stream_after_drain_and_a_new_producer_continues)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_BROADCAST, .slots = 8, .frame_bytes = 4096 };
	struct fr_ring *prod = NULL, *rel = NULL, *lat = NULL, *second = NULL;
	cr_assert_eq(fr_create(frt_name(name, sizeof name, "eos"), &cfg, &prod), 0);
	cr_assert_eq(fr_open(name, FR_CONSUMER, &rel), 0);
	cr_assert_eq(fr_open(name, FR_CONSUMER | FR_LATEST, &lat), 0);
	cr_assert_eq(fr_open(name, FR_PRODUCER, &second), -EBUSY, "a second live producer");
	for (uint64_t s = 0; s < 3; s++)
		publish(prod, s);
	fr_close(prod);

	/* Both consumers drain what was published, then see the end. */
	for (uint64_t s = 0; s < 3; s++)
		acquire_expect(rel, s);
	expect_rc(rel, -EPIPE);
	acquire_expect(lat, 0);
	acquire_expect(lat, 1);
	acquire_expect(lat, 2);
	expect_rc(lat, -EPIPE);
	struct fr_info info;
	cr_assert_eq(fr_info(rel, &info), 0);
	cr_expect_eq(info.end_of_stream, 1);

	/* A camera restarted by hand: the seqs go on, the stream is live again. */
	cr_assert_eq(fr_open(name, FR_PRODUCER, &prod), 0);
	cr_assert_eq(fr_info(rel, &info), 0);
	cr_expect_eq(info.end_of_stream, 0);
	expect_rc(rel, -EAGAIN);
	publish(prod, 3);
	publish(prod, 4);
	acquire_expect(rel, 3);
	acquire_expect(rel, 4);
	acquire_expect(lat, 3);
	acquire_expect(lat, 4);
	fr_close(prod);
	expect_rc(rel, -EPIPE);
	expect_rc(lat, -EPIPE);
	fr_close(lat);
	fr_close(rel);
	cr_assert_eq(fr_unlink(name), 0);
}

Test(broadcast_stream, creator_closing_without_publishing_does_not_end_the_stream)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_BROADCAST, .slots = 4, .frame_bytes = 4096 };
	struct fr_ring *creator = NULL, *cons = NULL, *prod = NULL;
	cr_assert_eq(fr_create(frt_name(name, sizeof name, "create"), &cfg, &creator), 0);
	fr_close(creator);
	cr_assert_eq(fr_open(name, FR_CONSUMER, &cons), 0);
	expect_rc(cons, -EAGAIN);
	cr_assert_eq(fr_open(name, FR_PRODUCER, &prod), 0);
	publish(prod, 0);
	acquire_expect(cons, 0);
	fr_close(prod);
	expect_rc(cons, -EPIPE);
	fr_close(cons);
	cr_assert_eq(fr_unlink(name), 0);
}
