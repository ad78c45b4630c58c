/*
 * The test harness (frt_*), the one every test in tests/ uses: unique segment
 * names and their cleanup, child processes that cannot hang a test, readiness
 * and barriers, bounded waits, shared result memory, payload patterns, frame
 * streams, a view of a segment file's bytes (lib/layout.h), and the
 * Criterion-side assertions, skips and must-succeed wrappers.
 *
 * Children created with frt_spawn() never call Criterion assertions: they
 * report through their exit status (FRT_CHILD_CHECK prints what failed and
 * exits FRT_CHILD_FAILED) and the parent asserts on it.
 */
#ifndef FRAMERING_TEST_HELPERS_H
#define FRAMERING_TEST_HELPERS_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <framering.h>

/* Hang guard for anything a test waits on (children, barriers), in seconds. */
#define FRT_BOUND_S 120

/* Bound on one blocking call that must succeed (claim, acquire, readiness), in ms. */
#define FRT_WAIT_MS 30000

/* Exit status of a child whose check failed. */
#define FRT_CHILD_FAILED 101

/* ---- segment names -------------------------------------------------------- */

/*
 * Write a name unique to this process and call, "/frt-<tag>-<pid>-<n>", into
 * buf and remember it: frt_cleanup() unlinks every name handed out. Returns buf.
 */
char *frt_name(char *buf, size_t size, const char *tag);
#define FRT_NAME_SIZE 96

/* Remember a name for frt_cleanup() (frt_name() does this itself). */
void frt_track(const char *name);

/* Unlink every segment named by frt_name() in this process (Criterion .fini). */
void frt_cleanup(void);

/* "/dev/shm/<name without leading slash>" into buf. Returns buf. */
char *frt_shm_path(char *buf, size_t size, const char *name);

/* 1 when /dev/shm holds a file of that segment name. */
int frt_shm_exists(const char *name);

/* ---- child processes ------------------------------------------------------ */

/*
 * fork(); the child runs fn(arg) and _exit()s with its return value. The
 * child dies with SIGKILL if the test process goes away. Returns the pid, or
 * -1 when fork failed.
 */
pid_t frt_spawn(int (*fn)(void *arg), void *arg);

/*
 * Wait for a child for at most bound_ms milliseconds. Returns its exit status,
 * 128 + signal number when a signal killed it, or -1 when the bound passed
 * (the child is then killed and reaped) or waitpid failed. Quiet.
 */
int frt_wait_ms(pid_t pid, long bound_ms);

/* frt_wait_ms() in seconds; says on stderr when the bound passed. */
int frt_wait(pid_t pid, int bound_s);

/* frt_wait() without waiting: the status when the child ended, else -1. */
int frt_try_wait(pid_t pid);

/*
 * Send sig to child pid every 50 ms until it ends (at most 400 times), then
 * reap it (bounded): its status as frt_wait() gives it. For waits that a
 * signal must interrupt: one landing between two futex waits may go
 * unnoticed, one that interrupts a sleep must end the wait.
 */
int frt_signal_until_exit(pid_t pid, int sig);

/* Kill (SIGKILL) and reap a child. Its status as frt_wait() reports it (128 +
 * SIGKILL unless it had ended by itself), or -1 (no such child, pid <= 0). */
int frt_kill(pid_t pid);

