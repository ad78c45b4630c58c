/*
 * framering-pypeer: a C producer or consumer for the Python binding's tests and
 * benchmark, so that Python meets C on both sides of a segment.
 *
 *   framering-pypeer produce NAME COUNT        frame i: pseudo-random bytes seeded by i;
 *                                              prints "seq checksum" for each
 *   framering-pypeer consume NAME COUNT        up to COUNT frames or the end of stream;
 *                                              prints "seq checksum flags" for each
 *   framering-pypeer poke NAME OFFSET VALUE    one frame of zeros with VALUE at OFFSET
 *   framering-pypeer peek NAME OFFSET          prints the byte at OFFSET of one frame
 *   framering-pypeer bench-produce NAME SECONDS   frames with a 64-byte header (counter,
 *                                              timestamp) for SECONDS, then close
 *   framering-pypeer bench-consume NAME WARMUP    checks every counter until the end of
 *                                              stream; prints "frames seconds" after WARMUP
 *
 * checksum: the sum over the frame's bytes b[j] of b[j] * (j + 1), modulo 2^64,
 * in hexadecimal. Exit status 0, or 1 with a message on stderr.
 */
#include <errno.h>
#include <framering.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_MS 10000 /* a test fails rather than hangs */

static int fail(const char *what, int rc)
{
	fprintf(stderr, "framering-pypeer: %s: %s\n", what, fr_strerror(rc));
	return 1;
}

static uint64_t checksum(const unsigned char *p, uint64_t n)
{
	uint64_t s = 0;
	for (uint64_t j = 0; j < n; j++)
		s += (uint64_t)p[j] * (j + 1);
	return s;
}

static void fill(unsigned char *p, uint64_t n, uint64_t seq)
{
	uint64_t x = seq * UINT64_C(0x9e3779b97f4a7c15) + 1;
	for (uint64_t j = 0; j < n; j += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + j, &x, n - j < 8 ? n - j : 8);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int produce(struct fr_ring *r, long count)
{
	for (long i = 0; i < count; i++) {
		struct fr_frame f;
		int rc = fr_claim(r, &f, WAIT_MS);
		if (rc < 0)
			return fail("claim", rc);
		fill(f.data, f.bytes, (uint64_t)i);
		uint64_t sum = checksum(f.data, f.bytes);
		if ((rc = fr_publish(r, &f)) < 0)
			return fail("publish", rc);
		printf("%" PRIu64 " %016" PRIx64 "\n", f.seq, sum);
	}
	return 0;
}

static int consume(struct fr_ring *r, long count)
{
	for (long i = 0; i < count; i++) {
		struct fr_frame f;
		int rc = fr_acquire(r, &f, WAIT_MS);
		if (rc == -EPIPE)
			break;
		if (rc < 0)
			return fail("acquire", rc);
		printf("%" PRIu64 " %016" PRIx64 " %u\n", f.seq, checksum(f.data, f.bytes),
		       f.flags);
		if ((rc = fr_release(r, &f)) < 0)
			return fail("release", rc);
	}
	return 0;
}

static int poke(struct fr_ring *r, uint64_t offset, unsigned value)
{
	struct fr_frame f;
	int rc = fr_claim(r, &f, WAIT_MS);
	if (rc < 0)
		return fail("claim", rc);
	if (offset >= f.capacity) {
		fr_cancel(r, &f);
		return fail("poke", -EINVAL);
	}
	memset(f.data, 0, f.bytes);
	((unsigned char *)f.data)[offset] = (unsigned char)value;
	if ((rc = fr_publish(r, &f)) < 0)
		return fail("publish", rc);
	return 0;
}

static int peek(struct fr_ring *r, uint64_t offset)
{
	struct fr_frame f;
	int rc = fr_acquire(r, &f, WAIT_MS);
	if (rc < 0)
		return fail("acquire", rc);
	if (offset >= f.capacity) {
		fr_release(r, &f);
		return fail("peek", -EINVAL);
	}
	printf("%u\n", ((const unsigned char *)f.data)[offset]);
	if ((rc = fr_release(r, &f)) < 0)
		return fail("release", rc);
	return 0;
}

static int bench_produce(struct fr_ring *r, double seconds)
{
	double end = now_s() + seconds;
	uint64_t n = 0;
	int rc = 0;
	while (now_s() < end) {
		struct fr_frame f;
		if ((rc = fr_claim(r, &f, WAIT_MS)) < 0)
			return fail("claim", rc);
		uint64_t head[8] = { n, (uint64_t)(now_s() * 1e9) };
		memcpy(f.data, head, sizeof(head));
		if ((rc = fr_publish(r, &f)) < 0)
			return fail("publish", rc);
		n++;
	}
	printf("%" PRIu64 "\n", n);
	return 0;
}

static int bench_consume(struct fr_ring *r, long warmup)
{
	uint64_t n = 0;
	double t0 = 0, t1 = 0;
	for (;;) {
		struct fr_frame f;
		int rc = fr_acquire(r, &f, WAIT_MS);
		if (rc == -EPIPE)
			break;
		if (rc < 0)
			return fail("acquire", rc);
		uint64_t counter;
		memcpy(&counter, f.data, sizeof(counter));
		if ((rc = fr_release(r, &f)) < 0)
			return fail("release", rc);
		if (counter != n) {
			fprintf(stderr,
				"framering-pypeer: frame %" PRIu64 " carries counter %" PRIu64 "\n",
				n, counter);
			return 1;
		}
		n++;
		if (n == (uint64_t)warmup)
			t0 = now_s();
		t1 = now_s();
	}
	if (n <= (uint64_t)warmup) {
		fprintf(stderr, "framering-pypeer: only %" PRIu64 " frames\n", n);
		return 1;
	}
	printf("%" PRIu64 " %.9f\n", n - (uint64_t)warmup, t1 - t0);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: framering-pypeer produce|consume NAME COUNT | poke NAME OFFSET "
			"VALUE | peek NAME OFFSET\n"
			"       | bench-produce NAME SECONDS | bench-consume NAME WARMUP\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	const char *cmd = argv[1], *name = argv[2];
	bool producer = strcmp(cmd, "produce") == 0 || strcmp(cmd, "poke") == 0 ||
			strcmp(cmd, "bench-produce") == 0;
	struct fr_ring *r;
	int rc = fr_open(name, producer ? FR_PRODUCER : FR_CONSUMER, &r);
	if (rc < 0)
		return fail("open", rc);
	int status;
	if (strcmp(cmd, "produce") == 0)
		status = produce(r, atol(argv[3]));
	else if (strcmp(cmd, "consume") == 0)
		status = consume(r, atol(argv[3]));
	else if (strcmp(cmd, "poke") == 0 && argc == 5)
		status = poke(r, strtoull(argv[3], NULL, 0), (unsigned)atoi(argv[4]));
	else if (strcmp(cmd, "peek") == 0)
		status = peek(r, strtoull(argv[3], NULL, 0));
	else if (strcmp(cmd, "bench-produce") == 0)
		status = bench_produce(r, atof(argv[3]));
	else if (strcmp(cmd, "bench-consume") == 0)
		status = bench_consume(r, atol(argv[3]));
	else
		status = usage();
	fr_close(r); /* a producer's close ends the stream */
	fflush(stdout);
	return status;
}
