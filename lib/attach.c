/*
 * Attaching to and recovering peer entries: the mode-aware half of the
 * registry (peers.c has the entries, their locks and the stream word).
 *
 * An attacher takes the lock of a free entry in its role's range, reaping a
 * dead previous owner first. A reaper takes the lock of a LIVE entry whose
 * holder died (the lock is free), lets the mode undo what the dead peer left
 * half-done, and stores the entry's new state, then wakes both sides. Runs
 * at every attach and from any wait that has slept about FR_REAP_INTERVAL_MS.
 */
#include <errno.h>
#include <unistd.h>

#include "internal.h"

/* Entry @idx is dead and we hold its lock: undo its work, free or keep it.
 * Returns true when it did; the caller wakes both sides once it dropped the
 * lock (wake_after_reap). */
static bool reap_locked(struct fr_ring *r, unsigned idx)
{
	struct fr_shm_peer *p = &r->hdr->peers[idx];
	/* Acquire: pairs with the release store of LIVE at attach, so the
	 * identity fields written before it are visible. */
	uint32_t st = atomic_load_explicit(&p->state, memory_order_acquire);
	if (st != FR_PEER_LIVE)
		return false; /* FREE, or ORPHAN awaiting adoption */
	struct fr_shm_header *h = r->hdr;
	uint32_t next = r->ops->reap(r, idx);
	if (p->role == FR_CONSUMER)
		fri_retire_consumer(r, (int)idx);
	uint64_t bit = UINT64_C(1) << idx;
	/* A sleeper or poller that died leaves its bits: clear them so wakers skip
	 * the syscall, and (fence_peers) the fence it no longer needs. Relaxed:
	 * a waker that still sees one only does that once more. */
	atomic_fetch_and_explicit(&h->data_wait.waiters, ~bit, memory_order_relaxed);
	atomic_fetch_and_explicit(&h->space_wait.waiters, ~bit, memory_order_relaxed);
	atomic_fetch_and_explicit(&h->data_wait.pollers, ~bit, memory_order_relaxed);
	atomic_fetch_and_explicit(&h->space_wait.pollers, ~bit, memory_order_relaxed);
	atomic_fetch_and_explicit(&h->data_wait.fence_peers, ~bit, memory_order_relaxed);
	atomic_fetch_and_explicit(&h->space_wait.fence_peers, ~bit, memory_order_relaxed);
	/* A producer that dies leaves the stream without ending it: it may be
	 * restarted. Relaxed: the stream word is read for its own value only. */
	atomic_fetch_and_explicit(&h->stream, ~(bit & FR_STREAM_PRODUCERS), memory_order_relaxed);
	FR_HOOK("reap_before_state");
	/* Release: the reap's stores happen before anyone sees the new state. */
	atomic_store_explicit(&p->state, next, memory_order_release);
	return true;
}

/*
 * After a reap, and only once the entry's new state is stored and its lock
 * dropped, wake both sides: what they wait for (an orphan to adopt, which
 * takes that lock; an aborted slot; a pin gone) is there now. Waking earlier
 * lets a sleeper look, find nothing it can take, and sleep again for good.
 */
static void wake_after_reap(struct fr_ring *r)
{
	fri_wake_all(&r->hdr->data_wait, r->fd);
	fri_wake_all(&r->hdr->space_wait, r->fd);
}

void fri_reap(struct fr_ring *r)
{
	bool reaped = false;
	for (unsigned i = 0; i < FR_MAX_PEERS; i++) {
		if ((int)i == r->peer)
			continue;
		uint32_t st = atomic_load_explicit(&r->hdr->peers[i].state, memory_order_relaxed);
		if (st != FR_PEER_LIVE)
			continue;
		/* Taking the lock succeeds only when nobody (alive) holds it. */
		if (fri_peer_lock(r, i) != 0)
			continue;
		reaped |= reap_locked(r, i);
		fri_peer_unlock(r, i);
	}
	if (reaped)
		wake_after_reap(r);
	r->last_reap_ns = fri_now_ns();
}

