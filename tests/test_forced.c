/*
 * Forced interleavings for the findings of issue 9.
 *
 * Random crash torture on 2 vCPUs never hit these: each needs one peer to be
 * between two particular steps while another peer acts. Here a child arms a
 * hook point with FR_TEST_STOP and stops itself there (SIGSTOP); the parent
 * sees it stopped (waitpid WUNTRACED), runs the other peers, then resumes
 * (SIGCONT) or kills the stopped one. Children that sleep turn off the 100 ms
 * reap slice, so that a missing wake-up is a hang (which a bounded wait turns
 * into a failure) instead of a short delay that hides it.
 *
 * A blocked call that times out re-checks the ring once more before it gives
 * up, so a late wake-up still ends in success when the call's own timeout is
 * the bound. Where a test is about a wake-up, the sleeper therefore waits
 * LONG_MS and the parent gives it HANG_S (much shorter) to come back.
 *
 * Children never assert: they report through their exit status and the
 * shared page; only the parent uses cr_assert.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>
#include <testhooks.h>

#include "helpers.h"
#include "layout.h"

TestSuite(forced, .fini = frt_cleanup, .timeout = 240);

#define SLOTS 4
#define FRAME_BYTES 4096
#define FRAME_LEN 64  /* bytes each test frame carries (frt_fill pattern of its id) */
#define MORE 12       /* frames after the interleaving: three laps of the ring */
#define MAX_SEQ 64    /* size of the per-seq ledger */
#define WAIT_MS 20000 /* a claim or acquire that must succeed */
#define HANG_S 20     /* a step that must happen; taking longer counts as a hang */
#define LONG_MS 60000 /* a child's wait that only a wake-up may end early (> HANG_S) */

/* ---- shared page and frames ----------------------------------------------- */

struct shared {
	_Atomic uint32_t seen[MAX_SEQ];    /* deliveries per seq, by any child */
	_Atomic uint32_t flagged[MAX_SEQ]; /* of which with FR_FRAME_REDELIVERED */
	_Atomic uint32_t received;         /* frames the children acquired, all told */
	_Atomic uint32_t holding;          /* a holder child has its frame */
	_Atomic uint32_t opened;           /* children whose fr_open returned */
	_Atomic uint32_t done;             /* a child's blocked call returned */
	_Atomic uint32_t go;               /* parent to lingering child: next step */
	_Atomic int32_t rc;                /* what that blocked call returned */
	uint64_t seq;                      /* and the frame it got */
	uint32_t flags;
	uint32_t frame_ok;
};

/* What a child is told; copied into the child by fork. */
struct child {
	const char *name;
	struct shared *sh;
	const char *stop_at; /* hook point to stop at, or NULL */
	int wait_ms;         /* consumer loop: timeout of each fr_acquire */
	int linger;          /* stay attached until sh->go says so */
};

/* Claim a slot, fill it as frame @id, publish it. Returns the first failure. */
static int put(struct fr_ring *prod, uint64_t id, int timeout_ms)
{
	struct fr_frame f;
	int rc = fr_claim(prod, &f, timeout_ms);
	if (rc != 0)
		return rc;
	frt_fill(f.data, FRAME_LEN, id);
	f.bytes = FRAME_LEN;
	f.timestamp_ns = id + 1;
	return fr_publish(prod, &f);
}

/* Every test stream has one id per seq: frame seq carries the pattern of id seq. */
static int frame_ok(const struct fr_frame *f)
{
	uint64_t id, sum;
	return f->bytes == FRAME_LEN && frt_verify(f->data, f->bytes, &id, &sum) == 0 &&
	       id == f->seq && f->timestamp_ns == id + 1;
}

static void record(struct shared *sh, const struct fr_frame *f)
{
	atomic_fetch_add(&sh->seen[f->seq], 1);
	if (f->flags & FR_FRAME_REDELIVERED)
		atomic_fetch_add(&sh->flagged[f->seq], 1);
	atomic_fetch_add(&sh->received, 1);
}

/* In a child: wait for the parent's go (bounded: an abandoned child ends). */
static void child_wait_go(struct shared *sh, uint32_t step)
{
	FRT_CHILD_CHECKF(frt_wait_flag(&sh->go, step, getppid(), FRT_BOUND_S) == 0,
			 "no go %u from the parent", step);
}

/* ---- children --------------------------------------------------------------- */

/* Consumer: acquire, record and release until end of stream. */
static int consume_loop_main(void *arg)
{
	struct child *c = arg;
	struct fr_ring *r;
	fr_test_set_reap_slice(0);
	FRT_CHILD_OK(fr_open(c->name, FR_CONSUMER, &r));
	if (c->stop_at)
		fr_test_hook_arm_action(c->stop_at, 1, FR_TEST_STOP);
	atomic_fetch_add(&c->sh->opened, 1);
	for (;;) {
		struct fr_frame f;
		int rc = fr_acquire(r, &f, c->wait_ms);
		if (rc == -EPIPE)
			break;
		FRT_CHILD_CHECKF(rc == 0, "fr_acquire after %u frames in all: %d (%s)",
				 atomic_load(&c->sh->received), rc, fr_strerror(rc));
		FRT_CHILD_CHECKF(f.seq < MAX_SEQ && frame_ok(&f), "seq %lu: wrong frame",
				 (unsigned long)f.seq);
		record(c->sh, &f);
		FRT_CHILD_OK(fr_release(r, &f));
	}
	fr_close(r);
	return 0;
}

