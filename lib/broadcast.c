/*
 * Broadcast: one producer, up to 31 consumers, each sees every frame.
 *
 * The slots are a pool. Each descriptor's turn word is
 *     [ seq:32 | writing:1 | holders:31 ]
 * with one holder bit per consumer peer entry (entries 0..30). The producer
 * claims a slot with no holders, no writing bit, and no reliable consumer
 * still to read it (CAS sets `writing`), writes in place, publishes by storing
 * the new seq with the bits clear, appends (seq, slot) to the publish log and
 * advances head (= next seq). A consumer pins the slot of its next seq by
 * CAS-ing its bit in while the seq matches and `writing` is clear, reads in
 * place and unpins with an atomic AND. A pin that fails because the seq moved
 * on means the producer recycled the frame: the consumer counts a drop and
 * skips to the newest frame.
 *
 * A reliable consumer holds the producer back through its cursor (the
 * producer never recycles seq >= the slowest reliable cursor); a latest
 * consumer (FR_LATEST) only through its single pin. Consumers are limited to
 * slots - 2 entries, so with latest consumers alone at least two slots are
 * unpinned and the camera never waits. The holder bits let the reaper undo a
 * dead consumer's pin exactly.
 */
#include <errno.h>

#include "internal.h"

#define BC_WRITING (UINT64_C(1) << 31)
#define BC_HOLDERS (BC_WRITING - 1)
#define BC_SEQ(w) ((uint32_t)((w) >> 32))
#define BC_WORD(seq) ((uint64_t)(uint32_t)(seq) << 32)
#define BC_NO_SEQ UINT32_MAX /* a cancelled or aborted slot: matches no reader */
#define BC_PRODUCER_ENTRY 31u

/* Twice the slots: covers every seq a reliable reader can still want. */
static uint32_t bc_log_count(uint32_t slots)
{
	return slots * 2;
}

static uint64_t bc_init_turn(uint32_t slot)
{
	(void)slot;
	return 0; /* seq 0, no holders: matches nothing until the first publish */
}

static unsigned consumer_entries(const struct fr_ring *r)
{
	unsigned n = r->geo.slot_count - 2;
	return n < FR_MAX_BROADCAST_CONSUMERS ? n : FR_MAX_BROADCAST_CONSUMERS;
}

static void bc_peer_range(const struct fr_ring *r, unsigned role, unsigned flags, unsigned *lo,
			  unsigned *hi)
{
	(void)flags;
	if (role == FR_PRODUCER) {
		*lo = BC_PRODUCER_ENTRY;
		*hi = BC_PRODUCER_ENTRY + 1;
	} else {
		*lo = 0;
		*hi = consumer_entries(r);
	}
}

/* The slot frame @c was published in, from the log; UINT32_MAX if the entry
 * has moved on to a later lap or names no slot. */
static uint32_t logged_slot(struct fr_ring *r, uint64_t c)
{
	/* Acquire: pairs with the producer's (or a predecessor's) release of the entry. */
	uint64_t e = atomic_load_explicit(&r->log[c & (r->geo.log_count - 1)].entry,
					  memory_order_acquire);
	uint32_t slot = (uint32_t)e;
	return BC_SEQ(e) == (uint32_t)c && slot < r->geo.slot_count ? slot : UINT32_MAX;
}

/* The oldest seq whose frame is still in the pool (not recycled, not being written). */
static uint64_t oldest_held(struct fr_ring *r, uint64_t head)
{
	uint64_t c = head > r->geo.slot_count ? head - r->geo.slot_count : 0;
	for (; c < head; c++) {
		uint32_t slot = logged_slot(r, c);
		if (slot == UINT32_MAX)
			continue;
		/* Acquire: pairs with the producer's release store of the word. */
		uint64_t w = atomic_load_explicit(&r->desc[slot].turn, memory_order_acquire);
		if (BC_SEQ(w) == (uint32_t)c && !(w & BC_WRITING))
			return c;
	}
	return c;
}

