/* framering rm: remove segments by name, or every stale one. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "framering.h"
#include "opts.h"
#include "seg.h"
#include "shmdir.h"
#include "tool.h"

static const char help[] =
	"Usage: framering rm NAME... [OPTIONS]\n"
	"       framering rm --stale\n"
	"\n"
	"Remove framering segments. Processes attached to a removed segment keep\n"
	"working; new ones cannot open it. Files under /dev/shm that are not\n"
	"framering segments are never removed.\n"
	"\n"
	"Options:\n"
	"      --stale    remove every segment whose users and creator are all gone\n"
	"                 (one made by 'framering create' and not in use yet is too)\n"
	"  -f, --force    remove even when live processes are attached\n"
	"  -q, --quiet    do not print what was removed (with --stale)\n"
	"  -h, --help     this help\n";

static int remove_stale(bool quiet)
{
	char **names;
	size_t n;
	int rc = shm_list(&names, &n), status = EXIT_SUCCESS;

	if (rc)
		return tool_failf("rm --stale: cannot list %s: %s", SHM_DIR, fr_strerror(rc));
	struct fr_info *info = malloc(sizeof(*info));
	if (!info) {
		shm_list_free(names);
		return tool_fail("rm --stale", -ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		if (fr_stat(names[i], info) || fr_info_is_stale(info) != 1)
			continue; /* not ours, unreadable or in use: leave it */
		rc = fr_unlink(names[i]);
		if (rc && rc != -ENOENT)
			status = seg_fail("rm", names[i], rc);
		else if (!quiet)
			printf("removed %s\n", names[i]);
	}
	free(info);
	shm_list_free(names);
	return status;
}

int cmd_rm(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stale", no_argument, NULL, 'S' },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool stale = false, force = false, quiet = false;
	int c;

	opt_reset();
	while ((c = getopt_long(argc, argv, ":fqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'S':
			stale = true;
			break;
		case 'f':
			force = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_SUCCESS;
		default:
			return opt_getopt_error("rm", argv, c);
		}
	}
	if (stale) {
		if (optind < argc)
			return opt_usage_error("rm", "--stale takes no NAME");
		return remove_stale(quiet);
	}
	if (optind >= argc)
		return opt_usage_error("rm", "a segment NAME is needed");

	struct fr_info *info = malloc(sizeof(*info));
	if (!info)
		return tool_fail("rm", -ENOMEM);
	int status = EXIT_SUCCESS;
	for (int i = optind; i < argc; i++) {
		char shown[FR_NAME_MAX + 8];
		tool_display_name(argv[i], shown, sizeof(shown));
		int rc = fr_name_check(argv[i]);
		if (!rc)
			rc = fr_stat(argv[i], info); /* only ever remove framering segments */
		if (rc) {
			status = seg_fail("rm", shown, rc);
			continue;
		}
		if (info->live_peers && !force) {
			status = tool_failf("rm %s: %u process%s attached (stop %s or use --force)",
					    shown, info->live_peers, info->live_peers > 1 ? "es" : "",
					    info->live_peers > 1 ? "them" : "it");
			continue;
		}
		rc = fr_unlink(argv[i]);
		if (rc)
			status = seg_fail("rm", shown, rc);
	}
	free(info);
	return status;
}
