/*
 * The statistics the benchmark reports: nearest-rank percentiles of latency
 * samples, and the median with its range over repetitions.
 */
#ifndef FRAMERING_BENCH_STATS_H
#define FRAMERING_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

void sort_u64(uint64_t *v, size_t n);

/* The nearest-rank @q quantile (0 < q <= 1) of @n sorted samples; 0 when n is 0. */
uint64_t percentile_u64(const uint64_t *sorted, size_t n, double q);

struct spread {
	double med, min, max;
};

/* Median, minimum and maximum of @n values (@v is sorted in place); zeros when n is 0. */
struct spread spread_of(double *v, size_t n);

#endif
