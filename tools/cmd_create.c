/* framering create: make a segment. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "framering.h"
#include "opts.h"
#include "seg.h"
#include "tool.h"

static const char help[] =
	"Usage: framering create NAME --size WxH [OPTIONS]\n"
	"\n"
	"Create the shared-memory segment NAME (in /dev/shm, or --dir DIR) for frames of\n"
	"one geometry.\n"
	"\n"
	"Options:\n"
	"  -m, --mode MODE        spsc (default: one producer, one consumer),\n"
	"                         mpmc (each frame to one of many consumers) or\n"
	"                         broadcast (every consumer sees every frame)\n"
	"  -n, --slots N          frames in flight, a power of two 2..65536 (default 4)\n"
	"  -s, --size WxH         frame geometry, e.g. 1280x720\n"
	"  -f, --format FMT       gray8, gray16, rgb24, bgr24 (default), rgba32, bgra32,\n"
	"                         yuyv, nv12, i420, jpeg or raw\n"
	"      --stride N         bytes per row (default: row size rounded up to 64)\n"
	"      --frame-bytes N    slot capacity; required for raw, default for jpeg:\n"
	"                         the largest JPEG of that size\n"
	"      --perm MODE        octal file mode, exactly (default 0600)\n"
	"      --replace-stale    replace a segment of that name whose users are all dead\n"
	"      --dir DIR          make it in DIR (a tmpfs, a volume containers share)\n"
	"                         instead of /dev/shm; the same as FRAMERING_DIR=DIR\n"
	"  -q, --quiet            print nothing on success\n"
	"  -h, --help             this help\n";

/* What the command line asked for. */
struct create_opts {
	const char *name;
	char shown[FR_NAME_MAX + 8]; /* the name with its '/' */
	struct seg_params seg;
	bool quiet;
	bool help; /* --help: printed, nothing else to do */
};

static int create_parse(int argc, char **argv, struct create_opts *o)
{
	static const struct option longopts[] = {
		SEG_PARAMS_LONGOPTS,
		{ "replace-stale", no_argument, NULL, 'R' },
		{ "dir", required_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = TOOL_OK;

	*o = (struct create_opts){ .quiet = false };
	seg_params_init(&o->seg);
	opt_reset();
	const char *optstring = ":qh" SEG_PARAMS_SHORTOPTS;
	while (!rc && (c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'R': o->seg.cfg.flags |= FR_CREATE_REPLACE_STALE; break;
		case 'D': rc = opt_dir("create", optarg); break;
		case 'q': o->quiet = true; break;
		case 'h': return opt_help(help, &o->help);
		default:
			if (!seg_params_option(&o->seg, "create", c, optarg, &rc))
				return opt_getopt_error("create", argv, c);
		}
	}
	if (rc || (rc = opt_one_name("create", argc, argv, &o->name)))
		return rc;
	tool_display_name(o->name, o->shown, sizeof(o->shown));
	return seg_params_finish(&o->seg, "create", 0, 0);
}

int cmd_create(int argc, char **argv)
{
	struct create_opts o;
	struct fr_ring *ring;
	int rc = create_parse(argc, argv, &o);

	if (rc || o.help) /* --help printed by create_parse */
		return rc;
	if ((rc = fr_create(o.name, &o.seg.cfg, &ring)))
		return seg_fail("create", o.shown, rc);
	struct fr_info *info = calloc(1, sizeof(*info));
	if (info && !o.quiet && fr_info(ring, info) == 0)
		seg_print_line(stdout, o.shown, info);
	free(info);
	fr_close(ring);
	return TOOL_OK;
}
