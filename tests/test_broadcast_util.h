/*
 * What only the broadcast tests (tests/test_broadcast_*.c) need, on top of
 * the harness (helpers.h: names, children, readiness, shared memory,
 * payloads, the segment view): a producer and a consumer loop usable from a
 * process or a thread, the stream runner that forks consumer processes
 * around a producer, the full-frame byte pattern that shows a torn frame,
 * and the broadcast reading of slot turn words (holder and writing bits).
 *
 * Producer and consumer loops never call Criterion: they return 0, or -1 with
 * a message in their error field, so that a child process can turn it into an
 * exit status and a thread into a value the test asserts on.
 */
#ifndef FRAMERING_TEST_BROADCAST_UTIL_H
#define FRAMERING_TEST_BROADCAST_UTIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <framering.h>

#include "helpers.h"

/* ---- payloads ------------------------------------------------------------- */

enum bct_pattern {
	/* frt_fill() of id = seq, length frt_frame_len(seq, min, max); checked with
	 * frt_verify() and the stored id against the seq */
	BCT_PATTERN_SUM = 1,
	/* every byte of the frame is bct_byte(seq); full length */
	BCT_PATTERN_BYTE = 2,
};

/* The byte of every position of frame seq (BCT_PATTERN_BYTE). */
static inline uint8_t bct_byte(uint64_t seq)
{
	return (uint8_t)(1u + (frt_mix64(seq) % 255u));
}
/* Offset of the first byte that is not b, or -1 when all len bytes are b. */
long bct_check_byte(const void *buf, uint64_t len, uint8_t b);

/* ---- producer and consumer loops ------------------------------------------ */

struct bct_producer {
	/* in */
	struct fr_ring *ring;       /* a producer handle (from fr_create), or NULL: open name */
	const char *name;
	enum bct_pattern pattern;
	uint64_t first;             /* first seq to publish (the ring published that many) */
	uint64_t count;             /* publish up to seq count - 1 (at least, when stop is set) */
	_Atomic int *stop;          /* optional: keep publishing until *stop != 0, then stop */
	uint64_t min_len, max_len;  /* BCT_PATTERN_SUM */
	long pace_us;               /* sleep after each publish (0: none) */
	int claim_timeout_ms;       /* fr_claim timeout; 0 = must never wait (fails on -EAGAIN) */
	int close_at_end;           /* fr_close the handle when done */
	/* out */
	uint64_t published;
	uint64_t sum;               /* sum of frt_sum64() of every frame (BCT_PATTERN_SUM) */
	char error[256];
};

/* Publish seq first, first + 1, ... 0, or -1 with error set. */
int bct_produce(struct bct_producer *p);

struct bct_consumer {
	/* in */
	const char *name;
	struct fr_ring *sibling;    /* set: attach with fr_open_from(sibling), its mapping */
	unsigned flags;             /* FR_CONSUMER, | FR_LATEST */
	enum bct_pattern pattern;
	uint64_t min_len, max_len;  /* BCT_PATTERN_SUM */
	int ready_fd;               /* frt_ready_signal() here after attaching; -1: none */
	uint64_t expect_first;      /* reliable: first seq expected */
	uint64_t hold_us;           /* sleep this long while holding each frame */
	uint64_t hold_rand_us;      /* plus a random 0..hold_rand_us */
	unsigned hold_every;        /* sleep only on one frame in hold_every (0 or 1: every) */
	uint64_t hold_first_until;  /* > 0: hold the first frame until this many were published */
	uint64_t kill_after;        /* > 0: SIGKILL itself while holding the kill_after-th frame */
	uint64_t max_frames;        /* > 0: stop (release, close) after this many */
	int verify_twice;           /* re-verify the payload after the hold sleep */
	int acquire_timeout_ms;     /* default FRT_WAIT_MS */
	/* out */
	int peer_index;             /* own entry in the peer table (processes only), -1 unknown */
	uint64_t delivered;         /* frames acquired */
	uint64_t first_seq, last_seq;
	uint64_t gaps;              /* frames skipped between deliveries (latest) */
	uint64_t sum;               /* sum of checksums */
	uint64_t info_delivered;    /* own peer entry just before closing */
	uint64_t info_dropped;
	uint64_t info_cursor;
	int info_found;
	_Atomic uint64_t pinned_seq; /* kill_after: the seq held when it killed itself, + 1 */
	char error[256];
};