static int bc_attach(struct fr_ring *r)
{
	struct fr_shm_header *h = r->hdr;
	/* Acquire: pairs with the producer's release store of head. */
	uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
	if (r->role & FR_PRODUCER) {
		r->pos = head;
		r->other = 0; /* next slot to look at */
		return 0;
	}
	uint64_t c;
	if (r->role & FR_FROM_OLDEST)
		c = oldest_held(r, head);
	else
		c = head ? head - 1 : 0; /* the newest published frame */
	r->pos = c;
	/* Relaxed: published by the release store of state LIVE in attach. */
	atomic_store_explicit(&r->self->cursor, c, memory_order_relaxed);
	return 0;
}

/* Slowest reliable cursor, and which entries are latest consumers. */
static uint64_t min_reliable_cursor(struct fr_ring *r, uint64_t head, uint64_t *latest_mask)
{
	uint64_t min = head;
	*latest_mask = 0;
	for (unsigned i = 0; i < consumer_entries(r); i++) {
		struct fr_shm_peer *p = &r->hdr->peers[i];
		/* Acquire: pairs with the release store of LIVE after the cursor was set. */
		if (atomic_load_explicit(&p->state, memory_order_acquire) != FR_PEER_LIVE)
			continue;
		if (p->flags & FR_LATEST) {
			*latest_mask |= UINT64_C(1) << i;
			continue;
		}
		/* Acquire: pairs with the consumer's release store of its cursor. */
		uint64_t c = atomic_load_explicit(&p->cursor, memory_order_acquire);
		if (c < min)
			min = c;
	}
	return min;
}

/* Claim @slot if nobody may still read it: 0, or -EAGAIN with *moving cleared
 * when what holds it will not move on by itself (a reliable reader, a dead
 * producer). */
static int try_slot(struct fr_ring *r, struct fr_frame *f, uint32_t slot, uint64_t min,
		    uint64_t latest_mask, bool *moving)
{
	struct fr_shm_desc *d = &r->desc[slot];
	/* Acquire: pairs with the consumers' release AND of their holder bit. */
	uint64_t w = atomic_load_explicit(&d->turn, memory_order_acquire);
	uint64_t holders = w & BC_HOLDERS;
	if (w & BC_WRITING) {
		*moving = false; /* left by a dead producer: the reaper clears it */
		return -EAGAIN;
	}
	if (holders) {
		if (holders & ~latest_mask)
			*moving = false; /* a reliable reader holds it */
		return -EAGAIN;
	}
	uint64_t seq = d->seq; /* read once: the check and its use see one value */
	if (seq != UINT64_MAX && seq >= min) {
		*moving = false; /* a reliable consumer has not read it yet */
		return -EAGAIN;
	}
	/* Acquire on success: consumers' reads of the old frame are done. */
	if (!atomic_compare_exchange_strong_explicit(&d->turn, &w, BC_WORD(BC_NO_SEQ) | BC_WRITING,
						     memory_order_acquire, memory_order_relaxed))
		return -EAGAIN; /* a pin came first */
	FR_HOOK("bc_claim_won");
	d->seq = UINT64_MAX; /* the old frame is gone */
	r->other = slot + 1;
	fri_frame_defaults(r, f, slot, r->pos);
	if (fri_hot_slots(r))
		fri_hot_claimed(r);
	return 0;
}

/*
 * Large frames: the slots of the newest frames first, newest first. With
 * readers keeping up, frame head - 1 is being read and the slot of head - 2
 * was just released: reusing it keeps two slots hot in the cache however many
 * the pool has (as SPSC does), where a round-robin claim streams every slot
 * through memory. Frames a reliable reader still needs are never taken
 * (try_slot), and latest readers want the newest frame, not these.
 *
 * Frame head - 1's own slot comes last, even when its readers are done with
 * it (one frame at a time: a camera's pace, a ping-pong): rewriting a frame
 * that another CPU has just read costs more than rewriting the one it read
 * before (1920x1080x3 fills here: medians of 169 against 114 us, design.md
 * departure 28), so two slots take turns, as in SPSC, whose producer learns
 * of a release only at its next publish. When no other recent slot is free,
 * claim_pass scans from after the slot this handle claimed last, head - 1's
 * unless another producer published it: any other free slot comes before it
 * (once: then two slots are recent).
 */
