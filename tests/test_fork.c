/*
 * Finding 5 of issue 9: handles across fork().
 *
 * A forked child inherits the handle's open file description, and with it
 * the peer lock that says "this peer is alive". On the old code a child that
 * called fr_close on the inherited handle detached its parent (a second SPSC
 * consumer then attached and both read seq 0), and a consumer that died
 * holding a frame was not reaped while a helper it had forked lived (no
 * redelivery, and a restarted SPSC/broadcast peer got -EBUSY meanwhile).
 *
 * The new behaviour (spec item 3): in the child every call on an inherited
 * handle fails with -ECHILD; fr_close there frees only the child's copy; the
 * child drops the inherited segment fds at fork, so a parent that dies is
 * reaped at once even while the child lives.
 *
 *  fork_child_closes       (1) SPSC consumer holding a frame (and producer
 *                              holding a claim) fork; the child's calls give
 *                              -ECHILD, it fr_close()s both handles; the
 *                              parent's handles still work and the roles
 *                              stay taken (-EBUSY)
 *  fork_child_exits        (2) the same, the child exits without fr_close
 *  fork_helper_outlives_spsc_consumer
 *                          (3) a consumer holding a frame forks a helper and
 *                              is SIGKILLed: a new consumer attaches at once
 *                              and gets the frame again, flagged, while the
 *                              helper lives
 *  fork_helper_outlives_mpmc_consumer
 *                          (4) MPMC: a consumer already waiting gets the
 *                              killed consumer's frame, flagged, while the
 *                              helper lives
 *  fork_helper_outlives_broadcast_producer
 *                          (3) for a producer: a restarted broadcast
 *                              producer attaches at once
 *  fork_open_from          (5) fr_open_from in the child with an inherited
 *                              sibling gives -ECHILD; a fresh fr_open works
 *
 * Children never assert: they report return codes through shared memory (the
 * test compares them, so one run lists every call that went wrong) or their
 * exit status. Every wait is bounded.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"

#define WAIT_MS 5000      /* a frame that should come comes long before this */
#define HELPER_LIFE_S 30  /* a helper nobody tells to exit goes away by itself */
#define BOUND_S 60        /* children and stages */
#define FRAME_BYTES 4096u

static void fork_fini(void);
TestSuite(crash, .fini = fork_fini, .timeout = 120);

/* The calls a forked child makes on inherited handles, in this order. */
enum child_call {
	C_ACQUIRE, C_ACQUIRE_EX, C_RELEASE, C_INFO, C_CLAIM_ON_CONSUMER, C_SET_SPIN,
	C_CLAIM, C_PUBLISH, C_CANCEL, C_INFO_PRODUCER, C_SET_SPIN_PRODUCER, C_OPEN_FROM_CONSUMER,
	C_OPEN_FROM_PRODUCER, C_FRESH_OPEN, C_COUNT
};
static const char *const call_names[C_COUNT] = {
	[C_ACQUIRE] = "fr_acquire(consumer)",
	[C_ACQUIRE_EX] = "fr_acquire_ex(consumer)",
	[C_RELEASE] = "fr_release(consumer, the parent's frame)",
	[C_INFO] = "fr_info(consumer)",
	[C_CLAIM_ON_CONSUMER] = "fr_claim(consumer)",
	[C_SET_SPIN] = "fr_set_spin(consumer)",
	[C_CLAIM] = "fr_claim(producer)",
	[C_PUBLISH] = "fr_publish(producer, the parent's claim)",
	[C_CANCEL] = "fr_cancel(producer, the parent's claim)",
	[C_INFO_PRODUCER] = "fr_info(producer)",
	[C_SET_SPIN_PRODUCER] = "fr_set_spin(producer)",
	[C_OPEN_FROM_CONSUMER] = "fr_open_from(inherited consumer)",
	[C_OPEN_FROM_PRODUCER] = "fr_open_from(inherited producer)",
	[C_FRESH_OPEN] = "fr_open (fresh, in the child)",
};

