/*
 * MPMC: Vyukov's bounded queue with a sequence word per slot (desc.turn).
 * A producer claims position pos by CAS on head when turn == pos, writes the
 * slot in place and publishes with turn = pos + 1; a consumer acquires pos by
 * CAS on tail when turn == pos + 1 and releases with turn = pos + slots.
 *
 * Crash tolerance: before each CAS a peer records the position it is about
 * to take (intent), and after winning it records it as held. The reaper of a
 * dead peer can then tell exactly what it left: a claimed slot is published
 * as aborted (consumers skip it), an acquired one is kept in the dead entry
 * (state ORPHAN) until a live consumer adopts it and gets it again, flagged
 * FR_FRAME_REDELIVERED.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "internal.h"

static void mpmc_peer_range(const struct fr_ring *r, unsigned role, unsigned flags, unsigned *lo,
			    unsigned *hi)
{
	(void)r;
	(void)role;
	(void)flags;
	*lo = 0;
	*hi = FR_MAX_PEERS;
}

static int mpmc_attach(struct fr_ring *r)
{
	if (r->role & FR_PRODUCER)
		atomic_store_explicit(&r->hdr->eos, 0, memory_order_relaxed);
	return 0;
}

static int mpmc_try_claim(struct fr_ring *r, struct fr_frame *f)
{
	struct fr_shm_header *h = r->hdr;
	uint64_t pos = atomic_load_explicit(&h->head, memory_order_relaxed);
	for (;;) {
		struct fr_shm_desc *d = &r->desc[pos & r->mask];
		/* Acquire: pairs with the consumer's release of turn = pos (previous
		 * lap's release); its reads of the slot are done. */
		uint64_t turn = atomic_load_explicit(&d->turn, memory_order_acquire);
		int64_t diff = (int64_t)(turn - pos);
		if (diff == 0) {
			atomic_store_explicit(&r->self->intent, pos + 1, memory_order_relaxed);
			FR_HOOK("mpmc_claim_intent");
			/* Release: the intent is visible before anyone sees head move
			 * (the reaper loads head with acquire, then intents). */
			if (atomic_compare_exchange_weak_explicit(&h->head, &pos, pos + 1,
								  memory_order_acq_rel,
								  memory_order_relaxed)) {
				FR_HOOK("mpmc_claim_won");
				atomic_store_explicit(&r->self->held, pos + 1, memory_order_relaxed);
				atomic_store_explicit(&r->self->intent, 0, memory_order_relaxed);
				fr_frame_defaults(r, f, (uint32_t)(pos & r->mask), pos);
				return 0;
			}
			/* lost the race: pos was reloaded by the failed CAS */
		} else if (diff < 0) {
			/* Slot not yet released by the consumer of the previous lap. */
			uint64_t again = atomic_load_explicit(&h->head, memory_order_relaxed);
			if (again == pos)
				return -EAGAIN;
			pos = again;
		} else {
			/* turn ahead of pos: another producer took pos, so head moved.
			 * A head that did not move means a scribbled turn word. */
			uint64_t again = atomic_load_explicit(&h->head, memory_order_relaxed);
			if (again == pos)
				return -EPROTO;
			pos = again;
		}
	}
}

/* Hand slot @pos to consumers, as a frame or as an aborted placeholder. */
static void mpmc_hand_over(struct fr_ring *r, uint64_t pos)
{
	FR_HOOK("mpmc_publish_before_turn");
	/* Release: pairs with the consumer's acquire load of turn; pixels and
	 * descriptor are visible before the slot reads as published. */
	atomic_store_explicit(&r->desc[pos & r->mask].turn, pos + 1, memory_order_release);
	atomic_store_explicit(&r->self->held, 0, memory_order_relaxed);
	fr_wake_consumers(r);
}