static int claim_recent(struct fr_ring *r, struct fr_frame *f, uint64_t min, uint64_t latest_mask)
{
	uint64_t head = r->pos;
	uint64_t n = head < r->geo.slot_count ? head : r->geo.slot_count;
	uint32_t last = n ? logged_slot(r, head - 1) : UINT32_MAX;
	bool ignored;
	for (uint64_t k = 2; k <= n; k++) {
		uint32_t slot = logged_slot(r, head - k);
		if (slot != UINT32_MAX && slot != last &&
		    try_slot(r, f, slot, min, latest_mask, &ignored) == 0)
			return 0;
	}
	return -EAGAIN;
}

/* Is frame head - 2 still pinned, or unread by a reliable reader (@min: the
 * slowest reliable cursor)? Not once its slot carries another frame. */
static bool readers_behind(struct fr_ring *r, uint64_t min)
{
	uint64_t head = r->pos;
	if (head < 2)
		return false;
	uint64_t c = head - 2;
	uint32_t slot = logged_slot(r, c);
	if (slot == UINT32_MAX)
		return false;
	/* Relaxed: a heuristic; try_slot decides what may be claimed. */
	uint64_t w = atomic_load_explicit(&r->desc[slot].turn, memory_order_relaxed);
	if (BC_SEQ(w) != (uint32_t)c)
		return false; /* its slot was reused: long released */
	return (w & BC_HOLDERS) != 0 || min <= c;
}

/* One pass over the pool from after the slot claimed last. Sets *moving when
 * only pins that can still move on (latest consumers', or a lost race with a
 * pin) blocked it. */
static int claim_pass(struct fr_ring *r, struct fr_frame *f, uint64_t min, uint64_t latest_mask,
		      bool *moving)
{
	*moving = true;
	for (uint32_t k = 0; k < r->geo.slot_count; k++) {
		uint32_t slot = (uint32_t)((r->other + k) & r->mask);
		if (try_slot(r, f, slot, min, latest_mask, moving) == 0)
			return 0;
	}
	return -EAGAIN;
}

static int bc_try_claim(struct fr_ring *r, struct fr_frame *f)
{
	uint64_t latest_mask;
	uint64_t min = min_reliable_cursor(r, r->pos, &latest_mask);
	/*
	 * Latest readers hold at most one pin each and there are at most
	 * slots - 2 of them, so some slot is free; a pass can still miss it when
	 * readers move their pins forward while we scan. They cannot move past
	 * the newest frame (head does not move while we claim), so a bounded
	 * number of further passes finds the free slot.
	 */
	if (fri_hot_slots(r)) {
		/* Frame head - 2 still held or unread: the readers are behind (one
		 * frame read, one waiting), and a flat-out producer waits for them
		 * rather than take a cold slot (depth.c); releases wake it. Only
		 * without latest readers, who never hold the camera. */
		int rc = latest_mask == 0 && fri_hot_may_hold(r)
			     ? fri_hot_depth_wait(r, readers_behind(r, min))
			     : 0;
		if (rc < 0)
			return rc;
		if (claim_recent(r, f, min, latest_mask) == 0)
			return 0;
	}
	const unsigned passes = 2 + consumer_entries(r);
	bool moving = false;
	for (unsigned pass = 0; pass < passes; pass++) {
		if (claim_pass(r, f, min, latest_mask, &moving) == 0)
			return 0;
		if (!moving)
			return -EAGAIN; /* a reliable consumer or a dead producer holds us back */
	}
	atomic_fetch_add_explicit(&r->hdr->latest_stalls, 1, memory_order_relaxed);
	return -EAGAIN;
}

