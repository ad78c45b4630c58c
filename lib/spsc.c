/*
 * SPSC: a Lamport ring of positions. head (producer line) counts published
 * positions, tail (consumer line) counts released ones; the descriptor of
 * position pos is desc[pos & mask]. Each side keeps its own counter in the
 * handle and a cached copy of the other side's, and re-reads the shared
 * counter only when the cache says full (producer) or empty (consumer).
 *
 * For large frames, positions and payload slots are decoupled: a descriptor
 * names the slot its frame sits in, and the producer reuses the slot released
 * most recently (a private LIFO). With one or two frames in flight only one
 * or two slots stay hot in the cache, however many the ring has: for 6 MB
 * frames that is the difference between streaming from L3 and from DRAM.
 * Small frames keep slot = pos & mask: there the footprint does not matter,
 * and knowing the slot without reading the descriptor saves a dependent
 * cache miss on the consumer's side.
 *
 * The consumer learns that position pos is published from its descriptor,
 * not from head: the producer stores desc.turn = pos + 1 last, with release,
 * and the consumer polls that word. One cache line then brings both the news
 * and the metadata (reading head, then the descriptor, was two cross-core
 * misses in a row on every hand-off), and head's line stays the producer's.
 * head is still stored right after, for info, restarts and the other tools;
 * a producer that died between the two stores is repaired by the next one
 * (spsc_attach).
 *
 * Exactly one live producer (peer entry 0) and one live consumer (entry 1):
 * the entry's lock makes the role exclusive, and a dead holder's lock is
 * gone, so a restart just works.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "internal.h"

/* Rings of up to this many large slots: the consumer prefetches every slot's
 * first line at acquire (spsc_try_acquire). */
#define FRI_PREFETCH_ALL_SLOTS 8u

enum { SPSC_PRODUCER_ENTRY = 0, SPSC_CONSUMER_ENTRY = 1 };

/*
 * Producer attach: the free slots are those no position in [tail, head)
 * carries. Rebuilt from the ring, so a producer that died mid-claim loses
 * nothing. Later releases are collected from tail on.
 */
static int rebuild_free_slots(struct fr_ring *r)
{
	const uint32_t n = r->geo.slot_count;
	uint8_t *used = calloc(n, 1);
	r->free_slots = malloc(n * sizeof(*r->free_slots));
	if (!used || !r->free_slots) {
		free(used);
		free(r->free_slots);
		r->free_slots = NULL;
		return -ENOMEM;
	}
	uint64_t head = r->pos, tail = r->other;
	if (head - tail > n) /* scribbled counters: take the ring as empty */
		tail = head;
	for (uint64_t p = tail; p < head; p++) {
		uint32_t slot = r->desc[p & r->mask].slot;
		if (slot < n)
			used[slot] = 1;
	}
	r->free_count = 0;
	for (uint32_t s = n; s-- > 0;)
		if (!used[s])
			r->free_slots[r->free_count++] = s;
	r->collected = tail;
	free(used);
	return 0;
}

/* Push the slots of positions the consumer released since we last looked. */
static void collect_released(struct fr_ring *r)
{
	const uint32_t n = r->geo.slot_count;
	for (; r->collected < r->other; r->collected++) {
		uint32_t slot = r->desc[r->collected & r->mask].slot;
		/* Our own earlier write, but the memory is shared: keep the stack sane. */
		if (slot < n && r->free_count < n)
			r->free_slots[r->free_count++] = slot;
	}
}

static uint64_t spsc_init_turn(uint32_t slot)
{
	(void)slot;
	return 0; /* no position published yet: turn is pos + 1 once pos is (below) */
}

static void spsc_peer_range(const struct fr_ring *r, unsigned role, unsigned flags, unsigned *lo,
			    unsigned *hi)
{
	(void)r;
	(void)flags;
	*lo = role == FR_PRODUCER ? SPSC_PRODUCER_ENTRY : SPSC_CONSUMER_ENTRY;
	*hi = *lo + 1;
}

static int spsc_attach(struct fr_ring *r)
{
	struct fr_shm_header *h = r->hdr;
	if (r->role & FR_PRODUCER) {
		/* Acquire: pairs with the previous producer's release of head, and the
		 * consumer's release of tail. */
		r->pos = atomic_load_explicit(&h->head, memory_order_acquire);
		r->other = atomic_load_explicit(&h->tail, memory_order_acquire);
		/* A producer that died between its two publishing stores left
		 * turn = head + 1: that position is published (the consumer may
		 * have taken it already), so head moves past it. Relaxed: the
		 * previous producer is dead and its stores are done. */
		struct fr_shm_desc *d = &r->desc[r->pos & r->mask];
		if (atomic_load_explicit(&d->turn, memory_order_relaxed) == r->pos + 1) {
			r->pos++;
			/* Release, relaxed: as the stores in spsc_publish. */
			atomic_store_explicit(&h->head, r->pos, memory_order_release);
			atomic_store_explicit(&h->published, r->pos, memory_order_relaxed);
		}
		int rc = fri_hot_slots(r) ? rebuild_free_slots(r) : 0;
		if (rc < 0)
			return rc;
	} else {
		/* Acquire: pairs with the previous consumer's release of tail and
		 * the producer's release of head. */
		r->pos = atomic_load_explicit(&h->tail, memory_order_acquire);
	}
	return 0;
}