/* Consumer that acquires one frame and holds it until the parent kills it. */
static int hold_main(void *arg)
{
	struct child *c = arg;
	struct fr_ring *r;
	struct fr_frame f;
	FRT_CHILD_OK(fr_open(c->name, FR_CONSUMER, &r));
	FRT_CHILD_OK(fr_acquire(r, &f, WAIT_MS));
	FRT_CHILD_CHECKF(f.seq < MAX_SEQ && frame_ok(&f), "seq %lu: wrong frame",
			 (unsigned long)f.seq);
	record(c->sh, &f);
	atomic_store(&c->sh->holding, 1);
	child_wait_go(c->sh, UINT32_MAX); /* never comes: SIGKILL ends us */
	return FRT_CHILD_FAILED;
}

/* Consumer that sleeps in one fr_acquire and reports what it returned. */
static int sleep_acquire_main(void *arg)
{
	struct child *c = arg;
	struct fr_ring *r;
	struct fr_frame f;
	fr_test_set_reap_slice(0);
	FRT_CHILD_OK(fr_open(c->name, FR_CONSUMER, &r));
	atomic_store(&c->sh->opened, 1);
	int rc = fr_acquire(r, &f, LONG_MS);
	if (rc == 0) {
		c->sh->seq = f.seq;
		c->sh->flags = f.flags;
		c->sh->frame_ok = frame_ok(&f);
	}
	atomic_store(&c->sh->rc, rc);
	atomic_store(&c->sh->done, 1);
	if (rc == 0)
		FRT_CHILD_OK(fr_release(r, &f));
	fr_close(r);
	return 0;
}

/* Opens a consumer (the attach reaps dead peers), optionally stopped inside it. */
static int reaper_main(void *arg)
{
	struct child *c = arg;
	struct fr_ring *r;
	if (c->stop_at)
		fr_test_hook_arm_action(c->stop_at, 1, FR_TEST_STOP);
	FRT_CHILD_OK(fr_open(c->name, FR_CONSUMER, &r));
	atomic_store(&c->sh->opened, 1);
	if (c->linger)
		child_wait_go(c->sh, 1);
	fr_close(r);
	return 0;
}

/* Producer that claims ring position 0 (stopped on the way) and publishes it as frame 0. */
static int claim_main(void *arg)
{
	struct child *c = arg;
	struct fr_ring *r;
	FRT_CHILD_OK(fr_open(c->name, FR_PRODUCER, &r));
	fr_test_hook_arm_action(c->stop_at, 1, FR_TEST_STOP);
	FRT_CHILD_OK(put(r, 0, WAIT_MS));
	fr_close(r);
	return 0;
}

/* Producer that publishes frame 0 and closes on go 1. */
static int early_producer_main(void *arg)
{
	struct child *c = arg;
	struct fr_ring *r;
	FRT_CHILD_OK(fr_open(c->name, FR_PRODUCER, &r));
	FRT_CHILD_OK(put(r, 0, WAIT_MS));
	atomic_store(&c->sh->done, 1);
	child_wait_go(c->sh, 1);
	fr_close(r);
	return 0;
}

/* Producer that attaches (stopped on the way), publishes frame 1 on go 1, closes on go 2. */
static int late_producer_main(void *arg)
{
	struct child *c = arg;
	struct fr_ring *r;
	fr_test_hook_arm_action(c->stop_at, 1, FR_TEST_STOP);
	FRT_CHILD_OK(fr_open(c->name, FR_PRODUCER, &r));
	atomic_store(&c->sh->opened, 1);
	child_wait_go(c->sh, 1);
	FRT_CHILD_OK(put(r, 1, WAIT_MS));
	atomic_store(&c->sh->done, 1);
	child_wait_go(c->sh, 2);
	fr_close(r);
	return 0;
}

/* Broadcast camera: fills the pool, then blocks in fr_claim until a consumer frees a slot. */
static int camera_main(void *arg)
{
	struct child *c = arg;
	struct fr_ring *r;
	struct fr_frame f;
	fr_test_set_reap_slice(0);
	FRT_CHILD_OK(fr_open(c->name, FR_PRODUCER, &r));
	for (uint64_t id = 0; id < SLOTS; id++)
		FRT_CHILD_OK(put(r, id, WAIT_MS));
	atomic_store(&c->sh->opened, 1);
	int rc = fr_claim(r, &f, LONG_MS);
	atomic_store(&c->sh->rc, rc);
	atomic_store(&c->sh->done, 1);
	if (rc == 0)
		FRT_CHILD_OK(fr_cancel(r, &f));
	fr_close(r);
	return 0;
}

/* ---- parent helpers ------------------------------------------------------- */

