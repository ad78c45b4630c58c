/*
 * fr_fd(): an event loop waits on the handle's fd instead of in fr_acquire /
 * fr_claim, across processes, in every mode.
 *
 * The consumer only ever calls fr_acquire(…, 0) and epoll_wait(). The
 * producer pauses at random, never longer than PAUSE_MAX_MS, and the
 * consumer's epoll_wait waits up to EPOLL_WAIT_MS: an epoll_wait that times
 * out therefore means a wake-up was lost (the frame or the end of stream was
 * there and nobody said so). Every such timeout is counted; there must be
 * none, and every frame must arrive intact and in order.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"

TestSuite(pollfd, .fini = frt_cleanup, .timeout = 280);

#define EPOLL_WAIT_MS 3000 /* far longer than any pause: a timeout is a lost wake-up */
#define PAUSE_MAX_MS 20
#define FRAME_MIN 64
#define FRAME_MAX 1024

struct report {
	_Atomic uint64_t frames;
	_Atomic uint64_t timeouts;   /* epoll_wait that waited EPOLL_WAIT_MS for nothing */
	_Atomic uint64_t wakeups;    /* epoll_wait that returned the fd readable */
	_Atomic uint64_t spurious;   /* ... after which the first try found nothing */
	_Atomic int ended;           /* -EPIPE seen */
	_Atomic int opened;
};

struct pcfg {
	const char *name;
	uint64_t count;
	unsigned flags;   /* consumer open flags */
	struct report *rep;
};

/* Wait on @ep for @fd; returns 1 readable, 0 timed out. */
static int wait_readable(int ep, int bound_ms)
{
	struct epoll_event ev;
	for (;;) {
		int n = epoll_wait(ep, &ev, 1, bound_ms);
		if (n < 0 && errno == EINTR)
			continue;
		FRT_CHILD_CHECKF(n >= 0, "epoll_wait: %s", strerror(errno));
		return n;
	}
}

static int epoll_for(int fd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	FRT_CHILD_CHECK(ep >= 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	FRT_CHILD_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	return ep;
}

/* An event-loop consumer: non-blocking acquires until -EAGAIN, then epoll. */
static int poll_consumer(void *arg)
{
	struct pcfg *c = arg;
	struct fr_ring *ring;
	FRT_CHILD_OK(fr_open(c->name, FR_CONSUMER | c->flags, &ring));
	int fd = fr_fd(ring);
	FRT_CHILD_CHECKF(fd >= 0, "fr_fd: %d (%s)", fd, fr_strerror(fd));
	FRT_CHILD_CHECK(fr_fd(ring) == fd); /* the same fd every time */
	int ep = epoll_for(fd);
	atomic_store(&c->rep->opened, 1);
	uint64_t next = 0;
	for (;;) {
		/* The contract: drain with timeout 0 until -EAGAIN, then wait. */
		bool got_any = false;
		for (;;) {
			struct fr_frame f;
			int rc = fr_acquire(ring, &f, 0);
			if (rc == -EAGAIN)
				break;
			if (rc == -EPIPE) {
				atomic_store(&c->rep->ended, 1);
				FRT_CHILD_CHECKF(next == c->count, "end of stream after %lu of %lu",
						 (unsigned long)next, (unsigned long)c->count);
				close(ep);
				fr_close(ring);
				return 0;
			}
			FRT_CHILD_CHECKF(rc == 0, "fr_acquire(0): %d (%s)", rc, fr_strerror(rc));
			uint64_t id, sum;
			FRT_CHILD_CHECKF(frt_verify(f.data, f.bytes, &id, &sum) == 0,
					 "frame seq %lu corrupt", (unsigned long)f.seq);
			FRT_CHILD_CHECKF(id == next && f.seq == next,
					 "got id %lu seq %lu, want %lu", (unsigned long)id,
					 (unsigned long)f.seq, (unsigned long)next);
			next++;
			got_any = true;
			FRT_CHILD_OK(fr_release(ring, &f));
			atomic_store(&c->rep->frames, next);
		}
		if (!got_any && atomic_load(&c->rep->wakeups))
			atomic_fetch_add(&c->rep->spurious, 1);
		if (wait_readable(ep, EPOLL_WAIT_MS))
			atomic_fetch_add(&c->rep->wakeups, 1);
		else
			atomic_fetch_add(&c->rep->timeouts, 1);
		FRT_CHILD_CHECKF(atomic_load(&c->rep->timeouts) < 3,
				 "epoll_wait timed out 3 times with frames pending (after %lu)",
				 (unsigned long)next);
	}
}

/* Publish @count frames with random pauses, then close (end of stream). */
static void produce_with_pauses(struct fr_ring *prod, uint64_t count, uint64_t seed)
{
	for (uint64_t id = 0; id < count; id++) {
		struct fr_frame f;
		FRT_ASSERT_OK(fr_claim(prod, &f, 10000));
		uint64_t len = frt_frame_len(id, FRAME_MIN, FRAME_MAX);
		frt_fill(f.data, len, id);
		f.bytes = len;
		FRT_ASSERT_OK(fr_publish(prod, &f));
		seed = frt_mix64(seed);
		if (seed % 4096 == 0)
			/* the consumer sleeps */
			frt_sleep_ms((long)(seed >> 32) % PAUSE_MAX_MS + 1);
		else if (seed % 64 == 0)
			frt_sleep_us((long)((seed >> 40) % 200)); /* the consumer about to sleep */
	}
}

static void run_epoll_stream(uint32_t mode, uint32_t slots, uint64_t count, unsigned flags)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = mode, .slots = slots, .frame_bytes = FRAME_MAX};
	struct fr_ring *prod = frt_create_ok(frt_name(name, sizeof name, "poll"), &cfg);
	struct report *rep = frt_shared_alloc(sizeof *rep);
	cr_assert(rep);
	struct pcfg c = {.name = name, .count = count, .flags = flags, .rep = rep};
	pid_t pid = frt_spawn(poll_consumer, &c);
	cr_assert_gt(pid, 0);
	for (int i = 0; i < FRT_BOUND_S * 100 && !atomic_load(&rep->opened); i++)
		frt_sleep_ms(10);
	cr_assert(atomic_load(&rep->opened), "the consumer never attached");
	produce_with_pauses(prod, count, mode * 7919u + slots);
	fr_close(prod);
	FRT_ASSERT_CHILD(pid);
	cr_log_info("mode %u: %lu frames through epoll, %lu wake-ups (%lu spurious), %lu timeouts",
		    mode, (unsigned long)atomic_load(&rep->frames),
		    (unsigned long)atomic_load(&rep->wakeups),
		    (unsigned long)atomic_load(&rep->spurious),
		    (unsigned long)atomic_load(&rep->timeouts));
	cr_assert_eq(atomic_load(&rep->frames), count);
	cr_assert_eq(atomic_load(&rep->timeouts), 0, "%lu epoll_wait timed out with work pending",
		     (unsigned long)atomic_load(&rep->timeouts));
	cr_assert(atomic_load(&rep->ended));
	frt_shared_free(rep, sizeof *rep);
}

