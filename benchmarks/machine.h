/*
 * What the machine itself allows, measured in the same run as the table and
 * spread over it like the repetitions: the cross-core cache-line probe (one
 * line bounced between the producer's and the consumer's CPU) and the touch
 * workload's own writer and reader on a private buffer. A gap between two
 * rows that the probe shows to coincide with the VM's slow cross-core state
 * is placement noise; a touch row near the reader's own GB/s is measuring
 * the reader, not the transport.
 */
#ifndef FRAMERING_BENCH_MACHINE_H
#define FRAMERING_BENCH_MACHINE_H

#include "job.h"

#include <stddef.h>

/*
 * One way, in nanoseconds: the median over batches of round trips of one
 * cache line between env->cpus[0] and env->cpus[1] (both spinning), for about
 * @seconds. -1 with fewer than two CPUs or when the helper process failed.
 */
double machine_probe_ns(const struct job_env *env, double seconds);

/*
 * frame_fill (on the producer's CPU) and frame_check (on the consumer's) of
 * touch frames of @bytes, over and over on one private buffer for about
 * @seconds each: GB/s into @write_gbps and @read_gbps. 0, or -1 (out of
 * memory, or the check failed: then both are -1).
 */
int machine_touch_gbps(const struct job_env *env, size_t bytes, double seconds, double *write_gbps,
		       double *read_gbps);

#endif
