/*
 * The adaptive spin (FR_SPIN_ADAPTIVE, the default wait): the estimate's
 * update and the spin budget as pure functions (lib/wait.c), then handles
 * through the public API, with the estimate read from the handle (internal.h).
 *
 * No assertion depends on timing. A wait is known to be long only when the
 * test made it so: the other side acts after it saw the waiter asleep in the
 * futex several times 5 ms apart, or the wait timed out (1 ms at least).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>

#include "internal.h"
#include "layout.h"
#include "helpers.h"

TestSuite(spin, .fini = frt_cleanup, .timeout = 240);

#define CAP FRI_SPIN_CAP_NS
#define SAMPLE_MAX FRI_SPIN_SAMPLE_MAX_NS
#define SHORT FR_DEFAULT_SPIN_NS
/* The longest spin: a margin above the largest short estimate. */
#define LONGEST_SPIN ((long)(CAP - 1) + (long)((CAP - 1) / 2) + FR_DEFAULT_SPIN_NS)

/* The estimate after @n waits of @waited_ns each, all ready (rc 0), from @est. */
static uint32_t after_waits(uint32_t est, int n, uint64_t waited_ns)
{
	for (int i = 0; i < n; i++)
		est = fri_spin_update(est, 0, waited_ns);
	return est;
}

/* ---- the budget and its update (pure) -------------------------------------- */

Test(spin, starts_with_the_short_spin)
{
	/* A new handle's estimates are 0: its first waits spin as the old default did. */
	cr_expect_eq(fri_spin_budget(0), SHORT);
}

Test(spin, budget_spins_past_a_short_estimate)
{
	long prev = 0;
	for (uint32_t est = 0; est < CAP; est += 997) {
		long b = fri_spin_budget(est);
		cr_expect_gt(b, (long)est, "estimate %u: budget %ld does not reach past it", est, b);
		cr_expect_geq(b, prev, "estimate %u: budget %ld fell below %ld", est, b, prev);
		cr_expect_leq(b, LONGEST_SPIN, "estimate %u: budget %ld over the cap", est, b);
		prev = b;
	}
	cr_expect_eq(fri_spin_budget(CAP - 1), LONGEST_SPIN);
	cr_expect_eq(fri_spin_budget(CAP), SHORT, "an estimate at the cap is a long one");
}

Test(spin, grows_toward_short_waits)
{
	/* From the short spin, waits of 60 us (a fast stream) raise the estimate
	 * step by step, never past them, until a 60 us wait ends in the spin. */
	uint32_t est = 0;
	for (int i = 0; i < 30; i++) {
		uint32_t next = fri_spin_update(est, 0, 60000);
		cr_assert_geq(next, est, "wait %d: the estimate fell from %u to %u", i, est, next);
		cr_assert_leq(next, 60000u, "wait %d: the estimate passed the waits: %u", i, next);
		est = next;
	}
	cr_expect_geq(est, 59000u, "30 waits of 60 us left the estimate at %u ns", est);
	cr_expect_geq(fri_spin_budget(est), 60000L, "a 60 us wait would still sleep");

	/* And back from the longest estimate: a dozen short waits (thirteen of 55 us
	 * in the arithmetic of wait.c; sixteen allowed) make the spin adaptive again. */
	int n = 0;
	for (est = SAMPLE_MAX; fri_spin_budget(est) == SHORT && n < 100; n++)
		est = fri_spin_update(est, 0, 55000);
	cr_expect_leq(n, 16, "%d waits of 55 us to leave the short spin", n);
	cr_expect_gt(fri_spin_budget(est), 55000L);
}

Test(spin, follows_the_waits_down)
{
	/* Waits that get shorter shrink the spin: no ratchet. */
	uint32_t est = after_waits(0, 40, 150000);
	long wide = fri_spin_budget(est);
	est = after_waits(est, 40, 20000);
	cr_expect_lt(fri_spin_budget(est), wide);
	cr_expect_leq(est, 21000u, "40 waits of 20 us left the estimate at %u ns", est);
}

