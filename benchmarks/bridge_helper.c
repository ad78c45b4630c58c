/*
 * The C processes of benchmarks/bridge_bench.py (issue 14). One line of
 * results on stdout, "RESULT key=value ...".
 *
 *   bridge-helper camera NAME COUNT FPS [PATTERN_FRAMES]
 *       attach to segment NAME as producer and publish COUNT frames (0: until
 *       SIGTERM) at FPS (0: as fast as possible). Each frame gets its number
 *       in its first 8 bytes and the publish time as capture timestamp; with
 *       PATTERN_FRAMES the pixels are first copied from that many frames of
 *       tools/pattern.c drawn at start (content for JPEG), else untouched.
 *   bridge-helper sink NAME COUNT [lossy]
 *       consume COUNT frames (or until the end of the stream): frames/s from
 *       the first frame to the last; the frame numbers must go up (unless
 *       lossy: frames that went through JPEG).
 *   bridge-helper slow NAME SECONDS RATE
 *       a slow receiver: a latest consumer that takes the newest frame RATE
 *       times a second for SECONDS, "processing" it until the next tick; the
 *       age of each frame taken (now - capture timestamp): p50, p99, max, and
 *       the p99 of the first and of the last 10 s.
 *   bridge-helper push ENDPOINT BYTES COUNT [BUFFERS]
 *   bridge-helper pull ENDPOINT COUNT
 *       bare ZeroMQ PUSH (connects) and PULL (binds): COUNT messages of BYTES,
 *       default socket options, sent from BUFFERS buffers in turn (default 1:
 *       the same one, hot in the cache); pull reports frames/s from first to
 *       last.
 * Every wait is bounded (10 s without a frame is a failure, exit 1).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "framering.h"
#include "jpeg.h"
#include "pattern.h"

#define WAIT_MS 10000

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };

	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int die(const char *what, int err)
{
	fprintf(stderr, "bridge-helper: %s: %s\n", what, err < 0 ? fr_strerror(err) : "failed");
	return 1;
}

static int open_wait(const char *name, unsigned flags, struct fr_ring **ring)
{
	int rc = -ENOENT;

	for (int i = 0; i < WAIT_MS / 50 && !stop; i++) {
		if ((rc = fr_open(name, flags, ring)) != -ENOENT)
			return rc;
		struct timespec nap = { 0, 50 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	return rc;
}

static int camera(const char *name, uint64_t count, double fps, unsigned npattern)
{
	struct fr_ring *ring;
	struct fr_info info;
	unsigned char **frames = NULL;
	int rc;

	if ((rc = fr_open(name, FR_PRODUCER, &ring)) || (rc = fr_info(ring, &info)))
		return die("camera: open", rc);
	uint64_t bytes = info.frame_capacity;
	if (npattern) {
		frames = calloc(npattern, sizeof(*frames));
		for (unsigned k = 0; frames && k < npattern; k++) {
			if (!(frames[k] = malloc(bytes)))
				return die("camera: memory", -ENOMEM);
			struct fr_image img = { frames[k],   bytes,       info.width,
						info.height, info.stride, info.format };
			pattern_render(&img, k * 7);
		}
	}
	uint64_t period = fps > 0 ? (uint64_t)(1e9 / fps) : 0, due = now_ns(), n = 0;
	for (; !stop && (!count || n < count); n++) {
		struct fr_frame f;
		if (period)
			sleep_until(due += period);
		while ((rc = fr_claim(ring, &f, 200)) == -ETIMEDOUT || rc == -EAGAIN ||
		       rc == -EINTR)
			if (stop)
				break;
		if (stop)
			break;
		if (rc)
			return die("camera: claim", rc);
		if (frames)
			memcpy(f.data, frames[n % npattern], f.bytes);
		memcpy(f.data, &n, sizeof(n));
		if ((rc = fr_publish(ring, &f)))
			return die("camera: publish", rc);
	}
	fr_info(ring, &info);
	printf("RESULT frames=%" PRIu64 " producer_waits=%" PRIu64 "\n", n, info.producer_waits);
	fr_close(ring);
	return 0;
}

static int sink(const char *name, uint64_t count, bool lossy)
{
	struct fr_ring *ring;
	uint64_t n = 0, first = 0, last = 0, prev = 0;
	int rc;

	if ((rc = open_wait(name, FR_CONSUMER, &ring)))
		return die("sink: open", rc);
	while (!stop && n < count) {
		struct fr_frame f;
		rc = fr_acquire(ring, &f, WAIT_MS);
		if (rc == -EPIPE)
			break;
		if (rc)
			return die("sink: acquire", rc);
		uint64_t k;
		memcpy(&k, f.data, sizeof(k));
		fr_release(ring, &f);
		last = now_ns();
		if (!n)
			first = last;
		else if (!lossy && k <= prev)
			return die("sink: frame numbers do not go up", 0);
		prev = k;
		n++;
	}
	double sec = (double)(last - first) / 1e9;
	printf("RESULT frames=%" PRIu64 " fps=%.1f\n", n, n > 1 && sec > 0 ? (n - 1) / sec : 0.0);
	fr_close(ring);
	return n ? 0 : 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double quantile_ms(uint64_t *v, size_t n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	size_t i = (size_t)(q * (double)n);
	return (double)v[i < n ? i : n - 1] / 1e6;
}

static int slow(const char *name, double seconds, double rate)
{
	struct fr_ring *ring;
	size_t cap = (size_t)(seconds * rate) + 16, n = 0, nfirst = 0, nlast = 0;
	uint64_t *age = calloc(cap, sizeof(*age)), *first = calloc(cap, sizeof(*first));
	uint64_t *lastw = calloc(cap, sizeof(*lastw)), start, period = (uint64_t)(1e9 / rate);
	int rc;

	if (!age || !first || !lastw)
		return die("slow: memory", -ENOMEM);
	if ((rc = open_wait(name, FR_CONSUMER | FR_LATEST, &ring)))
		return die("slow: open", rc);
	start = now_ns();
	for (uint64_t due = start; !stop && now_ns() - start < (uint64_t)(seconds * 1e9);) {
		struct fr_frame f;
		rc = fr_acquire_ex(ring, &f, 1000, FR_ACQUIRE_NEWEST);
		if (rc == -ETIMEDOUT || rc == -EAGAIN)
			continue;
		if (rc)
			return die("slow: acquire", rc);
		uint64_t now = now_ns(), a = now > f.timestamp_ns ? now - f.timestamp_ns : 0;
		fr_release(ring, &f);
		double t = (double)(now - start) / 1e9;
		if (n < cap)
			age[n++] = a;
		if (t < 10 && nfirst < cap)
			first[nfirst++] = a;
		if (t >= seconds - 10 && nlast < cap)
			lastw[nlast++] = a;
		sleep_until(due += period); /* "processing" until the next tick */
	}
	struct fr_handle_stats hs;
	fr_handle_stats(ring, &hs);
	double p50 = quantile_ms(age, n, 0.5), p99 = quantile_ms(age, n, 0.99);
	double max = quantile_ms(age, n, 1.0);
	printf("RESULT frames=%zu age_p50_ms=%.2f age_p99_ms=%.2f age_max_ms=%.2f "
	       "first10_p99_ms=%.2f last10_p99_ms=%.2f skipped=%" PRIu64 "\n",
	       n, p50, p99, max, quantile_ms(first, nfirst, 0.99), quantile_ms(lastw, nlast, 0.99),
	       hs.dropped);
	fr_close(ring);
	free(age);
	free(first);
	free(lastw);
	return n ? 0 : 1;
}

