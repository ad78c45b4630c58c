/*
 * Segment lifecycle: creation, opening (validated by geometry.c), mapping,
 * handles, closing, and fr_stat (an open that only reads).
 *
 * Creation fills the whole segment while it is still INIT and publishes it
 * with a release store of READY. Opening trusts nothing: every size and
 * offset is checked against the real file size with overflow-safe arithmetic,
 * and the validated geometry is copied into the handle so that later changes
 * to the header by a misbehaving peer cannot move the handle's bounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define OPEN_READY_WAIT_MS 500 /* how long an opener waits for a creator still at INIT */

static int map_segment(int fd, bool writable, struct stat *st, uint8_t **base)
{
	/* Wait briefly for a creator that has not finished (size 0 or state INIT). */
	uint64_t give_up = fri_now_ns() + (uint64_t)OPEN_READY_WAIT_MS * 1000000u;
	for (;;) {
		if (fstat(fd, st) != 0)
			return -errno;
		if (!S_ISREG(st->st_mode))
			return -EPROTO;
		if ((uint64_t)st->st_size >= sizeof(struct fr_shm_header)) {
			if ((uint64_t)st->st_size > FR_MAX_SEGMENT_BYTES)
				return -EPROTO;
			void *m = mmap(NULL, (size_t)st->st_size,
				       PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
			if (m == MAP_FAILED)
				return errno == EACCES ? -EACCES : -ENOMEM;
			const struct fr_shm_header *h = m;
			/* Acquire: pairs with the creator's release store of READY, so
			 * the identity fields written before it are visible. */
			uint32_t state = atomic_load_explicit(&((struct fr_shm_header *)m)->state,
							      memory_order_acquire);
			/* A creator writes the magic, then READY: all-zero magic or INIT
			 * with the magic may be a segment in the making; anything else is
			 * final (ready, or garbage that validation will reject). */
			static const char zeros[8];
			bool making = memcmp(h->magic, zeros, 8) == 0 ||
				      (memcmp(h->magic, FR_SHM_MAGIC, 8) == 0 &&
				       state == FR_SHM_INIT);
			if (!making || fri_now_ns() >= give_up) {
				*base = m;
				return 0;
			}
			munmap(m, (size_t)st->st_size);
		}
		if (fri_now_ns() >= give_up)
			return -EPROTO;
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
}

/* Point a handle at a validated mapping; the handle uses only the copy @g. */
static void ring_map(struct fr_ring *r, int fd, uint8_t *base, const struct fr_geometry *g)
{
	r->fd = fd;
	r->base = base;
	r->hdr = (struct fr_shm_header *)base;
	r->desc = (struct fr_shm_desc *)(base + g->desc_offset);
	r->log = g->log_offset ? (struct fr_shm_log *)(base + g->log_offset) : NULL;
	r->payload = base + g->payload_offset;
	r->geo = *g;
	r->mask = g->slot_count - 1;
	r->ops = fri_ops_for(g->mode);
	r->peer = -1;
}

/*
 * Ask for transparent huge pages on the payload: a 1080p frame spans 1,500
 * 4 KiB pages, a 4K frame 6,000, and each costs a TLB entry. The kernel honours
 * it only where the admin allows huge pages for shared memory
 * (/sys/kernel/mm/transparent_hugepage/shmem_enabled = advise, or the tmpfs
 * mount option huge=advise); otherwise it is a no-op, and an error changes
 * nothing, so none is reported.
 */
static void advise_huge_payload(uint8_t *base, const struct fr_geometry *g)
{
	madvise(base + g->payload_offset, g->segment_bytes - g->payload_offset, MADV_HUGEPAGE);
}

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

static struct fr_mapping *mapping_new(uint8_t *base, uint64_t bytes)
{
	struct fr_mapping *m = malloc(sizeof(*m));
	if (!m) {
		munmap(base, bytes);
		return NULL;
	}
	atomic_init(&m->refs, 1);
	m->base = base;
	m->bytes = bytes;
	return m;
}

static void mapping_put(struct fr_mapping *m)
{
	/* acq_rel: every handle's use of the mapping happens before the unmap. */
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
		munmap(m->base, m->bytes);
		free(m);
	}
}

/*
 * A new open file description of the file behind @fd, for a handle's peer
 * lock. Never lock the description a mapping was made from: a mapping keeps
 * its file description, and with it the OFD locks on it, for as long as it
 * exists, in a fork() child too. A process that died would then look alive
 * while a child it forked keeps the inherited mapping. Without /proc (where
 * fr_open_from needs it too), fall back to a duplicate: locks then work as
 * ever, but a forked child's mapping keeps a dead parent's entry taken.
 */
static int lock_fd_for(int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int lock_fd = open(path, O_RDWR | O_CLOEXEC);
	if (lock_fd < 0)
		return errno == ENOENT ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -errno;
	struct stat a, b;
	if (fstat(lock_fd, &a) != 0 || fstat(fd, &b) != 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		close(lock_fd);
		return -ENOENT; /* not the same file (a recycled fd number?) */
	}
	return lock_fd;
}

/* Make a handle on a validated mapping and attach as @role. @fd is any fd of
 * the segment file (the caller keeps it); takes one reference to @map and
 * gives it back on failure. */
static int ring_attach(int file_fd, struct fr_mapping *map, const struct fr_geometry *g,
		       unsigned role, struct fr_ring **out)
{
	if (!map)
		return -ENOMEM;
	fri_wait_setup();
	int fd = lock_fd_for(file_fd);
	if (fd < 0) {
		mapping_put(map);
		return fd == -1 ? -errno : fd;
	}
	struct fr_ring *r = calloc(1, sizeof(*r));
	if (!r) {
		mapping_put(map);
		close(fd);
		return -ENOMEM;
	}
	ring_map(r, fd, map->base, g);
	r->map = map;
	r->spin_ns = FR_DEFAULT_SPIN_NS;
	r->poll_fd = -1;
	int rc = fri_handle_register(r);
	if (rc == 0) {
		rc = fri_peer_attach(r, role);
		if (rc < 0)
			fri_handle_unregister(r);
	}
	if (rc < 0) {
		mapping_put(map);
		close(fd);
		free(r->free_slots);
		free(r);
		return rc;
	}
	fri_reap(r); /* recover what dead peers left before we start */
	*out = r;
	return 0;
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
	if (ftruncate(fd, (off_t)g.segment_bytes) != 0) {
		rc = errno == EFBIG ? -ENOSPC : -errno;
		goto fail;
	}
	uint8_t *base = mmap(NULL, g.segment_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = -ENOMEM;
		goto fail;
	}
	advise_huge_payload(base, &g);
	rc = reserve_pages(fd, base, g.segment_bytes);
	if (rc == 0)
		rc = seal_size(fd, c);
	if (rc < 0) {
		munmap(base, g.segment_bytes);
		goto fail;
	}
	struct fr_shm_header *h = (struct fr_shm_header *)base;
	fill_header(h, c, &g);
	init_descriptors((struct fr_shm_desc *)(base + g.desc_offset), c->mode, c->slots);
	/* Release: everything above is visible to whoever reads READY (acquire). */
	atomic_store_explicit(&h->state, FR_SHM_READY, memory_order_release);
	rc = ring_attach(fd, mapping_new(base, g.segment_bytes), &g, FR_PRODUCER, out);
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

/* One role, known flags, and broadcast-only consumer flags (@mode 0: not known yet). */
static int check_open_flags(unsigned flags, uint32_t mode)
{
	unsigned role = flags & (FR_PRODUCER | FR_CONSUMER);
	if (role != FR_PRODUCER && role != FR_CONSUMER)
		return -EINVAL;
	if (flags & ~(FR_PRODUCER | FR_CONSUMER | FR_LATEST | FR_FROM_OLDEST))
		return -EINVAL;
	if ((flags & (FR_LATEST | FR_FROM_OLDEST)) &&
	    (role == FR_PRODUCER || (mode && mode != FR_BROADCAST)))
		return -EINVAL;
	return 0;
}

/* Validate the segment behind @fd (the caller keeps it) and attach as @flags. */
static int open_file(int fd, unsigned flags, struct fr_ring **out)
{
	struct stat st;
	uint8_t *base;
	int rc = map_segment(fd, true, &st, &base);
	if (rc < 0)
		return rc;
	struct fr_geometry g;
	rc = fri_geometry_validate((const struct fr_shm_header *)base, (uint64_t)st.st_size, &g);
	/* Acquire: pairs with the creator's release store of READY. */
	if (rc == 0 && atomic_load_explicit(&((struct fr_shm_header *)base)->state,
					    memory_order_acquire) != FR_SHM_READY)
		rc = -EPROTO;
	if (rc == 0)
		rc = check_open_flags(flags, g.mode);
	if (rc < 0) {
		munmap(base, (size_t)st.st_size);
		return rc;
	}
	advise_huge_payload(base, &g);
	return ring_attach(fd, mapping_new(base, g.segment_bytes), &g, flags, out);
}

FR_API int fr_open(const char *name, unsigned flags, struct fr_ring **out)
{
	if (!out)
		return -EINVAL;
	int rc = check_open_flags(flags, 0);
	if (rc < 0)
		return rc;
	int fd = fri_segment_open(name, O_RDWR, 0);
	if (fd < 0)
		return fd;
	rc = open_file(fd, flags, out);
	close(fd); /* the mapping and the handle's lock fd keep the file */
	return rc;
}

FR_API int fr_open_fd(int fd, unsigned flags, struct fr_ring **out)
{
	if (fd < 0 || !out)
		return -EINVAL;
	int rc = check_open_flags(flags, 0);
	if (rc < 0)
		return rc;
	/* An fd from elsewhere is hostile input like a name: it must be a
	 * regular file opened for reading and writing, then a valid segment. */
	int acc = fcntl(fd, F_GETFL);
	if (acc < 0)
		return -errno;
	if ((acc & O_ACCMODE) != O_RDWR)
		return -EACCES;
	return open_file(fd, flags, out);
}

FR_API int fr_segment_fd(struct fr_ring *r)
{
	if (r && r->inherited)
		return -ECHILD;
	if (!r)
		return -EINVAL;
	/* A description of its own, never this handle's (which carries our
	 * peer lock): whoever gets it opens handles of their own with it. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r->fd);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

FR_API int fr_open_from(struct fr_ring *sibling, unsigned flags, struct fr_ring **out)
{
	if (sibling && sibling->inherited)
		return -ECHILD;
	if (!sibling || !out)
		return -EINVAL;
	int rc = check_open_flags(flags, sibling->geo.mode);
	if (rc < 0)
		return rc;
	/* Relaxed: the sibling's reference keeps the mapping alive meanwhile.
	 * The new handle gets a lock fd of its own from the sibling's file, even
	 * if its name was unlinked. */
	atomic_fetch_add_explicit(&sibling->map->refs, 1, memory_order_relaxed);
	return ring_attach(sibling->fd, sibling->map, &sibling->geo, flags, out);
}

static void ring_free(struct fr_ring *r)
{
	fri_handle_unregister(r);
	fri_poll_close(r);
	mapping_put(r->map);
	if (r->fd >= 0)
		close(r->fd);
	free(r->free_slots);
	free(r);
}

FR_API void fr_close(struct fr_ring *r)
{
	if (!r)
		return;
	if (r->inherited) { /* the parent's handle: leave the segment alone */
		ring_free(r);
		return;
	}
	if (r->holding) {
		struct fr_frame f;
		memset(&f, 0, sizeof(f));
		f.priv_slot = r->held_slot;
		f.priv_pos = r->held_pos;
		if (r->role & FR_PRODUCER)
			fr_cancel(r, &f);
		else
			fr_release(r, &f);
	}
	bool ended = false;
	if (r->role & FR_PRODUCER) {
		/* Dead producers leave the stream first (their reaper clears their
		 * bits), so that the last live producer's close ends it. */
		fri_reap(r);
		FR_HOOK("close_producer_before_eos");
		ended = fri_stream_leave(r);
	} else {
		fri_retire_consumer(r, r->peer);
	}
	fri_peer_detach(r);
	if (r->role & FR_CONSUMER)
		fri_wake_producers(r); /* a broadcast reader's cursor no longer holds the camera */
	if (ended)
		fri_wake_all(&r->hdr->data_wait, r->fd);
	ring_free(r);
}

/* fr_info for the segment behind @fd without attaching (the caller keeps @fd). */
static int stat_file(int fd, struct fr_info *info)
{
	struct stat st;
	uint8_t *base;
	int rc = map_segment(fd, false, &st, &base);
	if (rc < 0)
		return rc;
	struct fr_ring r;
	struct fr_geometry g;
	memset(&r, 0, sizeof(r));
	rc = fri_geometry_validate((const struct fr_shm_header *)base, (uint64_t)st.st_size, &g);
	if (rc == 0) {
		ring_map(&r, fd, base, &g); /* read-only, never attached: info only */
		fri_fill_info(&r, info);
		info->perms = st.st_mode & 07777;
	}
	munmap(base, (size_t)st.st_size);
	return rc;
}

FR_API int fr_stat(const char *name, struct fr_info *info)
{
	if (!info)
		return -EINVAL;
	int fd = fri_segment_open(name, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	int rc = stat_file(fd, info);
	close(fd);
	return rc;
}

FR_API int fr_stat_fd(int fd, struct fr_info *info)
{
	if (fd < 0 || !info)
		return -EINVAL;
	return stat_file(fd, info);
}
