/*
 * Waiting: spin briefly (by default as long as the handle's recent waits
 * suggest, see fri_spin_budget), then sleep on a 32-bit event counter in the
 * segment with a shared futex. Sleepers announce themselves in a bitmask (one
 * bit per peer entry) so that wakers skip the syscall when nobody sleeps, and
 * so that a sleeper that dies leaves nothing behind that the reaper cannot
 * clear.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

uint64_t fri_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fri_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int fri_futex_wait(struct fr_shm_wait *w, uint32_t seen, int64_t timeout_ns)
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

/*
 * The wake path's fence, and when a waker may skip it.
 *
 * A waker has made progress visible (a release store of turn, head, tail or a
 * slot word) and then loads the sleeper and poller masks; a sleeper sets its
 * bit, fences, and re-checks the ring. Either the sleeper sees the progress
 * or the waker sees the bit, as long as the waker, too, orders its store
 * before its load: a full fence, which cost busy hand-offs ~20 ns one way on
 * the VM this was measured on (it waits for the progress store's line).
 *
 * A waker needs it only if some peer may sleep (or poll) on the line. So
 * each wait line has a fence_peers mask: bit i set while entry i may sleep
 * or poll there. An entry sets its bit when it attaches, when it leaves
 * busy-waiting (fr_set_spin) and when it polls (fr_fd), and clears it when
 * it turns to busy-waiting (spin -1, which never sleeps) without polling, or
 * detaches (a reaper clears a dead entry's). A waker whose process registered
 * for MEMBARRIER_CMD_GLOBAL_EXPEDITED loads the mask at every wake and skips
 * the fence while it is empty: a busy-waiting consumer's producer, and the
 * other way round, publish and release without it.
 *
 * The race is a waker that loaded the mask just before a bit was set, and
 * then an early sleep of that entry. Whoever sets its bit therefore calls
 * membarrier(GLOBAL_EXPEDITED) before it may sleep (fri_may_sleep): that
 * runs a full barrier on every CPU running a registered process, so every
 * waker either had its progress made visible by it (or by a context switch,
 * if it was not running) or loads the mask after it and sees the bit. That
 * is one IPI round per attach, spin change or fr_fd, not per frame. A waker
 * in a process that did not register fences always; a process that cannot
 * call membarrier never clears its bits. FRAMERING_MEMBARRIER=0 makes a
 * process do neither: it always fences.
 */
static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;
static bool waker_fence_elided; /* this process is registered: wakers may skip the fence */
static bool cover_membarrier;   /* the kernel has the command: bit setters call it */

static long membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static void barrier_setup(void)
{
	const char *off = getenv("FRAMERING_MEMBARRIER");
	if (off && strcmp(off, "0") == 0)
		return;
	long cmds = membarrier(MEMBARRIER_CMD_QUERY);
	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED))
		return;
	cover_membarrier = true;
	waker_fence_elided = membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0;
}

void fri_wait_setup(void)
{
	pthread_once(&barrier_once, barrier_setup);
}

void fri_may_sleep(struct fr_shm_wait *w, unsigned peer, bool may)
{
	fri_wait_setup();
	uint64_t bit = UINT64_C(1) << peer;
	if (may) {
		/* seq_cst, then the membarrier: no waker loads the mask without
		 * our bit once we may sleep (see above). */
		atomic_fetch_or_explicit(&w->fence_peers, bit, memory_order_seq_cst);
		if (cover_membarrier)
			membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED);
	} else if (cover_membarrier) {
		/* Relaxed: a waker that still sees the bit only fences once more. */
		atomic_fetch_and_explicit(&w->fence_peers, ~bit, memory_order_relaxed);
	}
}

