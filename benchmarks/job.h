/*
 * One measurement, as the parent runs it: set up the transport's shared
 * resources, fork the producer and the consumers pinned to CPUs, wait for
 * them (killing them after a timeout) and turn what they wrote into the
 * control block into figures.
 */
#ifndef FRAMERING_BENCH_JOB_H
#define FRAMERING_BENCH_JOB_H

#include "bench.h"

#include <stdint.h>
#include <sys/types.h>

/* How long a measurement's phases last. */
struct bench_timing {
	double warm_s, lat_s, tput_s; /* warm-up, ping-pong, streaming */
	uint64_t warm_frames;         /* warm-up: at most this many frames (at least 3) */
	uint64_t min_lat, min_tput;   /* at least this many round trips / streamed frames */
};

/* What every job of one invocation shares. */
struct job_env {
	struct bench_timing timing;
	int cpus[256]; /* the CPUs this process may run on */
	int ncpus;
	unsigned next_id; /* numbers the jobs: unique shared-memory and service names */
};

/* The figures of one measurement. */
struct rep_result {
	int status; /* 0 ok, BENCH_SKIP, -1 failed, -2 not run */
	double fps, gbps, seconds;
	uint64_t frames, lat_n;
	double p50, p99, p999; /* one-way latency, microseconds */
	double cpu_pct;        /* idle test: consumer CPU time / wall time, percent */
};

struct job {
	struct bench_run run;
	struct ctl *c;
	pid_t pid[1 + BENCH_MAX_CONSUMERS];
	int npid;
	int idle_ms; /* 0: a measurement; else the idle-consumer test's wait */
	int setup_done;
	char msg[320]; /* why it failed or was skipped */
};

#define JOB_TIMEOUT_S 20.0 /* the slowest healthy measurement takes about 2 s */

void job_env_init(struct job_env *env, const struct bench_timing *timing);

/*
 * Fork the processes of one measurement of @spec (its transport, wait, mode,
 * consumers, slots, frame_bytes and touch; the rest is filled in here).
 * idle_ms > 0: the idle-consumer test. 0, BENCH_SKIP or -1 (j->msg says why).
 */
int job_start(struct job *j, struct job_env *env, const struct bench_run *spec, int idle_ms);

/* Wait for the processes (killing them after timeout_s) and fill @res. */
void job_finish(struct job *j, struct rep_result *res, double timeout_s);

/* After job_start failed with @rc: undo what it did and record the failure in @res. */
void job_cleanup_failed_start(struct job *j, struct rep_result *res, int rc);

/* job_start, then job_finish or job_cleanup_failed_start. */
void job_run(struct job *j, struct job_env *env, const struct bench_run *spec, int idle_ms,
	     struct rep_result *res, double timeout_s);

#endif
