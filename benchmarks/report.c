/*
 * The report (report.h). Each table cell is "median (min-max)" over the
 * repetitions; the CSV has the medians, with the frames and seconds of the
 * repetition whose frames/s is the median; the reps CSV has every repetition.
 */
#include "report.h"
#include "frame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* 3 significant digits with a k/M/G suffix (frames/s) */
static void si(char *out, size_t len, double v)
{
	if (v >= 1e9)
		snprintf(out, len, "%.3gG", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, len, "%.3gM", v / 1e6);
	else if (v >= 1e3)
		snprintf(out, len, "%.3gk", v / 1e3);
	else
		snprintf(out, len, "%.3g", v);
}

/* 3 significant digits, but no decimals from 100 up (GB/s, microseconds) */
static void num(char *out, size_t len, double v)
{
	double a = v < 0 ? -v : v;
	snprintf(out, len, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f", v);
}

/* "median (min-max)", or the value alone for a single repetition */
static void cell(char *out, size_t len, const struct rep_result *r, int reps, size_t off,
		 int use_si)
{
	struct spread s = results_spread(r, reps, off);
	char a[24], b[24], c[24];
	void (*f)(char *, size_t, double) = use_si ? si : num;
	f(a, sizeof(a), s.med);
	f(b, sizeof(b), s.min);
	f(c, sizeof(c), s.max);
	if (reps == 1)
		snprintf(out, len, "%s", a);
	else
		snprintf(out, len, "%s (%s-%s)", a, b, c);
}

static void table_rows(const struct bench_params *p, const struct results *res, int v, int w)
{
	const struct variant *var = &bench_variants[v];
	for (int s = 0; s < BENCH_NSIZES; s++) {
		const struct frame_size *size = &bench_sizes[s];
		const struct rep_result *r = results_at(res, v, w, s, 0);
		char f[128], g[128], l50[128], l99[128], l999[128];
		if (!results_median(r, res->reps)) {
			if (size_selected(p, size))
				printf("| %s | %s | %s | failed or not run | | | | |\n", var->name,
				       bench_workloads[w], size->label);
			continue;
		}
		cell(f, sizeof(f), r, res->reps, offsetof(struct rep_result, fps), 1);
		cell(g, sizeof(g), r, res->reps, offsetof(struct rep_result, gbps), 0);
		cell(l50, sizeof(l50), r, res->reps, offsetof(struct rep_result, p50), 0);
		cell(l99, sizeof(l99), r, res->reps, offsetof(struct rep_result, p99), 0);
		cell(l999, sizeof(l999), r, res->reps, offsetof(struct rep_result, p999), 0);
		printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", var->name, bench_workloads[w],
		       size->label, f, g, l50, l99, l999);
	}
}

void report_table(const struct bench_params *p, const struct results *res)
{
	printf("| transport | workload | frame | frames/s | GB/s | latency p50 us | p99 us | p99.9 us |\n");
	printf("|---|---|---|---:|---:|---:|---:|---:|\n");
	for (int v = 0; v < bench_nvariants; v++) {
		const struct variant *var = &bench_variants[v];
		if (!variant_selected(p, var))
			continue;
		if (res->variant[v].state == VARIANT_SKIPPED) {
			printf("| %s | - | - | skipped: %s | | | | |\n", var->name,
			       res->variant[v].why);
			continue;
		}
		for (int w = 0; w < NWORKLOADS; w++)
			if (variant_runs(p, var, w))
				table_rows(p, res, v, w);
	}
	printf("\nEach cell: median (min-max) of %d repetition(s). Latency is one way (ping-pong round "
	       "trip / 2).\n",
	       res->reps);
}

static struct spread idle_cpu(const struct results *res, int v)
{
	return results_spread(results_idle_at(res, v, 0), res->reps,
			      offsetof(struct rep_result, cpu_pct));
}

void report_idle_table(const struct bench_params *p, const struct results *res)
{
	printf("\n| idle consumer (blocked %d ms) | CPU %% of one core |\n|---|---:|\n",
	       p->idle_ms);
	for (int v = 0; v < bench_nvariants; v++) {
		if (!results_idle_tested(p, res, v))
			continue;
		struct spread st = idle_cpu(res, v);
		char cc[96];
		if (res->reps == 1)
			snprintf(cc, sizeof(cc), "%.3f", st.med);
		else
			snprintf(cc, sizeof(cc), "%.3f (%.3f-%.3f)", st.med, st.min, st.max);
		printf("| %s | %s |\n", bench_variants[v].name, cc);
	}
}

