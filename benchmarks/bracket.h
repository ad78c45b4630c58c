/*
 * Bracketed pairs: the issue 15 targets compare a framering row with a
 * reference row (a floor, or iceoryx). In the table the two are measured
 * seconds apart in a block of a dozen rows, and the VM's memory and vCPU
 * placement change on that scale: a dip in one row moves the ratio by a
 * factor of ten. Here each row is measured right between two runs of its
 * reference (R A1 R A2 R ...), so that a ratio can be taken against the
 * reference on both sides, and a repetition in which the reference itself
 * moved (its two runs disagree) can be told apart. One row per member and
 * repetition goes to the pairs CSV; run.sh judges the targets on it.
 */
#ifndef FRAMERING_BENCH_BRACKET_H
#define FRAMERING_BENCH_BRACKET_H

#include "job.h"
#include "plan.h"
#include "results.h"

#include <stdio.h>

#define PAIR_REPS_DEFAULT 15 /* repetitions of every group in a full run */
#define PAIR_MAX_MEMBERS 3

/* Rows measured between runs of one reference, in one workload and size. */
struct bracket_group {
	const char *reference;
	int workload;                              /* enum workload */
	const char *size;                          /* a bench_sizes label */
	const char *members[PAIR_MAX_MEMBERS + 1]; /* NULL-terminated */
};

extern const struct bracket_group bench_brackets[];
extern const int bench_nbrackets;

/* The CSV's header line (without the newline). */
#define PAIRS_CSV_HEADER                                                           \
	"member,reference,workload,frame_bytes,rep,fps,lat_p50_us,ref_fps_before," \
	"ref_p50_before,ref_fps_after,ref_p50_after"

/*
 * Measure every group whose rows are selected and runnable (@status: the
 * variants' states after the table), @reps times, and write a line per member
 * and repetition to @csv (if not NULL) under PAIRS_CSV_HEADER. Progress goes
 * to stderr. Returns the number of measurements that failed.
 */
int bracket_run(const struct bench_params *p, struct job_env *env,
		const struct variant_status *status, int reps, FILE *csv);

#endif
