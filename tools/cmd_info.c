/* framering info: geometry, counters and peers of a segment; --json; --watch. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "describe.h"
#include "framering.h"
#include "json.h"
#include "opts.h"
#include "seg.h"
#include "serve.h"
#include "stats.h"
#include "tool.h"

static const char help[] =
	"Usage: framering info NAME [OPTIONS]\n"
	"       framering info --via PATH [OPTIONS]\n"
	"\n"
	"Show a segment's mode, geometry, capacity, memory, ring positions and fill,\n"
	"frame counters and attached processes (pid, role, alive or dead). It reads\n"
	"the segment without attaching to it.\n"
	"\n"
	"Options:\n"
	"  -j, --json       print JSON instead of text\n"
	"  -w, --watch      keep watching: a status line with rates (frames/s, MB/s)\n"
	"                   every second on stderr; with --json, one JSON object per\n"
	"                   second on stdout. Stops on Ctrl-C or when the segment goes.\n"
	"  -q, --quiet      with --watch: no status line, only the final summary\n"
	"      --wait[=SEC] when NAME does not exist yet, wait for it to appear: up to\n"
	"                   SEC seconds (then fail), or without a limit. Ctrl-C or\n"
	"                   SIGTERM during the wait: status 130 or 143, nothing printed.\n"
	"                   With --via: wait for a server on PATH\n"
	"      --via PATH   no NAME: the segment served on the Unix socket PATH by\n"
	"                   'framering pub --serve'; --watch stops once every process\n"
	"                   of the segment is gone\n"
	"      --dir DIR    NAME is in DIR, not /dev/shm (the same as FRAMERING_DIR=DIR)\n"
	"  -h, --help       this help\n";

/* What the command line asked for. */
struct info_opts {
	const char *name;            /* or NULL with --via */
	const char *via;             /* socket path, or NULL */
	char shown[FR_NAME_MAX + 8]; /* the name with its '/', or the socket path */
	double wait;                 /* see opt_wait() */
	bool as_json, watching, quiet;
	bool help; /* --help: printed, nothing else to do */
};

struct rates {
	double published_fps, consumed_fps, mb_per_s;
};

