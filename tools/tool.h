/*
 * Shared declarations of the framering command: subcommands, error reporting,
 * signal handling. One concern per file; this header only ties them together.
 *
 * Errors, the one idiom of tools/:
 * - the library and the helpers below the commands (jpeg.c, pattern.c,
 *   shmdir.c) return 0 or a negative errno and never print;
 * - every step of a command returns an enum tool_status. The function that
 *   finds the problem reports it (tool_fail, tool_failf, tool_usagef,
 *   opt_usage_error, seg_fail: exactly one line on stderr) and returns the
 *   status those helpers give back; its callers pass a non-zero status up
 *   unchanged, and the subcommand returns it as the exit code.
 */
#ifndef FRAMERING_TOOL_H
#define FRAMERING_TOOL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* What a command's step returns; the values are the command's exit codes. */
enum tool_status {
	TOOL_OK = 0,    /* done, or go on */
	TOOL_FAIL = 1,  /* runtime error, already reported */
	TOOL_USAGE = 2, /* bad command line, already reported */
};

/* Subcommands: argv[0] is the subcommand name. They return the exit code. */
int cmd_create(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_pub(int argc, char **argv);
int cmd_sub(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_bridge(int argc, char **argv); /* built with ZeroMQ only (FR_HAVE_BRIDGE) */

/*
 * The one reporter: "framering: <formatted text>" as one line on stderr;
 * returns @status. The macros name what it is used for.
 */
int tool_report(enum tool_status status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define tool_failf(...) tool_report(TOOL_FAIL, __VA_ARGS__)
#define tool_usagef(...) tool_report(TOOL_USAGE, __VA_ARGS__)
/* A warning: the command goes on. */
#define tool_warnf(...) ((void)tool_report(TOOL_OK, __VA_ARGS__))
/* "framering: <what>: <why>" with fr_strerror(err). Returns TOOL_FAIL. */
int tool_fail(const char *what, int err);

/*
 * SIGINT/SIGTERM: installed without SA_RESTART so a blocking library wait
 * returns -EINTR. The handler stores the signal's number in tool_stop;
 * long-running loops poll it.
 */
extern volatile sig_atomic_t tool_stop;
/* 0, or TOOL_FAIL after reporting "framering: <cmd>: signals: <why>". */
int tool_install_signals(const char *cmd);
/*
 * Exit code of a command that a signal stopped before it could do its job:
 * 128 + the signal, as a shell reports a process the signal killed.
 */
int tool_signal_exit(void);

/* Segment name as given, with the leading '/' the library adds if missing. */
const char *tool_display_name(const char *name, char *buf, unsigned len);

#endif /* FRAMERING_TOOL_H */