Test(spin, capped)
{
	/* Whatever the waits, the spin never exceeds the longest adaptive one, and
	 * waits at or beyond the cap bring the short spin. */
	static const uint64_t waits[] = { 0, 1, 1000, 100000, CAP - 1, CAP, CAP + 1, 250000,
					  SAMPLE_MAX, 16000000, UINT64_MAX };
	for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
		uint32_t est = 0;
		for (int k = 0; k < 200; k++) {
			est = fri_spin_update(est, 0, waits[i]);
			long b = fri_spin_budget(est);
			cr_assert(b >= SHORT && b <= LONGEST_SPIN, "waits of %llu ns: budget %ld",
				  (unsigned long long)waits[i], b);
		}
		if (waits[i] >= CAP)
			cr_expect_eq(fri_spin_budget(est), SHORT,
				     "waits of %llu ns (past the cap) still spin %ld ns",
				     (unsigned long long)waits[i], fri_spin_budget(est));
	}
}

Test(spin, one_long_wait_or_timeout_falls_back)
{
	/* From any short estimate, one wait of a 60 fps gap, or one timeout,
	 * returns to the short spin. */
	static const uint32_t ests[] = { 0, 1, 5000, 50000, 100000, CAP - 1 };
	for (size_t i = 0; i < sizeof ests / sizeof ests[0]; i++) {
		uint32_t e = ests[i];
		cr_expect_eq(fri_spin_budget(fri_spin_update(e, 0, 16666667)), SHORT,
			     "estimate %u: a 16 ms wait did not fall back", e);
		cr_expect_eq(fri_spin_budget(fri_spin_update(e, 0, SAMPLE_MAX)), SHORT,
			     "estimate %u: a wait of 4x the cap did not fall back", e);
		/* A timeout falls back whatever time it reports: it found nothing. */
		cr_expect_eq(fri_spin_budget(fri_spin_update(e, -ETIMEDOUT, 0)), SHORT,
			     "estimate %u: a timeout did not fall back", e);
		cr_expect_eq(fri_spin_budget(fri_spin_update(e, -ETIMEDOUT, UINT64_MAX)), SHORT);
	}
}

Test(spin, interruptions_and_errors_change_nothing)
{
	static const int rcs[] = { -EINTR, -EPIPE, -EPROTO, -ECHILD };
	static const uint64_t waits[] = { 0, 1000, 16000000, UINT64_MAX };
	for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++) {
		for (size_t k = 0; k < sizeof waits / sizeof waits[0]; k++) {
			cr_expect_eq(fri_spin_update(50000, rcs[i], waits[k]), 50000u,
				     "rc %d after %llu ns moved the estimate", rcs[i],
				     (unsigned long long)waits[k]);
			cr_expect_eq(fri_spin_update(0, rcs[i], waits[k]), 0u);
		}
	}
}

Test(spin, never_overflows)
{
	/* Extremes: an hour-long or endless wait, an estimate of any 32-bit value. */
	cr_expect_leq(fri_spin_update(UINT32_MAX, 0, UINT64_MAX), SAMPLE_MAX);
	cr_expect_leq(fri_spin_update(UINT32_MAX, -ETIMEDOUT, 0), SAMPLE_MAX);
	cr_expect_leq(fri_spin_update(UINT32_MAX, -EINTR, 0), SAMPLE_MAX);
	cr_expect_eq(fri_spin_update(0, 0, UINT64_MAX), SAMPLE_MAX / 2);
	cr_expect_eq(fri_spin_budget(UINT32_MAX), SHORT);
	cr_expect_eq(after_waits(0, 100, UINT64_MAX), after_waits(0, 100, SAMPLE_MAX),
		     "a wait beyond the clamp weighs more than the clamp");

	/* A random walk over outcomes and lengths keeps every invariant. */
	uint64_t rng = 0x9e3779b97f4a7c15u;
	uint32_t est = 0;
	for (int i = 0; i < 200000; i++) {
		uint64_t r = frt_rand(&rng);
		int rc = (r & 7) == 0 ? -ETIMEDOUT : (r & 7) == 1 ? -EINTR : 0;
		uint64_t waited = frt_rand(&rng);
		waited >>= (unsigned)(frt_rand(&rng) % 64); /* lengths of every magnitude */
		uint32_t next = fri_spin_update(est, rc, waited);
		cr_assert_leq(next, SAMPLE_MAX, "step %d: estimate %u", i, next);
		if (rc == -EINTR)
			cr_assert_eq(next, est, "step %d: -EINTR moved the estimate", i);
		long b = fri_spin_budget(next);
		cr_assert(b >= SHORT && b <= LONGEST_SPIN, "step %d: budget %ld", i, b);
		est = next;
	}
}

