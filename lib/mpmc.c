/*
 * MPMC: a bounded queue whose ownership lives in one word per slot.
 *
 * desc.turn of slot s = pos & mask is [pos:55 | state:3 | owner:6], and it
 * only ever changes by CAS, so whoever wins a CAS owns the slot and everyone
 * else, a reaper included, sees exactly who:
 *
 *   FREE(pos) --claim--> CLAIMED(pos, p) --publish--> READY(pos) --acquire--> TAKEN(pos, c)
 *                                      \--cancel/dead p--> ABORTED(pos) --skip--\   |
 *   FREE(pos + slots) <------------------------------------------------------release
 *
 * head and tail are hints of where to look: a producer that wins slot pos
 * moves head from pos to pos + 1, and anyone who finds pos already taken does
 * the same for it (helping), so a peer that dies or stops between its CAS and
 * the move does not block the others. head and tail therefore never lag the
 * slot words by more than one position: a word more than that ahead of them
 * was written by somebody who does not follow the protocol (-EPROTO).
 *
 * Crash recovery decides from the word alone: a dead peer's CLAIMED slot is
 * aborted (consumers skip it), its TAKEN slot stays TAKEN by the dead entry,
 * which becomes ORPHAN until a live consumer adopts the frame with one CAS
 * and gets it again, flagged FR_FRAME_REDELIVERED. A live peer's slot is
 * never touched however long it is descheduled or stopped. The held record
 * in the peer entry is only a hint of where to look first.
 *
 * Large frames (FR_HOT_SLOT_BYTES and up, at most FR_SHM_HOT_PAYLOADS slots):
 * positions and payload slots are decoupled, as in SPSC, so that a producer
 * writes into the payload released most recently, still in the cache, not the
 * one released a lap ago. Each payload has its own word in the header,
 * [pos:55 | state:3 | 0:6], changed only by CAS:
 *
 *   PFREE(q) --a producer that won position p--> PRING(p) --position p done--> PFREE(p)
 *
 * PFREE(q) says which position last carried it (the highest is the hottest);
 * PRING(p) ties the payload to position p, and desc.slot of p names it. The
 * payload goes free only once position p's word has moved past p (released,
 * or aborted and skipped), so a frame waiting for redelivery keeps its pixels.
 * Whoever gives position p back frees its payload right after; if it dies in
 * between, the payload stays PRING(p) and any producer that finds no free one
 * frees it, deciding from position p's word alone. With N positions and N
 * payloads, a producer holding a position always finds one: the other N - 1
 * positions hold at most N - 1 payloads between them.
 */
#include <errno.h>

#include "internal.h"

enum slot_state { FREE = 0, CLAIMED = 1, READY = 2, ABORTED = 3, TAKEN = 4 };
enum payload_state { PFREE = 0, PRING = 1 }; /* a payload word's state (large frames) */

#define OWNER_BITS 6u
#define STATE_BITS 3u
#define POS_SHIFT (OWNER_BITS + STATE_BITS)
_Static_assert(FR_MAX_PEERS <= (1u << OWNER_BITS), "owner field holds every peer entry");

static uint64_t word(uint64_t pos, unsigned state, unsigned owner)
{
	return pos << POS_SHIFT | (uint64_t)state << OWNER_BITS | owner;
}

static unsigned word_state(uint64_t w)
{
	return (unsigned)(w >> OWNER_BITS) & ((1u << STATE_BITS) - 1);
}

static unsigned word_owner(uint64_t w)
{
	return (unsigned)w & ((1u << OWNER_BITS) - 1);
}

/* How far the word's position is ahead of @pos, positions taken modulo 2^55. */
static int64_t ahead_of(uint64_t w, uint64_t pos)
{
	uint64_t d = ((w >> POS_SHIFT) - pos) << POS_SHIFT;
	return (int64_t)d / (INT64_C(1) << POS_SHIFT);
}

static bool owned_state(unsigned state)
{
	return state == CLAIMED || state == TAKEN;
}

/* Large frames: payloads are decoupled from positions. Follows from the
 * geometry, so every side agrees. */
static bool hot(const struct fr_ring *r)
{
	return fri_hot_slots(r) && r->geo.slot_count <= FR_SHM_HOT_PAYLOADS;
}

