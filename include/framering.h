/*
 * framering: zero-copy image frames between processes through shared memory.
 *
 * A named segment under /dev/shm holds N page-aligned slots. A producer claims a
 * free slot, writes the pixels straight into it and publishes it; a consumer
 * acquires the next published slot, reads it in place and releases it. Only
 * ownership moves (atomic counters in the segment); the pixels never do.
 *
 * Every call returns 0 on success and a negative errno value on failure (the
 * few that return a value, such as fr_format_from_name, say so). The library
 * never prints and never exits. A handle (struct fr_ring) is used by one
 * thread at a time; threads sharing a segment open their own handles
 * (fr_open_from shares one mapping between them).
 *
 * fork(): handles belong to the process that opened them. In a child, every
 * call on an inherited handle fails with -ECHILD and fr_close() only frees
 * the child's copy; the parent stays attached, and the child holds nothing
 * that keeps a dead parent looking alive. Open the segment again in the child.
 */
#ifndef FRAMERING_H
#define FRAMERING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fr_ring; /* an attached handle; opaque */

/* Library version (semantic versioning; see CHANGELOG.md for the soname policy). */
#define FR_VERSION_MAJOR 0
#define FR_VERSION_MINOR 2
#define FR_VERSION_PATCH 0
#define FR_VERSION "0.2.0"

/* Segment layout version: segments of another version are refused (-EPROTO). */
#define FR_ABI_VERSION 4
#define FR_NAME_MAX 200 /* characters after the leading '/' */
#define FR_MAX_PEERS 64 /* attached handles per segment */
#define FR_MAX_BROADCAST_CONSUMERS 31
#define FR_MIN_SLOTS 2u
#define FR_MAX_SLOTS 65536u

/* Delivery modes (struct fr_config.mode). */
enum fr_mode {
	FR_SPSC = 1,      /* one producer, one consumer, FIFO */
	FR_MPMC = 2,      /* many producers, many consumers, each frame to one */
	FR_BROADCAST = 3, /* one producer, up to 31 consumers, each sees every frame */
};

/* fr_open() flags. */
#define FR_PRODUCER 0x1u
#define FR_CONSUMER 0x2u
#define FR_LATEST 0x4u      /* broadcast consumer that never holds the producer back */
#define FR_FROM_OLDEST 0x8u /* broadcast consumer starts at the oldest frame still held */

/* struct fr_config.flags */
#define FR_CREATE_REPLACE_STALE 0x1u /* replace a segment whose peers and creator are dead */
#define FR_CREATE_ANONYMOUS 0x2u     /* no name anywhere: a memfd, passed on by fd (below) */

/* fr_acquire_ex() flags. */
#define FR_ACQUIRE_NEWEST 0x1u /* broadcast: jump to the newest published frame */

/* struct fr_frame.flags */
#define FR_FRAME_REDELIVERED 0x1u /* a consumer that held this frame died; delivered again */
#define FR_FRAME_USER_MASK 0xffff0000u /* free for applications, carried unchanged */

/* Pixel formats. stride is the byte distance between rows of the first plane. */
enum fr_format {
	FR_FORMAT_RAW = 0, /* opaque bytes: frame_bytes required */
	FR_FORMAT_GRAY8,
	FR_FORMAT_GRAY16,
	FR_FORMAT_RGB24,
	FR_FORMAT_BGR24,
	FR_FORMAT_RGBA32,
	FR_FORMAT_BGRA32,
	FR_FORMAT_YUYV, /* packed 4:2:2, even width */
	FR_FORMAT_NV12, /* Y plane, then interleaved UV at half height, same stride */
	FR_FORMAT_I420, /* Y plane, then U and V at half size, stride / 2 */
	FR_FORMAT_JPEG, /* compressed: frame_bytes is the capacity, bytes per frame vary */
	FR_FORMAT_COUNT
};

/*
 * Segment parameters for fr_create(). Zero means "default" for every field
 * that has one; a frame size is always needed: width and height for a pixel
 * format, frame_bytes for RAW and JPEG (whose stride must stay 0).
 */
