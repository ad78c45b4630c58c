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
 *
 * The files: main.c parses the options and runs every measurement; plan.c
 * lists what is measured; job.c runs one measurement (fork, pin, reap) whose
 * processes are producer.c and consumer.c, meeting in ctl.c's control block;
 * frame.c fills and checks the frames; machine.c measures what the machine
 * itself allows (cross-core probe, touch writer and reader alone) in the same
 * run; bracket.c measures the issue 15 targets' rows between two runs of their
 * reference; results.c, stats.c and report.c turn the figures into tables and CSV;
 * os.c has the system helpers; each transport_*.c fills in a struct
 * bench_transport (bench.h).
 */
#include "bench.h"
#include "bracket.h"
#include "job.h"
#include "machine.h"
#include "plan.h"
#include "report.h"
#include "results.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --quick: a few milliseconds per phase, enough to see the data arrive intact */
static const struct bench_timing timing_quick = {
	.warm_s = 0.002,
	.lat_s = 0.005,
	.tput_s = 0.01,
	.warm_frames = 3,
	.min_lat = 3,
	.min_tput = 3,
};
static const struct bench_timing timing_full = {
	.warm_s = 0.01,
	.lat_s = 0.08,
	.tput_s = 0.1,
	.warm_frames = 200,
	.min_lat = 10,
	.min_tput = 10,
};
#define IDLE_MS_QUICK 50
#define IDLE_MS_FULL 1000
/* the machine's own figures (machine.h): the probe, then the touch writer and reader */
#define PROBE_S_QUICK 0.001
#define PROBE_S_FULL 0.005
#define TOUCH_S_QUICK 0.002
#define TOUCH_S_FULL 0.02
#define REPS_DEFAULT 7

/* Everything one invocation works with. */
struct bench {
	struct bench_params params;
	struct job_env env;
	struct results res;
	int failures; /* measurements that failed */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: framering-bench [--quick] [--reps N] [--only LIST] [--size LABEL] [--csv FILE]\n"
		"                       [--idle-csv FILE] [--machine-csv FILE] [--reps-csv FILE]\n"
		"                       [--pairs-csv FILE] [--pair-reps N]\n"
		"                       [--no-iceoryx] [--iceoryx-config] [--list]\n"
		"  --quick           CI check: every transport runs once per size and workload,\n"
		"                    for a few milliseconds, and must deliver correct data\n"
		"  --reps N          repetitions per figure (default 7; --quick: 1); medians are reported\n"
		"  --only LIST       only these transports (comma-separated; 'framering*' = prefix)\n"
		"  --size LABEL      only this frame size (64B, 640x480x3, 1920x1080x3, 3840x2160x3)\n"
		"  --csv FILE        write the results table as CSV\n"
		"  --idle-csv FILE   write the idle-consumer CPU figures as CSV\n"
		"  --machine-csv FILE  write the machine's own figures (cross-core probe, touch\n"
		"                    writer and reader alone) as CSV\n"
		"  --reps-csv FILE   every repetition that delivered, as CSV, under the header\n"
		"      transport,workload,frame_bytes,rep,fps,lat_p50_us,lat_p99_us,probe_ns\n"
		"                    (rep: 1..N; probe_ns: the cross-core probe that began that\n"
		"                    repetition's block of that size and workload, empty if none)\n"
		"  --pairs-csv FILE  after the table, measure the issue 15 targets' rows right\n"
		"                    between two runs of their reference (floor or iceoryx),\n"
		"                    N times, and write every bracketed pair under the header\n"
		"      " PAIRS_CSV_HEADER "\n"
		"  --pair-reps N     repetitions of the bracketed pairs (default %d with\n"
		"                    --pairs-csv, --quick: 1; 0: none)\n"
		"  --no-iceoryx      skip the iceoryx rows (no RouDi daemon running)\n"
		"  --iceoryx-config  print a RouDi mempool configuration for these frame sizes\n"
		"  --list            list the transports and exit\n",
		PAIR_REPS_DEFAULT);
}

static int print_iceoryx_config(void)
{
#ifdef BENCH_HAVE_ICEORYX
	size_t bytes[BENCH_NSIZES];
	for (int s = 0; s < BENCH_NSIZES; s++)
		bytes[s] = bench_sizes[s].bytes;
	bench_iceoryx_print_config(bytes, BENCH_NSIZES);
	return 0;
#else
	fprintf(stderr, "framering-bench: built without iceoryx\n");
	return 1;
#endif
}

