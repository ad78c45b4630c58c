/* framering pub: the camera producer. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "framering.h"
#include "opts.h"
#include "seg.h"
#include "serve.h"
#include "source.h"
#include "stats.h"
#include "tool.h"

static const char help[] =
	"Usage: framering pub NAME --source SRC [OPTIONS]\n"
	"       framering pub [NAME] --anonymous --serve PATH --source SRC [OPTIONS]\n"
	"       framering pub --via PATH --source SRC [OPTIONS]\n"
	"\n"
	"Publish frames into segment NAME, written straight into the claimed slots.\n"
	"\n"
	"Sources:\n"
	"  pattern        a synthetic moving scene: gradient, bouncing box, the frame\n"
	"                 number in big digits and as a bar code; 1920x1080 bgr24 draws\n"
	"                 at 1,400-2,200 frames/s on the 2-core test machine (packed\n"
	"                 formats; yuyv, nv12 and i420 draw pixel by pixel, slower)\n"
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
	"      --dir DIR          NAME is (or is made) in DIR, not /dev/shm (the same\n"
	"                         as FRAMERING_DIR=DIR)\n"
	"      --anonymous        create an anonymous segment (no name anywhere: it goes\n"
	"                         with the last process that has it); needs --serve.\n"
	"                         NAME, if given, is only a label\n"
	"      --serve PATH       listen on the Unix socket PATH (mode: the segment's,\n"
	"                         see --perm) and hand the segment to every process that\n"
	"                         connects (sub/info/pub --via PATH); PATH is removed\n"
	"                         at the end. A socket left there by a server that died\n"
	"                         is replaced, anything else refused\n"
	"      --via PATH         no NAME: attach as producer to the segment served on\n"
	"                         PATH by 'framering pub --serve'\n"
	"      --wait[=SEC]       with --via: wait for the server to appear: up to SEC\n"
	"                         seconds (then fail), or without a limit\n"
	"      --label TEXT       start the status and summary lines with TEXT\n"
	"  -q, --quiet            no status line (the final summary still prints)\n"
	"  -h, --help             this help\n"
	"\n"
	"When NAME does not exist, give --size/--format (and optionally --mode,\n"
	"--slots, --stride, --frame-bytes, --perm, as in 'framering create') to create\n"
	"it; a jpeg source gives its size. When it exists they must match it.\n"
	"\n"
	"An anonymous segment, served to the processes that connect to /run/cam.sock:\n"
	"  framering pub --anonymous --serve /run/cam.sock --source pattern --size 640x480\n"
	"  framering sub --via /run/cam.sock\n"
	"\n"
	"Frames carry their publish time (CLOCK_MONOTONIC) as capture timestamp.\n"
	"Ctrl-C or SIGTERM stops cleanly: closing ends the stream for the consumers.\n";

/* What the command line asked for. */
struct pub_opts {
	const char *name;            /* with --anonymous only a label ("anonymous") */
	const char *serve, *via;     /* socket paths, or NULL */
	bool anonymous, dir_given;
	double wait;                 /* with --via; see opt_wait() */
	char shown[FR_NAME_MAX + 8]; /* the name with its '/', or the socket path */
	const char *spec;            /* --source */
	double fps;
	uint64_t count; /* 0: the end of the source */
	uint32_t quality;
	bool loop, quiet;
	bool help; /* --help: printed, nothing else to do */
	const char *label;
	struct seg_params seg; /* to create NAME, or to check the one that exists */
};

/* The producer while it runs. */
struct pub_run {
	struct fr_ring *ring;
	struct server *server; /* --serve */
	struct source src;
	struct fr_info info; /* the segment, once attached */
	struct stats st;
	uint64_t period, due; /* ns between frames (0: as fast as possible); next one due */
};

/*
 * After the options: which segment, NAME or a socket, and whether the options
 * that choose it go together. TOOL_OK or TOOL_USAGE (reported).
 */
