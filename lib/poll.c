/*
 * fr_fd(): an fd an event loop can watch instead of blocking in a wait.
 *
 * The fd is an inotify instance watching the segment file for IN_ATTRIB.
 * A poller that found nothing to do arms: it drains the fd, sets its bit in
 * the wait line's pollers mask and re-checks the ring (the same Dekker
 * handshake a futex sleeper makes). A waker that sees armed pollers clears
 * the mask and touches the file's times once (futimens), which makes every
 * armed poller's fd readable. So:
 *  - nobody polls: a waker pays one more load on a line it reads anyway;
 *  - reaching the fd takes read access to the segment (the inotify watch)
 *    and poking takes write access: permissions follow the segment's;
 *  - no daemon, no thread, no socket name: it works for anonymous (memfd)
 *    segments and across containers sharing a volume (inotify is per inode);
 *  - a poller that dies leaves at most its bit, which costs the next waker
 *    one futimens and is cleared by the reaper.
 * A poke reaches every armed poller (spurious readiness is allowed and
 * documented); inotify coalesces repeated events, so the fd never fills up.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static void drain(int fd)
{
	char buf[256] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

FR_API int fr_fd(struct fr_ring *r)
{
	if (r && r->inherited)
		return -ECHILD;
	if (!r)
		return -EINVAL;
	if (r->poll_fd >= 0)
		return r->poll_fd;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r->fd);
	if (inotify_add_watch(fd, path, IN_ATTRIB) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	r->poll_fd = fd;
	/* A poller waits in the caller's epoll_wait: wakers must fence for it
	 * whatever its spin (wait.c). */
	fri_may_sleep(fri_sleep_line(r), (unsigned)r->peer, true);
	/* Readable from the start: the caller's first round of non-blocking
	 * calls finds what is already there and arms the fd. */
	futimens(r->fd, NULL);
	return fd;
}

void fri_poll_arm(struct fr_ring *r, struct fr_shm_wait *line)
{
	drain(r->poll_fd);
	/* seq_cst, then the announce barrier: pairs with the waker's barrier and
	 * mask load in fri_wake();
	 * the caller's re-check of the ring comes after. */
	atomic_fetch_or_explicit(&line->pollers, UINT64_C(1) << r->peer, memory_order_seq_cst);
	fri_announce_barrier(); /* wakers fence for pollers: fence_peers, set in fr_fd() */
}

void fri_poll_close(struct fr_ring *r)
{
	if (r->poll_fd >= 0)
		close(r->poll_fd);
	r->poll_fd = -1;
}