static int push(const char *endpoint, size_t bytes, uint64_t count, unsigned nbuf)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PUSH);
	unsigned char **buf = calloc(nbuf, sizeof(*buf));
	int linger = 10000;

	for (unsigned k = 0; buf && k < nbuf; k++)
		if (!(buf[k] = malloc(bytes)))
			return die("push: memory", -ENOMEM);
		else
			memset(buf[k], (int)k, bytes); /* resident, as a camera's frames are */
	if (!buf || !s || zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) ||
	    zmq_connect(s, endpoint))
		return die("push: socket", 0);
	for (uint64_t n = 0; n < count && !stop; n++) {
		memcpy(buf[n % nbuf], &n, sizeof(n));
		if (zmq_send(s, buf[n % nbuf], bytes, 0) < 0)
			return die("push: send", 0);
	}
	printf("RESULT frames=%" PRIu64 "\n", count);
	zmq_close(s);
	zmq_ctx_term(ctx);
	for (unsigned k = 0; k < nbuf; k++)
		free(buf[k]);
	free(buf);
	return 0;
}

static int pull(const char *endpoint, uint64_t count)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PULL);
	int timeout = WAIT_MS, linger = 0;
	uint64_t n = 0, first = 0, last = 0;

	if (!s || zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout)) ||
	    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) || zmq_bind(s, endpoint))
		return die("pull: socket", 0);
	printf("READY\n");
	fflush(stdout);
	while (n < count && !stop) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) < 0)
			return die("pull: no message", 0);
		zmq_msg_close(&m);
		last = now_ns();
		if (!n++)
			first = last;
	}
	double sec = (double)(last - first) / 1e9;
	printf("RESULT frames=%" PRIu64 " fps=%.1f\n", n, n > 1 && sec > 0 ? (n - 1) / sec : 0.0);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *cmd = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "camera") && argc >= 5)
		return camera(argv[2], strtoull(argv[3], NULL, 10), atof(argv[4]),
			      argc > 5 ? (unsigned)atoi(argv[5]) : 0);
	if (!strcmp(cmd, "sink") && argc >= 4)
		return sink(argv[2], strtoull(argv[3], NULL, 10),
			    argc > 4 && !strcmp(argv[4], "lossy"));
	if (!strcmp(cmd, "slow") && argc == 5)
		return slow(argv[2], atof(argv[3]), atof(argv[4]));
	if (!strcmp(cmd, "push") && argc >= 5)
		return push(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
			    argc > 5 && atoi(argv[5]) > 0 ? (unsigned)atoi(argv[5]) : 1);
	if (!strcmp(cmd, "pull") && argc == 4)
		return pull(argv[2], strtoull(argv[3], NULL, 10));
	fprintf(stderr, "usage: see the top of benchmarks/bridge_helper.c\n");
	return 2;
}
