/* Segment parameters, description and open errors: see seg.h. */
#include "seg.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "jpeg.h"
#include "opts.h"
#include "stats.h" /* now_ns */
#include "tool.h"

void seg_params_init(struct seg_params *p)
{
	memset(p, 0, sizeof(*p));
}

/* One segment option's value into @p: TOOL_OK or TOOL_USAGE (reported). */
static int take_option(struct seg_params *p, const char *cmd, int c, const char *arg)
{
	struct fr_config *cfg = &p->cfg;
	uint32_t v;
	int rc;

	switch (c) {
	case 'm':
		return opt_mode(cmd, "--mode", arg, &cfg->mode);
	case 'n':
		if ((rc = opt_u32(cmd, "--slots", arg, FR_MIN_SLOTS, FR_MAX_SLOTS, &v)))
			return rc;
		if (v & (v - 1))
			return opt_usage_error(cmd, "--slots %s: must be a power of two", arg);
		cfg->slots = v;
		return TOOL_OK;
	case 's':
		p->have_size = true;
		return opt_size(cmd, "--size", arg, &cfg->width, &cfg->height);
	case 'f':
		p->have_format = true;
		return opt_format(cmd, "--format", arg, &cfg->format);
	case 'S':
		return opt_u32(cmd, "--stride", arg, 1, INT32_MAX, &cfg->stride);
	case 'B':
		return opt_u64(cmd, "--frame-bytes", arg, 1, (uint64_t)1 << 40, &cfg->frame_bytes);
	default: /* 'P' */
		return opt_perm(cmd, "--perm", arg, &cfg->perms);
	}
}

bool seg_params_option(struct seg_params *p, const char *cmd, int c, const char *arg,
		       int *status)
{
	if (c <= 0 || !strchr("mnsfSBP", c)) /* the letters of SEG_PARAMS_LONGOPTS */
		return false;
	p->have_any = true;
	*status = take_option(p, cmd, c, arg);
	return true;
}

/* Why the library refuses the geometry of @cfg, as a usage error. */
static int bad_geometry(const char *cmd, const struct fr_config *cfg, const char *fname)
{
	uint64_t min_stride = fr_format_min_stride(cfg->format, cfg->width);
	bool even_w = cfg->format == FR_FORMAT_YUYV || cfg->format == FR_FORMAT_NV12 ||
		      cfg->format == FR_FORMAT_I420;
	bool even_h = cfg->format == FR_FORMAT_NV12 || cfg->format == FR_FORMAT_I420;

	if (cfg->stride && cfg->stride < min_stride)
		return opt_usage_error(cmd,
				       "--stride %u is below the %" PRIu64 "-byte row of %ux%u %s",
				       cfg->stride, min_stride, cfg->width, cfg->height, fname);
	if ((even_w && (cfg->width & 1)) || (even_h && (cfg->height & 1)))
		return opt_usage_error(cmd, "%ux%u is not a valid %s size (%s must be even)",
				       cfg->width, cfg->height, fname,
				       even_h ? "width and height" : "the width");
	if (cfg->format == FR_FORMAT_I420 && (cfg->stride & 1))
		return opt_usage_error(cmd, "--stride %u: i420 needs an even stride", cfg->stride);
	return opt_usage_error(cmd, "%ux%u %s is too large (a frame holds at most 4 GiB)",
			       cfg->width, cfg->height, fname);
}

int seg_params_finish(struct seg_params *p, const char *cmd, uint32_t src_w, uint32_t src_h)
{
	struct fr_config *cfg = &p->cfg;

	if (!p->have_format)
		cfg->format = FR_FORMAT_BGR24;
	if (!p->have_size && src_w && src_h) {
		cfg->width = src_w;
		cfg->height = src_h;
		p->have_size = true;
	}
	const char *fname = fr_format_name(cfg->format);
	if (cfg->format == FR_FORMAT_RAW) {
		if (!cfg->frame_bytes)
			return opt_usage_error(cmd, "format raw needs --frame-bytes");
		return TOOL_OK;
	}
	if (cfg->format == FR_FORMAT_JPEG) {
		if (!cfg->frame_bytes) {
			if (!p->have_size)
				return opt_usage_error(cmd,
						       "format jpeg needs --size or --frame-bytes");
			cfg->frame_bytes = jpeg_max_bytes(cfg->width, cfg->height);
		}
		return TOOL_OK;
	}
	if (!p->have_size)
		return opt_usage_error(cmd, "--size WxH is needed for %s frames", fname);
	uint64_t bytes;
	if (fr_format_frame_bytes(cfg->format, cfg->width, cfg->height, cfg->stride, &bytes))
		return bad_geometry(cmd, cfg, fname);
	if (cfg->frame_bytes && cfg->frame_bytes < bytes)
		return opt_usage_error(cmd, "--frame-bytes %" PRIu64 " is below the %" PRIu64
					    "-byte %ux%u %s frame",
				       cfg->frame_bytes, bytes, cfg->width, cfg->height, fname);
	return TOOL_OK;
}

