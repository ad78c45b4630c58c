/*
 * framering-bench: one producer process, one or more consumer processes, one
 * transport at a time. The harness (main.c and the files it lists) forks the
 * processes, pins them to CPUs, runs a ping-pong latency phase and a streaming
 * throughput phase, and checks every frame it receives. Each transport_*.c
 * file fills in a struct bench_transport; this header is all a transport sees.
 */
#ifndef FRAMERING_BENCH_H
#define FRAMERING_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_CONSUMERS 3
#define BENCH_SKIP 1000 /* returned by setup/open: this transport cannot run here */

/* How a waiting side waits. */
enum bench_wait {
	BENCH_WAIT_DEFAULT = 0, /* the transport's normal blocking wait */
	BENCH_WAIT_SPIN,        /* busy-poll, never sleep */
	BENCH_WAIT_BLOCK,       /* sleep at once (framering: spin 0) */
	BENCH_WAIT_EPOLL,       /* framering: consumers wait in epoll_wait on fr_fd() */
};

/* Header at the start of every frame; exactly 64 bytes. */
struct bench_hdr {
	uint64_t magic;
	uint64_t counter;
	uint64_t t_ns;
	uint64_t flags;
	uint64_t bytes;
	uint64_t pad[3];
};
_Static_assert(sizeof(struct bench_hdr) == 64, "frame header is one cache line");

#define BENCH_MAGIC 0x6672626e63686d31ull /* "frbnchm1" */
#define BENCH_F_PING 0x1u   /* consumer acknowledges this frame */
#define BENCH_F_STREAM 0x2u /* counted in the throughput phase */
#define BENCH_F_STOP 0x4u   /* last frame of the run */

/* One measurement: a transport variant, a frame size, a workload. */
struct bench_run {
	const struct bench_transport *tp;
	int wait;          /* enum bench_wait */
	int mode;          /* transport-specific (framering: enum fr_mode) */
	int consumers;     /* 1..BENCH_MAX_CONSUMERS */
	unsigned slots;    /* framering: ring slots (0 = the benchmark's default, 4) */
	size_t frame_bytes;
	int touch;         /* 1: write/read every byte */
	char name[64];     /* unique per run: shared-memory names, services */
	/* parent-side resources created before fork (fds, ports) */
	int fd[2 * BENCH_MAX_CONSUMERS + 2];
	int nfd;
	uint16_t port;
};

/* One side (producer or consumer index) inside its own process. */
struct bench_ep {
	const struct bench_run *run;
	int index; /* consumer index; 0 for the producer */
	void *priv;
};

struct bench_transport {
	const char *name;
	int max_consumers;
	/* parent, before fork; 0, -errno, or BENCH_SKIP (why filled in) */
	int (*setup)(struct bench_run *r, char *why, size_t whylen);
	/* parent, after every child exited */
	void (*teardown)(struct bench_run *r);
	/* producer process: open, then (after every consumer opened) connect */
	int (*prod_open)(struct bench_ep *e, char *why, size_t whylen);
	int (*prod_connect)(struct bench_ep *e);
	/* consumer process: open after the producer opened, then connect */
	int (*cons_open)(struct bench_ep *e, char *why, size_t whylen);
	int (*cons_connect)(struct bench_ep *e);
	/* producer: get a buffer of frame_bytes to fill, send it, wait for one ack */
	int (*claim)(struct bench_ep *e, void **buf);
	int (*publish)(struct bench_ep *e);
	int (*ack_wait)(struct bench_ep *e, uint64_t *counter);
	/* consumer: next frame (whole), give it back, acknowledge a counter */
	int (*acquire)(struct bench_ep *e, const void **buf);
	int (*release)(struct bench_ep *e);
	int (*ack_send)(struct bench_ep *e, uint64_t counter);
	/* consumer: wait up to ms for a frame that never comes; -ETIMEDOUT expected */
	int (*idle_wait)(struct bench_ep *e, int ms);
	void (*close)(struct bench_ep *e);
};

/* what the harness and the transports need from the system (os.c) */
uint64_t bench_now_ns(void);
int bench_write_full(int fd, const void *buf, size_t len);
int bench_read_full(int fd, void *buf, size_t len);
void *bench_alloc(size_t bytes); /* page aligned, pre-faulted; NULL on failure */
void bench_free(void *p, size_t bytes);
void bench_cpu_relax(void);
int bench_poll_in(int fd, int ms); /* 1 readable, 0 timeout, -errno */

/* stream transports (pipe, unix, tcp): whole frames over file descriptors,
 * acknowledgements as 8-byte counters (transport_stream.c) */
int bench_stream_attach(struct bench_ep *e, int data_fd, int ack_fd);
int bench_stream_claim(struct bench_ep *e, void **buf);
int bench_stream_publish(struct bench_ep *e);
int bench_stream_ack_wait(struct bench_ep *e, uint64_t *counter);
int bench_stream_acquire(struct bench_ep *e, const void **buf);
int bench_stream_release(struct bench_ep *e);
int bench_stream_ack_send(struct bench_ep *e, uint64_t counter);
int bench_stream_idle_wait(struct bench_ep *e, int ms);
void bench_stream_close(struct bench_ep *e);
void bench_stream_teardown(struct bench_run *r); /* closes the run's descriptors */
int bench_stream_set_bufs(int fd, int bytes); /* SO_SNDBUF and SO_RCVBUF */

/* A stream transport's struct bench_transport members besides name, setup and opens. */
#define BENCH_STREAM_OPS                        \
	.max_consumers = 1,                     \
	.teardown = bench_stream_teardown,      \
	.claim = bench_stream_claim,            \
	.publish = bench_stream_publish,        \
	.ack_wait = bench_stream_ack_wait,      \
	.acquire = bench_stream_acquire,        \
	.release = bench_stream_release,        \
	.ack_send = bench_stream_ack_send,      \
	.idle_wait = bench_stream_idle_wait,    \
	.close = bench_stream_close

extern const struct bench_transport bench_tp_framering;
extern const struct bench_transport bench_tp_floor;
extern const struct bench_transport bench_tp_pipe;
extern const struct bench_transport bench_tp_unix;
extern const struct bench_transport bench_tp_tcp;
#ifdef BENCH_HAVE_ICEORYX
extern const struct bench_transport bench_tp_iceoryx;
/* "toml" roudi configuration with mempools for every frame size */
void bench_iceoryx_print_config(const size_t *sizes, int nsizes);
#endif

#endif