struct fr_config {
	uint32_t mode;        /* enum fr_mode; default FR_SPSC */
	uint32_t slots;       /* power of two, 2..65536 (broadcast: 4..); default 4 */
	uint32_t width;       /* default geometry of every slot */
	uint32_t height;
	uint32_t format;      /* enum fr_format; default RAW */
	uint32_t stride;      /* bytes per row; 0 = packed row rounded up to 64 bytes */
	uint64_t frame_bytes; /* slot capacity; 0 = from the geometry (required for RAW, JPEG) */
	uint32_t perms;       /* file mode, exactly (umask ignored); default 0600 */
	uint32_t flags;       /* FR_CREATE_* */
};

/* One frame, as handed out by fr_claim() and fr_acquire(). */
struct fr_frame {
	void *data;            /* pixels, in the segment; capacity bytes writable by the producer */
	uint64_t capacity;     /* slot capacity in bytes */
	uint64_t bytes;        /* bytes of this frame (producer: defaults to the full frame) */
	uint64_t seq;          /* assigned at publish, consecutive per segment from 0 */
	uint64_t timestamp_ns; /* CLOCK_MONOTONIC; producer: 0 = "now" at publish (read through
				* the TSC where it is the kernel's clocksource: never later
				* than the clock, at most ~1 us earlier; FRAMERING_TSC_CLOCK=0
				* reads clock_gettime every time) */
	uint32_t width;
	uint32_t height;
	uint32_t stride;
	uint32_t format;
	uint32_t flags;        /* FR_FRAME_* */
	/* private: which slot and ring position this frame is; do not touch */
	uint32_t priv_slot;
	uint64_t priv_pos;
	uint64_t priv_state;
};

/* One attached handle, as seen by fr_info()/fr_stat(). */
struct fr_peer_info {
	uint32_t index;      /* entry in the segment's peer table */
	int32_t pid;
	uint32_t role;       /* FR_PRODUCER or FR_CONSUMER */
	uint32_t flags;      /* FR_LATEST, ... */
	uint32_t alive;      /* 1 while the process holds its registration lock */
	uint32_t reserved;
	uint64_t generation; /* bumped at every attach to this entry */
	uint64_t attach_ns;  /* CLOCK_REALTIME */
	uint64_t cursor;     /* broadcast: next seq this consumer reads */
	uint64_t lag;        /* broadcast: frames published but not yet read */
	uint64_t delivered;  /* frames acquired (consumer) or published (producer) */
	uint64_t dropped;    /* broadcast latest consumer: frames skipped */
};

/* Geometry and live counters of a segment. */
struct fr_info {
	uint32_t abi_version;
	uint32_t mode;
	uint32_t slots;
	uint32_t width;
	uint32_t height;
	uint32_t stride;
	uint32_t format;
	uint32_t perms;          /* file mode: as created (fr_info), as the file is now (fr_stat) */
	uint64_t frame_capacity; /* bytes usable in each slot */
	uint64_t payload_stride; /* bytes between slots (page multiple) */
	uint64_t segment_bytes;  /* size of the whole segment */
	int32_t creator_pid;
	uint32_t creator_alive;
	uint64_t created_ns;     /* CLOCK_REALTIME */
	uint64_t head;           /* ring positions claimed/published by producers */
	uint64_t tail;           /* ring positions taken by consumers
				  * (broadcast: the slowest reliable cursor) */
	uint64_t fill;           /* frames published and not yet consumed */
	uint64_t published;      /* frames published */
	uint64_t consumed;       /* frames taken by consumers (broadcast: by all of them) */
	uint64_t dropped;        /* frames skipped by latest consumers */
	uint64_t redelivered;    /* frames delivered again after their holder died */
	uint64_t aborted;        /* slots given up unpublished (MPMC cancel, dead producer) */
	uint64_t producer_waits; /* fr_claim calls that found no free slot */
	uint64_t consumer_waits; /* fr_acquire calls that found nothing to read */
	uint64_t latest_stalls;  /* broadcast: claims blocked only by FR_LATEST consumers'
				  * pins (stays 0) */
	uint32_t end_of_stream;  /* 1 once the last producer closed after frames were published */
	uint32_t peer_count;     /* valid entries in peers[] */
	uint32_t live_peers;     /* of which alive */
	uint32_t reserved;
	struct fr_peer_info peers[FR_MAX_PEERS];
};

