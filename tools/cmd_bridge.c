/* framering bridge: the command line, and what send and recv share. See bridge.h. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "opts.h"
#include "tool.h"

static const char help[] =
	"Usage: framering bridge send NAME ENDPOINT [OPTIONS]\n"
	"       framering bridge recv ENDPOINT NAME [OPTIONS]\n"
	"\n"
	"Extend a segment over ZeroMQ to another machine. 'send' attaches to segment\n"
	"NAME as a consumer and sends every frame to ENDPOINT (geometry, format,\n"
	"stride, seq, capture time, flags, then the pixels, raw or JPEG); 'recv'\n"
	"receives frames from ENDPOINT and publishes them into segment NAME, which it\n"
	"creates from the first frame's geometry, or attaches to as producer when it\n"
	"exists and matches. JPEG frames are decoded straight into the claimed slot.\n"
	"ENDPOINT is a ZeroMQ endpoint, tcp://HOST:PORT or ipc://PATH. Each side\n"
	"connects to it unless given --bind: one of the two binds. Either side may\n"
	"restart at any time; the other reconnects on its own.\n"
	"\n"
	"Both sides:\n"
	"  -b, --bind          bind ENDPOINT (tcp://*:PORT: every address) instead of\n"
	"                      connecting to it\n"
	"      --pubsub        PUB/SUB: any number of receivers, none ever waited for\n"
	"                      (default: PUSH/PULL; with --imagezmq, REQ/REP)\n"
	"      --imagezmq      imagezmq's protocol: a JSON part {\"msg\": ..., \"dtype\":\n"
	"                      ..., \"shape\": [...]} ({\"msg\": ...} for JPEG), then the\n"
	"                      bytes; REQ/REP with the reply b\"OK\" unless --pubsub\n"
	"      --latest        send: never hold the camera back (broadcast segments):\n"
	"                      send the newest frame whenever the socket can take one;\n"
	"                      recv: never wait for a free slot (a frame that finds\n"
	"                      the segment full is dropped), queue one message only\n"
	"  -c, --count N       stop after N frames\n"
	"      --label TEXT    start the status and summary lines with TEXT\n"
	"  -q, --quiet         no status line (the final summary still prints)\n"
	"  -h, --help          this help\n"
	"\n"
	"send:\n"
	"  -j, --jpeg[=Q]      encode each frame as JPEG of quality Q, 1..100 (default\n"
	"                      90), straight from the slot; jpeg segments' frames go as\n"
	"                      they are\n"
	"      --msg TEXT      with --imagezmq: the \"msg\" of every frame (default: the\n"
	"                      host name)\n"
	"      --reply-timeout SEC\n"
	"                      REQ/REP: wait this long for the reply, then reset the\n"
	"                      socket and go on with the next frame (default 5)\n"
	"      --wait[=SEC]    when NAME does not exist yet, wait for it to appear: up\n"
	"                      to SEC seconds (then fail), or without a limit\n"
	"\n"
	"recv:\n"
	"  -m, --mode M        mode of a segment it creates: spsc, mpmc or broadcast\n"
	"                      (default broadcast)\n"
	"  -n, --slots N       slots of a segment it creates (default 8)\n"
	"  -t, --timeout SEC   fail when no frame arrives for SEC seconds\n"
	"\n"
	"A status line every second and a summary at the end: frames, fps, MB/s,\n"
	"latency from capture (native protocol), drops, reconnects. Every message\n"
	"recv gets is checked; one that is malformed or does not fit the segment is\n"
	"counted and dropped with a message (at most one a second). send ends with\n"
	"its segment's stream and tells recv (native protocol), which closes its\n"
	"producer: the consumers drain and see the end; a new frame attaches again.\n"
	"Ctrl-C or SIGTERM stops either side cleanly.\n";

uint64_t bridge_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bridge_hist_text(char *buf, size_t len, const struct lat_hist *h)
{
	if (!h->count)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "p50 %.3f ms p99 %.3f ms", (double)hist_quantile(h, 0.50) / 1e6,
			 (double)hist_quantile(h, 0.99) / 1e6);
}

void bridge_status(struct stats *s, uint64_t reconnects)
{
	uint64_t now = now_ns(), dt = now - s->last_ns;
	char lat[96] = "";

	if (dt < 1000000000u)
		return;
	double sec = (double)dt / 1e9;
	if (!s->quiet) {
		char head[sizeof(s->label) + 2];
		if (s->latency) {
			char q[64];
			bridge_hist_text(q, sizeof(q), &s->win);
			snprintf(lat, sizeof(lat), "latency %s  ", q);
		}
		snprintf(head, sizeof(head), "%s:", s->label);
		fprintf(stderr,
			"%-11s %6.1f fps %8.1f MB/s  %s%s %" PRIu64 "  reconnects %" PRIu64
			"  frames %" PRIu64 "\n",
			head, (double)s->win_frames / sec, (double)s->win_bytes / sec / 1e6, lat,
			s->drop_word, s->win_drops, reconnects, s->frames);
	}
	s->last_ns = now;
	s->win_frames = s->win_bytes = s->win_drops = s->win_wait_ns = 0;
	hist_reset(&s->win);
}

void bridge_warn_limited(struct bridge_ratelimit *rl, const char *fmt, ...)
{
	uint64_t now = now_ns();
	char text[1024];
	va_list ap;

	if (rl->last_ns && now - rl->last_ns < 1000000000u) {
		rl->suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (rl->suppressed)
		tool_warnf("%s (and %" PRIu64 " more in the last second)", text, rl->suppressed);
	else
		tool_warnf("%s", text);
	rl->last_ns = now;
	rl->suppressed = 0;
}

/* Options given, to refuse those of the other side. */
enum {
	ONLY_SEND_JPEG = 1 << 0,
	ONLY_SEND_MSG = 1 << 1,
	ONLY_SEND_REPLY = 1 << 2,
	ONLY_SEND_WAIT = 1 << 3,
	ONLY_RECV_MODE = 1 << 8,
	ONLY_RECV_SLOTS = 1 << 9,
	ONLY_RECV_TIMEOUT = 1 << 10,
};

