/* framering pub: the camera producer. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "framering.h"
#include "opts.h"
#include "seg.h"
#include "source.h"
#include "stats.h"
#include "tool.h"

static const char help[] =
	"Usage: framering pub NAME --source SRC [OPTIONS]\n"
	"\n"
	"Publish frames into segment NAME, written straight into the claimed slots.\n"
	"\n"
	"Sources:\n"
	"  pattern        a synthetic moving scene: gradient, bouncing box, the frame\n"
	"                 number in big digits and as a bar code\n"
	"  jpeg:PATH      a JPEG file or a directory of them (name order), each decoded\n"
	"                 by TurboJPEG into the slot; one of the wrong size or a corrupt\n"
	"                 one is reported and skipped. Into a jpeg segment the files are\n"
	"                 published as they are.\n"
	"  raw:PATH       a file of concatenated packed frames of the segment's geometry\n"
	"\n"
	"Options:\n"
	"  -i, --source SRC       the frame source (required)\n"
	"  -r, --fps N            frames per second, 0 = as fast as possible (default 30)\n"
	"  -c, --count N          stop after N frames (default: the end of the source;\n"
	"                         the pattern never ends)\n"
	"  -l, --loop             start the source again at its end\n"
	"      --quality Q        JPEG quality when the pattern feeds a jpeg segment (90)\n"
	"      --label TEXT       start the status and summary lines with TEXT\n"
	"  -q, --quiet            no status line (the final summary still prints)\n"
	"  -h, --help             this help\n"
	"\n"
	"When NAME does not exist, give --size/--format (and optionally --mode,\n"
	"--slots, --stride, --frame-bytes, --perm, as in 'framering create') to create\n"
	"it; a jpeg source gives its size. When it exists they must match it.\n"
	"\n"
	"Frames carry their publish time (CLOCK_MONOTONIC) as capture timestamp.\n"
	"Ctrl-C or SIGTERM stops cleanly: closing ends the stream for the consumers.\n";

/* The segment options given must match the segment that exists. */
static int check_match(const char *shown, const struct seg_params *p, const struct fr_info *i)
{
	const struct fr_config *c = &p->cfg;
	const char *seg_fmt = fr_format_name(i->format), *want_fmt = fr_format_name(c->format);

	if (!seg_fmt)
		seg_fmt = "?";
	if (!want_fmt)
		want_fmt = "?";
	if ((p->have_size && (c->width != i->width || c->height != i->height)) ||
	    (p->have_format && c->format != i->format))
		return tool_failf("pub %s: the segment holds %ux%u %s frames, not %ux%u %s", shown,
				  i->width, i->height, seg_fmt, p->have_size ? c->width : i->width,
				  p->have_size ? c->height : i->height,
				  p->have_format ? want_fmt : seg_fmt);
	if (c->mode && c->mode != i->mode)
		return tool_failf("pub %s: the segment is %s, not %s", shown,
				  opt_mode_name(i->mode), opt_mode_name(c->mode));
	if (c->slots && c->slots != i->slots)
		return tool_failf("pub %s: the segment has %u slots, not %u", shown, i->slots,
				  c->slots);
	return TOOL_OK;
}

/*
 * Open NAME as producer after checking that it fits the options and the source
 * (a refused producer never attaches), or create it from the segment options.
 */
static int attach(const char *name, const char *shown, struct seg_params *p, uint32_t src_w,
		  uint32_t src_h, struct source *src, struct fr_info *info, struct fr_ring **ring)
{
	int rc = fr_stat(name, info);

	if (rc == 0) {
		if ((rc = check_match(shown, p, info)) ||
		    (rc = source_attach(src, info, info->published)))
			return rc;
		rc = fr_open(name, FR_PRODUCER, ring);
	} else if (rc == -ENOENT && p->have_any) {
		if ((rc = seg_params_finish(p, "pub", src_w, src_h)))
			return rc;
		rc = fr_create(name, &p->cfg, ring);
		if (rc == -EEXIST) /* created by someone else meanwhile */
			rc = fr_open(name, FR_PRODUCER, ring);
	}
	if (rc == -ENOENT)
		return tool_failf("pub %s: no such segment (create it with 'framering create', "
				  "or give --size and --format)",
				  shown);
	if (rc)
		return seg_fail("pub", shown, rc);
	/* Now attached: the live geometry and counters. */
	if ((rc = fr_info(*ring, info)))
		return seg_fail("pub", shown, rc);
	if ((rc = check_match(shown, p, info)))
		return rc;
	return source_attach(src, info, info->published);
}