static int bc_publish(struct fr_ring *r, struct fr_frame *f)
{
	struct fr_shm_header *h = r->hdr;
	uint64_t seq = r->pos;
	uint32_t slot = f->priv_slot;
	struct fr_shm_desc *d = &r->desc[slot];
	fri_desc_store_meta(r, d, f, seq);
	f->seq = seq;
	/* Release (all three): pair with the consumer's acquire loads of head,
	 * then of the log entry, then of the slot word; pixels and descriptor
	 * are visible before the frame can be found. */
	atomic_store_explicit(&d->turn, BC_WORD(seq), memory_order_release);
	FR_HOOK("bc_publish_before_log");
	atomic_store_explicit(&r->log[seq & (r->geo.log_count - 1)].entry, BC_WORD(seq) | slot,
			      memory_order_release);
	atomic_store_explicit(&h->head, seq + 1, memory_order_release);
	atomic_store_explicit(&h->published, seq + 1, memory_order_relaxed);
	r->pos = seq + 1;
	fri_wake_consumers(r);
	if (fri_hot_slots(r))
		fri_hot_published(r);
	return 0;
}

static void free_slot(struct fr_ring *r, uint32_t slot)
{
	r->desc[slot].seq = UINT64_MAX;
	/* Release: pairs with the producer's acquire load in a later claim. */
	atomic_store_explicit(&r->desc[slot].turn, BC_WORD(BC_NO_SEQ), memory_order_release);
}

static int bc_cancel(struct fr_ring *r, struct fr_frame *f)
{
	free_slot(r, f->priv_slot); /* its old frame was overwritten: it matches no reader */
	return 0;
}

static void count_drops(struct fr_ring *r, uint64_t n)
{
	if (!n)
		return;
	fri_count_own(&r->self->dropped, n);
	atomic_fetch_add_explicit(&r->hdr->dropped, n, memory_order_relaxed);
}

static void set_cursor(struct fr_ring *r, uint64_t c)
{
	r->pos = c;
	/* Release: pairs with the producer's acquire load of cursors; frames
	 * before c need no longer be kept for us. */
	atomic_store_explicit(&r->self->cursor, c, memory_order_release);
}

static int bc_try_acquire(struct fr_ring *r, struct fr_frame *f, unsigned flags)
{
	struct fr_shm_header *h = r->hdr;
	const uint64_t bit = UINT64_C(1) << r->peer;
	/* Acquire: pairs with the producer's release store of head. */
	uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
	uint64_t c = r->pos;
	if (c > head) { /* head went backwards: a scribbled counter */
		set_cursor(r, head);
		return -EPROTO;
	}
	uint64_t start = c;
	if ((flags & FR_ACQUIRE_NEWEST) && head && head - 1 > c) {
		count_drops(r, head - 1 - c);
		c = head - 1;
		set_cursor(r, c);
	}
	if (head - c > r->geo.log_count) {
		/* Older than the publish log reaches: gone for everyone (and a
		 * scribbled head cannot make us walk 2^64 entries). */
		count_drops(r, head - r->geo.log_count - c);
		c = head - r->geo.log_count;
		set_cursor(r, c);
	}
	if (c != start)
		fri_wake_producers(r); /* our cursor may have been what held the camera */
	while (c < head) {
		/* Not logged_slot: a named slot out of range is a scribble, not a lap.
		 * Acquire: pairs with the producer's release store of the entry. */
		uint64_t e = atomic_load_explicit(&r->log[c & (r->geo.log_count - 1)].entry,
						  memory_order_acquire);
		uint32_t slot = (uint32_t)e;
		if (BC_SEQ(e) == (uint32_t)c && slot < r->geo.slot_count) {
			struct fr_shm_desc *d = &r->desc[slot];
			uint64_t w = atomic_load_explicit(&d->turn, memory_order_acquire);
			while (BC_SEQ(w) == (uint32_t)c && !(w & BC_WRITING)) {
				/* Acquire: pairs with the producer's release store of the
				 * word; the frame is ours to read until we unpin. */
				if (atomic_compare_exchange_weak_explicit(&d->turn, &w, w | bit,
									  memory_order_acquire,
									  memory_order_relaxed)) {
					FR_HOOK("bc_pinned");
					atomic_store_explicit(&r->self->pinned, slot + 1u,
							      memory_order_relaxed);
					fri_frame_from_desc(r, f, d, slot, c);
					set_cursor(r, c + 1);
					if (f->seq == c && fri_frame_check(r, f) == 0)
						return 0;
					/* Release: as in bc_release, pairs with the claim's CAS. */
					atomic_fetch_and_explicit(&d->turn, ~bit,
								  memory_order_release);
					atomic_store_explicit(&r->self->pinned, 0,
							      memory_order_relaxed);
					return -EPROTO;
				}
			}
		} else if (slot >= r->geo.slot_count && BC_SEQ(e) == (uint32_t)c) {
			set_cursor(r, c + 1);
			return -EPROTO;
		}
		/* Frame c was recycled before we got to it: a latest consumer skips
		 * to the newest frame, a reliable one loses as little as it can. */
		uint64_t newest = head - 1;
		uint64_t next = (r->role & FR_LATEST) && newest > c ? newest : c + 1;
		count_drops(r, next - c);
		c = next;
		set_cursor(r, c);
		fri_wake_producers(r); /* our cursor may have been what held the camera */
		head = atomic_load_explicit(&h->head, memory_order_acquire);
	}
	return -EAGAIN;
}