/* Attach, read until end of stream (or max_frames), check every frame. 0 or -1. */
int bct_consume(struct bct_consumer *c);
/* bct_consume() for frt_spawn(): exit status 0 or FRT_CHILD_FAILED. */
int bct_consume_main(void *c);

/*
 * Fork ncons consumer processes on name (each gets ready_fd set), wait until
 * every one attached, run the producer p on prod in this process, close prod
 * (end of stream) and wait for the consumers. 0, or -1 with why filled in.
 */
int bct_run_stream(const char *name, struct fr_ring *prod, struct bct_producer *p,
		   struct bct_consumer *cons, int ncons, char *why, size_t why_size);

/* The peer entry of this process with this role and these flags (fr_info), or -1. */
int bct_find_self(struct fr_ring *r, unsigned role, unsigned flags, struct fr_peer_info *out);

/* ---- broadcast slot words in a segment view ------------------------------ */

/* OR of the holder bits (0..30) of every slot's turn word; *writing = slots with bit 31 set. */
uint64_t bct_holders(const struct frt_view *v, unsigned *writing);

/* ---- in the test process (Criterion; see helpers.h) ---------------------- */

#ifdef CRITERION_H_

/* A broadcast segment named frt_name(name, FRT_NAME_SIZE, tag): the creator's producer handle. */
static inline struct fr_ring *bct_create_ok(char *name, const char *tag, uint32_t slots,
					    uint64_t frame_bytes)
{
	struct fr_config cfg = { .mode = FR_BROADCAST, .slots = slots, .frame_bytes = frame_bytes };
	return frt_create_ok(frt_name(name, FRT_NAME_SIZE, tag), &cfg);
}

/* Zeroed shared memory for n consumers run in child processes. */
static inline struct bct_consumer *bct_consumers_ok(int n)
{
	struct bct_consumer *cons = frt_shared_alloc((size_t)n * sizeof *cons);
	cr_assert_not_null(cons);
	return cons;
}

/* Publish frame seq, every byte bct_byte(seq), within timeout_ms; it must get that seq. */
static inline void bct_publish_byte(struct fr_ring *prod, uint64_t seq, int timeout_ms)
{
	struct fr_frame f;
	int rc = fr_claim(prod, &f, timeout_ms);
	cr_assert_eq(rc, 0, "fr_claim for seq %llu: %d (%s)", (unsigned long long)seq, rc,
		     fr_strerror(rc));
	memset(f.data, bct_byte(seq), f.capacity);
	f.bytes = f.capacity;
	FRT_ASSERT_OK(fr_publish(prod, &f));
	cr_assert_eq(f.seq, seq, "published seq %llu, expected %llu", (unsigned long long)f.seq,
		     (unsigned long long)seq);
}

/* Every byte of a frame held is still bct_byte(seq): nothing wrote over it. */
static inline void bct_expect_bytes(const struct fr_frame *f)
{
	long off = bct_check_byte(f->data, f->bytes, bct_byte(f->seq));
	cr_assert_eq(off, -1, "seq %llu: byte %ld overwritten", (unsigned long long)f->seq, off);
}

/* Acquire at once (fr_acquire_ex with flags; fr_acquire when 0): seq, its bytes; release. */
static inline void bct_acquire_expect(struct fr_ring *cons, unsigned flags, uint64_t seq)
{
	struct fr_frame f;
	int rc = flags ? fr_acquire_ex(cons, &f, 0, flags) : fr_acquire(cons, &f, 0);
	cr_assert_eq(rc, 0, "fr_acquire (flags %#x, expecting seq %llu): %d (%s)", flags,
		     (unsigned long long)seq, rc, fr_strerror(rc));
	cr_assert_eq(f.seq, seq, "got seq %llu, expected %llu", (unsigned long long)f.seq,
		     (unsigned long long)seq);
	bct_expect_bytes(&f);
	FRT_ASSERT_OK(fr_release(cons, &f));
}

#endif /* CRITERION_H_ */

#endif /* FRAMERING_TEST_BROADCAST_UTIL_H */
