/*
 * MPMC with large frames: payload slots decoupled from ring positions, so a
 * producer writes into the payload released last (mpmc.c). Reuse, the forced
 * interleavings of the two steps that are not one CAS (a position won, its
 * payload not yet attached; a position given back, its payload not yet
 * freed), and a descriptor that names the wrong payload.
 *
 * Children stop themselves at a hook point (FR_TEST_STOP); the parent sees
 * them stopped, acts, then kills or resumes them. Children never assert.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <framering.h>
#include <testhooks.h>

#include "helpers.h"
#include "layout.h"

TestSuite(mpmc_hot, .fini = frt_cleanup, .timeout = 120);

#define SLOTS 4
#define FRAME_BYTES (1u << 20) /* large: payloads decoupled */
#define FRAME_LEN 4096         /* bytes each test frame carries (frt_fill pattern of its id) */
#define WAIT_MS 20000
#define HANG_S 20
/* A payload word, [pos:55 | state:3 | 0:6] (lib/mpmc.c): state 0 is free. */
#define PAYLOAD_STATE(w) ((w) >> 6 & 7)
#define PAYLOAD_POS(w) ((w) >> 9)

static struct fr_ring *create_hot(char *name, const char *tag)
{
	struct fr_config cfg = {.mode = FR_MPMC, .slots = SLOTS, .format = FR_FORMAT_RAW,
				.frame_bytes = FRAME_BYTES};
	return frt_create_ok(frt_name(name, FRT_NAME_SIZE, tag), &cfg);
}

/* Claim (no waiting), fill as frame @id, publish: the payload it went into. */
static void *put(struct fr_ring *p, uint64_t id)
{
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(p, &f, 0));
	frt_fill(f.data, FRAME_LEN, id);
	f.bytes = FRAME_LEN;
	FRT_ASSERT_OK(fr_publish(p, &f));
	return f.data;
}

/* Acquire (no waiting) the frame with seq @seq, check its pixels, keep it in @f. */
static void get(struct fr_ring *c, uint64_t seq, struct fr_frame *f)
{
	FRT_ASSERT_OK(fr_acquire(c, f, 0));
	cr_assert_eq(f->seq, seq, "got seq %llu, want %llu", (unsigned long long)f->seq,
		     (unsigned long long)seq);
	uint64_t id, sum;
	cr_assert(f->bytes == FRAME_LEN && frt_verify(f->data, f->bytes, &id, &sum) == 0 &&
		      id == seq,
		  "seq %llu: torn or wrong pixels", (unsigned long long)seq);
}

static void *get_release(struct fr_ring *c, uint64_t seq)
{
	struct fr_frame f;
	get(c, seq, &f);
	FRT_ASSERT_OK(fr_release(c, &f));
	return f.data;
}

/* N frames in flight at once (the ring full), all intact, in N distinct payloads. */
static void fill_and_drain(struct fr_ring *p, struct fr_ring *c, uint64_t first)
{
	void *used[SLOTS];
	for (unsigned i = 0; i < SLOTS; i++)
		used[i] = put(p, first + i);
	struct fr_frame f;
	FRT_ASSERT_ERR(fr_claim(p, &f, 0), -EAGAIN);
	cr_assert_eq(frt_distinct(used, SLOTS), SLOTS, "%u frames in flight share payloads",
		     SLOTS);
	for (unsigned i = 0; i < SLOTS; i++)
		get_release(c, first + i);
}

Test(mpmc_hot, frames_take_turns_in_the_payloads_released_last)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create_hot(name, "hotreuse");
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	void *used[40];
	uint64_t seq = 0;

	/* One frame in flight: two payloads in turn, not a lap of four, and
	 * never the one just read (attach_payload). Frame 1 may still reuse
	 * frame 0's: the payload words all start at position 0, so the one
	 * frame 0 went into looks like the unused ones. */
	for (unsigned i = 0; i < 20; i++, seq++) {
		used[i] = put(p, seq);
		get_release(c, seq);
	}
	cr_assert_eq(frt_distinct(used, 20), 2, "one frame in flight used %u of %u payloads",
		     frt_distinct(used, 20), SLOTS);
	cr_assert_eq(frt_repeats(used + 1, 19), 0, "%u frames rewrote the payload just read",
		     frt_repeats(used + 1, 19));

	/* Two in flight: two payloads. */
	for (unsigned i = 0; i < 40; i += 2, seq += 2) {
		used[i] = put(p, seq);
		used[i + 1] = put(p, seq + 1);
		get_release(c, seq);
		get_release(c, seq + 1);
	}
	cr_assert_eq(frt_distinct(used, 40), 2, "two frames in flight used %u of %u payloads",
		     frt_distinct(used, 40), SLOTS);

	/* And the whole ring still holds SLOTS frames at once. */
	fill_and_drain(p, c, seq);
	fr_close(c);
	fr_close(p);
}

