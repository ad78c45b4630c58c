/*
 * unix: a SOCK_STREAM socketpair; frames one way, acknowledgements the other
 * way on the same connection. SO_SNDBUF/SO_RCVBUF are raised to 4 MiB (the
 * kernel caps them at net.core.wmem_max/rmem_max).
 */
#include "bench.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#define UNIX_SOCKBUF (4 << 20)

static int unix_setup(struct bench_run *r, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r->fd) < 0)
		return -errno;
	r->nfd = 2;
	for (int i = 0; i < 2; i++) {
		int rc = bench_stream_set_bufs(r->fd[i], UNIX_SOCKBUF);
		if (rc)
			return rc;
	}
	return 0;
}

static int unix_prod_open(struct bench_ep *e, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return bench_stream_attach(e, e->run->fd[0], e->run->fd[0]);
}

static int unix_cons_open(struct bench_ep *e, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return bench_stream_attach(e, e->run->fd[1], e->run->fd[1]);
}

const struct bench_transport bench_tp_unix = {
	.name = "unix",
	.setup = unix_setup,
	.prod_open = unix_prod_open,
	.cons_open = unix_cons_open,
	BENCH_STREAM_OPS,
};