void seg_print_line(FILE *out, const char *shown, const struct fr_info *info)
{
	const char *fname = fr_format_name(info->format);

	fprintf(out, "%s: %s, %u slots of %" PRIu64 " bytes, ", shown, opt_mode_name(info->mode),
		info->slots, info->frame_capacity);
	if (info->width && info->height && info->stride)
		fprintf(out, "%ux%u %s (stride %u), ", info->width, info->height,
			fname ? fname : "?", info->stride);
	else if (info->width && info->height)
		fprintf(out, "%ux%u %s, ", info->width, info->height, fname ? fname : "?");
	else
		fprintf(out, "%s, ", fname ? fname : "?");
	fprintf(out, "%.1f MB, perm %04o\n", (double)info->segment_bytes / 1e6,
		info->perms & 07777);
}

const char *seg_dir_note(void)
{
	static char note[4200];
	const char *dir = fr_segment_dir();

	if (!strcmp(dir, "/dev/shm"))
		return "";
	snprintf(note, sizeof(note), " in %s", dir);
	return note;
}

int seg_stat_wait(const char *cmd, const char *name, const char *shown, double seconds,
		  struct fr_info *info)
{
	uint64_t start = now_ns();

	for (;;) {
		int rc = fr_stat(name, info);
		if (rc != -ENOENT || seconds <= 0)
			return rc ? seg_fail(cmd, shown, rc) : TOOL_OK;
		double left = seconds - (double)(now_ns() - start) / 1e9;
		if (left <= 0)
			return tool_failf("%s %s: no such segment%s after waiting %g s", cmd,
					  shown, seg_dir_note(), seconds);
		/*
		 * Polling: simple, and right wherever shm_open keeps its names.
		 * 50 ms is short next to any start-up worth waiting for, and a
		 * failed open 20 times a second costs nothing. A signal cuts the
		 * sleep short (nanosleep returns EINTR whatever SA_RESTART says).
		 */
		double nap = left < 0.05 ? left : 0.05;
		struct timespec ts = { 0, (long)(nap * 1e9) };
		if (tool_stop || (nanosleep(&ts, NULL) && tool_stop))
			return TOOL_OK;
	}
}

int seg_fail(const char *cmd, const char *shown, int err)
{
	switch (err) {
	case -ENOENT:
		return tool_failf("%s %s: no such segment%s", cmd, shown, seg_dir_note());
	case -EPROTO:
		return tool_failf("%s %s: not a framering segment "
				  "(or an incompatible or damaged one)",
				  cmd, shown);
	case -EBUSY:
		return tool_failf("%s %s: no room for another %s (spsc: one producer and one "
				  "consumer; broadcast: one producer and up to min(%d, slots - 2) "
				  "consumers)",
				  cmd, shown, strcmp(cmd, "pub") ? "consumer" : "producer",
				  FR_MAX_BROADCAST_CONSUMERS);
	case -ENOSPC: {
		const char *dir = fr_segment_dir();
		struct statvfs vfs;
		bool shm = !strcmp(dir, "/dev/shm");
		if (statvfs(dir, &vfs) == 0)
			return tool_failf("%s %s: no room in %s (%.1f MB free%s; "
					  "see 'framering doctor')",
					  cmd, shown, dir,
					  (double)vfs.f_bavail * (double)vfs.f_frsize / 1e6,
					  shm ? "; in a container, raise --shm-size" : "");
		return tool_failf("%s %s: no room in %s", cmd, shown, dir);
	}
	case -EEXIST:
		return tool_failf("%s %s: segment exists (remove it with 'framering rm %s')", cmd,
				  shown, shown);
	case -EINVAL:
		if (fr_segment_dir()[0] != '/')
			return seg_dir_fail(cmd, -EINVAL);
		/* fall through */
	default: {
		char what[FR_NAME_MAX + 32];
		snprintf(what, sizeof(what), "%s %s", cmd, shown);
		return tool_fail(what, err);
	}
	}
}

int seg_dir_fail(const char *cmd, int err)
{
	const char *dir = fr_segment_dir();

	if (err == -EINVAL && dir[0] != '/')
		return tool_failf("%s: FRAMERING_DIR=%s: not an absolute path", cmd, dir);
	return tool_failf("%s: cannot list %s: %s", cmd, dir, fr_strerror(err));
}
