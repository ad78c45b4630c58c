/* What is measured (plan.h). */
#include "plan.h"

#include "framering.h"

#include <string.h>

const struct frame_size bench_sizes[] = {
	{"64B", 64},
	{"640x480x3", 640u * 480u * 3u},
	{"1920x1080x3", 1920u * 1080u * 3u},
	{"3840x2160x3", 3840u * 2160u * 3u},
};
_Static_assert(sizeof(bench_sizes) / sizeof(bench_sizes[0]) == BENCH_NSIZES, "BENCH_NSIZES");

const char *const bench_workloads[NWORKLOADS] = {
	[WORKLOAD_HANDOFF] = "handoff",
	[WORKLOAD_TOUCH] = "touch",
};

const struct variant bench_variants[] = {
	{.name = "framering-spsc", .tp = &bench_tp_framering, .mode = FR_SPSC, .consumers = 1,
	 .wait = BENCH_WAIT_DEFAULT, .workloads = VARIANT_BOTH, .idle = 1},
	{.name = "framering-spsc+spin", .tp = &bench_tp_framering, .mode = FR_SPSC, .consumers = 1,
	 .wait = BENCH_WAIT_SPIN, .workloads = VARIANT_HANDOFF},
	{.name = "framering-spsc+futex", .tp = &bench_tp_framering, .mode = FR_SPSC, .consumers = 1,
	 .wait = BENCH_WAIT_BLOCK, .workloads = VARIANT_HANDOFF, .idle = 1},
	/* consumers wait in epoll_wait on fr_fd() instead of the futex; claims as +futex */
	{.name = "framering-spsc+epoll", .tp = &bench_tp_framering, .mode = FR_SPSC, .consumers = 1,
	 .wait = BENCH_WAIT_EPOLL, .workloads = VARIANT_HANDOFF, .idle = 1},
	/* 2 slots: half the memory in flight (2 x 6 MB at 1920x1080x3) */
	{.name = "framering-spsc-2slots", .tp = &bench_tp_framering, .mode = FR_SPSC,
	 .consumers = 1, .wait = BENCH_WAIT_DEFAULT, .workloads = VARIANT_BOTH, .slots = 2},
	{.name = "framering-mpmc", .tp = &bench_tp_framering, .mode = FR_MPMC, .consumers = 1,
	 .wait = BENCH_WAIT_DEFAULT, .workloads = VARIANT_BOTH},
	{.name = "framering-broadcast-1", .tp = &bench_tp_framering, .mode = FR_BROADCAST,
	 .consumers = 1, .wait = BENCH_WAIT_DEFAULT, .workloads = VARIANT_BOTH},
	{.name = "framering-broadcast-3", .tp = &bench_tp_framering, .mode = FR_BROADCAST,
	 .consumers = 3, .wait = BENCH_WAIT_DEFAULT, .workloads = VARIANT_BOTH},
	/* the physical floor: one buffer, three counters, both sides spinning */
	{.name = "floor-spin", .tp = &bench_tp_floor, .consumers = 1, .wait = BENCH_WAIT_SPIN,
	 .workloads = VARIANT_HANDOFF, .slots = 1},
	/* the touch floor: fill and read pipelined through two buffers, the fewest that
	 * let producer and consumer work at once, so the one the producer fills next is
	 * always the one the consumer released last (the cache-friendliest reuse) */
	{.name = "floor-touch", .tp = &bench_tp_floor, .consumers = 1, .wait = BENCH_WAIT_SPIN,
	 .workloads = VARIANT_TOUCH, .slots = 2},
	{.name = "pipe", .tp = &bench_tp_pipe, .consumers = 1, .wait = BENCH_WAIT_DEFAULT,
	 .workloads = VARIANT_BOTH, .idle = 1},
	{.name = "unix", .tp = &bench_tp_unix, .consumers = 1, .wait = BENCH_WAIT_DEFAULT,
	 .workloads = VARIANT_BOTH, .idle = 1},
	{.name = "tcp", .tp = &bench_tp_tcp, .consumers = 1, .wait = BENCH_WAIT_DEFAULT,
	 .workloads = VARIANT_BOTH},
#ifdef BENCH_HAVE_ICEORYX
	{.name = "iceoryx", .tp = &bench_tp_iceoryx, .consumers = 1, .wait = BENCH_WAIT_DEFAULT,
	 .workloads = VARIANT_BOTH, .idle = 1},
	/* next to framering-broadcast-3: one publisher, three subscribers */
	{.name = "iceoryx-3", .tp = &bench_tp_iceoryx, .consumers = 3, .wait = BENCH_WAIT_DEFAULT,
	 .workloads = VARIANT_BOTH},
	{.name = "iceoryx+spin", .tp = &bench_tp_iceoryx, .consumers = 1, .wait = BENCH_WAIT_SPIN,
	 .workloads = VARIANT_HANDOFF},
#endif
};
const int bench_nvariants = (int)(sizeof(bench_variants) / sizeof(bench_variants[0]));
_Static_assert(sizeof(bench_variants) / sizeof(bench_variants[0]) <= BENCH_MAX_VARIANTS,
	       "raise BENCH_MAX_VARIANTS");

int variant_selected(const struct bench_params *p, const struct variant *v)
{
	const char *s = p->only;
	if (!s)
		return 1;
	while (*s) {
		size_t n = strcspn(s, ",");
		if (n > 0 && s[n - 1] == '*') {
			if (!strncmp(v->name, s, n - 1))
				return 1;
		} else if (n == strlen(v->name) && !strncmp(v->name, s, n)) {
			return 1;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

int variant_runs(const struct bench_params *p, const struct variant *v, int w)
{
	return variant_selected(p, v) && (v->workloads & (1 << w));
}

int size_selected(const struct bench_params *p, const struct frame_size *s)
{
	return !p->size || !strcmp(p->size, s->label);
}

struct bench_run variant_run_spec(const struct variant *v, size_t bytes, int touch)
{
	struct bench_run spec = {
		.tp = v->tp,
		.wait = v->wait,
		.mode = v->mode,
		.consumers = v->consumers,
		.slots = v->slots,
		.frame_bytes = bytes,
		.touch = touch,
	};
	return spec;
}
