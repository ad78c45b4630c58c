/*
 * The public data path: claim/publish/cancel and acquire/release, common to
 * every mode. Checks the caller's arguments, runs the mode's non-blocking
 * step, and waits (spin, then futex) when that step would block.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

void fr_frame_defaults(const struct fr_ring *r, struct fr_frame *f, uint32_t slot, uint64_t pos)
{
	f->data = fr_slot_data(r, slot);
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
int fr_frame_check(const struct fr_ring *r, const struct fr_frame *f)
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

void fr_desc_store_meta(struct fr_shm_desc *d, const struct fr_frame *f, uint64_t seq,
			uint32_t owner)
{
	d->seq = seq;
	d->timestamp_ns = f->timestamp_ns ? f->timestamp_ns : fr_now_ns();
	d->bytes = f->bytes;
	d->width = f->width;
	d->height = f->height;
	d->stride = f->stride;
	d->format = f->format;
	d->flags = f->flags & FR_FRAME_USER_MASK;
	d->owner = owner;
}

/*
 * Copy a descriptor into @f. The descriptor is shared memory another process
 * may scribble on: copy first, validate the copy (fr_frame_check) after.
 */
void fr_frame_from_desc(const struct fr_ring *r, struct fr_frame *f, const struct fr_shm_desc *d,
			uint32_t slot, uint64_t pos)
{
	f->data = fr_slot_data(r, slot);
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

void fr_wake_consumers(struct fr_ring *r)
{
	fr_wake(&r->hdr->data_wait, r->ops->consumer_wakes);
}

void fr_wake_producers(struct fr_ring *r)
{
	/* Every mode frees slots one at a time here (reapers wake all themselves). */
	fr_wake(&r->hdr->space_wait, 1);
}

static bool held_by_caller(const struct fr_ring *r, const struct fr_frame *f)
{
	return r->holding && f->priv_pos == r->held_pos && f->priv_slot == r->held_slot;
}

static int try_claim(struct fr_ring *r, void *arg)
{
	return r->ops->try_claim(r, arg);
}

FR_API int fr_claim(struct fr_ring *r, struct fr_frame *f, int timeout_ms)
{
	if (!r || !f || !(r->role & FR_PRODUCER) || timeout_ms < -1)
		return -EINVAL;
	if (r->inherited)
		return -ECHILD;
	if (r->holding)
		return -EBUSY; /* one claimed frame per handle */
	int rc = try_claim(r, f);
	if (rc == -EAGAIN) {
		atomic_fetch_add_explicit(&r->hdr->producer_waits, 1, memory_order_relaxed);
		rc = fr_wait_until(r, &r->hdr->space_wait, timeout_ms, try_claim, f);
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
	if (fr_frame_check(r, f) < 0)
		return -EINVAL;
	int rc = r->ops->publish(r, f);
	r->holding = false; /* handed over, or (-EPROTO) taken from us by a scribble */
	if (rc == 0)
		fr_count_own(&r->self->delivered, 1);
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

struct acquire_arg {
	struct fr_frame *frame;
	unsigned flags;
};

static int try_acquire(struct fr_ring *r, void *arg)
{
	struct acquire_arg *a = arg;
	int rc = r->ops->try_acquire(r, a->frame, a->flags);
	if (rc != -EAGAIN)
		return rc;
	/* Acquire: pairs with the release CAS that set END (fr_stream_leave);
	 * the last producer's last publish is then visible to the re-check. */
	if (!(atomic_load_explicit(&r->hdr->stream, memory_order_acquire) & FR_STREAM_END))
		return -EAGAIN;
	rc = r->ops->try_acquire(r, a->frame, a->flags);
	return rc == -EAGAIN ? -EPIPE : rc;
}

FR_API int fr_acquire_ex(struct fr_ring *r, struct fr_frame *f, int timeout_ms, unsigned flags)
{
	if (!r || !f || !(r->role & FR_CONSUMER) || timeout_ms < -1 || (flags & ~FR_ACQUIRE_NEWEST))
		return -EINVAL;
	if (r->inherited)
		return -ECHILD;
	if (r->holding)
		return -EBUSY; /* one acquired frame per handle */
	struct acquire_arg a = {f, flags};
	int rc = try_acquire(r, &a);
	if (rc == -EAGAIN) {
		atomic_fetch_add_explicit(&r->hdr->consumer_waits, 1, memory_order_relaxed);
		rc = fr_wait_until(r, &r->hdr->data_wait, timeout_ms, try_acquire, &a);
	}
	if (rc == 0) {
		r->holding = true;
		r->held_pos = f->priv_pos;
		r->held_slot = f->priv_slot;
		fr_count_own(&r->self->delivered, 1);
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
	if (!r || spin_ns < -1)
		return -EINVAL;
	if (r->inherited)
		return -ECHILD;
	r->spin_ns = spin_ns;
	return 0;
}