/* A sleeper or poller that announced itself, before it re-checks the ring. */
void fri_announce_barrier(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

/* A waker, after making progress visible and before loading the masks. */
static void waker_barrier(struct fr_shm_wait *w)
{
	/* Relaxed: every bit was set before a membarrier that covers this load
	 * (see above), or this process fences anyway. */
	if (waker_fence_elided && atomic_load_explicit(&w->fence_peers, memory_order_relaxed) == 0)
		atomic_signal_fence(memory_order_seq_cst); /* nobody may sleep here */
	else
		atomic_thread_fence(memory_order_seq_cst);
}

void fri_futex_wake(struct fr_shm_wait *w, int count)
{
	/* Release: a woken sleeper that reads the new event value also sees
	 * what the waker published before calling us. The bump also turns away
	 * a sleeper about to wait on the old value, whom FUTEX_WAKE would miss. */
	atomic_fetch_add_explicit(&w->event, 1, memory_order_release);
	syscall(SYS_futex, (uint32_t *)&w->event, FUTEX_WAKE, count, NULL, NULL, 0);
}

/* Pollers (fr_fd) watch the segment file with inotify for IN_ATTRIB: touching
 * its times once makes every armed poller's fd readable. Disarm first, so a
 * poller re-arms only after it looked at the ring again. */
static void poke_pollers(struct fr_shm_wait *w, int file_fd)
{
	/* Relaxed: ordered after the caller's seq_cst fence, like the waiter mask. */
	if (atomic_exchange_explicit(&w->pollers, 0, memory_order_relaxed))
		futimens(file_fd, NULL);
}

void fri_wake(struct fr_shm_wait *w, int count, int file_fd)
{
	/*
	 * Dekker handshake with fri_wait_until and with arming pollers: the
	 * caller has just made progress visible (a release store or CAS of
	 * head/tail/turn); waker_barrier orders that before the loads of the
	 * sleeper and poller masks (when anyone may sleep or poll here: see
	 * above). A sleeper or poller sets its bit, then calls
	 * fri_announce_barrier, then re-checks the ring: either it sees our
	 * progress or we see its bit.
	 */
	waker_barrier(w);
	if (atomic_load_explicit(&w->waiters, memory_order_relaxed))
		fri_futex_wake(w, count);
	if (atomic_load_explicit(&w->pollers, memory_order_relaxed))
		poke_pollers(w, file_fd);
}

void fri_wake_all(struct fr_shm_wait *w, int file_fd)
{
	atomic_thread_fence(memory_order_seq_cst); /* as in fri_wake */
	fri_futex_wake(w, FR_WAKE_ALL);
	poke_pollers(w, file_fd);
}

/*
 * Adaptive spin (FR_SPIN_ADAPTIVE, the default). A sleep costs the waker a
 * FUTEX_WAKE and the sleeper its wake-up latency, about 15 us on the 2-core VM
 * this was measured on. When frames come every ~100 us (1080p at full speed)
 * that is some 15 % of each period: the fixed 5 us spin slept on every frame
 * and moved 10-15 % fewer frames/s than spinning. When they come every 16 ms (a
 * 60 fps camera), a long spin would only burn a CPU. So each handle keeps, per
 * direction, an estimate of how long its recent waits lasted until the ring was
 * ready (in the spin or after a sleep) and spins a margin above it while it is
 * short.
 *
 * The cap, 200 us: estimates below it are short. At 200 us between events a
 * sleep costs under a tenth of the period, so spinning longer buys little,
 * while a wrong guess burns the CPU for the whole spin. 1080p at full speed
 * sits at half the cap, so its jitter (a wait twice the usual) still counts as
 * short; a 60 fps camera's gaps are 80 times the cap.
 *
 * The margin: half the estimate plus FR_DEFAULT_SPIN_NS, so waits that come up
 * to half again as late as their mean still end in the spin. The longest spin
 * is 1.5 x 200 + 5 = 305 us, then the wait sleeps as before.
 *
 * The estimate: it moves half the way up to a longer wait and an eighth of the
 * way down to a shorter one, integer. Asymmetric, so that it tracks the upper
 * waits of a mixed stream rather than their mean: a producer held back now and
 * then, or a consumer whose frames mostly arrive at once and sometimes 60 us
 * later, would otherwise sleep on exactly the waits that matter (measured with
 * a quarter each way, 1080p touch: 6.4k-8.7k frames/s against 8.5k-9.9k
 * busy-waiting, five runs).
 * A sample is clamped to 4 x cap (800 us), so a wait of an hour weighs no more
 * than 800 us, the arithmetic stays far inside 32 bits, and one long wait
 * alone lifts any estimate to the cap (e + (4c - e) / 2 >= c): a single 16 ms
 * gap, or a timeout (a wait of at least 1 ms that found nothing ready),
 * returns to the short spin at once. Short waits bring the adaptive spin back
 * within a dozen (thirteen waits of 55 us from the 800 us ceiling). A wait
 * that slept after a short spin counts its whole length, wake-up included, so
 * a stream of ~50 us gaps climbs into the adaptive range from the short spin. -EINTR says
 * nothing about when the ring would have been ready (only a lower bound, which
 * would pull the estimate down), so it and every other error leave the
 * estimate alone.
 *
 * Cost: no clock read for waits that end within their first 64 tries (see
 * fri_wait_until), one more for longer ones; no syscall.
 */
uint64_t fri_cpu_mask(void)
{
	cpu_set_t set;
	uint64_t mask = 0;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (size_t i = 0; i < 64; i++)
		if (CPU_ISSET(i, &set))
			mask |= UINT64_C(1) << i;
	/* A CPU above 63 is not representable: unknown. */
	return CPU_COUNT(&set) == __builtin_popcountll(mask) ? mask : 0;
}

static pthread_once_t online_once = PTHREAD_ONCE_INIT;
static unsigned online_cpus;

static void count_online(void)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	online_cpus = online > 0 ? (unsigned)online : 1;
}

