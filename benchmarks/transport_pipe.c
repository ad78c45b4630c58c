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
	.setup = pipe_setup,
	.prod_open = pipe_prod_open,
	.cons_open = pipe_cons_open,
	BENCH_STREAM_OPS,
};
