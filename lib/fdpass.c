/*
 * Handing a segment to another process over a Unix socket: the fd travels as
 * SCM_RIGHTS with a four-byte tag. The receiving side treats the message as
 * hostile: exactly one fd with the tag is accepted, anything else is refused
 * and every fd that came with it closed (they would leak otherwise).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

static const char fd_tag[4] = { 'F', 'R', 'f', 'd' };
#define MAX_FDS 8 /* room to see (and close) a few more than the one we want */

FR_API int fr_send_fd(int sock, int fd)
{
	if (sock < 0 || fd < 0)
		return -EINVAL;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { .iov_base = (void *)fd_tag, .iov_len = sizeof(fd_tag) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t n;
	while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(fd_tag) ? 0 : -EPROTO;
}

FR_API int fr_recv_fd(int sock)
{
	if (sock < 0)
		return -EINVAL;
	char tag[sizeof(fd_tag)];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = tag, .iov_len = sizeof(tag) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	int got = -1, count = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < fds; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (count++ == 0)
				got = fd;
			else
				close(fd);
		}
	}
	bool ok = n == (ssize_t)sizeof(tag) && memcmp(tag, fd_tag, sizeof(tag)) == 0 &&
		  count == 1 && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	if (ok)
		return got;
	if (got >= 0)
		close(got);
	return n == 0 && count == 0 ? -ECONNRESET : -EPROTO;
}
