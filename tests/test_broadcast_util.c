#include "test_broadcast_util.h"
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"

/* ---- names ---------------------------------------------------------------- */

#define BCT_MAX_NAMES 64

static char bct_names[BCT_MAX_NAMES][BCT_NAME_SIZE];
static int bct_name_count;
static pid_t bct_names_pid;
static unsigned bct_counter;

char *bct_name(char *buf, size_t size, const char *tag)
{
	pid_t pid = getpid();
	if (bct_names_pid != pid) { /* a forked child keeps its own list */
		bct_names_pid = pid;
		bct_name_count = 0;
	}
	snprintf(buf, size, "/frbc-%s-%d-%u", tag, (int)pid, bct_counter++);
	if (bct_name_count < BCT_MAX_NAMES && strlen(buf) < BCT_NAME_SIZE)
		memcpy(bct_names[bct_name_count++], buf, strlen(buf) + 1);
	fr_unlink(buf); /* a leftover of an earlier run with the same pid */
	return buf;
}

void bct_cleanup(void)
{
	if (bct_names_pid != getpid())
		return;
	for (int i = 0; i < bct_name_count; i++)
		fr_unlink(bct_names[i]);
	bct_name_count = 0;
}

int bct_shm_exists(const char *name)
{
	char path[BCT_NAME_SIZE + 16];
	struct stat st;
	snprintf(path, sizeof path, "/dev/shm/%s", name[0] == '/' ? name + 1 : name);
	return stat(path, &st) == 0;
}

/* ---- processes ------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bct_now_s(void)
{
	return now_s();
}

void bct_sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

pid_t bct_spawn(int (*fn)(void *arg), void *arg)
{
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(BCT_FAILED);
	int rc = fn(arg);
	fflush(NULL);
	_exit(rc);
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

void bct_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int bct_wait_one(pid_t pid, double deadline_s)
{
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status_code(status);
		if ((r < 0 && errno != EINTR) || now_s() > deadline_s) {
			bct_kill(pid);
			return -1;
		}
		bct_sleep_us(2000);
	}
}

int bct_wait_all(const pid_t *pids, int n, int bound_s, int *bad)
{
	double deadline = now_s() + bound_s;
	int result = 0;
	*bad = -1;
	for (int i = 0; i < n; i++) {
		if (pids[i] <= 0 || result != 0) {
			bct_kill(pids[i]);
			if (result == 0) {
				result = -1;
				*bad = i;
			}
			continue;
		}
		int st = bct_wait_one(pids[i], deadline);
		if (st != 0) {
			fprintf(stderr, "child %d (#%d) ended with status %d%s\n", (int)pids[i], i, st,
				st == -1 ? " or was still running after the bound (killed)" : "");
			result = st;
			*bad = i;
		}
	}
	return result;
}

int bct_ready_signal(int fd)
{
	char c = 'r';
	if (fd < 0)
		return 0;
	ssize_t w;
	while ((w = write(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return w == 1 ? 0 : -1;
}

int bct_ready_wait(int fd, int n, int bound_ms)
{
	double deadline = now_s() + bound_ms / 1000.0;
	int got = 0;
	while (got < n) {
		int left = (int)((deadline - now_s()) * 1000.0);
		if (left <= 0)
			return -1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		char buf[64];
		ssize_t r = read(fd, buf, sizeof buf < (size_t)(n - got) ? sizeof buf : (size_t)(n - got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1; /* every writer is gone: a child died before it was ready */
		got += (int)r;
	}
	return 0;
}

uint64_t bct_mix64(uint64_t x)
{
	return frt_mix64(x); /* the core tests' mixer (helpers.c) */
}

uint64_t bct_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