unsigned fri_online_cpus(void)
{
	pthread_once(&online_once, count_online);
	return online_cpus;
}

/* Half the estimate above it, plus the short spin: the margin both the spin
 * and the crowded yields wait past a wait of @est_ns. */
static long margin_past(uint32_t est_ns)
{
	return (long)est_ns + (long)(est_ns / 2) + FR_DEFAULT_SPIN_NS;
}

long fri_spin_budget(uint32_t est_ns)
{
	return est_ns >= FRI_SPIN_CAP_NS ? FR_DEFAULT_SPIN_NS : margin_past(est_ns);
}

long fri_crowd_yield_budget(uint32_t est_ns)
{
	return est_ns >= FRI_SPIN_SAMPLE_MAX_NS ? 0 : margin_past(est_ns);
}

uint32_t fri_spin_update(uint32_t est_ns, int rc, uint64_t waited_ns)
{
	uint64_t est = est_ns < FRI_SPIN_SAMPLE_MAX_NS ? est_ns : FRI_SPIN_SAMPLE_MAX_NS;
	uint64_t sample;
	if (rc == 0)
		sample = waited_ns < FRI_SPIN_SAMPLE_MAX_NS ? waited_ns : FRI_SPIN_SAMPLE_MAX_NS;
	else if (rc == -ETIMEDOUT)
		sample = FRI_SPIN_SAMPLE_MAX_NS;
	else
		return (uint32_t)est;
	/* Half the way up, an eighth down, rounded away from est so that a steady
	 * wait is reached exactly; between est and sample, so never above
	 * FRI_SPIN_SAMPLE_MAX_NS. */
	if (sample >= est)
		return (uint32_t)(est + (sample - est + 1) / 2);
	return (uint32_t)(est - (est - sample + 7) / 8);
}

static int64_t remaining_ns(uint64_t deadline)
{
	uint64_t now = fri_now_ns();
	return now >= deadline ? 0 : (int64_t)(deadline - now);
}

/* fri_wait_until after the first try, which failed: spin @spin_ns (see
 * fr_set_spin; never FR_SPIN_ADAPTIVE here), then sleep. */
