/*
 * framering-pingpong: the SPSC hand-off at its smallest, for A/B comparisons
 * of the library's per-frame path (framering-bench measures the transports
 * against each other; this isolates one ring).
 *
 *   framering-pingpong BYTES [ROUND_TRIPS]   two processes on CPUs 0 and 1,
 *       both busy-waiting: a frame of BYTES capacity (40 bytes written) out
 *       through one SPSC ring, its counter back through a 64-byte one;
 *       prints round-trip percentiles (two CLOCK_MONOTONIC reads included)
 *   framering-pingpong --one-thread BYTES [FRAMES]   one thread claims,
 *       publishes, acquires and releases on one ring: the library's own
 *       instructions per frame, no cache line crossing cores
 *
 * Run several times, alternating the builds compared: the VM's cross-core
 * latency moves between runs (see README, Performance).
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <framering.h>

#define WARMUP 1000u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set); /* best effort: one CPU is enough */
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "framering-pingpong: %s: %s\n", what, fr_strerror(rc));
	return 1;
}

/* Claim, write @v into the first 8 bytes (40 bytes written in all), publish. */
static int send_u64(struct fr_ring *r, uint64_t v)
{
	struct fr_frame f;
	int rc = fr_claim(r, &f, -1);
	if (rc)
		return rc;
	memset(f.data, 0, 40);
	memcpy(f.data, &v, sizeof(v));
	f.bytes = 40;
	return fr_publish(r, &f);
}

/* Acquire, read the first 8 bytes into *v, release. */
static int recv_u64(struct fr_ring *r, uint64_t *v)
{
	struct fr_frame f;
	int rc = fr_acquire(r, &f, -1);
	if (rc)
		return rc;
	memcpy(v, f.data, sizeof(*v));
	return fr_release(r, &f);
}

static int one_thread(uint64_t bytes, unsigned frames)
{
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 4, .frame_bytes = bytes,
				.flags = FR_CREATE_ANONYMOUS};
	struct fr_ring *p, *c;
	int rc = fr_create("/fr-pingpong-one-thread", &cfg, &p); /* a label only */
	if (rc)
		return fail("fr_create", rc);
	if ((rc = fr_open_from(p, FR_CONSUMER, &c)))
		return fail("fr_open_from", rc);
	for (int round = 0; round < 3; round++) {
		uint64_t t0 = now_ns(), v;
		for (unsigned i = 0; i < frames; i++)
			if ((rc = send_u64(p, i)) || (rc = recv_u64(c, &v)))
				return fail("hand-off", rc);
		printf("%" PRIu64 " B, one thread: %.1f ns per claim+publish+acquire+release\n",
		       bytes, (double)(now_ns() - t0) / frames);
	}
	fr_close(c);
	fr_close(p);
	return 0;
}

static int two_processes(uint64_t bytes, unsigned trips)
{
	char data[64], ack[64];
	snprintf(data, sizeof(data), "/fr-pingpong-%d-data", (int)getpid());
	snprintf(ack, sizeof(ack), "/fr-pingpong-%d-ack", (int)getpid());
	struct fr_config dcfg = {.mode = FR_SPSC, .slots = 4, .frame_bytes = bytes};
	struct fr_config acfg = {.mode = FR_SPSC, .slots = 4, .frame_bytes = 64};
	struct fr_ring *dp, *ac, *creator;
	int rc = fr_create(data, &dcfg, &dp);
	if (rc)
		return fail("fr_create (data)", rc);
	if ((rc = fr_create(ack, &acfg, &creator))) {
		fr_unlink(data);
		return fail("fr_create (ack)", rc);
	}
	fr_close(creator); /* the child produces acks */
	pid_t pid = fork();
	if (pid == 0) {
		pin(1);
		struct fr_ring *dc, *ap;
		if (fr_open(data, FR_CONSUMER, &dc) || fr_open(ack, FR_PRODUCER, &ap))
			_exit(1);
		fr_set_spin(dc, -1);
		fr_set_spin(ap, -1);
		for (unsigned i = 0; i < trips + WARMUP; i++) {
			uint64_t v;
			if (recv_u64(dc, &v) || send_u64(ap, v))
				_exit(1);
		}
		fr_close(dc);
		fr_close(ap);
		_exit(0);
	}
	uint64_t *rtt = malloc(trips * sizeof(*rtt));
	rc = pid < 0 ? -errno : rtt ? fr_open(ack, FR_CONSUMER, &ac) : -ENOMEM;
	if (rc == 0) {
		pin(0);
		fr_set_spin(dp, -1);
		fr_set_spin(ac, -1);
		for (unsigned i = 0; i < trips + WARMUP && rc == 0; i++) {
			uint64_t t0 = now_ns(), v = 0;
			rc = send_u64(dp, i);
			if (rc == 0)
				rc = recv_u64(ac, &v);
			if (rc == 0 && v != i)
				rc = -EPROTO;
			if (i >= WARMUP)
				rtt[i - WARMUP] = now_ns() - t0;
		}
		fr_close(ac);
	}
	fr_close(dp);
	int status = 0;
	if (pid > 0)
		waitpid(pid, &status, 0);
	fr_unlink(data);
	fr_unlink(ack);
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		rc = -ECHILD;
	if (rc) {
		free(rtt);
		return fail("ping-pong", rc);
	}
	qsort(rtt, trips, sizeof(*rtt), cmp_u64);
	printf("%" PRIu64 " B: round trip p10 %" PRIu64 " ns, p50 %" PRIu64 " ns, p90 %" PRIu64
	       " ns (%u round trips)\n",
	       bytes, rtt[trips / 10], rtt[trips / 2], rtt[trips * 9 / 10], trips);
	free(rtt);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: framering-pingpong BYTES [ROUND_TRIPS]\n"
		   "       framering-pingpong --one-thread BYTES [FRAMES]\n"
		   "  BYTES         frame capacity (256 KiB and up: the large-frame path)\n"
		   "  ROUND_TRIPS   default 300000; FRAMES default 5000000\n");
}

/* A positive number within @max, or 0. */
static uint64_t number(const char *s, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	return errno || *end || s[0] == '-' || v == 0 || v > max ? 0 : (uint64_t)v;
}

int main(int argc, char **argv)
{
	int one = argc > 1 && strcmp(argv[1], "--one-thread") == 0;
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 + one || argc > 3 + one) {
		usage(stderr);
		return 2;
	}
	uint64_t bytes = number(argv[1 + one], UINT64_C(1) << 32);
	uint64_t n = argc > 2 + one ? number(argv[2 + one], 100000000) : one ? 5000000 : 300000;
	if (!bytes || !n) {
		fprintf(stderr, "framering-pingpong: BYTES and the count must be positive numbers\n");
		return 2;
	}
	return one ? one_thread(bytes, (unsigned)n) : two_processes(bytes, (unsigned)n);
}
