#include "test_broadcast_util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- payloads ------------------------------------------------------------- */

long bct_check_byte(const void *buf, uint64_t len, uint8_t b)
{
	const unsigned char *p = buf;
	uint64_t word = 0x0101010101010101ull * b, i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w != word)
			break;
	}
	for (; i < len; i++)
		if (p[i] != b)
			return (long)i;
	return -1;
}

/* ---- producer ------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static int fail(char *error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error, 256, fmt, ap);
	va_end(ap);
	fprintf(stderr, "[%d] %s\n", (int)getpid(), error);
	return -1;
}

int bct_produce(struct bct_producer *p)
{
	struct fr_ring *r = p->ring;
	int rc;
	if (!r && (rc = fr_open(p->name, FR_PRODUCER, &r)) != 0)
		return fail(p->error, "producer fr_open: %d (%s)", rc, fr_strerror(rc));
	int timeout = p->claim_timeout_ms;
	int result = 0;
	for (uint64_t seq = p->first;; seq++) {
		if (p->stop ? (atomic_load(p->stop) && seq >= p->count) : seq >= p->count)
			break;
		struct fr_frame f;
		rc = fr_claim(r, &f, timeout);
		if (rc != 0) {
			result = fail(p->error, "fr_claim for seq %llu: %d (%s)%s",
				      (unsigned long long)seq, rc, fr_strerror(rc),
				      timeout == 0 ? ": the producer had to wait" : "");
			break;
		}
		uint64_t len;
		if (p->pattern == BCT_PATTERN_SUM) {
			len = frt_frame_len(seq, p->min_len, p->max_len);
			if (len > f.capacity) {
				result = fail(p->error, "capacity %llu < %llu",
					      (unsigned long long)f.capacity,
					      (unsigned long long)len);
				break;
			}
			p->sum += frt_fill(f.data, len, seq);
		} else {
			len = f.capacity;
			memset(f.data, bct_byte(seq), len);
		}
		f.bytes = len;
		rc = fr_publish(r, &f);
		if (rc != 0 || f.seq != seq) {
			result = fail(p->error, "fr_publish for seq %llu: %d (%s), got seq %llu",
				      (unsigned long long)seq, rc, fr_strerror(rc),
				      (unsigned long long)f.seq);
			break;
		}
		p->published++;
		if (p->pace_us)
			frt_sleep_us(p->pace_us);
	}
	if (p->close_at_end || !p->ring)
		fr_close(r);
	return result;
}

/* ---- consumer ------------------------------------------------------------- */

int bct_find_self(struct fr_ring *r, unsigned role, unsigned flags, struct fr_peer_info *out)
{
	static _Thread_local struct fr_info info;
	if (fr_info(r, &info) != 0)
		return -1;
	int found = -1;
	for (uint32_t i = 0; i < info.peer_count; i++) {
		const struct fr_peer_info *pi = &info.peers[i];
		if (pi->pid != (int32_t)getpid() || pi->role != role || pi->flags != flags)
			continue;
		if (found >= 0)
			return -1; /* several handles of this process match: ambiguous */
		found = (int)i;
	}
	if (found < 0)
		return -1;
	if (out)
		*out = info.peers[found];
	return (int)info.peers[found].index;
}

static int peer_by_index(struct fr_ring *r, int index, struct fr_peer_info *out)
{
	static _Thread_local struct fr_info info;
	if (index < 0 || fr_info(r, &info) != 0)
		return -1;
	for (uint32_t i = 0; i < info.peer_count; i++)
		if ((int)info.peers[i].index == index) {
			*out = info.peers[i];
			return 0;
		}
	return -1;
}

