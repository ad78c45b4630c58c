/* Error reporting and signal handling shared by the subcommands: see tool.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framering.h"
#include "tool.h"

volatile sig_atomic_t tool_stop;

int tool_fail(const char *what, int err)
{
	fprintf(stderr, "framering: %s: %s\n", what, fr_strerror(err));
	return EXIT_FAILURE;
}

void tool_warnf(const char *fmt, ...)
{
	va_list ap;

	fputs("framering: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int tool_failf(const char *fmt, ...)
{
	va_list ap;

	fputs("framering: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

static void on_signal(int sig)
{
	(void)sig;
	tool_stop = 1;
}

int tool_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocking waits return -EINTR */
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	/* A closed pipe on stdout (info --watch | head) is an error return, not a kill. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL))
		return -errno;
	return 0;
}

const char *tool_display_name(const char *name, char *buf, unsigned len)
{
	snprintf(buf, len, "%s%s", name[0] == '/' ? "" : "/", name);
	return buf;
}
