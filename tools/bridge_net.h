/*
 * The bridge's ZeroMQ sockets: which socket each side and pattern uses, the
 * options that bound memory (high-water marks, message size, linger), TCP
 * keepalive that notices a vanished peer, a monitor that counts connections,
 * a reset for a REQ socket that lost its reply, and multipart receive with a
 * bound on the parts kept.
 */
#ifndef FRAMERING_BRIDGE_NET_H
#define FRAMERING_BRIDGE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

/* Message parts kept by bridge_recv_parts; more are counted and dropped. */
#define BRIDGE_MAX_PARTS 3

struct bridge_sock {
	/* set before bridge_sock_open */
	void *ctx;
	int type;             /* ZMQ_PUSH, ZMQ_PULL, ZMQ_PUB, ZMQ_SUB, ZMQ_REQ or ZMQ_REP */
	const char *endpoint; /* tcp://host:port, ipc://path, ... */
	bool bind;            /* bind instead of connect */
	int hwm;              /* high-water mark of the queue in the socket's direction */
	int64_t maxmsgsize;   /* receivers: drop peers that send a larger part; -1 none */
	/* state */
	void *sock;
	void *mon;           /* PAIR socket reading the monitor's events */
	unsigned generation; /* sockets made so far (names the monitor endpoint) */
	uint64_t handshakes; /* peers connected (ZMTP handshake done), every socket so far */
	uint64_t disconnects;
	char err[512]; /* text of the last error */
};

/* The ZeroMQ context of the process (ZMQ_BLOCKY off: closing never hangs). NULL on failure. */
void *bridge_ctx_new(void);
void bridge_ctx_free(void *ctx);

/*
 * Make the socket, set its options, attach the monitor, then bind or connect.
 * 0, or a negative errno with the text in s->err (a bad endpoint: -EINVAL).
 */
int bridge_sock_open(struct bridge_sock *s);

/* Close the socket (and its monitor), letting queued messages go for up to @linger_ms. */
void bridge_sock_close(struct bridge_sock *s, int linger_ms);

/* Close at once and open again: a REQ socket whose reply never came. 0 or -errno. */
int bridge_sock_reset(struct bridge_sock *s);

/*
 * Wait up to @timeout_ms for @events (ZMQ_POLLIN/ZMQ_POLLOUT) on the socket,
 * reading monitor events meanwhile. 1 ready, 0 not yet, -EINTR on a signal,
 * another negative errno on failure.
 */
int bridge_sock_wait(struct bridge_sock *s, short events, int timeout_ms);

/* Connection changes since the last call: *connected and *lost, counts. */
void bridge_sock_events(struct bridge_sock *s, uint64_t *connected, uint64_t *lost);

/* One message, all its parts: the first BRIDGE_MAX_PARTS kept, the others dropped. */
struct bridge_rx {
	zmq_msg_t part[BRIDGE_MAX_PARTS];
	unsigned kept;  /* parts initialised in part[] */
	unsigned total; /* parts the message had */
};

/*
 * Receive one whole message without waiting. 1 received (close it with
 * bridge_rx_close), 0 nothing there, negative errno on failure.
 */
int bridge_recv_parts(struct bridge_sock *s, struct bridge_rx *rx);
void bridge_rx_close(struct bridge_rx *rx);

/*
 * Send @msg as the next part (@more: ZMQ_SNDMORE) without waiting. 0 sent;
 * -EAGAIN the socket cannot take it now (@msg is still the caller's); another
 * negative errno: failed, @msg closed.
 */
int bridge_send_msg(struct bridge_sock *s, zmq_msg_t *msg, bool more);

#endif /* FRAMERING_BRIDGE_NET_H */