/* ---- segment lifecycle ---------------------------------------------------- */

/*
 * Create segment @name ("/name" or "name", 1..200 of [A-Za-z0-9._-]) and attach
 * to it as its producer. Fails with -EEXIST when it exists (unless
 * FR_CREATE_REPLACE_STALE and it is stale), -EINVAL on a bad config,
 * -ENAMETOOLONG, -ENOSPC when /dev/shm has no room (on hugetlbfs: too few
 * free huge pages).
 */
int fr_create(const char *name, const struct fr_config *cfg, struct fr_ring **out);

/*
 * Attach to an existing segment as FR_PRODUCER or FR_CONSUMER (broadcast
 * consumers may add FR_LATEST and FR_FROM_OLDEST). -ENOENT: no such segment;
 * -EACCES: no permission; -EPROTO: not a valid framering segment; -EBUSY: the
 * role is taken (second SPSC producer/consumer, second broadcast producer,
 * more than min(31, slots - 2) broadcast consumers, or FR_MAX_PEERS handles;
 * MPMC producers use entries 0..62).
 */
int fr_open(const char *name, unsigned flags, struct fr_ring **out);

/*
 * Attach another handle to the segment @sibling is attached to, sharing its
 * mapping (one mapping per process however many threads attach; also works
 * after the name was unlinked). The new handle is a peer of its own, as if
 * made by fr_open(); close each handle with fr_close() in any order.
 */
int fr_open_from(struct fr_ring *sibling, unsigned flags, struct fr_ring **out);

/*
 * Detach and free the handle. Frames still held are released (consumer) or
 * cancelled (producer). End of stream follows from the segment, not from
 * which handle closes: when a producer closes and no producer is left
 * attached, the stream ends if the segment ever published a frame, and
 * consumers get -EPIPE once they drained it. So a segment made ahead of its
 * camera (fr_create, then close without publishing) does not end, and a
 * creator that closes after the producers it started does end it. A producer
 * that dies never ends the stream (it may be restarted); a producer that
 * attaches clears the end. Inherited across fork(): only frees this process's
 * copy. NULL is ignored.
 */
void fr_close(struct fr_ring *ring);

/* Remove the segment's name (any file of that name in fr_segment_dir(): check
 * with fr_stat first if unsure); attached handles keep working. */
int fr_unlink(const char *name);

/*
 * Where named segments live: "/dev/shm" (POSIX shared memory), or the
 * directory in the environment variable FRAMERING_DIR when it is set (an
 * absolute path: another tmpfs, a hugetlbfs mount, or a volume that containers
 * share). Every process of a segment must agree on it. Never NULL. On hugetlbfs
 * a segment's file is rounded up to whole huge pages.
 */
const char *fr_segment_dir(void);

/* ---- segments by fd ------------------------------------------------------- */

/*
 * With FR_CREATE_ANONYMOUS, fr_create makes a segment with no name anywhere
 * (a memfd; @name is only a label), sized once and sealed against shrinking
 * and growing: it disappears when the last process that has it (an fd or a
 * mapping) exits or crashes, so nothing is ever left behind. Other processes
 * reach it through an fd: fr_segment_fd, then fork+exec, SCM_RIGHTS
 * (fr_send_fd/fr_recv_fd), or systemd socket activation.
 */

/* A new fd of the segment (O_CLOEXEC; the caller closes it), for handing on. */
int fr_segment_fd(struct fr_ring *ring);

/*
 * Attach to the segment behind @fd as fr_open does by name, with the same
 * validation (an fd from elsewhere is hostile input too); -EPROTO for anything
 * that is not a valid segment, -EACCES for an fd not open for reading and
 * writing. The caller keeps @fd and may close it at once.
 */
int fr_open_fd(int fd, unsigned flags, struct fr_ring **out);

/* fr_stat for the segment behind @fd (read access is enough). */
int fr_stat_fd(int fd, struct fr_info *info);

