/* framering ls: every framering segment under /dev/shm. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "framering.h"
#include "json.h"
#include "opts.h"
#include "shmdir.h"
#include "tool.h"

static const char help[] =
	"Usage: framering ls [OPTIONS]\n"
	"\n"
	"List the framering segments under /dev/shm with mode, geometry, fill,\n"
	"frames published, peers (alive/attached) and state: live (someone attached),\n"
	"idle (nobody attached), ended (every producer closed) or stale (all users\n"
	"and the creator are dead: 'framering rm --stale' removes it). Other files\n"
	"are skipped.\n"
	"\n"
	"Options:\n"
	"  -j, --json   print a JSON array\n"
	"  -h, --help   this help\n";

int cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool as_json = false;
	int c;

	opt_reset();
	while ((c = getopt_long(argc, argv, ":jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			as_json = true;
			break;
		case 'h':
			fputs(help, stdout);
			return TOOL_OK;
		default:
			return opt_getopt_error("ls", argv, c);
		}
	}
	if (optind < argc)
		return opt_usage_error("ls", "unexpected argument '%s'", argv[optind]);

	char **names;
	size_t n;
	int rc = shm_list(&names, &n);
	if (rc)
		return tool_failf("ls: cannot list %s: %s", SHM_DIR, fr_strerror(rc));
	struct fr_info *infos = calloc(n ? n : 1, sizeof(*infos));
	int *status = calloc(n ? n : 1, sizeof(*status));
	if (!infos || !status) {
		free(infos);
		free(status);
		shm_list_free(names);
		return tool_fail("ls", -ENOMEM);
	}
	int name_w = 4;
	for (size_t i = 0; i < n; i++) {
		status[i] = fr_stat(names[i], &infos[i]);
		if ((!status[i] || status[i] == -EACCES) && (int)strlen(names[i]) > name_w)
			name_w = (int)strlen(names[i]);
	}

	struct json j;
	if (as_json) {
		json_init(&j, stdout, true);
		json_begin_array(&j, NULL);
	}
	bool header = false;
	for (size_t i = 0; i < n; i++) {
		const struct fr_info *info = &infos[i];
		if (status[i] == -EACCES && !as_json) {
			printf("%-*s  (no permission to read it)\n", name_w, names[i]);
			continue;
		}
		if (status[i])
			continue; /* not a framering segment, or gone meanwhile */
		if (as_json) {
			json_begin_object(&j, NULL);
			describe_json_members(&j, names[i], info);
			json_end_object(&j);
			continue;
		}
		if (!header) {
			printf("%-*s  %-9s %5s  %-22s %11s %10s %6s  %s\n", name_w, "NAME", "MODE",
			       "SLOTS", "GEOMETRY", "FILL", "PUBLISHED", "PEERS", "STATE");
			header = true;
		}
		char geom[48], fill[32], peers[24];
		const char *fname = fr_format_name(info->format);
		if (info->width && info->height)
			snprintf(geom, sizeof(geom), "%ux%u %s", info->width, info->height,
				 fname ? fname : "?");
		else
			snprintf(geom, sizeof(geom), "%s", fname ? fname : "?");
		snprintf(fill, sizeof(fill), "%" PRIu64 "/%u", info->fill, info->slots);
		snprintf(peers, sizeof(peers), "%u/%u", info->live_peers, info->peer_count);
		printf("%-*s  %-9s %5u  %-22s %11s %10" PRIu64 " %6s  %s\n", name_w, names[i],
		       opt_mode_name(info->mode), info->slots, geom, fill, info->published, peers,
		       describe_state(info));
	}
	if (as_json) {
		json_end_array(&j);
		json_finish(&j);
	}
	free(infos);
	free(status);
	shm_list_free(names);
	return TOOL_OK;
}
