/* Percentiles and spreads (stats.h). */
#include "stats.h"

#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void sort_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
}

uint64_t percentile_u64(const uint64_t *sorted, size_t n, double q)
{
	if (n == 0)
		return 0;
	/* ceil(q * n), except that a rounding error just above a whole rank adds nothing */
	size_t k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

struct spread spread_of(double *v, size_t n)
{
	struct spread s = {0, 0, 0};
	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_dbl);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = v[(n - 1) / 2]; /* odd n: the median; even n: the lower middle */
	return s;
}