static int info_parse(int argc, char **argv, struct info_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "wait", optional_argument, NULL, 'W' },
		{ "dir", required_argument, NULL, 'D' },
		{ "via", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = TOOL_OK;
	bool dir_given = false;

	*o = (struct info_opts){ .as_json = false };
	opt_reset();
	while (!rc && (c = getopt_long(argc, argv, ":jwqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': o->as_json = true; break;
		case 'w': o->watching = true; break;
		case 'q': o->quiet = true; break;
		case 'W': rc = opt_wait("info", optarg, argv[optind], &o->wait); break;
		case 'D':
			rc = opt_dir("info", optarg);
			dir_given = true;
			break;
		case 'U': rc = serve_path_check("info", "--via", o->via = optarg); break;
		case 'h': return opt_help(help, &o->help);
		default: return opt_getopt_error("info", argv, c);
		}
	}
	if (rc)
		return rc;
	if (o->via)
		return via_args("info", argc, argv, dir_given, o->via, o->shown, sizeof(o->shown));
	if ((rc = opt_one_name("info", argc, argv, &o->name)))
		return rc;
	tool_display_name(o->name, o->shown, sizeof(o->shown));
	return TOOL_OK;
}

static void print_json(const char *shown, const struct fr_info *info, const struct rates *r,
		       bool pretty)
{
	struct json j;

	json_init(&j, stdout, pretty);
	json_begin_object(&j, NULL);
	describe_json_members(&j, shown, info);
	if (r) {
		json_begin_object(&j, "rates");
		json_double(&j, "published_fps", r->published_fps);
		json_double(&j, "consumed_fps", r->consumed_fps);
		json_double(&j, "mb_per_s", r->mb_per_s);
		json_end_object(&j);
	}
	json_end_object(&j);
	json_finish(&j);
	fflush(stdout);
}

/* Growth of a counter; 0 when it went back (broadcast consumers detaching). */
static uint64_t delta(uint64_t now, uint64_t before)
{
	return now > before ? now - before : 0;
}

/* Rates between two readings @dt seconds apart. */
static struct rates rates_between(const struct fr_info *now, const struct fr_info *prev,
				  double dt, uint64_t frame_bytes)
{
	double published = (double)delta(now->published, prev->published);

	return (struct rates){
		published / dt,
		(double)delta(now->consumed, prev->consumed) / dt,
		published * (double)frame_bytes / dt / 1e6,
	};
}

static void print_status(const struct info_opts *o, const struct fr_info *info,
			 const struct rates *r)
{
	if (o->as_json)
		print_json(o->shown, info, r, false);
	else if (!o->quiet)
		fprintf(stderr,
			"info %s: published %6.1f fps %8.1f MB/s  consumed %6.1f fps  fill "
			"%" PRIu64 "/%u  dropped %" PRIu64 "  peers %u alive  %s\n",
			o->shown, r->published_fps, r->mb_per_s, r->consumed_fps, info->fill,
			info->slots, info->dropped, info->live_peers, describe_state(info));
}

/*
 * Once a second until a signal or the segment goes: a status line, then a
 * summary. @fd: the segment received --via PATH, or -1 (by name). A segment
 * held by fd cannot go (this fd keeps it): the watch ends once every process
 * that used it is gone.
 */
static int watch(const struct info_opts *o, int fd, struct fr_info *info)
{
	struct fr_info *prev = malloc(sizeof(*prev));
	uint64_t start = now_ns(), t_prev = start, first_pub = info->published;
	uint64_t first_cons = info->consumed, first_drop = info->dropped;
	uint64_t frame_bytes = describe_frame_bytes(info);
	int rc, status = TOOL_OK;

	if (!prev)
		return tool_fail("info", -ENOMEM);
	*prev = *info;
	while (!tool_stop) {
		/* Sleep to the next whole second since start; a signal cuts it short. */
		struct timespec ts = { 1, 0 };
		if (nanosleep(&ts, NULL) && tool_stop)
			break;
		rc = fd >= 0 ? fr_stat_fd(fd, info) : fr_stat(o->name, info);
		if (rc == -ENOENT) {
			tool_warnf("info %s: segment removed", o->shown);
			break;
		}
		if (!rc && fd >= 0 && fr_info_is_stale(info) == 1) {
			tool_warnf("info %s: every process of the segment is gone", o->shown);
			break;
		}
		if (rc) {
			status = seg_fail("info", o->shown, rc);
			break;
		}
		uint64_t t = now_ns();
		struct rates r = rates_between(info, prev, (double)(t - t_prev) / 1e9, frame_bytes);
		print_status(o, info, &r);
		*prev = *info;
		t_prev = t;
	}
	double total = (double)(now_ns() - start) / 1e9;
	fprintf(stderr,
		"info %s: summary: watched %.1f s, %" PRIu64 " frames published (%.1f fps), "
		"%" PRIu64 " consumed, %" PRIu64 " dropped\n",
		o->shown, total, delta(prev->published, first_pub),
		(double)delta(prev->published, first_pub) / (total > 0 ? total : 1),
		delta(prev->consumed, first_cons), delta(prev->dropped, first_drop));
	free(prev);
	return status;
}

int cmd_info(int argc, char **argv)
{
	struct info_opts o;
	int rc = info_parse(argc, argv, &o);

	if (rc || o.help) /* --help printed by info_parse */
		return rc;
	/* Only when they matter: a plain info is over before anyone could press Ctrl-C. */
	if ((o.wait > 0 || o.watching) && (rc = tool_install_signals("info")))
		return rc;
	struct fr_info *info = malloc(sizeof(*info));
	int fd = -1;
	if (!info)
		return tool_fail("info", -ENOMEM);
	if (!o.via)
		rc = seg_stat_wait("info", o.name, o.shown, o.wait, info);
	else if (!(rc = via_receive("info", o.via, o.wait, &fd)) && fd >= 0 &&
		 (rc = fr_stat_fd(fd, info)))
		rc = seg_fail("info", o.shown, rc);
	if (!rc && tool_stop) {
		/* Nothing to show: say so the way a shell does, so that
		 * 'framering info --wait NAME && ...' never goes on without NAME. */
		rc = tool_signal_exit();
	} else if (!rc) {
		if (o.as_json)
			print_json(o.shown, info, NULL, !o.watching);
		else
			describe_human(stdout, o.shown, info);
		fflush(stdout);
		if (o.watching)
			rc = watch(&o, fd, info);
	}
	if (fd >= 0)
		close(fd);
	free(info);
	return rc;
}