/* Shared between the test and its children (frt_shared_alloc). */
struct forkt {
	char name[FRT_NAME_SIZE];
	_Atomic uint32_t stage;
	_Atomic uint32_t helper_exit;
	_Atomic int32_t helper; /* pid of the holder's forked helper */
	_Atomic uint32_t helper_running;
	int32_t test_pid;
	/* the forked child's return codes, INT32_MIN = not called */
	_Atomic int32_t rc[C_COUNT];
	/* handles and frames the child inherits (set before the fork) */
	struct fr_ring *consumer, *producer;
	struct fr_frame held, claimed;
	int child_closes;
	/* a consumer process's view of its acquire */
	_Atomic int32_t got_rc;
	uint64_t got_seq;
	uint32_t got_flags;
	_Atomic int32_t helper_alive_at_get;
};

/* The test's shared block, for the suite's .fini: a failed assertion skips
 * the test's own cleanup, and a helper must not outlive the test. */
static struct forkt *current;

static struct forkt *forkt_new(const char *tag)
{
	struct forkt *ft = frt_shared_alloc(sizeof *ft);
	cr_assert_not_null(ft);
	current = ft;
	ft->test_pid = (int32_t)getpid();
	frt_name(ft->name, sizeof ft->name, tag);
	for (int i = 0; i < C_COUNT; i++)
		atomic_init(&ft->rc[i], INT32_MIN);
	atomic_init(&ft->got_rc, INT32_MIN);
	return ft;
}

static void forkt_free(struct forkt *ft)
{
	current = NULL;
	frt_shared_free(ft, sizeof *ft);
}

/* A helper still running after a failed assertion: tell it to go, and reap it. */
static void fork_fini(void)
{
	if (current) {
		pid_t h = atomic_load(&current->helper);
		atomic_store(&current->helper_exit, 1);
		if (h > 0 && frt_try_wait(h) < 0)
			frt_wait(h, 2);
		current = NULL;
	}
	frt_cleanup();
}

static struct fr_ring *create(const char *name, uint32_t mode)
{
	struct fr_config cfg = {.mode = mode, .slots = mode == FR_BROADCAST ? 8 : 4,
				.frame_bytes = FRAME_BYTES};
	return frt_create_ok(name, &cfg);
}

static uint8_t fill_byte(uint64_t seq)
{
	return (uint8_t)(seq * 37 + 11);
}

static void publish(struct fr_ring *prod, uint64_t want_seq)
{
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(prod, &f, WAIT_MS));
	memset(f.data, fill_byte(want_seq), FRAME_BYTES);
	f.bytes = FRAME_BYTES;
	FRT_ASSERT_OK(fr_publish(prod, &f));
	cr_assert_eq(f.seq, want_seq);
}

/* Acquire the next frame in the test process: seq @want, flagged or not. */
static void expect_frame(struct fr_ring *cons, uint64_t want, bool redelivered, const char *what)
{
	struct fr_frame f;
	int rc = fr_acquire(cons, &f, WAIT_MS);
	cr_assert_eq(rc, 0, "%s: fr_acquire returned %d (%s)", what, rc, fr_strerror(rc));
	cr_assert_eq(f.seq, want, "%s: got seq %llu, want %llu", what, (unsigned long long)f.seq,
		     (unsigned long long)want);
	cr_assert_eq(!!(f.flags & FR_FRAME_REDELIVERED), redelivered,
		     "%s: seq %llu flags %#x, want it %s FR_FRAME_REDELIVERED", what,
		     (unsigned long long)want, f.flags, redelivered ? "with" : "without");
	cr_assert_eq(((const uint8_t *)f.data)[FRAME_BYTES - 1], fill_byte(want),
		     "%s: payload of seq %llu", what, (unsigned long long)want);
	FRT_ASSERT_OK(fr_release(cons, &f));
}

static bool helper_alive(pid_t pid)
{
	char st = frt_proc_state(pid);
	return pid > 0 && st != 0 && st != 'Z' && st != 'X';
}

/* ---- (1), (2): calls in the child, fr_close or not ------------------------------ */

static void record(struct forkt *ft, enum child_call c, int rc)
{
	atomic_store(&ft->rc[c], rc);
}

