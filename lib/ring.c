/*
 * The public data path: claim/publish/cancel and acquire/release, common to
 * every mode. Checks the caller's arguments, runs the mode's non-blocking
 * step, and waits (spin, then futex) when that step would block.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static bool held_by_caller(const struct fr_ring *r, const struct fr_frame *f)
{
	return r->holding && f->priv_pos == r->held_pos && f->priv_slot == r->held_slot;
}

/* What a blocked call passes to its non-blocking step and to the reaper's tick. */
struct step {
	struct fr_ring *ring;
	struct fr_frame *frame;
	unsigned flags;
};

static int try_claim(void *arg)
{
	struct step *s = arg;
	return s->ring->ops->try_claim(s->ring, s->frame);
}

static void tick(void *arg)
{
	struct fr_ring *r = ((struct step *)arg)->ring;
	if (fri_reap_if_due(r))
		r->crowd_countdown = 0; /* count the peers again at the next wait */
}

/*
 * How long the hold on this claim (depth.c) has left after its last try, or -1
 * when that try was not held: the wait's hold_fn. A held claim waits for readers in the middle of
 * a large frame: crowded, it sleeps rather than yields, so that the release
 * that ends the hold wakes it at once (a yielding producer gets the CPU back
 * only when the reader sharing it blocks or its time slice ends, after it has
 * started on the next frame: design.md 5.5), and its sleeps end when the hold
 * does, since no release may come (wait.c). Asked after every try: a claim may
 * become held in the middle of its wait (SPSC: a full ring, then one release).
 */
static int64_t claim_hold_left(void *arg)
{
	return fri_hot_hold_left(((struct step *)arg)->ring);
}

/* Spin (or yield), then sleep on @line until @try_fn succeeds or the timeout ends.
 * @est, @yield_off: this direction's wait estimate and crowded-yield state. */
static int wait_for(struct step *s, struct fr_shm_wait *line, uint32_t *est, bool *yield_off,
		    int timeout_ms, int (*try_fn)(void *arg))
{
	struct fr_ring *r = s->ring;
	if (timeout_ms == 0 && r->poll_fd >= 0) {
		/* A poller that found nothing: arm its fd, then look once more
		 * (a waker either sees our bit or we see its progress). */
		fri_poll_arm(r, line);
		return try_fn(s);
	}
	/* Count the peers now and then: with more of them than CPUs, the
	 * adaptive wait yields instead of spinning (wait.c). Every
	 * FR_CROWD_RECOUNT waits, and at each reaper's tick (tick()): no clock
	 * read here. Only the adaptive spin looks at the count, and only a
	 * crowded handle at its policy (a syscall). */
	if (r->spin_ns == FR_SPIN_ADAPTIVE) {
		if (r->crowd_countdown == 0) {
			r->crowded = fri_crowded(r);
			r->may_yield = r->crowded && fri_policy_yields();
			r->crowd_countdown = FR_CROWD_RECOUNT;
		}
		r->crowd_countdown--;
	}
	struct fr_wait w = {
		.crowded = r->crowded,
		.may_yield = r->may_yield,
		.yield_off = yield_off,
		.line = line,
		.bit = UINT64_C(1) << r->peer,
		.spin_ns = r->spin_ns,
		.spin_est = est,
		/* Wake up now and then to notice dead peers (the reaper); tests
		 * turn that off so that a missing wake-up shows as a hang. */
		.slice_ns = fri_test_reap_slice_enabled() ? FR_REAP_INTERVAL_MS * INT64_C(1000000)
							  : -1,
		.timeout_ms = timeout_ms,
		.try_fn = try_fn,
		.hold_fn = line == &r->hdr->space_wait ? claim_hold_left : NULL,
		.tick_fn = tick,
		.arg = s,
	};
	int rc = fri_wait_until(&w);
	/* Where a wake-up wakes one sleeper (MPMC), the one woken may have taken
	 * what another event made available meanwhile (published or released
	 * out of order): pass the wake-up on when more is there. */
	if (rc == 0 && w.slept && r->ops->more && r->ops->more(r, line == &r->hdr->space_wait))
		fri_wake(line, 1, r->fd);
	return rc;
}

FR_API int fr_claim(struct fr_ring *r, struct fr_frame *f, int timeout_ms)
{
	if (r && r->inherited)
		return -ECHILD;
	if (!r || !f || !(r->role & FR_PRODUCER) || timeout_ms < -1)
		return -EINVAL;
	if (r->holding)
		return -EBUSY; /* one claimed frame per handle */
	struct step s = { r, f, 0 };
	r->claim_may_wait = timeout_ms != 0;
	r->depth_held = false;
	int rc = try_claim(&s);
	if (rc == -EAGAIN) {
		atomic_fetch_add_explicit(&r->hdr->producer_waits, 1, memory_order_relaxed);
		rc = wait_for(&s, &r->hdr->space_wait, &r->claim_wait_ns, &r->claim_yield_off,
			      timeout_ms, try_claim);
	}
	if (rc == 0) {
		r->holding = true;
		r->held_pos = f->priv_pos;
		r->held_slot = f->priv_slot;
	}
	return rc == -EAGAIN && timeout_ms != 0 ? -ETIMEDOUT : rc;
}

