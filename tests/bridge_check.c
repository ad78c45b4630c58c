/*
 * Test helper of the bridge suite: consume COUNT frames of segment NAME and
 * check every one.
 *
 *   bridge_check NAME COUNT MODE [--end] [--wait SEC]
 *     MODE --pattern      frames drawn by `framering pub --source pattern`:
 *                         the frame number read from the bar code goes up by
 *                         one each frame, and every pixel byte of every row is
 *                         the pattern of that number, drawn again here
 *     MODE --file PATH    frames of PATH in order (packed rows), from frame 0,
 *                         cycling: every pixel byte compared
 *     MODE --jpeg WxH     lossy frames (decoded from JPEG, or a jpeg segment's
 *                         JPEGs decoded here): the size is WxH and the bar codes
 *                         go up by one each frame
 *     --end               then the stream must end (-EPIPE) with no more frame
 *     --wait SEC          wait up to SEC seconds for NAME to appear (default 30)
 *
 * Every wait is bounded (30 s per frame). Prints one line; exit 0 when every
 * check held, 1 otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "framering.h"
#include "jpeg.h"
#include "pattern.h"

#define FRAME_TIMEOUT_MS 30000

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("bridge_check: FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	return 1;
}

static unsigned pixel_bytes(uint32_t format)
{
	switch (format) {
	case FR_FORMAT_GRAY8: return 1;
	case FR_FORMAT_GRAY16: return 2;
	case FR_FORMAT_RGB24:
	case FR_FORMAT_BGR24: return 3;
	case FR_FORMAT_RGBA32:
	case FR_FORMAT_BGRA32: return 4;
	default: return 0;
	}
}

struct check {
	const char *mode;
	const char *path;    /* --file */
	unsigned char *file; /* its bytes */
	size_t file_len;
	uint32_t want_w, want_h; /* --jpeg */
	unsigned char *scratch;  /* the pattern drawn here */
	size_t scratch_len;
	struct jpeg_codec codec;
	int64_t first, last; /* frame numbers seen */
	uint64_t frames;
};

static int read_file(struct check *c)
{
	FILE *f = fopen(c->path, "rb");
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET))
		return fail("cannot read %s", c->path);
	c->file = malloc((size_t)len);
	c->file_len = (size_t)len;
	if (!c->file || fread(c->file, 1, c->file_len, f) != c->file_len)
		return fail("cannot read %s", c->path);
	fclose(f);
	return 0;
}

/* The frame number must follow the previous one. */
static int sequence(struct check *c, int64_t n, uint64_t i)
{
	if (n < 0)
		return fail("frame %" PRIu64 ": no readable bar code", i);
	if (c->frames && n != c->last + 1)
		return fail("frame %" PRIu64 ": number %" PRId64 " after %" PRId64, i, n, c->last);
	if (!c->frames)
		c->first = n;
	c->last = n;
	return 0;
}

/* Compare the pixel bytes of every row (not the padding after them). */
static int rows_equal(const struct fr_frame *f, const unsigned char *want, size_t want_stride,
		      uint64_t i)
{
	size_t row = (size_t)f->width * pixel_bytes(f->format);

	for (uint32_t y = 0; y < f->height; y++) {
		const unsigned char *got = (const unsigned char *)f->data + (size_t)y * f->stride;
		if (memcmp(got, want + y * want_stride, row)) {
			size_t x = 0;
			while (got[x] == want[y * want_stride + x])
				x++;
			return fail("frame %" PRIu64 ": row %u byte %zu is %u, expected %u", i, y,
				    x, got[x], want[y * want_stride + x]);
		}
	}
	return 0;
}

static int check_pattern(struct check *c, const struct fr_frame *f, uint64_t i)
{
	struct fr_image img = { f->data, f->capacity, f->width, f->height, f->stride, f->format };
	int64_t n = pattern_read_barcode(&img);
	int rc;

	if ((rc = sequence(c, n, i)))
		return rc;
	size_t need = (size_t)f->stride * f->height;
	if (need > c->scratch_len) {
		free(c->scratch);
		c->scratch = calloc(1, need);
		c->scratch_len = c->scratch ? need : 0;
		if (!c->scratch)
			return fail("out of memory");
	}
	struct fr_image mine = { c->scratch, need, f->width, f->height, f->stride, f->format };
	pattern_render(&mine, (uint64_t)n);
	return rows_equal(f, c->scratch, f->stride, i);
}

static int check_file(struct check *c, const struct fr_frame *f, uint64_t i)
{
	size_t row = (size_t)f->width * pixel_bytes(f->format), frame = row * f->height;

	if (!frame || frame > c->file_len || c->file_len % frame)
		return fail("%s does not hold whole %ux%u frames", c->path, f->width, f->height);
	size_t k = (size_t)(i % (c->file_len / frame));
	return rows_equal(f, c->file + k * frame, row, i);
}