static int check_side(const struct bridge_opts *o, unsigned given)
{
	static const struct {
		unsigned bit;
		const char *opt;
	} only[] = {
		{ ONLY_SEND_JPEG, "--jpeg" },           { ONLY_SEND_MSG, "--msg" },
		{ ONLY_SEND_REPLY, "--reply-timeout" }, { ONLY_SEND_WAIT, "--wait" },
		{ ONLY_RECV_MODE, "--mode" },           { ONLY_RECV_SLOTS, "--slots" },
		{ ONLY_RECV_TIMEOUT, "--timeout" },
	};
	for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++) {
		bool for_send = only[i].bit < ONLY_RECV_MODE;
		if ((given & only[i].bit) && for_send != o->send)
			return opt_usage_error("bridge", "%s goes with 'bridge %s'", only[i].opt,
					       for_send ? "send" : "recv");
	}
	if ((given & ONLY_SEND_MSG) && !o->imagezmq)
		return opt_usage_error("bridge", "--msg goes with --imagezmq");
	if ((given & ONLY_SEND_REPLY) && (!o->imagezmq || o->pubsub))
		return opt_usage_error("bridge", "--reply-timeout goes with --imagezmq (REQ/REP)");
	return TOOL_OK;
}

/* send NAME ENDPOINT, recv ENDPOINT NAME: the two arguments after the options. */
static int take_args(int argc, char **argv, struct bridge_opts *o)
{
	const char *side = o->send ? "send" : "recv";

	if (argc - optind != 2)
		return opt_usage_error("bridge",
				       optind + 2 < argc ? "unexpected argument '%s'"
				       : o->send         ? "bridge send needs NAME ENDPOINT%s"
							 : "bridge recv needs ENDPOINT NAME%s",
				       optind + 2 < argc ? argv[optind + 2] : "");
	o->name = argv[optind + (o->send ? 0 : 1)];
	o->endpoint = argv[optind + (o->send ? 1 : 0)];
	if (fr_name_check(o->name))
		return opt_usage_error("bridge",
				       "'%s': a name is 1..%d of A-Z a-z 0-9 . _ - "
				       "(bridge %s takes %s)",
				       o->name, FR_NAME_MAX, side,
				       o->send ? "NAME, then ENDPOINT" : "ENDPOINT, then NAME");
	if (!strstr(o->endpoint, "://"))
		return opt_usage_error("bridge",
				       "'%s': an endpoint is tcp://HOST:PORT or "
				       "ipc://PATH (bridge %s takes %s)",
				       o->endpoint, side,
				       o->send ? "NAME, then ENDPOINT" : "ENDPOINT, then NAME");
	tool_display_name(o->name, o->shown, sizeof(o->shown));
	return TOOL_OK;
}