static struct shared *shared_new(void)
{
	struct shared *sh = frt_shared_alloc(sizeof *sh);
	cr_assert_not_null(sh);
	return sh;
}

static struct fr_ring *create_mpmc(char *name, const char *tag)
{
	struct fr_config cfg = {.mode = FR_MPMC, .slots = SLOTS, .frame_bytes = FRAME_BYTES};
	return frt_create_ok(frt_name(name, FRT_NAME_SIZE, tag), &cfg);
}

static void expect_stopped(pid_t pid, const char *who, const char *point)
{
	int st = -1;
	int rc = frt_wait_stopped(pid, HANG_S * 1000L, &st);
	cr_assert_eq(rc, 0, "%s did not stop at %s: %s (status %d)", who, point,
		     rc == 1 ? "it ended" : "timed out", st);
}

/* Wait (bounded) for a child's report; @pid > 0: the child that makes it, or fails. */
static void expect_flag(_Atomic uint32_t *flag, uint32_t value, pid_t pid, const char *what)
{
	if (frt_wait_flag(flag, value, pid, HANG_S) == 0)
		return;
	/* Reap only now: a child that ended early says how. */
	int st = pid > 0 ? frt_try_wait(pid) : -1;
	if (st < 0)
		cr_assert_fail("%s (child %d still running)", what, (int)pid);
	cr_assert_fail("%s (child %d ended with status %d)", what, (int)pid, st);
}

static void expect_frame(struct fr_ring *cons, uint64_t seq, int redelivered)
{
	struct fr_frame f;
	int rc = fr_acquire(cons, &f, WAIT_MS);
	cr_assert_eq(rc, 0, "acquire of seq %lu: %d (%s)", (unsigned long)seq, rc,
		     fr_strerror(rc));
	cr_assert_eq(f.seq, seq, "got seq %lu, expected %lu", (unsigned long)f.seq,
		     (unsigned long)seq);
	cr_assert(frame_ok(&f), "seq %lu: payload is not frame %lu", (unsigned long)f.seq,
		  (unsigned long)seq);
	cr_assert_eq(!!(f.flags & FR_FRAME_REDELIVERED), redelivered,
		     "seq %lu: FR_FRAME_REDELIVERED is %s", (unsigned long)seq,
		     redelivered ? "missing" : "set");
	FRT_ASSERT_OK(fr_release(cons, &f));
}

/* Frames [from, to) go through prod and cons one at a time: bounded, in order, once. */
static void run_laps(struct fr_ring *prod, struct fr_ring *cons, uint64_t from, uint64_t to)
{
	for (uint64_t id = from; id < to; id++) {
		int rc = put(prod, id, WAIT_MS);
		cr_assert_eq(rc, 0, "claim/publish of frame %lu (ring position %lu): %d (%s)",
			     (unsigned long)id, (unsigned long)id, rc, fr_strerror(rc));
		expect_frame(cons, id, 0);
	}
	struct fr_frame f;
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);
}

/* ---- 1 ---------------------------------------------------------------------- */

/*
 * Finding 1: the reaper freed a dead consumer's frame because a live peer's
 * pending (or stale) intent named the same position; the frame was lost and
 * its slot never came back, so the producer blocked one lap later.
 *
 * Forced: seq 0 is published; consumer C1 stops at mpmc_acquire_before_cas
 * (it saw seq 0 published, has not taken it); C2 acquires seq 0 and is
 * SIGKILLed holding it; C1 resumes (its take fails); a new consumer C3 opens
 * and reaps C2. Expected: seq 0 delivered again, flagged FR_FRAME_REDELIVERED,
 * then 12 more frames (three laps) publish with bounded claims and each
 * reaches a consumer exactly once.
 */