/* ---- handles ---------------------------------------------------------------- */

static struct fr_ring *make_ring(char *name, const char *tag, uint32_t slots)
{
	struct fr_config cfg = { .mode = FR_SPSC, .slots = slots, .frame_bytes = 256 };
	return frt_create_ok(frt_name(name, FRT_NAME_SIZE, tag), &cfg);
}

Test(spin, set_spin_values)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "setspin", 2);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	cr_expect_eq(cons->spin_ns, FR_SPIN_ADAPTIVE, "the default is not adaptive");
	cr_expect_eq(prod->spin_ns, FR_SPIN_ADAPTIVE);
	FRT_ASSERT_ERR(fr_set_spin(cons, FR_SPIN_ADAPTIVE - 1), -EINVAL);
	FRT_ASSERT_ERR(fr_set_spin(NULL, FR_SPIN_ADAPTIVE), -EINVAL);
	cr_expect_eq(cons->spin_ns, FR_SPIN_ADAPTIVE, "a refused value changed the setting");

	/* Setting adaptive while adaptive keeps what the handle learnt. */
	cons->acquire_wait_ns = 50000;
	FRT_ASSERT_OK(fr_set_spin(cons, FR_SPIN_ADAPTIVE));
	cr_expect_eq(cons->acquire_wait_ns, 50000u);

	/* Explicit values keep their meaning and do not learn: a timeout under a
	 * fixed spin leaves the estimate where it was. */
	struct fr_frame f;
	FRT_ASSERT_OK(fr_set_spin(cons, 0));
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 1), -ETIMEDOUT);
	cr_expect_eq(cons->acquire_wait_ns, 50000u, "a fixed-spin wait moved the estimate");
	FRT_ASSERT_OK(fr_set_spin(cons, 3000));
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 1), -ETIMEDOUT);
	cr_expect_eq(cons->acquire_wait_ns, 50000u);
	FRT_ASSERT_OK(fr_set_spin(cons, -1));
	cr_expect_eq(cons->spin_ns, -1);

	/* Back to adaptive from another setting: afresh, the short spin. */
	FRT_ASSERT_OK(fr_set_spin(cons, FR_SPIN_ADAPTIVE));
	cr_expect_eq(cons->acquire_wait_ns, 0u);
	cr_expect_eq(cons->claim_wait_ns, 0u);
	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(spin, timeout_falls_back_per_direction)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "timeout", 2);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;

	/* A consumer that learnt short waits times out: the short spin again. */
	cons->acquire_wait_ns = 50000;
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 1), -ETIMEDOUT);
	cr_expect_geq(cons->acquire_wait_ns, CAP, "after a timeout the estimate is %u ns",
		      cons->acquire_wait_ns);
	cr_expect_eq(cons->claim_wait_ns, 0u, "an acquire moved the claim estimate");

	/* A producer on a full ring: its claim estimate, not its acquire one. */
	for (int i = 0; i < 2; i++) {
		FRT_ASSERT_OK(fr_claim(prod, &f, 0));
		FRT_ASSERT_OK(fr_publish(prod, &f));
	}
	prod->claim_wait_ns = 50000;
	FRT_ASSERT_ERR(fr_claim(prod, &f, 1), -ETIMEDOUT);
	cr_expect_geq(prod->claim_wait_ns, CAP, "after a timeout the estimate is %u ns",
		      prod->claim_wait_ns);
	cr_expect_eq(prod->acquire_wait_ns, 0u, "a claim moved the acquire estimate");

	/* A call that does not wait (ready at once, or timeout 0) learns nothing. */
	cons->acquire_wait_ns = 50000;
	FRT_ASSERT_OK(fr_acquire(cons, &f, -1));
	FRT_ASSERT_OK(fr_release(cons, &f));
	cr_expect_eq(cons->acquire_wait_ns, 50000u);
	FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
	FRT_ASSERT_OK(fr_release(cons, &f));
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN);
	cr_expect_eq(cons->acquire_wait_ns, 50000u);
	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- a waiter that learnt short waits still sleeps -------------------------- */