static int pub_where(int argc, char **argv, struct pub_opts *o)
{
	if (o->anonymous && !o->serve)
		return opt_usage_error("pub", "--anonymous needs --serve PATH: an anonymous "
					      "segment has no name, the socket is how others "
					      "reach it");
	if (o->via && (o->anonymous || o->serve))
		return opt_usage_error("pub", "--via attaches to a served segment; it does not "
					      "go with --anonymous or --serve");
	if (o->wait != 0 && !o->via)
		return opt_usage_error("pub", "--wait goes with --via PATH (pub creates a "
					      "missing NAME when given --size and --format)");
	if (o->via)
		return via_args("pub", argc, argv, o->dir_given, o->via, o->shown,
				sizeof(o->shown));
	if (o->anonymous) {
		if (o->dir_given)
			return opt_usage_error("pub", "--dir is where named segments live; an "
						      "--anonymous segment has no name");
		if (optind < argc - 1)
			return opt_usage_error("pub", "unexpected argument '%s'", argv[optind + 1]);
		if (optind < argc && fr_name_check(argv[optind]))
			return opt_usage_error("pub", "'%s': a label is 1..%d of A-Z a-z 0-9 . _ -",
					       argv[optind], FR_NAME_MAX);
		o->name = optind < argc ? argv[optind] : "anonymous";
		snprintf(o->shown, sizeof(o->shown), "%s", o->serve);
		return TOOL_OK;
	}
	int rc = opt_one_name("pub", argc, argv, &o->name);
	if (!rc)
		tool_display_name(o->name, o->shown, sizeof(o->shown));
	return rc;
}

static int pub_parse(int argc, char **argv, struct pub_opts *o)
{
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 'i' },
		{ "fps", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ "loop", no_argument, NULL, 'l' },
		{ "quality", required_argument, NULL, 'Q' },
		{ "label", required_argument, NULL, 'T' },
		{ "dir", required_argument, NULL, 'D' },
		{ "anonymous", no_argument, NULL, 'A' },
		{ "serve", required_argument, NULL, 'E' },
		{ "via", required_argument, NULL, 'U' },
		{ "wait", optional_argument, NULL, 'W' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		SEG_PARAMS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = TOOL_OK;

	*o = (struct pub_opts){ .fps = 30, .quality = 90 };
	seg_params_init(&o->seg);
	opt_reset();
	const char *optstring = ":i:r:c:lqh" SEG_PARAMS_SHORTOPTS;
	while (!rc && (c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'i': o->spec = optarg; break;
		case 'r': rc = opt_double("pub", "--fps", optarg, 0, 100000, &o->fps); break;
		case 'c': rc = opt_u64("pub", "--count", optarg, 1, UINT64_MAX, &o->count); break;
		case 'l': o->loop = true; break;
		case 'Q': rc = opt_u32("pub", "--quality", optarg, 1, 100, &o->quality); break;
		case 'T': o->label = optarg; break;
		case 'D':
			rc = opt_dir("pub", optarg);
			o->dir_given = true;
			break;
		case 'A': o->anonymous = true; break;
		case 'E': rc = serve_path_check("pub", "--serve", o->serve = optarg); break;
		case 'U': rc = serve_path_check("pub", "--via", o->via = optarg); break;
		case 'W': rc = opt_wait("pub", optarg, argv[optind], &o->wait); break;
		case 'q': o->quiet = true; break;
		case 'h': return opt_help(help, &o->help);
		default:
			if (!seg_params_option(&o->seg, "pub", c, optarg, &rc))
				return opt_getopt_error("pub", argv, c);
		}
	}
	if (rc || (rc = pub_where(argc, argv, o)))
		return rc;
	if (!o->spec)
		return opt_usage_error("pub",
				       "--source is needed (pattern, jpeg:PATH or raw:PATH)");
	return TOOL_OK;
}

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

/* Does run->info suit the options and the source? Remembers it in the source. */
static int check_fits(const struct pub_opts *o, struct pub_run *run)
{
	int rc = check_match(o->shown, &o->seg, &run->info);

	return rc ? rc : source_attach(&run->src, &run->info, run->info.published);
}

