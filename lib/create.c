/*
 * Creating a segment: the config normalised, the file made (named, or an
 * anonymous memfd sealed against resizing), every page reserved, the header
 * and descriptors written while the segment is still INIT, then READY with a
 * release store, and the creator attached as its first producer.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/*
 * Reserve every page now: -ENOSPC here instead of SIGBUS on first touch.
 * Through the mapping (MADV_POPULATE_WRITE, Linux 5.14), so that the payload
 * gets the huge pages advised above where they are allowed; posix_fallocate
 * (which knows no mapping, so only ever small pages) on older kernels.
 */
static int reserve_pages(int fd, uint8_t *base, uint64_t bytes)
{
#ifdef MADV_POPULATE_WRITE
	if (madvise(base, bytes, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL)
		return errno == ENOMEM || errno == EFAULT ? -ENOSPC : -errno;
#endif
	int rc = posix_fallocate(fd, 0, (off_t)bytes);
	return rc == 0 ? 0 : rc == ENOSPC || rc == EFBIG ? -ENOSPC : -rc;
}

static int normalise(const struct fr_config *cfg, struct fr_config *c)
{
	*c = *cfg;
	if (!c->mode)
		c->mode = FR_SPSC;
	if (!c->slots)
		c->slots = 4;
	if (!c->perms)
		c->perms = 0600;
	if (c->mode < FR_SPSC || c->mode > FR_BROADCAST)
		return -EINVAL;
	if (!fri_is_pow2(c->slots) || c->slots < FR_MIN_SLOTS || c->slots > FR_MAX_SLOTS)
		return -EINVAL;
	if (c->slots < fri_ops_for(c->mode)->min_slots)
		return -EINVAL;
	if (c->perms & ~07777u || c->flags & ~(FR_CREATE_REPLACE_STALE | FR_CREATE_ANONYMOUS))
		return -EINVAL;
	if (c->format >= FR_FORMAT_COUNT)
		return -EINVAL;
	if (c->format == FR_FORMAT_RAW || c->format == FR_FORMAT_JPEG) {
		if (!c->frame_bytes || c->stride)
			return -EINVAL;
	} else {
		if (!c->stride)
			c->stride = (uint32_t)fr_format_default_stride(c->format, c->width);
		uint64_t need;
		int rc = fr_format_frame_bytes(c->format, c->width, c->height, c->stride, &need);
		if (rc < 0 || fr_format_default_stride(c->format, c->width) > UINT32_MAX)
			return -EINVAL;
		if (!c->frame_bytes)
			c->frame_bytes = need;
		else if (c->frame_bytes < need)
			return -EINVAL;
	}
	if (c->frame_bytes > FR_MAX_FRAME_BYTES)
		return -EINVAL;
	return 0;
}

static void fill_header(struct fr_shm_header *h, const struct fr_config *c,
			const struct fr_geometry *g)
{
	memcpy(h->magic, FR_SHM_MAGIC, 8);
	h->abi_version = FR_ABI_VERSION;
	h->header_bytes = (uint32_t)g->header_bytes;
	h->segment_bytes = g->segment_bytes;
	h->mode = c->mode;
	h->policy = 0;
	h->slot_count = c->slots;
	h->max_peers = FR_MAX_PEERS;
	h->desc_offset = g->desc_offset;
	h->log_offset = g->log_offset;
	h->log_count = g->log_count;
	h->payload_offset = g->payload_offset;
	h->payload_stride = g->payload_stride;
	h->frame_capacity = g->frame_capacity;
	h->width = c->width;
	h->height = c->height;
	h->stride = c->stride;
	h->format = c->format;
	h->creator_pid = (int32_t)getpid();
	h->creator_start = fri_process_start_time(h->creator_pid);
	h->created_ns = fri_realtime_ns();
	h->perms = c->perms;
}

static void init_descriptors(struct fr_shm_desc *d, uint32_t mode, uint32_t slots)
{
	const struct fr_ring_ops *ops = fri_ops_for(mode);
	for (uint32_t i = 0; i < slots; i++) {
		d[i].seq = UINT64_MAX; /* never published */
		atomic_init(&d[i].turn, ops->init_turn(i));
	}
}

/*
 * The file of a new segment: created exclusively under its name (shm_open or
 * FRAMERING_DIR), or, for FR_CREATE_ANONYMOUS, a memfd with no name anywhere
 * that disappears with the last process that has it.
 */
static int make_file(const char *name, const struct fr_config *c)
{
	if (!(c->flags & FR_CREATE_ANONYMOUS))
		return fri_segment_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	int fd = memfd_create(name[0] == '/' ? name + 1 : name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd >= 0 ? fd : -errno;
}

/* Seal an anonymous segment's size: no peer can shrink it and make the
 * others fault (SIGBUS), nor grow it. Named files cannot be sealed. */
static int seal_size(int fd, const struct fr_config *c)
{
	if (!(c->flags & FR_CREATE_ANONYMOUS))
		return 0;
	int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	return fcntl(fd, F_ADD_SEALS, seals) == 0 ? 0 : -errno;
}

static void unmake_file(const char *name, const struct fr_config *c)
{
	if (!(c->flags & FR_CREATE_ANONYMOUS))
		fr_unlink(name);
}

static int create_once(const char *name, const struct fr_config *c, struct fr_ring **out)
{
	struct fr_geometry g;
	int rc = fri_layout_for(c->mode, c->slots, c->frame_bytes, &g);
	if (rc < 0)
		return rc;
	g.width = c->width;
	g.height = c->height;
	g.stride = c->stride;
	g.format = c->format;
	g.perms = c->perms;

	int fd = make_file(name, c);
	if (fd < 0)
		return fd;
	/* Exactly the requested mode: fchmod is not filtered by the umask. */
	if (fchmod(fd, c->perms) != 0) {
		rc = -errno;
		goto fail;
	}
	/* On hugetlbfs the file, and so the mapping, is whole huge pages. */
	uint64_t unit = fri_file_unit(fd);
	uint64_t file_bytes = fri_file_bytes(g.segment_bytes, unit);
	if (ftruncate(fd, (off_t)file_bytes) != 0) {
		rc = errno == EFBIG ? -ENOSPC : -errno;
		goto fail;
	}
	uint8_t *base = mmap(NULL, file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		/* hugetlbfs reserves its pages here: too few free is a full disk */
		rc = errno == ENOMEM && unit > FR_SHM_PAGE ? -ENOSPC : -ENOMEM;
		goto fail;
	}
	fri_advise_huge_payload(base, &g);
	rc = reserve_pages(fd, base, file_bytes);
	if (rc == 0)
		rc = seal_size(fd, c);
	if (rc < 0) {
		munmap(base, file_bytes);
		goto fail;
	}
	struct fr_shm_header *h = (struct fr_shm_header *)base;
	fill_header(h, c, &g);
	init_descriptors((struct fr_shm_desc *)(base + g.desc_offset), c->mode, c->slots);
	/* Release: everything above is visible to whoever reads READY (acquire). */
	atomic_store_explicit(&h->state, FR_SHM_READY, memory_order_release);
	rc = fri_ring_attach(fd, fri_mapping_new(base, file_bytes), &g, FR_PRODUCER, out);
	close(fd); /* the mapping and the handle's lock fd keep the file */
	if (rc < 0)
		unmake_file(name, c);
	return rc;
fail:
	close(fd);
	unmake_file(name, c);
	return rc;
}

FR_API int fr_create(const char *name, const struct fr_config *cfg, struct fr_ring **out)
{
	struct fr_config c;
	if (!cfg || !out)
		return -EINVAL;
	int rc = fr_name_check(name);
	if (rc < 0)
		return rc;
	rc = normalise(cfg, &c);
	if (rc < 0)
		return rc;
	rc = create_once(name, &c, out);
	if (rc == -EEXIST && (c.flags & FR_CREATE_REPLACE_STALE)) {
		struct fr_info info;
		int st = fr_stat(name, &info);
		/* Replace only a framering segment that is provably abandoned: a
		 * file we cannot read as one may be another program's data. */
		if (st == 0 && fr_info_is_stale(&info)) {
			fr_unlink(name);
			rc = create_once(name, &c, out);
		}
	}
	return rc;
}