/* The touch writer's or reader's GB/s alone at size @s, over the repetitions. */
static struct spread touch_alone(const struct results *res, const double *gbps, int s, int *count)
{
	return results_spread_of(gbps + s, res->reps, BENCH_NSIZES, count);
}

static void machine_touch_row(const struct results *res, const double *gbps, const char *what)
{
	printf("| %s |", what);
	for (int s = 0; s < BENCH_NSIZES; s++) {
		int n;
		struct spread sp = touch_alone(res, gbps, s, &n);
		char a[24], b[24], c[24];
		if (bench_sizes[s].bytes <= sizeof(struct bench_hdr))
			continue;
		if (!n) {
			printf(" - |");
			continue;
		}
		num(a, sizeof(a), sp.med);
		num(b, sizeof(b), sp.min);
		num(c, sizeof(c), sp.max);
		if (n == 1)
			printf(" %s |", a);
		else
			printf(" %s (%s-%s) |", a, b, c);
	}
	printf("\n");
}

/* The probes: all of them, how many sat in the slow state, and each repetition's median. */
static void machine_probe_lines(const struct results *res)
{
	int nblocks = BENCH_NSIZES * NWORKLOADS, n;
	struct spread all = results_spread_of(res->probe_ns, res->reps * nblocks, 1, &n);
	if (!n) {
		printf("\nCross-core cache-line probe: not measured (one CPU).\n");
		return;
	}
	int slow = 0;
	for (int i = 0; i < res->reps * nblocks; i++)
		if (res->probe_ns[i] >= 0 && res->probe_ns[i] > 2 * all.min)
			slow++;
	printf("\nCross-core cache-line probe (one line bounced between the producer's and the "
	       "consumer's CPU, one way): %.0f ns median (%.0f-%.0f) over %d probe(s), one before "
	       "each size and workload of each repetition; %d of them above twice the fastest.\n",
	       all.med, all.min, all.max, n, slow);
	if (res->reps < 2)
		return;
	printf("Per repetition (median of its probes, ns):");
	for (int rep = 0; rep < res->reps; rep++) {
		int k;
		const double *first = results_probe_at(res, rep, 0, 0);
		struct spread r = results_spread_of(first, nblocks, 1, &k);
		printf(k ? " %.0f" : " -", r.med);
	}
	printf(".\n");
}

void report_machine(const struct bench_params *p, const struct results *res)
{
	int any = 0;
	for (int s = 0; s < BENCH_NSIZES; s++) {
		int n;
		(void)touch_alone(res, res->read_gbps, s, &n);
		any |= n > 0;
	}
	(void)p;
	if (any) {
		printf("\n| touch workload alone, same run, GB/s (median (min-max)) |");
		for (int s = 0; s < BENCH_NSIZES; s++)
			if (bench_sizes[s].bytes > sizeof(struct bench_hdr))
				printf(" %s |", bench_sizes[s].label);
		printf("\n|---|");
		for (int s = 0; s < BENCH_NSIZES; s++)
			if (bench_sizes[s].bytes > sizeof(struct bench_hdr))
				printf("---:|");
		printf("\n");
		machine_touch_row(res, res->write_gbps,
				  "writer: frame_fill on a private buffer, producer's CPU");
		machine_touch_row(res, res->read_gbps,
				  "reader: frame_check on a private buffer, consumer's CPU");
		if (frame_unoptimised())
			printf("\nThe touch writer and reader (frame.c) were built without "
			       "optimisation: they, not the transports, may bound the touch rows.\n");
	}
	machine_probe_lines(res);
}

static FILE *open_csv(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "framering-bench: %s: %s\n", path, strerror(errno));
	return f;
}

static void csv_rows(FILE *f, const struct results *res, int v, int w)
{
	for (int s = 0; s < BENCH_NSIZES; s++) {
		const struct rep_result *r = results_at(res, v, w, s, 0);
		const struct rep_result *m = results_median(r, res->reps);
		if (!m)
			continue;
		fprintf(f, "%s,%s,%zu,%" PRIu64 ",%.6f,%.1f,%.4f,%.3f,%.3f,%.3f\n",
			bench_variants[v].name, bench_workloads[w], bench_sizes[s].bytes, m->frames,
			m->seconds, m->fps, m->gbps,
			results_spread(r, res->reps, offsetof(struct rep_result, p50)).med,
			results_spread(r, res->reps, offsetof(struct rep_result, p99)).med,
			results_spread(r, res->reps, offsetof(struct rep_result, p999)).med);
	}
}

