/*
 * Frames and descriptors, shared by every mode: a frame's defaults in a slot,
 * the check of metadata against the slot, copying metadata into and out of a
 * descriptor, and waking the other side. Below the modes; above waits.
 */
#include <errno.h>

#include "internal.h"

void fri_frame_defaults(const struct fr_ring *r, struct fr_frame *f, uint32_t slot, uint64_t pos)
{
	f->data = fri_slot_data(r, slot);
	f->capacity = r->geo.frame_capacity;
	f->bytes = r->geo.frame_capacity;
	if (r->geo.format != FR_FORMAT_RAW && r->geo.format != FR_FORMAT_JPEG)
		fr_format_frame_bytes(r->geo.format, r->geo.width, r->geo.height, r->geo.stride,
				      &f->bytes);
	f->seq = 0;
	f->timestamp_ns = 0;
	f->width = r->geo.width;
	f->height = r->geo.height;
	f->stride = r->geo.stride;
	f->format = r->geo.format;
	f->flags = 0;
	f->priv_slot = slot;
	f->priv_pos = pos;
	f->priv_state = 0;
}

/* Is this frame's metadata consistent with the slot it sits in? */
int fri_frame_check(const struct fr_ring *r, const struct fr_frame *f)
{
	if (f->bytes > r->geo.frame_capacity || f->format >= FR_FORMAT_COUNT)
		return -EINVAL;
	if (f->format != FR_FORMAT_RAW && f->format != FR_FORMAT_JPEG) {
		uint64_t need;
		if (fr_format_frame_bytes(f->format, f->width, f->height, f->stride, &need) < 0 ||
		    need > r->geo.frame_capacity)
			return -EINVAL;
	}
	return 0;
}

void fri_desc_store_meta(struct fr_ring *r, struct fr_shm_desc *d, const struct fr_frame *f,
			 uint64_t seq)
{
	d->seq = seq;
	d->timestamp_ns = f->timestamp_ns ? f->timestamp_ns : fri_clock_now(&r->clock);
	d->bytes = f->bytes;
	d->width = f->width;
	d->height = f->height;
	d->stride = f->stride;
	d->format = f->format;
	d->flags = f->flags & FR_FRAME_USER_MASK;
	d->owner = (uint32_t)r->peer;
}

/*
 * Copy a descriptor into @f. The descriptor is shared memory another process
 * may scribble on: copy first, validate the copy (fri_frame_check) after.
 */
void fri_frame_from_desc(const struct fr_ring *r, struct fr_frame *f, const struct fr_shm_desc *d,
			 uint32_t slot, uint64_t pos)
{
	f->data = fri_slot_data(r, slot);
	f->capacity = r->geo.frame_capacity;
	f->seq = d->seq;
	f->timestamp_ns = d->timestamp_ns;
	f->bytes = d->bytes;
	f->width = d->width;
	f->height = d->height;
	f->stride = d->stride;
	f->format = d->format;
	f->flags = d->flags & FR_FRAME_USER_MASK;
	f->priv_slot = slot;
	f->priv_pos = pos;
	f->priv_state = 0;
}

void fri_wake_consumers(struct fr_ring *r)
{
	fri_wake(&r->hdr->data_wait, r->ops->consumer_wakes, r->fd);
}

void fri_wake_producers(struct fr_ring *r)
{
	/* Every mode frees slots one at a time here (reapers wake all themselves). */
	fri_wake(&r->hdr->space_wait, 1, r->fd);
}