Test(forced, consumer_stopped_before_cas_then_holder_killed)
{
	char name[FRT_NAME_SIZE];
	struct shared *sh = shared_new();
	struct fr_ring *prod = create_mpmc(name, "f1");
	FRT_ASSERT_OK(put(prod, 0, 0));

	/* The consumers wait LONG_MS per call: the parent's bounds report a hang first. */
	struct child c1 = {.name = name, .sh = sh, .stop_at = "mpmc_acquire_before_cas",
			   .wait_ms = LONG_MS};
	pid_t p1 = frt_spawn_ok(consume_loop_main, &c1);
	expect_stopped(p1, "consumer C1", c1.stop_at);

	struct child c2 = {.name = name, .sh = sh};
	pid_t p2 = frt_spawn_ok(hold_main, &c2);
	expect_flag(&sh->holding, 1, p2, "C2 never acquired seq 0");
	cr_assert_eq(atomic_load(&sh->seen[0]), 1);
	frt_kill(p2);
	FRT_ASSERT_OK(frt_continue(p1));

	struct child c3 = {.name = name, .sh = sh, .wait_ms = LONG_MS};
	pid_t p3 = frt_spawn_ok(consume_loop_main, &c3);
	expect_flag(&sh->flagged[0], 1, p3,
		    "seq 0 was not delivered again after its holder C2 died");

	for (uint64_t id = 1; id <= MORE; id++) {
		int rc = put(prod, id, WAIT_MS);
		cr_assert_eq(rc, 0, "claim/publish of frame %lu (ring position %lu): %d (%s)",
			     (unsigned long)id, (unsigned long)id, rc, fr_strerror(rc));
	}
	expect_flag(&sh->received, 2 + MORE, 0, "the consumers did not receive every frame");
	struct fr_info info = frt_info_ok(prod);
	cr_assert_eq(info.redelivered, 1, "info.redelivered %lu", (unsigned long)info.redelivered);
	fr_close(prod); /* end of stream: both consumers drain and end */
	FRT_ASSERT_CHILD(p1);
	FRT_ASSERT_CHILD(p3);

	cr_assert_eq(atomic_load(&sh->seen[0]), 2, "seq 0 delivered %u times (C2, then once more)",
		     atomic_load(&sh->seen[0]));
	cr_assert_eq(atomic_load(&sh->flagged[0]), 1);
	for (unsigned s = 1; s <= MORE; s++) {
		cr_assert_eq(atomic_load(&sh->seen[s]), 1, "seq %u delivered %u times", s,
			     atomic_load(&sh->seen[s]));
		cr_assert_eq(atomic_load(&sh->flagged[s]), 0, "seq %u flagged as redelivered", s);
	}
	cr_assert_eq(atomic_load(&sh->received), 2 + MORE);
	frt_shared_free(sh, sizeof *sh);
}

/* ---- 2 ---------------------------------------------------------------------- */

/*
 * Finding 2: the reaper's check-then-act. It read `turn == pos` for a dead
 * producer's recorded position, then looked at the live producers' records,
 * then stored ABORTED and turn = pos + 1 blindly: a live producer's frame
 * published (and even consumed) in between was skipped or turn went back.
 *
 * Forced: producer D stops at mpmc_claim_before_cas for position 0; producer P
 * claims position 0 and stops at mpmc_claim_won; D is SIGKILLed; a reaper R
 * opens a consumer armed to stop at mpmc_reap_found (a correct reaper finds
 * nothing of D's and never stops: "stopped or finished" both go); P resumes
 * and publishes, the parent's consumer acquires and releases seq 0; R resumes.
 * Expected: seq 0 delivered exactly once and not aborted (info.aborted == 0),
 * and 12 more frames go through with bounded claims.
 */
Test(forced, reaper_never_aborts_a_live_producers_slot)
{
	char name[FRT_NAME_SIZE];
	struct shared *sh = shared_new();
	struct fr_ring *prod = create_mpmc(name, "f2"), *cons = NULL;
	FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &cons));

	struct child d = {.name = name, .sh = sh, .stop_at = "mpmc_claim_before_cas"};
	pid_t pd = frt_spawn_ok(claim_main, &d);
	expect_stopped(pd, "producer D", d.stop_at);
	struct child p = {.name = name, .sh = sh, .stop_at = "mpmc_claim_won"};
	pid_t pp = frt_spawn_ok(claim_main, &p);
	expect_stopped(pp, "producer P", p.stop_at);
	frt_kill(pd);

	struct child r = {.name = name, .sh = sh, .stop_at = "mpmc_reap_found"};
	pid_t pr = frt_spawn_ok(reaper_main, &r);
	int st = -1;
	int stopped = frt_wait_stopped(pr, HANG_S * 1000L, &st);
	cr_assert(stopped == 0 || (stopped == 1 && st == 0),
		  "reaper R neither stopped at %s nor opened its consumer (%d, status %d)",
		  r.stop_at, stopped, st);

	FRT_ASSERT_OK(frt_continue(pp));
	FRT_ASSERT_CHILD(pp); /* P published frame 0 and closed */
	expect_frame(cons, 0, 0);
	if (stopped == 0) {
		FRT_ASSERT_OK(frt_continue(pr));
		FRT_ASSERT_CHILD(pr);
	}

	struct fr_info info = frt_info_ok(cons);
	cr_assert_eq(info.aborted, 0, "info.aborted %lu: the reaper aborted live producer P's slot",
		     (unsigned long)info.aborted);
	run_laps(prod, cons, 1, 1 + MORE); /* and seq 0 does not come again */
	info = frt_info_ok(cons);
	cr_assert_eq(info.aborted, 0, "info.aborted %lu", (unsigned long)info.aborted);
	cr_assert_eq(info.redelivered, 0, "info.redelivered %lu", (unsigned long)info.redelivered);
	cr_assert_eq(info.published, 1 + MORE);
	fr_close(cons);
	fr_close(prod);
	frt_shared_free(sh, sizeof *sh);
}

/* ---- 3 ---------------------------------------------------------------------- */

/* Zero the `held` record of the (dead) peer entry of process @pid in the segment file. */
static void zero_held_hint(const char *name, pid_t pid)
{
	struct frt_view v;
	frt_view_open_ok(name, 1, &v);
	int entry = frt_view_find_peer(&v, pid);
	cr_assert_geq(entry, 0, "no peer entry of process %d", (int)pid);
	atomic_store(&v.hdr->peers[entry].held, 0);
	frt_view_close(&v);
}

