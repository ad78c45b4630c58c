/*
 * Library internals: the per-process handle and the interfaces between the
 * files of lib/. Nothing here is part of the public ABI.
 */
#ifndef FR_INTERNAL_H
#define FR_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "framering.h"
#include "layout.h"

#define FR_API __attribute__((visibility("default")))

/* How long a blocked wait sleeps before it re-checks peer liveness. */
#define FR_REAP_INTERVAL_MS 100
/* The short fixed spin: a new adaptive handle's, and the adaptive spin's after long waits. */
#define FR_DEFAULT_SPIN_NS 5000L
/* Blocking waits between two counts of a segment's live peers (ring.c). */
#define FR_CROWD_RECOUNT 64u
#define FR_CROWD_MASK_EVERY 16u /* counts between refreshes of our own cpus mask */
/* Slots at least this large are reused most-recently-released first (every
 * mode; fri_hot_slots): their cache footprint decides touch throughput. The choice
 * follows from the segment's geometry, so every side agrees on it. */
#define FR_HOT_SLOT_BYTES (256u * 1024u)
/* How long a flat-out producer of large frames waits for its consumers to
 * catch up before it takes a cold slot (depth.c). */
#define FR_HOT_DEPTH_WAIT_NS 500000u
#define FR_HOT_DEPTH_MIN_FILL_NS 10000u /* ... a producer that takes this long per frame */

/* Geometry validated at open; the handle never re-reads it from the segment. */
struct fr_geometry {
	uint32_t mode;
	uint32_t slot_count;
	uint32_t width, height, stride, format;
	uint32_t log_count;
	uint32_t perms;
	uint64_t header_bytes;
	uint64_t segment_bytes;
	uint64_t desc_offset;
	uint64_t log_offset;
	uint64_t payload_offset;
	uint64_t payload_stride;
	uint64_t frame_capacity;
};

struct fr_ring;

/* Per-mode ring algorithms. try_* return -EAGAIN when they would have to wait. */
struct fr_ring_ops {
	/* Initial ownership word of descriptor @slot in a new segment. */
	uint64_t (*init_turn)(uint32_t slot);
	int (*attach)(struct fr_ring *ring);
	int (*try_claim)(struct fr_ring *ring, struct fr_frame *frame);
	int (*publish)(struct fr_ring *ring, struct fr_frame *frame);
	int (*cancel)(struct fr_ring *ring, struct fr_frame *frame);
	int (*try_acquire)(struct fr_ring *ring, struct fr_frame *frame, unsigned flags);
	int (*release)(struct fr_ring *ring, struct fr_frame *frame);
	/* Optional, with consumer_wakes == 1: after a woken sleeper took a slot
	 * or frame, is there more for the next sleeper of the same side? */
	bool (*more)(struct fr_ring *ring, bool producer);
	/* Undo what dead peer @idx left half-done; called with its entry locked.
	 * Returns the state the entry should take (FREE, or ORPHAN to keep it). */
	uint32_t (*reap)(struct fr_ring *ring, unsigned idx);
	/* Peer-table range this role may use: [*lo, *hi). */
	void (*peer_range)(const struct fr_ring *ring, unsigned role, unsigned flags,
			   unsigned *lo, unsigned *hi);
	/* Fill the mode-specific parts of info (tail, fill, per-peer lag). */
	void (*info)(struct fr_ring *ring, struct fr_info *info);
	/* Optional: broadcast publish log entries for @slots (0 when NULL). */
	uint32_t (*log_count)(uint32_t slots);
	/* Sleeping consumers a publish wakes: 1 (each frame is for one) or
	 * FR_WAKE_ALL (each is for all). Producers are woken one at a time. */
	int consumer_wakes;
	uint32_t min_slots; /* fewest slots a segment of this mode may have */
};

#define FR_WAKE_ALL 0x7fffffff

extern const struct fr_ring_ops fri_spsc_ops;
extern const struct fr_ring_ops fri_mpmc_ops;
extern const struct fr_ring_ops fri_broadcast_ops;

/* A handle's frame clock (clock.c): the last anchor, an older one the TSC
 * rate is measured from, the rate, and the last value given. */
struct fri_clock {
	bool tsc;         /* this process stamps through the TSC (fri_clock_uses_tsc) */
	uint64_t base_tsc, base_ns;
	uint64_t ref_tsc, ref_ns;
	uint64_t mult;    /* ns per TSC tick, 32.32 fixed point; 0: not calibrated */
	uint64_t last_ns;
};