/* Acquire: pairs with the consumer's release store of tail; the positions
 * (and slots) it gave back are no longer read. Returns -EPROTO for a tail
 * that ran past us. */
static int reload_tail(struct fr_ring *r, uint64_t pos)
{
	uint64_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
	if (tail > pos)
		return -EPROTO; /* a scribbled tail: never trust it past us */
	r->other = tail;
	if (fri_hot_slots(r))
		collect_released(r);
	return 0;
}

/* Large frames: is the consumer behind, two frames in flight (one read, one
 * waiting)? Then a flat-out producer waits for the slot being read (depth.c).
 * Only such a producer reloads tail here: reading the consumer's line at
 * every claim would cost a hand-off its pipelining. */
static int hot_depth(struct fr_ring *r, uint64_t pos)
{
	if (!fri_hot_may_hold(r) || pos - r->other < 2)
		return 0;
	int rc = reload_tail(r, pos);
	if (rc < 0)
		return rc;
	return fri_hot_depth_wait(r, pos - r->other >= 2);
}

static int spsc_try_claim(struct fr_ring *r, struct fr_frame *f)
{
	uint64_t pos = r->pos;
	if (pos - r->other >= r->geo.slot_count) {
		int rc = reload_tail(r, pos);
		if (rc < 0)
			return rc;
		if (pos - r->other >= r->geo.slot_count)
			return -EAGAIN;
	}
	uint32_t slot = (uint32_t)(pos & r->mask);
	if (fri_hot_slots(r)) {
		int rc = hot_depth(r, pos);
		if (rc < 0)
			return rc;
		fri_hot_claimed(r);
		if (r->free_count == 0)
			return -EPROTO; /* not full, yet no free slot: the ring was scribbled on */
		slot = r->free_slots[--r->free_count];
	}
	fri_frame_defaults(r, f, slot, pos);
	return 0;
}

static int spsc_publish(struct fr_ring *r, struct fr_frame *f)
{
	uint64_t pos = r->pos;
	struct fr_shm_desc *d = &r->desc[pos & r->mask];
	fri_desc_store_meta(r, d, f, pos);
	d->slot = f->priv_slot;
	f->seq = pos;
	FR_HOOK("spsc_publish_before_turn");
	/* The publish. Release: pairs with the consumer's acquire load of turn;
	 * the pixels and descriptor written above are visible before it. */
	atomic_store_explicit(&d->turn, pos + 1, memory_order_release);
	FR_HOOK("spsc_publish_before_head");
	/* Release: pairs with the acquire loads of head by a later producer
	 * (spsc_attach) and by readers of the counters (fr_info). */
	atomic_store_explicit(&r->hdr->head, pos + 1, memory_order_release);
	/* Relaxed: a count for end of stream and info, on head's line anyway. */
	atomic_store_explicit(&r->hdr->published, pos + 1, memory_order_relaxed);
	r->pos = pos + 1;
	fri_wake_consumers(r);
	/* Learn which slots came back while the consumer works on this frame,
	 * not at the next claim, where the wait would be on the latency path.
	 * Not for a producer that writes a few bytes of each large frame: it has
	 * no footprint to keep, and reading the consumer's line at every publish
	 * costs the consumer an ownership transfer at every release. Its free
	 * slots are collected when the cached tail says the ring is full. */
	if (fri_hot_slots(r)) {
		if (!r->hot_light)
			reload_tail(r, pos + 1);
		fri_hot_published(r);
	}
	return 0;
}

static int spsc_cancel(struct fr_ring *r, struct fr_frame *f)
{
	/* head never moved: the slot goes back on top of the free stack */
	if (fri_hot_slots(r))
		r->free_slots[r->free_count++] = f->priv_slot;
	return 0;
}