/* Sleep until the next frame is due; falls back to "now" when far behind. */
static void pace(uint64_t *due, uint64_t period)
{
	if (!period)
		return;
	uint64_t now = now_ns();
	*due += period;
	if (*due + period < now) {
		*due = now; /* more than a frame late: do not burst to catch up */
		return;
	}
	struct timespec ts = { (time_t)(*due / 1000000000u), (long)(*due % 1000000000u) };
	while (!tool_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int cmd_pub(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 'i' },
		{ "fps", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ "loop", no_argument, NULL, 'l' },
		{ "quality", required_argument, NULL, 'Q' },
		{ "label", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		SEG_PARAMS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct seg_params p;
	const char *spec = NULL;
	double fps = 30;
	uint64_t count = 0;
	uint32_t quality = 90;
	bool loop = false, quiet = false;
	const char *label_opt = NULL;
	const char *optstring = ":i:r:c:lqh" SEG_PARAMS_SHORTOPTS;
	int c, rc = TOOL_OK;

	seg_params_init(&p);
	opt_reset();
	while (!rc && (c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			spec = optarg;
			break;
		case 'r':
			rc = opt_double("pub", "--fps", optarg, 0, 100000, &fps);
			break;
		case 'c':
			rc = opt_u64("pub", "--count", optarg, 1, UINT64_MAX, &count);
			break;
		case 'l':
			loop = true;
			break;
		case 'Q':
			rc = opt_u32("pub", "--quality", optarg, 1, 100, &quality);
			break;
		case 'T':
			label_opt = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(help, stdout);
			return TOOL_OK;
		default:
			if (!seg_params_option(&p, "pub", c, optarg, &rc))
				return opt_getopt_error("pub", argv, c);
		}
	}
	const char *name;
	if (rc || (rc = opt_one_name("pub", argc, argv, &name)))
		return rc;
	char shown[FR_NAME_MAX + 8];
	tool_display_name(name, shown, sizeof(shown));
	if (!spec)
		return opt_usage_error("pub",
				       "--source is needed (pattern, jpeg:PATH or raw:PATH)");

	struct source *src = malloc(sizeof(*src));
	struct fr_info *info = malloc(sizeof(*info));
	struct stats *st = malloc(sizeof(*st));
	struct fr_ring *ring = NULL;
	int status = TOOL_FAIL;
	uint32_t src_w, src_h;
	if (!src || !info || !st) {
		free(src), free(info), free(st);
		return tool_fail("pub", -ENOMEM);
	}
	if ((rc = source_parse(src, spec))) {
		source_close(src);
		free(src), free(info), free(st);
		return rc;
	}
	src->loop = loop;
	src->quality = (int)quality;
	if ((status = source_open(src, &src_w, &src_h)) ||
	    (status = attach(name, shown, &p, src_w, src_h, src, info, &ring)) ||
	    (status = tool_install_signals("pub")))
		goto out;

	char label[FR_NAME_MAX + 16];
	if (label_opt)
		snprintf(label, sizeof(label), "%s", label_opt);
	else
		snprintf(label, sizeof(label), "pub %s", shown);
	stats_init(st, label, quiet, false);
	st->drop_word = "skipped";
	st->show_wait = true;
	uint64_t period = fps > 0 ? (uint64_t)(1e9 / fps) : 0, due = now_ns() - period;
	status = TOOL_OK;
	while (!tool_stop && (!count || st->frames < count)) {
		stats_tick(st);
		enum frame_step step = source_prepare(src);
		if (step == FRAME_END)
			break;
		if (step == FRAME_SKIPPED) {
			stats_drops(st, 1);
			continue;
		}
		if (step == FRAME_FAILED) {
			status = TOOL_FAIL;
			break;
		}
		pace(&due, period);
		if (tool_stop)
			break;
		struct fr_frame f;
		/* Bounded waits: status lines keep coming and a signal is never missed. */
		uint64_t t0 = now_ns();
		while ((rc = fr_claim(ring, &f, 200)) == -ETIMEDOUT || rc == -EAGAIN || rc == -EINTR) {
			uint64_t t = now_ns();
			stats_wait(st, t - t0);
			t0 = t;
			stats_tick(st);
			if (tool_stop)
				break;
		}
		stats_wait(st, now_ns() - t0);
		if (rc) {
			if (!tool_stop)
				status = seg_fail("pub", shown, rc);
			break;
		}
		step = source_fill(src, &f);
		if (step != FRAME_DONE) {
			fr_cancel(ring, &f);
			if (step == FRAME_SKIPPED) {
				stats_drops(st, 1);
				continue;
			}
			if (step == FRAME_FAILED)
				status = TOOL_FAIL;
			break;
		}
		if ((rc = fr_publish(ring, &f))) {
			status = seg_fail("pub", shown, rc);
			break;
		}
		stats_frame(st, f.bytes, 0);
	}
	fr_close(ring); /* end of stream for the consumers */
	ring = NULL;
	char extra[64];
	snprintf(extra, sizeof(extra), "%.2f s waiting for free slots", (double)st->wait_ns / 1e9);
	stats_summary(st, extra);
	if (status == TOOL_OK && !st->frames && st->drops)
		status = tool_failf("pub %s: no frame could be published", shown);
out:
	fr_close(ring);
	source_close(src);
	free(src), free(info), free(st);
	return status;
}