static int bc_release(struct fr_ring *r, struct fr_frame *f)
{
	const uint64_t bit = UINT64_C(1) << r->peer;
	FR_HOOK("bc_release_before_unpin");
	/* Release: pairs with the producer's acquire load/CAS of the word; our
	 * reads of the slot are done before it may be claimed. */
	atomic_fetch_and_explicit(&r->desc[f->priv_slot].turn, ~bit, memory_order_release);
	atomic_store_explicit(&r->self->pinned, 0, memory_order_relaxed);
	fri_wake_producers(r);
	return 0;
}

static uint32_t bc_reap(struct fr_ring *r, unsigned idx)
{
	struct fr_shm_peer *p = &r->hdr->peers[idx];
	/* The entry's index says its role (the role field is only for show: a
	 * scribbled one must not make us clear a live producer's writing bit). */
	if (idx < FR_MAX_BROADCAST_CONSUMERS) {
		/* Clear exactly the dead consumer's pins; its cursor stops counting
		 * once the entry is free. */
		const uint64_t bit = UINT64_C(1) << idx;
		/* Release: pairs with the producer's claim CAS, like a release. */
		for (uint32_t s = 0; s < r->geo.slot_count; s++)
			atomic_fetch_and_explicit(&r->desc[s].turn, ~bit, memory_order_release);
		atomic_store_explicit(&p->pinned, 0, memory_order_relaxed);
	} else if (idx == BC_PRODUCER_ENTRY) {
		/* A slot left mid-write: its content is torn, so nobody may read it. */
		for (uint32_t s = 0; s < r->geo.slot_count; s++) {
			uint64_t w = atomic_load_explicit(&r->desc[s].turn, memory_order_acquire);
			if (w & BC_WRITING) {
				free_slot(r, s);
				atomic_fetch_add_explicit(&r->hdr->aborted, 1,
							  memory_order_relaxed);
			}
		}
	}
	return FR_PEER_FREE; /* reap_locked wakes both sides once the entry is FREE */
}

static void bc_info(struct fr_ring *r, struct fr_info *info)
{
	uint64_t latest_mask;
	uint64_t head = info->head;
	info->tail = min_reliable_cursor(r, head, &latest_mask);
	info->fill = head - info->tail;
	/* consumed already holds what detached consumers read; add the attached. */
	for (uint32_t i = 0; i < info->peer_count; i++) {
		struct fr_peer_info *p = &info->peers[i];
		if (p->role != FR_CONSUMER)
			continue;
		p->lag = head > p->cursor ? head - p->cursor : 0;
		info->consumed += p->delivered;
	}
}

const struct fr_ring_ops fri_broadcast_ops = {
	.init_turn = bc_init_turn,
	.attach = bc_attach,
	.try_claim = bc_try_claim,
	.publish = bc_publish,
	.cancel = bc_cancel,
	.try_acquire = bc_try_acquire,
	.release = bc_release,
	.reap = bc_reap,
	.peer_range = bc_peer_range,
	.info = bc_info,
	.log_count = bc_log_count,
	.consumer_wakes = FR_WAKE_ALL, /* every reader wants every frame */
	.min_slots = 4,                /* room for the camera, one reader's pin and one spare */
};