/*
 * Finding 3 (stand-in): on ARM/POWER the reaper could see a consumer's held
 * and intent records out of order; x86 cannot show that. What it shows is the
 * dependency: a reaper must decide from the slot's own ownership word, and a
 * missing peer record must change nothing.
 *
 * Forced: consumer C2 acquires seq 0 and is SIGKILLed holding it; before
 * anyone reaps, the test zeroes C2's `held` record in the segment; a new
 * consumer opens (and reaps C2). Expected: seq 0 delivered again with
 * FR_FRAME_REDELIVERED, then 12 more frames (the slot came back).
 */
Test(forced, reaper_ignores_stale_held_hint)
{
	char name[FRT_NAME_SIZE];
	struct shared *sh = shared_new();
	struct fr_ring *prod = create_mpmc(name, "f3"), *cons = NULL;
	FRT_ASSERT_OK(put(prod, 0, 0));

	struct child c2 = {.name = name, .sh = sh};
	pid_t p2 = frt_spawn_ok(hold_main, &c2);
	expect_flag(&sh->holding, 1, p2, "C2 never acquired seq 0");
	frt_kill(p2);
	zero_held_hint(name, p2);

	FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &cons));
	expect_frame(cons, 0, 1);
	struct fr_info info = frt_info_ok(cons);
	cr_assert_eq(info.redelivered, 1, "info.redelivered %lu", (unsigned long)info.redelivered);
	run_laps(prod, cons, 1, 1 + MORE);
	fr_close(cons);
	fr_close(prod);
	frt_shared_free(sh, sizeof *sh);
}

/* ---- 4 ---------------------------------------------------------------------- */

/*
 * Finding 6, broadcast part: a reliable consumer that jumps to the newest
 * frame (FR_ACQUIRE_NEWEST) frees the slots it skipped but woke nobody; the
 * camera blocked in fr_claim went on only at its next reap slice.
 *
 * Forced: broadcast, 4 slots; one reliable consumer (the parent) that has read
 * nothing; the camera child (reap slice off) publishes 4 frames and sleeps in
 * fr_claim; the consumer acquires with FR_ACQUIRE_NEWEST and keeps the frame.
 * Expected: the camera's claim returns 0 within HANG_S (its own timeout is
 * LONG_MS: only a wake-up ends it sooner).
 */
Test(forced, broadcast_newest_jump_wakes_blocked_camera)
{
	char name[FRT_NAME_SIZE];
	struct shared *sh = shared_new();
	struct fr_config cfg = {.mode = FR_BROADCAST, .slots = SLOTS, .frame_bytes = FRAME_BYTES};
	struct fr_ring *creator = NULL, *cons = NULL;
	frt_name(name, sizeof name, "f4");
	FRT_ASSERT_OK(fr_create(name, &cfg, &creator));
	fr_close(creator); /* one broadcast producer: the camera child; nothing published, no end */
	FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &cons));

	struct child cam = {.name = name, .sh = sh};
	pid_t pc = frt_spawn_ok(camera_main, &cam);
	expect_flag(&sh->opened, 1, pc, "the camera could not publish its first 4 frames");
	cr_assert_eq(frt_wait_futex_sleep(pc, HANG_S), 0, "the camera never slept in fr_claim");
	cr_assert_eq(atomic_load(&sh->done), 0,
		     "the camera's claim returned %d although the consumer had read nothing",
		     atomic_load(&sh->rc));

	struct fr_frame f;
	FRT_ASSERT_OK(fr_acquire_ex(cons, &f, 0, FR_ACQUIRE_NEWEST));
	cr_assert_eq(f.seq, SLOTS - 1, "jumped to seq %lu", (unsigned long)f.seq);
	cr_assert(frame_ok(&f));
	/* f stays acquired: the slots of seq 0..2 are free, the one of seq 3 is pinned. */
	cr_assert_eq(frt_wait_flag(&sh->done, 1, pc, HANG_S), 0,
		     "the camera is still blocked in fr_claim %d s after the consumer jumped to "
		     "the newest frame: nobody woke it",
		     HANG_S);
	cr_assert_eq(atomic_load(&sh->rc), 0, "the camera's claim returned %d (%s)",
		     atomic_load(&sh->rc), fr_strerror(atomic_load(&sh->rc)));
	FRT_ASSERT_CHILD(pc);
	FRT_ASSERT_OK(fr_release(cons, &f));
	fr_close(cons);
	frt_shared_free(sh, sizeof *sh);
}

/* ---- 5 ---------------------------------------------------------------------- */

/*
 * Finding 6, reaper part: the MPMC reaper woke the consumers before it stored
 * the dead entry's new state (ORPHAN); a woken consumer found no orphan yet,
 * slept again, and nothing woke it once the orphan was there.
 *
 * Forced: seq 0 is published and C2 acquires it; C3 (reap slice off) sleeps
 * in fr_acquire on the otherwise empty ring; C2 is SIGKILLed; a reaper R opens
 * a consumer and stops at reap_before_state while reaping C2; once R is
 * stopped and C3 asleep, R resumes. Expected: C3 gets seq 0 with
 * FR_FRAME_REDELIVERED within HANG_S (its own timeout is LONG_MS).
 */
