/* Frame sources of `framering pub`: see source.h. */
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "opts.h"
#include "pattern.h"
#include "tool.h"

#define MAX_JPEG_FILE (256u << 20) /* larger files are not frames */

int source_parse(struct source *s, const char *spec)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->quality = 90;
	jpeg_codec_init(&s->codec);
	if (!strcmp(spec, "pattern")) {
		s->kind = SOURCE_PATTERN;
	} else if (!strncmp(spec, "jpeg:", 5) && spec[5]) {
		s->kind = SOURCE_JPEG;
		s->path = spec + 5;
	} else if (!strncmp(spec, "raw:", 4) && spec[4]) {
		s->kind = SOURCE_RAW;
		s->path = spec + 4;
	} else {
		return opt_usage_error("pub",
				       "--source '%s': expected pattern, jpeg:PATH or raw:PATH",
				       spec);
	}
	return TOOL_OK;
}

static int is_jpeg_name(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_jpegs(struct source *s)
{
	struct stat st;

	if (stat(s->path, &st))
		return tool_failf("pub: %s: %s", s->path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		s->files = malloc(sizeof(*s->files));
		if (!s->files || !(s->files[0] = strdup(s->path)))
			return tool_fail("pub", -ENOMEM);
		s->nfiles = 1;
		return TOOL_OK;
	}
	DIR *dir = opendir(s->path);
	if (!dir)
		return tool_failf("pub: %s: %s", s->path, strerror(errno));
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || !is_jpeg_name(de->d_name))
			continue;
		if (s->nfiles == cap) {
			cap = cap ? 2 * cap : 64;
			char **nf = realloc(s->files, cap * sizeof(*nf));
			if (!nf)
				break;
			s->files = nf;
		}
		size_t len = strlen(s->path) + strlen(de->d_name) + 2;
		char *p = malloc(len);
		if (!p)
			break;
		snprintf(p, len, "%s/%s", s->path, de->d_name);
		s->files[s->nfiles++] = p;
	}
	int err = errno;
	closedir(dir);
	if (de)
		return tool_failf("pub: %s: %s", s->path, strerror(err));
	if (!s->nfiles)
		return tool_failf("pub: %s: no .jpg or .jpeg files", s->path);
	qsort(s->files, s->nfiles, sizeof(*s->files), by_name);
	return TOOL_OK;
}

