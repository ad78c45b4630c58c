/* A small JSON writer: objects, arrays, numbers, booleans, escaped strings. */
#ifndef FRAMERING_JSON_H
#define FRAMERING_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 8

struct json {
	FILE *out;
	bool pretty;
	int depth;
	bool first[JSON_MAX_DEPTH]; /* nothing written yet at this level */
};

void json_init(struct json *j, FILE *out, bool pretty);
/* @key is NULL inside arrays and for the top-level value. */
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_double(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, bool v);
void json_str(struct json *j, const char *key, const char *s); /* NULL -> null */
/* End the document with a newline. */
void json_finish(struct json *j);

#endif /* FRAMERING_JSON_H */