/* Payload @b carried position @pos, which is done: free it unless somebody did. */
static void free_payload(struct fr_ring *r, uint32_t b, uint64_t pos)
{
	if (b >= r->geo.slot_count)
		return;
	uint64_t w = word(pos, PRING, 0);
	/* Release: pairs with the acquire CAS of the producer that takes it
	 * next; the reads of its last frame are done (ours, or those of the
	 * consumer whose FREE position word we loaded with acquire). */
	atomic_compare_exchange_strong_explicit(&r->hdr->payload[b], &w, word(pos, PFREE, 0),
						memory_order_release, memory_order_relaxed);
}

/* Free the payloads whose positions are done but which nobody freed: their
 * consumer died between giving the position back and freeing the payload. */
static void reclaim_payloads(struct fr_ring *r)
{
	for (uint32_t b = 0; b < r->geo.slot_count; b++) {
		/* Relaxed: the CAS in free_payload decides. */
		uint64_t w = atomic_load_explicit(&r->hdr->payload[b], memory_order_relaxed);
		if (word_state(w) != PRING)
			continue;
		uint64_t pos = w >> POS_SHIFT;
		/* Acquire: pairs with the release CAS that moved the position on;
		 * its consumer's reads are done. */
		uint64_t t = atomic_load_explicit(&r->desc[pos & r->mask].turn,
						  memory_order_acquire);
		if (ahead_of(t, pos) > 0)
			free_payload(r, b, pos);
	}
}

/* Is position @pos - 2 still unreleased (one frame being read, one waiting)? */
static bool consumers_behind(struct fr_ring *r, uint64_t pos)
{
	if (pos < 2)
		return false;
	/* Relaxed: a heuristic; the claim's CAS decides. */
	uint64_t w = atomic_load_explicit(&r->desc[(pos - 2) & r->mask].turn, memory_order_relaxed);
	return ahead_of(w, pos - 2) <= 0;
}

/* We won position @pos: take the free payload that carried the latest
 * position (the hottest) for it, but not the one position @pos - 1 has just
 * given back while another is free: rewriting a frame that another CPU has
 * just read costs more than rewriting the one it read before, so two payloads
 * take turns, as in SPSC (broadcast.c, claim_recent). Right after creation
 * every word says position 0, so position 1 may still take position 0's.
 * -EPROTO when there is none however often we look: more payloads in use
 * than positions, a scribbled segment. */
static int attach_payload(struct fr_ring *r, uint64_t pos, uint32_t *slot)
{
	_Atomic uint64_t *pw = r->hdr->payload;
	const uint32_t n = r->geo.slot_count;
	const uint64_t just_read = word(pos - 1, PFREE, 0);
	for (unsigned pass = 0; pass < 4 * FR_MAX_PEERS; pass++) {
		uint32_t best = n, fallback = n;
		uint64_t best_w = 0;
		for (uint32_t b = 0; b < n; b++) {
			/* Relaxed: a survey; the CAS below decides. */
			uint64_t w = atomic_load_explicit(&pw[b], memory_order_relaxed);
			if (word_state(w) != PFREE)
				continue;
			if (w == just_read) {
				fallback = b; /* only if no other is free */
			} else if (best == n || ahead_of(w, best_w >> POS_SHIFT) > 0) {
				best = b;
				best_w = w;
			}
		}
		if (best == n && fallback < n) {
			best = fallback;
			best_w = just_read;
		}
		if (best == n) {
			reclaim_payloads(r);
			continue;
		}
		/* Acquire: pairs with the release CAS that freed it; whoever read
		 * its last frame is done before we write it. */
		if (atomic_compare_exchange_strong_explicit(&pw[best], &best_w, word(pos, PRING, 0),
							    memory_order_acquire,
							    memory_order_relaxed)) {
			*slot = best;
			return 0;
		}
	}
	return -EPROTO;
}

static uint64_t mpmc_init_turn(uint32_t slot)
{
	return word(slot, FREE, 0); /* slot i is free for the producer of position i */
}

static void mpmc_peer_range(const struct fr_ring *r, unsigned role, unsigned flags, unsigned *lo,
			    unsigned *hi)
{
	(void)r;
	(void)flags;
	*lo = 0;
	/* Entry 63's bit in the stream word is the end-of-stream bit. */
	*hi = role == FR_PRODUCER ? FR_MAX_PEERS - 1 : FR_MAX_PEERS;
}

static int mpmc_attach(struct fr_ring *r)
{
	(void)r;
	return 0;
}

/* Move @counter from @pos to @pos + 1 unless somebody did already. Relaxed:
 * the counters are hints of where to look; the slot words order everything. */