/*
 * Open NAME as producer after checking that it fits the options and the source
 * (a refused producer never attaches), or create it from the segment options.
 */
static int open_named(struct pub_opts *o, struct pub_run *run, uint32_t src_w, uint32_t src_h)
{
	int rc = fr_stat(o->name, &run->info);

	if (rc == 0) {
		if ((rc = check_fits(o, run)))
			return rc;
		rc = fr_open(o->name, FR_PRODUCER, &run->ring);
	} else if (rc == -ENOENT && o->seg.have_any) {
		if ((rc = seg_params_finish(&o->seg, "pub", src_w, src_h)))
			return rc;
		rc = fr_create(o->name, &o->seg.cfg, &run->ring);
		if (rc == -EEXIST) /* created by someone else meanwhile */
			rc = fr_open(o->name, FR_PRODUCER, &run->ring);
	}
	if (rc == -ENOENT)
		return tool_failf("pub %s: no such segment%s (create it with 'framering create', "
				  "or give --size and --format)",
				  o->shown, seg_dir_note());
	return rc ? seg_fail("pub", o->shown, rc) : TOOL_OK;
}

/* --anonymous: a segment with no name, from the segment options. */
static int create_anonymous(struct pub_opts *o, struct pub_run *run, uint32_t src_w,
			    uint32_t src_h)
{
	int rc = seg_params_finish(&o->seg, "pub", src_w, src_h);

	if (rc)
		return rc;
	o->seg.cfg.flags |= FR_CREATE_ANONYMOUS;
	if ((rc = fr_create(o->name, &o->seg.cfg, &run->ring)))
		return seg_fail("pub", o->shown, rc);
	return TOOL_OK;
}

/*
 * --via PATH: the segment served there, checked before attaching. TOOL_OK with
 * run->ring NULL when a signal ended the wait for the server.
 */
static int open_via(struct pub_opts *o, struct pub_run *run)
{
	int fd, rc = via_receive("pub", o->via, o->wait, &fd);

	if (rc || fd < 0)
		return rc;
	if ((rc = fr_stat_fd(fd, &run->info)))
		rc = seg_fail("pub", o->shown, rc);
	else if (!(rc = check_fits(o, run)) && (rc = fr_open_fd(fd, FR_PRODUCER, &run->ring)))
		rc = seg_fail("pub", o->shown, rc);
	close(fd);
	return rc;
}

/* Attach (or create) as the options say, then check the segment as attached. */
static int attach(struct pub_opts *o, struct pub_run *run, uint32_t src_w, uint32_t src_h)
{
	int rc;

	if (o->via)
		rc = open_via(o, run);
	else if (o->anonymous)
		rc = create_anonymous(o, run, src_w, src_h);
	else
		rc = open_named(o, run, src_w, src_h);
	if (rc || !run->ring)
		return rc;
	/* Now attached: the live geometry and counters. */
	if ((rc = fr_info(run->ring, &run->info)))
		return seg_fail("pub", o->shown, rc);
	return check_fits(o, run);
}

