/*
 * Common code of the copying transports (pipe, unix socket, tcp): the
 * producer fills a private buffer and write()s the whole frame; the consumer
 * read()s the whole frame into its own private buffer. Acknowledgements
 * travel back as one 8-byte counter.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

struct stream_ep {
	int data_fd;
	int ack_fd;
	void *buf;
	size_t bytes;
};

int bench_stream_attach(struct bench_ep *e, int data_fd, int ack_fd)
{
	struct stream_ep *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->data_fd = data_fd;
	s->ack_fd = ack_fd;
	s->bytes = e->run->frame_bytes;
	s->buf = bench_alloc(s->bytes);
	if (!s->buf) {
		free(s);
		return -ENOMEM;
	}
	e->priv = s;
	return 0;
}

int bench_stream_claim(struct bench_ep *e, void **buf)
{
	struct stream_ep *s = e->priv;
	*buf = s->buf;
	return 0;
}

int bench_stream_publish(struct bench_ep *e)
{
	struct stream_ep *s = e->priv;
	return bench_write_full(s->data_fd, s->buf, s->bytes);
}

int bench_stream_ack_wait(struct bench_ep *e, uint64_t *counter)
{
	struct stream_ep *s = e->priv;
	return bench_read_full(s->ack_fd, counter, sizeof(*counter));
}

int bench_stream_acquire(struct bench_ep *e, const void **buf)
{
	struct stream_ep *s = e->priv;
	int rc = bench_read_full(s->data_fd, s->buf, s->bytes);
	if (rc)
		return rc;
	*buf = s->buf;
	return 0;
}

int bench_stream_release(struct bench_ep *e)
{
	(void)e;
	return 0;
}

int bench_stream_ack_send(struct bench_ep *e, uint64_t counter)
{
	struct stream_ep *s = e->priv;
	return bench_write_full(s->ack_fd, &counter, sizeof(counter));
}

int bench_stream_idle_wait(struct bench_ep *e, int ms)
{
	struct stream_ep *s = e->priv;
	int rc = bench_poll_in(s->data_fd, ms);
	if (rc < 0)
		return rc;
	return rc ? -EPROTO : -ETIMEDOUT; /* nothing is ever sent in the idle test */
}

void bench_stream_teardown(struct bench_run *r)
{
	for (int i = 0; i < r->nfd; i++)
		close(r->fd[i]);
	r->nfd = 0;
}

void bench_stream_close(struct bench_ep *e)
{
	struct stream_ep *s = e->priv;
	if (!s)
		return;
	bench_free(s->buf, s->bytes);
	free(s);
	e->priv = NULL;
}

int bench_stream_set_bufs(int fd, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)) < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0)
		return -errno;
	return 0;
}