/* One mapping of a segment, shared by the handles fr_open_from() made from each other. */
struct fr_mapping {
	_Atomic unsigned refs;        /* handles using it; the last close unmaps */
	uint8_t *base;
	uint64_t bytes;
};

/* An attached handle. Used by one thread at a time. */
struct fr_ring {
	int fd;                       /* own open file description: carries our peer lock */
	struct fr_mapping *map;
	uint8_t *base;                /* the whole segment, geo.segment_bytes long */
	struct fr_shm_header *hdr;
	struct fr_shm_desc *desc;
	struct fr_shm_log *log;       /* broadcast only */
	uint8_t *payload;
	struct fr_geometry geo;
	uint32_t mask;                /* slot_count - 1 */
	const struct fr_ring_ops *ops;

	unsigned role;                /* FR_PRODUCER or FR_CONSUMER, | FR_LATEST, FR_FROM_OLDEST */
	int peer;                     /* own entry in the peer table */
	struct fr_shm_peer *self;
	bool inherited;               /* this process got the handle by fork(): see handles.c */
	int poll_fd;                  /* fr_fd(): inotify on the segment file; -1 until asked */
	long spin_ns;                 /* fr_set_spin: FR_SPIN_ADAPTIVE (default), 0, -1 or N */
	/* Adaptive spin: how long this handle's recent waits lasted (fri_spin_update),
	 * one estimate per direction, since waiting for space (claim) and for data
	 * (acquire) follow different streams of events. */
	uint32_t claim_wait_ns;
	uint32_t acquire_wait_ns;
	bool claim_yield_off;         /* crowded waits do not yield, per direction, from */
	bool acquire_yield_off;       /* the estimate's ceiling until it is low again (wait.c) */
	bool crowded;                 /* last count: more live peers than CPUs they may use */
	bool may_yield;               /* last count, if crowded: our policy yields to the peers
				       * (not real-time: fri_policy_yields) */
	uint32_t crowd_countdown;     /* waits until the peers are counted again; 0: next */
	uint32_t crowd_counts;        /* counts so far: our cpus mask is stored anew every
				       * FR_CROWD_MASK_EVERY of them (peers.c) */
	struct fr_ring *next_handle;  /* the process's list of handles (handles.c) */

	/* own counter; SPSC: and the producer's cached copy of tail */
	uint64_t pos;                 /* producer: next head; consumer: next tail/cursor */
	uint64_t other;               /* SPSC producer: cached tail */

	/* the one frame this handle holds (claimed or acquired), if any */
	bool holding;
	uint64_t held_pos;
	uint32_t held_slot;

	/* SPSC producer: free payload slots, most recently released on top, and
	 * the tail up to which released slots were collected. Private: a
	 * restarted producer rebuilds it from the ring (spsc.c). */
	uint32_t *free_slots;
	uint32_t free_count;
	uint64_t collected;
	/* Producer, large frames: one that writes flat out is held back while
	 * the consumers are behind, rather than take a cold slot (depth.c). */
	bool claim_may_wait;          /* the current fr_claim has a timeout other than 0 */
	bool hot_flat_out;            /* last sample: flat out, writing its frames */
	bool hot_light;               /* last sample: fills a frame in under
				       * FR_HOT_DEPTH_MIN_FILL_NS (writes a few bytes) */
	uint8_t hot_sample;           /* where the sampled frame is (depth.c) */
	uint32_t hot_frames;          /* large frames claimed, for sampling */
	uint64_t depth_wait_since;    /* when the current claim began to wait for depth */
	bool depth_held;              /* the current claim's last try that looked at depth
				       * was held (fri_hot_depth_wait) */
	uint64_t hot_claimed_ns;      /* the sampled frame's claim */
	uint64_t hot_published_ns;    /* and publish */
	/* SPSC consumer: the slots of the last two frames, where the next one
	 * most likely is (the producer alternates between recently freed ones). */
	uint32_t recent_slots[2];

	uint64_t last_reap_ns;
	struct fri_clock clock;       /* timestamps of publishes, hot-depth samples */
};

/* The wait line this handle sleeps and polls on: consumers wait for data,
 * producers for space. */
static inline struct fr_shm_wait *fri_sleep_line(const struct fr_ring *r)
{
	return (r->role & FR_PRODUCER) ? &r->hdr->space_wait : &r->hdr->data_wait;
}

/* Slots of FR_HOT_SLOT_BYTES or more: every mode reuses the one released
 * most recently, and a flat-out producer keeps its consumers close (depth.c).
 * Follows from the geometry, so every side agrees. */