/* --jpeg[=Q]: the value must follow '=' (as --wait's). */
static int jpeg_option(const char *arg, const char *next, struct bridge_opts *o)
{
	o->jpeg = true;
	if (arg)
		return opt_u32("bridge", "--jpeg", arg, 1, 100, &o->quality);
	if (next && next[0] && next[strspn(next, "0123456789")] == '\0')
		return opt_usage_error(
		    "bridge", "--jpeg %s: the quality goes after '=' (--jpeg=%s)", next, next);
	return TOOL_OK;
}

static int bridge_parse(int argc, char **argv, struct bridge_opts *o)
{
	static const struct option longopts[] = {
		{ "bind", no_argument, NULL, 'b' },
		{ "pubsub", no_argument, NULL, 'P' },
		{ "imagezmq", no_argument, NULL, 'I' },
		{ "latest", no_argument, NULL, 'L' },
		{ "count", required_argument, NULL, 'c' },
		{ "label", required_argument, NULL, 'T' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "jpeg", optional_argument, NULL, 'j' },
		{ "msg", required_argument, NULL, 'M' },
		{ "reply-timeout", required_argument, NULL, 'R' },
		{ "wait", optional_argument, NULL, 'W' },
		{ "mode", required_argument, NULL, 'm' },
		{ "slots", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned given = 0;
	int c, rc = TOOL_OK;

	*o = (struct bridge_opts){ .quality = 90, .reply_timeout = 5 };
	if (argc < 2)
		return opt_usage_error("bridge", "'send' or 'recv' is needed");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return opt_help(help, &o->help);
	if (strcmp(argv[1], "send") && strcmp(argv[1], "recv"))
		return opt_usage_error("bridge", "'%s': expected 'send' or 'recv'", argv[1]);
	o->send = !strcmp(argv[1], "send");
	argc--;
	argv++;
	opt_reset();
	while (!rc && (c = getopt_long(argc, argv, ":bc:qhj::m:n:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': o->bind = true; break;
		case 'P': o->pubsub = true; break;
		case 'I': o->imagezmq = true; break;
		case 'L': o->latest = true; break;
		case 'c':
			rc = opt_u64("bridge", "--count", optarg, 1, UINT64_MAX, &o->count);
			break;
		case 'T': o->label = optarg; break;
		case 'q': o->quiet = true; break;
		case 'h': return opt_help(help, &o->help);
		case 'j':
			given |= ONLY_SEND_JPEG;
			rc = jpeg_option(optarg, argv[optind], o);
			break;
		case 'M':
			given |= ONLY_SEND_MSG;
			o->msg = optarg;
			break;
		case 'R':
			given |= ONLY_SEND_REPLY;
			rc = opt_double("bridge", "--reply-timeout", optarg, 0.01, 1e6,
					&o->reply_timeout);
			break;
		case 'W':
			given |= ONLY_SEND_WAIT;
			rc = opt_wait("bridge", optarg, argv[optind], &o->wait);
			break;
		case 'm':
			given |= ONLY_RECV_MODE;
			rc = opt_mode("bridge", "--mode", optarg, &o->mode);
			break;
		case 'n':
			given |= ONLY_RECV_SLOTS;
			rc = opt_u32("bridge", "--slots", optarg, FR_MIN_SLOTS, FR_MAX_SLOTS,
				     &o->slots);
			if (!rc && (o->slots & (o->slots - 1)))
				rc = opt_usage_error("bridge", "--slots %s: must be a power of two",
						     optarg);
			break;
		case 't':
			given |= ONLY_RECV_TIMEOUT;
			rc = opt_double("bridge", "--timeout", optarg, 0, 1e6, &o->timeout);
			break;
		default: return opt_getopt_error("bridge", argv, c);
		}
	}
	if (rc || (rc = check_side(o, given)))
		return rc;
	return take_args(argc, argv, o);
}

int cmd_bridge(int argc, char **argv)
{
	struct bridge_opts o;
	int rc = bridge_parse(argc, argv, &o);

	if (rc || o.help) /* --help printed by bridge_parse */
		return rc;
	return o.send ? bridge_send_run(&o) : bridge_recv_run(&o);
}
