/*
 * Every figure of one invocation, and what became of each variant: main
 * fills it in, the report reads it.
 */
#ifndef FRAMERING_BENCH_RESULTS_H
#define FRAMERING_BENCH_RESULTS_H

#include "job.h"
#include "plan.h"
#include "stats.h"

#include <stddef.h>

enum variant_state {
	VARIANT_RUNS,
	VARIANT_SKIPPED, /* cannot run here: one table row says why */
	VARIANT_BROKEN,  /* failed twice: not run again, its timeouts would eat the run */
};

struct variant_status {
	int state; /* enum variant_state */
	int failures;
	char why[400]; /* VARIANT_SKIPPED */
};

struct results {
	int reps;
	struct rep_result *grid; /* [variant][workload][size][rep] */
	struct rep_result *idle; /* [variant][rep] */
	/* the machine's own figures (machine.h), < 0 where not measured */
	double *probe_ns;    /* [rep][size][workload]: probed before each block */
	double *write_gbps;  /* [rep][size]: the touch writer alone */
	double *read_gbps;   /* [rep][size]: the touch reader alone */
	struct variant_status variant[BENCH_MAX_VARIANTS];
};

/* Every figure "not run" (status -2), every variant runnable. 0 or -ENOMEM. */
int results_init(struct results *res, int reps);
void results_free(struct results *res);

/* One repetition of a figure; a figure's repetitions are consecutive from rep 0. */
struct rep_result *results_at(const struct results *res, int v, int w, int s, int rep);
struct rep_result *results_idle_at(const struct results *res, int v, int rep);

/* The cross-core probe before block (@s, @w) of repetition @rep. */
double *results_probe_at(const struct results *res, int rep, int s, int w);

/* Median and range of the non-negative ones of @n doubles, @stride apart. */
struct spread results_spread_of(const double *v, int n, int stride, int *count);

/* Median and range of the double at offset @off over the good ones of @n repetitions. */
struct spread results_spread(const struct rep_result *r, int n, size_t off);

/* The repetition whose frames/s is the median (its frames and seconds go to the CSV). */
const struct rep_result *results_median(const struct rep_result *r, int n);

/* Variant @v is in the idle-consumer test: selected, an idle variant, and runnable. */
int results_idle_tested(const struct bench_params *p, const struct results *res, int v);

#endif
