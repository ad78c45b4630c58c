/*
 * The segment as it lies in shared memory (ABI version FR_ABI_VERSION).
 *
 * Only fixed-width types and offsets, never pointers: every process maps the
 * segment at its own address, 32- and 64-bit processes alike. Fields written
 * by different sides live on different 128-byte lines (adjacent-line
 * prefetch pairs 64-byte lines). Everything here is untrusted once written:
 * readers validate before use (segment.c at open, each ring on every access).
 */
#ifndef FR_LAYOUT_H
#define FR_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "framering.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free in shared memory");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free in shared memory");

#define FR_SHM_MAGIC "FRMRING1"
#define FR_SHM_LINE 128u
#define FR_SHM_DESC_BYTES 64u
#define FR_SHM_PEER_BYTES 128u
#define FR_SHM_PAGE 4096u /* layout unit; page-aligned slots on 4 KiB-page systems */
#define FR_MAX_FRAME_BYTES (UINT64_C(1) << 32)
#define FR_MAX_SEGMENT_BYTES (UINT64_C(1) << 40)
#define FR_SHM_HOT_PAYLOADS 32u /* payload ownership words in the header (MPMC) */

/* header.state */
enum fr_shm_state { FR_SHM_INIT = 0, FR_SHM_READY = 1, FR_SHM_CLOSED = 2 };

/* peer.state */
enum fr_peer_state {
	FR_PEER_FREE = 0,
	FR_PEER_LIVE = 1,   /* attached; alive while its OFD lock is held */
	FR_PEER_ORPHAN = 2, /* dead MPMC consumer whose held frame awaits redelivery */
};

/* header.stream: bit i = peer entry i is an attached producer; FR_STREAM_END = ended. */
#define FR_STREAM_END (UINT64_C(1) << 63)
#define FR_STREAM_PRODUCERS (FR_STREAM_END - 1) /* so entry 63 can never be a producer */

/*
 * One entry of the peer table. The entry's first byte in the segment file is
 * covered by an open-file-description lock held by the attached process: the
 * kernel drops it when the process dies, which makes liveness a kernel fact.
 * Only the lock holder writes the identity fields.
 */
struct fr_shm_peer {
	_Atomic uint32_t state;      /* enum fr_peer_state */
	uint32_t role;               /* FR_PRODUCER or FR_CONSUMER */
	uint32_t flags;              /* FR_LATEST, ... */
	int32_t pid;
	uint64_t start_time;         /* /proc/<pid>/stat starttime: tells pid reuse apart */
	_Atomic uint64_t generation; /* bumped at every attach to this entry */
	uint64_t attach_ns;          /* CLOCK_REALTIME */
	uint64_t reserved0;          /* ABI 1 intent record: MPMC ownership is in the slot word */
	_Atomic uint64_t held;       /* ring position + 1 claimed or held: a hint, and for an
				      * ORPHAN entry the frame awaiting redelivery */
	_Atomic uint64_t cursor;     /* broadcast consumer: next seq to read */
	_Atomic uint64_t delivered;  /* frames published (producer) or acquired (consumer) */
	_Atomic uint64_t dropped;    /* broadcast latest consumer: frames skipped */
	_Atomic uint64_t pinned;     /* broadcast consumer: slot + 1 it holds a pin on; 0 = none */
	_Atomic uint64_t cpus;       /* bit i: the entry's thread may run on CPU i, as of its
				      * last refresh (fri_crowded); 0: unknown (a CPU above 63) */
	uint8_t reserved[32];
};
_Static_assert(sizeof(struct fr_shm_peer) == FR_SHM_PEER_BYTES, "peer entry is 128 bytes");
_Static_assert(offsetof(struct fr_shm_peer, held) == 48, "peer layout");
_Static_assert(offsetof(struct fr_shm_peer, pinned) == 80, "peer layout");
_Static_assert(offsetof(struct fr_shm_peer, cpus) == 88, "peer layout");

/* A wait line: an event counter to sleep on, a bitmask of sleepers, one of
 * pollers (handles waiting through fr_fd(), poked by a change of the file's
 * times), and one of the entries that need every waker to fence (wait.c). */
struct fr_shm_wait {
	_Atomic uint32_t event;   /* bumped by a waker that saw sleepers; FUTEX_WAIT word */
	uint32_t reserved0;
	_Atomic uint64_t waiters; /* bit i: peer entry i sleeps or is about to */
	_Atomic uint64_t pollers; /* bit i: entry i polls its fd and wants a poke; CAS/AND/OR */
	_Atomic uint64_t fence_peers; /* bit i: entry i may sleep or poll on this line, so
				       * wakers fence (wait.c); OR/AND */
	uint8_t reserved[96];
};
_Static_assert(offsetof(struct fr_shm_wait, pollers) == 16, "wait line layout");
_Static_assert(offsetof(struct fr_shm_wait, fence_peers) == 24, "wait line layout");
_Static_assert(sizeof(struct fr_shm_wait) == FR_SHM_LINE, "wait line is one 128-byte line");