/* In a child: print where and why, then _exit(FRT_CHILD_FAILED). */
_Noreturn void frt_child_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define FRT_CHILD_CHECK(cond)                                                      \
	do {                                                                       \
		if (!(cond))                                                       \
			frt_child_fail(__FILE__, __LINE__, "check failed: %s", #cond); \
	} while (0)

/* FRT_CHILD_CHECK with a printf-style message: FRT_CHILD_CHECKF(cond, fmt, ...). */
#define FRT_CHILD_CHECKF(cond, ...)                                                \
	do {                                                                       \
		if (!(cond))                                                       \
			frt_child_fail(__FILE__, __LINE__, __VA_ARGS__);           \
	} while (0)

/* Like FRT_CHILD_CHECK for a framering return code that must be 0. */
#define FRT_CHILD_OK(expr)                                                           \
	do {                                                                         \
		int frt_rc_ = (expr);                                                \
		if (frt_rc_ != 0)                                                    \
			frt_child_fail(__FILE__, __LINE__, "%s returned %d (%s)", #expr, \
				       frt_rc_, fr_strerror(frt_rc_));               \
	} while (0)

/*
 * Run children to completion: wait for each pid in order, each for at most
 * bound_s seconds. Returns 0 when all exited 0, otherwise the first bad status
 * (see frt_wait; -1 also for a pid <= 0, a fork that failed), killing the
 * rest; *bad (when not NULL) gets the index of that child, or -1.
 */
int frt_wait_all(const pid_t *pids, int count, int bound_s, int *bad);

/*
 * Wait until process pid sleeps in a futex wait (state 'S' with a futex wait
 * channel, seen several times in a row). Returns 0, or -1 after bound_s
 * seconds or when the process is gone.
 */
int frt_wait_futex_sleep(pid_t pid, int bound_s);

/* 'R', 'S', ... for a process, or 0 when it is gone. */
char frt_proc_state(pid_t pid);

/* Sleep (pacing polls and peers, never for correctness). */
void frt_sleep_ms(long ms);
void frt_sleep_us(long us);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t frt_now_ns(void);

/* The number on the line "@field: N ..." of /proc/meminfo (e.g. "Shmem", in kB,
 * or "HugePages_Free", in pages), or -1 when there is none. */
long long frt_meminfo(const char *field);

/*
 * Readiness through a pipe: each child writes one byte to the write end
 * (frt_ready_signal; fd < 0: nothing to do), the parent closes its copy of
 * the write end and reads count bytes within bound_ms (frt_ready_wait). A
 * child that dies before it is ready closes its end, so the wait fails at
 * once when every writer is gone. 0, or -1.
 */
int frt_ready_signal(int fd);
int frt_ready_wait(int fd, int count, int bound_ms);

/* ---- shared memory between the test and its children ---------------------- */

/* A zeroed MAP_SHARED anonymous mapping, or NULL. */
void *frt_shared_alloc(size_t bytes);
void frt_shared_free(void *p, size_t bytes);

/*
 * Process/thread barrier on a counter in shared memory: increments it, then
 * waits until it reaches n. Returns 0, or -1 after bound_s seconds.
 */
int frt_barrier(_Atomic uint32_t *counter, uint32_t n, int bound_s);

/* ---- payloads ------------------------------------------------------------- */

/* splitmix64 step. */
uint64_t frt_mix64(uint64_t x);

/* xorshift64* step: the next pseudo-random number; *state must not be 0. */
uint64_t frt_rand(uint64_t *state);

/* Frame length for id, uniform-ish in [min_bytes, max_bytes]; min_bytes >= 24. */
uint64_t frt_frame_len(uint64_t id, uint64_t min_bytes, uint64_t max_bytes);

/* Checksum of n bytes (word-wise multiply-xor hash). */
uint64_t frt_sum64(const void *buf, size_t n);

/*
 * Fill len bytes (len >= 24): id, len, checksum of the rest, then a pattern
 * derived from id. Returns the checksum of all len bytes.
 */
uint64_t frt_fill(void *buf, uint64_t len, uint64_t id);

/*
 * Check a buffer written by frt_fill(): stored length equals len, stored
 * checksum matches the bytes, and every pattern byte is the one id implies.
 * On success stores the id and the checksum of all len bytes and returns 0;
 * returns -1 on any mismatch.
 */
int frt_verify(const void *buf, uint64_t len, uint64_t *id, uint64_t *sum);

/* ---- frame streams (threads or processes) -------------------------------- */

/*
 * One producer or consumer of a test stream. In a child process keep it in
 * frt_shared_alloc() memory so the parent sees the results.
 *
 * Producer: attaches to name (or uses ring), waits on the optional barrier, then publishes
 * ids first_id .. first_id + count - 1, each frt_frame_len(id, min_len,
 * max_len) bytes filled by frt_fill(), timestamp id + 1, user flags from the
 * id, and closes.
 *
 * Consumer: attaches, acquires until -EPIPE, verifies every frame (length,
 * checksum, pattern, timestamp, flags) and counts it in the optional
 * seen_id/seen_seq arrays (total entries each; a second delivery fails).
 * With in_order, seq must run 0, 1, 2, ... and equal the id.
 */
struct frt_stream {
	const char *name;
	struct fr_ring *ring; /* optional: an attached handle to use (and close) instead */
	uint64_t first_id, count;
	uint64_t min_len, max_len;
	_Atomic uint32_t *barrier; /* optional: producers wait until it reaches barrier_n */
	uint32_t barrier_n;
	int in_order;
	int wait_ms;  /* timeout of each fr_claim/fr_acquire; 0 = -1 (forever) */
	int set_spin; /* call fr_set_spin(spin_ns) after attaching */
	long spin_ns;
	_Atomic uint8_t *seen_id;
	_Atomic uint8_t *seen_seq;
	uint64_t total;
	/* results */
	uint64_t frames; /* published or acquired */
	uint64_t sum;    /* sum of frt_sum64() of every frame's bytes */
	char error[200]; /* why it failed */
};

/* 0, or -1 with s->error set (and printed). */
int frt_produce(struct frt_stream *s);
int frt_consume(struct frt_stream *s);

/* frt_produce/frt_consume for frt_spawn(). */
int frt_produce_main(void *s);
int frt_consume_main(void *s);

/* Flags a producer puts on frame id. */
#define FRT_ID_FLAGS(id) ((uint32_t)(((id) * 2654435761u) & FR_FRAME_USER_MASK))

/* ---- forced interleavings (a peer stopped at a hook point) ---------------- */

/*
 * A child armed with fr_test_hook_arm_action(point, n, FR_TEST_STOP) stops
 * itself there (or is sent SIGSTOP); the parent sees it with
 * waitpid(WUNTRACED). Wait at most bound_ms milliseconds until child pid is
 * stopped or has ended. Returns 0 when it is stopped; 1 when it ended first
 * (it is then reaped: *status, if not NULL, gets its status as frt_wait
 * reports it); -1 when the bound passed (the child is left as it is) or
 * waitpid failed. Quiet.
 */
int frt_wait_stopped(pid_t pid, long bound_ms, int *status);

/* Resume a stopped child (SIGCONT). 0, or -errno. */
int frt_continue(pid_t pid);

/*
 * Wait at most bound_s seconds until *flag >= value. When pid > 0, give up
 * early once that process is gone (zombie or reaped), so that a child that
 * failed is reported at once instead of after the bound. 0, or -1.
 */
int frt_wait_flag(_Atomic uint32_t *flag, uint32_t value, pid_t pid, int bound_s);

/* voluntary_ctxt_switches of process pid (/proc/<pid>/status), or -1. */
long frt_voluntary_switches(pid_t pid);

/* ---- segment files: their bytes, and a view of a live one ------------------- */

/*
 * The bytes of a freshly created and closed segment of cfg (malloc'd, *len
 * set), or NULL (after saying why on stderr). The segment is unlinked again.
 */
uint8_t *frt_segment_image(const struct fr_config *cfg, size_t *len);

/*
 * Write len bytes into a new file /dev/shm/<name>, name from frt_name(name,
 * FRT_NAME_SIZE, tag) (so frt_cleanup() removes it). 0, or -errno.
 */
int frt_segment_write(char *name, const char *tag, const void *buf, size_t len);

struct fr_shm_header;
struct fr_shm_desc;
struct fr_shm_log;
struct fr_shm_wait;

/*
 * A test's own mapping of a segment file, to look at (or, writable, scribble
 * on) the shared layout of lib/layout.h: the header with its peer table and
 * wait lines, the slot descriptors and the broadcast publish log. Where they
 * lie (and slots, log_count) is read once, at frt_view_open(): a test that
 * scribbles on the header still finds them. Include "layout.h" to use them.
 */
struct frt_view {
	uint8_t *map;              /* the whole file, MAP_SHARED */
	size_t len;
	struct fr_shm_header *hdr; /* at map */
	struct fr_shm_desc *desc;  /* slots descriptors */
	struct fr_shm_log *log;    /* log_count entries; NULL but in broadcast mode */
	uint32_t slots, log_count;
};

/*
 * Map segment file name (read-only, or read-write when writable). No
 * Criterion: usable in children. 0, or -errno; -EPROTO when the file is
 * shorter than a header or its descriptor table or log lies outside it.
 */
int frt_view_open(const char *name, int writable, struct frt_view *v);
void frt_view_close(struct frt_view *v);

/* The turn word of slot i. */
uint64_t frt_view_turn(const struct frt_view *v, uint32_t i);

/* The state of peer entry idx (FR_PEER_FREE = 0, LIVE = 1, ...), UINT32_MAX past the table. */
uint32_t frt_view_peer_state(const struct frt_view *v, unsigned idx);

/* The entry of a registered (not free) peer of process pid, or -1. */
int frt_view_find_peer(const struct frt_view *v, pid_t pid);

/* A wait line's futex event counter and sleeper mask (bit i: peer entry i). */
uint32_t frt_view_event(const struct fr_shm_wait *w);
uint64_t frt_view_waiters(const struct fr_shm_wait *w);

/* Wait until pid sleeps in a futex wait while announced on w (some bit of
 * its waiter mask set). 0, or -1 after about a minute or when pid is gone. */
int frt_wait_announced_sleep(pid_t pid, const struct fr_shm_wait *w);

/* How many distinct pointers the first n of ptrs are (which slots a run of
 * frames went through). */
unsigned frt_distinct(void *const *ptrs, unsigned n);

/* How many of ptrs[1..n-1] repeat the one before: frames written into the
 * slot the frame just before them was read from. */
unsigned frt_repeats(void *const *ptrs, unsigned n);

/* A 4- or 8-byte field at p, loaded or stored atomically (relaxed): other
 * processes use these words concurrently. */
uint64_t frt_field_load(const uint8_t *p, unsigned size);
void frt_field_store(uint8_t *p, unsigned size, uint64_t v);

/* ---- in the test process (Criterion) ---------------------------------------- */

/*
 * The macros expand to Criterion's cr_* (or standalone.h's stand-ins); the
 * functions below them exist only where <criterion/criterion.h> was included
 * first.
 */

/* A framering call that must return 0. */
#define FRT_ASSERT_OK(expr)                                                          \
	do {                                                                         \
		int frt_rc_ = (expr);                                                \
		cr_assert_eq(frt_rc_, 0, "%s returned %d (%s)", #expr, frt_rc_,      \
			     fr_strerror(frt_rc_));                                  \
	} while (0)

/* A framering call that must return the (negative) error code err. */
#define FRT_ASSERT_ERR(expr, err)                                                    \
	do {                                                                         \
		int frt_rc_ = (expr);                                                \
		cr_assert_eq(frt_rc_, (err), "%s returned %d (%s), expected %d (%s)", \
			     #expr, frt_rc_, fr_strerror(frt_rc_), (err),            \
			     fr_strerror(err));                                      \
	} while (0)

/* A child that must exit 0 within the bound. */
#define FRT_ASSERT_CHILD(pid)                                                        \
	do {                                                                         \
		pid_t frt_pid_ = (pid);                                              \
		cr_assert_gt(frt_pid_, 0, "fork failed");                            \
		int frt_st_ = frt_wait(frt_pid_, FRT_BOUND_S);                       \
		cr_assert_eq(frt_st_, 0, "child %d ended with status %d", (int)frt_pid_, \
			     frt_st_);                                               \
	} while (0)

/* The one way to skip a test: cr_skip_test(reason, ...) unless cond holds. */
#define FRT_SKIP_UNLESS(cond, ...)                                                   \
	do {                                                                         \
		if (!(cond))                                                         \
			cr_skip_test(__VA_ARGS__);                                   \
	} while (0)

#ifdef CRITERION_H_

/* fr_create that must succeed: the handle. */
static inline struct fr_ring *frt_create_ok(const char *name, const struct fr_config *cfg)
{
	struct fr_ring *ring = NULL;
	FRT_ASSERT_OK(fr_create(name, cfg, &ring));
	cr_assert_not_null(ring);
	return ring;
}

/* fr_open that must succeed: the handle. */
static inline struct fr_ring *frt_open_ok(const char *name, unsigned flags)
{
	struct fr_ring *ring = NULL;
	FRT_ASSERT_OK(fr_open(name, flags, &ring));
	cr_assert_not_null(ring);
	return ring;
}

/* frt_spawn that must fork: the pid. */
static inline pid_t frt_spawn_ok(int (*fn)(void *arg), void *arg)
{
	pid_t pid = frt_spawn(fn, arg);
	cr_assert_gt(pid, 0, "fork failed");
	return pid;
}

/* fr_info that must succeed: the information. */
static inline struct fr_info frt_info_ok(struct fr_ring *ring)
{
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(ring, &info));
	return info;
}