static void advance(_Atomic uint64_t *counter, uint64_t pos)
{
	atomic_compare_exchange_strong_explicit(counter, &pos, pos + 1, memory_order_relaxed,
						memory_order_relaxed);
}

/* The slot at @pos cannot be had now: -EAGAIN if @counter still says @pos
 * (really full/empty, or @protocol_error: a word nobody honest writes),
 * else 0 with *pos reloaded. */
static int recheck(_Atomic uint64_t *counter, uint64_t *pos, bool protocol_error)
{
	uint64_t again = atomic_load_explicit(counter, memory_order_relaxed);
	if (again == *pos)
		return protocol_error ? -EPROTO : -EAGAIN;
	*pos = again;
	return 0;
}

static int hand_over(struct fr_ring *r, uint64_t pos, unsigned state);

/* Position @pos is ours: find its payload and describe the frame. */
static int claim_payload(struct fr_ring *r, struct fr_frame *f, uint64_t pos)
{
	uint32_t slot = (uint32_t)(pos & r->mask);
	if (hot(r)) {
		FR_HOOK("mpmc_claim_before_payload");
		int rc = attach_payload(r, pos, &slot);
		if (rc < 0) {
			hand_over(r, pos, ABORTED); /* the position still goes round */
			return rc;
		}
		/* Published with the descriptor by the release CAS to READY. */
		r->desc[pos & r->mask].slot = slot;
		fri_hot_claimed(r);
	}
	fri_frame_defaults(r, f, slot, pos);
	return 0;
}

static int mpmc_try_claim(struct fr_ring *r, struct fr_frame *f)
{
	struct fr_shm_header *h = r->hdr;
	const unsigned me = (unsigned)r->peer;
	const int64_t lap = r->geo.slot_count;
	uint64_t pos = atomic_load_explicit(&h->head, memory_order_relaxed);
	if (hot(r)) {
		/* Position pos - 2 not given back yet: the consumers are behind
		 * (one frame read, one waiting), and a flat-out producer waits for
		 * them rather than take a cold payload (depth.c). Releases wake it. */
		int rc = fri_hot_may_hold(r) ? fri_hot_depth_wait(r, consumers_behind(r, pos)) : 0;
		if (rc < 0)
			return rc;
	}
	for (;;) {
		struct fr_shm_desc *d = &r->desc[pos & r->mask];
		/* Acquire: pairs with the consumer's release CAS to FREE(pos) (or
		 * the creator's READY store for the first lap): its reads of the
		 * slot are done before we write it. */
		uint64_t w = atomic_load_explicit(&d->turn, memory_order_acquire);
		int64_t ahead = ahead_of(w, pos);
		if (ahead == 0 && word_state(w) == FREE) {
			FR_HOOK("mpmc_claim_before_cas");
			/* Acquire on success, as the load above. */
			if (!atomic_compare_exchange_strong_explicit(
				&d->turn, &w, word(pos, CLAIMED, me), memory_order_acquire,
				memory_order_relaxed))
				continue; /* somebody else's now: look at the new word */
			FR_HOOK("mpmc_claim_won");
			advance(&h->head, pos);
			/* Relaxed: a hint for the reaper, which verifies it against the word. */
			atomic_store_explicit(&r->self->held, pos + 1, memory_order_relaxed);
			return claim_payload(r, f, pos);
		}
		if (ahead == 0) { /* another producer has pos: help head past it */
			advance(&h->head, pos);
			pos = atomic_load_explicit(&h->head, memory_order_relaxed);
			continue;
		}
		/* ahead == -lap: the previous lap is still in use, the ring is full. */
		int rc = recheck(&h->head, &pos, ahead != -lap);
		if (rc < 0)
			return rc;
	}
}

/* Hand claimed slot @pos on to consumers as @state (READY or ABORTED). */
static int hand_over(struct fr_ring *r, uint64_t pos, unsigned state)
{
	struct fr_shm_desc *d = &r->desc[pos & r->mask];
	uint64_t w = word(pos, CLAIMED, (unsigned)r->peer);
	FR_HOOK("mpmc_publish_before_turn");
	/* Release: pairs with the consumer's acquire load of the word; pixels
	 * and descriptor are visible before the slot reads as published. A CAS,
	 * not a store: only the owner's word may become READY. */
	bool ours = atomic_compare_exchange_strong_explicit(
	    &d->turn, &w, word(pos, state, 0), memory_order_release, memory_order_relaxed);
	atomic_store_explicit(&r->self->held, 0, memory_order_relaxed);
	fri_wake_consumers(r);
	return ours ? 0 : -EPROTO; /* our slot was scribbled on */
}