struct fr_shm_header {
	/* identity line: written once by the creator before state = READY */
	char magic[8];            /* "FRMRING1" */
	uint32_t abi_version;     /* FR_ABI_VERSION */
	uint32_t header_bytes;    /* == desc_offset */
	uint64_t segment_bytes;   /* file size */
	uint32_t mode;            /* enum fr_mode */
	uint32_t policy;          /* reserved, 0 */
	uint32_t slot_count;      /* power of two, FR_MIN_SLOTS..FR_MAX_SLOTS */
	uint32_t max_peers;       /* FR_MAX_PEERS */
	uint64_t desc_offset;     /* slot descriptors, FR_SHM_DESC_BYTES each */
	uint64_t log_offset;      /* broadcast publish log (0 in other modes) */
	uint64_t payload_offset;  /* first slot, page aligned */
	uint64_t payload_stride;  /* page multiple >= frame_capacity */
	uint64_t frame_capacity;
	uint32_t width;
	uint32_t height;
	uint32_t stride;
	uint32_t format;          /* enum fr_format */
	int32_t creator_pid;
	uint32_t log_count;       /* broadcast publish log entries (power of two) */
	uint64_t created_ns;      /* CLOCK_REALTIME */
	uint64_t creator_start;   /* creator's /proc starttime */
	_Atomic uint32_t state;   /* enum fr_shm_state; READY stored with release */
	uint32_t perms;           /* requested file mode */

	/* producer line: written by producers */
	_Atomic uint64_t head;           /* next position to claim, or broadcast seq to publish */
	_Atomic uint64_t published;      /* frames published (MPMC: seq source) */
	_Atomic uint64_t producer_waits; /* claims that found no free slot */
	_Atomic uint64_t aborted;        /* slots given up unpublished */
	_Atomic uint64_t latest_stalls;  /* broadcast: claims held back by latest readers alone */
	uint8_t producer_pad[88];

	/* consumer line: written by consumers */
	_Atomic uint64_t tail;           /* next ring position to acquire (SPSC/MPMC) */
	_Atomic uint64_t consumer_waits; /* acquires that found nothing */
	_Atomic uint64_t redelivered;    /* frames delivered again after their holder died */
	_Atomic uint64_t redeliver_pos;  /* SPSC: position + 1 whose holder died */
	_Atomic uint64_t dropped;        /* broadcast: frames skipped by latest consumers */
	_Atomic uint64_t consumed_retired; /* broadcast: frames read by consumers now detached */
	uint8_t consumer_pad[80];

	struct fr_shm_wait data_wait;  /* consumers sleep here; producers wake */
	struct fr_shm_wait space_wait; /* producers sleep here; consumers wake */

	/* control line: rarely written */
	_Atomic uint64_t stream;       /* producers attached, end of stream: FR_STREAM_*; CAS */
	_Atomic uint64_t orphans;      /* MPMC: bit i = entry i may be ORPHAN (a hint; mpmc.c) */
	_Atomic uint64_t attaches;     /* attach count, for info */
	uint8_t control_pad[104];

	/* MPMC with large frames: one ownership word per payload slot,
	 * [pos:55 | state:3 | 0:6], CAS only (mpmc.c); unused otherwise */
	_Atomic uint64_t payload[FR_SHM_HOT_PAYLOADS];

	struct fr_shm_peer peers[FR_MAX_PEERS];
};
_Static_assert(offsetof(struct fr_shm_header, state) == 120, "identity line is 128 bytes");
_Static_assert(offsetof(struct fr_shm_header, head) == 128, "producer line at 128");
_Static_assert(offsetof(struct fr_shm_header, tail) == 256, "consumer line at 256");
_Static_assert(offsetof(struct fr_shm_header, data_wait) == 384, "data wait line at 384");
_Static_assert(offsetof(struct fr_shm_header, space_wait) == 512, "space wait line at 512");
_Static_assert(offsetof(struct fr_shm_header, stream) == 640, "control line at 640");
_Static_assert(offsetof(struct fr_shm_header, payload) == 768, "payload words at 768");
_Static_assert(offsetof(struct fr_shm_header, peers) == 1024, "peer table at 1024");
_Static_assert(sizeof(struct fr_shm_header) == 1024 + FR_MAX_PEERS * FR_SHM_PEER_BYTES,
	       "header size");

/*
 * One slot descriptor. `turn` is the slot's ownership word:
 *  - SPSC: pos + 1 of the ring position it carries once that position is
 *          published (stored last, with release: the word the consumer
 *          polls, see spsc.c); the descriptor names the payload slot in `slot`;
 *  - MPMC: [pos:55 | state:3 | owner:6], changed only by CAS, see mpmc.c
 *          (with large frames `slot` names the payload, as in SPSC);
 *  - broadcast: [seq:32 | writing:1 | holders:31], see broadcast.c.
 * The metadata fields are written by the slot's owner before the release
 * store that hands the slot over, and read by the next owner after the
 * matching acquire load.
 */
struct fr_shm_desc {
	_Atomic uint64_t turn;
	uint64_t seq;
	uint64_t timestamp_ns;
	uint64_t bytes;
	uint32_t width;
	uint32_t height;
	uint32_t stride;
	uint32_t format;
	uint32_t flags;
	uint32_t owner;           /* peer entry that published it */
	uint32_t slot;            /* SPSC, MPMC with large frames: the payload slot this
				   * ring position carries */
	uint32_t reserved;
};
_Static_assert(sizeof(struct fr_shm_desc) == FR_SHM_DESC_BYTES, "descriptor is 64 bytes");
_Static_assert(offsetof(struct fr_shm_desc, width) == 32, "descriptor layout");
_Static_assert(offsetof(struct fr_shm_desc, flags) == 48, "descriptor layout");

/* Broadcast publish log entry: (seq low 32 bits << 32) | slot; 0 before the first lap. */
struct fr_shm_log {
	_Atomic uint64_t entry;
};
_Static_assert(sizeof(struct fr_shm_log) == 8, "log entry is 8 bytes");

#endif /* FR_LAYOUT_H */
