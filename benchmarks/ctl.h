/*
 * The control block of one measurement: an anonymous MAP_SHARED mapping the
 * parent makes before it forks the producer and the consumers. It carries the
 * start and end handshakes, the first failure's message, the figures the
 * children measured, and where each child is (for the message when a run
 * hangs).
 */
#ifndef FRAMERING_BENCH_CTL_H
#define FRAMERING_BENCH_CTL_H

#include "bench.h"

#include <stdint.h>

struct ctl {
	_Atomic int prod_ready; /* 1: the producer opened; the consumers may open */
	_Atomic int cons_ready; /* consumers that opened; the producer connects once all have */
	_Atomic int cons_done;
	_Atomic int prod_done;  /* the consumers stay attached until then */
	_Atomic int abort;      /* a side failed; everyone stops waiting */
	_Atomic int msg_taken;  /* only the first failure writes msg */
	char msg[320];
	uint64_t t_start; /* producer: streaming began */
	uint64_t sent;    /* producer: frames streamed */
	uint64_t t_end[BENCH_MAX_CONSUMERS];  /* consumer: the stop frame arrived */
	uint64_t frames[BENCH_MAX_CONSUMERS]; /* consumer: streamed frames received */
	uint64_t lat_n;                       /* producer: ping-pong samples */
	double lat_p50, lat_p99, lat_p999;    /* microseconds, one way */
	double idle_cpu_s[BENCH_MAX_CONSUMERS];
	double idle_wall_s[BENCH_MAX_CONSUMERS];
	/* where each process is, producer first: 128 bytes each, written only
	 * by its own process, so that reporting progress shares no cache line */
	struct {
		_Alignas(128) volatile int phase; /* enum ctl_phase */
		volatile uint64_t frames;
	} where[1 + BENCH_MAX_CONSUMERS];
};

enum ctl_phase {
	PH_START,
	PH_OPEN,
	PH_CONNECT,
	PH_WARMUP,
	PH_PING,
	PH_STREAM,
	PH_DRAIN,
	PH_IDLE,
	PH_DONE,
};

const char *ctl_phase_name(int phase); /* "?" for a value out of range */

/* Record why the run failed (the first caller's message wins) and abort it. */
void ctl_fail(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Wait until *v >= target: 0, -ECANCELED when the run aborted, -ETIMEDOUT after 20 s. */
int ctl_wait(struct ctl *c, _Atomic int *v, int target);

#endif