static int inherited_calls_main(void *arg)
{
	struct forkt *ft = arg;
	struct fr_frame f, held = ft->held, claimed = ft->claimed;
	struct fr_info info;
	/* Consumer first: timeouts 0 so that nothing here can block. */
	record(ft, C_ACQUIRE, fr_acquire(ft->consumer, &f, 0));
	record(ft, C_ACQUIRE_EX, fr_acquire_ex(ft->consumer, &f, 0, 0));
	record(ft, C_RELEASE, fr_release(ft->consumer, &held));
	record(ft, C_INFO, fr_info(ft->consumer, &info));
	record(ft, C_CLAIM_ON_CONSUMER, fr_claim(ft->consumer, &f, 0));
	record(ft, C_SET_SPIN, fr_set_spin(ft->consumer, 0));
	record(ft, C_CLAIM, fr_claim(ft->producer, &f, 0));
	record(ft, C_PUBLISH, fr_publish(ft->producer, &claimed));
	record(ft, C_CANCEL, fr_cancel(ft->producer, &claimed));
	record(ft, C_INFO_PRODUCER, fr_info(ft->producer, &info));
	record(ft, C_SET_SPIN_PRODUCER, fr_set_spin(ft->producer, 0));
	if (ft->child_closes) {
		/* Frees the child's copies only; the parent stays attached. */
		fr_close(ft->consumer);
		fr_close(ft->producer);
	}
	return 0;
}

static void expect_echild(struct forkt *ft, enum child_call from, enum child_call to)
{
	for (int c = from; c <= (int)to; c++) {
		int rc = atomic_load(&ft->rc[c]);
		cr_expect_eq(rc, -ECHILD, "in the forked child %s returned %d (%s), want -ECHILD",
			     call_names[c], rc, rc == INT32_MIN ? "not called" : fr_strerror(rc));
	}
}

static void fork_with_handles(int child_closes)
{
	struct forkt *ft = forkt_new(child_closes ? "forkclose" : "forkexit");
	struct fr_ring *prod = create(ft->name, FR_SPSC), *cons = NULL;
	FRT_ASSERT_OK(fr_open(ft->name, FR_CONSUMER, &cons));
	for (uint64_t s = 0; s < 3; s++)
		publish(prod, s);
	/* The parent holds a frame on each side when it forks. */
	FRT_ASSERT_OK(fr_acquire(cons, &ft->held, 0));
	cr_assert_eq(ft->held.seq, 0);
	FRT_ASSERT_OK(fr_claim(prod, &ft->claimed, 0));
	ft->consumer = cons;
	ft->producer = prod;
	ft->child_closes = child_closes;

	pid_t child = frt_spawn(inherited_calls_main, ft);
	cr_assert_gt(child, 0);
	int st = frt_wait(child, BOUND_S);
	cr_assert_eq(st, 0, "the forked child ended with status %d (128+n: signal n)", st);
	expect_echild(ft, C_ACQUIRE, C_SET_SPIN_PRODUCER);

	/* The parent is still the SPSC consumer and producer. */
	struct fr_ring *second = NULL;
	int rc = fr_open(ft->name, FR_CONSUMER, &second);
	cr_assert_eq(rc, -EBUSY,
		     "a second consumer's fr_open returned %d (%s) after the child %s: the parent "
		     "was detached",
		     rc, fr_strerror(rc), child_closes ? "closed its copy" : "exited");
	rc = fr_open(ft->name, FR_PRODUCER, &second);
	cr_assert_eq(rc, -EBUSY, "a second producer's fr_open returned %d (%s)", rc,
		     fr_strerror(rc));
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(cons, &info));
	cr_assert_eq(info.live_peers, 2, "%u live peers after the child %s", info.live_peers,
		     child_closes ? "closed" : "exited");

	/* And both handles go on where they were: the claim publishes as seq 3,
	 * the held frame releases, the next ones follow, nothing redelivered. */
	memset(ft->claimed.data, fill_byte(3), FRAME_BYTES);
	ft->claimed.bytes = FRAME_BYTES;
	FRT_ASSERT_OK(fr_publish(prod, &ft->claimed));
	cr_assert_eq(ft->claimed.seq, 3);
	FRT_ASSERT_OK(fr_release(cons, &ft->held));
	for (uint64_t s = 1; s <= 3; s++)
		expect_frame(cons, s, false, "parent after the fork");
	FRT_ASSERT_OK(fr_info(cons, &info));
	cr_assert_eq(info.redelivered, 0);
	cr_assert_eq(info.consumed, 4);
	fr_close(cons);
	fr_close(prod);
	forkt_free(ft);
}