/*
 * Send @fd over the connected Unix socket @sock (SCM_RIGHTS, with a tag), and
 * receive one: fr_recv_fd returns the fd (O_CLOEXEC), -EPROTO for any other
 * message (no fd, several, a wrong tag; every fd that came is closed), or
 * -ECONNRESET when the peer closed the socket.
 */
int fr_send_fd(int sock, int fd);
int fr_recv_fd(int sock);

/* Validate a segment name: 0, -EINVAL or -ENAMETOOLONG. */
int fr_name_check(const char *name);

/* ---- producer ------------------------------------------------------------- */

/*
 * Claim a free slot. On success frame->data points at capacity writable bytes
 * and geometry/bytes hold the segment defaults. timeout_ms: 0 = try once
 * (-EAGAIN), -1 = wait forever, >0 = bounded (-ETIMEDOUT). -EINTR when a
 * signal handler installed without SA_RESTART interrupted the wait.
 * Large frames (256 KiB and up): a producer that claims, fills and publishes
 * back to back may be held up to 0.5 ms while its consumers are two frames
 * behind, so that it writes the slot they just read (still in the cache)
 * rather than one that left it; never with timeout 0, never for a producer
 * that waits between frames (a camera), never because of FR_LATEST readers.
 */
int fr_claim(struct fr_ring *ring, struct fr_frame *frame, int timeout_ms);

/*
 * Publish a claimed frame (bytes/timestamp/geometry/flags as set). Sets
 * frame->seq. -EINVAL: not the frame this handle holds, or metadata that does
 * not fit the slot (the frame stays claimed). -EPROTO: another process
 * overwrote the slot's ownership word; the frame is gone, the handle holds
 * nothing.
 */
int fr_publish(struct fr_ring *ring, struct fr_frame *frame);

/* Give a claimed frame back unpublished. -EPROTO as for fr_publish. */
int fr_cancel(struct fr_ring *ring, struct fr_frame *frame);

/* ---- consumer ------------------------------------------------------------- */

/*
 * Acquire the next published frame; read it in place, then fr_release() it.
 * Timeouts as fr_claim(). -EPIPE once the stream ended and is drained;
 * -EPROTO when the segment holds an invalid descriptor.
 */
int fr_acquire(struct fr_ring *ring, struct fr_frame *frame, int timeout_ms);

/* fr_acquire() with FR_ACQUIRE_* flags (FR_ACQUIRE_NEWEST: broadcast only; the
 * other modes deliver in order and ignore it). */
int fr_acquire_ex(struct fr_ring *ring, struct fr_frame *frame, int timeout_ms, unsigned flags);

/* Hand an acquired frame back. -EPROTO: another process overwrote the slot's
 * ownership word; the handle holds nothing either way. */
int fr_release(struct fr_ring *ring, struct fr_frame *frame);

/* ---- waiting -------------------------------------------------------------- */

/*
 * How long a wait spins before it sleeps on the futex, in nanoseconds.
 * 0 = sleep at once, -1 = never sleep (busy-wait; for latency benchmarks on
 * dedicated cores), N > 0 = spin N ns. FR_SPIN_ADAPTIVE, the default: the
 * handle learns how long its recent waits lasted (claims and acquires apart);
 * while they were short (under 200 us: frames or slots following each other
 * quickly), a wait spins a little longer than they lasted, up to about 300 us,
 * so that it rarely pays a futex sleep and wake-up; after a long wait or a
 * timeout it spins only a few microseconds before it sleeps, so a slow stream
 * or an idle handle costs next to no CPU. While the segment has more attached
 * peers than CPUs they may run on together (their affinity masks: peers pinned
 * to CPUs of their own are not crowded), a wait does not spin: it yields the
 * CPU (sched_yield) between its tries, since the peer it waits for likely
 * needs that CPU, for as long as the adaptive spin would have spun but past
 * its 200 us cap, up to about 1.2 ms; then it sleeps. Where nothing else
 * wants the CPU the yields return at once and cost what a spin does. Once the
 * recent waits were all long (about 0.8 ms or more: a slow stream, an idle
 * handle) it sleeps at once, until they are short again (under about 0.6
 * ms). Under SCHED_FIFO or SCHED_RR it spins a few microseconds instead of
 * yielding. Going back to
 * FR_SPIN_ADAPTIVE from another setting starts from the short spin. -EINVAL
 * below FR_SPIN_ADAPTIVE. While a handle busy-waits (-1) and has no fr_fd,
 * the other side publishes or releases without the wake-up's memory fence
 * (when every peer of the other side busy-waits too, neither side fences);
 * leaving -1 costs one membarrier() call, so that no wake-up is lost.
 */
