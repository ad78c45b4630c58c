/*
 * The process's attached handles, so that a fork() child can disown them.
 *
 * A child inherits the parent's handles as copies of memory and the
 * segment fds as duplicates of the same open file descriptions, which carry
 * the parent's peer locks (peers.c). Left alone, the child would keep the
 * parent "alive" after the parent died (no reaping, no redelivery, a
 * restarted peer getting -EBUSY until the child exits), and a child calling
 * fr_close() would detach the parent. So at fork the child closes its copies
 * of the fds (OFD locks go only with the last descriptor, which the parent
 * keeps) and marks every handle inherited: every call on it then fails with
 * -ECHILD, and fr_close() only frees the child's memory.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "internal.h"

static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fr_ring *handles; /* linked through next_handle */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int atfork_error;

static void before_fork(void)
{
	pthread_mutex_lock(&handles_lock); /* no list half-changed in the child */
}

static void parent_after_fork(void)
{
	pthread_mutex_unlock(&handles_lock);
}

static void child_after_fork(void)
{
	for (struct fr_ring *r = handles; r; r = r->next_handle) {
		if (r->inherited)
			continue; /* disowned by an earlier fork already */
		close(r->fd);
		r->fd = -1;
		/* The inotify instance is shared with the parent too: reading it
		 * here would steal the parent's wake-ups. */
		if (r->poll_fd >= 0)
			close(r->poll_fd);
		r->poll_fd = -1;
		r->inherited = true;
	}
	pthread_mutex_unlock(&handles_lock);
}

static void install_atfork(void)
{
	atfork_error = pthread_atfork(before_fork, parent_after_fork, child_after_fork);
}

int fri_handle_register(struct fr_ring *r)
{
	pthread_once(&atfork_once, install_atfork);
	if (atfork_error)
		return -atfork_error;
	pthread_mutex_lock(&handles_lock);
	r->next_handle = handles;
	handles = r;
	pthread_mutex_unlock(&handles_lock);
	return 0;
}

void fri_handle_unregister(struct fr_ring *r)
{
	pthread_mutex_lock(&handles_lock);
	for (struct fr_ring **p = &handles; *p; p = &(*p)->next_handle) {
		if (*p == r) {
			*p = r->next_handle;
			break;
		}
	}
	pthread_mutex_unlock(&handles_lock);
}