/* Read a whole file into s->data. FRAME_DONE, or FRAME_SKIPPED after a warning. */
static enum frame_step read_file(struct source *s, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		tool_warnf("pub: skipping %s: %s", path, strerror(errno));
		return FRAME_SKIPPED;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_JPEG_FILE) {
		tool_warnf("pub: skipping %s: not a regular file of at most %u MB", path,
			   MAX_JPEG_FILE >> 20);
		close(fd);
		return FRAME_SKIPPED;
	}
	size_t want = (size_t)st.st_size;
	if (want > s->cap) {
		unsigned char *nd = realloc(s->data, want);
		if (!nd) {
			close(fd);
			tool_warnf("pub: skipping %s: out of memory", path);
			return FRAME_SKIPPED;
		}
		s->data = nd;
		s->cap = want;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t r = read(fd, s->data + got, want - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	s->len = got;
	return FRAME_DONE;
}

int source_open(struct source *s, uint32_t *width, uint32_t *height)
{
	int rc;

	*width = *height = 0;
	switch (s->kind) {
	case SOURCE_PATTERN:
		return TOOL_OK;
	case SOURCE_RAW:
		s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
		if (s->fd < 0)
			return tool_failf("pub: %s: %s", s->path, strerror(errno));
		return TOOL_OK;
	case SOURCE_JPEG:
		if ((rc = list_jpegs(s)))
			return rc;
		/* The first readable JPEG gives the geometry of a segment pub creates. */
		for (size_t i = 0; i < s->nfiles; i++) {
			if (read_file(s, s->files[i]) != FRAME_DONE)
				continue;
			if (!jpeg_header(&s->codec, s->data, s->len, width, height))
				break;
		}
		return TOOL_OK;
	}
	return tool_failf("pub: unknown source"); /* not reached: source_parse sets kind */
}

/* Bytes of one packed raw frame in the file, for pixel formats. */
static uint64_t packed_frame_bytes(const struct fr_info *seg)
{
	uint64_t bytes;
	uint32_t stride = (uint32_t)fr_format_min_stride(seg->format, seg->width);

	if (fr_format_frame_bytes(seg->format, seg->width, seg->height, stride, &bytes))
		return 0;
	return bytes;
}

/* The pattern into @seg: drawn in the slot, or rendered aside and encoded into a jpeg slot. */
static int pattern_attach(struct source *s, const struct fr_info *seg, const char *fname)
{
	if (seg->format == FR_FORMAT_JPEG) {
		if (!seg->width || !seg->height)
			return tool_failf("pub: pattern into a jpeg segment needs its --size");
		/* Rendered once in memory, then encoded straight into the slot. */
		s->scratch_len = (uint64_t)seg->width * 3 * seg->height;
		if (!(s->scratch = malloc(s->scratch_len)))
			return tool_fail("pub", -ENOMEM);
		return TOOL_OK;
	}
	if (!pattern_supported(seg->format) || !seg->width || !seg->height)
		return tool_failf("pub: the pattern cannot be drawn in %s frames",
				  fname ? fname : "these");
	return TOOL_OK;
}

int source_attach(struct source *s, const struct fr_info *seg, uint64_t first_number)
{
	const char *fname = fr_format_name(seg->format);

	s->seg = *seg;
	s->n = first_number;
	free(s->scratch); /* checked again once attached */
	s->scratch = NULL;
	switch (s->kind) {
	case SOURCE_PATTERN:
		return pattern_attach(s, seg, fname);
	case SOURCE_JPEG:
		if (seg->format != FR_FORMAT_JPEG && !jpeg_format_supported(seg->format))
			return tool_failf("pub: JPEG cannot be decoded into %s frames (gray8, "
					  "rgb24, bgr24, rgba32, bgra32 or a jpeg segment)",
					  fname ? fname : "these");
		return TOOL_OK;
	case SOURCE_RAW:
		if (seg->format == FR_FORMAT_JPEG)
			return tool_failf("pub: raw frames cannot feed a jpeg segment");
		if (seg->format != FR_FORMAT_RAW && !packed_frame_bytes(seg))
			return tool_failf("pub: the segment has no valid frame geometry");
		return TOOL_OK;
	}
	return tool_failf("pub: unknown source"); /* not reached: source_parse sets kind */
}

enum frame_step source_prepare(struct source *s)
{
	if (s->kind != SOURCE_JPEG)
		return FRAME_DONE;
	if (s->next == s->nfiles) {
		if (!s->loop)
			return FRAME_END;
		if (!s->good_in_pass) {
			tool_failf("pub: none of the JPEGs in %s can be published", s->path);
			return FRAME_FAILED;
		}
		s->next = 0;
		s->good_in_pass = 0;
	}
	s->current = s->files[s->next++];
	if (read_file(s, s->current) != FRAME_DONE)
		return FRAME_SKIPPED;
	if (jpeg_header(&s->codec, s->data, s->len, &s->cur_w, &s->cur_h)) {
		tool_warnf("pub: skipping %s: %s", s->current, jpeg_error(&s->codec));
		return FRAME_SKIPPED;
	}
	if (s->seg.format == FR_FORMAT_JPEG) {
		if (s->len > s->seg.frame_capacity) {
			tool_warnf("pub: skipping %s: %zu bytes do not fit the %llu-byte slots",
				   s->current, s->len, (unsigned long long)s->seg.frame_capacity);
			return FRAME_SKIPPED;
		}
	} else if (s->cur_w != s->seg.width || s->cur_h != s->seg.height) {
		tool_warnf("pub: skipping %s: JPEG is %ux%u, the segment is %ux%u", s->current,
			   s->cur_w, s->cur_h, s->seg.width, s->seg.height);
		return FRAME_SKIPPED;
	}
	return FRAME_DONE;
}

enum read_result {
	READ_FULL,  /* every byte asked for */
	READ_EOF,   /* end of file before the first byte */
	READ_SHORT, /* end of file or an error part of the way */
};

static enum read_result read_exact(int fd, void *buf, uint64_t len)
{
	uint64_t got = 0;

	while (got < len) {
		uint64_t chunk = len - got > (1u << 30) ? (1u << 30) : len - got;
		ssize_t r = read(fd, (char *)buf + got, chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return READ_SHORT;
		if (r == 0)
			return got ? READ_SHORT : READ_EOF;
		got += (uint64_t)r;
	}
	return READ_FULL;
}

/* One plane of a frame: rows of row_bytes, stride apart in the slot, from offset. */
struct plane {
	uint64_t offset, row_bytes, rows, stride;
};

static int planes_of(const struct fr_frame *f, struct plane p[3])
{
	uint64_t w = f->width, h = f->height, s = f->stride;
	uint64_t row = fr_format_min_stride(f->format, f->width);

	switch (f->format) {
	case FR_FORMAT_NV12:
		p[0] = (struct plane){ 0, w, h, s };
		p[1] = (struct plane){ s * h, w, h / 2, s };
		return 2;
	case FR_FORMAT_I420:
		p[0] = (struct plane){ 0, w, h, s };
		p[1] = (struct plane){ s * h, w / 2, h / 2, s / 2 };
		p[2] = (struct plane){ s * h + (s / 2) * (h / 2), w / 2, h / 2, s / 2 };
		return 3;
	default:
		p[0] = (struct plane){ 0, row, h, s };
		return 1;
	}
}

/* Read one packed frame from the raw file into the slot, row by row at the slot's stride. */
static enum read_result read_raw_frame(struct source *s, struct fr_frame *f)
{
	if (f->format == FR_FORMAT_RAW) {
		f->bytes = f->capacity;
		return read_exact(s->fd, f->data, f->capacity);
	}
	uint64_t packed = packed_frame_bytes(&s->seg);
	struct plane p[3];
	int np = planes_of(f, p);
	bool first = true;
	if (f->stride == fr_format_min_stride(f->format, f->width) && packed <= f->capacity)
		return read_exact(s->fd, f->data, packed); /* packed slot: one read */
	for (int i = 0; i < np; i++) {
		for (uint64_t r = 0; r < p[i].rows; r++) {
			uint64_t off = p[i].offset + r * p[i].stride;
			if (off + p[i].row_bytes > f->capacity)
				return READ_SHORT;
			enum read_result rc =
				read_exact(s->fd, (char *)f->data + off, p[i].row_bytes);
			if (rc == READ_EOF && first)
				return READ_EOF;
			if (rc != READ_FULL)
				return READ_SHORT;
			first = false;
		}
	}
	return READ_FULL;
}

/* The pattern's next frame into the slot (encoded when the slot holds JPEG). */
static enum frame_step fill_pattern(struct source *s, struct fr_frame *f,
				    const struct fr_image *img)
{
	uint64_t n = s->n++;

	if (f->format != FR_FORMAT_JPEG) {
		pattern_render(img, n);
		return FRAME_DONE;
	}
	struct fr_image src = { s->scratch, s->scratch_len, s->seg.width, s->seg.height,
				s->seg.width * 3, FR_FORMAT_BGR24 };
	size_t len;
	pattern_render(&src, n);
	if (jpeg_encode_into(&s->codec, &src, s->quality, f->data, f->capacity, &len)) {
		tool_warnf("pub: frame %llu skipped: %s", (unsigned long long)n,
			   jpeg_error(&s->codec));
		return FRAME_SKIPPED;
	}
	f->bytes = len;
	f->width = s->seg.width;
	f->height = s->seg.height;
	return FRAME_DONE;
}

/* The prepared JPEG into the slot: copied into a jpeg slot, decoded into a pixel one. */
static enum frame_step fill_jpeg(struct source *s, struct fr_frame *f, const struct fr_image *img)
{
	if (f->format == FR_FORMAT_JPEG) {
		memcpy(f->data, s->data, s->len); /* already compressed: the copy is the write */
		f->bytes = s->len;
		f->width = s->cur_w;
		f->height = s->cur_h;
	} else if (jpeg_decode(&s->codec, s->data, s->len, img)) {
		tool_warnf("pub: skipping %s: %s", s->current, jpeg_error(&s->codec));
		return FRAME_SKIPPED;
	}
	s->good_in_pass++;
	return FRAME_DONE;
}

/* The next frame of the raw file into the slot; --loop starts the file again at its end. */
static enum frame_step fill_raw(struct source *s, struct fr_frame *f)
{
	enum read_result rc = read_raw_frame(s, f);

	if (rc == READ_EOF && s->loop && lseek(s->fd, 0, SEEK_SET) == 0) {
		rc = read_raw_frame(s, f);
		if (rc == READ_EOF) {
			tool_failf("pub: %s: no complete frame in the file", s->path);
			return FRAME_FAILED;
		}
	}
	switch (rc) {
	case READ_FULL:
		return FRAME_DONE;
	case READ_EOF:
		return FRAME_END;
	case READ_SHORT:
		break;
	}
	tool_warnf("pub: %s: incomplete last frame ignored", s->path);
	if (s->loop && lseek(s->fd, 0, SEEK_SET) == 0)
		return FRAME_SKIPPED;
	return FRAME_END;
}

enum frame_step source_fill(struct source *s, struct fr_frame *f)
{
	struct fr_image img = { f->data, f->capacity, f->width, f->height, f->stride, f->format };
	uint64_t need;

	/* Never write past the slot, whatever geometry the segment claims. */
	if (f->format != FR_FORMAT_RAW && f->format != FR_FORMAT_JPEG &&
	    (fr_format_frame_bytes(f->format, f->width, f->height, f->stride, &need) ||
	     need > f->capacity)) {
		tool_failf("pub: the slot (%llu bytes) cannot hold a %ux%u frame of stride %u",
			   (unsigned long long)f->capacity, f->width, f->height, f->stride);
		return FRAME_FAILED;
	}
	switch (s->kind) {
	case SOURCE_PATTERN:
		return fill_pattern(s, f, &img);
	case SOURCE_JPEG:
		return fill_jpeg(s, f, &img);
	case SOURCE_RAW:
		return fill_raw(s, f);
	}
	return FRAME_FAILED; /* not reached: source_parse sets kind */
}

void source_close(struct source *s)
{
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->data);
	free(s->scratch);
	if (s->fd >= 0)
		close(s->fd);
	jpeg_codec_fini(&s->codec);
	s->files = NULL;
	s->data = s->scratch = NULL;
	s->fd = -1;
}