static int mpmc_publish(struct fr_ring *r, struct fr_frame *f, uint64_t seq_hint)
{
	(void)seq_hint;
	uint64_t pos = f->priv_pos;
	/* Relaxed: seq only has to be unique and consecutive; the turn store
	 * below publishes it. */
	uint64_t seq = atomic_fetch_add_explicit(&r->hdr->published, 1, memory_order_relaxed);
	fr_desc_store_meta(&r->desc[pos & r->mask], f, seq, (uint32_t)r->peer);
	f->seq = seq;
	mpmc_hand_over(r, pos);
	return 0;
}

static void mark_aborted(struct fr_ring *r, uint64_t pos)
{
	struct fr_shm_desc *d = &r->desc[pos & r->mask];
	d->flags = FR_DESC_ABORTED;
	d->bytes = 0;
	atomic_fetch_add_explicit(&r->hdr->aborted, 1, memory_order_relaxed);
}

static int mpmc_cancel(struct fr_ring *r, struct fr_frame *f)
{
	/* head already moved past pos: the position must still be handed over,
	 * so it goes out as an aborted slot that consumers skip. */
	mark_aborted(r, f->priv_pos);
	mpmc_hand_over(r, f->priv_pos);
	return 0;
}

#define SKIPPED (-EAGAIN - 1000) /* internal: an aborted slot was skipped */

/* Deliver the frame of slot @pos to this consumer; -EAGAIN after skipping an aborted slot. */
static int take_slot(struct fr_ring *r, struct fr_frame *f, uint64_t pos, bool redelivered)
{
	uint32_t slot = (uint32_t)(pos & r->mask);
	struct fr_shm_desc *d = &r->desc[slot];
	fr_frame_from_desc(r, f, d, slot, pos);
	if (redelivered)
		f->flags |= FR_FRAME_REDELIVERED;
	bool aborted = d->flags & FR_DESC_ABORTED;
	if (!aborted && fr_frame_check(r, f) == 0)
		return 0;
	/* Skip: give the slot back at once. Release pairs with the producer's
	 * acquire load of turn in claim. */
	atomic_store_explicit(&d->turn, pos + r->geo.slot_count, memory_order_release);
	atomic_store_explicit(&r->self->held, 0, memory_order_relaxed);
	fr_wake_producers(r);
	return aborted ? SKIPPED : -EPROTO;
}

/* Take over a frame whose consumer died holding it (entries in state ORPHAN). */
static int adopt_orphan(struct fr_ring *r, struct fr_frame *f)
{
	struct fr_shm_header *h = r->hdr;
	for (unsigned i = 0; i < FR_MAX_PEERS; i++) {
		struct fr_shm_peer *p = &h->peers[i];
		/* Acquire: pairs with the reaper's release store of ORPHAN; the
		 * held record written before it is visible. */
		if (atomic_load_explicit(&p->state, memory_order_acquire) != FR_PEER_ORPHAN)
			continue;
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
				   .l_start = (off_t)((uint8_t *)p - r->base), .l_len = 1};
		if (fcntl(r->fd, F_OFD_SETLK, &fl) != 0)
			continue; /* someone else is adopting it */
		int rc = -EAGAIN;
		if (atomic_load_explicit(&p->state, memory_order_acquire) == FR_PEER_ORPHAN) {
			uint64_t held = atomic_load_explicit(&p->held, memory_order_relaxed);
			uint64_t pos = held - 1;
			/* Acquire: pairs with the producer's publish; the frame is still
			 * unreleased (turn == pos + 1) and complete. */
			bool valid = held && atomic_load_explicit(&r->desc[pos & r->mask].turn,
								  memory_order_acquire) == pos + 1;
			if (valid) /* ours from here: a crash now makes us the orphan's owner */
				atomic_store_explicit(&r->self->held, held, memory_order_relaxed);
			FR_HOOK("mpmc_adopt_held");
			atomic_store_explicit(&p->held, 0, memory_order_relaxed);
			atomic_fetch_sub_explicit(&h->orphans, 1, memory_order_relaxed);
			/* Release: our held record precedes the entry's return to FREE. */
			atomic_store_explicit(&p->state, FR_PEER_FREE, memory_order_release);
			if (valid) {
				atomic_fetch_add_explicit(&h->redelivered, 1, memory_order_relaxed);
				rc = take_slot(r, f, pos, true);
			}
		}
		fl.l_type = F_UNLCK;
		fcntl(r->fd, F_OFD_SETLK, &fl);
		if (rc != -EAGAIN && rc != SKIPPED)
			return rc;
	}
	return -EAGAIN;
}

