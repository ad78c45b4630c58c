/* framering sub: a vision consumer that measures and saves JPEG snapshots. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "framering.h"
#include "jpeg.h"
#include "opts.h"
#include "seg.h"
#include "stats.h"
#include "tool.h"

static const char help[] =
	"Usage: framering sub NAME [OPTIONS]\n"
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
	"      --label TEXT    start the status and summary lines with TEXT\n"
	"  -q, --quiet         no status line (the final summary still prints)\n"
	"  -h, --help          this help\n"
	"\n"
	"Ends with status 0 at the end of the stream (every producer closed), after\n"
	"--count frames, or on Ctrl-C/SIGTERM.\n";

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

/*
 * Drops as the library counts them for this handle (broadcast: the frames it
 * skipped, including those published before its first one; a seq gap would
 * miss these), brought into the stats.
 */
static void sync_drops(struct fr_ring *ring, struct stats *st)
{
	struct fr_handle_stats hs;

	if (fr_handle_stats(ring, &hs) == 0 && hs.dropped > st->drops)
		stats_drops(st, hs.dropped - st->drops);
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

int cmd_sub(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "jpeg", required_argument, NULL, 'j' },
		{ "every", required_argument, NULL, 'e' },
		{ "quality", required_argument, NULL, 'Q' },
		{ "count", required_argument, NULL, 'c' },
		{ "latest", no_argument, NULL, 'L' },
		{ "timeout", required_argument, NULL, 't' },
		{ "label", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	uint64_t every = 1, count = 0;
	uint32_t quality = 90;
	double timeout = 0;
	bool latest = false, quiet = false, jpeg_opts = false;
	const char *label_opt = NULL;
	int c, rc = TOOL_OK;

	opt_reset();
	while (!rc && (c = getopt_long(argc, argv, ":j:e:c:t:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			dir = optarg;
			break;
		case 'e':
			rc = opt_u64("sub", "--every", optarg, 1, UINT64_MAX, &every);
			jpeg_opts = true;
			break;
		case 'Q':
			rc = opt_u32("sub", "--quality", optarg, 1, 100, &quality);
			jpeg_opts = true;
			break;
		case 'c':
			rc = opt_u64("sub", "--count", optarg, 1, UINT64_MAX, &count);
			break;
		case 'L':
			latest = true;
			break;
		case 't':
			rc = opt_double("sub", "--timeout", optarg, 0, 1e6, &timeout);
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
			return opt_getopt_error("sub", argv, c);
		}
	}
	const char *name;
	if (rc || (rc = opt_one_name("sub", argc, argv, &name)))
		return rc;
	if (jpeg_opts && !dir)
		return opt_usage_error("sub", "--every and --quality go with --jpeg DIR");
	char shown[FR_NAME_MAX + 8];
	tool_display_name(name, shown, sizeof(shown));

	struct fr_info *info = malloc(sizeof(*info));
	struct stats *st = malloc(sizeof(*st));
	struct jpeg_codec codec;
	struct fr_ring *ring = NULL;
	unsigned char *copy = NULL; /* a jpeg segment's frame, copied out to write it */
	int status = TOOL_FAIL;
	uint64_t saved = 0, jpeg_errors = 0;

	jpeg_codec_init(&codec);
	if (!info || !st) {
		status = tool_fail("sub", -ENOMEM);
		goto out;
	}
	if ((rc = fr_stat(name, info))) {
		status = seg_fail("sub", shown, rc);
		goto out;
	}
	bool broadcast = info->mode == FR_BROADCAST;
	if (latest && !broadcast)
		tool_warnf("sub %s: --latest only matters on broadcast segments (this one is %s)",
			   shown, opt_mode_name(info->mode));
	if (dir) {
		const char *fname = fr_format_name(info->format);
		if (info->format != FR_FORMAT_JPEG && !jpeg_can_encode(info->format)) {
			status = tool_failf("sub %s: --jpeg: %s frames cannot be encoded as JPEG",
					    shown, fname ? fname : "these");
			goto out;
		}
		if ((status = make_dir(dir)))
			goto out;
	}
	if ((rc = fr_open(name, FR_CONSUMER | (latest && broadcast ? FR_LATEST : 0), &ring))) {
		status = seg_fail("sub", shown, rc);
		goto out;
	}
	if ((status = tool_install_signals("sub")))
		goto out;

	char label[FR_NAME_MAX + 32];
	if (label_opt)
		snprintf(label, sizeof(label), "%s", label_opt);
	else
		snprintf(label, sizeof(label), "sub %s[%d]", shown, (int)getpid());
	stats_init(st, label, quiet, true);
	uint64_t received = 0, last_frame_ns = now_ns();
	bool ended = false;
	unsigned acq_flags = latest && broadcast ? FR_ACQUIRE_NEWEST : 0;
	status = TOOL_OK;
	while (!tool_stop && (!count || received < count)) {
		struct fr_frame f;
		rc = acq_flags ? fr_acquire_ex(ring, &f, 200, acq_flags) : fr_acquire(ring, &f, 200);
		if (rc == -ETIMEDOUT || rc == -EAGAIN || rc == -EINTR) {
			sync_drops(ring, st);
			stats_tick(st);
			if (timeout > 0 && (double)(now_ns() - last_frame_ns) / 1e9 >= timeout) {
				status = tool_failf("sub %s: no frame for %g s", shown, timeout);
				break;
			}
			continue;
		}
		if (rc == -EPIPE) {
			ended = true; /* end of stream: every producer closed */
			break;
		}
		if (rc) {
			status = seg_fail("sub", shown, rc);
			break;
		}
		uint64_t now = now_ns();
		last_frame_ns = now;
		const void *out = NULL;
		size_t out_len = 0;
		if (dir && received % every == 0) {
			if (f.format == FR_FORMAT_JPEG) {
				/* Already compressed: copy it out so the slot goes back at once. */
				if (f.bytes > f.capacity || f.bytes < 4) {
					jpeg_errors++;
					tool_warnf("sub: frame %" PRIu64 ": bad size %" PRIu64, f.seq,
						   f.bytes);
				} else {
					unsigned char *grown = realloc(copy, f.bytes);
					if (grown) {
						copy = grown;
						memcpy(copy, f.data, f.bytes);
						out = copy;
						out_len = f.bytes;
					} else {
						jpeg_errors++;
						tool_warnf("sub: frame %" PRIu64 ": out of memory", f.seq);
					}
				}
			} else {
				struct fr_image img = { f.data, f.capacity, f.width, f.height, f.stride,
							f.format };
				const unsigned char *jpg;
				if (jpeg_encode(&codec, &img, (int)quality, &jpg, &out_len)) {
					jpeg_errors++;
					tool_warnf("sub: frame %" PRIu64 ": %s", f.seq, jpeg_error(&codec));
				} else {
					out = jpg;
				}
			}
		}
		uint64_t seq = f.seq, bytes = f.bytes, ts = f.timestamp_ns;
		if ((rc = fr_release(ring, &f))) {
			status = seg_fail("sub", shown, rc);
			break;
		}
		received++;
		stats_frame(st, bytes, now > ts ? now - ts : 0);
		/* The file is written after the slot went back to the producer. */
		if (out) {
			if ((status = write_jpeg(dir, seq, out, out_len)))
				break;
			saved++;
		}
		sync_drops(ring, st);
		stats_tick(st);
	}
	sync_drops(ring, st);
	char extra[4200];
	const char *why = ended ? "end of stream" : tool_stop ? "stopped by a signal"
		: count && received >= count ? "--count reached" : "stopped on an error";
	if (dir)
		snprintf(extra, sizeof(extra), "%" PRIu64 " JPEGs in %s%s, %s", saved, dir,
			 jpeg_errors ? " (some frames could not be encoded)" : "", why);
	else
		snprintf(extra, sizeof(extra), "%s", why);
	fr_close(ring);
	ring = NULL;
	stats_summary(st, extra);
out:
	fr_close(ring);
	jpeg_codec_fini(&codec);
	free(copy);
	free(info);
	free(st);
	return status;
}