static int spin_then_sleep(struct fr_wait *w, long spin_ns, uint64_t start, uint64_t *last_now)
{
	int rc;
	uint64_t deadline = w->timeout_ms < 0 ? UINT64_MAX
					      : start + (uint64_t)w->timeout_ms * 1000000u;
	*last_now = start;

	/* Spin phase: cheap re-checks while the other side is probably running. */
	if (spin_ns != 0) {
		uint64_t spin_end = spin_ns < 0 ? deadline : start + (uint64_t)spin_ns;
		for (unsigned i = 1;; i++) {
			fri_cpu_relax();
			rc = w->try_fn(w->arg);
			if (rc != -EAGAIN)
				return rc;
			if ((i & 63) == 0) {
				uint64_t now = fri_now_ns();
				*last_now = now;
				if (now >= deadline)
					return w->timeout_ms < 0 ? rc : -ETIMEDOUT;
				if (now >= spin_end)
					break;
				if (spin_ns < 0)
					w->tick_fn(
					    w->arg); /* a busy-waiter never sleeps: tick here */
			}
		}
	}

	/* Sleep phase. */
	struct fr_shm_wait *line = w->line;
	for (;; w->slept = true) {
		/* Announce; pairs with the fence + mask load in fri_wake(). */
		atomic_fetch_or_explicit(&line->waiters, w->bit, memory_order_seq_cst);
		/* Acquire: pairs with the waker's release bump of the event. The
		 * fence orders our announcement before the re-check of the ring. */
		uint32_t seen = atomic_load_explicit(&line->event, memory_order_acquire);
		fri_announce_barrier();
		rc = w->try_fn(w->arg);
		if (rc != -EAGAIN) {
			atomic_fetch_and_explicit(&line->waiters, ~w->bit, memory_order_relaxed);
			return rc;
		}
		int64_t left = w->timeout_ms < 0 ? INT64_MAX : remaining_ns(deadline);
		if (left == 0) {
			atomic_fetch_and_explicit(&line->waiters, ~w->bit, memory_order_relaxed);
			return -ETIMEDOUT;
		}
		int64_t nap = w->slice_ns >= 0 && w->slice_ns < left ? w->slice_ns : left;
		int64_t hold = w->hold_fn ? w->hold_fn(w->arg) : -1;
		if (hold >= 0 && hold + FRI_HOLD_SLACK_NS < nap)
			nap = hold + FRI_HOLD_SLACK_NS; /* the step goes on without its hold then */
		int wrc = fri_futex_wait(line, seen, nap == INT64_MAX ? -1 : nap);
		atomic_fetch_and_explicit(&line->waiters, ~w->bit, memory_order_relaxed);
		if (wrc == -EINTR)
			return -EINTR;
		w->tick_fn(w->arg);
	}
}

/*
 * A crowded adaptive wait (more peers than CPUs: fri_crowded) yields the CPU
 * instead of spinning: sched_yield, then try again, until the wait's budget
 * (fri_crowd_yield_budget) or its timeout ends; then it sleeps.
 *
 * Why yield. The peer waited for most likely shares this CPU. Spinning takes
 * the CPU from it; sleeping hands it over, but the wake-up that ends the
 * sleep preempts the waker at once (CFS runs a sleeper that wakes on its CPU
 * before the task that woke it), so producer and readers take turns frame
 * by frame. A yield hands the CPU over without that: whoever waits for
 * the ring next runs when the peer blocks or its time slice ends. Measured on
 * 2 CPUs, a producer and three broadcast readers at 1080p (docs/design.md):
 * ~18x iceoryx's hand-offs/s instead of ~1.8x, a seventh of the one-way
 * latency, and 2.6k touch frames/s instead of 1.9k (medians).
 *
 * Why so long. A reader of the touch stream waits for the producer's fill,
 * 300-600 us, so a budget that ended with the 200 us cap slept on most
 * frames (measured: yielding only below 600 us moved fewer frames than below
 * 790 us). Where nothing else wants the CPU the yields return at once and
 * this is a spin, for the budget.
 *
 * When not. A claim held for depth (ring.c, claim_hold_left) waits for a
 * reader in the middle of a large frame: it spins the short spin and sleeps,
 * so that the release wakes it; a wait whose try becomes held stops yielding.
 * Yields stop once the estimate reaches its ceiling (recent waits
 * all long: a slow stream, an idle handle), which then sleep at once, and
 * start again only when it falls below FRI_CROWD_YIELD_RESUME_NS: a 60 fps
 * stream with an odd short wait would otherwise hover below the ceiling and
 * spin a millisecond a frame. A touch reader's estimate never reaches the
 * ceiling, so it keeps yielding. Nor under a real-time policy
 * (fri_policy_yields), where sched_yield never hands the CPU to an ordinary
 * peer: those waits keep the short spin, then sleep.
 */
bool fri_policy_yields(void)
{
	int policy = sched_getscheduler(0);
	if (policy < 0)
		return false;
	policy &= ~SCHED_RESET_ON_FORK;
	return policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE;
}

