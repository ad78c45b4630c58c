/* framering ls: every framering segment in the segment directory (/dev/shm, --dir). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "describe.h"
#include "framering.h"
#include "json.h"
#include "opts.h"
#include "seg.h"
#include "shmdir.h"
#include "tool.h"

static const char help[] =
	"Usage: framering ls [OPTIONS]\n"
	"\n"
	"List the framering segments in /dev/shm (or --dir DIR) with mode, geometry, fill,\n"
	"frames published, peers (alive/attached) and state: live (someone attached),\n"
	"idle (nobody attached), ended (every producer closed) or stale (all users\n"
	"and the creator are dead: 'framering rm --stale' removes it). Other files\n"
	"are skipped.\n"
	"\n"
	"Options:\n"
	"  -j, --json   print a JSON array\n"
	"      --dir DIR  list DIR instead of /dev/shm (the same as FRAMERING_DIR=DIR)\n"
	"  -h, --help   this help\n";

/* What the command line asked for. */
struct ls_opts {
	bool as_json;
	bool help; /* --help: printed, nothing else to do */
};

/* The segments found: names[i] read into infos[i] with result status[i]. */
struct listing {
	char **names;
	size_t n;
	struct fr_info *infos;
	int *status;  /* fr_stat's result */
	int name_w;   /* width of the NAME column */
};

static int ls_parse(int argc, char **argv, struct ls_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "dir", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = TOOL_OK;

	*o = (struct ls_opts){ .as_json = false };
	opt_reset();
	while (!rc && (c = getopt_long(argc, argv, ":jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': o->as_json = true; break;
		case 'D': rc = opt_dir("ls", optarg); break;
		case 'h': return opt_help(help, &o->help);
		default: return opt_getopt_error("ls", argv, c);
		}
	}
	if (rc)
		return rc;
	if (optind < argc)
		return opt_usage_error("ls", "unexpected argument '%s'", argv[optind]);
	return TOOL_OK;
}

static void listing_free(struct listing *l)
{
	free(l->infos);
	free(l->status);
	shm_list_free(l->names);
}

/* Every name in the segment directory, read with fr_stat (what is not a segment fails it). */
static int listing_read(struct listing *l)
{
	int rc = shm_list(&l->names, &l->n);

	if (rc)
		return seg_dir_fail("ls", rc);
	l->infos = calloc(l->n ? l->n : 1, sizeof(*l->infos));
	l->status = calloc(l->n ? l->n : 1, sizeof(*l->status));
	if (!l->infos || !l->status)
		return tool_fail("ls", -ENOMEM);
	l->name_w = 4;
	for (size_t i = 0; i < l->n; i++) {
		l->status[i] = fr_stat(l->names[i], &l->infos[i]);
		int len = (int)strlen(l->names[i]);
		if ((!l->status[i] || l->status[i] == -EACCES) && len > l->name_w)
			l->name_w = len;
	}
	return TOOL_OK;
}

static void print_json_array(const struct listing *l)
{
	struct json j;

	json_init(&j, stdout, true);
	json_begin_array(&j, NULL);
	for (size_t i = 0; i < l->n; i++) {
		if (l->status[i])
			continue; /* not a framering segment, unreadable, or gone meanwhile */
		json_begin_object(&j, NULL);
		describe_json_members(&j, l->names[i], &l->infos[i]);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_finish(&j);
}

static void print_row(int name_w, const char *name, const struct fr_info *info)
{
	char geom[48], fill[32], peers[24];
	const char *fname = fr_format_name(info->format);

	if (info->width && info->height)
		snprintf(geom, sizeof(geom), "%ux%u %s", info->width, info->height,
			 fname ? fname : "?");
	else
		snprintf(geom, sizeof(geom), "%s", fname ? fname : "?");
	snprintf(fill, sizeof(fill), "%" PRIu64 "/%u", info->fill, info->slots);
	snprintf(peers, sizeof(peers), "%u/%u", info->live_peers, info->peer_count);
	printf("%-*s  %-9s %5u  %-22s %11s %10" PRIu64 " %6s  %s\n", name_w, name,
	       opt_mode_name(info->mode), info->slots, geom, fill, info->published, peers,
	       describe_state(info));
}

static void print_table(const struct listing *l)
{
	bool header = false;

	for (size_t i = 0; i < l->n; i++) {
		if (l->status[i] == -EACCES) {
			printf("%-*s  (no permission to read it)\n", l->name_w, l->names[i]);
			continue;
		}
		if (l->status[i])
			continue; /* not a framering segment, or gone meanwhile */
		if (!header) {
			printf("%-*s  %-9s %5s  %-22s %11s %10s %6s  %s\n", l->name_w, "NAME",
			       "MODE", "SLOTS", "GEOMETRY", "FILL", "PUBLISHED", "PEERS", "STATE");
			header = true;
		}
		print_row(l->name_w, l->names[i], &l->infos[i]);
	}
}

int cmd_ls(int argc, char **argv)
{
	struct listing l = { 0 };
	struct ls_opts o;
	int rc = ls_parse(argc, argv, &o);

	if (rc || o.help) /* --help printed by ls_parse */
		return rc;
	if (!(rc = listing_read(&l))) {
		if (o.as_json)
			print_json_array(&l);
		else
			print_table(&l);
	}
	listing_free(&l);
	return rc;
}
