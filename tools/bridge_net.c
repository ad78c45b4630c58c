/* The bridge's ZeroMQ sockets: see bridge_net.h. */
#include "bridge_net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void *bridge_ctx_new(void)
{
	void *ctx = zmq_ctx_new();

	if (ctx)
		zmq_ctx_set(ctx, ZMQ_BLOCKY, 0);
	return ctx;
}

void bridge_ctx_free(void *ctx)
{
	if (ctx)
		zmq_ctx_term(ctx);
}

static int fail(struct bridge_sock *s, const char *what)
{
	int err = zmq_errno();

	snprintf(s->err, sizeof(s->err), "%s: %s", what, zmq_strerror(err));
	return err ? -err : -EIO;
}

static int set_int(struct bridge_sock *s, int opt, int v, const char *name)
{
	if (zmq_setsockopt(s->sock, opt, &v, sizeof(v)))
		return fail(s, name);
	return 0;
}

static bool sends(int type)
{
	return type == ZMQ_PUSH || type == ZMQ_PUB || type == ZMQ_REQ;
}

/* The options every bridge socket gets, before it binds or connects. */
static int set_options(struct bridge_sock *s)
{
	int rc;

	/* Nothing waits behind a closed socket; bridge_sock_close says how long. */
	if ((rc = set_int(s, ZMQ_LINGER, 0, "ZMQ_LINGER")))
		return rc;
	if ((rc = set_int(s, sends(s->type) ? ZMQ_SNDHWM : ZMQ_RCVHWM, s->hwm, "high-water mark")))
		return rc;
	/* The direction the socket does not use: as small as ZeroMQ allows. */
	if ((rc = set_int(s, sends(s->type) ? ZMQ_RCVHWM : ZMQ_SNDHWM, 1, "high-water mark")))
		return rc;
	if (s->maxmsgsize >= 0 &&
	    zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &s->maxmsgsize, sizeof(s->maxmsgsize)))
		return fail(s, "ZMQ_MAXMSGSIZE");
	/* A connecting sender queues nothing for a peer that is not there. */
	if (!s->bind && sends(s->type) && s->type != ZMQ_PUB &&
	    (rc = set_int(s, ZMQ_IMMEDIATE, 1, "ZMQ_IMMEDIATE")))
		return rc;
	/*
	 * A peer that vanished without closing (cable, power) is noticed by TCP
	 * keepalive, which the kernel answers. Not ZeroMQ's heartbeats: a receiver
	 * whose queue is full stops reading its socket, PINGs included, and a
	 * heartbeat timeout would then cut a peer that is only slow.
	 */
	if ((rc = set_int(s, ZMQ_TCP_KEEPALIVE, 1, "ZMQ_TCP_KEEPALIVE")) ||
	    (rc = set_int(s, ZMQ_TCP_KEEPALIVE_IDLE, 10, "ZMQ_TCP_KEEPALIVE_IDLE")) ||
	    (rc = set_int(s, ZMQ_TCP_KEEPALIVE_INTVL, 2, "ZMQ_TCP_KEEPALIVE_INTVL")) ||
	    (rc = set_int(s, ZMQ_TCP_KEEPALIVE_CNT, 5, "ZMQ_TCP_KEEPALIVE_CNT")) ||
	    (rc = set_int(s, ZMQ_RECONNECT_IVL, 100, "ZMQ_RECONNECT_IVL")) ||
	    (rc = set_int(s, ZMQ_RECONNECT_IVL_MAX, 1000, "ZMQ_RECONNECT_IVL_MAX")))
		return rc;
	if (s->type == ZMQ_SUB && zmq_setsockopt(s->sock, ZMQ_SUBSCRIBE, "", 0))
		return fail(s, "ZMQ_SUBSCRIBE");
	return 0;
}

/* The monitor: connections and disconnections, read through a PAIR socket. */
static int attach_monitor(struct bridge_sock *s)
{
	char name[96];
	int linger = 0;

	snprintf(name, sizeof(name), "inproc://framering-bridge-monitor-%d-%p-%u", (int)getpid(),
		 (void *)s, s->generation);
	if (zmq_socket_monitor(s->sock, name,
			       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED))
		return fail(s, "monitor");
	if (!(s->mon = zmq_socket(s->ctx, ZMQ_PAIR)))
		return fail(s, "monitor socket");
	zmq_setsockopt(s->mon, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_connect(s->mon, name))
		return fail(s, "monitor connect");
	return 0;
}

