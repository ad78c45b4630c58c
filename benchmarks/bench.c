/*
 * framering-bench: frames/s, GB/s and one-way latency of framering against
 * pipes, unix sockets, TCP on 127.0.0.1 and iceoryx, measured in one run on
 * the same machine. See benchmarks/run.sh and the Performance section of
 * README.md.
 *
 * Each measurement forks one producer and 1..3 consumer processes, pinned to
 * different CPUs when there are at least two. The pair then runs:
 *   1. warm-up: a few acknowledged frames (page faults, connections);
 *   2. ping-pong: the producer sends one frame and waits for the consumer's
 *      acknowledgement; one-way latency = round trip / 2;
 *   3. streaming: the producer sends frames as fast as the transport takes
 *      them for a fixed time; frames/s = frames received / elapsed.
 * The consumer checks every frame (magic, consecutive counter, and in the
 * touch workload the sum of every 64-bit word); any mismatch fails the run.
 */
#include "bench.h"
#include "job.h"
#include "stats.h"

#include "framering.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- what is measured ------------------------------------------------------ */

struct size_def {
	const char *label;
	size_t bytes;
};

static const struct size_def sizes[] = {
	{"64B", 64},
	{"640x480x3", 640u * 480u * 3u},
	{"1920x1080x3", 1920u * 1080u * 3u},
	{"3840x2160x3", 3840u * 2160u * 3u},
};
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

static const char *const workloads[] = {"handoff", "touch"};
#define NWORKLOADS 2

struct variant {
	const char *name;
	const struct bench_transport *tp;
	int mode;
	int consumers;
	int wait;
	int handoff_only; /* wait-strategy variants: handoff workload only */
	int idle;         /* included in the idle-consumer CPU test */
	unsigned slots;   /* framering ring slots; 0 = 4 */
};

static const struct variant variants[] = {
	{"framering-spsc", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"framering-spsc+spin", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_SPIN, 1, 0, 0},
	{"framering-spsc+futex", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_BLOCK, 1, 1, 0},
	/* 2 slots: half the memory in flight (2 x 6 MB at 1920x1080x3) */
	{"framering-spsc-2slots", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_DEFAULT, 0, 0, 2},
	{"framering-mpmc", &bench_tp_framering, FR_MPMC, 1, BENCH_WAIT_DEFAULT, 0, 0, 0},
	{"framering-broadcast-1", &bench_tp_framering, FR_BROADCAST, 1, BENCH_WAIT_DEFAULT, 0, 0, 0},
	{"framering-broadcast-3", &bench_tp_framering, FR_BROADCAST, 3, BENCH_WAIT_DEFAULT, 0, 0, 0},
	/* the physical floor: one buffer, three counters, both sides spinning */
	{"floor-spin", &bench_tp_floor, 0, 1, BENCH_WAIT_SPIN, 1, 0, 0},
	{"pipe", &bench_tp_pipe, 0, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"unix", &bench_tp_unix, 0, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"tcp", &bench_tp_tcp, 0, 1, BENCH_WAIT_DEFAULT, 0, 0, 0},
#ifdef BENCH_HAVE_ICEORYX
	{"iceoryx", &bench_tp_iceoryx, 0, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"iceoryx+spin", &bench_tp_iceoryx, 0, 1, BENCH_WAIT_SPIN, 1, 0, 0},
#endif
};
#define NVARIANTS ((int)(sizeof(variants) / sizeof(variants[0])))

struct params {
	int quick;
	int reps;
	struct bench_timing timing;
	int idle_ms;
	int no_iceoryx;
	const char *only;
	const char *size;
	const char *csv;
	const char *idle_csv;
};

static struct params P;

/* --quick: a few milliseconds per phase, enough to see that the data arrives intact */
static const struct bench_timing timing_quick = {
	.warm_s = 0.002, .lat_s = 0.005, .tput_s = 0.01,
	.warm_frames = 3, .min_lat = 3, .min_tput = 3,
};
static const struct bench_timing timing_full = {
	.warm_s = 0.01, .lat_s = 0.08, .tput_s = 0.1,
	.warm_frames = 200, .min_lat = 10, .min_tput = 10,
};

