/*
 * Segment lifecycle after creation (create.c): opening by name or fd
 * (validated by geometry.c), mapping, handles, closing, and fr_stat (an open
 * that only reads).
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
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
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
 * hugetlbfs takes files and mappings only in whole huge pages (ftruncate to
 * anything else fails), so there a segment's file is its layout rounded up to
 * the file system's block, the huge page size. The unit comes from the kernel
 * (fstatfs), never from the file, and anything implausible counts as none.
 */
uint64_t fri_file_unit(int fd)
{
	struct statfs fs;
	if (fstatfs(fd, &fs) != 0 || fs.f_type != HUGETLBFS_MAGIC)
		return FR_SHM_PAGE;
	uint64_t unit = (uint64_t)fs.f_bsize;
	if (unit < FR_SHM_PAGE || unit > ((uint64_t)1 << 30) || (unit & (unit - 1)))
		return FR_SHM_PAGE;
	return unit;
}

/*
 * Ask for transparent huge pages on the payload: a 1080p frame spans 1,500
 * 4 KiB pages, a 4K frame 6,000, and each costs a TLB entry. The kernel honours
 * it only where the admin allows huge pages for shared memory
 * (/sys/kernel/mm/transparent_hugepage/shmem_enabled = advise, or the tmpfs
 * mount option huge=advise); otherwise it is a no-op, and an error changes
 * nothing, so none is reported.
 */
void fri_advise_huge_payload(uint8_t *base, const struct fr_geometry *g)
{
	madvise(base + g->payload_offset, g->segment_bytes - g->payload_offset, MADV_HUGEPAGE);
}

struct fr_mapping *fri_mapping_new(uint8_t *base, uint64_t bytes)
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
/* A new open file description of the file behind @fd (through /proc/self/fd,
 * so it works after the name was unlinked, and for memfds): an fd, or -errno. */
static int reopen_file(int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int nfd = open(path, O_RDWR | O_CLOEXEC);
	if (nfd < 0)
		return -errno;
	struct stat a, b;
	if (fstat(nfd, &a) != 0 || fstat(fd, &b) != 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		close(nfd);
		return -ENOENT; /* not the same file (a recycled fd number?) */
	}
	return nfd;
}

static int lock_fd_for(int fd)
{
	int lock_fd = reopen_file(fd);
	if (lock_fd != -ENOENT)
		return lock_fd;
	lock_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0); /* no /proc: see above */
	return lock_fd >= 0 ? lock_fd : -errno;
}

/* Make a handle on a validated mapping and attach as @role. @fd is any fd of
 * the segment file (the caller keeps it); takes one reference to @map and
 * gives it back on failure. */
int fri_ring_attach(int file_fd, struct fr_mapping *map, const struct fr_geometry *g, unsigned role,
		    struct fr_ring **out)
{
	if (!map)
		return -ENOMEM;
	fri_wait_setup();
	int fd = lock_fd_for(file_fd);
	if (fd < 0) {
		mapping_put(map);
		return fd;
	}
	struct fr_ring *r = calloc(1, sizeof(*r));
	if (!r) {
		mapping_put(map);
		close(fd);
		return -ENOMEM;
	}
	ring_map(r, fd, map->base, g);
	r->map = map;
	r->spin_ns = FR_SPIN_ADAPTIVE; /* estimates 0: the short spin until waits say otherwise */
	fri_clock_init(&r->clock);
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
	rc = fri_geometry_validate((const struct fr_shm_header *)base, (uint64_t)st.st_size,
				   fri_file_unit(fd), &g);
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
	fri_advise_huge_payload(base, &g);
	/* The whole file is mapped (on hugetlbfs more than the layout): unmap it all. */
	return fri_ring_attach(fd, fri_mapping_new(base, (uint64_t)st.st_size), &g, flags, out);
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
	return reopen_file(r->fd);
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
	return fri_ring_attach(sibling->fd, sibling->map, &sibling->geo, flags, out);
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
	rc = fri_geometry_validate((const struct fr_shm_header *)base, (uint64_t)st.st_size,
				   fri_file_unit(fd), &g);
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