void *bct_shared(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void bct_unshare(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

/* ---- payloads ------------------------------------------------------------- */

#define SUM_HDR 24

uint64_t bct_len(uint64_t seq, uint64_t min, uint64_t max)
{
	return min + bct_mix64(seq ^ 0x51ed27a3ull) % (max - min + 1);
}

uint64_t bct_checksum(const void *buf, size_t n)
{
	return frt_sum64(buf, n);
}

static uint64_t pattern_word(uint64_t seq, uint64_t k)
{
	return bct_mix64(seq * 0x9e3779b97f4a7c15ull + k + 1);
}

uint64_t bct_fill_sum(void *buf, uint64_t len, uint64_t seq)
{
	unsigned char *p = buf;
	uint64_t body = len - SUM_HDR, i = 0, k = 0;
	for (; i < body; i += 8, k++) {
		uint64_t w = pattern_word(seq, k);
		memcpy(p + SUM_HDR + i, &w, body - i < 8 ? body - i : 8);
	}
	uint64_t sum = bct_checksum(p + SUM_HDR, body);
	memcpy(p, &seq, 8);
	memcpy(p + 8, &len, 8);
	memcpy(p + 16, &sum, 8);
	return bct_checksum(p, len);
}

int bct_verify_sum(const void *buf, uint64_t len, uint64_t seq, uint64_t *sum)
{
	const unsigned char *p = buf;
	uint64_t got_seq, got_len, got_sum;
	if (len < SUM_HDR)
		return -1;
	memcpy(&got_seq, p, 8);
	memcpy(&got_len, p + 8, 8);
	memcpy(&got_sum, p + 16, 8);
	if (got_seq != seq || got_len != len)
		return -1;
	uint64_t body = len - SUM_HDR, i = 0, k = 0;
	if (bct_checksum(p + SUM_HDR, body) != got_sum)
		return -1;
	for (; i < body; i += 8, k++) {
		uint64_t w = pattern_word(seq, k);
		if (memcmp(p + SUM_HDR + i, &w, body - i < 8 ? body - i : 8) != 0)
			return -1;
	}
	*sum = bct_checksum(p, len);
	return 0;
}

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
			len = bct_len(seq, p->min_len, p->max_len);
			if (len > f.capacity) {
				result = fail(p->error, "capacity %llu < %llu",
					      (unsigned long long)f.capacity, (unsigned long long)len);
				break;
			}
			p->sum += bct_fill_sum(f.data, len, seq);
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
			bct_sleep_us(p->pace_us);
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

/* Poll (1 ms apart) until the segment counts n published frames; -1 after BCT_WAIT_MS. */
static int wait_published(struct fr_ring *r, uint64_t n)
{
	static _Thread_local struct fr_info info;
	double deadline = now_s() + BCT_WAIT_MS / 1000.0;
	for (;;) {
		if (fr_info(r, &info) != 0)
			return -1;
		if (info.published >= n)
			return 0;
		if (now_s() > deadline)
			return -1;
		bct_sleep_us(1000);
	}
}

static int check_frame(struct bct_consumer *c, const struct fr_frame *f, uint64_t *sum,
		       const char *when)
{
	if (c->pattern == BCT_PATTERN_SUM) {
		uint64_t want = bct_len(f->seq, c->min_len, c->max_len);
		if (f->bytes != want)
			return fail(c->error, "seq %llu: %llu bytes, expected %llu (%s)",
				    (unsigned long long)f->seq, (unsigned long long)f->bytes,
				    (unsigned long long)want, when);
		if (bct_verify_sum(f->data, f->bytes, f->seq, sum) != 0)
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
		return fail(c->error, "torn frame: seq %llu byte %ld is 0x%02x, expected 0x%02x (%s)",
			    (unsigned long long)f->seq, off, ((const unsigned char *)f->data)[off],
			    bct_byte(f->seq), when);
	*sum = 0;
	return 0;
}

int bct_consume(struct bct_consumer *c)
{
	struct fr_ring *r = NULL;
	int rc = c->sibling ? fr_open_from(c->sibling, c->flags, &r) : fr_open(c->name, c->flags, &r);
	c->peer_index = -1;
	if (rc != 0)
		return fail(c->error, "consumer fr_open: %d (%s)", rc, fr_strerror(rc));
	c->peer_index = bct_find_self(r, FR_CONSUMER, c->flags & ~(unsigned)FR_CONSUMER, NULL);
	if (bct_ready_signal(c->ready_fd) != 0) {
		fr_close(r);
		return fail(c->error, "readiness pipe: %s", strerror(errno));
	}
	const int latest = (c->flags & FR_LATEST) != 0;
	const int timeout = c->acquire_timeout_ms ? c->acquire_timeout_ms : BCT_WAIT_MS;
	uint64_t rng = bct_mix64((uint64_t)getpid() * 7919u + (uint64_t)(uintptr_t)c) | 1;
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
			result = fail(c->error, "fr_acquire after %llu frames (next seq %llu): %d (%s)",
				      (unsigned long long)c->delivered, (unsigned long long)next, rc,
				      fr_strerror(rc));
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
				      (unsigned long long)c->hold_first_until, BCT_WAIT_MS);
			fr_release(r, &f);
			break;
		}
		unsigned every = c->hold_every ? c->hold_every : 1;
		if ((c->hold_us || c->hold_rand_us) && bct_rand(&rng) % every == 0) {
			uint64_t us = c->hold_us;
			if (c->hold_rand_us)
				us += bct_rand(&rng) % (c->hold_rand_us + 1);
			bct_sleep_us((long)us);
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
	return bct_consume(c) == 0 ? 0 : BCT_FAILED;
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
		pids[n] = bct_spawn(bct_consume_main, &cons[n]);
		if (pids[n] < 0)
			break;
	}
	close(pipefd[1]);
	int ready = n == ncons ? bct_ready_wait(pipefd[0], ncons, BCT_WAIT_MS) : -1;
	close(pipefd[0]);
	if (ready != 0) {
		for (int i = 0; i < n; i++)
			bct_kill(pids[i]);
		snprintf(why, why_size, "consumers did not attach");
		fr_close(prod);
		return -1;
	}
	p->ring = prod;
	int prc = bct_produce(p);
	fr_close(prod);
	int bad;
	int st = bct_wait_all(pids, ncons, BCT_CHILD_S, &bad);
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

/* ---- segment view --------------------------------------------------------- */

int bct_view_open(const char *name, struct bct_view *v)
{
	char shm[BCT_NAME_SIZE + 2];
	snprintf(shm, sizeof shm, "/%s", name[0] == '/' ? name + 1 : name);
	memset(v, 0, sizeof *v);
	int fd = shm_open(shm, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < sizeof(struct fr_shm_header)) {
		close(fd);
		return -EPROTO;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -ENOMEM;
	const struct fr_shm_header *h = m;
	uint64_t end = h->desc_offset + (uint64_t)h->slot_count * sizeof(struct fr_shm_desc);
	if (h->mode != FR_BROADCAST || h->slot_count == 0 || h->desc_offset > (uint64_t)st.st_size ||
	    end > (uint64_t)st.st_size) {
		munmap(m, (size_t)st.st_size);
		return -EPROTO;
	}
	v->base = m;
	v->bytes = (size_t)st.st_size;
	v->slots = h->slot_count;
	v->hdr = h;
	v->desc = (const uint8_t *)m + h->desc_offset;
	return 0;
}

void bct_view_close(struct bct_view *v)
{
	if (v->base)
		munmap(v->base, v->bytes);
	memset(v, 0, sizeof *v);
}

uint64_t bct_view_turn(const struct bct_view *v, uint32_t i)
{
	struct fr_shm_desc *d = (struct fr_shm_desc *)v->desc;
	return atomic_load(&d[i].turn);
}

uint64_t bct_view_holders(const struct bct_view *v, unsigned *writing)
{
	uint64_t holders = 0;
	*writing = 0;
	for (uint32_t i = 0; i < v->slots; i++) {
		uint64_t w = bct_view_turn(v, i);
		holders |= w & 0x7fffffffu;
		if (w & 0x80000000u)
			(*writing)++;
	}
	return holders;
}

uint32_t bct_view_peer_state(const struct bct_view *v, unsigned idx)
{
	struct fr_shm_header *h = (struct fr_shm_header *)v->hdr;
	if (idx >= FR_MAX_PEERS)
		return UINT32_MAX;
	return atomic_load(&h->peers[idx].state);
}

void bct_view_space_wait(const struct bct_view *v, uint32_t *event, uint64_t *waiters)
{
	struct fr_shm_header *h = (struct fr_shm_header *)v->hdr;
	*waiters = atomic_load(&h->space_wait.waiters);
	*event = atomic_load(&h->space_wait.event);
}
