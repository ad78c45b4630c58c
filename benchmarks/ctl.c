/* The control block shared by a measurement's processes (ctl.h). */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static const char *const phase_names[] = {
	[PH_START] = "start",
	[PH_OPEN] = "open",
	[PH_CONNECT] = "connect",
	[PH_WARMUP] = "warm-up",
	[PH_PING] = "ping-pong",
	[PH_STREAM] = "streaming",
	[PH_DRAIN] = "waiting for the consumers",
	[PH_IDLE] = "idle wait",
	[PH_DONE] = "done",
};

const char *ctl_phase_name(int phase)
{
	return phase >= PH_START && phase <= PH_DONE ? phase_names[phase] : "?";
}

void ctl_fail(struct ctl *c, const char *fmt, ...)
{
	int expected = 0;
	if (atomic_compare_exchange_strong(&c->msg_taken, &expected, 1)) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
		va_end(ap);
	}
	atomic_store(&c->abort, 1);
}

int ctl_wait(struct ctl *c, _Atomic int *v, int target)
{
	uint64_t deadline = bench_now_ns() + 20000000000ull;
	struct timespec ts = {0, 20000};
	while (atomic_load(v) < target) {
		if (atomic_load(&c->abort))
			return -ECANCELED;
		if (bench_now_ns() > deadline)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
	return 0;
}
