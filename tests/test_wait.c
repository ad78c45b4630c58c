/*
 * Blocking waits across processes: a consumer sleeping with timeout -1 is
 * woken by a publish, a producer sleeping on a full ring by a release, and a
 * sleeping wait returns -EINTR when a signal handler (no SA_RESTART) runs.
 *
 * The test process first waits until the child really sleeps in the futex
 * (its /proc state), so the wake-up, not a lucky spin, is what is tested.
 * Sleeping waiters also wake up now and then on their own (to notice dead
 * peers), so the tests also look at the wait line in the segment: the sleeper
 * announced itself, and the publish/release bumped the event it sleeps on.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>

#include "layout.h"
#include "helpers.h"

TestSuite(wait, .fini = frt_cleanup, .timeout = 240);

static struct fr_ring *make_ring(char *name, const char *tag, uint32_t mode, uint32_t slots)
{
	struct fr_config cfg = { .mode = mode, .slots = slots, .frame_bytes = 256 };
	return frt_create_ok(frt_name(name, FRT_NAME_SIZE, tag), &cfg);
}

struct child_arg {
	const char *name;
	uint32_t slots;
	long spin_ns;
	int timeout_ms;
	_Atomic uint32_t *attached; /* set once the child is ready to block */
	_Atomic uint32_t *progress; /* rounds the child completed */
};

/*
 * The sleeper clears its announcement whenever it wakes on its own (every
 * reap interval) and sets it again before sleeping on: a publish that lands
 * in that gap legitimately skips the wake-up. Hence several rounds, each
 * started only once the child sleeps announced, and most must see the wake.
 */
#define ROUNDS 3

static struct child_arg *child_arg_new(const char *name, uint32_t slots, long spin_ns,
				       int timeout_ms)
{
	_Atomic uint32_t *shared = frt_shared_alloc(2 * sizeof *shared);
	cr_assert_not_null(shared);
	static struct child_arg a;
	a = (struct child_arg){ .name = name, .slots = slots, .spin_ns = spin_ns,
				.timeout_ms = timeout_ms, .attached = &shared[0],
				.progress = &shared[1] };
	return &a;
}

static void child_arg_free(struct child_arg *a)
{
	frt_shared_free((void *)a->attached, 2 * sizeof *a->attached);
}

/* ---- consumer woken by a publish ------------------------------------------ */

static int blocked_consumer(void *p)
{
	struct child_arg *a = p;
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(a->name, FR_CONSUMER, &ring));
	FRT_CHILD_OK(fr_set_spin(ring, a->spin_ns));
	atomic_store(a->attached, 1);
	for (uint32_t r = 0; r < ROUNDS; r++) {
		struct fr_frame f;
		FRT_CHILD_OK(fr_acquire(ring, &f, a->timeout_ms)); /* sleeps until the publish */
		uint64_t id, sum;
		FRT_CHILD_CHECK(f.seq == r);
		FRT_CHILD_CHECK(frt_verify(f.data, f.bytes, &id, &sum) == 0 && id == 77 + r);
		FRT_CHILD_OK(fr_release(ring, &f));
		atomic_store(a->progress, r + 1);
	}
	fr_close(ring);
	return 0;
}

