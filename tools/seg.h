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
 * The segment options, for create and for pub (which may create its segment):
 * -m/--mode, -n/--slots, -s/--size, -f/--format, --stride, --frame-bytes,
 * --perm. One list, so that the two commands cannot drift apart: the short
 * ones go in getopt's optstring, the long ones in its option table.
 */
#define SEG_PARAMS_SHORTOPTS "m:n:s:f:"
#define SEG_PARAMS_LONGOPTS \
	{ "mode", required_argument, NULL, 'm' }, \
	{ "slots", required_argument, NULL, 'n' }, \
	{ "size", required_argument, NULL, 's' }, \
	{ "format", required_argument, NULL, 'f' }, \
	{ "stride", required_argument, NULL, 'S' }, \
	{ "frame-bytes", required_argument, NULL, 'B' }, \
	{ "perm", required_argument, NULL, 'P' }

/*
 * Take getopt's result @c if it is a segment option: false when it is not;
 * true when it is, with *status TOOL_OK or TOOL_USAGE (a bad value, reported).
 */
bool seg_params_option(struct seg_params *p, const char *cmd, int c, const char *arg,
		       int *status);

/*
 * Fill defaults (format bgr24; size from @src_w x @src_h when no --size and they
 * are non-zero; JPEG capacity) and check the combination. TOOL_OK, or
 * TOOL_USAGE after reporting the usage error.
 */
int seg_params_finish(struct seg_params *p, const char *cmd, uint32_t src_w, uint32_t src_h);

/* "/cam: spsc, 4 slots of 2764800 bytes, 1280x720 bgr24 (stride 3840), 11.1 MB, perm 0600" */
void seg_print_line(FILE *out, const char *shown, const struct fr_info *info);

/*
 * fr_stat() of @name into @info. When it does not exist, wait up to @seconds
 * (INFINITY: without a limit; 0: not at all) for it to appear, checking every
 * 50 ms. TOOL_OK with @info filled; TOOL_OK with tool_stop set when SIGINT or
 * SIGTERM ended the wait (install the handlers first: without them the signal
 * ends the process); TOOL_FAIL, reported, when it is not there in time or
 * cannot be read.
 */
int seg_stat_wait(const char *cmd, const char *name, const char *shown, double seconds,
		  struct fr_info *info);

/* " in DIR" when named segments live elsewhere than /dev/shm (--dir, FRAMERING_DIR), or "". */
const char *seg_dir_note(void);

/* Report a failed fr_open/fr_stat/fr_create of @shown by @cmd. Returns TOOL_FAIL. */
int seg_fail(const char *cmd, const char *shown, int err);

/*
 * Report that the segment directory (fr_segment_dir()) cannot be listed, or
 * that FRAMERING_DIR is not an absolute path (@err -EINVAL). Returns TOOL_FAIL.
 */
int seg_dir_fail(const char *cmd, int err);

#endif /* FRAMERING_SEG_H */