/* A frame held while others go round keeps its pixels: its payload is never reused. */
Test(mpmc_hot, a_held_frame_keeps_its_payload)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create_hot(name, "hothold");
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	struct fr_ring *c2 = frt_open_ok(name, FR_CONSUMER);
	put(p, 0);
	struct fr_frame held;
	get(c, 0, &held);
	/* positions go round in order: the held one stops the ring a lap later */
	for (uint64_t seq = 1; seq < SLOTS; seq++) {
		void *d = put(p, seq);
		cr_assert_neq(d, held.data, "seq %llu went into the payload of a held frame",
			      (unsigned long long)seq);
		get_release(c2, seq);
	}
	uint64_t id, sum;
	cr_assert(frt_verify(held.data, held.bytes, &id, &sum) == 0 && id == 0,
		  "the held frame was overwritten");
	FRT_ASSERT_OK(fr_release(c, &held));
	fill_and_drain(p, c, SLOTS);
	fr_close(c2);
	fr_close(c);
	fr_close(p);
}

/* ---- forced interleavings ---------------------------------------------------- */

struct child {
	const char *name;
	const char *stop_at;
};

/* Consumer: acquire one frame and release it, stopping at c->stop_at on the way. */
static int release_one_main(void *arg)
{
	struct child *c = arg;
	struct fr_ring *r;
	struct fr_frame f;
	fr_test_set_reap_slice(0);
	FRT_CHILD_OK(fr_open(c->name, FR_CONSUMER, &r));
	fr_test_hook_arm_action(c->stop_at, 1, FR_TEST_STOP);
	FRT_CHILD_OK(fr_acquire(r, &f, WAIT_MS));
	FRT_CHILD_OK(fr_release(r, &f));
	fr_close(r);
	return 0;
}

/* Producer: claim one frame, stopping at c->stop_at on the way, then publish it. */
static int claim_one_main(void *arg)
{
	struct child *c = arg;
	struct fr_ring *r;
	struct fr_frame f;
	FRT_CHILD_OK(fr_open(c->name, FR_PRODUCER, &r));
	fr_test_hook_arm_action(c->stop_at, 1, FR_TEST_STOP);
	FRT_CHILD_OK(fr_claim(r, &f, WAIT_MS));
	frt_fill(f.data, FRAME_LEN, 0);
	f.bytes = FRAME_LEN;
	FRT_CHILD_OK(fr_publish(r, &f));
	fr_close(r);
	return 0;
}

static void expect_stopped(pid_t pid, const char *who, const char *point)
{
	int st = -1;
	int rc = frt_wait_stopped(pid, HANG_S * 1000L, &st);
	cr_assert_eq(rc, 0, "%s did not stop at %s: %s (status %d)", who, point,
		     rc == 1 ? "it ended" : "timed out", st);
}

/* A child running @fn that stops at hook @point: the pid, stopped. */
static pid_t stopped_at(const char *name, int (*fn)(void *), const char *point, const char *who)
{
	struct child ch = {.name = name, .stop_at = point};
	pid_t pid = frt_spawn_ok(fn, &ch);
	expect_stopped(pid, who, point);
	return pid;
}

/* A producer killed at hook @point, then reaped by a consumer's open. */
static void producer_dies_at(const char *name, const char *point)
{
	frt_kill(stopped_at(name, claim_one_main, point, "producer"));
	fr_close(frt_open_ok(name, FR_CONSUMER));
}

/*
 * A consumer gave position 0 back and died before freeing its payload: the
 * payload's word still ties it to position 0. The producer must find that the
 * position is done and take the payload back, or the fourth frame of a full
 * ring has nowhere to go (without the reclaim: -EPROTO).
 */
Test(mpmc_hot, a_payload_left_by_a_dead_consumer_comes_back)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create_hot(name, "hotdead");
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	put(p, 0);
	frt_kill(stopped_at(name, release_one_main, "mpmc_release_before_payload", "consumer"));

	fill_and_drain(p, c, 1); /* all SLOTS payloads, the dead consumer's among them */
	fill_and_drain(p, c, 1 + SLOTS);
	fr_close(c);
	fr_close(p);
}

/*
 * The same consumer only stopped: the producer frees the payload behind its
 * back and fills it with new frames. When the consumer resumes, its own free
 * must fail (the word names another position now), or a payload in use would
 * be free for the next claim and two frames in flight would share it.
 */
