/*
 * The child processes of one measurement, which job.c forks: one producer and
 * 1..BENCH_MAX_CONSUMERS consumers, meeting through the control block. Each
 * function returns the process's exit status.
 *
 * idle_ms: 0 for a measurement (warm-up, ping-pong, streaming); otherwise the
 * idle-consumer test, in which the consumers wait that long for a frame that
 * never comes and report the CPU time the wait cost.
 */
#ifndef FRAMERING_BENCH_CHILD_H
#define FRAMERING_BENCH_CHILD_H

#include "bench.h"
#include "ctl.h"
#include "job.h"

#define CHILD_EXIT_SKIP 2 /* producer: the transport cannot run here (ctl->msg says why) */

int producer_main(const struct bench_run *r, struct ctl *c, const struct bench_timing *t,
		  int idle_ms);
int consumer_main(const struct bench_run *r, struct ctl *c, int index, int idle_ms);

#endif
