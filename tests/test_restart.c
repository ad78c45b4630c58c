/*
 * Crash restart on an SPSC segment: a consumer (or producer) process that is
 * SIGKILLed while attached does not keep its role forever; a new process
 * attaches (not -EBUSY) and the stream goes on from where it stopped.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"

TestSuite(restart, .fini = frt_cleanup, .timeout = 240);

struct shared {
	const char *name;
	_Atomic uint32_t stage;     /* progress reported by the first child */
	_Atomic uint64_t released;  /* frames the first consumer released */
	uint64_t expect_first;      /* second consumer: first seq it must see */
	uint64_t expect_count;      /* second consumer: frames to read (0 = until -EPIPE) */
	uint32_t expect_redelivered;
	uint64_t first_seq;         /* second consumer: what it saw */
	uint64_t received;
	uint32_t first_flags;
};

static void publish_range(struct fr_ring *prod, uint64_t from, uint64_t to)
{
	for (uint64_t id = from; id < to; id++) {
		struct fr_frame f;
		FRT_ASSERT_OK(fr_claim(prod, &f, 0));
		uint64_t len = frt_frame_len(id, 64, 512);
		frt_fill(f.data, len, id);
		f.bytes = len;
		f.flags = FRT_ID_FLAGS(id);
		FRT_ASSERT_OK(fr_publish(prod, &f));
		cr_assert_eq(f.seq, id);
	}
}

/* In a child: acquire one frame, check seq == id == want and its payload. */
static void child_acquire(struct fr_ring *ring, struct fr_frame *f, uint64_t want, int timeout)
{
	uint64_t id, sum;
	int rc = fr_acquire(ring, f, timeout);
	FRT_CHILD_CHECKF(rc == 0, "fr_acquire (want seq %lu): %d (%s)", (unsigned long)want, rc,
			 fr_strerror(rc));
	FRT_CHILD_CHECKF(f->seq == want, "seq %lu, want %lu", (unsigned long)f->seq,
			 (unsigned long)want);
	FRT_CHILD_CHECKF(frt_verify(f->data, f->bytes, &id, &sum) == 0 && id == want,
			 "payload of seq %lu corrupt", (unsigned long)f->seq);
	FRT_CHILD_CHECK((f->flags & FR_FRAME_USER_MASK) == FRT_ID_FLAGS(want));
}

/*
 * A fresh segment (mode, slots, frame_bytes) named for tag and the block its
 * children share. *prod gets the creator's handle; without prod the creator
 * closes at once (it published nothing: no end of stream).
 */
static struct shared *restart_new(char *name, const char *tag, uint32_t mode, uint32_t slots,
				  uint64_t frame_bytes, struct fr_ring **prod)
{
	struct fr_config cfg = { .mode = mode, .slots = slots, .frame_bytes = frame_bytes };
	struct fr_ring *creator = frt_create_ok(frt_name(name, FRT_NAME_SIZE, tag), &cfg);
	if (prod)
		*prod = creator;
	else
		fr_close(creator);
	struct shared *sh = frt_shared_alloc(sizeof *sh);
	cr_assert_not_null(sh);
	sh->name = name;
	return sh;
}

/* Fork fn(sh) and wait until it reports stage 1; else kill it and fail with why. */
static pid_t spawn_to_stage(int (*fn)(void *), struct shared *sh, const char *why)
{
	pid_t pid = frt_spawn_ok(fn, sh);
	if (frt_wait_flag(&sh->stage, 1, pid, FRT_BOUND_S) != 0) {
		int st = frt_try_wait(pid);
		frt_kill(pid);
		cr_assert_fail("%s (status %d: -1 still running, 128+n signal n)", why, st);
	}
	return pid;
}

/* SIGKILL a child, which must not have ended before. */
static void kill_child(pid_t pid)
{
	int st = frt_kill(pid);
	cr_assert_eq(st, 128 + SIGKILL, "the child ended with status %d before the kill", st);
}

/* ---- consumer killed while sleeping, and while holding a frame ------------ */