Test(mpmc_hot, a_late_free_never_frees_a_payload_in_use)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create_hot(name, "hotlate");
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	put(p, 0);
	pid_t pid = stopped_at(name, release_one_main, "mpmc_release_before_payload", "consumer");

	void *used[SLOTS];
	for (unsigned i = 0; i < SLOTS; i++)
		used[i] = put(p, 1 + i); /* the ring full: the stopped one's payload reused */
	cr_assert_eq(frt_distinct(used, SLOTS), SLOTS);
	FRT_ASSERT_OK(frt_continue(pid));
	FRT_ASSERT_CHILD(pid); /* its release returned 0 */

	/* Two frames held, two more claimed: four distinct payloads, pixels intact. */
	get_release(c, 1);
	get_release(c, 2);
	struct fr_ring *c2 = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame a, b;
	get(c, 3, &a);
	get(c2, 4, &b);
	void *n1 = put(p, 5), *n2 = put(p, 6);
	void *now[SLOTS] = {a.data, b.data, n1, n2};
	cr_assert_eq(frt_distinct(now, SLOTS), SLOTS, "a payload in use was handed out again");
	uint64_t id, sum;
	cr_assert(frt_verify(a.data, a.bytes, &id, &sum) == 0 && id == 3, "seq 3 overwritten");
	cr_assert(frt_verify(b.data, b.bytes, &id, &sum) == 0 && id == 4, "seq 4 overwritten");
	FRT_ASSERT_OK(fr_release(c, &a));
	FRT_ASSERT_OK(fr_release(c2, &b));
	fr_close(c2);
	get_release(c, 5);
	get_release(c, 6);
	fill_and_drain(p, c, 7);
	fr_close(c);
	fr_close(p);
}

/*
 * A producer won position 0 and died before attaching a payload. The reaper
 * aborts the position; consumers skip it; the payload words never named it,
 * so every payload is still there for a full ring.
 */
Test(mpmc_hot, a_producer_dead_before_its_payload_loses_nothing)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create_hot(name, "hotclaim");
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	producer_dies_at(name, "mpmc_claim_before_payload"); /* position 0 aborted */
	struct fr_frame f;
	FRT_ASSERT_ERR(fr_acquire(c, &f, 0), -EAGAIN); /* skips aborted position 0 */
	cr_assert_eq(frt_info_ok(c).aborted, 1);
	fill_and_drain(p, c, 0);
	fill_and_drain(p, c, SLOTS);
	fr_close(c);
	fr_close(p);
}

/*
 * A producer attached its payload and died before publishing: the position is
 * aborted and the consumer that skips it frees the payload.
 */
Test(mpmc_hot, an_aborted_position_frees_its_payload)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create_hot(name, "hotabort");
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	producer_dies_at(name, "mpmc_publish_before_turn");

	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	struct fr_frame f;
	FRT_ASSERT_ERR(fr_acquire(c, &f, 0), -EAGAIN);
	unsigned free_words = 0;
	for (uint32_t b = 0; b < SLOTS; b++)
		free_words += PAYLOAD_STATE(atomic_load(&v.hdr->payload[b])) == 0;
	frt_view_close(&v);
	cr_assert_eq(free_words, SLOTS, "%u of %u payloads free after the skip", free_words,
		     SLOTS);
	fill_and_drain(p, c, frt_info_ok(c).published); /* seq 0 went with the dead one */
	fr_close(c);
	fr_close(p);
}

/* ---- hostile ------------------------------------------------------------------ */

/*
 * A published descriptor whose slot names another payload (one in use by a
 * held frame, or one past the table): the consumer refuses the frame
 * (-EPROTO), the held frame is untouched, and the ring goes on, full laps
 * included.
 */
Test(mpmc_hot, a_descriptor_naming_the_wrong_payload_is_refused)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *p = create_hot(name, "hotscribble");
	struct fr_ring *c = frt_open_ok(name, FR_CONSUMER);
	struct fr_ring *c2 = frt_open_ok(name, FR_CONSUMER);
	struct frt_view v;
	frt_view_open_ok(name, 1, &v);
	const uint32_t bad[] = {0, SLOTS, UINT32_MAX};
	uint64_t seq = 0;
	for (unsigned k = 0; k < 3; k++) {
		put(p, seq);
		struct fr_frame held;
		get(c, seq, &held); /* in payload X */
		seq++;
		put(p, seq);
		struct fr_shm_desc *d = &v.desc[seq & (SLOTS - 1)];
		/* name the held frame's payload (k == 0) or one past the table */
		uint32_t target = bad[k];
		if (k == 0) {
			for (uint32_t b = 0; b < SLOTS; b++)
				if (PAYLOAD_POS(atomic_load(&v.hdr->payload[b])) == seq - 1)
					target = b;
		}
		d->slot = target;
		struct fr_frame f;
		FRT_ASSERT_ERR(fr_acquire(c2, &f, 0), -EPROTO);
		uint64_t id, sum;
		cr_assert(frt_verify(held.data, held.bytes, &id, &sum) == 0 && id == seq - 1,
			  "the held frame changed");
		FRT_ASSERT_OK(fr_release(c, &held));
		seq++;
	}
	frt_view_close(&v);
	/* The refused frames' payloads come back: full laps still go through. */
	struct fr_info info = frt_info_ok(c);
	fill_and_drain(p, c, info.published);
	fill_and_drain(p, c, info.published + SLOTS);
	fr_close(c2);
	fr_close(c);
	fr_close(p);
}
