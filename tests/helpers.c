#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"

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

int frt_shm_exists(const char *name)
{
	char path[FRT_NAME_MAX_TRACKED + 16];
	struct stat st;
	return stat(frt_shm_path(path, sizeof path, name), &st) == 0;
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

void frt_sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void frt_sleep_ms(long ms)
{
	frt_sleep_us(ms * 1000);
}

uint64_t frt_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long long frt_meminfo(const char *field)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	char line[128];
	long long v = -1;
	size_t n = strlen(field);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, n) && line[n] == ':' &&
		    sscanf(line + n + 1, "%lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* The deadline bound_ms from now, in frt_now_ns() time. */
static uint64_t frt_deadline_ms(long bound_ms)
{
	return frt_now_ns() + (uint64_t)(bound_ms > 0 ? bound_ms : 0) * 1000000u;
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

int frt_signal_until_exit(pid_t pid, int sig)
{
	for (int i = 0; i < 400; i++) { /* 400 signals, 50 ms apart */
		kill(pid, sig);
		int status = frt_try_wait(pid);
		if (status >= 0)
			return status;
		frt_sleep_ms(50);
	}
	return frt_wait(pid, 5);
}

/* frt_wait_ms(), but -2 when the bound passed (the child is then killed and reaped). */
static int frt_reap(pid_t pid, long bound_ms)
{
	if (pid <= 0)
		return -1;
	uint64_t deadline = frt_deadline_ms(bound_ms);
	long pause_ms = 1;
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return frt_status(status);
		if (r < 0 && errno != EINTR)
			return -1;
		if (frt_now_ns() > deadline) {
			frt_kill(pid);
			return -2;
		}
		frt_sleep_ms(pause_ms);
		if (pause_ms < 20)
			pause_ms *= 2;
	}
}

int frt_wait_ms(pid_t pid, long bound_ms)
{
	int st = frt_reap(pid, bound_ms);
	return st == -2 ? -1 : st;
}

int frt_wait(pid_t pid, int bound_s)
{
	int st = frt_reap(pid, bound_s * 1000L);
	if (st == -2) {
		fprintf(stderr, "child %d still running after %d s: killed\n", (int)pid, bound_s);
		return -1;
	}
	return st;
}

int frt_kill(pid_t pid)
{
	if (pid <= 0)
		return -1;
	kill(pid, SIGKILL);
	int status;
	pid_t r;
	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	return r == pid ? frt_status(status) : -1;
}

int frt_wait_all(const pid_t *pids, int count, int bound_s, int *bad)
{
	int result = 0;
	if (bad)
		*bad = -1;
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
			if (bad)
				*bad = i;
		}
	}
	return result;
}