static void consumer_woken_by_publish(uint32_t mode, long spin_ns, int timeout_ms)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "wake", mode, 4);
	struct child_arg *a = child_arg_new(name, 4, spin_ns, timeout_ms);
	pid_t pid = frt_spawn(blocked_consumer, a);
	cr_assert_gt(pid, 0);
	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	const struct fr_shm_header *h = v.hdr;
	int woken = 0;
	for (uint32_t r = 0; r < ROUNDS; r++) {
		cr_assert_eq(frt_wait_announced_sleep(pid, &h->data_wait), 0,
			     "round %u: the waiting consumer never slept announced in a futex wait",
			     r);
		cr_assert_eq(atomic_load(a->attached), 1);
		uint32_t before = frt_view_event(&h->data_wait);
		struct fr_frame f;
		FRT_ASSERT_OK(fr_claim(prod, &f, 0));
		frt_fill(f.data, 200, 77 + r);
		f.bytes = 200;
		FRT_ASSERT_OK(fr_publish(prod, &f));
		woken += frt_view_event(&h->data_wait) != before;
		cr_assert_eq(frt_wait_flag(a->progress, r + 1, pid, FRT_BOUND_S), 0,
			     "round %u: consumer stuck", r);
	}
	FRT_ASSERT_CHILD(pid);
	cr_expect_geq(woken, ROUNDS - 1, "only %d of %d publishes woke the sleeping consumer",
		      woken, ROUNDS);
	cr_expect_eq(frt_view_waiters(&h->data_wait), 0, "the consumer is still announced");
	frt_view_close(&v);

	struct fr_info info;
	FRT_ASSERT_OK(fr_info(prod, &info));
	cr_expect_geq(info.consumer_waits, ROUNDS);
	cr_expect_eq(info.consumed, ROUNDS);
	fr_close(prod);
	child_arg_free(a);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(wait, spsc_consumer_woken_by_publish)
{
	consumer_woken_by_publish(FR_SPSC, 0, -1);
}

Test(wait, spsc_consumer_woken_by_publish_after_spinning)
{
	consumer_woken_by_publish(FR_SPSC, 20000, -1);
}

Test(wait, spsc_bounded_wait_woken_by_publish)
{
	/* A bounded wait far longer than the test: only the publish can end it successfully. */
	consumer_woken_by_publish(FR_SPSC, 0, 3600 * 1000);
}

Test(wait, mpmc_consumer_woken_by_publish)
{
	consumer_woken_by_publish(FR_MPMC, 0, -1);
}

/* ---- producer woken by a release ------------------------------------------ */

static int blocked_producer(void *p)
{
	struct child_arg *a = p;
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(a->name, FR_PRODUCER, &ring));
	FRT_CHILD_OK(fr_set_spin(ring, a->spin_ns));
	struct fr_frame f;
	for (uint32_t i = 0; i < a->slots; i++) {
		FRT_CHILD_OK(fr_claim(ring, &f, 0));
		frt_fill(f.data, 100, i);
		f.bytes = 100;
		FRT_CHILD_OK(fr_publish(ring, &f));
	}
	FRT_CHILD_CHECK(fr_claim(ring, &f, 0) == -EAGAIN);
	atomic_store(a->attached, 1);
	for (uint32_t r = 0; r < ROUNDS; r++) {
		FRT_CHILD_OK(fr_claim(ring, &f, a->timeout_ms)); /* sleeps until a release */
		frt_fill(f.data, 100, a->slots + r);
		f.bytes = 100;
		FRT_CHILD_OK(fr_publish(ring, &f));
		FRT_CHILD_CHECK(f.seq == a->slots + r);
		atomic_store(a->progress, r + 1);
	}
	fr_close(ring);
	return 0;
}

