#include "helpers.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- segment names -------------------------------------------------------- */

#define FRT_MAX_NAMES 1024

#define FRT_NAME_MAX_TRACKED (FR_NAME_MAX + 2)

static char frt_names[FRT_MAX_NAMES][FRT_NAME_MAX_TRACKED];
static int frt_name_count;
static pid_t frt_names_pid;
static unsigned frt_counter;

void frt_track(const char *name)
{
	pid_t pid = getpid();
	if (frt_names_pid != pid) {
		/* A forked child starts its own list: it must not unlink the parent's. */
		frt_names_pid = pid;
		frt_name_count = 0;
	}
	if (frt_name_count < FRT_MAX_NAMES && strlen(name) < FRT_NAME_MAX_TRACKED) {
		memcpy(frt_names[frt_name_count], name, strlen(name) + 1);
		frt_name_count++;
	}
}

char *frt_name(char *buf, size_t size, const char *tag)
{
	snprintf(buf, size, "/frt-%s-%d-%u", tag, (int)getpid(), frt_counter++);
	frt_track(buf);
	/* A leftover from a recycled pid of an earlier run would make fr_create fail. */
	fr_unlink(buf);
	return buf;
}

void frt_cleanup(void)
{
	if (frt_names_pid != getpid())
		return;
	for (int i = 0; i < frt_name_count; i++) {
		char path[FRT_NAME_MAX_TRACKED + 16];
		if (fr_unlink(frt_names[i]) != 0) /* also files that are not segments */
			unlink(frt_shm_path(path, sizeof path, frt_names[i]));
	}
	frt_name_count = 0;
}

char *frt_shm_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "/dev/shm/%s", name[0] == '/' ? name + 1 : name);
	return buf;
}

/* ---- child processes ------------------------------------------------------ */

pid_t frt_spawn(int (*fn)(void *arg), void *arg)
{
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(FRT_CHILD_FAILED);
	int rc = fn(arg);
	fflush(NULL);
	_exit(rc);
}

void frt_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static double frt_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int frt_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int frt_try_wait(pid_t pid)
{
	int status;
	pid_t r;
	while ((r = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR)
		;
	return r == pid ? frt_status(status) : -1;
}

int frt_wait(pid_t pid, int bound_s)
{
	double deadline = frt_now_s() + bound_s;
	long pause_ms = 1;
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return frt_status(status);
		if (r < 0 && errno != EINTR)
			return -1;
		if (frt_now_s() > deadline) {
			fprintf(stderr, "child %d still running after %d s: killed\n", (int)pid,
				bound_s);
			frt_kill(pid);
			return -1;
		}
		frt_sleep_ms(pause_ms);
		if (pause_ms < 20)
			pause_ms *= 2;
	}
}

void frt_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int frt_wait_all(const pid_t *pids, int count, int bound_s)
{
	int result = 0;
	for (int i = 0; i < count; i++) {
		if (result != 0) {
			frt_kill(pids[i]);
			continue;
		}
		int st = frt_wait(pids[i], bound_s);
		if (st != 0) {
			fprintf(stderr, "child %d (#%d) ended with status %d\n", (int)pids[i], i,
				st);
			result = st;
		}
	}
	return result;
}

void frt_child_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "[child %d] %s:%d: ", (int)getpid(), file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(FRT_CHILD_FAILED);
}

char frt_proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses, so use the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2];
}

static int frt_in_futex_wait(pid_t pid)
{
	char path[64], buf[128];
	snprintf(path, sizeof path, "/proc/%d/wchan", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 1; /* no wait channel available: trust the state alone */
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n == 0 || strcmp(buf, "0") == 0)
		return 1; /* hidden by the kernel: trust the state alone */
	return strstr(buf, "futex") != NULL;
}

int frt_wait_futex_sleep(pid_t pid, int bound_s)
{
	double deadline = frt_now_s() + bound_s;
	int seen = 0;
	while (frt_now_s() < deadline) {
		char st = frt_proc_state(pid);
		if (st == 0 || st == 'Z' || st == 'X')
			return -1;
		if (st == 'S' && frt_in_futex_wait(pid))
			seen++;
		else
			seen = 0;
		if (seen >= 5)
			return 0;
		frt_sleep_ms(5);
	}
	return -1;
}

/* ---- shared memory -------------------------------------------------------- */

void *frt_shared_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void frt_shared_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

int frt_barrier(_Atomic uint32_t *counter, uint32_t n, int bound_s)
{
	atomic_fetch_add(counter, 1);
	double deadline = frt_now_s() + bound_s;
	while (atomic_load(counter) < n) {
		if (frt_now_s() > deadline)
			return -1;
		frt_sleep_ms(1);
	}
	return 0;
}

