/*
 * framering-bench: frames/s, GB/s and one-way latency of framering against
 * pipes, unix sockets, TCP on 127.0.0.1 and iceoryx, measured in one run on
 * the same machine. See benchmarks/run.sh and the Performance section of
 * README.md.
 *
 * Each measurement forks one producer and 1..3 consumer processes, pinned to
 * different CPUs when there are at least two. The pair then runs:
 *   1. warm-up: a few acknowledged frames (page faults, connections);
 *   2. ping-pong: the producer sends one frame and waits for the consumer's
 *      acknowledgement; one-way latency = round trip / 2;
 *   3. streaming: the producer sends frames as fast as the transport takes
 *      them for a fixed time; frames/s = frames received / elapsed.
 * The consumer checks every frame (magic, consecutive counter, and in the
 * touch workload the sum of every 64-bit word); any mismatch fails the run.
 */
#include "bench.h"
#include "frame.h"
#include "stats.h"

#include "framering.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- what is measured ------------------------------------------------------ */

struct size_def {
	const char *label;
	size_t bytes;
};

static const struct size_def sizes[] = {
	{"64B", 64},
	{"640x480x3", 640u * 480u * 3u},
	{"1920x1080x3", 1920u * 1080u * 3u},
	{"3840x2160x3", 3840u * 2160u * 3u},
};
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

static const char *const workloads[] = {"handoff", "touch"};
#define NWORKLOADS 2

struct variant {
	const char *name;
	const struct bench_transport *tp;
	int mode;
	int consumers;
	int wait;
	int handoff_only; /* wait-strategy variants: handoff workload only */
	int idle;         /* included in the idle-consumer CPU test */
	unsigned slots;   /* framering ring slots; 0 = 4 */
};

static const struct variant variants[] = {
	{"framering-spsc", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"framering-spsc+spin", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_SPIN, 1, 0, 0},
	{"framering-spsc+futex", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_BLOCK, 1, 1, 0},
	/* 2 slots: half the memory in flight (2 x 6 MB at 1920x1080x3) */
	{"framering-spsc-2slots", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_DEFAULT, 0, 0, 2},
	{"framering-mpmc", &bench_tp_framering, FR_MPMC, 1, BENCH_WAIT_DEFAULT, 0, 0, 0},
	{"framering-broadcast-1", &bench_tp_framering, FR_BROADCAST, 1, BENCH_WAIT_DEFAULT, 0, 0, 0},
	{"framering-broadcast-3", &bench_tp_framering, FR_BROADCAST, 3, BENCH_WAIT_DEFAULT, 0, 0, 0},
	/* the physical floor: one buffer, three counters, both sides spinning */
	{"floor-spin", &bench_tp_floor, 0, 1, BENCH_WAIT_SPIN, 1, 0, 0},
	{"pipe", &bench_tp_pipe, 0, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"unix", &bench_tp_unix, 0, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"tcp", &bench_tp_tcp, 0, 1, BENCH_WAIT_DEFAULT, 0, 0, 0},
#ifdef BENCH_HAVE_ICEORYX
	{"iceoryx", &bench_tp_iceoryx, 0, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"iceoryx+spin", &bench_tp_iceoryx, 0, 1, BENCH_WAIT_SPIN, 1, 0, 0},
#endif
};
#define NVARIANTS ((int)(sizeof(variants) / sizeof(variants[0])))

struct params {
	int quick;
	int reps;
	double warm_s, lat_s, tput_s;
	uint64_t min_lat, min_tput, warm_frames;
	int idle_ms;
	int no_iceoryx;
	const char *only;
	const char *size;
	const char *csv;
	const char *idle_csv;
};

static struct params P;

/* ---- shared control block between the parent and its children ------------- */

#define LAT_MAX 200000u

struct ctl {
	_Atomic int prod_ready;
	_Atomic int cons_ready;
	_Atomic int cons_done;
	_Atomic int prod_done;
	_Atomic int abort;
	_Atomic int msg_taken;
	char msg[320];
	uint64_t t_start;
	uint64_t sent;
	uint64_t t_end[BENCH_MAX_CONSUMERS];
	uint64_t frames[BENCH_MAX_CONSUMERS];
	uint64_t lat_n;
	double lat_p50, lat_p99, lat_p999; /* microseconds, one way */
	double idle_cpu_s[BENCH_MAX_CONSUMERS];
	double idle_wall_s[BENCH_MAX_CONSUMERS];
	/* where each process is, for the message when a run hangs; one line each,
	 * written only by its own process */
	struct {
		_Alignas(128) volatile int phase;
		volatile uint64_t frames;
	} where[1 + BENCH_MAX_CONSUMERS];
};

enum { PH_START, PH_OPEN, PH_CONNECT, PH_WARMUP, PH_PING, PH_STREAM, PH_DRAIN, PH_IDLE, PH_DONE };
static const char *const phase_names[] = {"start", "open", "connect", "warm-up", "ping-pong",
					  "streaming", "waiting for the consumers", "idle wait",
					  "done"};