Test(forced, reaper_wakes_after_orphan_state)
{
	char name[FRT_NAME_SIZE];
	struct shared *sh = shared_new();
	struct fr_ring *prod = create_mpmc(name, "f5");
	FRT_ASSERT_OK(put(prod, 0, 0));

	struct child c2 = {.name = name, .sh = sh};
	pid_t p2 = frt_spawn_ok(hold_main, &c2);
	expect_flag(&sh->holding, 1, p2, "C2 never acquired seq 0");

	struct shared *sh3 = shared_new(); /* C3's report */
	struct child c3 = {.name = name, .sh = sh3};
	pid_t p3 = frt_spawn_ok(sleep_acquire_main, &c3);
	expect_flag(&sh3->opened, 1, p3, "C3 could not open");
	cr_assert_eq(frt_wait_futex_sleep(p3, HANG_S), 0, "C3 never slept in fr_acquire");
	frt_kill(p2);

	struct child r = {.name = name, .sh = sh, .stop_at = "reap_before_state", .linger = 1};
	pid_t pr = frt_spawn_ok(reaper_main, &r);
	expect_stopped(pr, "reaper R", r.stop_at);
	cr_assert_eq(frt_wait_futex_sleep(p3, HANG_S), 0, "C3 is not asleep while R is stopped");
	cr_assert_eq(atomic_load(&sh3->done), 0, "C3 returned %d before the orphan was recorded",
		     atomic_load(&sh3->rc));

	FRT_ASSERT_OK(frt_continue(pr));
	cr_assert_eq(frt_wait_flag(&sh3->done, 1, p3, HANG_S), 0,
		     "C3 still asleep %d s after the reaper stored the orphan state: "
		     "nobody woke it",
		     HANG_S);
	int rc = atomic_load(&sh3->rc);
	cr_assert_eq(rc, 0, "C3's fr_acquire returned %d (%s)", rc, fr_strerror(rc));
	cr_assert_eq(sh3->seq, 0, "C3 got seq %lu", (unsigned long)sh3->seq);
	cr_assert(sh3->frame_ok, "C3 got a wrong payload for seq 0");
	cr_assert(sh3->flags & FR_FRAME_REDELIVERED, "seq 0 not flagged FR_FRAME_REDELIVERED");
	FRT_ASSERT_CHILD(p3);
	atomic_store(&sh->go, 1);
	FRT_ASSERT_CHILD(pr);
	fr_close(prod);
	frt_shared_free(sh3, sizeof *sh3);
	frt_shared_free(sh, sizeof *sh);
}

/* ---- 6 ---------------------------------------------------------------------- */

#define SLEEPERS 3

/*
 * Finding 6, MPMC publish: every publish woke every sleeping consumer
 * (FUTEX_WAKE INT_MAX); all but one found nothing and slept again (and left
 * stale intents on the way).
 *
 * Forced: three consumer children (reap slice off) asleep in fr_acquire; one
 * frame is published; once it was received and all three sleep again, the
 * consumers whose voluntary context switch count moved were woken. Expected:
 * exactly one.
 */
Test(forced, mpmc_publish_wakes_one_consumer)
{
	char name[FRT_NAME_SIZE];
	struct shared *sh = shared_new();
	struct fr_ring *prod = create_mpmc(name, "f6");
	struct child c = {.name = name, .sh = sh, .wait_ms = LONG_MS};
	pid_t pids[SLEEPERS];
	long before[SLEEPERS], after[SLEEPERS];
	for (int i = 0; i < SLEEPERS; i++)
		pids[i] = frt_spawn_ok(consume_loop_main, &c);
	expect_flag(&sh->opened, SLEEPERS, 0, "the consumers could not open");
	for (int i = 0; i < SLEEPERS; i++) {
		cr_assert_eq(frt_wait_futex_sleep(pids[i], HANG_S), 0, "consumer %d never slept",
			     i);
		before[i] = frt_voluntary_switches(pids[i]);
		cr_assert_geq(before[i], 0, "no voluntary_ctxt_switches for consumer %d", i);
	}

	FRT_ASSERT_OK(put(prod, 0, 0));
	expect_flag(&sh->received, 1, 0, "nobody received the frame");
	int woken = 0;
	for (int i = 0; i < SLEEPERS; i++) {
		cr_assert_eq(frt_wait_futex_sleep(pids[i], HANG_S), 0,
			     "consumer %d did not go back to sleep", i);
		after[i] = frt_voluntary_switches(pids[i]);
		woken += after[i] != before[i];
	}
	cr_assert_eq(woken, 1,
		     "%d consumers woke for one published frame (voluntary switches "
		     "%ld->%ld, %ld->%ld, %ld->%ld)",
		     woken, before[0], after[0], before[1], after[1], before[2], after[2]);
	cr_assert_eq(atomic_load(&sh->received), 1);

	fr_close(prod); /* end of stream ends the consumers */
	cr_assert_eq(frt_wait_all(pids, SLEEPERS, FRT_BOUND_S, NULL), 0);
	frt_shared_free(sh, sizeof *sh);
}