/* Poll (1 ms apart) until the segment counts n published frames; -1 after FRT_WAIT_MS. */
static int wait_published(struct fr_ring *r, uint64_t n)
{
	static _Thread_local struct fr_info info;
	uint64_t deadline = frt_now_ns() + FRT_WAIT_MS * UINT64_C(1000000);
	for (;;) {
		if (fr_info(r, &info) != 0)
			return -1;
		if (info.published >= n)
			return 0;
		if (frt_now_ns() > deadline)
			return -1;
		frt_sleep_ms(1);
	}
}

static int check_frame(struct bct_consumer *c, const struct fr_frame *f, uint64_t *sum,
		       const char *when)
{
	if (c->pattern == BCT_PATTERN_SUM) {
		uint64_t want = frt_frame_len(f->seq, c->min_len, c->max_len), id;
		if (f->bytes != want)
			return fail(c->error, "seq %llu: %llu bytes, expected %llu (%s)",
				    (unsigned long long)f->seq, (unsigned long long)f->bytes,
				    (unsigned long long)want, when);
		if (frt_verify(f->data, f->bytes, &id, sum) != 0 || id != f->seq)
			return fail(c->error, "seq %llu: payload or checksum wrong (%s)",
				    (unsigned long long)f->seq, when);
		return 0;
	}
	if (f->bytes != f->capacity)
		return fail(c->error, "seq %llu: %llu bytes, expected %llu (%s)",
			    (unsigned long long)f->seq, (unsigned long long)f->bytes,
			    (unsigned long long)f->capacity, when);
	long off = bct_check_byte(f->data, f->bytes, bct_byte(f->seq));
	if (off >= 0)
		return fail(c->error,
			    "torn frame: seq %llu byte %ld is 0x%02x, expected 0x%02x (%s)",
			    (unsigned long long)f->seq, off, ((const unsigned char *)f->data)[off],
			    bct_byte(f->seq), when);
	*sum = 0;
	return 0;
}

int bct_consume(struct bct_consumer *c)
{
	struct fr_ring *r = NULL;
	int rc = c->sibling ? fr_open_from(c->sibling, c->flags, &r)
			    : fr_open(c->name, c->flags, &r);
	c->peer_index = -1;
	if (rc != 0)
		return fail(c->error, "consumer fr_open: %d (%s)", rc, fr_strerror(rc));
	c->peer_index = bct_find_self(r, FR_CONSUMER, c->flags & ~(unsigned)FR_CONSUMER, NULL);
	if (frt_ready_signal(c->ready_fd) != 0) {
		fr_close(r);
		return fail(c->error, "readiness pipe: %s", strerror(errno));
	}
	const int latest = (c->flags & FR_LATEST) != 0;
	const int timeout = c->acquire_timeout_ms ? c->acquire_timeout_ms : FRT_WAIT_MS;
	uint64_t rng = frt_mix64((uint64_t)getpid() * 7919u + (uint64_t)(uintptr_t)c) | 1;
	uint64_t next = c->expect_first;
	int result = 0;
	for (;;) {
		if (c->max_frames && c->delivered >= c->max_frames)
			break;
		struct fr_frame f;
		rc = fr_acquire(r, &f, timeout);
		if (rc == -EPIPE)
			break;
		if (rc != 0) {
			result = fail(c->error,
				      "fr_acquire after %llu frames (next seq %llu): %d (%s)",
				      (unsigned long long)c->delivered, (unsigned long long)next,
				      rc, fr_strerror(rc));
			break;
		}
		if (latest ? f.seq < next : f.seq != next) {
			result = fail(c->error, "%s consumer got seq %llu, expected %s%llu",
				      latest ? "latest" : "reliable", (unsigned long long)f.seq,
				      latest ? ">= " : "", (unsigned long long)next);
			fr_release(r, &f);
			break;
		}
		if (c->delivered == 0)
			c->first_seq = f.seq;
		else
			c->gaps += f.seq - next;
		c->last_seq = f.seq;
		next = f.seq + 1;
		c->delivered++;
		uint64_t sum;
		if (check_frame(c, &f, &sum, "on acquire") != 0) {
			result = -1;
			fr_release(r, &f);
			break;
		}
		c->sum += sum;
		if (c->kill_after && c->delivered == c->kill_after) {
			atomic_store(&c->pinned_seq, f.seq + 1);
			raise(SIGKILL); /* dies holding the pin */
		}
		if (c->hold_first_until && c->delivered == 1 &&
		    wait_published(r, c->hold_first_until) != 0) {
			result = fail(c->error, "holding seq %llu: the producer did not reach %llu "
				      "frames within %d ms", (unsigned long long)f.seq,
				      (unsigned long long)c->hold_first_until, FRT_WAIT_MS);
			fr_release(r, &f);
			break;
		}
		unsigned every = c->hold_every ? c->hold_every : 1;
		if ((c->hold_us || c->hold_rand_us) && frt_rand(&rng) % every == 0) {
			uint64_t us = c->hold_us;
			if (c->hold_rand_us)
				us += frt_rand(&rng) % (c->hold_rand_us + 1);
			frt_sleep_us((long)us);
		}
		if (c->verify_twice && check_frame(c, &f, &sum, "after holding it") != 0) {
			result = -1;
			fr_release(r, &f);
			break;
		}
		rc = fr_release(r, &f);
		if (rc != 0) {
			result = fail(c->error, "fr_release seq %llu: %d (%s)",
				      (unsigned long long)f.seq, rc, fr_strerror(rc));
			break;
		}
	}
	struct fr_peer_info pi;
	if (peer_by_index(r, c->peer_index, &pi) == 0) {
		c->info_found = 1;
		c->info_delivered = pi.delivered;
		c->info_dropped = pi.dropped;
		c->info_cursor = pi.cursor;
	}
	fr_close(r);
	return result;
}