Test(crash, fork_child_closes) { fork_with_handles(1); }
Test(crash, fork_child_exits) { fork_with_handles(0); }

/* ---- (3), (4): a helper outlives the process that forked it --------------------- */

/* The helper: touches nothing of the library; lives until told, its bound, or
 * the end of the test process (a failed test must not leave it behind). */
static _Noreturn void helper_main(struct forkt *ft)
{
	atomic_store(&ft->helper_running, 1);
	for (int i = 0; i < HELPER_LIFE_S * 100 && !atomic_load(&ft->helper_exit); i++) {
		if (kill(ft->test_pid, 0) != 0 && errno == ESRCH)
			break;
		frt_sleep_ms(10);
	}
	_exit(0);
}

/* Fork the long-lived helper (a plain fork: frt_spawn would tie it to our
 * death with PR_SET_PDEATHSIG, and outliving us is the point). */
static void fork_helper(struct forkt *ft)
{
	fflush(NULL);
	pid_t h = fork();
	if (h == 0)
		helper_main(ft);
	FRT_CHILD_CHECK(h > 0);
	atomic_store(&ft->helper, h);
	/* The library's fork handling runs in the child before fork() returns
	 * there: until the helper runs, it may still hold the inherited
	 * descriptors. "A helper that lives" means one that got that far. */
	for (int i = 0; !atomic_load(&ft->helper_running); i++) {
		FRT_CHILD_CHECKF(i < BOUND_S * 1000, "the helper never ran");
		frt_sleep_ms(1);
	}
}

/* Wait to be SIGKILLed by the test; returning means the test gave up on us. */
static int wait_for_the_end(void)
{
	frt_sleep_ms(BOUND_S * 1000L);
	return FRT_CHILD_FAILED;
}

/* A consumer that holds seq 0, forks the helper and waits to be killed. */
static int holding_consumer_main(void *arg)
{
	struct forkt *ft = arg;
	struct fr_ring *ring = NULL;
	struct fr_frame f;
	FRT_CHILD_OK(fr_open(ft->name, FR_CONSUMER, &ring));
	FRT_CHILD_OK(fr_acquire(ring, &f, WAIT_MS));
	FRT_CHILD_CHECK(f.seq == 0);
	fork_helper(ft);
	atomic_store(&ft->stage, 1);
	return wait_for_the_end();
}

/* The helper is reparented to the test when its parent dies: let it go and reap it. */
static void end_helper(struct forkt *ft)
{
	pid_t h = atomic_load(&ft->helper);
	atomic_store(&ft->helper_exit, 1);
	int st = frt_wait(h, BOUND_S);
	atomic_store(&ft->helper, 0);
	cr_assert_eq(st, 0, "the helper ended with status %d", st);
}

