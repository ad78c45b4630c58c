/* A segment's fr_info for people (info) and programs (info --json, ls --json). */
#ifndef FRAMERING_DESCRIBE_H
#define FRAMERING_DESCRIBE_H

#include <stdio.h>

#include "framering.h"
#include "json.h"

/* "live", "idle", "ended" or "stale". */
const char *describe_state(const struct fr_info *info);

/* Multi-line human description on @out. */
void describe_human(FILE *out, const char *shown, const struct fr_info *info);

/* Writes the members of one segment object (the caller opens/closes the object). */
void describe_json_members(struct json *j, const char *shown, const struct fr_info *info);

/* Bytes of one full frame for rates: the geometry's size, or 0 when it varies (jpeg, raw). */
uint64_t describe_frame_bytes(const struct fr_info *info);

#endif /* FRAMERING_DESCRIBE_H */
