/*
 * Frame contents. touch: word i of the frame holds pattern(counter) + (i % 512),
 * the header excepted. The producer writes it the fastest way a CPU writes
 * memory: one 4 KiB pattern block built per frame, then copied over the whole
 * frame with memcpy (the C library's vector copy, about 70 GB/s here at any
 * optimisation level; 4 KiB at a time, so it never switches to non-temporal
 * stores that would push the frame out of the cache). The consumer reads every
 * word once, to sum it.
 */
#include "frame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

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

/*
 * Sum of the 64-bit words after the header. The touch reader must never be the
 * bottleneck, whatever the optimisation level: a plain loop is one dependent add
 * per word (about 26 GB/s here at -O2, only -O3 vectorises it), so the words go
 * into four independent accumulators of two lanes each, written out as SSE2
 * (part of every x86-64) or as GCC vector extensions elsewhere, which -O1 and up
 * turn into loads and adds at the speed of the caches (about 94 GB/s here, -O2 and
 * -O3 alike). Unaligned loads: a transport's buffer is only 8-byte aligned for
 * sure, and on aligned data they cost the same. At -O0 the intrinsics go through
 * the stack (about 11 GB/s), so meson.build compiles this file at -O2 in every
 * build type, and the report says so if it was not.
 */
#if defined(__x86_64__)
static uint64_t sum_words(const uint64_t *w, size_t n)
{
	__m128i a = _mm_setzero_si128(), b = a, c = a, d = a;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		const __m128i *p = (const __m128i *)(const void *)(w + i);
		a = _mm_add_epi64(a, _mm_loadu_si128(p));
		b = _mm_add_epi64(b, _mm_loadu_si128(p + 1));
		c = _mm_add_epi64(c, _mm_loadu_si128(p + 2));
		d = _mm_add_epi64(d, _mm_loadu_si128(p + 3));
	}
	a = _mm_add_epi64(_mm_add_epi64(a, b), _mm_add_epi64(c, d));
	uint64_t lane[2], s;
	_mm_storeu_si128((__m128i *)(void *)lane, a);
	s = lane[0] + lane[1];
	for (; i < n; i++)
		s += w[i];
	return s;
}
#elif defined(__GNUC__)
typedef uint64_t u64x2 __attribute__((vector_size(16)));

static uint64_t sum_words(const uint64_t *w, size_t n)
{
	u64x2 a = {0, 0}, b = a, c = a, d = a;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		u64x2 x, y, z, t;
		/* memcpy: an unaligned, alias-safe vector load */
		memcpy(&x, w + i, sizeof(x));
		memcpy(&y, w + i + 2, sizeof(y));
		memcpy(&z, w + i + 4, sizeof(z));
		memcpy(&t, w + i + 6, sizeof(t));
		a += x;
		b += y;
		c += z;
		d += t;
	}
	a = a + b + c + d;
	uint64_t s = a[0] + a[1];
	for (; i < n; i++)
		s += w[i];
	return s;
}
#else
static uint64_t sum_words(const uint64_t *w, size_t n)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		a += w[i];
		b += w[i + 1];
		c += w[i + 2];
		d += w[i + 3];
	}
	for (; i < n; i++)
		a += w[i];
	return a + b + c + d;
}
#endif

static uint64_t sum_body(const void *buf, size_t bytes)
{
	const uint64_t *w = (const uint64_t *)buf + sizeof(struct bench_hdr) / 8;
	return sum_words(w, (bytes - sizeof(struct bench_hdr)) / 8);
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

int frame_unoptimised(void)
{
#ifdef __OPTIMIZE__
	return 0;
#else
	return 1;
#endif
}
