/*
 * Helpers for the broadcast tests (tests/test_broadcast_*.c): unique segment
 * names, child processes with a readiness pipe and a hang guard, payload
 * patterns, a producer and a consumer loop usable from a process or a thread,
 * and a read-only view of a segment's slot descriptors.
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

/* Bound on any single wait inside a test (claim, acquire, readiness), in ms. */
#define BCT_WAIT_MS 30000
/* Bound on a whole child process, in seconds. */
#define BCT_CHILD_S 200
/* Exit status of a child whose check failed. */
#define BCT_FAILED 101

#define BCT_NAME_SIZE 80

/* "/frbc-<tag>-<pid>-<n>", remembered for bct_cleanup(); any leftover is unlinked first. */
char *bct_name(char *buf, size_t size, const char *tag);
/* Unlink every name bct_name() handed out in this process (suite .fini). */
void bct_cleanup(void);
/* 1 when /dev/shm still holds the segment. */
int bct_shm_exists(const char *name);

/* ---- child processes ------------------------------------------------------ */

/*
 * fork(); the child (killed with SIGKILL if the test process dies) runs
 * fn(arg) and _exit()s with its value. Returns the pid, -1 when fork failed.
 */
pid_t bct_spawn(int (*fn)(void *arg), void *arg);
/*
 * Wait for pids[0..n) for at most bound_s seconds in total. Returns 0 when all
 * exited 0; otherwise the first bad status (exit code, 128 + signal, or -1 on
 * timeout) with *bad set to its index. Children still running are killed.
 */
int bct_wait_all(const pid_t *pids, int n, int bound_s, int *bad);
/* Wait for one child until deadline_s (CLOCK_MONOTONIC seconds, see bct_now_s);
 * its status as bct_wait_all() reports it, quietly. */
int bct_wait_one(pid_t pid, double deadline_s);
double bct_now_s(void);
/* Kill (SIGKILL) and reap; ignores errors. */
void bct_kill(pid_t pid);

/* Readiness: a child writes one byte; the parent reads n bytes within bound_ms. */
int bct_ready_signal(int fd);
int bct_ready_wait(int fd, int n, int bound_ms);

void bct_sleep_us(long us);

/* xorshift64*; state must not be 0. */
uint64_t bct_rand(uint64_t *state);
uint64_t bct_mix64(uint64_t x);

/* Memory shared with children (zeroed MAP_SHARED anonymous), or NULL. */
void *bct_shared(size_t bytes);
void bct_unshare(void *p, size_t bytes);

/* ---- payloads ------------------------------------------------------------- */

enum bct_pattern {
	/* [seq][len][checksum of the rest][words derived from seq]; length varies with seq */
	BCT_PATTERN_SUM = 1,
	/* every byte of the frame is bct_byte(seq); full length */
	BCT_PATTERN_BYTE = 2,
};

/* Frame length of seq for BCT_PATTERN_SUM, in [min, max], min >= 24. */
uint64_t bct_len(uint64_t seq, uint64_t min, uint64_t max);
/* Fill for BCT_PATTERN_SUM; returns the checksum of all len bytes. */
uint64_t bct_fill_sum(void *buf, uint64_t len, uint64_t seq);
/* 0 when buf holds the BCT_PATTERN_SUM frame of seq, len bytes; *sum = checksum. */
int bct_verify_sum(const void *buf, uint64_t len, uint64_t seq, uint64_t *sum);
uint64_t bct_checksum(const void *buf, size_t n);

/* The byte of every position of frame seq (BCT_PATTERN_BYTE). */
static inline uint8_t bct_byte(uint64_t seq)
{
	return (uint8_t)(1u + (bct_mix64(seq) % 255u));
}
/* Offset of the first byte that is not b, or -1 when all len bytes are b. */
long bct_check_byte(const void *buf, uint64_t len, uint8_t b);

/* ---- producer and consumer loops ------------------------------------------ */

struct bct_producer {
	/* in */
	struct fr_ring *ring;       /* a producer handle (e.g. from fr_create), or NULL: open name */
	const char *name;
	enum bct_pattern pattern;
	uint64_t first;             /* first seq to publish (the ring published exactly that many) */
	uint64_t count;             /* publish up to seq count - 1 (at least, when stop is set) */
	_Atomic int *stop;          /* optional: keep publishing until *stop != 0, then stop */
	uint64_t min_len, max_len;  /* BCT_PATTERN_SUM */
	long pace_us;               /* sleep after each publish (0: none) */
	int claim_timeout_ms;       /* fr_claim timeout; 0 = must never wait (fails on -EAGAIN) */
	int close_at_end;           /* fr_close the handle when done */
	/* out */
	uint64_t published;
	uint64_t sum;               /* sum of checksums (BCT_PATTERN_SUM) */
	char error[256];
};

/* Publish seq first, first + 1, ... 0, or -1 with error set. */
int bct_produce(struct bct_producer *p);

struct bct_consumer {
	/* in */
	const char *name;
	struct fr_ring *sibling;    /* set: attach with fr_open_from(sibling), sharing its mapping */
	unsigned flags;             /* FR_CONSUMER, | FR_LATEST */
	enum bct_pattern pattern;
	uint64_t min_len, max_len;  /* BCT_PATTERN_SUM */
	int ready_fd;               /* write one byte here after attaching; -1: none */
	uint64_t expect_first;      /* reliable: first seq expected */
	uint64_t hold_us;           /* sleep this long while holding each frame */
	uint64_t hold_rand_us;      /* plus a random 0..hold_rand_us */
	unsigned hold_every;        /* sleep only on one frame in hold_every (0 or 1: every) */
	uint64_t hold_first_until;  /* > 0: hold the first frame until this many were published */
	uint64_t kill_after;        /* > 0: SIGKILL itself while holding the kill_after-th frame */
	uint64_t max_frames;        /* > 0: stop (release, close) after this many */
	int verify_twice;           /* re-verify the payload after the hold sleep */
	int acquire_timeout_ms;     /* default BCT_WAIT_MS */
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
/* bct_consume() for bct_spawn(): exit status 0 or BCT_FAILED. */
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

/* ---- a read-only view of a segment's descriptors --------------------------- */

struct bct_view {
	void *base;
	size_t bytes;
	uint32_t slots;
	const void *desc; /* struct fr_shm_desc[slots] */
	const void *hdr;  /* struct fr_shm_header */
};

/* Map segment name read-only. 0 or a negative errno. */
int bct_view_open(const char *name, struct bct_view *v);
void bct_view_close(struct bct_view *v);
/* The turn word of slot i. */
uint64_t bct_view_turn(const struct bct_view *v, uint32_t i);
/* OR of the holder bits (0..30) of every slot; *writing = slots with bit 31 set. */
uint64_t bct_view_holders(const struct bct_view *v, unsigned *writing);
/* The producers' wait line: its futex event counter and its sleeper mask (bit = peer entry). */
void bct_view_space_wait(const struct bct_view *v, uint32_t *event, uint64_t *waiters);
/* The peer table entry state of idx (FR_PEER_FREE = 0, LIVE = 1, ...). */
uint32_t bct_view_peer_state(const struct bct_view *v, unsigned idx);

#endif /* FRAMERING_TEST_BROADCAST_UTIL_H */
