/*
 * pipe: frames down one pipe, acknowledgements up another. Both pipes are
 * enlarged to the system maximum (fs.pipe-max-size) with F_SETPIPE_SZ, as a
 * tuned user would.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int pipe_max_size(void)
{
	int size = 1 << 20;
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
	if (f) {
		if (fscanf(f, "%d", &size) != 1)
			size = 1 << 20;
		fclose(f);
	}
	return size;
}

static int pipe_setup(struct bench_run *r, char *why, size_t whylen)
{
	int size = pipe_max_size();
	(void)why;
	(void)whylen;
	/* fd[0]/fd[1]: data read/write end; fd[2]/fd[3]: ack read/write end */
	if (pipe2(&r->fd[0], O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(&r->fd[2], O_CLOEXEC) < 0) {
		int err = -errno;
		close(r->fd[0]);
		close(r->fd[1]);
		return err;
	}
	r->nfd = 4;
	/* Best effort: an unprivileged user may be capped lower. */
	if (fcntl(r->fd[1], F_SETPIPE_SZ, size) < 0)
		(void)fcntl(r->fd[1], F_SETPIPE_SZ, 1 << 20);
	return 0;
}

static int pipe_prod_open(struct bench_ep *e, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return bench_stream_attach(e, e->run->fd[1], e->run->fd[2]);
}

static int pipe_cons_open(struct bench_ep *e, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	return bench_stream_attach(e, e->run->fd[0], e->run->fd[3]);
}

const struct bench_transport bench_tp_pipe = {
	.name = "pipe",
	.max_consumers = 1,
	.setup = pipe_setup,
	.teardown = bench_stream_teardown,
	.prod_open = pipe_prod_open,
	.cons_open = pipe_cons_open,
	.claim = bench_stream_claim,
	.publish = bench_stream_publish,
	.ack_wait = bench_stream_ack_wait,
	.acquire = bench_stream_acquire,
	.release = bench_stream_release,
	.ack_send = bench_stream_ack_send,
	.idle_wait = bench_stream_idle_wait,
	.close = bench_stream_close,
};
