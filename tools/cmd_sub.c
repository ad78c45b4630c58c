/* framering sub: a vision consumer that measures and saves JPEG snapshots. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "framering.h"
#include "jpeg.h"
#include "opts.h"
#include "seg.h"
#include "serve.h"
#include "stats.h"
#include "tool.h"

static const char help[] =
	"Usage: framering sub NAME [OPTIONS]\n"
	"       framering sub --via PATH [OPTIONS]\n"
	"\n"
	"Consume frames from segment NAME, reading them in place: frames/s, MB/s,\n"
	"latency from the frame's capture timestamp to acquire (p50/p99) and drops,\n"
	"as a status line every second on stderr and a summary at the end.\n"
	"\n"
	"Options:\n"
	"  -j, --jpeg DIR      save every Nth frame as DIR/frame-<seq>.jpg, encoded by\n"
	"                      TurboJPEG straight from the slot (DIR is created);\n"
	"                      gray16 and YUV frames are converted first, jpeg\n"
	"                      segments' frames are written as they are\n"
	"  -e, --every N       with --jpeg: every Nth frame received (default 1)\n"
	"      --quality Q     JPEG quality 1..100 (default 90)\n"
	"  -c, --count N       stop after N frames\n"
	"      --latest        broadcast segments: never hold the producer back; jump to\n"
	"                      the newest frame each time (skipped frames count as drops)\n"
	"  -t, --timeout SEC   fail when no frame arrives for SEC seconds (default: wait)\n"
	"      --wait[=SEC]    when NAME does not exist yet (or nobody serves PATH), wait\n"
	"                      for it to appear: up to SEC seconds (then fail), or\n"
	"                      without a limit\n"
	"      --via PATH      no NAME: the segment served on the Unix socket PATH by\n"
	"                      'framering pub --serve' (an anonymous one, for example)\n"
	"      --dir DIR       NAME is in DIR, not /dev/shm (the same as FRAMERING_DIR=DIR)\n"
	"      --label TEXT    start the status and summary lines with TEXT\n"
	"  -q, --quiet         no status line (the final summary still prints)\n"
	"  -h, --help          this help\n"
	"\n"
	"Ends with status 0 at the end of the stream (every producer closed), after\n"
	"--count frames, or on Ctrl-C/SIGTERM (also while waiting for NAME).\n";

/* What the command line asked for. */
struct sub_opts {
	const char *name;            /* or NULL with --via */
	const char *via;             /* socket path, or NULL */
	char shown[FR_NAME_MAX + 8]; /* the name with its '/', or the socket path */
	const char *dir;             /* --jpeg DIR, or NULL */
	uint64_t every, count;       /* count 0: no limit */
	uint32_t quality;
	double timeout, wait;        /* seconds; see opt_wait() for wait */
	bool latest, quiet;
	bool help; /* --help: printed, nothing else to do */
	const char *label;
};

/* The consumer while it runs. */
struct sub_run {
	struct fr_ring *ring;
	struct fr_info info; /* the segment as found before attaching */
	struct stats st;
	struct jpeg_codec codec;
	unsigned char *copy; /* a jpeg segment's frame, copied out to write it */
	unsigned acq_flags;  /* FR_ACQUIRE_NEWEST for --latest on broadcast */
	uint64_t received, saved, jpeg_errors, last_frame_ns;
	bool ended; /* end of stream: every producer closed */
};

static int sub_parse(int argc, char **argv, struct sub_opts *o)
{
	static const struct option longopts[] = {
		{ "jpeg", required_argument, NULL, 'j' },
		{ "every", required_argument, NULL, 'e' },
		{ "quality", required_argument, NULL, 'Q' },
		{ "count", required_argument, NULL, 'c' },
		{ "latest", no_argument, NULL, 'L' },
		{ "timeout", required_argument, NULL, 't' },
		{ "wait", optional_argument, NULL, 'W' },
		{ "dir", required_argument, NULL, 'D' },
		{ "via", required_argument, NULL, 'U' },
		{ "label", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool jpeg_opts = false, dir_given = false;
	int c, rc = TOOL_OK;

	*o = (struct sub_opts){ .every = 1, .quality = 90 };
	opt_reset();
	while (!rc && (c = getopt_long(argc, argv, ":j:e:c:t:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': o->dir = optarg; break;
		case 'e':
			rc = opt_u64("sub", "--every", optarg, 1, UINT64_MAX, &o->every);
			jpeg_opts = true;
			break;
		case 'Q':
			rc = opt_u32("sub", "--quality", optarg, 1, 100, &o->quality);
			jpeg_opts = true;
			break;
		case 'c': rc = opt_u64("sub", "--count", optarg, 1, UINT64_MAX, &o->count); break;
		case 'L': o->latest = true; break;
		case 't': rc = opt_double("sub", "--timeout", optarg, 0, 1e6, &o->timeout); break;
		case 'W': rc = opt_wait("sub", optarg, argv[optind], &o->wait); break;
		case 'D':
			rc = opt_dir("sub", optarg);
			dir_given = true;
			break;
		case 'U': rc = serve_path_check("sub", "--via", o->via = optarg); break;
		case 'T': o->label = optarg; break;
		case 'q': o->quiet = true; break;
		case 'h': return opt_help(help, &o->help);
		default: return opt_getopt_error("sub", argv, c);
		}
	}
	if (rc)
		return rc;
	if (jpeg_opts && !o->dir)
		return opt_usage_error("sub", "--every and --quality go with --jpeg DIR");
	if (o->via)
		return via_args("sub", argc, argv, dir_given, o->via, o->shown, sizeof(o->shown));
	if ((rc = opt_one_name("sub", argc, argv, &o->name)))
		return rc;
	tool_display_name(o->name, o->shown, sizeof(o->shown));
	return TOOL_OK;
}

/* Write a snapshot atomically: a temporary name, then rename. */
static int write_jpeg(const char *dir, uint64_t seq, const void *data, size_t len)
{
	char path[4096], tmp[4096 + 16];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/frame-%06" PRIu64 ".jpg", dir, seq);
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return tool_failf("sub: %s: %s", tmp, strerror(errno));
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = errno;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err) {
		unlink(tmp);
		return tool_failf("sub: %s: %s", path, strerror(err));
	}
	return TOOL_OK;
}

static int make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0755) && errno != EEXIST)
		return tool_failf("sub: --jpeg %s: %s", dir, strerror(errno));
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return tool_failf("sub: --jpeg %s: not a directory", dir);
	if (access(dir, W_OK | X_OK))
		return tool_failf("sub: --jpeg %s: %s", dir, strerror(errno));
	return TOOL_OK;
}