struct sleeper_arg {
	const char *name;
	int producer;              /* wait in fr_claim on a full ring, else in fr_acquire */
	int set_adaptive;          /* call fr_set_spin(FR_SPIN_ADAPTIVE), else the default */
	uint32_t est_ns;           /* the estimate to start the wait with */
	_Atomic uint32_t *waiting; /* set just before the blocking call */
	_Atomic uint32_t *done;    /* set once it returned and was checked */
};

static int sleeper(void *p)
{
	struct sleeper_arg *a = p;
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(a->name, a->producer ? FR_PRODUCER : FR_CONSUMER, &ring));
	if (a->set_adaptive)
		FRT_CHILD_OK(fr_set_spin(ring, FR_SPIN_ADAPTIVE));
	FRT_CHILD_CHECK(ring->spin_ns == FR_SPIN_ADAPTIVE);
	struct fr_frame f;
	if (a->producer) {
		while (fr_claim(ring, &f, 0) == 0) /* fill the ring */
			FRT_CHILD_OK(fr_publish(ring, &f));
	}
	uint32_t *mine = a->producer ? &ring->claim_wait_ns : &ring->acquire_wait_ns;
	uint32_t *other = a->producer ? &ring->acquire_wait_ns : &ring->claim_wait_ns;
	*mine = a->est_ns;
	atomic_store(a->waiting, 1);
	/* The test makes this wait long: it acts only after seeing us asleep. */
	FRT_CHILD_OK(a->producer ? fr_claim(ring, &f, -1) : fr_acquire(ring, &f, -1));
	FRT_CHILD_CHECKF(*mine >= CAP, "after a long wait the estimate is %u ns", *mine);
	FRT_CHILD_CHECKF(*other == 0, "the other direction's estimate moved to %u ns", *other);
	FRT_CHILD_OK(a->producer ? fr_publish(ring, &f) : fr_release(ring, &f));
	atomic_store(a->done, 1);
	fr_close(ring);
	return 0;
}

static void waiter_sleeps(int producer, int set_adaptive, uint32_t est_ns)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = NULL, *cons = NULL;
	if (producer) {
		fr_close(make_ring(name, "sleepp", 2));
		cons = frt_open_ok(name, FR_CONSUMER);
	} else {
		prod = make_ring(name, "sleepc", 2);
	}
	_Atomic uint32_t *shared = frt_shared_alloc(2 * sizeof *shared);
	cr_assert_not_null(shared);
	struct sleeper_arg a = { .name = name, .producer = producer,
				 .set_adaptive = set_adaptive, .est_ns = est_ns,
				 .waiting = &shared[0], .done = &shared[1] };
	pid_t pid = frt_spawn_ok(sleeper, &a);
	cr_assert_eq(frt_wait_flag(a.waiting, 1, pid, FRT_BOUND_S), 0, "the child never waited");
	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	const struct fr_shm_wait *line = producer ? &v.hdr->space_wait : &v.hdr->data_wait;
	int asleep = frt_wait_announced_sleep(pid, line);
	if (asleep != 0)
		frt_kill(pid);
	cr_assert_eq(asleep, 0, "a %s that learnt %u ns waits never slept in the futex",
		     producer ? "producer" : "consumer", est_ns);

	struct fr_frame f;
	if (producer) {
		FRT_ASSERT_OK(fr_acquire(cons, &f, FRT_WAIT_MS));
		FRT_ASSERT_OK(fr_release(cons, &f));
	} else {
		FRT_ASSERT_OK(fr_claim(prod, &f, 0));
		FRT_ASSERT_OK(fr_publish(prod, &f));
	}
	cr_assert_eq(frt_wait_flag(a.done, 1, pid, FRT_BOUND_S), 0, "the child was not woken");
	FRT_ASSERT_CHILD(pid);
	frt_view_close(&v);
	frt_shared_free((void *)shared, 2 * sizeof *shared);
	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(spin, idle_consumer_sleeps_by_default)
{
	waiter_sleeps(0, 0, 0);
}