/*
 * The command line into @p. -1: go on and measure; otherwise the exit status,
 * after --help, --list or --iceoryx-config did their job or an error was shown.
 */
static int parse_args(int argc, char **argv, struct bench_params *p)
{
	int list = 0, reps_given = 0;

	memset(p, 0, sizeof(*p));
	p->reps = REPS_DEFAULT;
	p->pair_reps = -1; /* not given */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--quick")) {
			p->quick = 1;
		} else if (!strcmp(a, "--reps") && i + 1 < argc) {
			p->reps = atoi(argv[++i]);
			reps_given = 1;
		} else if (!strcmp(a, "--only") && i + 1 < argc) {
			p->only = argv[++i];
		} else if (!strcmp(a, "--size") && i + 1 < argc) {
			p->size = argv[++i];
		} else if (!strcmp(a, "--csv") && i + 1 < argc) {
			p->csv = argv[++i];
		} else if (!strcmp(a, "--idle-csv") && i + 1 < argc) {
			p->idle_csv = argv[++i];
		} else if (!strcmp(a, "--machine-csv") && i + 1 < argc) {
			p->machine_csv = argv[++i];
		} else if (!strcmp(a, "--reps-csv") && i + 1 < argc) {
			p->reps_csv = argv[++i];
		} else if (!strcmp(a, "--pairs-csv") && i + 1 < argc) {
			p->pairs_csv = argv[++i];
		} else if (!strcmp(a, "--pair-reps") && i + 1 < argc) {
			p->pair_reps = atoi(argv[++i]);
			if (p->pair_reps < 0 || p->pair_reps > BENCH_MAX_REPS) {
				fprintf(stderr, "framering-bench: --pair-reps must be 0..%d\n",
					BENCH_MAX_REPS);
				return 2;
			}
		} else if (!strcmp(a, "--no-iceoryx")) {
			p->no_iceoryx = 1;
		} else if (!strcmp(a, "--iceoryx-config")) {
			return print_iceoryx_config();
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
		for (int v = 0; v < bench_nvariants; v++)
			printf("%s\n", bench_variants[v].name);
		return 0;
	}
	if (p->reps < 1 || p->reps > BENCH_MAX_REPS) {
		fprintf(stderr, "framering-bench: --reps must be 1..%d\n", BENCH_MAX_REPS);
		return 2;
	}
	if (p->quick && !reps_given)
		p->reps = 1;
	if (p->pair_reps < 0)
		p->pair_reps = !p->pairs_csv ? 0 : p->quick ? 1 : PAIR_REPS_DEFAULT;
	p->timing = p->quick ? timing_quick : timing_full;
	p->idle_ms = p->quick ? IDLE_MS_QUICK : IDLE_MS_FULL;
	p->probe_s = p->quick ? PROBE_S_QUICK : PROBE_S_FULL;
	p->touch_s = p->quick ? TOUCH_S_QUICK : TOUCH_S_FULL;
	return -1;
}

#ifdef BENCH_HAVE_ICEORYX
/* Can an iceoryx runtime register with RouDi? 0 yes, else -1 with the reason in @why. */
static int iceoryx_probe(struct job_env *env, char *why, size_t len)
{
	const struct variant *v = NULL;
	struct job j;
	struct rep_result r;
	for (int i = 0; i < bench_nvariants && !v; i++)
		if (bench_variants[i].tp == &bench_tp_iceoryx)
			v = &bench_variants[i];
	/* An idle measurement with a short wait: registers, connects, exits. */
	struct bench_run spec = variant_run_spec(v, 64, 0);
	job_run(&j, env, &spec, 1, &r, 5);
	if (r.status != 0) {
		snprintf(why, len, "iox-roudi not reachable (%s)",
			 j.msg[0] ? j.msg : "registration failed");
		return -1;
	}
	return 0;
}
#endif

