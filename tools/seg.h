/*
 * Segment parameters on the command line (create, and pub when it creates its
 * segment), the one-line description of a segment, and clear messages for a
 * segment that cannot be opened.
 */
#ifndef FRAMERING_SEG_H
#define FRAMERING_SEG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "framering.h"

struct seg_params {
	struct fr_config cfg;
	bool have_size, have_format, have_any; /* which options were given */
};

void seg_params_init(struct seg_params *p);

/*
 * Take getopt's result @c if it is a segment option: -m/--mode, -n/--slots,
 * -s/--size, -f/--format, 'S' --stride, 'B' --frame-bytes, 'P' --perm.
 * 1 = taken, 0 = not a segment option, -1 = bad value (usage error printed).
 */
int seg_params_option(struct seg_params *p, const char *cmd, int c, const char *arg);

/*
 * Fill defaults (format bgr24; size from @src_w x @src_h when no --size and they
 * are non-zero; JPEG capacity) and check the combination. 0, or -1 after
 * printing the usage error.
 */
int seg_params_finish(struct seg_params *p, const char *cmd, uint32_t src_w, uint32_t src_h);

/* "/cam: spsc, 4 slots of 2764800 bytes, 1280x720 bgr24 (stride 3840), 11.1 MB, perm 0600" */
void seg_print_line(FILE *out, const char *shown, const struct fr_info *info);

/* Report a failed fr_open/fr_stat/fr_create of @shown by @cmd. Returns EXIT_FAILURE. */
int seg_fail(const char *cmd, const char *shown, int err);

#endif /* FRAMERING_SEG_H */
