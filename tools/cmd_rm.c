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
	"working; new ones cannot open it. Files in /dev/shm (or --dir DIR) that are\n"
	"not framering segments are never removed.\n"
	"\n"
	"Options:\n"
	"      --stale    remove the segments (every one, or those NAMEs) whose users\n"
	"                 and creator are all gone; the others are kept. A segment\n"
	"                 made by 'framering create' and not in use yet is stale too.\n"
	"  -f, --force    remove even when live processes are attached\n"
	"  -q, --quiet    do not print what was removed (with --stale)\n"
	"      --dir DIR  the segments in DIR instead of /dev/shm (as FRAMERING_DIR=DIR)\n"
	"  -h, --help     this help\n";

/* What the command line asked for. */
struct rm_opts {
	char **names; /* the NAMEs given */
	int nnames;
	bool stale, force, quiet;
	bool help; /* --help: printed, nothing else to do */
};

static int rm_parse(int argc, char **argv, struct rm_opts *o)
{
	static const struct option longopts[] = {
		{ "stale", no_argument, NULL, 'S' },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "dir", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = TOOL_OK;

	*o = (struct rm_opts){ .stale = false };
	opt_reset();
	while (!rc && (c = getopt_long(argc, argv, ":fqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': o->stale = true; break;
		case 'f': o->force = true; break;
		case 'q': o->quiet = true; break;
		case 'D': rc = opt_dir("rm", optarg); break;
		case 'h': return opt_help(help, &o->help);
		default: return opt_getopt_error("rm", argv, c);
		}
	}
	if (rc)
		return rc;
	o->names = argv + optind;
	o->nnames = argc - optind;
	if (!o->stale && !o->nnames)
		return opt_usage_error("rm", "a segment NAME is needed");
	return TOOL_OK;
}

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

/* rm --stale NAME...: each one that is stale. */
static int remove_stale_named(const struct rm_opts *o, struct fr_info *info)
{
	int status = TOOL_OK;

	for (int i = 0; i < o->nnames; i++) {
		char shown[FR_NAME_MAX + 8];
		if (fr_name_check(o->names[i])) {
			status = tool_failf("rm --stale: '%s' is not a segment name", o->names[i]);
			continue;
		}
		tool_display_name(o->names[i], shown, sizeof(shown));
		if (remove_if_stale(shown, info, true, o->quiet))
			status = TOOL_FAIL;
	}
	return status;
}

/* rm --stale: every stale segment in the segment directory. */
static int remove_stale_all(const struct rm_opts *o, struct fr_info *info)
{
	char **names;
	size_t n;
	int rc = shm_list(&names, &n), status = TOOL_OK;

	if (rc)
		return seg_dir_fail("rm --stale", rc);
	for (size_t i = 0; i < n; i++)
		if (remove_if_stale(names[i], info, false, o->quiet))
			status = TOOL_FAIL;
	shm_list_free(names);
	return status;
}

/* rm NAME...: each one that is a framering segment nobody uses (or --force). */
static int remove_named(const struct rm_opts *o, struct fr_info *info)
{
	int status = TOOL_OK;

	for (int i = 0; i < o->nnames; i++) {
		const char *name = o->names[i];
		char shown[FR_NAME_MAX + 8];
		tool_display_name(name, shown, sizeof(shown));
		int rc = fr_name_check(name);
		if (!rc)
			rc = fr_stat(name, info); /* only ever remove framering segments */
		if (rc) {
			status = seg_fail("rm", shown, rc);
			continue;
		}
		if (info->live_peers && !o->force) {
			bool many = info->live_peers > 1;
			status = tool_failf("rm %s: %u process%s attached (stop %s or use --force)",
					    shown, info->live_peers, many ? "es" : "",
					    many ? "them" : "it");
			continue;
		}
		if ((rc = fr_unlink(name)))
			status = seg_fail("rm", shown, rc);
	}
	return status;
}

int cmd_rm(int argc, char **argv)
{
	struct rm_opts o;
	int rc = rm_parse(argc, argv, &o);

	if (rc || o.help) /* --help printed by rm_parse */
		return rc;
	struct fr_info *info = malloc(sizeof(*info));
	if (!info)
		return tool_fail("rm", -ENOMEM);
	if (!o.stale)
		rc = remove_named(&o, info);
	else if (o.nnames)
		rc = remove_stale_named(&o, info);
	else
		rc = remove_stale_all(&o, info);
	free(info);
	return rc;
}