bool fri_reap_if_due(struct fr_ring *r)
{
	if (fri_now_ns() - r->last_reap_ns < (uint64_t)FR_REAP_INTERVAL_MS * 1000000u)
		return false;
	fri_reap(r);
	return true;
}

int fri_peer_attach(struct fr_ring *r, unsigned role)
{
	unsigned lo, hi;
	r->ops->peer_range(r, role & (FR_PRODUCER | FR_CONSUMER), role, &lo, &hi);
	for (unsigned i = lo; i < hi; i++) {
		struct fr_shm_peer *p = &r->hdr->peers[i];
		if (atomic_load_explicit(&p->state, memory_order_relaxed) == FR_PEER_ORPHAN)
			continue; /* holds a frame for redelivery */
		if (fri_peer_lock(r, i) != 0)
			continue;                /* alive, or being reaped */
		bool reaped = reap_locked(r, i); /* a dead previous owner: clean up first */
		if (atomic_load_explicit(&p->state, memory_order_acquire) != FR_PEER_FREE) {
			fri_peer_unlock(r, i); /* an orphan now: adopters need its lock */
			if (reaped)
				wake_after_reap(r);
			continue;
		}
		if (reaped)
			wake_after_reap(r); /* entry FREE and ours: nothing to adopt here */
		/* An entry being reused is no orphan: clear a bit left by an
		 * adopter that died between freeing the entry and clearing it. */
		atomic_fetch_and_explicit(&r->hdr->orphans, ~(UINT64_C(1) << i),
					  memory_order_relaxed);
		p->role = role & (FR_PRODUCER | FR_CONSUMER);
		p->flags = role & ~(FR_PRODUCER | FR_CONSUMER);
		p->pid = (int32_t)getpid();
		p->start_time = fri_process_start_time(p->pid);
		p->attach_ns = fri_realtime_ns();
		atomic_fetch_add_explicit(&p->generation, 1, memory_order_relaxed);
		atomic_store_explicit(&p->held, 0, memory_order_relaxed);
		atomic_store_explicit(&p->delivered, 0, memory_order_relaxed);
		atomic_store_explicit(&p->dropped, 0, memory_order_relaxed);
		atomic_store_explicit(&p->pinned, 0, memory_order_relaxed);
		/* Relaxed: published by the release store of LIVE below. */
		atomic_store_explicit(&p->cpus, fri_cpu_mask(), memory_order_relaxed);
		r->peer = (int)i;
		r->self = p;
		r->role = role;
		/* The mode sets cursors etc. before the entry becomes visible as LIVE. */
		int rc = r->ops->attach(r);
		if (rc < 0) {
			r->peer = -1;
			r->self = NULL;
			fri_peer_unlock(r, i);
			return rc;
		}
		/* A new entry may sleep (the default wait does): wakers of the
		 * line it sleeps on fence for it from now on (wait.c). */
		fri_may_sleep(fri_sleep_line(r), i, true);
		FR_HOOK("peer_attach_before_live");
		/* Release: pairs with the acquire loads of state by reapers and info. */
		atomic_store_explicit(&p->state, FR_PEER_LIVE, memory_order_release);
		if (p->role == FR_PRODUCER)
			fri_stream_join(r->hdr, i);
		atomic_fetch_add_explicit(&r->hdr->attaches, 1, memory_order_relaxed);
		return 0;
	}
	return -EBUSY;
}

void fri_peer_detach(struct fr_ring *r)
{
	if (r->peer < 0)
		return;
	/* Our fence_peers bit goes with the entry. Relaxed: a waker that still
	 * sees it only fences once more. */
	atomic_fetch_and_explicit(&fri_sleep_line(r)->fence_peers, ~(UINT64_C(1) << r->peer),
				  memory_order_relaxed);
	/* Release: our last ring stores happen before the entry reads as FREE. */
	atomic_store_explicit(&r->self->state, FR_PEER_FREE, memory_order_release);
	fri_peer_unlock(r, (unsigned)r->peer);
	r->peer = -1;
	r->self = NULL;
}
