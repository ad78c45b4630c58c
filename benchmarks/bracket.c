/* Bracketed pairs (bracket.h). */
#include "bracket.h"

#include <string.h>

/* The issue 15 targets at 1920x1080x3: each member against its reference. */
const struct bracket_group bench_brackets[] = {
	{ "floor-touch",
	  WORKLOAD_TOUCH,
	  "1920x1080x3",
	  { "framering-spsc", "framering-mpmc", "framering-broadcast-1", NULL } },
	{ "floor-spin",
	  WORKLOAD_HANDOFF,
	  "1920x1080x3",
	  { "framering-spsc", "framering-spsc+spin", NULL } },
	{ "iceoryx", WORKLOAD_TOUCH, "1920x1080x3", { "framering-broadcast-1", NULL } },
	{ "iceoryx-3", WORKLOAD_TOUCH, "1920x1080x3", { "framering-broadcast-3", NULL } },
	{ "iceoryx-3", WORKLOAD_HANDOFF, "1920x1080x3", { "framering-broadcast-3", NULL } },
};
const int bench_nbrackets = (int)(sizeof(bench_brackets) / sizeof(bench_brackets[0]));

static int find_variant(const char *name)
{
	for (int v = 0; v < bench_nvariants; v++)
		if (!strcmp(bench_variants[v].name, name))
			return v;
	return -1; /* not built in (iceoryx) */
}

static int find_size(const char *label)
{
	for (int s = 0; s < BENCH_NSIZES; s++)
		if (!strcmp(bench_sizes[s].label, label))
			return s;
	return -1;
}

/* Variant @v is chosen for workload @w and neither skipped nor broken in the table. */
static int runnable(const struct bench_params *p, const struct variant_status *status, int v, int w)
{
	return v >= 0 && variant_runs(p, &bench_variants[v], w) && status[v].state == VARIANT_RUNS;
}

/* One measurement of variant @v: 0; 1 when it failed, -1 when it was skipped
 * (neither brackets anything; both said on stderr). */
static int measure(struct job_env *env, int v, int w, int s, struct rep_result *r)
{
	struct job j;
	struct bench_run spec = variant_run_spec(&bench_variants[v], bench_sizes[s].bytes,
						 w == WORKLOAD_TOUCH);
	job_run(&j, env, &spec, 0, r, JOB_TIMEOUT_S);
	if (r->status != 0) {
		int skipped = r->status == BENCH_SKIP;
		fprintf(stderr, "\n%s %s %s %s (bracketed pairs): %s\n", skipped ? "SKIP" : "FAIL",
			bench_variants[v].name, bench_workloads[w], bench_sizes[s].label, j.msg);
		return skipped ? -1 : 1;
	}
	fputc('.', stderr);
	return 0;
}

/* Group @g once: reference, member, reference, member, ... reference. */
static int run_group(const struct bench_params *p, struct job_env *env,
		     const struct variant_status *status, const struct bracket_group *g, int rep,
		     FILE *csv)
{
	int s = find_size(g->size), ref = find_variant(g->reference), w = g->workload;
	int failures = 0;
	if (s < 0 || !size_selected(p, &bench_sizes[s]) || !runnable(p, status, ref, w))
		return 0;
	struct rep_result before, after, a;
	int rc = measure(env, ref, w, s, &before);
	if (rc)
		return rc > 0; /* nothing to bracket with this time */
	for (int k = 0; k < PAIR_MAX_MEMBERS && g->members[k]; k++) {
		int m = find_variant(g->members[k]);
		if (!runnable(p, status, m, w))
			continue;
		if ((rc = measure(env, m, w, s, &a))) {
			failures += rc > 0;
			continue; /* the reference before still brackets the next member */
		}
		if ((rc = measure(env, ref, w, s, &after)))
			return failures + (rc > 0);
		if (csv)
			fprintf(csv, "%s,%s,%s,%zu,%d,%.1f,%.3f,%.1f,%.3f,%.1f,%.3f\n",
				bench_variants[m].name, g->reference, bench_workloads[w],
				bench_sizes[s].bytes, rep + 1, a.fps, a.p50, before.fps, before.p50,
				after.fps, after.p50);
		before = after;
	}
	return failures;
}

int bracket_run(const struct bench_params *p, struct job_env *env,
		const struct variant_status *status, int reps, FILE *csv)
{
	int failures = 0;
	if (csv)
		fprintf(csv, "%s\n", PAIRS_CSV_HEADER);
	for (int rep = 0; rep < reps; rep++) {
		fprintf(stderr, "  bracketed pairs rep %d/%d:", rep + 1, reps);
		for (int g = 0; g < bench_nbrackets; g++)
			failures += run_group(p, env, status, &bench_brackets[g], rep, csv);
		fputc('\n', stderr);
	}
	return failures;
}