/*
 * Drops as the library counts them for this handle (broadcast: the frames it
 * skipped, including those published before its first one; a seq gap would
 * miss these), brought into the stats.
 */
static void sync_drops(struct sub_run *run)
{
	struct fr_handle_stats hs;

	if (fr_handle_stats(run->ring, &hs) == 0 && hs.dropped > run->st.drops)
		stats_drops(&run->st, hs.dropped - run->st.drops);
}

/* Does the segment found suit the options? Before attaching: a refused consumer never attaches. */
static int sub_check(const struct sub_opts *o, const struct fr_info *info)
{
	if (o->latest && info->mode != FR_BROADCAST)
		tool_warnf("sub %s: --latest only matters on broadcast segments (this one is %s)",
			   o->shown, opt_mode_name(info->mode));
	if (!o->dir)
		return TOOL_OK;
	if (info->format != FR_FORMAT_JPEG && !jpeg_can_encode(info->format)) {
		const char *fname = fr_format_name(info->format);
		return tool_failf("sub %s: --jpeg: %s frames cannot be encoded as JPEG", o->shown,
				  fname ? fname : "these");
	}
	return make_dir(o->dir);
}

/*
 * The segment by name (waited for with --wait) or received --via PATH, checked,
 * then attached. TOOL_OK with run->ring NULL when a signal ended the wait.
 */
static int sub_attach(const struct sub_opts *o, struct sub_run *run)
{
	unsigned flags = FR_CONSUMER;
	int fd = -1, rc;

	if (!o->via)
		rc = seg_stat_wait("sub", o->name, o->shown, o->wait, &run->info);
	else if (!(rc = via_receive("sub", o->via, o->wait, &fd)) && fd >= 0 &&
		 (rc = fr_stat_fd(fd, &run->info)))
		rc = seg_fail("sub", o->shown, rc);
	if (!rc && !tool_stop && !(rc = sub_check(o, &run->info))) {
		if (o->latest && run->info.mode == FR_BROADCAST)
			flags |= FR_LATEST;
		int err = fd >= 0 ? fr_open_fd(fd, flags, &run->ring)
				  : fr_open(o->name, flags, &run->ring);
		if (err)
			rc = seg_fail("sub", o->shown, err);
	}
	if (fd >= 0)
		close(fd); /* the handle keeps what it needs */
	return rc;
}

/*
 * Signals, stats, the segment, attach. TOOL_OK with run->ring NULL when a
 * signal ended the wait for the segment: the summary still prints.
 */
static int sub_setup(const struct sub_opts *o, struct sub_run *run)
{
	char label[FR_NAME_MAX + 32];
	int rc;

	/* Before the wait, so that Ctrl-C/SIGTERM end it as they end the loop. */
	if ((rc = tool_install_signals("sub")))
		return rc;
	if (o->label)
		snprintf(label, sizeof(label), "%s", o->label);
	else
		snprintf(label, sizeof(label), "sub %s[%d]", o->shown, (int)getpid());
	stats_init(&run->st, label, o->quiet, true);
	if ((rc = sub_attach(o, run)) || !run->ring)
		return rc;
	bool latest = o->latest && run->info.mode == FR_BROADCAST;
	run->acq_flags = latest ? FR_ACQUIRE_NEWEST : 0;
	run->last_frame_ns = now_ns();
	return TOOL_OK;
}

/*
 * The JPEG to save for the held frame @f, or *out NULL: a jpeg segment's frame
 * copied out (it is compressed already), any other one encoded from the slot.
 * A frame that cannot be saved is counted and warned about; the stream goes on.
 */