int bct_consume_main(void *c)
{
	return bct_consume(c) == 0 ? 0 : FRT_CHILD_FAILED;
}

int bct_run_stream(const char *name, struct fr_ring *prod, struct bct_producer *p,
		   struct bct_consumer *cons, int ncons, char *why, size_t why_size)
{
	enum { MAX = 32 };
	pid_t pids[MAX];
	int pipefd[2];
	if (ncons > MAX || pipe(pipefd) != 0) {
		snprintf(why, why_size, "setup failed");
		fr_close(prod);
		return -1;
	}
	int n = 0;
	for (; n < ncons; n++) {
		cons[n].name = name;
		cons[n].ready_fd = pipefd[1];
		pids[n] = frt_spawn(bct_consume_main, &cons[n]);
		if (pids[n] < 0)
			break;
	}
	close(pipefd[1]);
	int ready = n == ncons ? frt_ready_wait(pipefd[0], ncons, FRT_WAIT_MS) : -1;
	close(pipefd[0]);
	if (ready != 0) {
		for (int i = 0; i < n; i++)
			frt_kill(pids[i]);
		snprintf(why, why_size, "consumers did not attach");
		fr_close(prod);
		return -1;
	}
	p->ring = prod;
	int prc = bct_produce(p);
	fr_close(prod);
	int bad;
	int st = frt_wait_all(pids, ncons, FRT_BOUND_S, &bad);
	if (prc != 0) {
		snprintf(why, why_size, "producer: %s", p->error);
		return -1;
	}
	if (st != 0) {
		snprintf(why, why_size, "consumer %d ended with status %d: %s", bad, st,
			 bad >= 0 ? cons[bad].error : "");
		return -1;
	}
	return 0;
}

/* ---- broadcast slot words in a segment view ------------------------------ */

uint64_t bct_holders(const struct frt_view *v, unsigned *writing)
{
	uint64_t holders = 0;
	*writing = 0;
	for (uint32_t i = 0; i < v->slots; i++) {
		uint64_t w = frt_view_turn(v, i);
		holders |= w & 0x7fffffffu;
		if (w & 0x80000000u)
			(*writing)++;
	}
	return holders;
}