static int mpmc_try_acquire(struct fr_ring *r, struct fr_frame *f, unsigned flags)
{
	(void)flags;
	struct fr_shm_header *h = r->hdr;
	/* Relaxed: a hint; adoption itself synchronises through the entry lock. */
	if (atomic_load_explicit(&h->orphans, memory_order_relaxed)) {
		int rc = adopt_orphan(r, f);
		if (rc != -EAGAIN)
			return rc;
	}
	uint64_t pos = atomic_load_explicit(&h->tail, memory_order_relaxed);
	for (;;) {
		struct fr_shm_desc *d = &r->desc[pos & r->mask];
		/* Acquire: pairs with the producer's release of turn = pos + 1. */
		uint64_t turn = atomic_load_explicit(&d->turn, memory_order_acquire);
		int64_t diff = (int64_t)(turn - (pos + 1));
		if (diff == 0) {
			atomic_store_explicit(&r->self->intent, pos + 1, memory_order_relaxed);
			FR_HOOK("mpmc_acquire_intent");
			/* acq_rel: as in claim, the intent is visible before tail moves. */
			if (atomic_compare_exchange_weak_explicit(&h->tail, &pos, pos + 1,
								  memory_order_acq_rel,
								  memory_order_relaxed)) {
				FR_HOOK("mpmc_acquire_won");
				atomic_store_explicit(&r->self->held, pos + 1, memory_order_relaxed);
				atomic_store_explicit(&r->self->intent, 0, memory_order_relaxed);
				int rc = take_slot(r, f, pos, false);
				if (rc != SKIPPED)
					return rc;
				pos = atomic_load_explicit(&h->tail, memory_order_relaxed);
			}
		} else if (diff < 0) {
			uint64_t again = atomic_load_explicit(&h->tail, memory_order_relaxed);
			if (again == pos)
				return -EAGAIN;
			pos = again;
		} else {
			/* turn ahead of pos + 1: another consumer took pos, so tail
			 * moved. A tail that did not move means a scribbled turn word. */
			uint64_t again = atomic_load_explicit(&h->tail, memory_order_relaxed);
			if (again == pos)
				return -EPROTO;
			pos = again;
		}
	}
}

static int mpmc_release(struct fr_ring *r, struct fr_frame *f)
{
	uint64_t pos = f->priv_pos;
	FR_HOOK("mpmc_release_before_turn");
	/* Release: pairs with the producer's acquire load of turn in claim; our
	 * reads of the slot are done before it may be overwritten. */
	atomic_store_explicit(&r->desc[pos & r->mask].turn, pos + r->geo.slot_count,
			      memory_order_release);
	atomic_store_explicit(&r->self->held, 0, memory_order_relaxed);
	fr_wake_producers(r);
	return 0;
}

/* Does a live peer of @role (other than @dead) record @pos + 1 as intent or held? */
static bool live_peer_has(struct fr_ring *r, unsigned dead, uint32_t role, uint64_t pos1)
{
	for (unsigned i = 0; i < FR_MAX_PEERS; i++) {
		struct fr_shm_peer *p = &r->hdr->peers[i];
		if (i == dead || p->role != role)
			continue;
		/* Acquire: pairs with the release stores of LIVE / ORPHAN. */
		uint32_t st = atomic_load_explicit(&p->state, memory_order_acquire);
		if (st == FR_PEER_ORPHAN && atomic_load_explicit(&p->held, memory_order_relaxed) == pos1)
			return true; /* already waiting for redelivery */
		if (st != FR_PEER_LIVE || !fr_peer_alive(r, i))
			continue;
		if (atomic_load_explicit(&p->intent, memory_order_relaxed) == pos1 ||
		    atomic_load_explicit(&p->held, memory_order_relaxed) == pos1)
			return true;
	}
	return false;
}