FR_API int fr_publish(struct fr_ring *r, struct fr_frame *f)
{
	if (r && r->inherited)
		return -ECHILD;
	if (!r || !f || !held_by_caller(r, f) || !(r->role & FR_PRODUCER))
		return -EINVAL;
	if (fri_frame_check(r, f) < 0)
		return -EINVAL;
	int rc = r->ops->publish(r, f);
	r->holding = false; /* handed over, or (-EPROTO) taken from us by a scribble */
	if (rc == 0)
		fri_count_own(&r->self->delivered, 1);
	return rc;
}

FR_API int fr_cancel(struct fr_ring *r, struct fr_frame *f)
{
	if (r && r->inherited)
		return -ECHILD;
	if (!r || !f || !held_by_caller(r, f) || !(r->role & FR_PRODUCER))
		return -EINVAL;
	int rc = r->ops->cancel(r, f);
	r->holding = false;
	return rc;
}

static int try_acquire(void *arg)
{
	struct step *a = arg;
	struct fr_ring *r = a->ring;
	int rc = r->ops->try_acquire(r, a->frame, a->flags);
	if (rc != -EAGAIN)
		return rc;
	/* Acquire: pairs with the release CAS that set END (fri_stream_leave);
	 * the last producer's last publish is then visible to the re-check. */
	if (!(atomic_load_explicit(&r->hdr->stream, memory_order_acquire) & FR_STREAM_END))
		return -EAGAIN;
	rc = r->ops->try_acquire(r, a->frame, a->flags);
	return rc == -EAGAIN ? -EPIPE : rc;
}

FR_API int fr_acquire_ex(struct fr_ring *r, struct fr_frame *f, int timeout_ms, unsigned flags)
{
	if (r && r->inherited)
		return -ECHILD;
	if (!r || !f || !(r->role & FR_CONSUMER) || timeout_ms < -1 || (flags & ~FR_ACQUIRE_NEWEST))
		return -EINVAL;
	if (r->holding)
		return -EBUSY; /* one acquired frame per handle */
	struct step a = { r, f, flags };
	int rc = try_acquire(&a);
	if (rc == -EAGAIN) {
		atomic_fetch_add_explicit(&r->hdr->consumer_waits, 1, memory_order_relaxed);
		rc = wait_for(&a, &r->hdr->data_wait, &r->acquire_wait_ns, &r->acquire_yield_off,
			      timeout_ms, try_acquire);
	}
	if (rc == 0) {
		r->holding = true;
		r->held_pos = f->priv_pos;
		r->held_slot = f->priv_slot;
		fri_count_own(&r->self->delivered, 1);
	}
	return rc == -EAGAIN && timeout_ms != 0 ? -ETIMEDOUT : rc;
}

FR_API int fr_acquire(struct fr_ring *r, struct fr_frame *f, int timeout_ms)
{
	return fr_acquire_ex(r, f, timeout_ms, 0);
}

FR_API int fr_release(struct fr_ring *r, struct fr_frame *f)
{
	if (r && r->inherited)
		return -ECHILD;
	if (!r || !f || !held_by_caller(r, f) || !(r->role & FR_CONSUMER))
		return -EINVAL;
	int rc = r->ops->release(r, f);
	r->holding = false; /* given back, or (-EPROTO) taken from us by a scribble */
	return rc;
}

FR_API int fr_set_spin(struct fr_ring *r, long spin_ns)
{
	if (r && r->inherited)
		return -ECHILD;
	if (!r || spin_ns < FR_SPIN_ADAPTIVE)
		return -EINVAL;
	/* Back to adaptive: the estimates and the peer count stood still
	 * meanwhile (only adaptive waits use them) and may describe another
	 * stream; start afresh. */
	if (spin_ns == FR_SPIN_ADAPTIVE && r->spin_ns != FR_SPIN_ADAPTIVE) {
		r->claim_wait_ns = 0;
		r->acquire_wait_ns = 0;
		r->claim_yield_off = false;
		r->acquire_yield_off = false;
		r->crowd_countdown = 0;
	}
	/* Busy-waiting (-1) never sleeps: wakers need not fence for us, unless
	 * we poll. Any other spin may sleep: say so before the next wait. */
	bool busy = spin_ns == -1 && r->poll_fd < 0;
	if (busy != (r->spin_ns == -1 && r->poll_fd < 0))
		fri_may_sleep(fri_sleep_line(r), (unsigned)r->peer, !busy);
	r->spin_ns = spin_ns;
	return 0;
}
