/*
 * Layout arithmetic and its check: where everything lies in a segment of a
 * given (mode, slots, capacity), and whether a mapped header describes
 * exactly that. Pure functions over copies, no system calls: the fuzzer's
 * first target.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

const struct fr_ring_ops *fri_ops_for(uint32_t mode)
{
	switch (mode) {
	case FR_SPSC: return &fri_spsc_ops;
	case FR_MPMC: return &fri_mpmc_ops;
	case FR_BROADCAST: return &fri_broadcast_ops;
	default: return NULL;
	}
}

static uint64_t round_up(uint64_t v, uint64_t unit)
{
	return (v + unit - 1) / unit * unit;
}

bool fri_is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* a * b + c without overflow, or false. */
static bool mul_add(uint64_t a, uint64_t b, uint64_t c, uint64_t *out)
{
	uint64_t m;
	if (__builtin_mul_overflow(a, b, &m) || __builtin_add_overflow(m, c, out))
		return false;
	return true;
}

/* Compute the layout of a segment for a normalised config. */
int fri_layout_for(uint32_t mode, uint32_t slots, uint64_t capacity, struct fr_geometry *g)
{
	g->mode = mode;
	g->slot_count = slots;
	g->header_bytes = round_up(sizeof(struct fr_shm_header), FR_SHM_PAGE);
	g->desc_offset = g->header_bytes;
	uint64_t end = g->desc_offset + (uint64_t)slots * FR_SHM_DESC_BYTES;
	g->log_count = 0;
	g->log_offset = 0;
	const struct fr_ring_ops *ops = fri_ops_for(mode);
	if (ops && ops->log_count) {
		g->log_count = ops->log_count(slots);
		g->log_offset = end;
		end += (uint64_t)g->log_count * sizeof(struct fr_shm_log);
	}
	g->payload_offset = round_up(end, FR_SHM_PAGE);
	g->frame_capacity = capacity;
	g->payload_stride = round_up(capacity, FR_SHM_PAGE);
	if (!mul_add(g->payload_stride, slots, g->payload_offset, &g->segment_bytes) ||
	    g->segment_bytes > FR_MAX_SEGMENT_BYTES)
		return -EINVAL;
	return 0;
}

/*
 * Copy shared memory that another process may be writing, reading each byte
 * exactly once, so that checks made on the copy hold for every use of it.
 */
static void copy_shared(void *dst, const volatile void *src, size_t n)
{
	const volatile uint8_t *s = src;
	uint8_t *d = dst;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}

uint64_t fri_file_bytes(uint64_t segment_bytes, uint64_t unit)
{
	return round_up(segment_bytes, unit);
}

int fri_geometry_validate(const struct fr_shm_header *shared, uint64_t file_size, uint64_t unit,
			  struct fr_geometry *g)
{
	struct fr_geometry want;
	struct fr_shm_header h; /* only the identity line is copied and used */
	if (file_size < sizeof(h))
		return -EPROTO;
	copy_shared(&h, shared, offsetof(struct fr_shm_header, head));
	if (memcmp(h.magic, FR_SHM_MAGIC, 8) != 0 || h.abi_version != FR_ABI_VERSION)
		return -EPROTO;
	if (h.mode < FR_SPSC || h.mode > FR_BROADCAST || h.policy != 0 ||
	    h.max_peers != FR_MAX_PEERS)
		return -EPROTO;
	if (!fri_is_pow2(h.slot_count) || h.slot_count < FR_MIN_SLOTS ||
	    h.slot_count > FR_MAX_SLOTS)
		return -EPROTO;
	if (h.frame_capacity == 0 || h.frame_capacity > FR_MAX_FRAME_BYTES)
		return -EPROTO;
	if (h.format >= FR_FORMAT_COUNT)
		return -EPROTO;
	if (h.format != FR_FORMAT_RAW && h.format != FR_FORMAT_JPEG) {
		uint64_t need;
		if (fr_format_frame_bytes(h.format, h.width, h.height, h.stride, &need) < 0 ||
		    need > h.frame_capacity)
			return -EPROTO;
	}
	/* The layout is a function of (mode, slots, capacity): recompute it and
	 * require every stored offset to match, instead of trusting any of them. */
	if (fri_layout_for(h.mode, h.slot_count, h.frame_capacity, &want) < 0)
		return -EPROTO;
	if (h.header_bytes != want.header_bytes || h.desc_offset != want.desc_offset ||
	    h.log_offset != want.log_offset || h.log_count != want.log_count ||
	    h.payload_offset != want.payload_offset || h.payload_stride != want.payload_stride ||
	    h.segment_bytes != want.segment_bytes ||
	    file_size != fri_file_bytes(want.segment_bytes, unit))
		return -EPROTO;
	*g = want;
	g->width = h.width;
	g->height = h.height;
	g->stride = h.stride;
	g->format = h.format;
	g->perms = h.perms & 07777;
	return 0;
}
