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
		{ "mode", required_argument, NULL, 'm' },
		{ "slots", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "stride", required_argument, NULL, 'S' },
		{ "frame-bytes", required_argument, NULL, 'B' },
		{ "perm", required_argument, NULL, 'P' },
		{ "replace-stale", no_argument, NULL, 'R' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct seg_params p;
	bool quiet = false;
	int c;

	seg_params_init(&p);
	opt_reset();
	while ((c = getopt_long(argc, argv, ":m:n:s:f:qh", longopts, NULL)) != -1) {
		int rc = seg_params_option(&p, "create", c, optarg);
		if (rc > 0)
			continue;
		if (rc < 0)
			return EXIT_USAGE;
		switch (c) {
		case 'R':
			p.cfg.flags |= FR_CREATE_REPLACE_STALE;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_SUCCESS;
		default:
			return opt_getopt_error("create", argv, c);
		}
	}
	const char *name;
	if (opt_one_name("create", argc, argv, &name))
		return EXIT_USAGE;
	char shown[FR_NAME_MAX + 8];
	tool_display_name(name, shown, sizeof(shown));
	if (seg_params_finish(&p, "create", 0, 0))
		return EXIT_USAGE;

	struct fr_ring *ring;
	int rc = fr_create(name, &p.cfg, &ring);
	if (rc)
		return seg_fail("create", shown, rc);
	struct fr_info *info = calloc(1, sizeof(*info));
	if (info && !quiet && fr_info(ring, info) == 0)
		seg_print_line(stdout, shown, info);
	free(info);
	fr_close(ring);
	return EXIT_SUCCESS;
}