/* Reads `released` frames, then holds one more (hold) or sleeps waiting (no hold). */
static int first_consumer(void *p)
{
	struct shared *sh = p;
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(sh->name, FR_CONSUMER, &ring));
	struct fr_frame f;
	uint64_t n = atomic_load(&sh->released);
	for (uint64_t i = 0; i < n; i++) {
		child_acquire(ring, &f, i, 0);
		FRT_CHILD_OK(fr_release(ring, &f));
	}
	if (sh->expect_redelivered) {
		child_acquire(ring, &f, n, 0); /* held until killed */
		atomic_store(&sh->stage, 1);
		for (;;)
			pause();
	}
	atomic_store(&sh->stage, 1);
	int rc = fr_acquire(ring, &f, -1); /* sleeps until killed */
	frt_child_fail(__FILE__, __LINE__, "fr_acquire returned %d on an empty ring", rc);
}

static int second_consumer(void *p)
{
	struct shared *sh = p;
	struct fr_ring *ring = NULL;
	int rc = fr_open(sh->name, FR_CONSUMER, &ring);
	FRT_CHILD_CHECKF(rc == 0, "new consumer after the crash: fr_open returned %d (%s)", rc,
			 fr_strerror(rc));
	struct fr_frame f;
	for (uint64_t i = 0; i < sh->expect_count; i++) {
		uint64_t want = sh->expect_first + i;
		child_acquire(ring, &f, want, -1);
		if (i == 0)
			sh->first_flags = f.flags;
		else
			FRT_CHILD_CHECKF(!(f.flags & FR_FRAME_REDELIVERED),
					 "seq %lu flagged redelivered", (unsigned long)f.seq);
		FRT_CHILD_OK(fr_release(ring, &f));
		sh->received++;
	}
	rc = fr_acquire(ring, &f, 0);
	FRT_CHILD_CHECKF(rc == -EAGAIN, "after the expected frames: %d", rc);
	fr_close(ring);
	return 0;
}

static void consumer_killed(int holding)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod;
	struct shared *sh = restart_new(name, holding ? "hold" : "idle", FR_SPSC, 8, 512, &prod);
	sh->expect_redelivered = (uint32_t)holding;
	atomic_store(&sh->released, 5);
	publish_range(prod, 0, holding ? 6 : 5);

	pid_t first = spawn_to_stage(first_consumer, sh, "first consumer did not get ready");
	if (!holding && frt_wait_futex_sleep(first, 60) != 0) {
		frt_kill(first);
		cr_assert_fail("first consumer did not get ready: it never slept");
	}

	/* While it lives, the role is taken. */
	struct fr_ring *intruder = NULL;
	FRT_ASSERT_ERR(fr_open(name, FR_CONSUMER, &intruder), -EBUSY);

	kill_child(first);

	/* Frames published after the crash. */
	publish_range(prod, holding ? 6 : 5, 8);
	sh->expect_first = 5;
	sh->expect_count = 3;
	FRT_ASSERT_CHILD(frt_spawn(second_consumer, sh));
	cr_assert_eq(sh->received, 3);
	if (holding)
		cr_expect(sh->first_flags & FR_FRAME_REDELIVERED,
			  "the frame held by the dead consumer is not flagged redelivered");
	else
		cr_expect(!(sh->first_flags & FR_FRAME_REDELIVERED),
			  "a frame nobody held is flagged redelivered");
	cr_expect_eq(sh->first_flags & FR_FRAME_USER_MASK, FRT_ID_FLAGS(5));

	struct fr_info info;
	FRT_ASSERT_OK(fr_info(prod, &info));
	cr_expect_eq(info.redelivered, holding ? 1u : 0u);
	cr_expect_eq(info.live_peers, 1);
	/* The ring keeps working for the producer: all 8 slots are free again. */
	publish_range(prod, 8, 16);
	fr_close(prod);
	frt_shared_free(sh, sizeof *sh);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(restart, consumer_killed_while_waiting)
{
	consumer_killed(0);
}

Test(restart, consumer_killed_while_holding_a_frame)
{
	consumer_killed(1);
}

