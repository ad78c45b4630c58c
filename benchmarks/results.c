/* The figures of one invocation (results.h). */
#include "results.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int results_init(struct results *res, int reps)
{
	size_t ngrid = (size_t)bench_nvariants * NWORKLOADS * BENCH_NSIZES * (size_t)reps;
	size_t nidle = (size_t)bench_nvariants * (size_t)reps;

	memset(res, 0, sizeof(*res));
	res->reps = reps;
	res->grid = calloc(ngrid, sizeof(*res->grid));
	res->idle = calloc(nidle, sizeof(*res->idle));
	res->probe_ns = malloc(NWORKLOADS * BENCH_NSIZES * (size_t)reps * sizeof(double));
	res->write_gbps = malloc(BENCH_NSIZES * (size_t)reps * sizeof(double));
	res->read_gbps = malloc(BENCH_NSIZES * (size_t)reps * sizeof(double));
	if (!res->grid || !res->idle || !res->probe_ns || !res->write_gbps || !res->read_gbps) {
		results_free(res);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ngrid; i++)
		res->grid[i].status = -2;
	for (size_t i = 0; i < nidle; i++)
		res->idle[i].status = -2;
	for (size_t i = 0; i < NWORKLOADS * BENCH_NSIZES * (size_t)reps; i++)
		res->probe_ns[i] = -1;
	for (size_t i = 0; i < BENCH_NSIZES * (size_t)reps; i++)
		res->write_gbps[i] = res->read_gbps[i] = -1;
	return 0;
}

void results_free(struct results *res)
{
	free(res->grid);
	free(res->idle);
	free(res->probe_ns);
	free(res->write_gbps);
	free(res->read_gbps);
	res->grid = NULL;
	res->idle = NULL;
	res->probe_ns = res->write_gbps = res->read_gbps = NULL;
}

struct rep_result *results_at(const struct results *res, int v, int w, int s, int rep)
{
	size_t figure = ((size_t)v * NWORKLOADS + (size_t)w) * BENCH_NSIZES + (size_t)s;
	return &res->grid[figure * (size_t)res->reps + (size_t)rep];
}

struct rep_result *results_idle_at(const struct results *res, int v, int rep)
{
	return &res->idle[(size_t)v * (size_t)res->reps + (size_t)rep];
}

double *results_probe_at(const struct results *res, int rep, int s, int w)
{
	return &res->probe_ns[((size_t)rep * BENCH_NSIZES + (size_t)s) * NWORKLOADS + (size_t)w];
}

struct spread results_spread_of(const double *v, int n, int stride, int *count)
{
	/* every probe of a run: BENCH_MAX_REPS x the blocks of one repetition */
	double good[BENCH_MAX_REPS * BENCH_NSIZES * NWORKLOADS];
	size_t k = 0;
	for (int i = 0; i < n && k < sizeof(good) / sizeof(good[0]); i++)
		if (v[(size_t)i * (size_t)stride] >= 0)
			good[k++] = v[(size_t)i * (size_t)stride];
	if (count)
		*count = (int)k;
	return spread_of(good, k);
}

struct spread results_spread(const struct rep_result *r, int n, size_t off)
{
	double v[BENCH_MAX_REPS];
	size_t k = 0;
	for (int i = 0; i < n && k < BENCH_MAX_REPS; i++)
		if (r[i].status == 0)
			v[k++] = *(const double *)((const char *)&r[i] + off);
	return spread_of(v, k);
}

const struct rep_result *results_median(const struct rep_result *r, int n)
{
	struct spread s = results_spread(r, n, offsetof(struct rep_result, fps));
	for (int i = 0; i < n; i++)
		if (r[i].status == 0 && r[i].fps == s.med)
			return &r[i];
	return NULL;
}

int results_idle_tested(const struct bench_params *p, const struct results *res, int v)
{
	const struct variant *var = &bench_variants[v];
	return var->idle && variant_selected(p, var) && res->variant[v].state == VARIANT_RUNS;
}
