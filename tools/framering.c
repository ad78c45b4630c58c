/* framering: the command. main() and the subcommand dispatch. */
#include <stdio.h>
#include <string.h>

#include "framering.h"
#include "tool.h"

#ifndef FR_TOOL_VERSION
#define FR_TOOL_VERSION "unknown"
#endif

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "create", cmd_create, "create a segment" },
	{ "info", cmd_info, "show a segment's geometry, counters and peers (--json, --watch)" },
	{ "ls", cmd_ls, "list the framering segments under /dev/shm (or --dir)" },
	{ "doctor", cmd_doctor, "check what would bite: space, stale segments, permissions" },
	{ "pub", cmd_pub, "publish frames: a synthetic pattern, JPEG files or raw frames" },
	{ "sub", cmd_sub, "consume frames: measure rates and latency, save JPEG snapshots" },
	{ "rm", cmd_rm, "remove segments (--stale: every stale one)" },
#ifdef FR_HAVE_BRIDGE
	{ "bridge", cmd_bridge, "extend a segment to another machine over ZeroMQ (send, recv)" },
#endif
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "Usage: framering COMMAND [OPTIONS]\n"
		     "\n"
		     "Zero-copy image frames between processes through shared memory.\n"
		     "\n"
		     "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n"
		     "Run 'framering COMMAND --help' for the options of a command,\n"
		     "'framering --version' for the versions of the command and the library.\n"
		     "Exit status: 0 done, 1 runtime error, 2 usage error.\n");
}

/* "framering help CMD" is "framering CMD --help". */
static int help_for(const char *name)
{
	char *sub_argv[] = { (char *)name, (char *)"--help", NULL };

	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].run(2, sub_argv);
	return tool_usagef("help: unknown command '%s'", name);
}

/*
 * The command's version, and the library's as it runs (a newer compatible
 * libframering may be installed than the one it was built with) with the
 * segment layout it reads and writes.
 */
static void print_version(void)
{
	printf("framering %s\n", FR_TOOL_VERSION);
	printf("libframering %s (built with %s), segment ABI %d\n", fr_version(), FR_VERSION,
	       FR_ABI_VERSION);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return tool_usagef("a command is needed: create, info, ls, pub, sub, rm, doctor or "
				   "bridge (see 'framering --help')");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "help") && argc > 2)
		return help_for(argv[2]);
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return TOOL_OK;
	}
	if (!strcmp(cmd, "--version")) {
		print_version();
		return TOOL_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	return tool_usagef("unknown command '%s' (see 'framering --help')", cmd);
}