static inline bool fri_hot_slots(const struct fr_ring *r)
{
	return r->geo.frame_capacity >= FR_HOT_SLOT_BYTES;
}

/* clock.c: a handle's frame clock, CLOCK_MONOTONIC read through the TSC
 * where the kernel's clocksource is the TSC (clock.c says what it promises). */
#define FRI_CLOCK_ANCHOR_NS 1000000u     /* real clock reads at most this far apart */
#define FRI_CLOCK_CALIB_NS 10000000u     /* TSC rate measured over at least this */
#define FRI_CLOCK_REF_MAX_NS 1000000000u /* and at most about this */
#define FRI_CLOCK_SLIP_NS 100000u        /* an anchor this far off: calibrate again */
#define FRI_CLOCK_READ_MAX_NS 200u       /* a longer anchor read was interrupted */
/* Does this process stamp frames through the TSC? */
bool fri_clock_uses_tsc(void);
/* A clock that has not read anything yet. */
void fri_clock_init(struct fri_clock *c);
/* CLOCK_MONOTONIC now, never late, at most ~FRI_CLOCK_READ_MAX_NS + 30 ppm early;
 * monotonic per clock. */
uint64_t fri_clock_now(struct fri_clock *c);

/* frame.c */
static inline uint8_t *fri_slot_data(const struct fr_ring *r, uint32_t slot)
{
	return r->payload + (uint64_t)slot * r->geo.payload_stride;
}
void fri_frame_from_desc(const struct fr_ring *r, struct fr_frame *f, const struct fr_shm_desc *d,
			uint32_t slot, uint64_t pos);
int fri_frame_check(const struct fr_ring *r, const struct fr_frame *f);
void fri_frame_defaults(const struct fr_ring *r, struct fr_frame *f, uint32_t slot, uint64_t pos);
/* Write @f's metadata into @d as frame @seq of @r's (stamped now unless @f has a time). */
void fri_desc_store_meta(struct fr_ring *r, struct fr_shm_desc *d, const struct fr_frame *f,
			 uint64_t seq);
/* Wake sleepers after making a frame (consumers) or a slot (producers) available. */
void fri_wake_consumers(struct fr_ring *r);
/* Add to a counter only this handle writes (its own peer entry): no RMW needed. */
static inline void fri_count_own(_Atomic uint64_t *counter, uint64_t n)
{
	/* Relaxed: read by others only as a statistic. */
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}
void fri_wake_producers(struct fr_ring *r);

/* depth.c: a flat-out producer of large frames is held back while its
 * consumers are behind. The per-frame steps are inline: a hand-off of a few
 * bytes a frame feels every call. */
#define FRI_HOT_SAMPLE_EVERY 16u /* frames per sample of the producer's pace */
enum { FRI_SAMPLE_NONE, FRI_SAMPLE_CLAIMED, FRI_SAMPLE_PUBLISHED };
void fri_hot_sample_flat_out(struct fr_ring *r);
void fri_hot_sample_claim(struct fr_ring *r);
void fri_hot_sample_publish(struct fr_ring *r);
/* While the consumers are @behind: -EAGAIN to wait (at most
 * FR_HOT_DEPTH_WAIT_NS per claim), else 0 to claim. Sets r->depth_held. */
int fri_hot_depth_wait(struct fr_ring *r, bool behind);
/* After a try: ns left of the claim's hold, or -1 when that try was not held. */
int64_t fri_hot_hold_left(struct fr_ring *r);

/* May this claim be held back: a flat-out producer that writes its frames,
 * in a claim that may wait? (Look at the consumers only then.) */
static inline bool fri_hot_may_hold(struct fr_ring *r)
{
	if (r->hot_sample == FRI_SAMPLE_PUBLISHED && r->depth_wait_since == 0)
		fri_hot_sample_flat_out(r);
	return r->hot_flat_out && r->claim_may_wait;
}

/* A large-frame claim succeeded. */
static inline void fri_hot_claimed(struct fr_ring *r)
{
	r->depth_wait_since = 0;
	if (++r->hot_frames % FRI_HOT_SAMPLE_EVERY == 0)
		fri_hot_sample_claim(r);
	else
		r->hot_sample = FRI_SAMPLE_NONE; /* a cancelled sample never counts */
}

/* And was published. */
static inline void fri_hot_published(struct fr_ring *r)
{
	if (r->hot_sample == FRI_SAMPLE_CLAIMED)
		fri_hot_sample_publish(r);
}