static struct bench_run run_spec(const struct variant *v, size_t bytes, int touch)
{
	struct bench_run spec = {
		.tp = v->tp,
		.wait = v->wait,
		.mode = v->mode,
		.consumers = v->consumers,
		.slots = v->slots,
		.frame_bytes = bytes,
		.touch = touch,
	};
	return spec;
}

/* ---- statistics and output -------------------------------------------------- */

/* Median and range of one figure (a double at offset @off) over the good repetitions. */
static struct spread stat_of(const struct rep_result *r, int n, size_t off)
{
	double v[64];
	size_t k = 0;
	for (int i = 0; i < n && k < 64; i++)
		if (r[i].status == 0)
			v[k++] = *(const double *)((const char *)&r[i] + off);
	return spread_of(v, k);
}

/* The repetition whose frames/s is the median (its frames and seconds go to the CSV). */
static const struct rep_result *median_rep(const struct rep_result *r, int n)
{
	struct spread s = stat_of(r, n, offsetof(struct rep_result, fps));
	for (int i = 0; i < n; i++)
		if (r[i].status == 0 && r[i].fps == s.med)
			return &r[i];
	return NULL;
}

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

static void num(char *out, size_t len, double v)
{
	double a = v < 0 ? -v : v;
	snprintf(out, len, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f", v);
}

/* "median (min-max)", or the value alone for a single repetition */
static void cell(char *out, size_t len, struct spread s, int use_si)
{
	char a[24], b[24], c[24];
	void (*f)(char *, size_t, double) = use_si ? si : num;
	f(a, sizeof(a), s.med);
	f(b, sizeof(b), s.min);
	f(c, sizeof(c), s.max);
	if (P.reps == 1)
		snprintf(out, len, "%s", a);
	else
		snprintf(out, len, "%s (%s-%s)", a, b, c);
}

/* ---- main ------------------------------------------------------------------- */

static struct rep_result *results; /* [variant][workload][size][rep] */

static struct rep_result *res_at(int v, int w, int s, int rep)
{
	return &results[(((size_t)v * NWORKLOADS + (size_t)w) * NSIZES + (size_t)s) * (size_t)P.reps +
			(size_t)rep];
}

/* --only: comma-separated names; a name ending in '*' is a prefix */
static int variant_selected(const struct variant *v)
{
	const char *p = P.only;
	if (!p)
		return 1;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n > 0 && p[n - 1] == '*') {
			if (!strncmp(v->name, p, n - 1))
				return 1;
		} else if (n == strlen(v->name) && !strncmp(v->name, p, n)) {
			return 1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int applies(const struct variant *v, int w)
{
	return variant_selected(v) && !(v->handoff_only && w != 0);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: framering-bench [--quick] [--reps N] [--only LIST] [--size LABEL] [--csv FILE]\n"
		"                       [--idle-csv FILE] [--no-iceoryx] [--iceoryx-config] [--list]\n"
		"  --quick           CI check: every transport runs once per size and workload,\n"
		"                    for a few milliseconds, and must deliver correct data\n"
		"  --reps N          repetitions per figure (default 7; --quick: 1); medians are reported\n"
		"  --only LIST       only these transports (comma-separated; 'framering*' = prefix)\n"
		"  --size LABEL      only this frame size (64B, 640x480x3, 1920x1080x3, 3840x2160x3)\n"
		"  --csv FILE        write the results table as CSV\n"
		"  --idle-csv FILE   write the idle-consumer CPU figures as CSV\n"
		"  --no-iceoryx      skip the iceoryx rows (no RouDi daemon running)\n"
		"  --iceoryx-config  print a RouDi mempool configuration for these frame sizes\n"
		"  --list            list the transports and exit\n");
}

/* Can an iceoryx runtime register with RouDi? (0 yes, else message in why) */
static int iceoryx_probe(struct job_env *env, char *why, size_t len)
{
#ifdef BENCH_HAVE_ICEORYX
	const struct variant *v = NULL;
	struct job j;
	struct rep_result r;
	for (int i = 0; i < NVARIANTS; i++)
		if (variants[i].tp == &bench_tp_iceoryx) {
			v = &variants[i];
			break;
		}
	/* An idle measurement with a short wait: registers, connects, exits. */
	struct bench_run spec = run_spec(v, 64, 0);
	job_run(&j, env, &spec, 1, &r, 5);
	if (r.status != 0) {
		snprintf(why, len, "iox-roudi not reachable (%s)",
			 j.msg[0] ? j.msg : "registration failed");
		return -1;
	}
	return 0;
#else
	(void)env;
	snprintf(why, len, "built without the iceoryx C binding (libiceoryx-binding-c-dev)");
	return -1;
#endif
}

int main(int argc, char **argv)
{
	int list = 0, failures = 0, reps_given = 0;
	char iox_why[400] = "";

	P.reps = 7;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--quick")) {
			P.quick = 1;
		} else if (!strcmp(a, "--reps") && i + 1 < argc) {
			P.reps = atoi(argv[++i]);
			reps_given = 1;
		} else if (!strcmp(a, "--only") && i + 1 < argc) {
			P.only = argv[++i];
		} else if (!strcmp(a, "--size") && i + 1 < argc) {
			P.size = argv[++i];
		} else if (!strcmp(a, "--csv") && i + 1 < argc) {
			P.csv = argv[++i];
		} else if (!strcmp(a, "--idle-csv") && i + 1 < argc) {
			P.idle_csv = argv[++i];
		} else if (!strcmp(a, "--no-iceoryx")) {
			P.no_iceoryx = 1;
		} else if (!strcmp(a, "--iceoryx-config")) {
#ifdef BENCH_HAVE_ICEORYX
			size_t b[NSIZES];
			for (int k = 0; k < NSIZES; k++)
				b[k] = sizes[k].bytes;
			bench_iceoryx_print_config(b, NSIZES);
			return 0;
#else
			fprintf(stderr, "framering-bench: built without iceoryx\n");
			return 1;
#endif
		} else if (!strcmp(a, "--list")) {
			list = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		for (int i = 0; i < NVARIANTS; i++)
			printf("%s\n", variants[i].name);
		return 0;
	}
	if (P.reps < 1 || P.reps > 64) {
		fprintf(stderr, "framering-bench: --reps must be 1..64\n");
		return 2;
	}
	if (P.quick) {
		if (!reps_given)
			P.reps = 1;
		P.timing = timing_quick;
		P.idle_ms = 50;
	} else {
		P.timing = timing_full;
		P.idle_ms = 1000;
	}
	signal(SIGPIPE, SIG_IGN);
	struct job_env env;
	job_env_init(&env, &P.timing);

	results = calloc((size_t)NVARIANTS * NWORKLOADS * NSIZES * (size_t)P.reps, sizeof(*results));
	if (!results)
		return 1;
	for (size_t i = 0; i < (size_t)NVARIANTS * NWORKLOADS * NSIZES * (size_t)P.reps; i++)
		results[i].status = -2;

	/* which variants run at all */
	int skip[NVARIANTS];
	char skip_msg[NVARIANTS][400];
	int failed[NVARIANTS];
	memset(skip, 0, sizeof(skip));
	memset(failed, 0, sizeof(failed));
	int need_iox = 0;
	for (int v = 0; v < NVARIANTS; v++)
		if (variant_selected(&variants[v]) && !strncmp(variants[v].name, "iceoryx", 7))
			need_iox = 1;
	if (need_iox) {
		if (P.no_iceoryx)
			snprintf(iox_why, sizeof(iox_why), "iox-roudi not started (--no-iceoryx)");
		else
			(void)iceoryx_probe(&env, iox_why, sizeof(iox_why));
	}
#ifndef BENCH_HAVE_ICEORYX
	snprintf(iox_why, sizeof(iox_why),
		 "built without the iceoryx C binding (libiceoryx-binding-c-dev)");
	if (!P.only || strstr(P.only, "iceoryx"))
		fprintf(stderr, "SKIP iceoryx: %s\n", iox_why);
#endif
	for (int v = 0; v < NVARIANTS; v++) {
		if (!strncmp(variants[v].name, "iceoryx", 7) && iox_why[0]) {
			skip[v] = 1;
			snprintf(skip_msg[v], sizeof(skip_msg[v]), "%s", iox_why);
			if (variant_selected(&variants[v]))
				fprintf(stderr, "SKIP %s: %s\n", variants[v].name, iox_why);
		}
	}

	fprintf(stderr, "framering-bench: %d CPUs available%s, %d repetition(s)\n", env.ncpus,
		env.ncpus >= 2 ? " (producer and consumer pinned to different CPUs)" : " (no pinning)",
		P.reps);

	uint64_t t_all = bench_now_ns();
	/* Repetitions outermost: the VM's cross-core latency changes for seconds at a
	 * time, so every figure's repetitions are spread over the whole run, and
	 * transports of the same size and workload run back to back. */
	for (int rep = 0; rep < P.reps; rep++) {
		for (int s = 0; s < NSIZES; s++) {
			if (P.size && strcmp(P.size, sizes[s].label))
				continue;
			for (int w = 0; w < NWORKLOADS; w++) {
				fprintf(stderr, "  %-12s %-8s rep %d/%d:", sizes[s].label, workloads[w],
					rep + 1, P.reps);
				for (int v = 0; v < NVARIANTS; v++) {
					const struct variant *var = &variants[v];
					struct rep_result *r = res_at(v, w, s, rep);
					struct job j;
					if (!applies(var, w) || skip[v])
						continue;
					struct bench_run spec = run_spec(var, sizes[s].bytes, w == 1);
					job_run(&j, &env, &spec, 0, r, JOB_TIMEOUT_S);
					if (r->status == BENCH_SKIP) {
						skip[v] = 1;
						snprintf(skip_msg[v], sizeof(skip_msg[v]), "%s", j.msg);
						fprintf(stderr, "\nSKIP %s: %s\n", var->name, j.msg);
					} else if (r->status != 0) {
						failures++;
						/* a broken transport is not retried: timeouts would eat the run */
						if (++failed[v] >= 2) {
							skip[v] = 2;
							snprintf(skip_msg[v], sizeof(skip_msg[v]), "failed: %.380s",
								 j.msg);
						}
						fprintf(stderr, "\nFAIL %s %s %s: %s\n", var->name,
							workloads[w], sizes[s].label, j.msg);
					} else {
						fputc('.', stderr);
					}
				}
				fputc('\n', stderr);
			}
		}
	}

	/* idle consumers: every selected idle variant at once, P.reps times */
	struct rep_result idle_res[NVARIANTS][64];
	for (int v = 0; v < NVARIANTS; v++)
		for (int rep = 0; rep < P.reps; rep++)
			idle_res[v][rep].status = -2;
	fprintf(stderr, "  idle consumer, %d ms wait:", P.idle_ms);
	for (int rep = 0; rep < P.reps; rep++) {
		struct job jobs[NVARIANTS];
		int started[NVARIANTS];
		for (int v = 0; v < NVARIANTS; v++) {
			started[v] = 0;
			if (!variants[v].idle || !variant_selected(&variants[v]) || skip[v])
				continue;
			struct bench_run spec = run_spec(&variants[v], 64, 0);
			int rc = job_start(&jobs[v], &env, &spec, P.idle_ms);
			if (rc)
				job_cleanup_failed_start(&jobs[v], &idle_res[v][rep], rc);
			else
				started[v] = 1;
		}
		for (int v = 0; v < NVARIANTS; v++) {
			if (!started[v])
				continue;
			job_finish(&jobs[v], &idle_res[v][rep], JOB_TIMEOUT_S);
			if (idle_res[v][rep].status != 0 && idle_res[v][rep].status != BENCH_SKIP) {
				failures++;
				fprintf(stderr, "\nFAIL %s idle: %s\n", variants[v].name, jobs[v].msg);
			}
		}
		fputc('.', stderr);
	}
	fprintf(stderr, "\nframering-bench: measured in %.1f s\n",
		(double)(bench_now_ns() - t_all) / 1e9);

	/* the table (markdown) */
	printf("| transport | workload | frame | frames/s | GB/s | latency p50 us | p99 us | p99.9 us |\n");
	printf("|---|---|---|---:|---:|---:|---:|---:|\n");
	for (int v = 0; v < NVARIANTS; v++) {
		if (!variant_selected(&variants[v]))
			continue;
		if (skip[v] == 1) {
			printf("| %s | - | - | skipped: %s | | | | |\n", variants[v].name, skip_msg[v]);
			continue;
		}
		for (int w = 0; w < NWORKLOADS; w++) {
			if (!applies(&variants[v], w))
				continue;
			for (int s = 0; s < NSIZES; s++) {
				const struct rep_result *r = res_at(v, w, s, 0);
				char f[128], g[128], l50[128], l99[128], l999[128];
				if (!median_rep(r, P.reps)) {
					if (!P.size || !strcmp(P.size, sizes[s].label))
						printf("| %s | %s | %s | failed or not run | | | | |\n",
						       variants[v].name, workloads[w], sizes[s].label);
					continue;
				}
				cell(f, sizeof(f), stat_of(r, P.reps, offsetof(struct rep_result, fps)), 1);
				cell(g, sizeof(g), stat_of(r, P.reps, offsetof(struct rep_result, gbps)), 0);
				cell(l50, sizeof(l50), stat_of(r, P.reps, offsetof(struct rep_result, p50)), 0);
				cell(l99, sizeof(l99), stat_of(r, P.reps, offsetof(struct rep_result, p99)), 0);
				cell(l999, sizeof(l999), stat_of(r, P.reps, offsetof(struct rep_result, p999)),
				     0);
				printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", variants[v].name,
				       workloads[w], sizes[s].label, f, g, l50, l99, l999);
			}
		}
	}
	printf("\nEach cell: median (min-max) of %d repetition(s). Latency is one way (ping-pong round "
	       "trip / 2).\n",
	       P.reps);

	printf("\n| idle consumer (blocked %d ms) | CPU %% of one core |\n|---|---:|\n", P.idle_ms);
	for (int v = 0; v < NVARIANTS; v++) {
		if (!variants[v].idle || !variant_selected(&variants[v]) || skip[v])
			continue;
		struct spread st = stat_of(idle_res[v], P.reps, offsetof(struct rep_result, cpu_pct));
		char cc[96];
		if (P.reps == 1)
			snprintf(cc, sizeof(cc), "%.3f", st.med);
		else
			snprintf(cc, sizeof(cc), "%.3f (%.3f-%.3f)", st.med, st.min, st.max);
		printf("| %s | %s |\n", variants[v].name, cc);
	}

	if (P.csv) {
		FILE *f = fopen(P.csv, "w");
		if (!f) {
			fprintf(stderr, "framering-bench: %s: %s\n", P.csv, strerror(errno));
			return 1;
		}
		fprintf(f, "transport,workload,frame_bytes,frames,seconds,fps,gbps,lat_p50_us,lat_p99_us,"
			   "lat_p999_us\n");
		for (int v = 0; v < NVARIANTS; v++) {
			if (!variant_selected(&variants[v]) || skip[v] == 1)
				continue;
			for (int w = 0; w < NWORKLOADS; w++) {
				if (!applies(&variants[v], w))
					continue;
				for (int s = 0; s < NSIZES; s++) {
					const struct rep_result *r = res_at(v, w, s, 0);
					const struct rep_result *m = median_rep(r, P.reps);
					if (!m)
						continue;
					fprintf(f, "%s,%s,%zu,%" PRIu64 ",%.6f,%.1f,%.4f,%.3f,%.3f,%.3f\n",
						variants[v].name, workloads[w], sizes[s].bytes, m->frames,
						m->seconds, m->fps, m->gbps,
						stat_of(r, P.reps, offsetof(struct rep_result, p50)).med,
						stat_of(r, P.reps, offsetof(struct rep_result, p99)).med,
						stat_of(r, P.reps, offsetof(struct rep_result, p999)).med);
				}
			}
		}
		fclose(f);
	}
	if (P.idle_csv) {
		FILE *f = fopen(P.idle_csv, "w");
		if (!f) {
			fprintf(stderr, "framering-bench: %s: %s\n", P.idle_csv, strerror(errno));
			return 1;
		}
		fprintf(f, "transport,wait_ms,cpu_pct,cpu_pct_min,cpu_pct_max\n");
		for (int v = 0; v < NVARIANTS; v++) {
			if (!variants[v].idle || !variant_selected(&variants[v]) || skip[v])
				continue;
			struct spread st = stat_of(idle_res[v], P.reps, offsetof(struct rep_result, cpu_pct));
			fprintf(f, "%s,%d,%.4f,%.4f,%.4f\n", variants[v].name, P.idle_ms, st.med, st.min,
				st.max);
		}
		fclose(f);
	}
	free(results);
	if (failures) {
		fprintf(stderr, "framering-bench: %d measurement(s) FAILED\n", failures);
		return 1;
	}
	return 0;
}