int frt_ready_signal(int fd)
{
	char c = 'r';
	if (fd < 0)
		return 0;
	ssize_t w;
	while ((w = write(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return w == 1 ? 0 : -1;
}

int frt_ready_wait(int fd, int count, int bound_ms)
{
	uint64_t deadline = frt_deadline_ms(bound_ms);
	int got = 0;
	while (got < count) {
		uint64_t now = frt_now_ns();
		if (now >= deadline)
			return -1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		char buf[64];
		size_t want = (size_t)(count - got) < sizeof buf ? (size_t)(count - got)
								 : sizeof buf;
		ssize_t r = read(fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1; /* every writer is gone: a child died before it was ready */
		got += (int)r;
	}
	return 0;
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
	uint64_t deadline = frt_deadline_ms(bound_s * 1000L);
	int seen = 0;
	while (frt_now_ns() < deadline) {
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
	uint64_t deadline = frt_deadline_ms(bound_s * 1000L);
	while (atomic_load(counter) < n) {
		if (frt_now_ns() > deadline)
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

uint64_t frt_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
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

/* The stream's handle: s->ring, or a new one of role; spin set when asked. 0, or -1. */
static int frt_stream_attach(struct frt_stream *s, unsigned role, struct fr_ring **ring)
{
	*ring = s->ring;
	int rc = *ring ? 0 : fr_open(s->name, role, ring);
	if (rc != 0)
		return frt_stream_fail(s, "%s fr_open: %d (%s)",
				       role == FR_PRODUCER ? "producer" : "consumer", rc,
				       fr_strerror(rc));
	if (s->set_spin && (rc = fr_set_spin(*ring, s->spin_ns)) != 0) {
		fr_close(*ring);
		return frt_stream_fail(s, "fr_set_spin: %d", rc);
	}
	return 0;
}

int frt_produce(struct frt_stream *s)
{
	struct fr_ring *ring;
	int rc;
	if (frt_stream_attach(s, FR_PRODUCER, &ring) != 0)
		return -1;
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
	struct fr_ring *ring;
	int rc;
	if (frt_stream_attach(s, FR_CONSUMER, &ring) != 0)
		return -1;
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

int frt_wait_stopped(pid_t pid, long bound_ms, int *status)
{
	uint64_t deadline = frt_deadline_ms(bound_ms);
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
		if (frt_now_ns() > deadline)
			return -1;
		frt_sleep_us(200);
	}
}

int frt_continue(pid_t pid)
{
	return kill(pid, SIGCONT) == 0 ? 0 : -errno;
}

int frt_wait_flag(_Atomic uint32_t *flag, uint32_t value, pid_t pid, int bound_s)
{
	uint64_t deadline = frt_deadline_ms(bound_s * 1000L);
	for (;;) {
		if (atomic_load(flag) >= value)
			return 0;
		if (pid > 0) {
			char st = frt_proc_state(pid);
			if (st == 0 || st == 'Z' || st == 'X')
				/* It may have set the flag just before it ended. */
				return atomic_load(flag) >= value ? 0 : -1;
		}
		if (frt_now_ns() > deadline)
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

/* ---- segment files -------------------------------------------------------- */

uint8_t *frt_segment_image(const struct fr_config *cfg, size_t *len)
{
	char name[FRT_NAME_SIZE], path[FRT_NAME_SIZE + 16];
	struct fr_ring *ring = NULL;
	int rc = fr_create(frt_name(name, sizeof name, "img"), cfg, &ring);
	if (rc != 0) {
		fprintf(stderr, "segment image: fr_create: %d (%s)\n", rc, fr_strerror(rc));
		return NULL;
	}
	fr_close(ring);
	uint8_t *buf = NULL;
	int fd = open(frt_shm_path(path, sizeof path, name), O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 &&
	    (buf = malloc((size_t)st.st_size)) != NULL &&
	    pread(fd, buf, (size_t)st.st_size, 0) == (ssize_t)st.st_size) {
		*len = (size_t)st.st_size;
	} else {
		fprintf(stderr, "segment image: reading %s: %s\n", path, strerror(errno));
		free(buf);
		buf = NULL;
	}
	if (fd >= 0)
		close(fd);
	fr_unlink(name);
	return buf;
}

int frt_segment_write(char *name, const char *tag, const void *buf, size_t len)
{
	char path[FRT_NAME_SIZE + 16];
	frt_name(name, FRT_NAME_SIZE, tag);
	int fd = open(frt_shm_path(path, sizeof path, name), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
		      0600);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, buf, len);
	int err = w < 0 ? errno : EIO;
	close(fd);
	return w == (ssize_t)len ? 0 : -err;
}

int frt_view_open(const char *name, int writable, struct frt_view *v)
{
	char path[FRT_NAME_SIZE + 16];
	memset(v, 0, sizeof *v);
	int fd = open(frt_shm_path(path, sizeof path, name),
		      (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < sizeof(struct fr_shm_header)) {
		close(fd);
		return -EPROTO;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | (writable ? PROT_WRITE : 0),
		       MAP_SHARED, fd, 0);
	int err = errno;
	close(fd);
	if (m == MAP_FAILED)
		return -err;
	const struct fr_shm_header *h = m;
	uint64_t size = (uint64_t)st.st_size;
	uint64_t desc_end = h->desc_offset + (uint64_t)h->slot_count * sizeof(struct fr_shm_desc);
	uint64_t log_end = h->log_offset + (uint64_t)h->log_count * sizeof(struct fr_shm_log);
	if (h->desc_offset > size || desc_end > size || h->log_offset > size || log_end > size) {
		munmap(m, (size_t)st.st_size);
		return -EPROTO;
	}
	v->map = m;
	v->len = (size_t)st.st_size;
	v->hdr = m;
	v->desc = (struct fr_shm_desc *)(void *)(v->map + h->desc_offset);
	v->log = h->log_offset ? (struct fr_shm_log *)(void *)(v->map + h->log_offset) : NULL;
	v->slots = h->slot_count;
	v->log_count = h->log_offset ? h->log_count : 0;
	return 0;
}

void frt_view_close(struct frt_view *v)
{
	if (v->map)
		munmap(v->map, v->len);
	memset(v, 0, sizeof *v);
}

uint64_t frt_view_turn(const struct frt_view *v, uint32_t i)
{
	return atomic_load(&v->desc[i].turn);
}

uint32_t frt_view_peer_state(const struct frt_view *v, unsigned idx)
{
	if (idx >= FR_MAX_PEERS)
		return UINT32_MAX;
	return atomic_load(&v->hdr->peers[idx].state);
}

int frt_view_find_peer(const struct frt_view *v, pid_t pid)
{
	int entry = -1;
	for (int i = 0; i < FR_MAX_PEERS; i++)
		if (v->hdr->peers[i].pid == pid &&
		    atomic_load(&v->hdr->peers[i].state) != FR_PEER_FREE)
			entry = i;
	return entry;
}

uint32_t frt_view_event(const struct fr_shm_wait *w)
{
	return atomic_load((_Atomic uint32_t *)(uintptr_t)&w->event);
}

uint64_t frt_view_waiters(const struct fr_shm_wait *w)
{
	return atomic_load((_Atomic uint64_t *)(uintptr_t)&w->waiters);
}

int frt_wait_announced_sleep(pid_t pid, const struct fr_shm_wait *w)
{
	for (int i = 0; i < 1000; i++) {
		if (frt_wait_futex_sleep(pid, 60) != 0)
			return -1;
		if (frt_view_waiters(w) != 0)
			return 0;
		frt_sleep_ms(1);
	}
	return -1;
}

unsigned frt_distinct(void *const *ptrs, unsigned n)
{
	unsigned d = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned j = 0;
		while (j < i && ptrs[j] != ptrs[i])
			j++;
		d += j == i;
	}
	return d;
}

unsigned frt_repeats(void *const *ptrs, unsigned n)
{
	unsigned r = 0;
	for (unsigned i = 1; i < n; i++)
		r += ptrs[i] == ptrs[i - 1];
	return r;
}

uint64_t frt_field_load(const uint8_t *p, unsigned size)
{
	if (size == 4)
		return __atomic_load_n((const uint32_t *)(const void *)p, __ATOMIC_RELAXED);
	return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_RELAXED);
}

void frt_field_store(uint8_t *p, unsigned size, uint64_t v)
{
	if (size == 4)
		__atomic_store_n((uint32_t *)(void *)p, (uint32_t)v, __ATOMIC_RELAXED);
	else
		__atomic_store_n((uint64_t *)(void *)p, v, __ATOMIC_RELAXED);
}