static int spsc_try_acquire(struct fr_ring *r, struct fr_frame *f, unsigned flags)
{
	(void)flags;
	struct fr_shm_header *h = r->hdr;
	uint64_t pos = r->pos;
	struct fr_shm_desc *d = &r->desc[pos & r->mask];
	/* Acquire: pairs with the producer's release store of turn. Any other
	 * value is an older lap (or a scribble, which only an exact match could
	 * turn into a delivery, checked below like any descriptor). */
	if (atomic_load_explicit(&d->turn, memory_order_acquire) != pos + 1)
		return -EAGAIN;
	uint32_t slot = (uint32_t)(pos & r->mask);
	if (fri_hot_slots(r)) {
		/* Fetch the first line of the likely slots while the descriptor
		 * that names the slot is on its way. A producer that writes a few
		 * bytes of each frame cycles through its free slots (it collects
		 * released ones only when the ring is full: spsc_publish), so the
		 * two recent ones missed it and the header's load waited for the
		 * descriptor: ~20 ns of a 1080p busy round trip (framering-pingpong,
		 * four alternated runs: p50 250 against 270 ns). With few slots,
		 * fetch every one: lines unchanged since we read them are hits. */
		if (r->geo.slot_count <= FRI_PREFETCH_ALL_SLOTS) {
			for (uint32_t i = 0; i < r->geo.slot_count; i++)
				__builtin_prefetch(fri_slot_data(r, i));
		} else {
			__builtin_prefetch(fri_slot_data(r, r->recent_slots[0] & r->mask));
			__builtin_prefetch(fri_slot_data(r, r->recent_slots[1] & r->mask));
		}
		slot = d->slot;
		if (slot < r->geo.slot_count && slot != r->recent_slots[0]) {
			r->recent_slots[1] = r->recent_slots[0];
			r->recent_slots[0] = slot;
		}
	}
	/* Relaxed: read only by the reaper after we died. */
	atomic_store_explicit(&r->self->held, pos + 1, memory_order_relaxed);
	FR_HOOK("spsc_acquire_held");
	fri_frame_from_desc(r, f, d, slot < r->geo.slot_count ? slot : 0, pos);
	if (atomic_load_explicit(&h->redeliver_pos, memory_order_relaxed) == pos + 1) {
		f->flags |= FR_FRAME_REDELIVERED;
		atomic_fetch_add_explicit(&h->redelivered, 1, memory_order_relaxed);
		atomic_store_explicit(&h->redeliver_pos, 0, memory_order_relaxed);
	}
	if (slot < r->geo.slot_count && fri_frame_check(r, f) == 0)
		return 0;
	/* A corrupt descriptor: skip the position so the stream goes on. */
	atomic_store_explicit(&h->tail, pos + 1, memory_order_release);
	atomic_store_explicit(&r->self->held, 0, memory_order_relaxed);
	r->pos = pos + 1;
	fri_wake_producers(r);
	return -EPROTO;
}

static int spsc_release(struct fr_ring *r, struct fr_frame *f)
{
	(void)f;
	uint64_t pos = r->pos;
	FR_HOOK("spsc_release_before_tail");
	/* Release: pairs with the producer's acquire load of tail; our reads of
	 * the slot are done before the producer may overwrite it. */
	atomic_store_explicit(&r->hdr->tail, pos + 1, memory_order_release);
	atomic_store_explicit(&r->self->held, 0, memory_order_relaxed);
	r->pos = pos + 1;
	fri_wake_producers(r);
	return 0;
}

/* A dead consumer that held the frame at tail: the next consumer gets it again, flagged. */
static uint32_t spsc_reap(struct fr_ring *r, unsigned idx)
{
	struct fr_shm_peer *p = &r->hdr->peers[idx];
	if (idx == SPSC_CONSUMER_ENTRY) { /* the index, not the scribblable role field */
		uint64_t held = atomic_load_explicit(&p->held, memory_order_relaxed);
		uint64_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_relaxed);
		if (held && held == tail + 1)
			atomic_store_explicit(&r->hdr->redeliver_pos, held, memory_order_relaxed);
	}
	/* A dead producer's claimed slot was never published: nothing to undo. */
	return FR_PEER_FREE;
}

static void spsc_info(struct fr_ring *r, struct fr_info *info)
{
	(void)r;
	info->fill = info->head >= info->tail ? info->head - info->tail : 0;
	info->consumed = info->tail;
	info->published = info->head;
}

const struct fr_ring_ops fri_spsc_ops = {
	.init_turn = spsc_init_turn,
	.attach = spsc_attach,
	.try_claim = spsc_try_claim,
	.publish = spsc_publish,
	.cancel = spsc_cancel,
	.try_acquire = spsc_try_acquire,
	.release = spsc_release,
	.reap = spsc_reap,
	.peer_range = spsc_peer_range,
	.info = spsc_info,
	.consumer_wakes = 1,
	.min_slots = FR_MIN_SLOTS,
};
