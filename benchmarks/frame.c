/*
 * Frame contents. touch: word i of the frame holds pattern(counter) + (i % 512),
 * the header excepted. The producer writes it the fastest way a CPU writes
 * memory: one 4 KiB pattern block built per frame, then copied over the whole
 * frame. The consumer reads every word once, to sum it.
 */
#include "frame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define TPL_WORDS 512u

static inline uint64_t pattern(uint64_t counter)
{
	return counter * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
}

static void fill_pattern(void *buf, size_t bytes, uint64_t counter)
{
	uint64_t tpl[TPL_WORDS];
	uint64_t p = pattern(counter);
	char *dst = buf;
	for (size_t i = 0; i < TPL_WORDS; i++)
		tpl[i] = p + i;
	size_t off = 0;
	for (; off + sizeof(tpl) <= bytes; off += sizeof(tpl))
		memcpy(dst + off, tpl, sizeof(tpl));
	memcpy(dst + off, tpl, bytes - off);
}

/* Sum of the 64-bit words after the header. */
static uint64_t sum_body(const void *buf, size_t bytes)
{
	const uint64_t *w = (const uint64_t *)buf + sizeof(struct bench_hdr) / 8;
	size_t n = (bytes - sizeof(struct bench_hdr)) / 8;
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += w[i];
	return s;
}

/* The sum of (i % TPL_WORDS) over the words i in [0, n). */
static uint64_t index_sum(uint64_t n)
{
	uint64_t q = n / TPL_WORDS, r = n % TPL_WORDS;
	return q * (TPL_WORDS * (TPL_WORDS - 1) / 2) + r * (r - 1) / 2;
}

/* What sum_body() must find: each body word is pattern(counter) + its index term. */
static uint64_t expected_sum(size_t bytes, uint64_t counter)
{
	size_t first = sizeof(struct bench_hdr) / 8, n = bytes / 8;
	return pattern(counter) * (uint64_t)(n - first) + index_sum(n) - index_sum(first);
}

void frame_fill(void *buf, size_t bytes, uint64_t counter, uint64_t flags, int touch)
{
	if (touch)
		fill_pattern(buf, bytes, counter);
	struct bench_hdr h = {
		.magic = BENCH_MAGIC,
		.counter = counter,
		.t_ns = bench_now_ns(),
		.flags = flags,
		.bytes = bytes,
	};
	memcpy(buf, &h, sizeof(h));
}

int frame_check(const void *buf, size_t bytes, uint64_t expected, int touch,
		struct bench_hdr *hdr, char *why, size_t whylen)
{
	memcpy(hdr, buf, sizeof(*hdr));
	if (hdr->magic != BENCH_MAGIC || hdr->counter != expected || hdr->bytes != bytes) {
		snprintf(why, whylen,
			 "bad frame: magic %" PRIx64 " counter %" PRIu64 " (expected %" PRIu64
			 ") bytes %" PRIu64,
			 hdr->magic, hdr->counter, expected, hdr->bytes);
		return -EPROTO;
	}
	if (touch && sum_body(buf, bytes) != expected_sum(bytes, hdr->counter)) {
		snprintf(why, whylen, "frame %" PRIu64 ": wrong pixel data (sum)", hdr->counter);
		return -EPROTO;
	}
	return 0;
}