static int check_jpeg(struct check *c, const struct fr_frame *f, uint64_t i)
{
	struct fr_image img = { f->data, f->capacity, f->width, f->height, f->stride, f->format };
	unsigned char *pixels = NULL;
	uint32_t w = f->width, h = f->height;
	int rc;

	if (f->format == FR_FORMAT_JPEG) { /* decode here */
		if (jpeg_header(&c->codec, f->data, f->bytes, &w, &h))
			return fail("frame %" PRIu64 ": %s", i, jpeg_error(&c->codec));
		pixels = malloc((size_t)w * h * 3);
		img =
		    (struct fr_image){ pixels, (uint64_t)w * h * 3, w, h, w * 3, FR_FORMAT_BGR24 };
		if (!pixels || jpeg_decode(&c->codec, f->data, f->bytes, &img)) {
			free(pixels);
			return fail("frame %" PRIu64 ": %s", i, jpeg_error(&c->codec));
		}
	}
	if (w != c->want_w || h != c->want_h)
		rc = fail("frame %" PRIu64 ": %ux%u, expected %ux%u", i, w, h, c->want_w,
			  c->want_h);
	else
		rc = sequence(c, pattern_read_barcode(&img), i);
	free(pixels);
	return rc;
}

static int wait_segment(const char *name, double seconds)
{
	struct fr_info info;
	struct timespec nap = { 0, 50 * 1000 * 1000 };

	for (double t = 0; t < seconds; t += 0.05) {
		if (fr_stat(name, &info) == 0)
			return 0;
		nanosleep(&nap, NULL);
	}
	return fail("%s did not appear within %g s", name, seconds);
}

int main(int argc, char **argv)
{
	struct check c = { 0 };
	bool end = false;
	double wait = 30;
	int rc = 0;

	if (argc < 4)
		return fail("usage: bridge_check NAME COUNT --pattern|--file PATH|--jpeg WxH "
			    "[--end] [--wait SEC]");
	const char *name = argv[1];
	uint64_t count = strtoull(argv[2], NULL, 10);
	c.mode = argv[3];
	int a = 4;
	if (!strcmp(c.mode, "--file") && a < argc)
		c.path = argv[a++];
	else if (!strcmp(c.mode, "--jpeg") && a < argc &&
		 sscanf(argv[a++], "%ux%u", &c.want_w, &c.want_h) != 2)
		return fail("--jpeg WxH");
	for (; a < argc; a++) {
		if (!strcmp(argv[a], "--end"))
			end = true;
		else if (!strcmp(argv[a], "--wait") && a + 1 < argc)
			wait = atof(argv[++a]);
		else
			return fail("unknown argument %s", argv[a]);
	}
	if (c.path && (rc = read_file(&c)))
		return rc;
	jpeg_codec_init(&c.codec);
	struct fr_ring *ring = NULL;
	if ((rc = wait_segment(name, wait)))
		return rc;
	if ((rc = fr_open(name, FR_CONSUMER, &ring)))
		return fail("open %s: %s", name, fr_strerror(rc));
	for (uint64_t i = 0; !rc && i < count; i++) {
		struct fr_frame f;
		int err = fr_acquire(ring, &f, FRAME_TIMEOUT_MS);
		if (err) {
			rc = fail("frame %" PRIu64 " of %" PRIu64 ": %s", i, count,
				  fr_strerror(err));
			break;
		}
		if (!strcmp(c.mode, "--pattern"))
			rc = check_pattern(&c, &f, i);
		else if (!strcmp(c.mode, "--file"))
			rc = check_file(&c, &f, i);
		else
			rc = check_jpeg(&c, &f, i);
		fr_release(ring, &f);
		c.frames += !rc;
	}
	if (!rc && end) {
		struct fr_frame f;
		int err = fr_acquire(ring, &f, FRAME_TIMEOUT_MS);
		if (err != -EPIPE) {
			if (!err)
				fr_release(ring, &f);
			rc = fail("after %" PRIu64 " frames: %s instead of the end of the stream",
				  count, err ? fr_strerror(err) : "one more frame");
		}
	}
	if (!rc && c.path)
		printf("bridge_check: %" PRIu64 " frames, every byte equal to %s%s\n", c.frames,
		       c.path, end ? ", then the end of the stream" : "");
	else if (!rc)
		printf("bridge_check: %" PRIu64 " frames %s, numbers %" PRId64 "..%" PRId64 "%s\n",
		       c.frames, c.want_w ? "of the right size" : "every byte equal", c.first,
		       c.last, end ? ", then the end of the stream" : "");
	fr_close(ring);
	jpeg_codec_fini(&c.codec);
	free(c.file);
	free(c.scratch);
	return rc;
}
