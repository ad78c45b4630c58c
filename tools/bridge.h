/*
 * framering bridge: a segment extended over ZeroMQ. `send` consumes a local
 * segment and sends its frames; `recv` receives them and publishes them into
 * a local segment. cmd_bridge.c parses the command line and holds what both
 * sides share (status line, rate-limited warnings, clocks); bridge_send.c and
 * bridge_recv.c are the two loops; bridge_wire.c the formats, bridge_net.c
 * the sockets.
 */
#ifndef FRAMERING_BRIDGE_H
#define FRAMERING_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "framering.h"
#include "stats.h"

/* What the command line asked for (both sides; each uses its own). */
struct bridge_opts {
	bool send; /* send, else recv */
	const char *name;
	char shown[FR_NAME_MAX + 8]; /* the name with its '/' */
	const char *endpoint;
	bool bind, pubsub, imagezmq, latest, quiet;
	bool help; /* --help: printed, nothing else to do */
	bool jpeg; /* send --jpeg[=QUALITY] */
	uint32_t quality;
	const char *msg;      /* send --imagezmq: the "msg" text; NULL: the host name */
	double reply_timeout; /* send, REQ/REP: seconds to wait for the reply */
	double wait;          /* send --wait (see opt_wait) */
	double timeout;       /* recv: fail when no frame comes for so long; 0: never */
	uint64_t count;       /* 0: no limit */
	uint32_t mode, slots; /* recv: for the segment it creates; 0: default */
	const char *label;
};

int bridge_send_run(const struct bridge_opts *o);
int bridge_recv_run(const struct bridge_opts *o);

/* CLOCK_REALTIME in ns. */
uint64_t bridge_realtime_ns(void);

/*
 * The status line, once a second (unless quiet): the window's frames/s, MB/s,
 * latency (when the stats have it), drops, reconnects and the frame total.
 */
void bridge_status(struct stats *s, uint64_t reconnects);

/* Warnings that may come with every message: at most one a second. */
struct bridge_ratelimit {
	uint64_t last_ns;
	uint64_t suppressed;
};

void bridge_warn_limited(struct bridge_ratelimit *rl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* p50 and p99 of a histogram of ns as "p50 X ms p99 Y ms" into @buf. */
void bridge_hist_text(char *buf, size_t len, const struct lat_hist *h);

#endif /* FRAMERING_BRIDGE_H */