/* ---- consumer killed at a random point of a running stream ---------------- */

#define STREAM_FRAMES 30000u

static int stream_first_consumer(void *p)
{
	struct shared *sh = p;
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(sh->name, FR_CONSUMER, &ring));
	struct fr_frame f;
	for (uint64_t i = 0;; i++) {
		uint64_t id, sum;
		int rc = fr_acquire(ring, &f, -1);
		FRT_CHILD_CHECKF(rc == 0, "fr_acquire: %d", rc);
		FRT_CHILD_CHECK(f.seq == i);
		FRT_CHILD_CHECK(frt_verify(f.data, f.bytes, &id, &sum) == 0 && id == i);
		FRT_CHILD_OK(fr_release(ring, &f));
		atomic_store(&sh->released, i + 1);
		if (i == 1000)
			atomic_store(&sh->stage, 1);
	}
}

static int stream_second_consumer(void *p)
{
	struct shared *sh = p;
	struct fr_ring *ring = NULL;
	int rc = fr_open(sh->name, FR_CONSUMER, &ring);
	FRT_CHILD_CHECKF(rc == 0, "new consumer: fr_open returned %d (%s)", rc, fr_strerror(rc));
	struct fr_frame f;
	uint64_t next = 0;
	for (;;) {
		uint64_t id, sum;
		rc = fr_acquire(ring, &f, -1);
		if (rc == -EPIPE)
			break;
		FRT_CHILD_CHECKF(rc == 0, "fr_acquire: %d", rc);
		if (sh->received == 0) {
			next = f.seq;
			sh->first_seq = f.seq;
			sh->first_flags = f.flags;
		} else {
			FRT_CHILD_CHECK(!(f.flags & FR_FRAME_REDELIVERED));
		}
		FRT_CHILD_CHECKF(f.seq == next, "seq %lu, want %lu", (unsigned long)f.seq,
				 (unsigned long)next);
		FRT_CHILD_CHECK(frt_verify(f.data, f.bytes, &id, &sum) == 0 && id == f.seq);
		FRT_CHILD_OK(fr_release(ring, &f));
		next++;
		sh->received++;
	}
	FRT_CHILD_CHECKF(next == STREAM_FRAMES, "stream ended at seq %lu", (unsigned long)next);
	fr_close(ring);
	return 0;
}

Test(restart, consumer_killed_mid_stream)
{
	char name[FRT_NAME_SIZE];
	struct shared *sh = restart_new(name, "mid", FR_SPSC, 8, 4096, NULL);
	struct frt_stream *ps = frt_shared_alloc(sizeof *ps);
	cr_assert_not_null(ps);
	ps->name = name;
	ps->count = STREAM_FRAMES;
	ps->min_len = 64;
	ps->max_len = 4096;
	ps->in_order = 1;

	pid_t prod = frt_spawn(frt_produce_main, ps);
	pid_t first = frt_spawn(stream_first_consumer, sh);
	cr_assert(prod > 0 && first > 0);
	int ok = frt_wait_flag(&sh->stage, 1, first, FRT_BOUND_S);
	int st = frt_kill(first);
	if (ok != 0)
		frt_kill(prod);
	cr_assert_eq(ok, 0, "first consumer made no progress (status %d)", st);
	cr_assert_eq(st, 128 + SIGKILL, "first consumer ended with %d before the kill", st);
	uint64_t released = atomic_load(&sh->released);

	pid_t second = frt_spawn(stream_second_consumer, sh);
	cr_assert_gt(second, 0);
	pid_t rest[2] = { second, prod };
	st = frt_wait_all(rest, 2, FRT_BOUND_S, NULL);
	cr_assert_eq(st, 0, "producer or new consumer failed (%d): %s", st, ps->error);

	/*
	 * The new consumer starts right after the last frame the dead one released
	 * (its count may lag the release by one frame when the kill fell between).
	 */
	cr_expect(sh->first_seq == released || sh->first_seq == released + 1,
		  "new consumer started at seq %lu, the dead one had released %lu",
		  (unsigned long)sh->first_seq, (unsigned long)released);
	cr_expect_eq(sh->first_seq + sh->received, STREAM_FRAMES);
	struct fr_info info;
	FRT_ASSERT_OK(fr_stat(name, &info));
	cr_expect_eq(info.published, STREAM_FRAMES);
	cr_expect_eq(info.live_peers, 0);
	frt_shared_free(ps, sizeof *ps);
	frt_shared_free(sh, sizeof *sh);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- producer killed while holding a claim ------------------------------- */

static int first_producer(void *p)
{
	struct shared *sh = p;
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(sh->name, FR_PRODUCER, &ring));
	struct fr_frame f;
	for (uint64_t id = 0; id < 3; id++) {
		FRT_CHILD_OK(fr_claim(ring, &f, 0));
		frt_fill(f.data, 100, id);
		f.bytes = 100;
		f.flags = FRT_ID_FLAGS(id);
		FRT_CHILD_OK(fr_publish(ring, &f));
	}
	FRT_CHILD_OK(fr_claim(ring, &f, 0)); /* claimed, never published */
	memset(f.data, 0xdd, 100);
	atomic_store(&sh->stage, 1);
	for (;;)
		pause();
}

