/*
 * The results as run.sh and the README take them: markdown tables on stdout
 * (figures, then the idle consumers), and the same figures as CSV files.
 */
#ifndef FRAMERING_BENCH_REPORT_H
#define FRAMERING_BENCH_REPORT_H

#include "plan.h"
#include "results.h"

void report_table(const struct bench_params *p, const struct results *res);
void report_idle_table(const struct bench_params *p, const struct results *res);

/* The machine's own figures of the run (machine.h): touch writer and reader alone, probe. */
void report_machine(const struct bench_params *p, const struct results *res);

/* Write p->csv, p->idle_csv or p->machine_csv: 0, or -1 after a message on stderr. */
int report_csv(const struct bench_params *p, const struct results *res);
int report_idle_csv(const struct bench_params *p, const struct results *res);
int report_machine_csv(const struct bench_params *p, const struct results *res);

/*
 * Write p->reps_csv: every repetition that delivered, with the cross-core probe
 * of its block, so that two rows can be compared repetition by repetition
 * (same block, same placement of the VM's CPUs). 0, or -1 after a message.
 */
int report_reps_csv(const struct bench_params *p, const struct results *res);

#endif