/*
 * One frame through prod and cons at once (timeouts 0): claim, publish,
 * acquire, release. The seq the consumer got.
 */
static inline uint64_t frt_pass_one(struct fr_ring *prod, struct fr_ring *cons)
{
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	FRT_ASSERT_OK(fr_publish(prod, &f));
	FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
	FRT_ASSERT_OK(fr_release(cons, &f));
	return f.seq;
}

/*
 * Every configuration of bad[0..n) is refused with -EINVAL and leaves no
 * segment behind (expectations: one run lists every config that went wrong).
 */
static inline void frt_expect_create_einval(const struct fr_config *bad, size_t n,
					    const char *tag)
{
	for (size_t i = 0; i < n; i++) {
		char name[FRT_NAME_SIZE];
		frt_name(name, sizeof name, tag);
		struct fr_ring *ring = NULL;
		int rc = fr_create(name, &bad[i], &ring);
		cr_expect_eq(rc, -EINVAL, "config %zu: fr_create returned %d", i, rc);
		cr_expect_null(ring);
		if (rc == 0)
			fr_close(ring);
		struct fr_info info;
		cr_expect_eq(fr_stat(name, &info), -ENOENT, "config %zu left a segment", i);
	}
}

/* The bytes of a fresh segment of cfg (see frt_segment_image), which must work. */
static inline uint8_t *frt_segment_image_ok(const struct fr_config *cfg, size_t *len)
{
	uint8_t *img = frt_segment_image(cfg, len);
	cr_assert_not_null(img, "could not copy a fresh segment's bytes");
	return img;
}

/* frt_segment_write that must succeed. */
static inline void frt_segment_write_ok(char *name, const char *tag, const void *buf,
					size_t len)
{
	int rc = frt_segment_write(name, tag, buf, len);
	cr_assert_eq(rc, 0, "writing %zu bytes to /dev/shm%s: %s", len, name, strerror(-rc));
}

/* frt_view_open that must succeed. */
static inline void frt_view_open_ok(const char *name, int writable, struct frt_view *v)
{
	int rc = frt_view_open(name, writable, v);
	cr_assert_eq(rc, 0, "a view of %s: %d (%s)", name, rc, strerror(-rc));
}

#endif /* CRITERION_H_ */

#endif /* FRAMERING_TEST_HELPERS_H */
