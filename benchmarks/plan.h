/*
 * What one invocation measures: the frame sizes, the workloads and the
 * transport variants, and the options that choose among them.
 */
#ifndef FRAMERING_BENCH_PLAN_H
#define FRAMERING_BENCH_PLAN_H

#include "bench.h"
#include "job.h"

#include <stddef.h>

#define BENCH_MAX_VARIANTS 24 /* sizes per-variant arrays on the stack (plan.c checks) */
#define BENCH_MAX_REPS 64     /* --reps at most: a figure's repetitions sort on the stack */

struct frame_size {
	const char *label;
	size_t bytes;
};

extern const struct frame_size bench_sizes[];
#define BENCH_NSIZES 4 /* its entries (plan.c checks) */

enum workload {
	WORKLOAD_HANDOFF, /* the producer writes the header only */
	WORKLOAD_TOUCH,   /* every byte written, and read back by the consumer */
	NWORKLOADS,
};

extern const char *const bench_workloads[NWORKLOADS];

/* Which workloads a variant runs (struct variant's workloads). */
#define VARIANT_HANDOFF (1 << WORKLOAD_HANDOFF)
#define VARIANT_TOUCH (1 << WORKLOAD_TOUCH)
#define VARIANT_BOTH (VARIANT_HANDOFF | VARIANT_TOUCH)

/* One row group of the table: a transport with its settings. */
struct variant {
	const char *name;
	const struct bench_transport *tp;
	int mode;
	int consumers;
	int wait;
	int workloads;  /* VARIANT_*: wait-strategy variants run handoff only */
	int idle;       /* included in the idle-consumer CPU test */
	unsigned slots; /* framering ring slots, floor buffers; 0 = the transport's default */
};

extern const struct variant bench_variants[];
extern const int bench_nvariants;

/* The command line, parsed. */
struct bench_params {
	int quick;
	int reps; /* 1..BENCH_MAX_REPS */
	struct bench_timing timing;
	int idle_ms; /* how long the idle-consumer test waits */
	int no_iceoryx;
	const char *only;     /* --only LIST, NULL: every variant */
	const char *size;     /* --size LABEL, NULL: every size */
	const char *csv;      /* --csv FILE, or NULL */
	const char *idle_csv; /* --idle-csv FILE, or NULL */
	const char *machine_csv; /* --machine-csv FILE, or NULL */
	const char *reps_csv;    /* --reps-csv FILE, or NULL */
	const char *pairs_csv;   /* --pairs-csv FILE, or NULL */
	int pair_reps;           /* repetitions of the bracketed pairs (bracket.h); 0: none */
	double probe_s;          /* how long each cross-core probe lasts */
	double touch_s;          /* how long the touch writer and reader alone run, each */
};

/* Chosen by --only: comma-separated names; a name ending in '*' is a prefix. */
int variant_selected(const struct bench_params *p, const struct variant *v);

/* Chosen, and measured in workload @w. */
int variant_runs(const struct bench_params *p, const struct variant *v, int w);

/* Chosen by --size. */
int size_selected(const struct bench_params *p, const struct frame_size *s);

/* The run of @v on frames of @bytes, for job_start. */
struct bench_run variant_run_spec(const struct variant *v, size_t bytes, int touch);

#endif
