/*
 * Frame sources of `framering pub`: the synthetic pattern, JPEG files decoded
 * straight into the claimed slot, and files of raw frames read straight into it.
 */
#ifndef FRAMERING_SOURCE_H
#define FRAMERING_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "framering.h"
#include "jpeg.h"

enum source_kind { SOURCE_PATTERN, SOURCE_JPEG, SOURCE_RAW };

struct source {
	enum source_kind kind;
	const char *path;         /* jpeg:PATH, raw:PATH */
	bool loop;
	int quality;              /* pattern into a jpeg segment */
	/* jpeg: the files, the next one, the file read ahead of the claim */
	char **files;
	size_t nfiles, next;
	unsigned char *data;
	size_t len, cap;
	const char *current;      /* file name of the prepared JPEG */
	uint32_t cur_w, cur_h;
	size_t good_in_pass;      /* JPEGs published in this pass over the files */
	/* raw */
	int fd;
	/* pattern */
	uint64_t n;               /* number drawn into the next frame */
	void *scratch;            /* pattern rendered here when the slot holds JPEG */
	uint64_t scratch_len;
	struct jpeg_codec codec;
	/* the segment */
	struct fr_info seg;
};

/* What became of one frame of the source (source_prepare, source_fill). */
enum frame_step {
	FRAME_DONE,    /* prepared / written into the slot */
	FRAME_END,     /* the source has no more frames */
	FRAME_SKIPPED, /* this one cannot be used (warned); go on with the next */
	FRAME_FAILED,  /* the source cannot go on (reported) */
};

/*
 * Parse "pattern", "jpeg:PATH" or "raw:PATH". TOOL_OK, or TOOL_USAGE (reported).
 * Always leaves @s ready for source_close().
 */
int source_parse(struct source *s, const char *spec);

/*
 * Open the source: list/read the JPEG files, open the raw file. Fills
 * the width and height arguments with the first JPEG's size (0 otherwise).
 * TOOL_OK or TOOL_FAIL (reported).
 */
int source_open(struct source *s, uint32_t *width, uint32_t *height);

/* Check that the source can feed this segment; remembers it. TOOL_OK or TOOL_FAIL (reported). */
int source_attach(struct source *s, const struct fr_info *seg, uint64_t first_number);

/*
 * Get the next frame ready before a slot is claimed (read the file, check the
 * header). FRAME_DONE when it is ready.
 */
enum frame_step source_prepare(struct source *s);

/*
 * Write the prepared frame into the claimed slot (sets bytes and geometry).
 * Anything but FRAME_DONE: cancel the slot.
 */
enum frame_step source_fill(struct source *s, struct fr_frame *frame);

void source_close(struct source *s);

#endif /* FRAMERING_SOURCE_H */
