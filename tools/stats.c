/* Rates, latency percentiles and the status line: see stats.h. */
#include "stats.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hist_reset(struct lat_hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* Bucket of v: values below 2^SUB are exact; above, SUB bits of mantissa. */
static unsigned bucket_of(uint64_t v)
{
	if (v < (1u << HIST_SUB_BITS))
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - HIST_SUB_BITS;
	unsigned sub = (unsigned)(v >> shift) & ((1u << HIST_SUB_BITS) - 1);
	return ((shift + 1) << HIST_SUB_BITS) + sub;
}

/* Largest value that falls in bucket b. */
static uint64_t bucket_top(unsigned b)
{
	if (b < (1u << HIST_SUB_BITS))
		return b;
	unsigned shift = (b >> HIST_SUB_BITS) - 1;
	uint64_t sub = b & ((1u << HIST_SUB_BITS) - 1);
	uint64_t low = ((uint64_t)(1u << HIST_SUB_BITS) + sub) << shift;
	return low + (((uint64_t)1 << shift) - 1);
}

void hist_add(struct lat_hist *h, uint64_t ns)
{
	unsigned b = bucket_of(ns);

	if (b >= HIST_BUCKETS)
		b = HIST_BUCKETS - 1;
	h->bucket[b]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

uint64_t hist_quantile(const struct lat_hist *h, double q)
{
	if (!h->count)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen > rank) {
			uint64_t top = bucket_top(b);
			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}

void stats_init(struct stats *s, const char *label, bool quiet, bool latency)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", label);
	s->quiet = quiet;
	s->latency = latency;
	s->drop_word = "drops";
	s->start_ns = s->last_ns = now_ns();
}

void stats_frame(struct stats *s, uint64_t bytes, uint64_t latency_ns)
{
	s->frames++;
	s->bytes += bytes;
	s->win_frames++;
	s->win_bytes += bytes;
	if (s->latency) {
		hist_add(&s->total, latency_ns);
		hist_add(&s->win, latency_ns);
	}
}

void stats_drops(struct stats *s, uint64_t n)
{
	s->drops += n;
	s->win_drops += n;
}

void stats_wait(struct stats *s, uint64_t ns)
{
	s->wait_ns += ns;
	s->win_wait_ns += ns;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static int latency_text(char *buf, size_t len, const struct lat_hist *h)
{
	if (!h->count)
		return snprintf(buf, len, "latency -");
	return snprintf(buf, len, "latency p50 %.3f ms p99 %.3f ms", ms(hist_quantile(h, 0.50)),
			ms(hist_quantile(h, 0.99)));
}

void stats_tick(struct stats *s)
{
	uint64_t now = now_ns();
	uint64_t dt = now - s->last_ns;
	char lat[64] = "";

	if (dt < 1000000000u)
		return;
	double sec = (double)dt / 1e9;
	if (!s->quiet) {
		if (s->latency)
			latency_text(lat, sizeof(lat), &s->win);
		else if (s->show_wait)
			snprintf(lat, sizeof(lat), "waiting for slots %3.0f%%",
				 100.0 * (double)s->win_wait_ns / (double)dt);
		char head[sizeof(s->label) + 2];
		snprintf(head, sizeof(head), "%s:", s->label);
		fprintf(stderr,
			"%-11s %6.1f fps %8.1f MB/s  %s%s%s %" PRIu64 "  frames %" PRIu64 "\n",
			head, (double)s->win_frames / sec, (double)s->win_bytes / sec / 1e6, lat,
			lat[0] ? "  " : "", s->drop_word, s->win_drops, s->frames);
	}
	s->last_ns = now;
	s->win_frames = s->win_bytes = s->win_drops = s->win_wait_ns = 0;
	hist_reset(&s->win);
}

void stats_summary(struct stats *s, const char *extra)
{
	double sec = (double)(now_ns() - s->start_ns) / 1e9;
	char lat[64] = "";

	if (sec <= 0)
		sec = 1e-9;
	if (s->latency) {
		latency_text(lat, sizeof(lat) - 2, &s->total);
		strcat(lat, ", ");
	}
	fprintf(stderr,
		"%s: summary: %" PRIu64 " frames in %.2f s, %.1f fps, %.1f MB/s, %s%s %" PRIu64
		"%s%s\n",
		s->label, s->frames, sec, (double)s->frames / sec, (double)s->bytes / sec / 1e6,
		lat, s->drop_word, s->drops, extra && extra[0] ? ", " : "", extra ? extra : "");
}