/* The killed holder's children come to us (not to init), so that we can reap them. */
static void become_subreaper(void)
{
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

Test(crash, fork_helper_outlives_spsc_consumer)
{
	become_subreaper();
	struct forkt *ft = forkt_new("forkspsc");
	struct fr_ring *prod = create(ft->name, FR_SPSC);
	publish(prod, 0);
	publish(prod, 1);
	pid_t holder = frt_spawn(holding_consumer_main, ft);
	cr_assert_gt(holder, 0);
	cr_assert_eq(frt_wait_flag(&ft->stage, 1, holder, BOUND_S), 0,
		     "the consumer never held seq 0 (status %d)", frt_try_wait(holder));
	pid_t helper = atomic_load(&ft->helper);
	cr_assert(helper_alive(helper));
	frt_kill(holder); /* SIGKILL and reap: its fds are closed once waitpid returns */

	/* At once, no retry: the killed consumer's lock went with the last
	 * reference to its open file description. The helper closed its copy
	 * of the descriptor at fork, and the mapping it inherited must not pin
	 * that description either (a MAP_SHARED mapping holds a reference to
	 * the file it was mapped from). */
	struct fr_ring *cons = NULL;
	int rc = fr_open(ft->name, FR_CONSUMER, &cons);
	cr_assert_eq(rc, 0,
		     "a new consumer's fr_open returned %d (%s) after the holder was killed, "
		     "while the helper it forked lives",
		     rc, fr_strerror(rc));
	expect_frame(cons, 0, true, "new consumer");
	cr_assert(helper_alive(helper), "the helper ended early: the check above proved nothing");
	expect_frame(cons, 1, false, "new consumer");
	end_helper(ft);
	fr_close(cons);
	fr_close(prod);
	forkt_free(ft);
}

/* A second MPMC consumer: waits (asleep) for a frame; reports what it got. */
static int waiting_consumer_main(void *arg)
{
	struct forkt *ft = arg;
	struct fr_ring *ring = NULL;
	struct fr_frame f;
	FRT_CHILD_OK(fr_open(ft->name, FR_CONSUMER, &ring));
	int rc = fr_acquire(ring, &f, WAIT_MS);
	atomic_store(&ft->helper_alive_at_get, helper_alive(atomic_load(&ft->helper)));
	if (rc == 0) {
		ft->got_seq = f.seq;
		ft->got_flags = f.flags;
		FRT_CHILD_CHECK(((const uint8_t *)f.data)[FRAME_BYTES - 1] == fill_byte(f.seq));
		FRT_CHILD_OK(fr_release(ring, &f));
	}
	atomic_store(&ft->got_rc, rc);
	fr_close(ring);
	return 0;
}

Test(crash, fork_helper_outlives_mpmc_consumer)
{
	become_subreaper();
	struct forkt *ft = forkt_new("forkmpmc");
	struct fr_ring *prod = create(ft->name, FR_MPMC);
	publish(prod, 0);
	pid_t holder = frt_spawn(holding_consumer_main, ft);
	cr_assert_gt(holder, 0);
	cr_assert_eq(frt_wait_flag(&ft->stage, 1, holder, BOUND_S), 0,
		     "the consumer never held seq 0 (status %d)", frt_try_wait(holder));
	pid_t helper = atomic_load(&ft->helper);
	/* The other consumer is asleep waiting when the holder dies: nothing but
	 * the dead holder's frame can wake it with a frame. */
	pid_t waiter = frt_spawn(waiting_consumer_main, ft);
	cr_assert_gt(waiter, 0);
	cr_assert_eq(frt_wait_futex_sleep(waiter, BOUND_S), 0, "the second consumer never slept");
	cr_assert(helper_alive(helper));
	frt_kill(holder);

	int st = frt_wait(waiter, BOUND_S);
	cr_assert_eq(st, 0, "the waiting consumer ended with status %d", st);
	int rc = atomic_load(&ft->got_rc);
	cr_assert_eq(rc, 0,
		     "the waiting consumer's fr_acquire returned %d (%s) after the holder was "
		     "killed, while the helper it forked lives: the frame was not redelivered",
		     rc, fr_strerror(rc));
	cr_assert_eq(ft->got_seq, 0, "got seq %llu", (unsigned long long)ft->got_seq);
	cr_assert(ft->got_flags & FR_FRAME_REDELIVERED, "seq 0 not flagged FR_FRAME_REDELIVERED");
	cr_assert(atomic_load(&ft->helper_alive_at_get),
		  "the helper had ended before the frame came: the check proved nothing");
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(prod, &info));
	cr_assert_eq(info.redelivered, 1);
	end_helper(ft);
	fr_close(prod);
	forkt_free(ft);
}