static int second_producer(void *p)
{
	struct shared *sh = p;
	struct fr_ring *ring = NULL;
	int rc = fr_open(sh->name, FR_PRODUCER, &ring);
	FRT_CHILD_CHECKF(rc == 0, "new producer after the crash: fr_open returned %d (%s)", rc,
			 fr_strerror(rc));
	struct fr_frame f;
	for (uint64_t id = 3; id < 13; id++) { /* more than the ring holds: slots come back */
		FRT_CHILD_OK(fr_claim(ring, &f, -1));
		frt_fill(f.data, 100, id);
		f.bytes = 100;
		f.flags = FRT_ID_FLAGS(id);
		FRT_CHILD_OK(fr_publish(ring, &f));
		FRT_CHILD_CHECKF(f.seq == id, "seq %lu for id %lu", (unsigned long)f.seq,
				 (unsigned long)id);
	}
	fr_close(ring);
	return 0;
}

Test(restart, producer_killed_while_claiming)
{
	char name[FRT_NAME_SIZE];
	struct shared *sh = restart_new(name, "prod", FR_SPSC, 4, 512, NULL);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);

	pid_t first = spawn_to_stage(first_producer, sh, "first producer did not get ready");
	struct fr_ring *intruder = NULL;
	FRT_ASSERT_ERR(fr_open(name, FR_PRODUCER, &intruder), -EBUSY);
	kill_child(first);

	struct fr_frame f;
	uint64_t id, sum;
	for (uint64_t i = 0; i < 3; i++) {
		FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
		cr_assert_eq(f.seq, i);
		cr_assert_eq(frt_verify(f.data, f.bytes, &id, &sum), 0);
		FRT_ASSERT_OK(fr_release(cons, &f));
	}
	/* A dead producer is not the end of the stream. */
	int rc = fr_acquire(cons, &f, 0);
	cr_assert_eq(rc, -EAGAIN, "after the producer died: %d (%s)", rc, fr_strerror(rc));

	pid_t second = frt_spawn(second_producer, sh);
	cr_assert_gt(second, 0);
	/* The unpublished claim is skipped: frames 3..12 follow without a gap. */
	for (uint64_t i = 3; i < 13; i++) {
		rc = fr_acquire(cons, &f, FRT_BOUND_S * 1000); /* bounded: the child may fail */
		if (rc != 0)
			frt_kill(second);
		cr_assert_eq(rc, 0, "fr_acquire seq %lu: %d", (unsigned long)i, rc);
		cr_assert_eq(f.seq, i);
		cr_assert_eq(frt_verify(f.data, f.bytes, &id, &sum), 0, "seq %lu corrupt",
			     (unsigned long)i);
		cr_assert_eq(id, i);
		FRT_ASSERT_OK(fr_release(cons, &f));
	}
	FRT_ASSERT_CHILD(second);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, -1), -EPIPE);
	fr_close(cons);
	frt_shared_free(sh, sizeof *sh);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- MPMC: a consumer killed while holding a frame ------------------------ */