/* ---- payloads ------------------------------------------------------------- */

uint64_t frt_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t frt_frame_len(uint64_t id, uint64_t min_bytes, uint64_t max_bytes)
{
	return min_bytes + frt_mix64(id ^ 0x5bd1e995ull) % (max_bytes - min_bytes + 1);
}

uint64_t frt_sum64(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	if (i < n) {
		uint64_t w = 0;
		memcpy(&w, p + i, n - i);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h;
}

/* Pattern word k of frame id. */
static uint64_t frt_word(uint64_t id, uint64_t k)
{
	return frt_mix64(id * 0x2545f4914f6cdd1dull + k);
}

#define FRT_HDR 24

uint64_t frt_fill(void *buf, uint64_t len, uint64_t id)
{
	unsigned char *p = buf;
	uint64_t body = len - FRT_HDR, i = 0, k = 0;
	for (; i + 8 <= body; i += 8, k++) {
		uint64_t w = frt_word(id, k);
		memcpy(p + FRT_HDR + i, &w, 8);
	}
	if (i < body) {
		uint64_t w = frt_word(id, k);
		memcpy(p + FRT_HDR + i, &w, body - i);
	}
	uint64_t sum = frt_sum64(p + FRT_HDR, body);
	memcpy(p, &id, 8);
	memcpy(p + 8, &len, 8);
	memcpy(p + 16, &sum, 8);
	return frt_sum64(p, len);
}

int frt_verify(const void *buf, uint64_t len, uint64_t *id, uint64_t *sum)
{
	const unsigned char *p = buf;
	uint64_t got_id, got_len, got_sum;
	if (len < FRT_HDR)
		return -1;
	memcpy(&got_id, p, 8);
	memcpy(&got_len, p + 8, 8);
	memcpy(&got_sum, p + 16, 8);
	if (got_len != len)
		return -1;
	uint64_t body = len - FRT_HDR, i = 0, k = 0;
	if (frt_sum64(p + FRT_HDR, body) != got_sum)
		return -1;
	for (; i + 8 <= body; i += 8, k++) {
		uint64_t w = frt_word(got_id, k), v;
		memcpy(&v, p + FRT_HDR + i, 8);
		if (v != w)
			return -1;
	}
	if (i < body) {
		uint64_t w = frt_word(got_id, k), v = 0;
		memcpy(&v, p + FRT_HDR + i, body - i);
		if (memcmp(&v, &w, body - i) != 0)
			return -1;
	}
	*id = got_id;
	*sum = frt_sum64(p, len);
	return 0;
}

/* ---- frame streams -------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static int frt_stream_fail(struct frt_stream *s,
								 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof s->error, fmt, ap);
	va_end(ap);
	fprintf(stderr, "[%d] %s: %s\n", (int)getpid(), s->name, s->error);
	return -1;
}

int frt_produce(struct frt_stream *s)
{
	struct fr_ring *ring = s->ring;
	int rc = ring ? 0 : fr_open(s->name, FR_PRODUCER, &ring);
	if (rc != 0)
		return frt_stream_fail(s, "producer fr_open: %d (%s)", rc, fr_strerror(rc));
	if (s->set_spin && (rc = fr_set_spin(ring, s->spin_ns)) != 0) {
		fr_close(ring);
		return frt_stream_fail(s, "fr_set_spin: %d", rc);
	}
	if (s->barrier && frt_barrier(s->barrier, s->barrier_n, FRT_BOUND_S) != 0) {
		fr_close(ring);
		return frt_stream_fail(s, "producer barrier timed out");
	}
	for (uint64_t i = 0; i < s->count; i++) {
		uint64_t id = s->first_id + i;
		struct fr_frame f;
		rc = fr_claim(ring, &f, s->wait_ms ? s->wait_ms : -1);
		if (rc != 0) {
			fr_close(ring);
			return frt_stream_fail(s, "fr_claim id %lu: %d (%s)", (unsigned long)id, rc,
					       fr_strerror(rc));
		}
		uint64_t len = frt_frame_len(id, s->min_len, s->max_len);
		if (f.capacity < len || f.data == NULL) {
			fr_close(ring);
			return frt_stream_fail(s, "capacity %lu < %lu", (unsigned long)f.capacity,
					       (unsigned long)len);
		}
		s->sum += frt_fill(f.data, len, id);
		f.bytes = len;
		f.timestamp_ns = id + 1;
		f.flags = FRT_ID_FLAGS(id);
		rc = fr_publish(ring, &f);
		if (rc != 0) {
			fr_close(ring);
			return frt_stream_fail(s, "fr_publish id %lu: %d (%s)", (unsigned long)id,
					       rc, fr_strerror(rc));
		}
		if (s->in_order && f.seq != id) {
			fr_close(ring);
			return frt_stream_fail(s, "published id %lu got seq %lu", (unsigned long)id,
					       (unsigned long)f.seq);
		}
		s->frames++;
	}
	fr_close(ring);
	return 0;
}

int frt_consume(struct frt_stream *s)
{
	struct fr_ring *ring = s->ring;
	int rc = ring ? 0 : fr_open(s->name, FR_CONSUMER, &ring);
	if (rc != 0)
		return frt_stream_fail(s, "consumer fr_open: %d (%s)", rc, fr_strerror(rc));
	if (s->set_spin && (rc = fr_set_spin(ring, s->spin_ns)) != 0) {
		fr_close(ring);
		return frt_stream_fail(s, "fr_set_spin: %d", rc);
	}
	for (;;) {
		struct fr_frame f;
		rc = fr_acquire(ring, &f, s->wait_ms ? s->wait_ms : -1);
		if (rc == -EPIPE)
			break;
		if (rc != 0) {
			fr_close(ring);
			return frt_stream_fail(s, "fr_acquire after %lu frames: %d (%s)",
					       (unsigned long)s->frames, rc, fr_strerror(rc));
		}
		uint64_t id = 0, sum = 0;
		const char *bad = NULL;
		if (f.bytes < s->min_len || f.bytes > s->max_len || f.bytes > f.capacity)
			bad = "length out of range";
		else if (frt_verify(f.data, f.bytes, &id, &sum) != 0)
			bad = "payload does not match its checksum/pattern";
		else if (f.timestamp_ns != id + 1)
			bad = "timestamp not carried";
		else if ((f.flags & FR_FRAME_USER_MASK) != FRT_ID_FLAGS(id))
			bad = "user flags not carried";
		else if (f.bytes != frt_frame_len(id, s->min_len, s->max_len))
			bad = "length does not match the id";
		else if (s->in_order && (f.seq != s->frames || id != f.seq))
			bad = "out of order";
		else if (s->total && (id >= s->total || f.seq >= s->total))
			bad = "id or seq beyond the total";
		else if (s->seen_id && atomic_fetch_add(&s->seen_id[id], 1) != 0)
			bad = "id delivered twice";
		else if (s->seen_seq && atomic_fetch_add(&s->seen_seq[f.seq], 1) != 0)
			bad = "seq delivered twice";
		if (bad) {
			frt_stream_fail(s, "frame #%lu (seq %lu, id %lu, bytes %lu): %s",
					(unsigned long)s->frames, (unsigned long)f.seq,
					(unsigned long)id, (unsigned long)f.bytes, bad);
			fr_release(ring, &f);
			fr_close(ring);
			return -1;
		}
		s->sum += sum;
		s->frames++;
		rc = fr_release(ring, &f);
		if (rc != 0) {
			fr_close(ring);
			return frt_stream_fail(s, "fr_release: %d (%s)", rc, fr_strerror(rc));
		}
	}
	fr_close(ring);
	return 0;
}

int frt_produce_main(void *s)
{
	return frt_produce(s) == 0 ? 0 : FRT_CHILD_FAILED;
}

int frt_consume_main(void *s)
{
	return frt_consume(s) == 0 ? 0 : FRT_CHILD_FAILED;
}

/* ---- forced interleavings ------------------------------------------------- */

int frt_wait_stopped(pid_t pid, int bound_s, int *status)
{
	double deadline = frt_now_s() + bound_s;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WUNTRACED | WNOHANG);
		if (r == pid) {
			if (WIFSTOPPED(st))
				return 0;
			if (status)
				*status = frt_status(st);
			return 1;
		}
		if (r < 0 && errno != EINTR)
			return -1;
		if (frt_now_s() > deadline) {
			fprintf(stderr, "child %d neither stopped nor ended within %d s\n", (int)pid,
				bound_s);
			return -1;
		}
		frt_sleep_ms(2);
	}
}

int frt_continue(pid_t pid)
{
	return kill(pid, SIGCONT) == 0 ? 0 : -errno;
}

int frt_wait_flag(_Atomic uint32_t *flag, uint32_t value, pid_t pid, int bound_s)
{
	double deadline = frt_now_s() + bound_s;
	for (;;) {
		if (atomic_load(flag) >= value)
			return 0;
		if (pid > 0) {
			char st = frt_proc_state(pid);
			if (st == 0 || st == 'Z' || st == 'X')
				/* It may have set the flag just before it ended. */
				return atomic_load(flag) >= value ? 0 : -1;
		}
		if (frt_now_s() > deadline)
			return -1;
		frt_sleep_ms(2);
	}
}

long frt_voluntary_switches(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
			break;
	}
	fclose(f);
	return v;
}