/* A broadcast producer that published seq 0, holds a claim, forks the helper. */
static int holding_producer_main(void *arg)
{
	struct forkt *ft = arg;
	struct fr_ring *ring = NULL;
	struct fr_frame f;
	FRT_CHILD_OK(fr_open(ft->name, FR_PRODUCER, &ring));
	FRT_CHILD_OK(fr_claim(ring, &f, WAIT_MS));
	memset(f.data, fill_byte(0), FRAME_BYTES);
	f.bytes = FRAME_BYTES;
	FRT_CHILD_OK(fr_publish(ring, &f));
	FRT_CHILD_CHECK(f.seq == 0);
	FRT_CHILD_OK(fr_claim(ring, &f, WAIT_MS));
	fork_helper(ft);
	atomic_store(&ft->stage, 1);
	return wait_for_the_end();
}

Test(crash, fork_helper_outlives_broadcast_producer)
{
	become_subreaper();
	struct forkt *ft = forkt_new("forkbc");
	fr_close(create(ft->name, FR_BROADCAST)); /* made ahead of its camera: no end */
	struct fr_ring *cons = NULL;
	FRT_ASSERT_OK(fr_open(ft->name, FR_CONSUMER, &cons)); /* reliable, from seq 0 */
	pid_t holder = frt_spawn(holding_producer_main, ft);
	cr_assert_gt(holder, 0);
	cr_assert_eq(frt_wait_flag(&ft->stage, 1, holder, BOUND_S), 0,
		     "the producer never got its claim (status %d)", frt_try_wait(holder));
	pid_t helper = atomic_load(&ft->helper);
	cr_assert(helper_alive(helper));
	frt_kill(holder);

	struct fr_ring *prod = NULL;
	int rc = fr_open(ft->name, FR_PRODUCER, &prod);
	cr_assert_eq(rc, 0,
		     "a restarted producer's fr_open returned %d (%s) after the old one was "
		     "killed, while the helper it forked lives",
		     rc, fr_strerror(rc));
	cr_assert(helper_alive(helper), "the helper ended early: the check above proved nothing");
	publish(prod, 1);
	expect_frame(cons, 0, false, "consumer");
	expect_frame(cons, 1, false, "consumer");
	end_helper(ft);
	fr_close(prod);
	fr_close(cons);
	forkt_free(ft);
}

/* ---- (5): fr_open_from with an inherited sibling ------------------------------- */

static int open_from_main(void *arg)
{
	struct forkt *ft = arg;
	struct fr_ring *ring = NULL;
	record(ft, C_OPEN_FROM_CONSUMER, fr_open_from(ft->consumer, FR_CONSUMER, &ring));
	ring = NULL;
	record(ft, C_OPEN_FROM_PRODUCER, fr_open_from(ft->producer, FR_PRODUCER, &ring));
	/* What the header asks for instead: open after forking. */
	ring = NULL;
	int rc = fr_open(ft->name, FR_CONSUMER, &ring);
	record(ft, C_FRESH_OPEN, rc);
	if (rc == 0)
		fr_close(ring);
	return 0;
}

Test(crash, fork_open_from)
{
	struct forkt *ft = forkt_new("forkfrom");
	struct fr_ring *prod = create(ft->name, FR_MPMC), *cons = NULL;
	FRT_ASSERT_OK(fr_open(ft->name, FR_CONSUMER, &cons));
	ft->consumer = cons;
	ft->producer = prod;
	pid_t child = frt_spawn(open_from_main, ft);
	cr_assert_gt(child, 0);
	int st = frt_wait(child, BOUND_S);
	cr_assert_eq(st, 0, "the forked child ended with status %d (128+n: signal n)", st);
	expect_echild(ft, C_OPEN_FROM_CONSUMER, C_OPEN_FROM_PRODUCER);
	int rc = atomic_load(&ft->rc[C_FRESH_OPEN]);
	cr_expect_eq(rc, 0, "in the forked child a fresh fr_open returned %d (%s)", rc,
		     fr_strerror(rc));

	/* The parent's handles are untouched and nothing else stays attached. */
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(cons, &info));
	cr_assert_eq(info.live_peers, 2, "%u live peers", info.live_peers);
	publish(prod, 0);
	expect_frame(cons, 0, false, "parent");
	fr_close(cons);
	fr_close(prod);
	forkt_free(ft);
}