/* wait.c */
uint64_t fri_now_ns(void);            /* CLOCK_MONOTONIC */
uint64_t fri_realtime_ns(void);
static inline void fri_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}
/* Sleep on @w's event while it still equals @seen, at most @timeout_ns (<0: forever). */
int fri_futex_wait(struct fr_shm_wait *w, uint32_t seen, int64_t timeout_ns);
/* Bump @w's event and wake @count sleepers (FR_WAKE_ALL: all), announced or not. */
void fri_futex_wake(struct fr_shm_wait *w, int count);
/* Wake @count sleepers of @w and poke its pollers, if any announced themselves
 * (Dekker handshake with fri_wait_until and fri_poll_arm). @file_fd: the segment. */
void fri_wake(struct fr_shm_wait *w, int count, int file_fd);
/* Wake every sleeper and poller of @w, announced or not (reapers, end of stream). */
void fri_wake_all(struct fr_shm_wait *w, int file_fd);
/* Once per process, before any wait or wake: decide the wake path's barriers. */
void fri_wait_setup(void);
/* After announcing itself in a mask, before re-checking the ring (sleepers, pollers). */
void fri_announce_barrier(void);
/* Entry @peer may (not) sleep or poll on @w from now on: its bit in the line's
 * fence_peers mask, which wakers read to decide whether to fence (wait.c).
 * Setting it returns once no waker can miss it (membarrier). */
void fri_may_sleep(struct fr_shm_wait *w, unsigned peer, bool may);
/* A blocking wait: what wait.c needs to know, and nothing of rings or peers. */
struct fr_wait {
	struct fr_shm_wait *line;  /* where to sleep */
	uint64_t bit;              /* our bit in line->waiters */
	long spin_ns;              /* see fr_set_spin; FR_SPIN_ADAPTIVE: from *spin_est */
	uint32_t *spin_est;        /* FR_SPIN_ADAPTIVE: the estimate to spin by and update */
	bool crowded;              /* FR_SPIN_ADAPTIVE: the segment's peers outnumber the
				    * CPUs they may run on: no long spin (ring.c, fri_crowded) */
	bool may_yield;            /* crowded: yield instead of spinning (wait.c) */
	bool *yield_off;           /* crowded: this direction's yields are off (hysteresis) */
	int64_t slice_ns;          /* sleep at most this long between ticks; <0: until woken */
	int timeout_ms;
	int (*try_fn)(void *arg);  /* the non-blocking step: -EAGAIN to go on waiting */
	/* NULL, or after a try: ns left of the step's own hold on itself (a claim
	 * held for depth), -1 when that try was not held. A held step neither
	 * yields nor sleeps past its hold (+ FRI_HOLD_SLACK_NS). */
	int64_t (*hold_fn)(void *arg);
	void (*tick_fn)(void *arg); /* after each sleep (and now and then in a busy-wait) */
	void *arg;
	bool slept;                /* out: the wait slept at least once */
	unsigned yields;           /* out: sched_yield calls (crowded waits) */
};
#define FRI_HOLD_SLACK_NS 10000u /* past a hold's end: its clock may read a little early */
/* Spin, then sleep on w->line, until try_fn stops returning -EAGAIN or the timeout ends. */
int fri_wait_until(struct fr_wait *w);
/* Adaptive spin: recent waits shorter than the cap spin a margin above their
 * estimate; longer ones spin FR_DEFAULT_SPIN_NS (wait.c says why these values). */
#define FRI_SPIN_CAP_NS 200000u
#define FRI_SPIN_SAMPLE_MAX_NS (4u * FRI_SPIN_CAP_NS) /* longer waits count as this */
/* The CPUs the calling thread may run on (its affinity) as bits 0..63; 0 when
 * that cannot be said (the call failed, or a CPU above 63 is allowed). */
uint64_t fri_cpu_mask(void);
/* The CPUs online, counted once. */
unsigned fri_online_cpus(void);
/* How long to spin for an estimate of @est_ns (pure). */
long fri_spin_budget(uint32_t est_ns);
/* How long a crowded wait yields for an estimate of @est_ns: 0 at the sample
 * ceiling (every recent wait long), else as fri_spin_budget without its cap (pure). */
long fri_crowd_yield_budget(uint32_t est_ns);
/* Crowded yields stop when the estimate reaches the ceiling and start again only
 * once it is below this (wait.c). */
#define FRI_CROWD_YIELD_RESUME_NS (3u * FRI_SPIN_CAP_NS)
/* The calling thread's scheduling policy lets sched_yield hand the CPU to an
 * ordinary peer (not SCHED_FIFO or SCHED_RR). */
