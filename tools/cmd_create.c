/* framering create: make a segment. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framering.h"
#include "opts.h"
#include "seg.h"
#include "tool.h"

static const char help[] =
	"Usage: framering create NAME --size WxH [OPTIONS]\n"
	"\n"
	"Create the shared-memory segment NAME (under /dev/shm) for frames of one geometry.\n"
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
	"  -q, --quiet            print nothing on success\n"
	"  -h, --help             this help\n";

int cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		SEG_PARAMS_LONGOPTS,
		{ "replace-stale", no_argument, NULL, 'R' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct seg_params p;
	const char *optstring = ":qh" SEG_PARAMS_SHORTOPTS;
	bool quiet = false;
	int c, rc = TOOL_OK;

	seg_params_init(&p);
	opt_reset();
	while (!rc && (c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			p.cfg.flags |= FR_CREATE_REPLACE_STALE;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(help, stdout);
			return TOOL_OK;
		default:
			if (!seg_params_option(&p, "create", c, optarg, &rc))
				return opt_getopt_error("create", argv, c);
		}
	}
	const char *name;
	if (rc || (rc = opt_one_name("create", argc, argv, &name)))
		return rc;
	char shown[FR_NAME_MAX + 8];
	tool_display_name(name, shown, sizeof(shown));
	if ((rc = seg_params_finish(&p, "create", 0, 0)))
		return rc;

	struct fr_ring *ring;
	if ((rc = fr_create(name, &p.cfg, &ring)))
		return seg_fail("create", shown, rc);
	struct fr_info *info = calloc(1, sizeof(*info));
	if (info && !quiet && fr_info(ring, info) == 0)
		seg_print_line(stdout, shown, info);
	free(info);
	fr_close(ring);
	return TOOL_OK;
}