Test(spin, consumer_with_short_waits_still_sleeps)
{
	/* The longest adaptive spin, then the futex as before. */
	waiter_sleeps(0, 1, CAP - 1);
}

Test(spin, producer_with_short_waits_still_sleeps)
{
	waiter_sleeps(1, 0, CAP - 1);
}

/* ---- -EINTR leaves the estimate alone ---------------------------------------- */

static volatile sig_atomic_t handler_runs;

static void on_signal(int sig)
{
	(void)sig;
	handler_runs++;
}

static int interrupted(void *p)
{
	struct sleeper_arg *a = p;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: the futex wait ends with EINTR */
	sigemptyset(&sa.sa_mask);
	FRT_CHILD_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(a->name, FR_CONSUMER, &ring));
	ring->acquire_wait_ns = a->est_ns;
	atomic_store(a->waiting, 1);
	struct fr_frame f;
	int rc = fr_acquire(ring, &f, -1);
	FRT_CHILD_CHECKF(rc == -EINTR, "fr_acquire returned %d, want -EINTR", rc);
	FRT_CHILD_CHECK(handler_runs >= 1);
	FRT_CHILD_CHECKF(ring->acquire_wait_ns == a->est_ns,
			 "-EINTR moved the estimate from %u to %u ns", a->est_ns,
			 ring->acquire_wait_ns);
	fr_close(ring);
	return 0;
}

Test(spin, eintr_leaves_the_estimate)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "intr", 2);
	_Atomic uint32_t *shared = frt_shared_alloc(2 * sizeof *shared);
	cr_assert_not_null(shared);
	struct sleeper_arg a = { .name = name, .est_ns = 50000, .waiting = &shared[0],
				 .done = &shared[1] };
	pid_t pid = frt_spawn_ok(interrupted, &a);
	int asleep = frt_wait_futex_sleep(pid, 60);
	if (asleep != 0)
		frt_kill(pid);
	cr_assert_eq(asleep, 0, "the waiting child never slept in a futex wait");
	int status = frt_signal_until_exit(pid, SIGUSR1);
	cr_assert_eq(status, 0, "interrupted child ended with status %d", status);
	frt_shared_free((void *)shared, 2 * sizeof *shared);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- crowded: more peers than CPUs ------------------------------------------ */

/* Keep this test process on one CPU (before its first wait counts them). */
static void one_cpu(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
	cr_assert_eq(__builtin_popcountll(fri_cpu_mask()), 1);
}

/* A producer and a consumer on one CPU are crowded; the flag follows the count. */
Test(spin, more_peers_than_cpus_is_crowded)
{
	one_cpu();
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "crowd", 2);
	struct fr_frame f;
	FRT_ASSERT_ERR(fr_claim(prod, &f, 0), 0);
	FRT_ASSERT_OK(fr_publish(prod, &f));
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	FRT_ASSERT_OK(fr_publish(prod, &f));
	FRT_ASSERT_ERR(fr_claim(prod, &f, 1), -ETIMEDOUT); /* one peer, one CPU */
	cr_expect(!prod->crowded, "a lone producer on one CPU counted as crowded");

	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	prod->crowd_countdown = 0; /* count again at the next wait */
	FRT_ASSERT_ERR(fr_claim(prod, &f, 1), -ETIMEDOUT);
	cr_expect(prod->crowded, "two peers on one CPU not counted as crowded");
	fr_close(cons);
	prod->crowd_countdown = 0;
	FRT_ASSERT_ERR(fr_claim(prod, &f, 1), -ETIMEDOUT);
	cr_expect(!prod->crowded, "still crowded after the consumer left");
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* A consumer pinned to one CPU, attached until the parent closes @go. */
struct pinned_consumer {
	const char *name;
	int cpu;
	int ready; /* write end: one byte once attached */
	int go;    /* read end: EOF says detach and exit */
	int go_w;  /* its write end, which the child closes */
};