/* ---- 7 ---------------------------------------------------------------------- */

/*
 * Finding 7: a producer attaching cleared end of stream before it counted as
 * attached (LIVE), while a closing producer looked for other producers after
 * detaching: the stream ended with a producer attached.
 *
 * Forced: the segment is made ahead (create, close: no end); producer C
 * publishes frame 0; producer N opens and stops at peer_attach_before_live;
 * C closes; N resumes and finishes its open. Expected: end_of_stream 0 while
 * N is attached, the consumer gets seq 0 and N's seq 1, nothing ends; when N
 * closes the stream ends and the drained consumer gets -EPIPE. (C and N are
 * children so that no close or open can block the test while N is stopped.)
 */
Test(forced, no_spurious_end_while_producer_attaching)
{
	char name[FRT_NAME_SIZE];
	struct shared *shc = shared_new(), *shn = shared_new();
	struct fr_ring *creator = create_mpmc(name, "f7"), *cons = NULL;
	fr_close(creator);
	FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &cons));

	struct child c = {.name = name, .sh = shc};
	pid_t pc = frt_spawn_ok(early_producer_main, &c);
	expect_flag(&shc->done, 1, pc, "producer C could not publish");
	struct child n = {.name = name, .sh = shn, .stop_at = "peer_attach_before_live"};
	pid_t pn = frt_spawn_ok(late_producer_main, &n);
	expect_stopped(pn, "producer N", n.stop_at);
	atomic_store(&shc->go, 1);
	FRT_ASSERT_CHILD(pc); /* C closed */
	FRT_ASSERT_OK(frt_continue(pn));
	expect_flag(&shn->opened, 1, pn, "producer N could not open");

	struct fr_info info = frt_info_ok(cons);
	cr_assert_eq(info.end_of_stream, 0, "end_of_stream %u with producer N attached",
		     info.end_of_stream);
	atomic_store(&shn->go, 1);
	expect_flag(&shn->done, 1, pn, "producer N could not publish");
	expect_frame(cons, 0, 0);
	expect_frame(cons, 1, 0);
	info = frt_info_ok(cons);
	cr_assert_eq(info.end_of_stream, 0, "end_of_stream %u with producer N attached",
		     info.end_of_stream);
	struct fr_frame f;
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);

	atomic_store(&shn->go, 2);
	FRT_ASSERT_CHILD(pn);
	info = frt_info_ok(cons);
	cr_assert_eq(info.end_of_stream, 1, "no end of stream after the last producer closed");
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EPIPE);
	fr_close(cons);
	frt_shared_free(shn, sizeof *shn);
	frt_shared_free(shc, sizeof *shc);
}

/* ---- 8 ---------------------------------------------------------------------- */

#define USER_FRAMES 50000 /* per producer */

/*
 * Finding 8, the user scenario: a coordinator creates an MPMC segment with
 * fr_create and keeps its handle, forks two producers (own handles) that
 * publish 50,000 frames each and close, and two consumers that read until
 * -EPIPE; once the producers are gone the coordinator closes its handle. Its
 * handle published nothing, but it is the last producer of a stream that ran:
 * the stream must end.
 *
 * No stop here: the interleaving is the order of the closes. Expected: both
 * consumers end with -EPIPE (each fr_acquire is bounded: -ETIMEDOUT fails),
 * 100,000 frames in all, each exactly once.
 */
Test(forced, creator_close_ends_stream_after_forked_producers)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = FR_MPMC, .slots = SLOTS, .frame_bytes = FRAME_BYTES};
	struct fr_ring *coord = NULL;
	frt_name(name, sizeof name, "f8");
	FRT_ASSERT_OK(fr_create(name, &cfg, &coord));

	const uint64_t total = 2 * USER_FRAMES;
	struct frt_stream *s = frt_shared_alloc(4 * sizeof *s);
	_Atomic uint8_t *seen = frt_shared_alloc(total);
	cr_assert(s && seen);
	pid_t pids[4];
	for (int i = 0; i < 4; i++) {
		s[i].name = name;
		s[i].min_len = 64;
		s[i].max_len = 256;
		s[i].wait_ms = WAIT_MS;
		if (i < 2) { /* producers */
			s[i].first_id = (uint64_t)i * USER_FRAMES;
			s[i].count = USER_FRAMES;
		} else {
			s[i].seen_id = seen;
			s[i].total = total;
		}
	}
	pids[2] = frt_spawn(frt_consume_main, &s[2]);
	pids[3] = frt_spawn(frt_consume_main, &s[3]);
	pids[0] = frt_spawn(frt_produce_main, &s[0]);
	pids[1] = frt_spawn(frt_produce_main, &s[1]);
	for (int i = 0; i < 4; i++)
		cr_assert_gt(pids[i], 0, "fork failed");
	for (int i = 0; i < 2; i++) {
		int st = frt_wait(pids[i], FRT_BOUND_S);
		cr_assert_eq(st, 0, "producer %d ended with status %d: %s", i, st, s[i].error);
	}
	fr_close(coord); /* the last producer handle: the stream ends */
	for (int i = 2; i < 4; i++) {
		int st = frt_wait(pids[i], FRT_BOUND_S);
		cr_assert_eq(st, 0, "consumer %d ended with status %d: %s", i - 2, st, s[i].error);
	}
	cr_assert_eq(s[2].frames + s[3].frames, total, "the consumers got %lu + %lu frames",
		     (unsigned long)s[2].frames, (unsigned long)s[3].frames);
	for (uint64_t id = 0; id < total; id++)
		cr_assert_eq(atomic_load(&seen[id]), 1, "frame %lu received %u times",
			     (unsigned long)id, atomic_load(&seen[id]));
	frt_shared_free(seen, total);
	frt_shared_free(s, 4 * sizeof *s);
}