static int mpmc_publish(struct fr_ring *r, struct fr_frame *f)
{
	uint64_t pos = f->priv_pos;
	/* Relaxed: seq only has to be unique and consecutive; the release CAS
	 * in hand_over publishes it with the descriptor. */
	uint64_t seq = atomic_fetch_add_explicit(&r->hdr->published, 1, memory_order_relaxed);
	fri_desc_store_meta(r, &r->desc[pos & r->mask], f, seq);
	f->seq = seq;
	int rc = hand_over(r, pos, READY);
	if (hot(r))
		fri_hot_published(r);
	return rc;
}

static int mpmc_cancel(struct fr_ring *r, struct fr_frame *f)
{
	/* head already moved past pos: the position still has to go round, as
	 * an aborted slot that consumers skip. */
	atomic_fetch_add_explicit(&r->hdr->aborted, 1, memory_order_relaxed);
	return hand_over(r, f->priv_pos, ABORTED);
}

/* Give slot @pos, in word @w, back to the producers of the next lap, and
 * with large frames the payload @payload it carried (read by the caller while
 * it owned the position; the payload's own CAS checks it), before waking a
 * producer, so that the one it wakes finds the hottest payload free. */
static bool give_back(struct fr_ring *r, uint64_t pos, uint64_t w, uint32_t payload)
{
	/* Release: pairs with the producer's acquire load of the word in claim;
	 * our reads of the slot are done before it can be claimed again. */
	bool ours = atomic_compare_exchange_strong_explicit(
	    &r->desc[pos & r->mask].turn, &w, word(pos + r->geo.slot_count, FREE, 0),
	    memory_order_release, memory_order_relaxed);
	if (!ours)
		return false;
	if (hot(r)) {
		FR_HOOK("mpmc_release_before_payload");
		free_payload(r, payload, pos);
	}
	fri_wake_producers(r);
	return true;
}

/* We own slot @pos (TAKEN): deliver its frame, or skip a corrupt descriptor. */
static int take_slot(struct fr_ring *r, struct fr_frame *f, uint64_t pos, bool redelivered)
{
	const struct fr_shm_desc *d = &r->desc[pos & r->mask];
	uint32_t slot = (uint32_t)(pos & r->mask);
	bool slot_ok = true;
	if (hot(r)) {
		/* Read once; written by the producer before its release CAS to
		 * READY, which our CAS to TAKEN acquired. The payload must be
		 * tied to this position, or the descriptor is not to be trusted.
		 * Relaxed load of its word: the producer's CAS to PRING(pos) came
		 * before its release to READY, so it is visible; only the producer
		 * of the next lap changes it, after we give the position back. */
		slot = d->slot;
		slot_ok = slot < r->geo.slot_count &&
			  atomic_load_explicit(&r->hdr->payload[slot], memory_order_relaxed) ==
			      word(pos, PRING, 0);
		if (!slot_ok)
			slot = 0;
	}
	/* Relaxed: a hint for the reaper, which verifies it against the word. */
	atomic_store_explicit(&r->self->held, pos + 1, memory_order_relaxed);
	fri_frame_from_desc(r, f, d, slot, pos);
	if (redelivered)
		f->flags |= FR_FRAME_REDELIVERED;
	if (slot_ok && fri_frame_check(r, f) == 0)
		return 0;
	give_back(r, pos, word(pos, TAKEN, (unsigned)r->peer), slot_ok ? slot : UINT32_MAX);
	atomic_store_explicit(&r->self->held, 0, memory_order_relaxed);
	return -EPROTO;
}