static int pinned_consumer_main(void *arg)
{
	const struct pinned_consumer *c = arg;
	close(c->go_w); /* or the read below never sees EOF */
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	FRT_CHILD_CHECK(sched_setaffinity(0, sizeof(set), &set) == 0);
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(c->name, FR_CONSUMER, &ring));
	FRT_CHILD_CHECK(frt_ready_signal(c->ready) == 0);
	char b;
	while (read(c->go, &b, 1) > 0) {
	}
	fr_close(ring);
	return 0;
}

/* Count again at a wait that times out (the ring is full). */
static bool recount(struct fr_ring *prod)
{
	struct fr_frame f;
	prod->crowd_countdown = 0;
	FRT_ASSERT_ERR(fr_claim(prod, &f, 1), -ETIMEDOUT);
	return prod->crowded;
}

/*
 * Pipelines pin each process to a CPU of its own: a producer on one CPU and
 * a consumer on another are two peers on two CPUs, not crowded, though each
 * process may use only one (the count once went by the process's own
 * affinity, and every pinned pair spun only 5 us). A second consumer on the
 * same CPU as the first makes three peers on two CPUs: crowded.
 */
Test(spin, peers_pinned_apart_are_not_crowded)
{
	cpu_set_t mine;
	int cpu[2], n = 0;
	cr_assert_eq(sched_getaffinity(0, sizeof(mine), &mine), 0);
	for (int i = 0; i < 64 && n < 2; i++)
		if (CPU_ISSET(i, &mine))
			cpu[n++] = i;
	FRT_SKIP_UNLESS(n == 2, "needs two CPUs below 64 to pin to");
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu[0], &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);

	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = FR_MPMC, .slots = 2, .frame_bytes = 256};
	struct fr_ring *prod = frt_create_ok(frt_name(name, sizeof name, "pinned"), &cfg);
	struct fr_frame f;
	for (int i = 0; i < 2; i++) {
		FRT_ASSERT_OK(fr_claim(prod, &f, 0));
		FRT_ASSERT_OK(fr_publish(prod, &f));
	}
	int ready[2], go[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	struct pinned_consumer c = {.name = name, .cpu = cpu[1], .ready = ready[1], .go = go[0],
				   .go_w = go[1]};
	pid_t pid[2];
	pid[0] = frt_spawn(pinned_consumer_main, &c);
	cr_assert_gt(pid[0], 0);
	cr_assert_eq(frt_ready_wait(ready[0], 1, FRT_WAIT_MS), 0, "the consumer did not attach");
	cr_expect_eq(atomic_load(&prod->self->cpus), UINT64_C(1) << cpu[0]);
	uint64_t theirs = 0;
	for (unsigned i = 0; i < FR_MAX_PEERS; i++)
		if ((int)i != prod->peer && atomic_load(&prod->hdr->peers[i].state) == FR_PEER_LIVE)
			theirs = atomic_load(&prod->hdr->peers[i].cpus);
	cr_expect_eq(theirs, UINT64_C(1) << cpu[1], "the consumer's entry says CPUs %#llx",
		     (unsigned long long)theirs);
	cr_expect(!recount(prod), "a producer on CPU %d and a consumer on CPU %d counted as "
		  "crowded", cpu[0], cpu[1]);

	pid[1] = frt_spawn(pinned_consumer_main, &c);
	cr_assert_gt(pid[1], 0);
	cr_assert_eq(frt_ready_wait(ready[0], 1, FRT_WAIT_MS), 0, "the consumer did not attach");
	cr_expect(recount(prod), "three peers on two CPUs not counted as crowded");

	close(go[1]); /* both consumers detach and exit */
	for (int i = 0; i < 2; i++)
		FRT_ASSERT_CHILD(pid[i]);
	cr_expect(!recount(prod), "crowded after the consumers left");
	close(go[0]);
	close(ready[0]);
	close(ready[1]);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* A step that is ready at its @ready-th try, or once the wait has slept. */
struct counted {
	unsigned tries, ready;
	bool ticked;
	bool yield_off; /* the wait's crowded-yield state */
};

static int counted_try(void *p)
{
	struct counted *c = p;
	return ++c->tries >= c->ready || c->ticked ? 0 : -EAGAIN;
}

static void counted_tick(void *p)
{
	((struct counted *)p)->ticked = true; /* after a sleep */
}

/* An adaptive wait on @line with the estimate @est, of the step @c: sleeps
 * of at most 1 ms, 10 s in all. */
static struct fr_wait counted_wait(struct fr_shm_wait *line, uint32_t *est, struct counted *c,
				   bool crowded)
{
	memset(line, 0, sizeof(*line));
	return (struct fr_wait){
		.line = line,
		.bit = 1,
		.spin_ns = FR_SPIN_ADAPTIVE,
		.spin_est = est,
		.crowded = crowded,
		.may_yield = crowded,
		.yield_off = &c->yield_off,
		.slice_ns = 1000000,
		.timeout_ms = 10000,
		.try_fn = counted_try,
		.tick_fn = counted_tick,
		.arg = c,
	};
}

/*
 * Crowded, a wait whose estimate is below the sample ceiling yields the CPU
 * between its tries instead of spinning, for its budget (about 300 us for
 * this estimate), then sleeps: a step never ready in time (a million tries)
 * sees one try after each yield and no spinning ones (the first try, the
 * yields' and the sleep phase's re-checks, nothing else), and the wait
 * sleeps (a 1 ms nap nobody ends, after which the step is ready).
 */
Test(spin, crowded_waits_yield_then_sleep)
{
	struct fr_shm_wait line;
	struct counted c = {.ready = 1000000};
	uint32_t est = CAP - 1;
	struct fr_wait w = counted_wait(&line, &est, &c, true);
	cr_assert_eq(fri_wait_until(&w), 0);
	cr_expect(w.slept, "a crowded wait made %u tries without sleeping", c.tries);
	cr_expect_gt(w.yields, 0, "a crowded wait with a short estimate never yielded");
	cr_expect_leq(c.tries, w.yields + 3, "a crowded wait spun: %u tries, %u yields",
		      c.tries, w.yields);
}

/* Crowded, a step ready at its third try: the wait ends in the yields (two),
 * or, when one yield took the whole budget on a busy machine, at the sleep
 * phase's re-check before any sleep (one). */
Test(spin, crowded_short_wait_ends_in_its_yields)
{
	struct fr_shm_wait line;
	struct counted c = {.ready = 3};
	uint32_t est = 400000; /* above the spin's cap: a touch reader's wait */
	struct fr_wait w = counted_wait(&line, &est, &c, true);
	cr_assert_eq(fri_wait_until(&w), 0);
	cr_expect(!w.slept, "a crowded wait ready at its third try slept");
	cr_expect_eq(c.tries, 3);
	cr_expect(w.yields == 1 || w.yields == 2, "%u yields for a step ready at its third try",
		  w.yields);
}

/* Crowded, with every recent wait long (the estimate at the ceiling): no
 * yields, the wait sleeps at once, as an idle consumer does, and the yields
 * stay off. */
Test(spin, crowded_long_waits_sleep_at_once)
{
	struct fr_shm_wait line;
	struct counted c = {.ready = 1000000};
	uint32_t est = FRI_SPIN_SAMPLE_MAX_NS;
	struct fr_wait w = counted_wait(&line, &est, &c, true);
	cr_assert_eq(fri_wait_until(&w), 0);
	cr_expect(w.slept);
	cr_expect_eq(w.yields, 0, "%u yields with every recent wait long", w.yields);
	cr_expect_leq(c.tries, 3, "%u tries before a crowded wait at the ceiling slept", c.tries);
	cr_expect(c.yield_off, "the ceiling did not turn the yields off");
}

/* Hysteresis: once off, the yields stay off while the estimate is above
 * FRI_CROWD_YIELD_RESUME_NS (a slow stream with an odd short wait), and come
 * back below it. */
Test(spin, crowded_yields_resume_only_when_waits_are_short_again)
{
	struct fr_shm_wait line;
	struct counted c = {.ready = 1000000, .yield_off = true};
	uint32_t est = FRI_CROWD_YIELD_RESUME_NS + 100000;
	struct fr_wait w = counted_wait(&line, &est, &c, true);
	cr_assert_eq(fri_wait_until(&w), 0);
	cr_expect_eq(w.yields, 0, "%u yields above the resume mark", w.yields);
	cr_expect(c.yield_off);

	struct counted d = {.ready = 3, .yield_off = true};
	est = FRI_CROWD_YIELD_RESUME_NS - 1;
	w = counted_wait(&line, &est, &d, true);
	cr_assert_eq(fri_wait_until(&w), 0);
	cr_expect_gt(w.yields, 0, "no yields below the resume mark");
	cr_expect(!d.yield_off);
}

/* Crowded under a real-time policy (may_yield false): no yields, the short
 * spin, then the sleep. */
Test(spin, crowded_without_yields_spins_short)
{
	struct fr_shm_wait line;
	struct counted c = {.ready = 1000000};
	uint32_t est = 400000;
	struct fr_wait w = counted_wait(&line, &est, &c, true);
	w.may_yield = false;
	cr_assert_eq(fri_wait_until(&w), 0);
	cr_expect(w.slept);
	cr_expect_eq(w.yields, 0);
}

/* A timeout shorter than the yields' budget (~1.2 ms here) ends the wait:
 * -ETIMEDOUT, and the estimate goes to the ceiling. */
Test(spin, crowded_wait_times_out_within_its_yields)
{
	struct fr_shm_wait line;
	struct counted c = {.ready = UINT32_MAX};
	uint32_t est = FRI_SPIN_SAMPLE_MAX_NS - 1;
	struct fr_wait w = counted_wait(&line, &est, &c, true);
	w.timeout_ms = 1;
	cr_assert_eq(fri_wait_until(&w), -ETIMEDOUT);
	cr_expect_gt(w.yields, 0);
	cr_expect_eq(est, FRI_SPIN_SAMPLE_MAX_NS, "estimate %u after a timeout", est);
}

/* The policy check: ordinary threads yield to their peers, SCHED_FIFO ones
 * do not (checked where the test may set it: root). */
Test(spin, realtime_policy_does_not_yield)
{
	cr_expect(fri_policy_yields(), "SCHED_OTHER said not to yield");
	struct sched_param rt = {.sched_priority = 1}, normal = {.sched_priority = 0};
	if (sched_setscheduler(0, SCHED_FIFO, &rt) != 0)
		cr_skip_test("SCHED_FIFO not allowed here: %s", strerror(errno));
	bool yields = fri_policy_yields();
	cr_assert_eq(sched_setscheduler(0, SCHED_OTHER, &normal), 0);
	cr_expect(!yields, "SCHED_FIFO said to yield");
}

/* The budgets: a crowded wait yields past the spin's cap, up to the ceiling. */
Test(spin, crowd_yield_budget)
{
	cr_expect_eq(fri_crowd_yield_budget(0), FR_DEFAULT_SPIN_NS);
	cr_expect_eq(fri_crowd_yield_budget(400000), 600000 + FR_DEFAULT_SPIN_NS);
	cr_expect_eq(fri_crowd_yield_budget(FRI_SPIN_SAMPLE_MAX_NS - 1),
		     (long)(FRI_SPIN_SAMPLE_MAX_NS - 1) + (long)((FRI_SPIN_SAMPLE_MAX_NS - 1) / 2) +
			 FR_DEFAULT_SPIN_NS);
	cr_expect_eq(fri_crowd_yield_budget(FRI_SPIN_SAMPLE_MAX_NS), 0);
}

/* A wait that ends within the first tries reads no clock and counts as 0 ns:
 * the estimate moves down as for a wait of 0. */
Test(spin, a_wait_ended_in_the_first_tries_counts_as_zero)
{
	struct fr_shm_wait line;
	struct counted c = {.ready = 10};
	uint32_t est = 100000;
	struct fr_wait w = counted_wait(&line, &est, &c, false);
	cr_assert_eq(fri_wait_until(&w), 0);
	cr_expect(!w.slept);
	cr_expect_eq(w.yields, 0, "a wait that was not crowded yielded");
	cr_expect_eq(est, fri_spin_update(100000, 0, 0), "estimate %u after a short wait", est);
}
