/*
 * The peer registry: who is attached, whether they are still alive, and the
 * stream word. Knows nothing of modes (attach.c does the mode-aware part).
 *
 * Each peer entry's first byte in the segment file is covered by an
 * open-file-description lock (F_OFD_SETLK) held by the attached handle. The
 * kernel drops the lock when the last descriptor of that open file goes away,
 * i.e. when the process dies however it dies, in any PID namespace. So
 * "alive" is F_OFD_GETLK finding a conflicting lock, not a guess from pids.
 * The same lock serialises everyone who changes an entry: the attacher, the
 * reaper of a dead entry, and an adopter of an orphaned frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static off_t peer_byte(unsigned idx)
{
	return (off_t)(offsetof(struct fr_shm_header, peers) + (size_t)idx * FR_SHM_PEER_BYTES);
}

/* The lock record of entry @idx: its first byte in the file. */
static struct flock entry_lock(unsigned idx, short type)
{
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = peer_byte(idx);
	fl.l_len = 1;
	return fl;
}

static int ofd_lock(int fd, unsigned idx, short type)
{
	struct flock fl = entry_lock(idx, type);
	return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

/* 1 when another open file description holds entry @idx's lock, 0 when none, <0 error. */
int fri_peer_alive_fd(int fd, unsigned idx)
{
	struct flock fl = entry_lock(idx, F_WRLCK);
	if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

int fri_peer_lock(const struct fr_ring *r, unsigned idx)
{
	return ofd_lock(r->fd, idx, F_WRLCK);
}

void fri_peer_unlock(const struct fr_ring *r, unsigned idx)
{
	ofd_lock(r->fd, idx, F_UNLCK);
}

/*
 * Crowded: the live peers outnumber the CPUs they may run on. Those are the
 * union of their entries' affinity masks, not this process's own: pipelines
 * pin each process to a CPU of its own, and a producer pinned to CPU 0 with
 * its consumer on CPU 1 has two CPUs for two peers, not one. An entry whose
 * mask is unknown (0) counts as able to run anywhere online. Our own mask is
 * stored anew at the first count and every FR_CROWD_MASK_EVERY counts after
 * (a syscall: once in 1,024 waits), so a thread pinned after attaching is seen.
 * Relaxed throughout: a heuristic for the spin, nothing is decided on it, and
 * a scribbled mask only changes how long we spin.
 */
bool fri_crowded(struct fr_ring *r)
{
	if (r->self && r->crowd_counts++ % FR_CROWD_MASK_EVERY == 0)
		atomic_store_explicit(&r->self->cpus, fri_cpu_mask(), memory_order_relaxed);
	unsigned live = 0;
	uint64_t cpus = 0;
	bool unknown = false;
	for (unsigned i = 0; i < FR_MAX_PEERS; i++) {
		const struct fr_shm_peer *p = &r->hdr->peers[i];
		if (atomic_load_explicit(&p->state, memory_order_relaxed) != FR_PEER_LIVE)
			continue;
		uint64_t mask = atomic_load_explicit(&p->cpus, memory_order_relaxed);
		live++;
		cpus |= mask;
		unknown |= mask == 0;
	}
	unsigned n = unknown ? fri_online_cpus() : (unsigned)__builtin_popcountll(cpus);
	return live > n;
}

bool fri_peer_alive(const struct fr_ring *r, unsigned idx)
{
	if ((int)idx == r->peer)
		return true;                       /* our own lock never conflicts with us */
	return fri_peer_alive_fd(r->fd, idx) != 0; /* on error, assume alive: never reap wrongly */
}

uint64_t fri_process_start_time(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* after ')' come fields 3..; starttime is field 22 */
	unsigned long long v = 0;
	int field = 2;
	for (char *s = p + 1; *s && field < 22; s++) {
		if (*s == ' ') {
			field++;
			if (field == 22)
				v = strtoull(s + 1, NULL, 10);
		}
	}
	return field == 22 ? v : 0;
}

bool fri_creator_alive(int32_t pid, uint64_t start_time)
{
	if (pid <= 0)
		return false;
	uint64_t st = fri_process_start_time(pid);
	return st != 0 && st == start_time;
}

void fri_retire_consumer(struct fr_ring *r, int idx)
{
	if (idx < 0 || idx >= FR_MAX_PEERS)
		return;
	/* Relaxed: a statistic; the entry's count is final by now. Taken, not
	 * read, so that a second reaper (the first died mid-reap) adds nothing. */
	uint64_t n = atomic_exchange_explicit(&r->hdr->peers[idx].delivered, 0,
					      memory_order_relaxed);
	atomic_fetch_add_explicit(&r->hdr->consumed_retired, n, memory_order_relaxed);
}

/*
 * End of stream is a function of one word, header.stream: a bit per attached
 * producer entry and FR_STREAM_END. A producer joins (its bit, END cleared)
 * and leaves (its bit cleared, END set when no bit is left and something was
 * ever published) by CAS, so a join and a leave cannot both miss each other:
 * no end while a producer is attached, and an end when the last one leaves,
 * whichever handle that is. A dead producer's bit is cleared by its reaper
 * without END: a crash is not end of stream.
 */
void fri_stream_join(struct fr_shm_header *h, unsigned idx)
{
	uint64_t old = atomic_load_explicit(&h->stream, memory_order_relaxed);
	/* Release: pairs with the acquire of a leaving producer's CAS, which
	 * then sees our bit (and our LIVE entry). */
	while (!atomic_compare_exchange_weak_explicit(&h->stream, &old,
						      (old | UINT64_C(1) << idx) & ~FR_STREAM_END,
						      memory_order_release, memory_order_relaxed))
		;
}

bool fri_stream_leave(struct fr_ring *r)
{
	struct fr_shm_header *h = r->hdr;
	const uint64_t bit = UINT64_C(1) << r->peer;
	/* Acquire (here and on the CAS): pairs with the release CAS of producers
	 * that left before us, so their publishes count in `published`. */
	uint64_t old = atomic_load_explicit(&h->stream, memory_order_acquire);
	for (;;) {
		uint64_t next = old & ~bit;
		if (!(next & FR_STREAM_PRODUCERS) &&
		    atomic_load_explicit(&h->published, memory_order_relaxed))
			next |= FR_STREAM_END;
		/* Release: pairs with the consumer's acquire load of the word, after
		 * which it re-checks the ring once and sees our last publish. */
		if (atomic_compare_exchange_weak_explicit(
			&h->stream, &old, next, memory_order_acq_rel, memory_order_acquire))
			return (next & FR_STREAM_END) && !(old & FR_STREAM_END);
	}
}