static int mpmc_holder(void *p)
{
	struct shared *sh = p;
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(sh->name, FR_CONSUMER, &ring));
	struct fr_frame f;
	child_acquire(ring, &f, 0, 0); /* held until killed */
	atomic_store(&sh->stage, 1);
	for (;;)
		pause();
}

Test(restart, mpmc_consumer_killed_while_holding_a_frame)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod;
	struct shared *sh = restart_new(name, "mpmchold", FR_MPMC, 4, 512, &prod);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	publish_range(prod, 0, 3);

	kill_child(spawn_to_stage(mpmc_holder, sh, "the holder did not get its frame"));

	/* Every frame arrives exactly once more: seq 0 again (flagged), 1 and 2. */
	int seen[3] = { 0, 0, 0 };
	for (int i = 0; i < 3; i++) {
		struct fr_frame f;
		uint64_t id, sum;
		/* Bounded: the dead holder is noticed by a waiter's periodic reap. */
		FRT_ASSERT_OK(fr_acquire(cons, &f, FRT_BOUND_S * 1000));
		cr_assert_lt(f.seq, 3);
		cr_assert_eq(frt_verify(f.data, f.bytes, &id, &sum), 0);
		cr_assert_eq(id, f.seq);
		cr_assert_eq(!!(f.flags & FR_FRAME_REDELIVERED), f.seq == 0,
			     "seq %lu flags %#x", (unsigned long)f.seq, f.flags);
		seen[f.seq]++;
		FRT_ASSERT_OK(fr_release(cons, &f));
	}
	cr_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	struct fr_frame f;
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(cons, &info));
	cr_expect_eq(info.redelivered, 1);
	fr_close(cons);
	fr_close(prod);
	frt_shared_free(sh, sizeof *sh);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- MPMC: a producer killed while holding a claim ----------------------- */

static int mpmc_claimer(void *p)
{
	struct shared *sh = p;
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(sh->name, FR_PRODUCER, &ring));
	struct fr_frame f;
	FRT_CHILD_OK(fr_claim(ring, &f, 0)); /* claimed, never published */
	memset(f.data, 0xdd, 64);
	atomic_store(&sh->stage, 1);
	for (;;)
		pause();
}

Test(restart, mpmc_producer_killed_while_claiming)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod;
	struct shared *sh = restart_new(name, "mpmcclaim", FR_MPMC, 4, 512, &prod);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);

	kill_child(spawn_to_stage(mpmc_claimer, sh, "the claimer did not get its slot"));

	/* The dead claim is skipped; the frames after it arrive, seq from 0. */
	for (uint64_t i = 0; i < 10; i++) { /* more than the ring holds: the slot came back */
		struct fr_frame f;
		uint64_t id, sum;
		FRT_ASSERT_OK(fr_claim(prod, &f, FRT_BOUND_S * 1000));
		frt_fill(f.data, 100, 50 + i);
		f.bytes = 100;
		FRT_ASSERT_OK(fr_publish(prod, &f));
		cr_assert_eq(f.seq, i);
		/* Bounded: the dead claimer is noticed by a waiter's periodic reap. */
		FRT_ASSERT_OK(fr_acquire(cons, &f, FRT_BOUND_S * 1000));
		cr_assert_eq(f.seq, i);
		cr_assert_eq(frt_verify(f.data, f.bytes, &id, &sum), 0, "seq %lu corrupt",
			     (unsigned long)i);
		cr_assert_eq(id, 50 + i);
		FRT_ASSERT_OK(fr_release(cons, &f));
	}
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(cons, &info));
	cr_expect_eq(info.aborted, 1);
	cr_expect_eq(info.end_of_stream, 0);
	fr_close(cons);
	fr_close(prod);
	frt_shared_free(sh, sizeof *sh);
	FRT_ASSERT_OK(fr_unlink(name));
}
