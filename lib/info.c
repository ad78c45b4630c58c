/* What fr_info and fr_stat report: geometry, counters and the peer table. */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* Counters and peers; @r may be a read-only pseudo-handle made by fr_stat. */
void fri_fill_info(struct fr_ring *r, struct fr_info *info)
{
	const struct fr_shm_header *h = r->hdr;
	memset(info, 0, sizeof(*info));
	info->abi_version = FR_ABI_VERSION;
	info->mode = r->geo.mode;
	info->slots = r->geo.slot_count;
	info->width = r->geo.width;
	info->height = r->geo.height;
	info->stride = r->geo.stride;
	info->format = r->geo.format;
	info->perms = r->geo.perms;
	info->frame_capacity = r->geo.frame_capacity;
	info->payload_stride = r->geo.payload_stride;
	info->segment_bytes = r->geo.segment_bytes;
	int32_t creator = h->creator_pid; /* read once: checked and reported alike */
	info->creator_pid = creator;
	info->creator_alive = fri_creator_alive(creator, h->creator_start);
	info->created_ns = h->created_ns;
	/* Relaxed: a snapshot for humans; each counter is individually atomic. */
	info->head = atomic_load_explicit(&h->head, memory_order_relaxed);
	info->tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
	info->published = atomic_load_explicit(&h->published, memory_order_relaxed);
	info->dropped = atomic_load_explicit(&h->dropped, memory_order_relaxed);
	info->consumed = atomic_load_explicit(&h->consumed_retired, memory_order_relaxed);
	info->redelivered = atomic_load_explicit(&h->redelivered, memory_order_relaxed);
	info->aborted = atomic_load_explicit(&h->aborted, memory_order_relaxed);
	info->producer_waits = atomic_load_explicit(&h->producer_waits, memory_order_relaxed);
	info->consumer_waits = atomic_load_explicit(&h->consumer_waits, memory_order_relaxed);
	info->latest_stalls = atomic_load_explicit(&h->latest_stalls, memory_order_relaxed);
	info->end_of_stream = (atomic_load_explicit(&h->stream, memory_order_relaxed) &
			       FR_STREAM_END) != 0;
	for (unsigned i = 0; i < FR_MAX_PEERS; i++) {
		const struct fr_shm_peer *p = &h->peers[i];
		/* Acquire: pairs with the release store of LIVE at attach. */
		uint32_t st = atomic_load_explicit(&p->state, memory_order_acquire);
		if (st == FR_PEER_FREE)
			continue;
		struct fr_peer_info *pi = &info->peers[info->peer_count++];
		pi->index = i;
		pi->pid = p->pid;
		pi->role = p->role;
		pi->flags = p->flags;
		pi->alive = st == FR_PEER_LIVE && fri_peer_alive(r, i);
		pi->generation = atomic_load_explicit(&p->generation, memory_order_relaxed);
		pi->attach_ns = p->attach_ns;
		pi->cursor = atomic_load_explicit(&p->cursor, memory_order_relaxed);
		pi->delivered = atomic_load_explicit(&p->delivered, memory_order_relaxed);
		pi->dropped = atomic_load_explicit(&p->dropped, memory_order_relaxed);
		info->live_peers += pi->alive;
	}
	r->ops->info(r, info);
}

FR_API int fr_info(struct fr_ring *r, struct fr_info *info)
{
	if (r && r->inherited)
		return -ECHILD;
	if (!r || !info)
		return -EINVAL;
	fri_fill_info(r, info);
	return 0;
}

FR_API int fr_info_is_stale(const struct fr_info *info)
{
	return info && info->live_peers == 0 && !info->creator_alive;
}

FR_API int fr_handle_stats(struct fr_ring *r, struct fr_handle_stats *st)
{
	if (r && r->inherited)
		return -ECHILD;
	if (!r || !st)
		return -EINVAL;
	const struct fr_shm_header *h = r->hdr;
	const struct fr_shm_peer *p = r->self;
	memset(st, 0, sizeof(*st));
	st->index = (uint32_t)r->peer;
	st->role = r->role & (FR_PRODUCER | FR_CONSUMER);
	st->flags = r->role & ~(FR_PRODUCER | FR_CONSUMER);
	/* Relaxed: statistics; our own entry's counters only we write. */
	st->delivered = atomic_load_explicit(&p->delivered, memory_order_relaxed);
	st->dropped = atomic_load_explicit(&p->dropped, memory_order_relaxed);
	st->cursor = atomic_load_explicit(&p->cursor, memory_order_relaxed);
	if (r->role & FR_CONSUMER) {
		uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
		uint64_t from = r->geo.mode == FR_BROADCAST
				    ? st->cursor
				    : atomic_load_explicit(&h->tail, memory_order_relaxed);
		st->lag = head > from ? head - from : 0;
	}
	return 0;
}

FR_API const char *fr_version(void)
{
	return FR_VERSION;
}
