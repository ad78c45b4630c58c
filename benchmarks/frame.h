/*
 * What a benchmark frame carries and how the consumer checks it: the 64-byte
 * header (struct bench_hdr) always, and in the touch workload a pattern over
 * every byte that the consumer sums up.
 */
#ifndef FRAMERING_BENCH_FRAME_H
#define FRAMERING_BENCH_FRAME_H

#include "bench.h"

#include <stddef.h>
#include <stdint.h>

/* Write the header (timestamped now) and, when @touch, the pattern for @counter. */
void frame_fill(void *buf, size_t bytes, uint64_t counter, uint64_t flags, int touch);

/*
 * Check a received frame: magic, @expected counter, size, and when @touch the
 * pattern's sum. 0 with the header in @hdr, or -EPROTO with the reason in @why.
 */
int frame_check(const void *buf, size_t bytes, uint64_t expected, int touch,
		struct bench_hdr *hdr, char *why, size_t whylen);

/* 1 when frame.c was compiled without optimisation: then the touch reader is slow. */
int frame_unoptimised(void);

#endif
