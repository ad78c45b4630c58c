/*
 * Shared declarations of the framering command: subcommands, error reporting,
 * signal handling. One concern per file; this header only ties them together.
 */
#ifndef FRAMERING_TOOL_H
#define FRAMERING_TOOL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define EXIT_USAGE 2 /* bad command line */
/* EXIT_FAILURE (1): runtime error; EXIT_SUCCESS (0): done */

/* Subcommands: argv[0] is the subcommand name. They return the exit code. */
int cmd_create(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_pub(int argc, char **argv);
int cmd_sub(int argc, char **argv);
int cmd_rm(int argc, char **argv);

/* "framering: <what>: <why>" on stderr, with fr_strerror(err). Returns EXIT_FAILURE. */
int tool_fail(const char *what, int err);
/* "framering: <formatted text>" on stderr. Returns EXIT_FAILURE. */
int tool_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same without the return value, for warnings that do not stop the command. */
void tool_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * SIGINT/SIGTERM: installed without SA_RESTART so a blocking library wait
 * returns -EINTR. tool_stop is set by the handler; long-running loops poll it.
 */
extern volatile sig_atomic_t tool_stop;
int tool_install_signals(void);

/* Segment name as given, with the leading '/' the library adds if missing. */
const char *tool_display_name(const char *name, char *buf, unsigned len);

#endif /* FRAMERING_TOOL_H */