Test(pollfd, spsc_epoll_consumer_200k_frames)
{
	run_epoll_stream(FR_SPSC, 8, 200000, 0);
}

Test(pollfd, mpmc_epoll_consumer)
{
	run_epoll_stream(FR_MPMC, 8, 50000, 0);
}

Test(pollfd, broadcast_epoll_consumer)
{
	run_epoll_stream(FR_BROADCAST, 8, 50000, 0);
}

/* Producer side: on a full ring, claim(0) fails and arms; a consumer's release wakes it. */
static int slow_release_main(void *arg)
{
	const char *name = arg;
	struct fr_ring *ring;
	FRT_CHILD_OK(fr_open(name, FR_CONSUMER, &ring));
	frt_sleep_ms(50); /* let the producer arm and sleep in epoll_wait */
	struct fr_frame f;
	FRT_CHILD_OK(fr_acquire(ring, &f, 5000));
	FRT_CHILD_OK(fr_release(ring, &f));
	frt_sleep_ms(200); /* stay attached while the producer claims */
	fr_close(ring);
	return 0;
}

Test(pollfd, epoll_producer_woken_by_release)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 4, .frame_bytes = 256};
	struct fr_ring *prod = frt_create_ok(frt_name(name, sizeof name, "pollp"), &cfg);
	int fd = fr_fd(prod);
	cr_assert_geq(fd, 0, "fr_fd: %d", fd);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	struct fr_frame f;
	for (int i = 0; i < 4; i++) {
		FRT_ASSERT_OK(fr_claim(prod, &f, 0));
		FRT_ASSERT_OK(fr_publish(prod, &f));
	}
	FRT_ASSERT_ERR(fr_claim(prod, &f, 0), -EAGAIN); /* full: armed */
	/* Drain readiness left from before arming; it must come back only on a release. */
	pid_t pid = frt_spawn(slow_release_main, name);
	cr_assert_gt(pid, 0);
	int claimed = 0;
	for (int round = 0; round < 20 && !claimed; round++) {
		int n = epoll_wait(ep, &ev, 1, EPOLL_WAIT_MS);
		cr_assert_eq(n, 1, "epoll_wait timed out: the release woke nobody");
		int rc = fr_claim(prod, &f, 0);
		if (rc == 0)
			claimed = 1;
		else
			cr_assert_eq(rc, -EAGAIN, "fr_claim: %d", rc);
	}
	cr_assert(claimed, "readable 20 times, never a free slot");
	FRT_ASSERT_OK(fr_cancel(prod, &f));
	FRT_ASSERT_CHILD(pid);
	close(ep);
	fr_close(prod);
}

/* End of stream makes a polling consumer's fd readable; fr_acquire then says -EPIPE. */
Test(pollfd, end_of_stream_wakes_poller)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = FR_MPMC, .slots = 4, .frame_bytes = 256};
	struct fr_ring *prod = frt_create_ok(frt_name(name, sizeof name, "polleos"), &cfg);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	FRT_ASSERT_OK(fr_publish(prod, &f));
	int fd = fr_fd(cons);
	cr_assert_geq(fd, 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	cr_assert_eq(epoll_wait(ep, &ev, 1, EPOLL_WAIT_MS), 1, "a new fd starts readable");
	FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
	FRT_ASSERT_OK(fr_release(cons, &f));
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EAGAIN); /* armed */
	fr_close(prod); /* the last producer of a stream that published: the end */
	cr_assert_eq(epoll_wait(ep, &ev, 1, EPOLL_WAIT_MS), 1, "end of stream woke nobody");
	FRT_ASSERT_ERR(fr_acquire(cons, &f, 0), -EPIPE);
	close(ep);
	fr_close(cons);
}

static int child_fd_main(void *arg)
{
	struct fr_ring *inherited = arg;
	int rc = fr_fd(inherited);
	FRT_CHILD_CHECKF(rc == -ECHILD, "fr_fd on an inherited handle: %d", rc);
	return 0;
}

Test(pollfd, inherited_handle_has_no_fd)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 4, .frame_bytes = 256};
	struct fr_ring *prod = frt_create_ok(frt_name(name, sizeof name, "pollfork"), &cfg);
	cr_assert_geq(fr_fd(prod), 0);
	FRT_ASSERT_CHILD(frt_spawn(child_fd_main, prod));
	FRT_ASSERT_ERR(fr_fd(NULL), -EINVAL);
	fr_close(prod);
}
