/* framering: the command. main() and the subcommand dispatch. */
#include <stdio.h>
#include <stdlib.h>
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
	{ "ls", cmd_ls, "list the framering segments under /dev/shm" },
	{ "pub", cmd_pub, "publish frames: a synthetic pattern, JPEG files or raw frames" },
	{ "sub", cmd_sub, "consume frames: measure rates and latency, save JPEG snapshots" },
	{ "rm", cmd_rm, "remove segments (--stale: every stale one)" },
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
		     "Run 'framering COMMAND --help' for the options of a command.\n"
		     "Exit status: 0 done, 1 runtime error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "framering: a command is needed: create, info, ls, pub, sub or rm "
				"(see 'framering --help')\n");
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		if (!strcmp(cmd, "help") && argc > 2) {
			/* "framering help pub" is "framering pub --help" */
			char *sub_argv[] = { argv[2], (char *)"--help", NULL };
			for (size_t i = 0; i < NCOMMANDS; i++)
				if (!strcmp(argv[2], commands[i].name))
					return commands[i].run(2, sub_argv);
			fprintf(stderr, "framering: help: unknown command '%s'\n", argv[2]);
			return EXIT_USAGE;
		}
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (!strcmp(cmd, "--version")) {
		printf("framering %s (segment ABI %d)\n", FR_TOOL_VERSION, FR_ABI_VERSION);
		return EXIT_SUCCESS;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "framering: unknown command '%s' (see 'framering --help')\n", cmd);
	return EXIT_USAGE;
}