/* Skip the iceoryx variants, saying why, when no RouDi daemon can serve them. */
static void skip_iceoryx_if_unreachable(struct bench *b)
{
#ifdef BENCH_HAVE_ICEORYX
	char why[400] = "";
	int wanted = 0;
	for (int v = 0; v < bench_nvariants; v++)
		if (bench_variants[v].tp == &bench_tp_iceoryx &&
		    variant_selected(&b->params, &bench_variants[v]))
			wanted = 1;
	if (!wanted)
		return;
	if (b->params.no_iceoryx)
		snprintf(why, sizeof(why), "iox-roudi not started (--no-iceoryx)");
	else if (iceoryx_probe(&b->env, why, sizeof(why)) == 0)
		return;
	for (int v = 0; v < bench_nvariants; v++) {
		const struct variant *var = &bench_variants[v];
		struct variant_status *st = &b->res.variant[v];
		if (var->tp != &bench_tp_iceoryx)
			continue;
		st->state = VARIANT_SKIPPED;
		snprintf(st->why, sizeof(st->why), "%s", why);
		if (variant_selected(&b->params, var))
			fprintf(stderr, "SKIP %s: %s\n", var->name, why);
	}
#else
	/* no iceoryx variants to skip; say why they are missing if they were asked for */
	if (!b->params.only || strstr(b->params.only, "iceoryx"))
		fprintf(stderr, "SKIP iceoryx: %s\n",
			"built without the iceoryx C binding (libiceoryx-binding-c-dev)");
#endif
}

/* One repetition of one figure, if variant @v runs it. */
static void measure_one(struct bench *b, int v, int w, int s, int rep)
{
	const struct variant *var = &bench_variants[v];
	struct variant_status *st = &b->res.variant[v];
	struct rep_result *r = results_at(&b->res, v, w, s, rep);
	struct job j;

	if (!variant_runs(&b->params, var, w) || st->state != VARIANT_RUNS)
		return;
	struct bench_run spec = variant_run_spec(var, bench_sizes[s].bytes, w == WORKLOAD_TOUCH);
	job_run(&j, &b->env, &spec, 0, r, JOB_TIMEOUT_S);
	if (r->status == BENCH_SKIP) {
		st->state = VARIANT_SKIPPED;
		snprintf(st->why, sizeof(st->why), "%s", j.msg);
		fprintf(stderr, "\nSKIP %s: %s\n", var->name, j.msg);
	} else if (r->status != 0) {
		b->failures++;
		/* a broken transport is not retried: timeouts would eat the run */
		if (++st->failures >= 2)
			st->state = VARIANT_BROKEN;
		fprintf(stderr, "\nFAIL %s %s %s: %s\n", var->name, bench_workloads[w],
			bench_sizes[s].label, j.msg);
	} else {
		fputc('.', stderr);
	}
}

/* Does any chosen variant run workload @w? */
static int workload_wanted(const struct bench *b, int w)
{
	for (int v = 0; v < bench_nvariants; v++)
		if (variant_runs(&b->params, &bench_variants[v], w) &&
		    b->res.variant[v].state == VARIANT_RUNS)
			return 1;
	return 0;
}

/* The machine's own figures before block (@s, @w) of repetition @rep (machine.h). */
static void measure_machine(struct bench *b, int rep, int s, int w)
{
	const struct bench_params *p = &b->params;
	double *probe = results_probe_at(&b->res, rep, s, w);
	*probe = machine_probe_ns(&b->env, p->probe_s);
	if (*probe >= 0)
		fprintf(stderr, " [probe %.0f ns]", *probe);
	if (w != WORKLOAD_TOUCH || bench_sizes[s].bytes <= sizeof(struct bench_hdr))
		return;
	size_t i = (size_t)rep * BENCH_NSIZES + (size_t)s;
	if (machine_touch_gbps(&b->env, bench_sizes[s].bytes, p->touch_s, &b->res.write_gbps[i],
			       &b->res.read_gbps[i])) {
		b->failures++;
		fprintf(stderr, "\nFAIL touch writer/reader alone, %s\n", bench_sizes[s].label);
		return;
	}
	fprintf(stderr, " [write %.0f, read %.0f GB/s]", b->res.write_gbps[i],
		b->res.read_gbps[i]);
}

/*
 * Repetitions outermost: the VM's cross-core latency changes for seconds at a
 * time, so every figure's repetitions are spread over the whole run, and
 * transports of the same size and workload run back to back. Each repetition
 * starts the block one variant later, so that no variant always runs first
 * (after the probe and the reader, or after the same neighbour) while the
 * rows compared with each other stay next to each other in time. Each block
 * begins with the cross-core probe, so the table can be read against the
 * state the machine was in.
 */
