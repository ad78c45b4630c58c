/* Error reporting and signal handling shared by the subcommands: see tool.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "framering.h"
#include "tool.h"

volatile sig_atomic_t tool_stop;

/*
 * The one place that writes a message. Formatted first and written with one
 * call: stderr is unbuffered, and pieces written apart could interleave with
 * the lines of the other processes of a pipeline sharing the terminal.
 */
int tool_report(enum tool_status status, const char *fmt, ...)
{
	char text[8192]; /* a path of PATH_MAX and its context */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "framering: %s\n", text);
	return status;
}

int tool_fail(const char *what, int err)
{
	return tool_failf("%s: %s", what, fr_strerror(err));
}

static void on_signal(int sig)
{
	tool_stop = sig;
}

int tool_install_signals(const char *cmd)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocking waits return -EINTR */
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return tool_failf("%s: signals: %s", cmd, strerror(errno));
	/* A closed pipe on stdout (info --watch | head) is an error return, not a kill. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL))
		return tool_failf("%s: signals: %s", cmd, strerror(errno));
	return TOOL_OK;
}

int tool_signal_exit(void)
{
	return 128 + tool_stop;
}

const char *tool_display_name(const char *name, char *buf, unsigned len)
{
	snprintf(buf, len, "%s%s", name[0] == '/' ? "" : "/", name);
	return buf;
}