bool fri_policy_yields(void);
/* The estimate after a wait that returned @rc after @waited_ns (pure): 0 adds the
 * wait, -ETIMEDOUT a long one; anything else (-EINTR, -EPIPE, ...) changes nothing. */
uint32_t fri_spin_update(uint32_t est_ns, int rc, uint64_t waited_ns);

/* attach.c */
int fri_peer_attach(struct fr_ring *r, unsigned role);
void fri_peer_detach(struct fr_ring *r);
void fri_reap(struct fr_ring *r);
bool fri_reap_if_due(struct fr_ring *r); /* true when it reaped (every 100 ms) */

/* peers.c */
uint64_t fri_process_start_time(int pid);
bool fri_peer_alive(const struct fr_ring *r, unsigned idx);
/* More LIVE entries than the CPUs they may run on together (their cpus masks), after
 * refreshing our own entry's mask: the adaptive spin's crowded rule (wait.c). */
bool fri_crowded(struct fr_ring *r);
int fri_peer_alive_fd(int fd, unsigned idx);
/* Take / drop entry @idx's lock through our fd: 0, or -errno when another holds it. */
int fri_peer_lock(const struct fr_ring *r, unsigned idx);
void fri_peer_unlock(const struct fr_ring *r, unsigned idx);
/* A producer joins / leaves the stream word (leave: true when that ended the stream). */
void fri_stream_join(struct fr_shm_header *h, unsigned idx);
bool fri_stream_leave(struct fr_ring *r);
/* A consumer entry leaves (close or death): keep its deliveries in the totals. */
void fri_retire_consumer(struct fr_ring *r, int idx);
bool fri_creator_alive(int32_t pid, uint64_t start_time);

/* poll.c */
/* After a non-blocking try found nothing: re-arm the handle's fd (drain it, set
 * our bit in @line's pollers, fence). The caller then tries once more. */
void fri_poll_arm(struct fr_ring *r, struct fr_shm_wait *line);
void fri_poll_close(struct fr_ring *r);

/* handles.c: the process's handles, so that a fork() child can disown them */
int fri_handle_register(struct fr_ring *r);
void fri_handle_unregister(struct fr_ring *r);

/* geometry.c */
const struct fr_ring_ops *fri_ops_for(uint32_t mode); /* NULL for an unknown mode */
bool fri_is_pow2(uint32_t v);
/* The layout of a segment of @mode (known), @slots and @capacity; -EINVAL when too large. */
int fri_layout_for(uint32_t mode, uint32_t slots, uint64_t capacity, struct fr_geometry *g);
/* The size of the file that holds a segment of @segment_bytes on a file system that
 * allocates in units of @unit bytes (fri_file_unit). */
uint64_t fri_file_bytes(uint64_t segment_bytes, uint64_t unit);
/* Copy the identity line of @h once and check it describes exactly a file of @file_size
 * on a file system of allocation @unit (fri_file_unit). */
int fri_geometry_validate(const struct fr_shm_header *h, uint64_t file_size, uint64_t unit,
			  struct fr_geometry *g);

/* name.c */
/* Open segment @name where named segments live (shm_open, or FRAMERING_DIR):
 * an fd (O_CLOEXEC), or -errno. */
int fri_segment_open(const char *name, int oflag, mode_t mode);

/* segment.c */
/* The allocation unit of @fd's file system: the huge page size on hugetlbfs, whose
 * files and mappings come in whole huge pages; FR_SHM_PAGE elsewhere. */
uint64_t fri_file_unit(int fd);
void fri_advise_huge_payload(uint8_t *base, const struct fr_geometry *g);
/* A mapping of @bytes at @base shared by the handles made from it (one reference). */
struct fr_mapping *fri_mapping_new(uint8_t *base, uint64_t bytes);
/* Make a handle on a validated mapping and attach as @role (see segment.c). */
int fri_ring_attach(int file_fd, struct fr_mapping *map, const struct fr_geometry *g,
		    unsigned role, struct fr_ring **out);

/* info.c */
void fri_fill_info(struct fr_ring *r, struct fr_info *info);

/* Test-only hook points (testhooks.h), compiled into the tests' copy of the library. */
#ifdef FR_TEST_HOOKS
void fri_test_hook(const char *point);
bool fri_test_reap_slice_enabled(void);
#define FR_HOOK(point) fri_test_hook(point)
#else
#define FR_HOOK(point) ((void)0)
#define fri_test_reap_slice_enabled() true
#endif

#endif /* FR_INTERNAL_H */
