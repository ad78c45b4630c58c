/*
 * Shared helpers for the core library tests: unique segment names, child
 * processes that cannot hang a test, shared result memory, payload patterns.
 *
 * Children created with frt_spawn() never call Criterion assertions: they
 * report through their exit status (FRT_CHILD_CHECK prints what failed and
 * exits non-zero) and the parent asserts on it.
 */
#ifndef FRAMERING_TEST_HELPERS_H
#define FRAMERING_TEST_HELPERS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <framering.h>

/* Hang guard for anything a test waits on (children, barriers), in seconds. */
#define FRT_BOUND_S 120

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

/* ---- child processes ------------------------------------------------------ */

/*
 * fork(); the child runs fn(arg) and _exit()s with its return value. The
 * child dies with SIGKILL if the test process goes away. Returns the pid, or
 * -1 when fork failed.
 */
pid_t frt_spawn(int (*fn)(void *arg), void *arg);

/*
 * Wait for a child for at most bound_s seconds. Returns its exit status, 128 +
 * signal number when a signal killed it, or -1 when the bound passed (the
 * child is then killed and reaped) or waitpid failed.
 */
int frt_wait(pid_t pid, int bound_s);

/* frt_wait() without waiting: the status when the child ended, else -1. */
int frt_try_wait(pid_t pid);

/* Kill (SIGKILL) and reap a child; ignores errors. */
void frt_kill(pid_t pid);

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
 * Run ...children to completion: wait for each pid in order with the shared
 * bound; returns 0 when all exited 0, otherwise the first bad status (see
 * frt_wait), killing the rest.
 */
int frt_wait_all(const pid_t *pids, int count, int bound_s);

/*
 * Wait until process pid sleeps in a futex wait (state 'S' with a futex wait
 * channel, seen several times in a row). Returns 0, or -1 after bound_s
 * seconds or when the process is gone.
 */
int frt_wait_futex_sleep(pid_t pid, int bound_s);

/* 'R', 'S', ... for a process, or 0 when it is gone. */
char frt_proc_state(pid_t pid);

/* Sleep for ms milliseconds (pacing polls, never for correctness). */
void frt_sleep_ms(long ms);

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

/* ---- assertions in the test process (Criterion) --------------------------- */

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

/* ---- forced interleavings (a peer stopped at a hook point) ---------------- */

/*
 * A child armed with fr_test_hook_arm_action(point, n, FR_TEST_STOP) stops
 * itself there; the parent sees it with waitpid(WUNTRACED). Wait at most
 * bound_s seconds until child pid is stopped or has ended. Returns 0 when it
 * is stopped; 1 when it ended first (it is then reaped: *status, if not NULL,
 * gets its status as frt_wait reports it); -1 when the bound passed (the child
 * is left as it is) or waitpid failed.
 */
int frt_wait_stopped(pid_t pid, int bound_s, int *status);

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

#endif /* FRAMERING_TEST_HELPERS_H */
