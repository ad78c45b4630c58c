/*
 * Waiting: spin briefly, then sleep on a 32-bit event counter in the segment
 * with a shared futex. Sleepers announce themselves in a bitmask (one bit per
 * peer entry) so that wakers skip the syscall when nobody sleeps, and so that
 * a sleeper that dies leaves nothing behind that the reaper cannot clear.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

uint64_t fr_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fr_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int fr_futex_wait(struct fr_shm_wait *w, uint32_t seen, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;
	if (timeout_ns >= 0) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000);
		ts.tv_nsec = (long)(timeout_ns % 1000000000);
		tsp = &ts;
	}
	/* Shared (not FUTEX_PRIVATE): the word lives in a MAP_SHARED segment. */
	long rc = syscall(SYS_futex, (uint32_t *)&w->event, FUTEX_WAIT, seen, tsp, NULL, 0);
	if (rc == 0)
		return 0;
	if (errno == EAGAIN)
		return 0; /* the event moved on before we slept: re-check */
	return -errno;    /* ETIMEDOUT, EINTR */
}

void fr_futex_wake(struct fr_shm_wait *w, int count)
{
	/* Release: a woken sleeper that reads the new event value also sees
	 * what the waker published before calling us. The bump also turns away
	 * a sleeper about to wait on the old value, whom FUTEX_WAKE would miss. */
	atomic_fetch_add_explicit(&w->event, 1, memory_order_release);
	syscall(SYS_futex, (uint32_t *)&w->event, FUTEX_WAKE, count, NULL, NULL, 0);
}

void fr_wake(struct fr_shm_wait *w, int count)
{
	/*
	 * Dekker handshake with fr_wait_until: the caller has just made progress
	 * visible (a release store of head/tail/turn); the full fence orders that
	 * store before the load of the sleeper mask. A sleeper sets its bit, then
	 * fences, then re-checks the ring: either it sees our progress or we see
	 * its bit.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&w->waiters, memory_order_relaxed))
		fr_futex_wake(w, count);
}

static int64_t remaining_ns(uint64_t deadline)
{
	uint64_t now = fr_now_ns();
	return now >= deadline ? 0 : (int64_t)(deadline - now);
}

int fr_wait_until(struct fr_ring *r, struct fr_shm_wait *w, int timeout_ms, fr_try_fn try_fn,
		  void *arg)
{
	int rc = try_fn(r, arg);
	if (rc != -EAGAIN || timeout_ms == 0)
		return rc;

	uint64_t start = fr_now_ns();
	uint64_t deadline = timeout_ms < 0 ? UINT64_MAX
					   : start + (uint64_t)timeout_ms * 1000000u;

	/* Spin phase: cheap re-checks while the other side is probably running. */
	if (r->spin_ns != 0) {
		uint64_t spin_end = r->spin_ns < 0 ? deadline : start + (uint64_t)r->spin_ns;
		for (unsigned i = 1;; i++) {
			fr_cpu_relax();
			rc = try_fn(r, arg);
			if (rc != -EAGAIN)
				return rc;
			if ((i & 63) == 0) {
				uint64_t now = fr_now_ns();
				if (now >= deadline)
					return timeout_ms < 0 ? rc : -ETIMEDOUT;
				if (now >= spin_end)
					break;
				if (r->spin_ns < 0)
					fr_reap_if_due(r);
			}
		}
	}

	/* Sleep phase. */
	const uint64_t bit = UINT64_C(1) << r->peer;
	/* Wake up now and then to notice dead peers (the reaper); tests can turn
	 * that off so that a missing wake-up shows as a hang. */
	const int64_t slice = fr_test_reap_slice_enabled() ? (int64_t)FR_REAP_INTERVAL_MS * 1000000
							    : INT64_MAX;
	for (bool slept = false;; slept = true) {
		/* Announce; pairs with the fence + mask load in fr_wake(). */
		atomic_fetch_or_explicit(&w->waiters, bit, memory_order_seq_cst);
		/* Acquire: pairs with the waker's release bump of the event. The
		 * fence orders our announcement before the re-check of the ring. */
		uint32_t seen = atomic_load_explicit(&w->event, memory_order_acquire);
		atomic_thread_fence(memory_order_seq_cst);
		rc = try_fn(r, arg);
		if (rc != -EAGAIN) {
			atomic_fetch_and_explicit(&w->waiters, ~bit, memory_order_relaxed);
			/* Where a wake-up wakes one sleeper, the one woken may have
			 * taken a slot or frame that another event made available
			 * meanwhile (MPMC: published or released out of order):
			 * pass the wake-up on when more is there. */
			if (slept && rc == 0 && r->ops->more &&
			    r->ops->more(r, w == &r->hdr->space_wait))
				fr_wake(w, 1);
			return rc;
		}
		int64_t left = timeout_ms < 0 ? INT64_MAX : remaining_ns(deadline);
		if (left == 0) {
			atomic_fetch_and_explicit(&w->waiters, ~bit, memory_order_relaxed);
			return -ETIMEDOUT;
		}
		int64_t nap = left < slice ? left : slice;
		int wrc = fr_futex_wait(w, seen, nap == INT64_MAX ? -1 : nap);
		atomic_fetch_and_explicit(&w->waiters, ~bit, memory_order_relaxed);
		if (wrc == -EINTR)
			return -EINTR;
		fr_reap_if_due(r);
	}
}