static void ctl_fail(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ctl_fail(struct ctl *c, const char *fmt, ...)
{
	int expected = 0;
	if (atomic_compare_exchange_strong(&c->msg_taken, &expected, 1)) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
		va_end(ap);
	}
	atomic_store(&c->abort, 1);
}

/* Wait until *v >= target. 0, or -ECANCELED when the run aborted, -ETIMEDOUT. */
static int ctl_wait(struct ctl *c, _Atomic int *v, int target)
{
	uint64_t deadline = bench_now_ns() + 20000000000ull;
	struct timespec ts = {0, 20000};
	while (atomic_load(v) < target) {
		if (atomic_load(&c->abort))
			return -ECANCELED;
		if (bench_now_ns() > deadline)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* ---- the producer and consumer processes ----------------------------------- */

static void pin_to(int cpu)
{
	cpu_set_t set;
	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

static int send_frame(struct bench_ep *e, uint64_t counter, uint64_t flags)
{
	const struct bench_run *r = e->run;
	void *buf;
	int rc = r->tp->claim(e, &buf);
	if (rc)
		return rc;
	frame_fill(buf, r->frame_bytes, counter, flags, r->touch);
	return r->tp->publish(e);
}

static int collect_acks(struct bench_ep *e, struct ctl *c, uint64_t counter)
{
	for (int i = 0; i < e->run->consumers; i++) {
		uint64_t got;
		int rc = e->run->tp->ack_wait(e, &got);
		if (rc) {
			ctl_fail(c, "ack: %s", strerror(-rc));
			return rc;
		}
		if (got != counter) {
			ctl_fail(c, "ack for frame %" PRIu64 ", expected %" PRIu64, got, counter);
			return -EPROTO;
		}
	}
	return 0;
}

/* one-way latency in microseconds from a sorted round-trip sample in ns */
static double one_way_us(const uint64_t *sorted, uint64_t n, double q)
{
	return (double)percentile_u64(sorted, n, q) / 2.0 / 1000.0;
}

static int producer_main(struct bench_run *r, struct ctl *c, int idle)
{
	struct bench_ep e = {.run = r, .index = 0};
	char why[256] = "";
	uint64_t counter = 0, *lat = NULL, n = 0;
	c->where[0].phase = PH_OPEN;
	int rc = r->tp->prod_open(&e, why, sizeof(why));

	if (rc == BENCH_SKIP) {
		ctl_fail(c, "%s", why);
		return 2;
	}
	if (rc) {
		ctl_fail(c, "producer open: %s", why[0] ? why : strerror(-rc));
		goto out;
	}
	atomic_store(&c->prod_ready, 1);
	if ((rc = ctl_wait(c, &c->cons_ready, r->consumers)))
		goto out;
	c->where[0].phase = PH_CONNECT;
	if (r->tp->prod_connect && (rc = r->tp->prod_connect(&e))) {
		ctl_fail(c, "producer connect: %s", strerror(-rc));
		goto out;
	}
	if (idle) {
		c->where[0].phase = PH_DRAIN;
		rc = ctl_wait(c, &c->cons_done, r->consumers);
		goto out;
	}

	/* 1. warm-up */
	c->where[0].phase = PH_WARMUP;
	uint64_t until = bench_now_ns() + (uint64_t)(P.warm_s * 1e9);
	for (uint64_t i = 0; i < P.warm_frames && (i < 3 || bench_now_ns() < until); i++) {
		if ((rc = send_frame(&e, counter, BENCH_F_PING))) {
			ctl_fail(c, "send: %s", strerror(-rc));
			goto out;
		}
		if ((rc = collect_acks(&e, c, counter++)))
			goto out;
	}

	/* 2. ping-pong */
	lat = malloc(LAT_MAX * sizeof(*lat));
	if (!lat) {
		rc = -ENOMEM;
		ctl_fail(c, "out of memory");
		goto out;
	}
	c->where[0].phase = PH_PING;
	until = bench_now_ns() + (uint64_t)(P.lat_s * 1e9);
	while (n < LAT_MAX && (n < P.min_lat || bench_now_ns() < until)) {
		uint64_t t0 = bench_now_ns();
		if ((rc = send_frame(&e, counter, BENCH_F_PING))) {
			ctl_fail(c, "send: %s", strerror(-rc));
			goto out;
		}
		if ((rc = collect_acks(&e, c, counter++)))
			goto out;
		lat[n++] = bench_now_ns() - t0;
		c->where[0].frames = counter;
	}
	sort_u64(lat, n);
	c->lat_n = n;
	c->lat_p50 = one_way_us(lat, n, 0.50);
	c->lat_p99 = one_way_us(lat, n, 0.99);
	c->lat_p999 = one_way_us(lat, n, 0.999);

	/* 3. streaming */
	uint64_t every = r->frame_bytes <= 4096 ? 64 : 1, sent = 0;
	c->where[0].phase = PH_STREAM;
	c->t_start = bench_now_ns();
	until = c->t_start + (uint64_t)(P.tput_s * 1e9);
	for (int stop = 0; !stop;) {
		if (sent + 1 >= P.min_tput && sent % every == 0 && bench_now_ns() >= until)
			stop = 1;
		if ((rc = send_frame(&e, counter++, BENCH_F_STREAM | (stop ? BENCH_F_STOP : 0)))) {
			ctl_fail(c, "send: %s", strerror(-rc));
			goto out;
		}
		sent++;
		c->where[0].frames = counter;
	}
	c->sent = sent;
	c->where[0].phase = PH_DRAIN;
	rc = ctl_wait(c, &c->cons_done, r->consumers);
out:
	c->where[0].phase = PH_DONE;
	atomic_store(&c->prod_done, 1);
	if (rc)
		atomic_store(&c->abort, 1);
	free(lat);
	if (e.priv)
		r->tp->close(&e);
	return rc ? 1 : 0;
}

static int consumer_main(struct bench_run *r, struct ctl *c, int index, int idle)
{
	struct bench_ep e = {.run = r, .index = index};
	char why[256] = "";
	uint64_t expected = 0, stream = 0;
	int rc;

	volatile int *phase = &c->where[1 + index].phase;
	if ((rc = ctl_wait(c, &c->prod_ready, 1)))
		return rc == -ECANCELED ? 0 : 1; /* the producer reported why */
	*phase = PH_OPEN;
	rc = r->tp->cons_open(&e, why, sizeof(why));
	if (rc) {
		ctl_fail(c, "consumer %d open: %s", index, why[0] ? why : strerror(-rc));
		goto out;
	}
	atomic_fetch_add(&c->cons_ready, 1);
	*phase = PH_CONNECT;
	if (r->tp->cons_connect && (rc = r->tp->cons_connect(&e))) {
		ctl_fail(c, "consumer %d connect: %s", index, strerror(-rc));
		goto out;
	}

	if (idle) {
		struct rusage u0, u1;
		*phase = PH_IDLE;
		uint64_t t0 = bench_now_ns();
		getrusage(RUSAGE_SELF, &u0);
		rc = r->tp->idle_wait(&e, P.idle_ms);
		getrusage(RUSAGE_SELF, &u1);
		uint64_t t1 = bench_now_ns();
		if (rc != -ETIMEDOUT) {
			ctl_fail(c, "idle wait returned %s", rc ? strerror(-rc) : "a frame");
			rc = rc ? rc : -EPROTO;
			goto out;
		}
		rc = 0;
		double cpu = (double)(u1.ru_utime.tv_sec - u0.ru_utime.tv_sec) +
			     (double)(u1.ru_stime.tv_sec - u0.ru_stime.tv_sec) +
			     (double)(u1.ru_utime.tv_usec - u0.ru_utime.tv_usec) / 1e6 +
			     (double)(u1.ru_stime.tv_usec - u0.ru_stime.tv_usec) / 1e6;
		c->idle_cpu_s[index] = cpu;
		c->idle_wall_s[index] = (double)(t1 - t0) / 1e9;
		goto out;
	}

	*phase = PH_PING;
	for (;;) {
		const void *buf;
		struct bench_hdr h;
		if ((rc = r->tp->acquire(&e, &buf))) {
			ctl_fail(c, "consumer %d receive: %s", index, strerror(-rc));
			goto out;
		}
		if ((rc = frame_check(buf, r->frame_bytes, expected, r->touch, &h, why, sizeof(why)))) {
			ctl_fail(c, "consumer %d: %s", index, why);
			goto out;
		}
		if ((rc = r->tp->release(&e))) {
			ctl_fail(c, "consumer %d release: %s", index, strerror(-rc));
			goto out;
		}
		expected++;
		c->where[1 + index].frames = expected;
		if ((h.flags & BENCH_F_PING) && (rc = r->tp->ack_send(&e, h.counter))) {
			ctl_fail(c, "consumer %d ack: %s", index, strerror(-rc));
			goto out;
		}
		if (h.flags & BENCH_F_STREAM)
			stream++;
		if (h.flags & BENCH_F_STOP) {
			c->t_end[index] = bench_now_ns();
			c->frames[index] = stream;
			break;
		}
	}
out:
	*phase = PH_DONE;
	atomic_fetch_add(&c->cons_done, 1);
	/* stay attached until the producer is finished with us */
	(void)ctl_wait(c, &c->prod_done, 1);
	if (e.priv)
		r->tp->close(&e);
	return rc ? 1 : 0;
}

/* ---- the parent: one measurement ------------------------------------------- */

struct rep_result {
	int status; /* 0 ok, BENCH_SKIP, -1 failed, -2 not run */
	double fps, gbps, seconds;
	uint64_t frames, lat_n;
	double p50, p99, p999;
	double cpu_pct;
};

struct job {
	struct bench_run run;
	struct ctl *c;
	pid_t pid[1 + BENCH_MAX_CONSUMERS];
	int npid;
	int idle;
	int setup_done;
	char msg[320];
};

static int cpus[256];
static int ncpus;
static unsigned run_seq;

static void init_cpus(void)
{
	cpu_set_t set;
	ncpus = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int i = 0; i < CPU_SETSIZE && ncpus < 256; i++)
			if (CPU_ISSET(i, &set))
				cpus[ncpus++] = i;
}

static int cpu_for(int who) /* 0 = producer, 1.. = consumers */
{
	return ncpus >= 2 ? cpus[who % ncpus] : -1;
}

/* Fork the processes of one measurement. 0, BENCH_SKIP or -1 (msg set). */
static int job_start(struct job *j, const struct variant *v, size_t bytes, int touch, int idle)
{
	memset(j, 0, sizeof(*j));
	j->idle = idle;
	j->run.tp = v->tp;
	j->run.wait = v->wait;
	j->run.mode = v->mode;
	j->run.consumers = v->consumers;
	j->run.slots = v->slots;
	j->run.frame_bytes = bytes;
	j->run.touch = touch;
	snprintf(j->run.name, sizeof(j->run.name), "frbench-%d-%u", (int)getpid(), run_seq++);

	j->c = mmap(NULL, sizeof(struct ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		    0);
	if (j->c == MAP_FAILED) {
		j->c = NULL;
		snprintf(j->msg, sizeof(j->msg), "mmap: %s", strerror(errno));
		return -1;
	}
	memset(j->c, 0, sizeof(struct ctl));
	if (v->tp->setup) {
		char why[256] = "";
		int rc = v->tp->setup(&j->run, why, sizeof(why));
		if (rc) {
			snprintf(j->msg, sizeof(j->msg), "setup: %s", why[0] ? why : strerror(-rc));
			return rc == BENCH_SKIP ? BENCH_SKIP : -1;
		}
	}
	j->setup_done = 1;
	fflush(NULL);
	for (int k = 0; k <= v->consumers; k++) {
		pid_t pid = fork();
		if (pid < 0) {
			snprintf(j->msg, sizeof(j->msg), "fork: %s", strerror(errno));
			atomic_store(&j->c->abort, 1);
			return -1;
		}
		if (pid == 0) {
			int code;
			pin_to(cpu_for(k));
			if (k == 0)
				code = producer_main(&j->run, j->c, idle);
			else
				code = consumer_main(&j->run, j->c, k - 1, idle);
			fflush(NULL);
			exit(code);
		}
		j->pid[j->npid++] = pid;
	}
	return 0;
}

/* Wait for the processes (killing them after timeout_s) and fill @res. */
static void job_finish(struct job *j, struct rep_result *res, double timeout_s)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)(timeout_s * 1e9);
	int codes[1 + BENCH_MAX_CONSUMERS], left = j->npid, timed_out = 0, abort_seen = 0;
	struct timespec ts = {0, 1000000};

	memset(res, 0, sizeof(*res));
	for (int i = 0; i < j->npid; i++)
		codes[i] = -1;
	while (left > 0) {
		for (int i = 0; i < j->npid; i++) {
			int st;
			if (codes[i] != -1)
				continue;
			pid_t p = waitpid(j->pid[i], &st, WNOHANG);
			if (p == j->pid[i]) {
				codes[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				left--;
			}
		}
		/* a side that failed set abort: give the others a moment, then stop them */
		if (left > 0 && !abort_seen && atomic_load(&j->c->abort)) {
			abort_seen = 1;
			uint64_t grace = bench_now_ns() + 2000000000ull;
			if (grace < deadline)
				deadline = grace;
		}
		if (left > 0 && !timed_out && bench_now_ns() > deadline) {
			timed_out = 1;
			for (int i = 0; i < j->npid; i++)
				if (codes[i] == -1)
					kill(j->pid[i], SIGKILL);
		}
		if (left > 0)
			nanosleep(&ts, NULL);
	}
	if (j->setup_done && j->run.tp->teardown)
		j->run.tp->teardown(&j->run);

	struct ctl *c = j->c;
	if (timed_out && !abort_seen) {
		char where[200];
		size_t len = 0;
		res->status = -1;
		where[0] = 0;
		for (int i = 0; i < j->npid && len < sizeof(where); i++) {
			int ph = c->where[i].phase;
			int n = snprintf(where + len, sizeof(where) - len, "%s%s %s after %" PRIu64 " frames",
					 i ? ", " : "", i ? "consumer" : "producer",
					 ph >= PH_START && ph <= PH_DONE ? phase_names[ph] : "?",
					 (uint64_t)c->where[i].frames);
			if (n < 0)
				break;
			len += (size_t)n;
		}
		snprintf(j->msg, sizeof(j->msg), "timed out after %.0f s (%.150s)%s%.120s", timeout_s,
			 where, c->msg[0] ? ": " : "", c->msg);
	} else if (codes[0] == 2) {
		res->status = BENCH_SKIP;
		snprintf(j->msg, sizeof(j->msg), "%s", c->msg);
	} else {
		int bad = 0;
		for (int i = 0; i < j->npid; i++)
			if (codes[i] != 0)
				bad = 1;
		if (bad || atomic_load(&c->abort)) {
			res->status = -1;
			snprintf(j->msg, sizeof(j->msg), "%s",
				 c->msg[0] ? c->msg : "a process failed without a message");
			for (int i = 0; i < j->npid && !c->msg[0]; i++)
				if (codes[i] >= 128)
					snprintf(j->msg, sizeof(j->msg), "process %d killed by signal %d", i,
						 codes[i] - 128);
		}
	}
	if (res->status == 0 && j->idle) {
		double cpu = 0, wall = 0;
		for (int i = 0; i < j->run.consumers; i++) {
			cpu += c->idle_cpu_s[i];
			wall += c->idle_wall_s[i];
		}
		res->seconds = wall;
		res->cpu_pct = wall > 0 ? 100.0 * cpu / wall : 0;
	} else if (res->status == 0) {
		uint64_t t_end = 0;
		for (int i = 0; i < j->run.consumers; i++) {
			if (c->frames[i] != c->sent) {
				res->status = -1;
				snprintf(j->msg, sizeof(j->msg),
					 "consumer %d received %" PRIu64 " of %" PRIu64 " frames", i,
					 c->frames[i], c->sent);
			}
			if (c->t_end[i] > t_end)
				t_end = c->t_end[i];
		}
		res->frames = c->sent;
		res->seconds = (double)(t_end - c->t_start) / 1e9;
		res->fps = res->seconds > 0 ? (double)c->sent / res->seconds : 0;
		res->gbps = res->fps * (double)j->run.frame_bytes * j->run.consumers / 1e9;
		res->lat_n = c->lat_n;
		res->p50 = c->lat_p50;
		res->p99 = c->lat_p99;
		res->p999 = c->lat_p999;
	}
	munmap(c, sizeof(struct ctl));
	j->c = NULL;
}

static void job_cleanup_failed_start(struct job *j, struct rep_result *res, int rc)
{
	memset(res, 0, sizeof(*res));
	res->status = rc == BENCH_SKIP ? BENCH_SKIP : -1;
	if (j->npid > 0) {
		job_finish(j, res, 5);
		res->status = rc == BENCH_SKIP ? BENCH_SKIP : -1;
		return;
	}
	if (j->setup_done && j->run.tp->teardown)
		j->run.tp->teardown(&j->run);
	if (j->c)
		munmap(j->c, sizeof(struct ctl));
	j->c = NULL;
}

static double run_timeout(void)
{
	return 20; /* the slowest healthy run takes about 2 s */
}

/* ---- statistics and output -------------------------------------------------- */

/* Median and range of one figure (a double at offset @off) over the good repetitions. */
static struct spread stat_of(const struct rep_result *r, int n, size_t off)
{
	double v[64];
	size_t k = 0;
	for (int i = 0; i < n && k < 64; i++)
		if (r[i].status == 0)
			v[k++] = *(const double *)((const char *)&r[i] + off);
	return spread_of(v, k);
}

/* The repetition whose frames/s is the median (its frames and seconds go to the CSV). */
static const struct rep_result *median_rep(const struct rep_result *r, int n)
{
	struct spread s = stat_of(r, n, offsetof(struct rep_result, fps));
	for (int i = 0; i < n; i++)
		if (r[i].status == 0 && r[i].fps == s.med)
			return &r[i];
	return NULL;
}

static void si(char *out, size_t len, double v)
{
	if (v >= 1e9)
		snprintf(out, len, "%.3gG", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, len, "%.3gM", v / 1e6);
	else if (v >= 1e3)
		snprintf(out, len, "%.3gk", v / 1e3);
	else
		snprintf(out, len, "%.3g", v);
}

static void num(char *out, size_t len, double v)
{
	double a = v < 0 ? -v : v;
	snprintf(out, len, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f", v);
}

/* "median (min-max)", or the value alone for a single repetition */
static void cell(char *out, size_t len, struct spread s, int use_si)
{
	char a[24], b[24], c[24];
	void (*f)(char *, size_t, double) = use_si ? si : num;
	f(a, sizeof(a), s.med);
	f(b, sizeof(b), s.min);
	f(c, sizeof(c), s.max);
	if (P.reps == 1)
		snprintf(out, len, "%s", a);
	else
		snprintf(out, len, "%s (%s-%s)", a, b, c);
}

/* ---- main ------------------------------------------------------------------- */

static struct rep_result *results; /* [variant][workload][size][rep] */

static struct rep_result *res_at(int v, int w, int s, int rep)
{
	return &results[(((size_t)v * NWORKLOADS + (size_t)w) * NSIZES + (size_t)s) * (size_t)P.reps +
			(size_t)rep];
}

/* --only: comma-separated names; a name ending in '*' is a prefix */
static int variant_selected(const struct variant *v)
{
	const char *p = P.only;
	if (!p)
		return 1;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n > 0 && p[n - 1] == '*') {
			if (!strncmp(v->name, p, n - 1))
				return 1;
		} else if (n == strlen(v->name) && !strncmp(v->name, p, n)) {
			return 1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int applies(const struct variant *v, int w)
{
	return variant_selected(v) && !(v->handoff_only && w != 0);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: framering-bench [--quick] [--reps N] [--only LIST] [--size LABEL] [--csv FILE]\n"
		"                       [--idle-csv FILE] [--no-iceoryx] [--iceoryx-config] [--list]\n"
		"  --quick           CI check: every transport runs once per size and workload,\n"
		"                    for a few milliseconds, and must deliver correct data\n"
		"  --reps N          repetitions per figure (default 7; --quick: 1); medians are reported\n"
		"  --only LIST       only these transports (comma-separated; 'framering*' = prefix)\n"
		"  --size LABEL      only this frame size (64B, 640x480x3, 1920x1080x3, 3840x2160x3)\n"
		"  --csv FILE        write the results table as CSV\n"
		"  --idle-csv FILE   write the idle-consumer CPU figures as CSV\n"
		"  --no-iceoryx      skip the iceoryx rows (no RouDi daemon running)\n"
		"  --iceoryx-config  print a RouDi mempool configuration for these frame sizes\n"
		"  --list            list the transports and exit\n");
}

/* Can an iceoryx runtime register with RouDi? (0 yes, else message in why) */
static int iceoryx_probe(char *why, size_t len)
{
#ifdef BENCH_HAVE_ICEORYX
	const struct variant *v = NULL;
	struct job j;
	struct rep_result r;
	for (int i = 0; i < NVARIANTS; i++)
		if (variants[i].tp == &bench_tp_iceoryx) {
			v = &variants[i];
			break;
		}
	/* An idle measurement with a short wait: registers, connects, exits. */
	int saved = P.idle_ms;
	P.idle_ms = 1;
	int rc = job_start(&j, v, 64, 0, 1);
	if (rc)
		job_cleanup_failed_start(&j, &r, rc);
	else
		job_finish(&j, &r, 5);
	P.idle_ms = saved;
	if (r.status != 0) {
		snprintf(why, len, "iox-roudi not reachable (%s)",
			 j.msg[0] ? j.msg : "registration failed");
		return -1;
	}
	return 0;
#else
	snprintf(why, len, "built without the iceoryx C binding (libiceoryx-binding-c-dev)");
	return -1;
#endif
}

int main(int argc, char **argv)
{
	int list = 0, failures = 0, reps_given = 0;
	char iox_why[400] = "";

	P.reps = 7;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--quick")) {
			P.quick = 1;
		} else if (!strcmp(a, "--reps") && i + 1 < argc) {
			P.reps = atoi(argv[++i]);
			reps_given = 1;
		} else if (!strcmp(a, "--only") && i + 1 < argc) {
			P.only = argv[++i];
		} else if (!strcmp(a, "--size") && i + 1 < argc) {
			P.size = argv[++i];
		} else if (!strcmp(a, "--csv") && i + 1 < argc) {
			P.csv = argv[++i];
		} else if (!strcmp(a, "--idle-csv") && i + 1 < argc) {
			P.idle_csv = argv[++i];
		} else if (!strcmp(a, "--no-iceoryx")) {
			P.no_iceoryx = 1;
		} else if (!strcmp(a, "--iceoryx-config")) {
#ifdef BENCH_HAVE_ICEORYX
			size_t b[NSIZES];
			for (int k = 0; k < NSIZES; k++)
				b[k] = sizes[k].bytes;
			bench_iceoryx_print_config(b, NSIZES);
			return 0;
#else
			fprintf(stderr, "framering-bench: built without iceoryx\n");
			return 1;
#endif
		} else if (!strcmp(a, "--list")) {
			list = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		for (int i = 0; i < NVARIANTS; i++)
			printf("%s\n", variants[i].name);
		return 0;
	}
	if (P.reps < 1 || P.reps > 64) {
		fprintf(stderr, "framering-bench: --reps must be 1..64\n");
		return 2;
	}
	if (P.quick) {
		if (!reps_given)
			P.reps = 1;
		P.warm_s = 0.002;
		P.lat_s = 0.005;
		P.tput_s = 0.01;
		P.min_lat = 3;
		P.min_tput = 3;
		P.warm_frames = 3;
		P.idle_ms = 50;
	} else {
		P.warm_s = 0.01;
		P.lat_s = 0.08;
		P.tput_s = 0.1;
		P.min_lat = 10;
		P.min_tput = 10;
		P.warm_frames = 200;
		P.idle_ms = 1000;
	}
	signal(SIGPIPE, SIG_IGN);
	init_cpus();

	results = calloc((size_t)NVARIANTS * NWORKLOADS * NSIZES * (size_t)P.reps, sizeof(*results));
	if (!results)
		return 1;
	for (size_t i = 0; i < (size_t)NVARIANTS * NWORKLOADS * NSIZES * (size_t)P.reps; i++)
		results[i].status = -2;

	/* which variants run at all */
	int skip[NVARIANTS];
	char skip_msg[NVARIANTS][400];
	int failed[NVARIANTS];
	memset(skip, 0, sizeof(skip));
	memset(failed, 0, sizeof(failed));
	int need_iox = 0;
	for (int v = 0; v < NVARIANTS; v++)
		if (variant_selected(&variants[v]) && !strncmp(variants[v].name, "iceoryx", 7))
			need_iox = 1;
	if (need_iox) {
		if (P.no_iceoryx)
			snprintf(iox_why, sizeof(iox_why), "iox-roudi not started (--no-iceoryx)");
		else
			(void)iceoryx_probe(iox_why, sizeof(iox_why));
	}
#ifndef BENCH_HAVE_ICEORYX
	snprintf(iox_why, sizeof(iox_why),
		 "built without the iceoryx C binding (libiceoryx-binding-c-dev)");
	if (!P.only || strstr(P.only, "iceoryx"))
		fprintf(stderr, "SKIP iceoryx: %s\n", iox_why);
#endif
	for (int v = 0; v < NVARIANTS; v++) {
		if (!strncmp(variants[v].name, "iceoryx", 7) && iox_why[0]) {
			skip[v] = 1;
			snprintf(skip_msg[v], sizeof(skip_msg[v]), "%s", iox_why);
			if (variant_selected(&variants[v]))
				fprintf(stderr, "SKIP %s: %s\n", variants[v].name, iox_why);
		}
	}

	fprintf(stderr, "framering-bench: %d CPUs available%s, %d repetition(s)\n", ncpus,
		ncpus >= 2 ? " (producer and consumer pinned to different CPUs)" : " (no pinning)",
		P.reps);

	uint64_t t_all = bench_now_ns();
	/* Repetitions outermost: the VM's cross-core latency changes for seconds at a
	 * time, so every figure's repetitions are spread over the whole run, and
	 * transports of the same size and workload run back to back. */
	for (int rep = 0; rep < P.reps; rep++) {
		for (int s = 0; s < NSIZES; s++) {
			if (P.size && strcmp(P.size, sizes[s].label))
				continue;
			for (int w = 0; w < NWORKLOADS; w++) {
				fprintf(stderr, "  %-12s %-8s rep %d/%d:", sizes[s].label, workloads[w],
					rep + 1, P.reps);
				for (int v = 0; v < NVARIANTS; v++) {
					const struct variant *var = &variants[v];
					struct rep_result *r = res_at(v, w, s, rep);
					struct job j;
					if (!applies(var, w) || skip[v])
						continue;
					int rc = job_start(&j, var, sizes[s].bytes, w == 1, 0);
					if (rc)
						job_cleanup_failed_start(&j, r, rc);
					else
						job_finish(&j, r, run_timeout());
					if (r->status == BENCH_SKIP) {
						skip[v] = 1;
						snprintf(skip_msg[v], sizeof(skip_msg[v]), "%s", j.msg);
						fprintf(stderr, "\nSKIP %s: %s\n", var->name, j.msg);
					} else if (r->status != 0) {
						failures++;
						/* a broken transport is not retried: timeouts would eat the run */
						if (++failed[v] >= 2) {
							skip[v] = 2;
							snprintf(skip_msg[v], sizeof(skip_msg[v]), "failed: %.380s",
								 j.msg);
						}
						fprintf(stderr, "\nFAIL %s %s %s: %s\n", var->name,
							workloads[w], sizes[s].label, j.msg);
					} else {
						fputc('.', stderr);
					}
				}
				fputc('\n', stderr);
			}
		}
	}

	/* idle consumers: every selected idle variant at once, P.reps times */
	struct rep_result idle_res[NVARIANTS][64];
	for (int v = 0; v < NVARIANTS; v++)
		for (int rep = 0; rep < P.reps; rep++)
			idle_res[v][rep].status = -2;
	fprintf(stderr, "  idle consumer, %d ms wait:", P.idle_ms);
	for (int rep = 0; rep < P.reps; rep++) {
		struct job jobs[NVARIANTS];
		int started[NVARIANTS];
		for (int v = 0; v < NVARIANTS; v++) {
			started[v] = 0;
			if (!variants[v].idle || !variant_selected(&variants[v]) || skip[v])
				continue;
			int rc = job_start(&jobs[v], &variants[v], 64, 0, 1);
			if (rc)
				job_cleanup_failed_start(&jobs[v], &idle_res[v][rep], rc);
			else
				started[v] = 1;
		}
		for (int v = 0; v < NVARIANTS; v++) {
			if (!started[v])
				continue;
			job_finish(&jobs[v], &idle_res[v][rep], run_timeout());
			if (idle_res[v][rep].status != 0 && idle_res[v][rep].status != BENCH_SKIP) {
				failures++;
				fprintf(stderr, "\nFAIL %s idle: %s\n", variants[v].name, jobs[v].msg);
			}
		}
		fputc('.', stderr);
	}
	fprintf(stderr, "\nframering-bench: measured in %.1f s\n",
		(double)(bench_now_ns() - t_all) / 1e9);

	/* the table (markdown) */
	printf("| transport | workload | frame | frames/s | GB/s | latency p50 us | p99 us | p99.9 us |\n");
	printf("|---|---|---|---:|---:|---:|---:|---:|\n");
	for (int v = 0; v < NVARIANTS; v++) {
		if (!variant_selected(&variants[v]))
			continue;
		if (skip[v] == 1) {
			printf("| %s | - | - | skipped: %s | | | | |\n", variants[v].name, skip_msg[v]);
			continue;
		}
		for (int w = 0; w < NWORKLOADS; w++) {
			if (!applies(&variants[v], w))
				continue;
			for (int s = 0; s < NSIZES; s++) {
				const struct rep_result *r = res_at(v, w, s, 0);
				char f[128], g[128], l50[128], l99[128], l999[128];
				if (!median_rep(r, P.reps)) {
					if (!P.size || !strcmp(P.size, sizes[s].label))
						printf("| %s | %s | %s | failed or not run | | | | |\n",
						       variants[v].name, workloads[w], sizes[s].label);
					continue;
				}
				cell(f, sizeof(f), stat_of(r, P.reps, offsetof(struct rep_result, fps)), 1);
				cell(g, sizeof(g), stat_of(r, P.reps, offsetof(struct rep_result, gbps)), 0);
				cell(l50, sizeof(l50), stat_of(r, P.reps, offsetof(struct rep_result, p50)), 0);
				cell(l99, sizeof(l99), stat_of(r, P.reps, offsetof(struct rep_result, p99)), 0);
				cell(l999, sizeof(l999), stat_of(r, P.reps, offsetof(struct rep_result, p999)),
				     0);
				printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", variants[v].name,
				       workloads[w], sizes[s].label, f, g, l50, l99, l999);
			}
		}
	}
	printf("\nEach cell: median (min-max) of %d repetition(s). Latency is one way (ping-pong round "
	       "trip / 2).\n",
	       P.reps);

	printf("\n| idle consumer (blocked %d ms) | CPU %% of one core |\n|---|---:|\n", P.idle_ms);
	for (int v = 0; v < NVARIANTS; v++) {
		if (!variants[v].idle || !variant_selected(&variants[v]) || skip[v])
			continue;
		struct spread st = stat_of(idle_res[v], P.reps, offsetof(struct rep_result, cpu_pct));
		char cc[96];
		if (P.reps == 1)
			snprintf(cc, sizeof(cc), "%.3f", st.med);
		else
			snprintf(cc, sizeof(cc), "%.3f (%.3f-%.3f)", st.med, st.min, st.max);
		printf("| %s | %s |\n", variants[v].name, cc);
	}

	if (P.csv) {
		FILE *f = fopen(P.csv, "w");
		if (!f) {
			fprintf(stderr, "framering-bench: %s: %s\n", P.csv, strerror(errno));
			return 1;
		}
		fprintf(f, "transport,workload,frame_bytes,frames,seconds,fps,gbps,lat_p50_us,lat_p99_us,"
			   "lat_p999_us\n");
		for (int v = 0; v < NVARIANTS; v++) {
			if (!variant_selected(&variants[v]) || skip[v] == 1)
				continue;
			for (int w = 0; w < NWORKLOADS; w++) {
				if (!applies(&variants[v], w))
					continue;
				for (int s = 0; s < NSIZES; s++) {
					const struct rep_result *r = res_at(v, w, s, 0);
					const struct rep_result *m = median_rep(r, P.reps);
					if (!m)
						continue;
					fprintf(f, "%s,%s,%zu,%" PRIu64 ",%.6f,%.1f,%.4f,%.3f,%.3f,%.3f\n",
						variants[v].name, workloads[w], sizes[s].bytes, m->frames,
						m->seconds, m->fps, m->gbps,
						stat_of(r, P.reps, offsetof(struct rep_result, p50)).med,
						stat_of(r, P.reps, offsetof(struct rep_result, p99)).med,
						stat_of(r, P.reps, offsetof(struct rep_result, p999)).med);
				}
			}
		}
		fclose(f);
	}
	if (P.idle_csv) {
		FILE *f = fopen(P.idle_csv, "w");
		if (!f) {
			fprintf(stderr, "framering-bench: %s: %s\n", P.idle_csv, strerror(errno));
			return 1;
		}
		fprintf(f, "transport,wait_ms,cpu_pct,cpu_pct_min,cpu_pct_max\n");
		for (int v = 0; v < NVARIANTS; v++) {
			if (!variants[v].idle || !variant_selected(&variants[v]) || skip[v])
				continue;
			struct spread st = stat_of(idle_res[v], P.reps, offsetof(struct rep_result, cpu_pct));
			fprintf(f, "%s,%d,%.4f,%.4f,%.4f\n", variants[v].name, P.idle_ms, st.med, st.min,
				st.max);
		}
		fclose(f);
	}
	free(results);
	if (failures) {
		fprintf(stderr, "framering-bench: %d measurement(s) FAILED\n", failures);
		return 1;
	}
	return 0;
}