static void producer_woken_by_release(uint32_t mode)
{
	char name[FRT_NAME_SIZE];
	const uint32_t slots = 4;
	fr_close(make_ring(name, "space", mode, slots));
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct child_arg *a = child_arg_new(name, slots, 0, -1);
	pid_t pid = frt_spawn(blocked_producer, a);
	cr_assert_gt(pid, 0);
	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	const struct fr_shm_header *h = v.hdr;
	struct fr_frame f;
	uint64_t id, sum;
	int woken = 0;
	for (uint32_t r = 0; r < ROUNDS; r++) {
		cr_assert_eq(frt_wait_announced_sleep(pid, &h->space_wait), 0,
			     "round %u: the waiting producer never slept announced in a futex wait",
			     r);
		cr_assert_eq(atomic_load(a->attached), 1, "the producer did not fill the ring");
		uint32_t before = frt_view_event(&h->space_wait);
		FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
		cr_assert_eq(f.seq, r);
		FRT_ASSERT_OK(fr_release(cons, &f));
		woken += frt_view_event(&h->space_wait) != before;
		cr_assert_eq(frt_wait_flag(a->progress, r + 1, pid, FRT_BOUND_S), 0,
			     "round %u: producer stuck", r);
	}
	FRT_ASSERT_CHILD(pid);
	cr_expect_geq(woken, ROUNDS - 1, "only %d of %d releases woke the sleeping producer",
		      woken, ROUNDS);
	cr_expect_eq(frt_view_waiters(&h->space_wait), 0, "the producer is still announced");
	frt_view_close(&v);
	for (uint64_t i = ROUNDS; i < slots + ROUNDS; i++) {
		FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
		cr_assert_eq(f.seq, i);
		cr_assert_eq(frt_verify(f.data, f.bytes, &id, &sum), 0);
		cr_assert_eq(id, i);
		FRT_ASSERT_OK(fr_release(cons, &f));
	}
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EPIPE);
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(cons, &info));
	cr_expect_geq(info.producer_waits, ROUNDS);
	fr_close(cons);
	child_arg_free(a);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(wait, spsc_producer_woken_by_release)
{
	producer_woken_by_release(FR_SPSC);
}

Test(wait, mpmc_producer_woken_by_release)
{
	producer_woken_by_release(FR_MPMC);
}

/* Nobody sleeps: publish and release leave the wait lines alone (no syscall). */
static void no_sleeper_no_wake(uint32_t mode)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make_ring(name, "nowake", mode, 4);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	const struct fr_shm_header *h = v.hdr;
	uint32_t data = frt_view_event(&h->data_wait), space = frt_view_event(&h->space_wait);
	for (int i = 0; i < 100; i++) {
		frt_pass_one(prod, cons);
	}
	cr_expect_eq(frt_view_event(&h->data_wait), data,
		     "publish woke consumers nobody had to wake");
	cr_expect_eq(frt_view_event(&h->space_wait), space,
		     "release woke producers nobody had to wake");
	frt_view_close(&v);
	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(wait, spsc_no_wake_without_sleepers)
{
	no_sleeper_no_wake(FR_SPSC);
}

Test(wait, mpmc_no_wake_without_sleepers)
{
	no_sleeper_no_wake(FR_MPMC);
}

/* ---- -EINTR --------------------------------------------------------------- */

static volatile sig_atomic_t handler_runs;

static void on_signal(int sig)
{
	(void)sig;
	handler_runs++;
}

static void install_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = 0; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	FRT_CHILD_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
}

static int interrupted_consumer(void *p)
{
	struct child_arg *a = p;
	install_handler();
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(a->name, FR_CONSUMER, &ring));
	FRT_CHILD_OK(fr_set_spin(ring, a->spin_ns));
	atomic_store(a->attached, 1);
	struct fr_frame f;
	int rc = fr_acquire(ring, &f, a->timeout_ms);
	FRT_CHILD_CHECKF(rc == -EINTR, "fr_acquire returned %d, want -EINTR", rc);
	FRT_CHILD_CHECK(handler_runs >= 1);
	/* The handle still works after the interruption. */
	rc = fr_acquire(ring, &f, 0);
	FRT_CHILD_CHECKF(rc == -EAGAIN, "fr_acquire after -EINTR returned %d", rc);
	fr_close(ring);
	return 0;
}

