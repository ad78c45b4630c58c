/* framering rm: remove segments by name, or every stale one. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "framering.h"
#include "opts.h"
#include "seg.h"
#include "shmdir.h"
#include "tool.h"

static const char help[] =
	"Usage: framering rm NAME... [OPTIONS]\n"
	"       framering rm --stale [NAME...]\n"
	"\n"
	"Remove framering segments. Processes attached to a removed segment keep\n"
	"working; new ones cannot open it. Files under /dev/shm that are not\n"
	"framering segments are never removed.\n"
	"\n"
	"Options:\n"
	"      --stale    remove the segments (every one, or those NAMEs) whose users\n"
	"                 and creator are all gone; the others are kept. A segment\n"
	"                 made by 'framering create' and not in use yet is stale too.\n"
	"  -f, --force    remove even when live processes are attached\n"
	"  -q, --quiet    do not print what was removed (with --stale)\n"
	"  -h, --help     this help\n";

/* Remove @name if it is a stale framering segment. TOOL_OK or TOOL_FAIL (reported). */
static int remove_if_stale(const char *name, struct fr_info *info, bool named, bool quiet)
{
	int rc = fr_stat(name, info);

	if (rc) /* not ours, unreadable or gone: only an error when asked by name */
		return named ? seg_fail("rm --stale", name, rc) : TOOL_OK;
	if (fr_info_is_stale(info) != 1) {
		if (named && !quiet)
			printf("kept %s: in use (%u live process%s%s)\n", name, info->live_peers,
			       info->live_peers == 1 ? "" : "es",
			       info->creator_alive ? ", creator alive" : "");
		return TOOL_OK;
	}
	rc = fr_unlink(name);
	if (rc && rc != -ENOENT)
		return seg_fail("rm", name, rc);
	if (!quiet)
		printf("removed %s\n", name);
	return TOOL_OK;
}

static int remove_stale(char **named, int nnamed, bool quiet)
{
	char **names = NULL;
	size_t n = 0;
	int rc, status = TOOL_OK;
	struct fr_info *info = malloc(sizeof(*info));

	if (!info)
		return tool_fail("rm --stale", -ENOMEM);
	if (nnamed) {
		for (int i = 0; i < nnamed; i++) {
			char shown[FR_NAME_MAX + 8];
			if (fr_name_check(named[i])) {
				status = tool_failf("rm --stale: '%s' is not a segment name", named[i]);
				continue;
			}
			tool_display_name(named[i], shown, sizeof(shown));
			if (remove_if_stale(shown, info, true, quiet))
				status = TOOL_FAIL;
		}
		free(info);
		return status;
	}
	if ((rc = shm_list(&names, &n))) {
		free(info);
		return tool_failf("rm --stale: cannot list %s: %s", SHM_DIR, fr_strerror(rc));
	}
	for (size_t i = 0; i < n; i++)
		if (remove_if_stale(names[i], info, false, quiet))
			status = TOOL_FAIL;
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
			return TOOL_OK;
		default:
			return opt_getopt_error("rm", argv, c);
		}
	}
	if (stale)
		return remove_stale(argv + optind, argc - optind, quiet);
	if (optind >= argc)
		return opt_usage_error("rm", "a segment NAME is needed");

	struct fr_info *info = malloc(sizeof(*info));
	if (!info)
		return tool_fail("rm", -ENOMEM);
	int status = TOOL_OK;
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
			bool many = info->live_peers > 1;
			status = tool_failf("rm %s: %u process%s attached (stop %s or use --force)",
					    shown, info->live_peers, many ? "es" : "",
					    many ? "them" : "it");
			continue;
		}
		rc = fr_unlink(argv[i]);
		if (rc)
			status = seg_fail("rm", shown, rc);
	}
	free(info);
	return status;
}
