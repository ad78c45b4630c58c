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
	{"framering-spsc", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"framering-spsc+spin", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_SPIN, 1, 0, 0},
	{"framering-spsc+futex", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_BLOCK, 1, 1, 0},
	/* 2 slots: half the memory in flight (2 x 6 MB at 1920x1080x3) */
	{"framering-spsc-2slots", &bench_tp_framering, FR_SPSC, 1, BENCH_WAIT_DEFAULT, 0, 0, 2},
	{"framering-mpmc", &bench_tp_framering, FR_MPMC, 1, BENCH_WAIT_DEFAULT, 0, 0, 0},
	{"framering-broadcast-1", &bench_tp_framering, FR_BROADCAST, 1, BENCH_WAIT_DEFAULT, 0, 0, 0},
	{"framering-broadcast-3", &bench_tp_framering, FR_BROADCAST, 3, BENCH_WAIT_DEFAULT, 0, 0, 0},
	/* the physical floor: one buffer, three counters, both sides spinning */
	{"floor-spin", &bench_tp_floor, 0, 1, BENCH_WAIT_SPIN, 1, 0, 0},
	{"pipe", &bench_tp_pipe, 0, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"unix", &bench_tp_unix, 0, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"tcp", &bench_tp_tcp, 0, 1, BENCH_WAIT_DEFAULT, 0, 0, 0},
#ifdef BENCH_HAVE_ICEORYX
	{"iceoryx", &bench_tp_iceoryx, 0, 1, BENCH_WAIT_DEFAULT, 0, 1, 0},
	{"iceoryx+spin", &bench_tp_iceoryx, 0, 1, BENCH_WAIT_SPIN, 1, 0, 0},
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
	return variant_selected(p, v) && !(v->handoff_only && w != WORKLOAD_HANDOFF);
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