int bridge_sock_open(struct bridge_sock *s)
{
	int rc;

	s->err[0] = '\0';
	s->generation++;
	if (!(s->sock = zmq_socket(s->ctx, s->type)))
		return fail(s, "socket");
	if ((rc = set_options(s)) || (rc = attach_monitor(s)))
		goto out;
	if (s->bind ? zmq_bind(s->sock, s->endpoint) : zmq_connect(s->sock, s->endpoint)) {
		char what[200];
		snprintf(what, sizeof(what), "%s %s", s->bind ? "bind" : "connect", s->endpoint);
		rc = fail(s, what);
		goto out;
	}
	return 0;
out:
	bridge_sock_close(s, 0);
	return rc;
}

/* Read every pending monitor event into the counters. */
static void drain_monitor(struct bridge_sock *s)
{
	while (s->mon) {
		zmq_msg_t ev, addr;
		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, s->mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&ev);
			return;
		}
		uint16_t event = 0;
		if (zmq_msg_size(&ev) >= 2)
			memcpy(&event, zmq_msg_data(&ev), sizeof(event));
		bool more = zmq_msg_more(&ev);
		zmq_msg_close(&ev);
		if (more) { /* the endpoint's address */
			zmq_msg_init(&addr);
			zmq_msg_recv(&addr, s->mon, ZMQ_DONTWAIT);
			zmq_msg_close(&addr);
		}
		if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
			s->handshakes++;
		else if (event == ZMQ_EVENT_DISCONNECTED)
			s->disconnects++;
	}
}

void bridge_sock_close(struct bridge_sock *s, int linger_ms)
{
	if (s->sock) {
		drain_monitor(s);
		zmq_setsockopt(s->sock, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
		zmq_socket_monitor(s->sock, NULL, 0);
		zmq_close(s->sock);
		s->sock = NULL;
	}
	if (s->mon) {
		zmq_close(s->mon);
		s->mon = NULL;
	}
}

int bridge_sock_reset(struct bridge_sock *s)
{
	bridge_sock_close(s, 0);
	return bridge_sock_open(s);
}

int bridge_sock_wait(struct bridge_sock *s, short events, int timeout_ms)
{
	zmq_pollitem_t items[2] = {
		{ s->sock, 0, events, 0 },
		{ s->mon, 0, ZMQ_POLLIN, 0 },
	};
	int n = zmq_poll(items, s->mon ? 2 : 1, timeout_ms);

	if (n < 0) {
		int err = zmq_errno();
		return err == EINTR ? -EINTR : fail(s, "poll");
	}
	if (items[1].revents)
		drain_monitor(s);
	return (items[0].revents & events) ? 1 : 0;
}

void bridge_sock_events(struct bridge_sock *s, uint64_t *connected, uint64_t *lost)
{
	drain_monitor(s);
	*connected = s->handshakes;
	*lost = s->disconnects;
}

int bridge_recv_parts(struct bridge_sock *s, struct bridge_rx *rx)
{
	rx->kept = rx->total = 0;
	for (;;) {
		zmq_msg_t scratch,
		    *m = rx->kept < BRIDGE_MAX_PARTS ? &rx->part[rx->kept] : &scratch;
		zmq_msg_init(m);
		/* The first part may be absent; the others of a message are there already. */
		if (zmq_msg_recv(m, s->sock, rx->total ? 0 : ZMQ_DONTWAIT) < 0) {
			int err = zmq_errno();
			zmq_msg_close(m);
			if (!rx->total && err == EAGAIN)
				return 0;
			if (err == EINTR && rx->total)
				continue;
			bridge_rx_close(rx);
			return fail(s, "receive");
		}
		rx->total++;
		bool more = zmq_msg_more(m);
		if (m == &scratch)
			zmq_msg_close(m);
		else
			rx->kept++;
		if (!more)
			return 1;
	}
}

void bridge_rx_close(struct bridge_rx *rx)
{
	for (unsigned i = 0; i < rx->kept; i++)
		zmq_msg_close(&rx->part[i]);
	rx->kept = rx->total = 0;
}

int bridge_send_msg(struct bridge_sock *s, zmq_msg_t *msg, bool more)
{
	if (zmq_msg_send(msg, s->sock, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) >= 0)
		return 0;
	int err = zmq_errno();
	if (err == EAGAIN)
		return -EAGAIN;
	zmq_msg_close(msg);
	return fail(s, "send");
}
