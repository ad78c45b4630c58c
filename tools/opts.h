/*
 * Command-line parsing helpers shared by the subcommands: sizes "WxH",
 * numbers with range checks, format and mode names, octal permissions,
 * and uniform usage-error messages (TOOL_USAGE, exit code 2).
 */
#ifndef FRAMERING_OPTS_H
#define FRAMERING_OPTS_H

#include <stdbool.h>
#include <stdint.h>

/* Each parser returns TOOL_OK, or TOOL_USAGE after reporting the usage error. */
int opt_size(const char *cmd, const char *opt, const char *s, uint32_t *w, uint32_t *h);
int opt_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
	    uint64_t *out);
int opt_u32(const char *cmd, const char *opt, const char *s, uint32_t min, uint32_t max,
	    uint32_t *out);
/*
 * A byte count: digits, optionally followed by K, M, G or T (KiB, MiB, GiB,
 * TiB; lower case too), at most @max.
 */
int opt_bytes(const char *cmd, const char *opt, const char *s, uint64_t max, uint64_t *out);
int opt_double(const char *cmd, const char *opt, const char *s, double min, double max,
	       double *out);
int opt_format(const char *cmd, const char *opt, const char *s, uint32_t *format);
int opt_mode(const char *cmd, const char *opt, const char *s, uint32_t *mode);
int opt_perm(const char *cmd, const char *opt, const char *s, uint32_t *perm);

/*
 * --wait[=SEC] of sub and info: @arg NULL (no value) waits without a limit
 * (*seconds = INFINITY), else up to SEC seconds, 0..1e6. @next is the
 * argument after the option (argv[optind]) or NULL: "--wait 5" is refused,
 * as it would wait forever for a segment named "5".
 */
int opt_wait(const char *cmd, const char *arg, const char *next, double *seconds);

/*
 * --dir DIR: where named segments live, for this process. Sets FRAMERING_DIR
 * (which the library reads, see fr_segment_dir()) to DIR made absolute.
 * TOOL_OK, or TOOL_FAIL after reporting a DIR that is not a directory.
 */
int opt_dir(const char *cmd, const char *dir);

/* Name of a mode ("spsc", ...) or "?" */
const char *opt_mode_name(uint32_t mode);

/*
 * Report "framering: CMD: <text> (see 'framering CMD --help')". Returns TOOL_USAGE.
 */
int opt_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Report what getopt_long (called with a leading ':' in its optstring and
 * opterr = 0) returned for a bad option: c is '?' or ':'. Returns TOOL_USAGE.
 */
int opt_getopt_error(const char *cmd, char **argv, int c);

/*
 * After getopt: exactly one segment NAME must remain, and be a valid name.
 * Sets *name and returns TOOL_OK, or reports why and returns TOOL_USAGE.
 */
int opt_one_name(const char *cmd, int argc, char **argv, const char **name);

/* --help: print @text on stdout and set *help (the command then stops). TOOL_OK. */
int opt_help(const char *text, bool *help);

/* Reset getopt before a subcommand parses its own argv. */
void opt_reset(void);

#endif /* FRAMERING_OPTS_H */