static void measure_all(struct bench *b)
{
	for (int rep = 0; rep < b->params.reps; rep++) {
		for (int s = 0; s < BENCH_NSIZES; s++) {
			if (!size_selected(&b->params, &bench_sizes[s]))
				continue;
			for (int w = 0; w < NWORKLOADS; w++) {
				if (!workload_wanted(b, w))
					continue;
				fprintf(stderr, "  %-12s %-8s rep %d/%d", bench_sizes[s].label,
					bench_workloads[w], rep + 1, b->params.reps);
				measure_machine(b, rep, s, w);
				fputc(':', stderr);
				for (int i = 0; i < bench_nvariants; i++)
					measure_one(b, (i + rep) % bench_nvariants, w, s, rep);
				fputc('\n', stderr);
			}
		}
	}
}

/* The idle-consumer test: every chosen idle variant at once, reps times. */
static void measure_idle(struct bench *b)
{
	fprintf(stderr, "  idle consumer, %d ms wait:", b->params.idle_ms);
	for (int rep = 0; rep < b->params.reps; rep++) {
		struct job jobs[BENCH_MAX_VARIANTS];
		int started[BENCH_MAX_VARIANTS] = {0};
		for (int v = 0; v < bench_nvariants; v++) {
			struct rep_result *r = results_idle_at(&b->res, v, rep);
			if (!results_idle_tested(&b->params, &b->res, v))
				continue;
			struct bench_run spec = variant_run_spec(&bench_variants[v], 64, 0);
			int rc = job_start(&jobs[v], &b->env, &spec, b->params.idle_ms);
			if (rc)
				job_cleanup_failed_start(&jobs[v], r, rc);
			else
				started[v] = 1;
		}
		for (int v = 0; v < bench_nvariants; v++) {
			struct rep_result *r = results_idle_at(&b->res, v, rep);
			if (!started[v])
				continue;
			job_finish(&jobs[v], r, JOB_TIMEOUT_S);
			if (r->status != 0 && r->status != BENCH_SKIP) {
				b->failures++;
				fprintf(stderr, "\nFAIL %s idle: %s\n", bench_variants[v].name,
					jobs[v].msg);
			}
		}
		fputc('.', stderr);
	}
}

/* Tables on stdout, CSV files if asked for; the exit status. */
static int report(const struct bench *b)
{
	report_table(&b->params, &b->res);
	report_machine(&b->params, &b->res);
	report_idle_table(&b->params, &b->res);
	if (b->params.csv && report_csv(&b->params, &b->res))
		return 1;
	if (b->params.idle_csv && report_idle_csv(&b->params, &b->res))
		return 1;
	if (b->params.machine_csv && report_machine_csv(&b->params, &b->res))
		return 1;
	if (b->params.reps_csv && report_reps_csv(&b->params, &b->res))
		return 1;
	if (b->failures) {
		fprintf(stderr, "framering-bench: %d measurement(s) FAILED\n", b->failures);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	int rc = parse_args(argc, argv, &b.params);
	if (rc >= 0)
		return rc;
	/* inherited by the children: a write to a dead peer fails with EPIPE, not a signal */
	signal(SIGPIPE, SIG_IGN);
	job_env_init(&b.env, &b.params.timing);
	if (results_init(&b.res, b.params.reps))
		return 1;
	skip_iceoryx_if_unreachable(&b);
	fprintf(stderr, "framering-bench: %d CPUs available%s, %d repetition(s)\n", b.env.ncpus,
		b.env.ncpus >= 2 ? " (producer and consumer pinned to different CPUs)"
				 : " (no pinning)",
		b.params.reps);

	FILE *pairs = NULL;
	if (b.params.pairs_csv && !(pairs = fopen(b.params.pairs_csv, "w"))) {
		fprintf(stderr, "framering-bench: %s: %s\n", b.params.pairs_csv, strerror(errno));
		results_free(&b.res);
		return 1;
	}
	uint64_t t0 = bench_now_ns();
	measure_all(&b);
	b.failures += bracket_run(&b.params, &b.env, b.res.variant, b.params.pair_reps, pairs);
	if (pairs && fclose(pairs) != 0) {
		fprintf(stderr, "framering-bench: %s: write failed\n", b.params.pairs_csv);
		b.failures++;
	}
	measure_idle(&b);
	fprintf(stderr, "\nframering-bench: measured in %.1f s\n",
		(double)(bench_now_ns() - t0) / 1e9);

	rc = report(&b);
	results_free(&b.res);
	return rc;
}