/* @rows for every transport and workload the run measured, into @f. */
static void each_measured(FILE *f, const struct bench_params *p, const struct results *res,
			  void (*rows)(FILE *f, const struct results *res, int v, int w))
{
	for (int v = 0; v < bench_nvariants; v++) {
		const struct variant *var = &bench_variants[v];
		if (!variant_selected(p, var) || res->variant[v].state == VARIANT_SKIPPED)
			continue;
		for (int w = 0; w < NWORKLOADS; w++)
			if (variant_runs(p, var, w))
				rows(f, res, v, w);
	}
}

int report_csv(const struct bench_params *p, const struct results *res)
{
	FILE *f = open_csv(p->csv);
	if (!f)
		return -1;
	fprintf(f, "transport,workload,frame_bytes,frames,seconds,fps,gbps,lat_p50_us,lat_p99_us,"
		   "lat_p999_us\n");
	each_measured(f, p, res, csv_rows);
	fclose(f);
	return 0;
}

int report_idle_csv(const struct bench_params *p, const struct results *res)
{
	FILE *f = open_csv(p->idle_csv);
	if (!f)
		return -1;
	fprintf(f, "transport,wait_ms,cpu_pct,cpu_pct_min,cpu_pct_max\n");
	for (int v = 0; v < bench_nvariants; v++) {
		if (!results_idle_tested(p, res, v))
			continue;
		struct spread st = idle_cpu(res, v);
		fprintf(f, "%s,%d,%.4f,%.4f,%.4f\n", bench_variants[v].name, p->idle_ms, st.med,
			st.min, st.max);
	}
	fclose(f);
	return 0;
}

int report_machine_csv(const struct bench_params *p, const struct results *res)
{
	FILE *f = open_csv(p->machine_csv);
	int n;
	if (!f)
		return -1;
	fprintf(f, "figure,frame_bytes,median,min,max,n\n");
	struct spread sp = results_spread_of(res->probe_ns, res->reps * BENCH_NSIZES * NWORKLOADS,
					     1, &n);
	if (n)
		fprintf(f, "probe_one_way_ns,64,%.1f,%.1f,%.1f,%d\n", sp.med, sp.min, sp.max, n);
	for (int s = 0; s < BENCH_NSIZES; s++) {
		sp = touch_alone(res, res->write_gbps, s, &n);
		if (n)
			fprintf(f, "touch_write_gbps,%zu,%.2f,%.2f,%.2f,%d\n", bench_sizes[s].bytes,
				sp.med, sp.min, sp.max, n);
		sp = touch_alone(res, res->read_gbps, s, &n);
		if (n)
			fprintf(f, "touch_read_gbps,%zu,%.2f,%.2f,%.2f,%d\n", bench_sizes[s].bytes,
				sp.med, sp.min, sp.max, n);
	}
	fclose(f);
	return 0;
}

/* Every repetition of variant @v in workload @w that delivered, with its block's probe. */
static void reps_csv_rows(FILE *f, const struct results *res, int v, int w)
{
	for (int s = 0; s < BENCH_NSIZES; s++) {
		const struct rep_result *r = results_at(res, v, w, s, 0);
		for (int rep = 0; rep < res->reps; rep++) {
			double probe = *results_probe_at(res, rep, s, w);
			char pr[32] = "";
			if (r[rep].status != 0)
				continue;
			if (probe >= 0)
				snprintf(pr, sizeof(pr), "%.1f", probe);
			fprintf(f, "%s,%s,%zu,%d,%.1f,%.3f,%.3f,%s\n", bench_variants[v].name,
				bench_workloads[w], bench_sizes[s].bytes, rep + 1, r[rep].fps,
				r[rep].p50, r[rep].p99, pr);
		}
	}
}

int report_reps_csv(const struct bench_params *p, const struct results *res)
{
	FILE *f = open_csv(p->reps_csv);
	if (!f)
		return -1;
	fprintf(f, "transport,workload,frame_bytes,rep,fps,lat_p50_us,lat_p99_us,probe_ns\n");
	each_measured(f, p, res, reps_csv_rows);
	fclose(f);
	return 0;
}