static int interrupted_producer(void *p)
{
	struct child_arg *a = p;
	install_handler();
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_open(a->name, FR_PRODUCER, &ring));
	FRT_CHILD_OK(fr_set_spin(ring, a->spin_ns));
	struct fr_frame f;
	for (uint32_t i = 0; i < a->slots; i++) {
		FRT_CHILD_OK(fr_claim(ring, &f, 0));
		FRT_CHILD_OK(fr_publish(ring, &f));
	}
	atomic_store(a->attached, 1);
	int rc = fr_claim(ring, &f, a->timeout_ms);
	FRT_CHILD_CHECKF(rc == -EINTR, "fr_claim returned %d, want -EINTR", rc);
	FRT_CHILD_CHECK(handler_runs >= 1);
	rc = fr_claim(ring, &f, 0);
	FRT_CHILD_CHECKF(rc == -EAGAIN, "fr_claim after -EINTR returned %d", rc);
	fr_close(ring);
	return 0;
}

static void interrupted_wait(uint32_t mode, int producer, int timeout_ms)
{
	char name[FRT_NAME_SIZE];
	const uint32_t slots = 2;
	fr_close(make_ring(name, "intr", mode, slots));
	/* The other side, so the wait has a peer and no end of stream. */
	struct fr_ring *other = frt_open_ok(name, producer ? FR_CONSUMER : FR_PRODUCER);
	_Atomic uint32_t *attached = frt_shared_alloc(sizeof *attached);
	cr_assert_not_null(attached);
	struct child_arg a = { .name = name, .slots = slots, .timeout_ms = timeout_ms,
			       .attached = attached };
	pid_t pid = frt_spawn(producer ? interrupted_producer : interrupted_consumer, &a);
	cr_assert_gt(pid, 0);
	int asleep = frt_wait_futex_sleep(pid, 60);
	if (asleep != 0)
		frt_kill(pid);
	cr_assert_eq(asleep, 0, "the waiting child never slept in a futex wait");
	cr_assert_eq(atomic_load(attached), 1);

	/* A library that swallows EINTR keeps the child waiting until the hang
	 * guard fails the test. */
	int status = frt_signal_until_exit(pid, SIGUSR1);
	cr_assert_eq(status, 0, "interrupted child ended with status %d", status);
	fr_close(other);
	frt_shared_free(attached, sizeof *attached);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(wait, spsc_acquire_eintr)
{
	interrupted_wait(FR_SPSC, 0, -1);
}

Test(wait, spsc_acquire_bounded_eintr)
{
	interrupted_wait(FR_SPSC, 0, 3600 * 1000);
}

Test(wait, spsc_claim_eintr)
{
	interrupted_wait(FR_SPSC, 1, -1);
}

Test(wait, mpmc_acquire_eintr)
{
	interrupted_wait(FR_MPMC, 0, -1);
}

Test(wait, mpmc_claim_eintr)
{
	interrupted_wait(FR_MPMC, 1, -1);
}

/* ---- who wakers fence for: the fence_peers masks (lib/wait.c) ---------------- */

static uint64_t fence_bits(struct frt_view *v, int data_line)
{
	struct fr_shm_wait *w = data_line ? &v->hdr->data_wait : &v->hdr->space_wait;
	return atomic_load(&w->fence_peers);
}

/* The bit, in the masks, of this process's (only) consumer or producer entry. */
static uint64_t entry_bit(struct frt_view *v, int consumer)
{
	for (unsigned i = 0; i < FR_MAX_PEERS; i++) {
		struct fr_shm_peer *p = &v->hdr->peers[i];
		if (atomic_load(&p->state) == FR_PEER_LIVE && p->pid == getpid() &&
		    p->role == (consumer ? FR_CONSUMER : FR_PRODUCER))
			return UINT64_C(1) << i;
	}
	cr_assert_fail("no live %s entry of ours", consumer ? "consumer" : "producer");
	return 0;
}

/*
 * A handle that may sleep has its bit set on the line it sleeps on (consumers
 * data, producers space), so that wakers fence; busy-waiting (-1) without an
 * fd clears it; leaving -1, or fr_fd, sets it again; close clears it. With
 * FRAMERING_MEMBARRIER=0 (@fence_always) a bit is never cleared while attached.
 */
static void fence_peers_follow_the_waits(int fence_always)
{
	if (fence_always)
		setenv("FRAMERING_MEMBARRIER", "0", 1);
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 4, .frame_bytes = 4096};
	struct fr_ring *prod = frt_create_ok(frt_name(name, sizeof name, "fence"), &cfg);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	uint64_t pb = entry_bit(&v, 0), cb = entry_bit(&v, 1);
	cr_assert_eq(fence_bits(&v, 1), cb, "attached consumer: data line %#lx",
		     (unsigned long)fence_bits(&v, 1));
	cr_assert_eq(fence_bits(&v, 0), pb, "attached producer: space line %#lx",
		     (unsigned long)fence_bits(&v, 0));

	FRT_ASSERT_OK(fr_set_spin(cons, -1));
	cr_assert_eq(fence_bits(&v, 1), fence_always ? cb : 0, "busy-waiting consumer");
	FRT_ASSERT_OK(fr_set_spin(cons, 5000));
	cr_assert_eq(fence_bits(&v, 1), cb, "consumer back from busy-waiting");
	FRT_ASSERT_OK(fr_set_spin(prod, -1));
	cr_assert_eq(fence_bits(&v, 0), fence_always ? pb : 0, "busy-waiting producer");
	cr_assert_eq(fence_bits(&v, 1), cb, "the producer's spin moved the data line");

	FRT_ASSERT_OK(fr_set_spin(cons, -1));
	cr_assert_geq(fr_fd(cons), 0);
	cr_assert_eq(fence_bits(&v, 1), cb, "a polling consumer needs wakers to fence");
	FRT_ASSERT_OK(fr_set_spin(cons, 0));
	FRT_ASSERT_OK(fr_set_spin(cons, -1));
	cr_assert_eq(fence_bits(&v, 1), cb, "polling, busy-waiting again");

	fr_close(cons);
	cr_assert_eq(fence_bits(&v, 1), 0, "closed consumer left %#lx",
		     (unsigned long)fence_bits(&v, 1));
	fr_close(prod);
	cr_assert_eq(fence_bits(&v, 0), 0, "closed producer left %#lx",
		     (unsigned long)fence_bits(&v, 0));
	frt_view_close(&v);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(wait, fence_peers_follow_the_waits)
{
	fence_peers_follow_the_waits(0);
}

Test(wait, fence_peers_never_cleared_without_membarrier)
{
	fence_peers_follow_the_waits(1);
}

/* A dead peer's bit goes with it: the reaper clears it (an attach reaps). */
static int busy_then_sleepy_child(void *arg)
{
	struct fr_ring *r;
	FRT_CHILD_OK(fr_open(arg, FR_CONSUMER, &r));
	for (;;)
		pause(); /* killed by the parent, bit set */
}

Test(wait, fence_peers_of_a_dead_peer_reaped)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = FR_MPMC, .slots = 4, .frame_bytes = 4096};
	struct fr_ring *prod = frt_create_ok(frt_name(name, sizeof name, "fdead"), &cfg);
	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	pid_t pid = frt_spawn_ok(busy_then_sleepy_child, name);
	for (int i = 0; i < FRT_BOUND_S * 100 && atomic_load(&v.hdr->data_wait.fence_peers) == 0;
	     i++)
		frt_sleep_ms(10);
	cr_assert_neq(atomic_load(&v.hdr->data_wait.fence_peers), 0, "the child never attached");
	frt_kill(pid);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER); /* reaps the dead entry */
	FRT_ASSERT_OK(fr_set_spin(cons, -1));
	cr_assert_eq(atomic_load(&v.hdr->data_wait.fence_peers), 0,
		     "the dead consumer's bit outlived it: %#lx",
		     (unsigned long)atomic_load(&v.hdr->data_wait.fence_peers));
	fr_close(cons);
	fr_close(prod);
	frt_view_close(&v);
}
