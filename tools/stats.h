/*
 * Rates and latency of a running pub/sub: frames/s, MB/s, latency p50/p99
 * (capture timestamp to acquire, CLOCK_MONOTONIC), drops; a one-line status
 * on stderr every second and a final summary.
 */
#ifndef FRAMERING_STATS_H
#define FRAMERING_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Log-linear histogram: 32 sub-buckets per power of two (about 3% resolution). */
#define HIST_SUB_BITS 5
#define HIST_BUCKETS (64 << HIST_SUB_BITS)

struct lat_hist {
	uint64_t count;
	uint64_t max;
	uint64_t bucket[HIST_BUCKETS];
};

void hist_reset(struct lat_hist *h);
void hist_add(struct lat_hist *h, uint64_t ns);
/* Value at quantile q (0..1): the upper edge of its bucket, capped at max. 0 if empty. */
uint64_t hist_quantile(const struct lat_hist *h, double q);

struct stats {
	char label[96];       /* "sub /cam" */
	bool quiet;           /* no status line */
	bool latency;         /* frames carry a capture timestamp worth reporting */
	const char *drop_word; /* "drops" (consumers), "skipped" (producers) */
	uint64_t start_ns;
	uint64_t last_ns;     /* last status line */
	uint64_t frames, bytes, drops, wait_ns;
	uint64_t win_frames, win_bytes, win_drops, win_wait_ns;
	bool show_wait;       /* producers: share of the second spent waiting for a slot */
	struct lat_hist total, win;
};

uint64_t now_ns(void); /* CLOCK_MONOTONIC */

void stats_init(struct stats *s, const char *label, bool quiet, bool latency);
/* One frame of @bytes; @latency_ns is ignored unless s->latency. */
void stats_frame(struct stats *s, uint64_t bytes, uint64_t latency_ns);
void stats_drops(struct stats *s, uint64_t n);
/* Time spent waiting for a free slot (producers). */
void stats_wait(struct stats *s, uint64_t ns);
/* Print the status line when a second has passed since the last one. */
void stats_tick(struct stats *s);
/*
 * Final summary, one line on stderr:
 * "<label>: summary: N frames in S s, F fps, M MB/s, latency p50 A ms p99 B ms, drops D[, extra]"
 * (no latency part unless s->latency)
 */
void stats_summary(struct stats *s, const char *extra);

#endif /* FRAMERING_STATS_H */
