/* Segment descriptions: see describe.h. */
#include "describe.h"

#include <inttypes.h>
#include <time.h>

#include "opts.h"

const char *describe_state(const struct fr_info *info)
{
	if (fr_info_is_stale(info) == 1)
		return "stale";
	if (info->end_of_stream)
		return "ended";
	return info->live_peers ? "live" : "idle";
}

static void format_time(char *buf, size_t len, uint64_t realtime_ns)
{
	time_t t = (time_t)(realtime_ns / 1000000000u);
	struct tm tm;

	if (!realtime_ns || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
}

static const char *role_name(uint32_t role)
{
	return role == FR_PRODUCER ? "producer" : role == FR_CONSUMER ? "consumer" : "?";
}

uint64_t describe_frame_bytes(const struct fr_info *info)
{
	uint64_t bytes;

	if (fr_format_frame_bytes(info->format, info->width, info->height, info->stride, &bytes))
		return 0;
	return bytes;
}

void describe_human(FILE *out, const char *shown, const struct fr_info *info)
{
	const char *fname = fr_format_name(info->format);
	char created[32];

	format_time(created, sizeof(created), info->created_ns);
	fprintf(out, "%s\n", shown);
	fprintf(out, "  mode        %s, %u slots, abi %u\n", opt_mode_name(info->mode), info->slots,
		info->abi_version);
	if (info->width && info->height && info->stride)
		fprintf(out, "  geometry    %ux%u %s, stride %u\n", info->width, info->height,
			fname ? fname : "?", info->stride);
	else if (info->width && info->height)
		fprintf(out, "  geometry    %ux%u %s\n", info->width, info->height,
			fname ? fname : "?");
	else
		fprintf(out, "  geometry    %s\n", fname ? fname : "?");
	fprintf(out, "  capacity    %" PRIu64 " bytes per slot (slots %" PRIu64 " bytes apart)\n",
		info->frame_capacity, info->payload_stride);
	fprintf(out, "  memory      %.1f MB (%" PRIu64 " bytes), perm %04o\n",
		(double)info->segment_bytes / 1e6, info->segment_bytes, info->perms & 07777);
	fprintf(out, "  created     %s by pid %d (%s)\n", created, info->creator_pid,
		info->creator_alive ? "alive" : "gone");
	fprintf(out, "  ring        head %" PRIu64 ", tail %" PRIu64 ", fill %" PRIu64 "/%u\n",
		info->head, info->tail, info->fill, info->slots);
	fprintf(out,
		"  frames      published %" PRIu64 ", consumed %" PRIu64 ", dropped %" PRIu64
		", redelivered %" PRIu64 ", aborted %" PRIu64 "\n",
		info->published, info->consumed, info->dropped, info->redelivered, info->aborted);
	fprintf(out, "  waits       producer %" PRIu64 ", consumer %" PRIu64 "\n",
		info->producer_waits, info->consumer_waits);
	fprintf(out, "  state       %s%s\n", describe_state(info),
		info->end_of_stream ? " (end of stream: every producer closed)" : "");
	fprintf(out, "  peers       %u attached, %u alive\n", info->peer_count, info->live_peers);
	for (uint32_t i = 0; i < info->peer_count && i < FR_MAX_PEERS; i++) {
		const struct fr_peer_info *p = &info->peers[i];
		fprintf(out, "    #%-2u pid %-7d %-8s%s %-5s %s %" PRIu64, p->index, p->pid,
			role_name(p->role), (p->flags & FR_LATEST) ? " latest" : "",
			p->alive ? "alive" : "dead",
			p->role == FR_PRODUCER ? "published" : "consumed", p->delivered);
		if (info->mode == FR_BROADCAST && p->role == FR_CONSUMER)
			fprintf(out, ", lag %" PRIu64 ", dropped %" PRIu64, p->lag, p->dropped);
		fputc('\n', out);
	}
}

void describe_json_members(struct json *j, const char *shown, const struct fr_info *info)
{
	char created[32], perm[8];

	format_time(created, sizeof(created), info->created_ns);
	snprintf(perm, sizeof(perm), "%04o", info->perms & 07777);
	json_str(j, "name", shown);
	json_u64(j, "abi_version", info->abi_version);
	json_str(j, "mode", opt_mode_name(info->mode));
	json_u64(j, "slots", info->slots);
	json_u64(j, "width", info->width);
	json_u64(j, "height", info->height);
	json_u64(j, "stride", info->stride);
	json_str(j, "format", fr_format_name(info->format));
	json_u64(j, "frame_capacity", info->frame_capacity);
	json_u64(j, "payload_stride", info->payload_stride);
	json_u64(j, "segment_bytes", info->segment_bytes);
	json_str(j, "perm", perm);
	json_i64(j, "creator_pid", info->creator_pid);
	json_bool(j, "creator_alive", info->creator_alive);
	json_str(j, "created", created);
	json_u64(j, "created_ns", info->created_ns);
	json_u64(j, "head", info->head);
	json_u64(j, "tail", info->tail);
	json_u64(j, "fill", info->fill);
	json_u64(j, "published", info->published);
	json_u64(j, "consumed", info->consumed);
	json_u64(j, "dropped", info->dropped);
	json_u64(j, "redelivered", info->redelivered);
	json_u64(j, "aborted", info->aborted);
	json_u64(j, "producer_waits", info->producer_waits);
	json_u64(j, "consumer_waits", info->consumer_waits);
	json_bool(j, "end_of_stream", info->end_of_stream);
	json_str(j, "state", describe_state(info));
	json_u64(j, "peer_count", info->peer_count);
	json_u64(j, "live_peers", info->live_peers);
	json_begin_array(j, "peers");
	for (uint32_t i = 0; i < info->peer_count && i < FR_MAX_PEERS; i++) {
		const struct fr_peer_info *p = &info->peers[i];
		json_begin_object(j, NULL);
		json_u64(j, "index", p->index);
		json_i64(j, "pid", p->pid);
		json_str(j, "role", role_name(p->role));
		json_bool(j, "latest", p->flags & FR_LATEST);
		json_bool(j, "alive", p->alive);
		json_u64(j, "generation", p->generation);
		json_u64(j, "attach_ns", p->attach_ns);
		json_u64(j, "cursor", p->cursor);
		json_u64(j, "lag", p->lag);
		json_u64(j, "delivered", p->delivered);
		json_u64(j, "dropped", p->dropped);
		json_end_object(j);
	}
	json_end_array(j);
}