#define FR_SPIN_ADAPTIVE (-2L)
int fr_set_spin(struct fr_ring *ring, long spin_ns);

/*
 * An fd that an event loop (epoll, poll, GLib, Qt, libuv, asyncio) can watch
 * instead of blocking in fr_acquire/fr_claim. It becomes readable (POLLIN)
 * when the handle may have work: a consumer may acquire (or the stream ended),
 * a producer may claim. The contract is the non-blocking one: when the fd is
 * readable, call fr_acquire(..., 0) / fr_claim(..., 0) until -EAGAIN; only that
 * -EAGAIN re-arms the fd (so also make that round once after fr_fd, which
 * returns an fd that starts readable). Spurious readiness happens (any waker's
 * poke reaches every armed poller of the segment); a lost wake-up does not.
 * The fd belongs to the handle: do not close or read it; fr_close closes it.
 * Calling fr_fd again returns the same fd. Needs /proc (the watch is set
 * through /proc/self/fd). -EMFILE/-ENOSPC when the inotify limits
 * (fs.inotify.max_user_instances, default 128) are reached.
 */
int fr_fd(struct fr_ring *ring);

/* ---- information ---------------------------------------------------------- */

/* Geometry, counters and peers of the attached segment. */
int fr_info(struct fr_ring *ring, struct fr_info *info);

/* One handle's own counters (its entry of fr_info's peer table, found directly). */
struct fr_handle_stats {
	uint32_t index;     /* its entry in the segment's peer table */
	uint32_t role;      /* FR_PRODUCER or FR_CONSUMER */
	uint32_t flags;     /* FR_LATEST, FR_FROM_OLDEST */
	uint32_t reserved;
	uint64_t delivered; /* frames published (producer) or acquired (consumer) */
	uint64_t dropped;   /* broadcast latest consumer: frames skipped */
	uint64_t cursor;    /* broadcast consumer: next seq it reads */
	uint64_t lag;       /* consumer: frames published and not yet read by it
			     * (broadcast: head - cursor; SPSC/MPMC: the ring's fill) */
};

/* Fill @stats for this handle. -EINVAL on NULL, -ECHILD on a handle inherited by fork(). */
int fr_handle_stats(struct fr_ring *ring, struct fr_handle_stats *stats);

/* The library's version as "MAJOR.MINOR.PATCH" (may differ from FR_VERSION when
 * a program runs with a newer compatible library). Never NULL. */
const char *fr_version(void);

/* The same for a segment by name, without attaching. */
int fr_stat(const char *name, struct fr_info *info);

/* 1 when the segment has no live peer and its creator is dead, 0 otherwise. */
int fr_info_is_stale(const struct fr_info *info);

/* Text for a (negative or positive) error code. Never NULL. */
const char *fr_strerror(int err);

/* ---- formats -------------------------------------------------------------- */

/* "bgr24" etc. for a format, or NULL when out of range. */
const char *fr_format_name(uint32_t format);

/* Format from its name (case-insensitive), or -EINVAL. */
int fr_format_from_name(const char *name);

/* Smallest stride for a row of @width pixels (first plane), or 0 when RAW/JPEG. */
uint64_t fr_format_min_stride(uint32_t format, uint32_t width);

/* Default stride: the minimum rounded up to 64 bytes. */
uint64_t fr_format_default_stride(uint32_t format, uint32_t width);

/*
 * Bytes of a frame of @format, @width x @height, rows @stride apart (0 = default
 * stride). -EINVAL for RAW/JPEG, odd sizes where the format needs even ones,
 * a stride below the row size, or overflow.
 */
int fr_format_frame_bytes(uint32_t format, uint32_t width, uint32_t height, uint32_t stride,
			  uint64_t *bytes);

#ifdef __cplusplus
}
#endif

#endif /* FRAMERING_H */