/* The step's last try was held (struct fr_wait, hold_fn). */
static bool step_held(struct fr_wait *w)
{
	return w->hold_fn && w->hold_fn(w->arg) >= 0;
}

/* Whether this crowded wait yields: the hysteresis above. */
static bool crowd_yields(struct fr_wait *w)
{
	uint32_t est = *w->spin_est;
	if (est >= FRI_SPIN_SAMPLE_MAX_NS)
		*w->yield_off = true;
	else if (est < FRI_CROWD_YIELD_RESUME_NS)
		*w->yield_off = false;
	return !*w->yield_off;
}

/* The yields. Returns the step's result, or -EAGAIN once the budget or the
 * timeout ended (the sleep phase then returns -ETIMEDOUT at once for the
 * latter). *last_now: the last clock read. */
static int yield_phase(struct fr_wait *w, uint64_t start, uint64_t *last_now)
{
	uint64_t end = start + (uint64_t)fri_crowd_yield_budget(*w->spin_est);
	if (w->timeout_ms >= 0 && start + (uint64_t)w->timeout_ms * 1000000u < end)
		end = start + (uint64_t)w->timeout_ms * 1000000u;
	*last_now = start;
	while (*last_now < end) {
		FR_HOOK("crowd_yield");
		sched_yield();
		w->yields++;
		int rc = w->try_fn(w->arg);
		*last_now = fri_now_ns();
		if (rc != -EAGAIN || step_held(w))
			return rc; /* held: -EAGAIN, to sleep */
	}
	return -EAGAIN;
}

/* Tries of the adaptive spin before its first clock read (see below). */
#define FRI_CLOCKLESS_TRIES 64u

int fri_wait_until(struct fr_wait *w)
{
	w->slept = false;
	w->yields = 0;
	int rc = w->try_fn(w->arg);
	if (rc != -EAGAIN || w->timeout_ms == 0)
		return rc;
	uint64_t last_now;
	if (w->spin_ns != FR_SPIN_ADAPTIVE)
		return spin_then_sleep(w, w->spin_ns, fri_now_ns(), &last_now);
	/*
	 * Most waits of a busy stream end within a few tries. Those read no
	 * clock at all: each read is ~25 ns on the VM this was measured on, and
	 * one after the wait sat on the hand-off's latency path (the 1080p
	 * hand-off ran 0.21 us one way against 0.17 us busy-waiting with three
	 * reads a wait). They count as waits of 0 ns; later ones from the start
	 * of the clocked spin, to its last clock read unless they slept.
	 * Crowded waits skip them: they yield instead (or, real-time or held,
	 * spin only the short spin).
	 */
	for (unsigned i = 0; i < (w->crowded ? 0 : FRI_CLOCKLESS_TRIES); i++) {
		fri_cpu_relax();
		rc = w->try_fn(w->arg);
		if (rc != -EAGAIN) {
			*w->spin_est = fri_spin_update(*w->spin_est, rc, 0);
			return rc;
		}
	}
	uint64_t start = fri_now_ns();
	long spin;
	if (!w->crowded) {
		spin = fri_spin_budget(*w->spin_est);
	} else if (w->may_yield && !step_held(w)) {
		/* Crowded: more peers than CPUs. A long spin would take the CPU
		 * from the peer it waits for (measured: 3 readers spinning on 2
		 * CPUs cut a broadcast hand-off from ~160k to ~21k frames/s), so
		 * yield it to them instead (see above), then sleep without
		 * spinning. */
		if (crowd_yields(w)) {
			rc = yield_phase(w, start, &last_now);
			if (rc != -EAGAIN) {
				*w->spin_est = fri_spin_update(*w->spin_est, rc, last_now - start);
				return rc;
			}
		}
		spin = 0;
	} else {
		spin = FR_DEFAULT_SPIN_NS; /* crowded, real-time or held: the short spin */
	}
	rc = spin_then_sleep(w, spin, start, &last_now);
	/* Crowded waits come here after their yields: read the clock. */
	uint64_t end = w->slept || rc != 0 || w->crowded ? fri_now_ns() : last_now;
	/* Plain memory of the handle, which one thread at a time uses. */
	*w->spin_est = fri_spin_update(*w->spin_est, rc, end - start);
	return rc;
}