/* ---- create only ------------------------------------------------------------ */

/*
 * The other side of finding 8: `framering create` makes a segment ahead of
 * its camera and closes without publishing; that must not end the stream.
 *
 * Expected: with a consumer attached, the creator's close leaves
 * end_of_stream 0 and fr_acquire(..., 0) gives -EAGAIN; a producer then
 * attaches and publishes and the consumer gets the frame; when that producer
 * closes, the stream ends.
 */
Test(forced, create_only_close_does_not_end_stream)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *creator = create_mpmc(name, "co"), *cons = NULL, *prod = NULL;
	FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &cons));
	fr_close(creator);

	struct fr_info info = frt_info_ok(cons);
	cr_assert_eq(info.end_of_stream, 0, "the create-only close ended the stream");
	struct fr_frame f;
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);

	FRT_ASSERT_OK(fr_open(name, FR_PRODUCER, &prod));
	FRT_ASSERT_OK(put(prod, 0, 0));
	expect_frame(cons, 0, 0);
	fr_close(prod);
	info = frt_info_ok(cons);
	cr_assert_eq(info.end_of_stream, 1, "no end after the camera closed");
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EPIPE);
	fr_close(cons);
}

/* ---- 10 --------------------------------------------------------------------- */

/*
 * SPSC publishes with two stores: the descriptor's turn (the consumer polls
 * it) and then head (which a later producer starts from). A producer that
 * dies between them has published a frame that head does not count.
 *
 * Forced: an SPSC producer child stops at @point while publishing frame 0 at
 * ring position 0 and is SIGKILLed there; the consumer takes frame 0 before
 * or after a new producer attaches (@take_first), when it was published; the
 * new producer then sends 12 frames (three laps). Expected: before the turn,
 * frame 0 never comes and the new producer's first frame has seq 0; between
 * turn and head, frame 0 comes once, intact, and the new producer goes on at
 * seq 1 without writing over it. Small and large (reused-slot) frames.
 */
static void spsc_producer_killed_at(const char *point, int take_first, uint64_t frame_bytes)
{
	char name[FRT_NAME_SIZE];
	struct shared *sh = shared_new();
	struct fr_config cfg = {.mode = FR_SPSC, .slots = SLOTS, .frame_bytes = frame_bytes};
	struct fr_ring *prod = NULL, *cons = NULL;
	fr_close(frt_create_ok(frt_name(name, FRT_NAME_SIZE, "sp"), &cfg));
	FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &cons));

	struct child d = {.name = name, .sh = sh, .stop_at = point};
	pid_t pd = frt_spawn_ok(claim_main, &d);
	expect_stopped(pd, "producer D", point);
	frt_kill(pd);

	int published = strcmp(point, "spsc_publish_before_head") == 0;
	struct fr_frame f;
	if (!published)
		FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);
	if (published && take_first)
		expect_frame(cons, 0, 0);
	FRT_ASSERT_OK(fr_open(name, FR_PRODUCER, &prod));
	if (published && !take_first)
		expect_frame(cons, 0, 0);
	run_laps(prod, cons, published, published + MORE);
	struct fr_info info = frt_info_ok(cons);
	cr_assert_eq(info.published, published + MORE, "info.published %lu",
		     (unsigned long)info.published);
	fr_close(prod);
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EPIPE);
	fr_close(cons);
	frt_shared_free(sh, sizeof *sh);
}

#define HOT_FRAME_BYTES (1024 * 1024) /* large frames: the producer picks the slot */

Test(forced, spsc_producer_killed_before_turn)
{
	spsc_producer_killed_at("spsc_publish_before_turn", 0, FRAME_BYTES);
	spsc_producer_killed_at("spsc_publish_before_turn", 0, HOT_FRAME_BYTES);
}

Test(forced, spsc_producer_killed_between_turn_and_head)
{
	spsc_producer_killed_at("spsc_publish_before_head", 1, FRAME_BYTES);
	spsc_producer_killed_at("spsc_publish_before_head", 0, FRAME_BYTES);
	spsc_producer_killed_at("spsc_publish_before_head", 1, HOT_FRAME_BYTES);
	spsc_producer_killed_at("spsc_publish_before_head", 0, HOT_FRAME_BYTES);
}
