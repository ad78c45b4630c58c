/* The machine's own figures, measured in the run (machine.h). */
#include "machine.h"
#include "frame.h"
#include "stats.h"

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_BATCH 64u /* round trips per timed sample: the clock costs ~20 ns */
#define PROBE_MAX_SAMPLES 4096u

/* The bounced line, and a stop flag on a line of its own that only the parent writes. */
struct probe_shm {
	_Alignas(128) _Atomic uint64_t v; /* odd: the parent's turn done; even: the child's */
	_Alignas(128) _Atomic int stop;
};

/* Pin the calling process to @cpu; the mask it had goes to @old. 0, or -1. */
static int pin_to(int cpu, cpu_set_t *old)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(*old), old))
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void unpin(const cpu_set_t *old)
{
	(void)sched_setaffinity(0, sizeof(*old), old);
}

/* The child: answer every odd value with the next one until told to stop. */
static void probe_child(struct probe_shm *s, int cpu)
{
	cpu_set_t old;
	(void)pin_to(cpu, &old);
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		uint64_t v = atomic_load_explicit(&s->v, memory_order_acquire);
		if (v & 1)
			atomic_store_explicit(&s->v, v + 1, memory_order_release);
		else
			bench_cpu_relax();
	}
	_exit(0);
}

/* The parent's side: samples of PROBE_BATCH round trips, in ns each; how many, or -1. */
static int probe_parent(struct probe_shm *s, double seconds, uint64_t *sample)
{
	uint64_t x = 0, end = bench_now_ns() + (uint64_t)(seconds * 1e9);
	/* a child that never answers (killed, or never scheduled) gives up the probe */
	uint64_t give_up = end + 2000000000ull;
	unsigned n = 0;
	while (n < PROBE_MAX_SAMPLES && (n < 16 || bench_now_ns() < end)) {
		uint64_t t0 = bench_now_ns();
		for (unsigned k = 0; k < PROBE_BATCH; k++) {
			atomic_store_explicit(&s->v, x + 1, memory_order_release);
			unsigned spins = 0;
			while (atomic_load_explicit(&s->v, memory_order_acquire) != x + 2) {
				bench_cpu_relax();
				if (++spins % 4096 == 0 && bench_now_ns() > give_up)
					return -1;
			}
			x += 2;
		}
		sample[n++] = bench_now_ns() - t0;
	}
	return (int)n;
}

double machine_probe_ns(const struct job_env *env, double seconds)
{
	struct probe_shm *s;
	uint64_t *sample;
	double ns = -1;
	cpu_set_t old;
	pid_t pid;
	int n, pinned;

	if (env->ncpus < 2)
		return -1;
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return -1;
	sample = malloc(PROBE_MAX_SAMPLES * sizeof(*sample));
	if (!sample || (pid = fork()) < 0) {
		free(sample);
		munmap(s, sizeof(*s));
		return -1;
	}
	if (pid == 0)
		probe_child(s, env->cpus[1]);
	pinned = pin_to(env->cpus[0], &old) == 0;
	n = probe_parent(s, seconds, sample);
	if (pinned)
		unpin(&old);
	atomic_store(&s->stop, 1);
	if (n < 0)
		kill(pid, SIGKILL);
	(void)waitpid(pid, NULL, 0);
	if (n > 0) {
		sort_u64(sample, (size_t)n);
		/* a batch is PROBE_BATCH round trips, each two one-way transfers */
		ns = (double)percentile_u64(sample, (size_t)n, 0.5) / (2.0 * PROBE_BATCH);
	}
	free(sample);
	munmap(s, sizeof(*s));
	return ns;
}

/* Call fill (1) or check (0) on @buf over and over for about @seconds: GB/s, or -1. */
static double touch_loop(void *buf, size_t bytes, double seconds, int fill, uint64_t *counter)
{
	char why[160];
	struct bench_hdr h;
	uint64_t n = 0, t0 = bench_now_ns(), end = t0 + (uint64_t)(seconds * 1e9), t1;
	do {
		if (fill)
			frame_fill(buf, bytes, ++*counter, BENCH_F_STREAM, 1);
		else if (frame_check(buf, bytes, *counter, 1, &h, why, sizeof(why)))
			return -1;
		n++;
	} while ((t1 = bench_now_ns()) < end || n < 3);
	return (double)bytes * (double)n / ((double)(t1 - t0) / 1e9) / 1e9;
}

int machine_touch_gbps(const struct job_env *env, size_t bytes, double seconds, double *write_gbps,
		       double *read_gbps)
{
	void *buf = bench_alloc(bytes);
	uint64_t counter = 0;
	cpu_set_t old;
	int pinned = 0;
	*write_gbps = *read_gbps = -1;
	if (!buf)
		return -1;
	/* each side on the CPU its process uses in the measurements */
	if (env->ncpus >= 2)
		pinned = pin_to(env->cpus[0], &old) == 0;
	frame_fill(buf, bytes, ++counter, BENCH_F_STREAM, 1); /* warm: the pages and the cache */
	*write_gbps = touch_loop(buf, bytes, seconds, 1, &counter);
	if (pinned) {
		cpu_set_t ignored;
		(void)pin_to(env->cpus[1], &ignored);
	}
	*read_gbps = touch_loop(buf, bytes, seconds / 4, 0, &counter); /* warm */
	if (*read_gbps >= 0)
		*read_gbps = touch_loop(buf, bytes, seconds, 0, &counter);
	if (pinned)
		unpin(&old);
	bench_free(buf, bytes);
	if (*read_gbps < 0) {
		*write_gbps = -1;
		return -1;
	}
	return 0;
}