/* The source, the segment (attached or created), signals and stats. */
static int pub_setup(struct pub_opts *o, struct pub_run *run)
{
	char label[FR_NAME_MAX + 16];
	uint32_t src_w, src_h;
	int rc;

	if ((rc = source_parse(&run->src, o->spec)))
		return rc;
	run->src.loop = o->loop;
	run->src.quality = (int)o->quality;
	/*
	 * Signals first: they end a --wait for the server as they end the loop.
	 * The socket before the segment: a path that cannot be served creates
	 * nothing.
	 */
	if ((rc = source_open(&run->src, &src_w, &src_h)) || (rc = tool_install_signals("pub")) ||
	    (o->serve && (rc = serve_listen("pub", o->serve, &run->server))) ||
	    (rc = attach(o, run, src_w, src_h)))
		return rc;
	if (run->server && (rc = serve_start(run->server, "pub", run->ring, run->info.perms)))
		return rc;
	if (o->label)
		snprintf(label, sizeof(label), "%s", o->label);
	else
		snprintf(label, sizeof(label), "pub %s", o->shown);
	stats_init(&run->st, label, o->quiet, false);
	run->st.drop_word = "skipped";
	run->st.show_wait = true;
	run->period = o->fps > 0 ? (uint64_t)(1e9 / o->fps) : 0;
	run->due = now_ns() - run->period;
	return TOOL_OK;
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

/* Claim a slot, counting the time waited for it; fr_claim's result. */
static int claim_slot(struct pub_run *run, struct fr_frame *f)
{
	uint64_t t0 = now_ns();
	int rc;

	/* Bounded waits: status lines keep coming and a signal is never missed. */
	while ((rc = fr_claim(run->ring, f, 200)) == -ETIMEDOUT || rc == -EAGAIN || rc == -EINTR) {
		uint64_t t = now_ns();
		stats_wait(&run->st, t - t0);
		t0 = t;
		stats_tick(&run->st);
		if (tool_stop)
			break;
	}
	stats_wait(&run->st, now_ns() - t0);
	return rc;
}

/* The next frame of the source, at its time, into a slot, published. */
static enum frame_step pub_frame(const struct pub_opts *o, struct pub_run *run)
{
	struct fr_frame f;
	enum frame_step step = source_prepare(&run->src);
	int rc;

	if (step != FRAME_DONE)
		return step;
	pace(&run->due, run->period);
	if (tool_stop)
		return FRAME_END;
	if ((rc = claim_slot(run, &f))) {
		if (tool_stop)
			return FRAME_END;
		seg_fail("pub", o->shown, rc);
		return FRAME_FAILED;
	}
	if ((step = source_fill(&run->src, &f)) != FRAME_DONE) {
		fr_cancel(run->ring, &f);
		return step;
	}
	if ((rc = fr_publish(run->ring, &f))) {
		seg_fail("pub", o->shown, rc);
		return FRAME_FAILED;
	}
	stats_frame(&run->st, f.bytes, 0);
	return FRAME_DONE;
}

static int pub_loop(const struct pub_opts *o, struct pub_run *run)
{
	while (!tool_stop && (!o->count || run->st.frames < o->count)) {
		stats_tick(&run->st);
		switch (pub_frame(o, run)) {
		case FRAME_DONE:
			break;
		case FRAME_SKIPPED:
			stats_drops(&run->st, 1);
			break;
		case FRAME_END:
			return TOOL_OK;
		case FRAME_FAILED:
			return TOOL_FAIL;
		}
	}
	return TOOL_OK;
}

/*
 * Stop serving and close (the end of the stream for the consumers), then the
 * summary line.
 */
static void pub_summary(struct pub_run *run)
{
	bool served = run->server != NULL;
	uint64_t clients = serve_stop(run->server);
	char extra[96];

	run->server = NULL;
	fr_close(run->ring);
	run->ring = NULL;
	snprintf(extra, sizeof(extra), "%.2f s waiting for free slots",
		 (double)run->st.wait_ns / 1e9);
	if (served)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			 ", served to %" PRIu64 " client%s", clients, clients == 1 ? "" : "s");
	stats_summary(&run->st, extra);
}

int cmd_pub(int argc, char **argv)
{
	struct pub_opts o;
	int rc = pub_parse(argc, argv, &o);

	if (rc || o.help) /* --help printed by pub_parse */
		return rc;
	struct pub_run *run = calloc(1, sizeof(*run));
	if (!run)
		return tool_fail("pub", -ENOMEM);
	if (!(rc = pub_setup(&o, run))) {
		rc = pub_loop(&o, run);
		pub_summary(run);
		if (!rc && !run->st.frames && run->st.drops)
			rc = tool_failf("pub %s: no frame could be published", o.shown);
	}
	serve_stop(run->server); /* when setup failed after serve_listen */
	fr_close(run->ring);
	source_close(&run->src);
	free(run);
	return rc;
}