/* Take over a frame whose consumer died holding it (entries in state ORPHAN). */
static int adopt_orphan(struct fr_ring *r, struct fr_frame *f, uint64_t orphans)
{
	struct fr_shm_header *h = r->hdr;
	for (; orphans; orphans &= orphans - 1) {
		unsigned i = (unsigned)__builtin_ctzll(orphans);
		struct fr_shm_peer *p = &h->peers[i];
		/* Acquire: pairs with the reaper's release store of ORPHAN; the
		 * held record it wrote before is visible. A stale bit (entry no
		 * longer ORPHAN) is cleared by whoever reuses the entry. */
		if (atomic_load_explicit(&p->state, memory_order_acquire) != FR_PEER_ORPHAN)
			continue;
		if (fri_peer_lock(r, i) != 0)
			continue; /* another consumer is adopting it */
		int rc = -EAGAIN;
		if (atomic_load_explicit(&p->state, memory_order_acquire) == FR_PEER_ORPHAN) {
			uint64_t held = atomic_load_explicit(&p->held, memory_order_relaxed);
			uint64_t pos = held - 1;
			uint64_t w = word(pos, TAKEN, i);
			FR_HOOK("mpmc_adopt_before_cas");
			/* Acquire: the dead consumer's TAKEN continues the release
			 * sequence of the producer's READY, so the frame is complete. */
			bool ours = held && atomic_compare_exchange_strong_explicit(
						&r->desc[pos & r->mask].turn, &w,
						word(pos, TAKEN, (unsigned)r->peer),
						memory_order_acquire, memory_order_relaxed);
			atomic_store_explicit(&p->held, 0, memory_order_relaxed);
			/* Release: our CAS precedes the entry's return to FREE. If we
			 * die before this store, the next adopter's CAS fails (the
			 * word names us now) and our own reaper orphans the frame. */
			atomic_store_explicit(&p->state, FR_PEER_FREE, memory_order_release);
			atomic_fetch_and_explicit(&h->orphans, ~(UINT64_C(1) << i),
						  memory_order_relaxed);
			if (ours) {
				atomic_fetch_add_explicit(&h->redelivered, 1, memory_order_relaxed);
				rc = take_slot(r, f, pos, true);
			}
		}
		fri_peer_unlock(r, i);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
}

static int mpmc_try_acquire(struct fr_ring *r, struct fr_frame *f, unsigned flags)
{
	(void)flags;
	struct fr_shm_header *h = r->hdr;
	const int64_t lap = r->geo.slot_count;
	/* Relaxed: a hint; adoption synchronises through the entry's state. */
	uint64_t orphans = atomic_load_explicit(&h->orphans, memory_order_relaxed);
	if (orphans) {
		int rc = adopt_orphan(r, f, orphans);
		if (rc != -EAGAIN)
			return rc;
	}
	uint64_t pos = atomic_load_explicit(&h->tail, memory_order_relaxed);
	for (;;) {
		struct fr_shm_desc *d = &r->desc[pos & r->mask];
		/* Acquire: pairs with the producer's release CAS to READY/ABORTED. */
		uint64_t w = atomic_load_explicit(&d->turn, memory_order_acquire);
		int64_t ahead = ahead_of(w, pos);
		unsigned state = word_state(w);
		if (ahead == 0 && state == READY) {
			FR_HOOK("mpmc_acquire_before_cas");
			/* Acquire on success, as the load above. */
			if (!atomic_compare_exchange_strong_explicit(
				&d->turn, &w, word(pos, TAKEN, (unsigned)r->peer),
				memory_order_acquire, memory_order_relaxed))
				continue;
			FR_HOOK("mpmc_acquire_won");
			advance(&h->tail, pos);
			return take_slot(r, f, pos, false);
		}
		if (ahead == 0 && state == ABORTED) {
			/* Read before the position goes round; the payload CAS checks it. */
			if (!give_back(r, pos, w, d->slot))
				continue; /* somebody else skipped it; look again */
			advance(&h->tail, pos);
			pos = atomic_load_explicit(&h->tail, memory_order_relaxed);
			continue;
		}
		if ((ahead == 0 && state == TAKEN) || (ahead > 0 && ahead <= lap)) {
			/* another consumer took pos (and may have released it): help tail on */
			advance(&h->tail, pos);
			pos = atomic_load_explicit(&h->tail, memory_order_relaxed);
			continue;
		}
		/* Not published yet: FREE/CLAIMED of this lap, or the previous lap. */
		bool waiting = (ahead == 0 && (state == FREE || state == CLAIMED)) || ahead == -lap;
		int rc = recheck(&h->tail, &pos, !waiting);
		if (rc < 0)
			return rc;
	}
}

static int mpmc_release(struct fr_ring *r, struct fr_frame *f)
{
	uint64_t pos = f->priv_pos;
	FR_HOOK("mpmc_release_before_turn");
	bool ours = give_back(r, pos, word(pos, TAKEN, (unsigned)r->peer), f->priv_slot);
	atomic_store_explicit(&r->self->held, 0, memory_order_relaxed);
	return ours ? 0 : -EPROTO; /* our slot was scribbled on */
}

/* After a sleeper took something: is there more for another sleeper of its side? */
static bool mpmc_more(struct fr_ring *r, bool producer)
{
	struct fr_shm_header *h = r->hdr;
	/* Relaxed loads: a heuristic for passing a wake-up on; whoever makes
	 * more work available later wakes a sleeper itself. */
	if (!producer && atomic_load_explicit(&h->orphans, memory_order_relaxed))
		return true;
	uint64_t pos = atomic_load_explicit(producer ? &h->head : &h->tail, memory_order_relaxed);
	uint64_t w = atomic_load_explicit(&r->desc[pos & r->mask].turn, memory_order_relaxed);
	if (ahead_of(w, pos) != 0)
		return false;
	return producer ? word_state(w) == FREE
			: word_state(w) == READY || word_state(w) == ABORTED;
}

/* Resolve slot @s if dead entry @idx owns it; true when it did. */
static bool reap_slot(struct fr_ring *r, unsigned idx, uint32_t s, uint32_t *next)
{
	struct fr_shm_desc *d = &r->desc[s];
	/* Acquire: pairs with the dead peer's own CAS; what it wrote is visible. */
	uint64_t w = atomic_load_explicit(&d->turn, memory_order_acquire);
	unsigned state = word_state(w);
	if (!owned_state(state) || word_owner(w) != idx)
		return false;
	/* Only holders of entry idx's lock change a word that names idx, and we
	 * hold it: nothing can move between this check and the act. */
	uint64_t pos = w >> POS_SHIFT;
	FR_HOOK("mpmc_reap_found");
	if (state == TAKEN && *next != FR_PEER_ORPHAN) {
		/* Acquired, never released: keep it TAKEN by the dead entry, which
		 * becomes an orphan for a live consumer to adopt. */
		atomic_store_explicit(&r->hdr->peers[idx].held, pos + 1, memory_order_relaxed);
		/* Relaxed: the hint bit is made visible by the release store of
		 * ORPHAN (reap_locked) that consumers load with acquire. */
		atomic_fetch_or_explicit(&r->hdr->orphans, UINT64_C(1) << idx,
					 memory_order_relaxed);
		*next = FR_PEER_ORPHAN;
		return true;
	}
	if (state == TAKEN) {
		/* A second held frame cannot happen (one frame per handle) unless the
		 * segment was scribbled on: give it back rather than wedge the ring. */
		return give_back(r, pos, w, r->desc[s].slot);
	}
	/* Claimed, never published: aborted, so the ring moves on. Release:
	 * pairs with the consumer's acquire load of the word. */
	if (!atomic_compare_exchange_strong_explicit(&d->turn, &w, word(pos, ABORTED, 0),
						     memory_order_release, memory_order_relaxed))
		return false;
	atomic_fetch_add_explicit(&r->hdr->aborted, 1, memory_order_relaxed);
	advance(&r->hdr->head, pos); /* it may have died before moving head */
	return true;
}

static uint32_t mpmc_reap(struct fr_ring *r, unsigned idx)
{
	struct fr_shm_peer *p = &r->hdr->peers[idx];
	uint32_t next = FR_PEER_FREE;
	/* The held record says where to look first; the words decide. A handle
	 * holds one frame, so a confirmed hint ends the search; otherwise (it
	 * died before recording, or the record is stale) every slot is looked at. */
	uint64_t hint = atomic_load_explicit(&p->held, memory_order_relaxed);
	if (!(hint && reap_slot(r, idx, (uint32_t)((hint - 1) & r->mask), &next))) {
		for (uint32_t s = 0; s < r->geo.slot_count; s++)
			reap_slot(r, idx, s, &next);
	}
	if (next != FR_PEER_ORPHAN)
		atomic_store_explicit(&p->held, 0, memory_order_relaxed);
	return next;
}

static void mpmc_info(struct fr_ring *r, struct fr_info *info)
{
	(void)r;
	info->fill = info->head >= info->tail ? info->head - info->tail : 0;
	info->consumed = info->tail;
}

const struct fr_ring_ops fri_mpmc_ops = {
	.init_turn = mpmc_init_turn,
	.attach = mpmc_attach,
	.try_claim = mpmc_try_claim,
	.publish = mpmc_publish,
	.cancel = mpmc_cancel,
	.try_acquire = mpmc_try_acquire,
	.release = mpmc_release,
	.more = mpmc_more,
	.reap = mpmc_reap,
	.peer_range = mpmc_peer_range,
	.info = mpmc_info,
	.consumer_wakes = 1,
	.min_slots = FR_MIN_SLOTS,
};