/*
 * Which position did dead peer @p own, if any? A held record is certain. An
 * intent alone is ambiguous (did the CAS win?): the position is the dead
 * peer's if the counter moved past it, the slot is still in that state, and
 * no live peer claims it. Returns pos + 1, or 0.
 */
static uint64_t owned_position(struct fr_ring *r, unsigned idx, bool producer)
{
	struct fr_shm_peer *p = &r->hdr->peers[idx];
	uint64_t held = atomic_load_explicit(&p->held, memory_order_relaxed);
	uint64_t intent = atomic_load_explicit(&p->intent, memory_order_relaxed);
	uint64_t pos1 = held ? held : intent;
	if (!pos1)
		return 0;
	uint64_t pos = pos1 - 1;
	/* Acquire: pairs with the winning CAS (acq_rel) of whoever took pos. */
	uint64_t counter = atomic_load_explicit(producer ? &r->hdr->head : &r->hdr->tail,
						memory_order_acquire);
	uint64_t turn = atomic_load_explicit(&r->desc[pos & r->mask].turn, memory_order_acquire);
	uint64_t taken_state = producer ? pos : pos + 1; /* claimed / acquired, not yet handed on */
	if (counter <= pos || turn != taken_state)
		return 0;
	if (!held && live_peer_has(r, idx, producer ? FR_PRODUCER : FR_CONSUMER, pos1))
		return 0;
	if (held && !producer && live_peer_has(r, idx, FR_CONSUMER, pos1))
		return 0; /* an adopter already took it over */
	return pos1;
}

static uint32_t mpmc_reap(struct fr_ring *r, unsigned idx)
{
	struct fr_shm_peer *p = &r->hdr->peers[idx];
	bool producer = p->role == FR_PRODUCER;
	uint64_t pos1 = owned_position(r, idx, producer);
	atomic_store_explicit(&p->intent, 0, memory_order_relaxed);
	if (!pos1) {
		atomic_store_explicit(&p->held, 0, memory_order_relaxed);
		return FR_PEER_FREE;
	}
	if (producer) {
		/* Claimed, never published: publish it as aborted so the ring moves on. */
		uint64_t pos = pos1 - 1;
		mark_aborted(r, pos);
		/* Release: pairs with the consumer's acquire of turn; the aborted
		 * flag is visible before the slot reads as handed over. */
		atomic_store_explicit(&r->desc[pos & r->mask].turn, pos + 1, memory_order_release);
		atomic_store_explicit(&p->held, 0, memory_order_relaxed);
		fr_wake_consumers(r);
		return FR_PEER_FREE;
	}
	/* Acquired, never released: keep it for a live consumer to adopt. */
	atomic_store_explicit(&p->held, pos1, memory_order_relaxed);
	fr_wake_consumers(r);
	return FR_PEER_ORPHAN;
}

static void mpmc_info(struct fr_ring *r, struct fr_info *info)
{
	(void)r;
	info->fill = info->head >= info->tail ? info->head - info->tail : 0;
	info->consumed = info->tail;
}

const struct fr_ring_ops fr_mpmc_ops = {
	.attach = mpmc_attach,
	.try_claim = mpmc_try_claim,
	.publish = mpmc_publish,
	.cancel = mpmc_cancel,
	.try_acquire = mpmc_try_acquire,
	.release = mpmc_release,
	.reap = mpmc_reap,
	.peer_range = mpmc_peer_range,
	.info = mpmc_info,
};
