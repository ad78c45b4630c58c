/*
 * tcp: one loopback connection on 127.0.0.1 (never another address), frames
 * one way and acknowledgements the other, TCP_NODELAY, buffers raised like the
 * unix socket's.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_SOCKBUF (4 << 20)

static void loopback(struct sockaddr_in *sa, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static int tcp_setup(struct bench_run *r, char *why, size_t whylen)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1, rc;
	(void)why;
	(void)whylen;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r->fd[0] = fd;
	r->nfd = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* accepted sockets inherit the buffer sizes (and window scale) */
	rc = bench_stream_set_bufs(fd, TCP_SOCKBUF);
	if (rc)
		return rc;
	loopback(&sa, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		return -errno;
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	r->port = ntohs(sa.sin_port);
	return 0;
}

static int tcp_nodelay(int fd)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

static int tcp_prod_open(struct bench_ep *e, char *why, size_t whylen)
{
	struct sockaddr_in sa;
	int rc;
	(void)why;
	(void)whylen;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = bench_stream_set_bufs(fd, TCP_SOCKBUF);
	if (!rc)
		rc = tcp_nodelay(fd);
	loopback(&sa, e->run->port);
	if (!rc && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		rc = -errno;
	if (!rc)
		rc = bench_stream_attach(e, fd, fd);
	if (rc)
		close(fd);
	return rc;
}

static int tcp_cons_open(struct bench_ep *e, char *why, size_t whylen)
{
	int rc;
	(void)why;
	(void)whylen;
	int fd = accept4(e->run->fd[0], NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = tcp_nodelay(fd);
	if (!rc)
		rc = bench_stream_attach(e, fd, fd);
	if (rc)
		close(fd);
	return rc;
}

/* The connected sockets are each process's own: close (bench_stream_close)
 * leaves them to the process's exit, teardown closes the listening one. */
const struct bench_transport bench_tp_tcp = {
	.name = "tcp",
	.setup = tcp_setup,
	.prod_open = tcp_prod_open,
	.cons_open = tcp_cons_open,
	BENCH_STREAM_OPS,
};