static void snapshot(const struct sub_opts *o, struct sub_run *run, const struct fr_frame *f,
		     const void **out, size_t *len)
{
	*out = NULL;
	if (f->format != FR_FORMAT_JPEG) {
		struct fr_image img = { f->data, f->capacity, f->width, f->height, f->stride,
					f->format };
		const unsigned char *jpg;
		if (jpeg_encode(&run->codec, &img, (int)o->quality, &jpg, len) == 0) {
			*out = jpg;
			return;
		}
		tool_warnf("sub: frame %" PRIu64 ": %s", f->seq, jpeg_error(&run->codec));
	} else if (f->bytes > f->capacity || f->bytes < 4) {
		tool_warnf("sub: frame %" PRIu64 ": bad size %" PRIu64, f->seq, f->bytes);
	} else {
		unsigned char *grown = realloc(run->copy, f->bytes);
		if (grown) {
			run->copy = grown;
			memcpy(grown, f->data, f->bytes);
			*out = grown;
			*len = f->bytes;
			return;
		}
		tool_warnf("sub: frame %" PRIu64 ": out of memory", f->seq);
	}
	run->jpeg_errors++;
}

/* One acquired frame: snapshot it, give the slot back, count it, write the file. */
static int sub_frame(const struct sub_opts *o, struct sub_run *run, struct fr_frame *f)
{
	uint64_t now = now_ns(), seq = f->seq, bytes = f->bytes, ts = f->timestamp_ns;
	const void *out = NULL;
	size_t out_len = 0;
	int rc;

	run->last_frame_ns = now;
	if (o->dir && run->received % o->every == 0)
		snapshot(o, run, f, &out, &out_len);
	if ((rc = fr_release(run->ring, f)))
		return seg_fail("sub", o->shown, rc);
	run->received++;
	stats_frame(&run->st, bytes, now > ts ? now - ts : 0);
	/* The file is written after the slot went back to the producer. */
	if (out) {
		if ((rc = write_jpeg(o->dir, seq, out, out_len)))
			return rc;
		run->saved++;
	}
	sync_drops(run);
	stats_tick(&run->st);
	return TOOL_OK;
}

/* No frame this time: the status line goes on; --timeout may be up. */
static int sub_idle(const struct sub_opts *o, struct sub_run *run)
{
	sync_drops(run);
	stats_tick(&run->st);
	if (o->timeout > 0 && (double)(now_ns() - run->last_frame_ns) / 1e9 >= o->timeout)
		return tool_failf("sub %s: no frame for %g s", o->shown, o->timeout);
	return TOOL_OK;
}

static int sub_loop(const struct sub_opts *o, struct sub_run *run)
{
	int rc = TOOL_OK;

	/* Bounded waits: status lines keep coming and a signal is never missed. */
	while (!rc && !tool_stop && (!o->count || run->received < o->count)) {
		struct fr_frame f;
		int err = fr_acquire_ex(run->ring, &f, 200, run->acq_flags);
		if (err == -ETIMEDOUT || err == -EAGAIN || err == -EINTR) {
			rc = sub_idle(o, run);
		} else if (err == -EPIPE) {
			run->ended = true;
			break;
		} else if (err) {
			rc = seg_fail("sub", o->shown, err);
		} else {
			rc = sub_frame(o, run, &f);
		}
	}
	return rc;
}

/* Why the consumer stopped, for its summary (read before it detaches). */
static const char *end_reason(const struct sub_opts *o, const struct sub_run *run)
{
	if (run->ended)
		return "end of stream";
	if (tool_stop && !run->ring)
		return "stopped by a signal before the segment appeared";
	if (tool_stop)
		return "stopped by a signal";
	if (o->count && run->received >= o->count)
		return "--count reached";
	return "stopped on an error";
}

/* Detach, then one summary line: counts, snapshots and why it ended. */
static void sub_summary(const struct sub_opts *o, struct sub_run *run)
{
	const char *why = end_reason(o, run);
	char extra[4200];

	if (run->ring)
		sync_drops(run);
	fr_close(run->ring);
	run->ring = NULL;
	if (o->dir)
		snprintf(extra, sizeof(extra), "%" PRIu64 " JPEGs in %s%s, %s", run->saved, o->dir,
			 run->jpeg_errors ? " (some frames could not be encoded)" : "", why);
	else
		snprintf(extra, sizeof(extra), "%s", why);
	stats_summary(&run->st, extra);
}

int cmd_sub(int argc, char **argv)
{
	struct sub_opts o;
	int rc = sub_parse(argc, argv, &o);

	if (rc || o.help) /* --help printed by sub_parse */
		return rc;
	struct sub_run *run = calloc(1, sizeof(*run));
	if (!run)
		return tool_fail("sub", -ENOMEM);
	jpeg_codec_init(&run->codec);
	if (!(rc = sub_setup(&o, run))) {
		if (run->ring)
			rc = sub_loop(&o, run);
		sub_summary(&o, run);
	}
	fr_close(run->ring);
	jpeg_codec_fini(&run->codec);
	free(run->copy);
	free(run);
	return rc;
}
