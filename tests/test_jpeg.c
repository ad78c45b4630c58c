/*
 * The tools' JPEG module: encode from a slot in place and decode straight into
 * a slot (pitch = slot stride), with the pixel format mapped from the segment
 * format; corrupt, truncated and mismatched JPEGs are rejected.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "framering.h"
#include "jpeg.h"
#include "pattern.h"

#define W 320
#define H 240

static struct jpeg_codec codec;

static void setup(void)
{
	jpeg_codec_init(&codec);
}

static void teardown(void)
{
	jpeg_codec_fini(&codec);
}

TestSuite(jpeg, .init = setup, .fini = teardown);

static unsigned bpp(uint32_t format)
{
	switch (format) {
	case FR_FORMAT_GRAY8:
		return 1;
	case FR_FORMAT_RGB24:
	case FR_FORMAT_BGR24:
		return 3;
	default:
		return 4;
	}
}

/* A slot-like buffer: rows @stride apart, padding filled with a sentinel. */
static struct fr_image slot(uint32_t format, uint32_t w, uint32_t h, uint32_t stride)
{
	uint64_t cap = (uint64_t)stride * h;
	struct fr_image img = { malloc(cap), cap, w, h, stride, format };
	cr_assert_not_null(img.data);
	memset(img.data, 0xAB, cap);
	return img;
}

/* Encode @src, copy the JPEG out (the codec reuses its buffer). */
static unsigned char *encode(const struct fr_image *src, int quality, size_t *len)
{
	const unsigned char *jpg;
	int rc = jpeg_encode(&codec, src, quality, &jpg, len);
	cr_assert_eq(rc, 0, "encode: %d %s", rc, jpeg_error(&codec));
	cr_assert_gt(*len, 100);
	unsigned char *copy = malloc(*len);
	cr_assert_not_null(copy);
	memcpy(copy, jpg, *len);
	return copy;
}

/* A packed W x H BGR24 pattern (*src, seed) and its JPEG at quality 90 (malloc'd, *len). */
static unsigned char *pattern_jpeg(struct fr_image *src, uint32_t seed, size_t *len)
{
	*src = slot(FR_FORMAT_BGR24, W, H, W * 3);
	pattern_render(src, seed);
	return encode(src, 90, len);
}

/* Mean and 99th percentile of the absolute pixel difference over w*bpp bytes per row. */
static void diff(const struct fr_image *a, const struct fr_image *b, double *mean, int *p99)
{
	uint64_t hist[256] = { 0 }, n = 0, sum = 0;
	uint32_t row = a->width * bpp(a->format);

	for (uint32_t y = 0; y < a->height; y++) {
		const uint8_t *pa = (const uint8_t *)a->data + (uint64_t)y * a->stride;
		const uint8_t *pb = (const uint8_t *)b->data + (uint64_t)y * b->stride;
		for (uint32_t x = 0; x < row; x++) {
			int d = abs(pa[x] - pb[x]);
			hist[d]++;
			sum += (uint64_t)d;
			n++;
		}
	}
	*mean = (double)sum / (double)n;
	uint64_t acc = 0;
	for (int d = 0; d < 256; d++) {
		acc += hist[d];
		if (acc >= n - n / 100) {
			*p99 = d;
			return;
		}
	}
	*p99 = 255;
}

Test(jpeg, pattern_round_trip_every_format)
{
	const uint32_t formats[] = { FR_FORMAT_BGR24, FR_FORMAT_RGB24, FR_FORMAT_GRAY8,
				     FR_FORMAT_RGBA32, FR_FORMAT_BGRA32 };
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		uint32_t f = formats[i], stride = W * bpp(f) + 64; /* padded like a slot */
		struct fr_image src = slot(f, W, H, stride), dst = slot(f, W, H, W * bpp(f));
		pattern_render(&src, 4321);
		size_t len;
		unsigned char *jpg = encode(&src, 92, &len);

		uint32_t w = 0, h = 0;
		cr_assert_eq(jpeg_header(&codec, jpg, len, &w, &h), 0);
		cr_assert_eq(w, W, "%s: width %u", fr_format_name(f), w);
		cr_assert_eq(h, H, "%s: height %u", fr_format_name(f), h);
		cr_assert_eq(jpeg_decode(&codec, jpg, len, &dst), 0, "%s: %s", fr_format_name(f),
			     jpeg_error(&codec));
		double mean;
		int p99;
		diff(&src, &dst, &mean, &p99);
		cr_expect_lt(mean, 4.0, "%s: mean error %.2f", fr_format_name(f), mean);
		cr_expect_lt(p99, 64, "%s: 99th percentile error %d", fr_format_name(f), p99);
		/* The frame number survives the compression: the bar code reads back. */
		cr_expect_eq(pattern_read_barcode(&dst), 4321, "%s: bar code %lld",
			     fr_format_name(f), (long long)pattern_read_barcode(&dst));
		free(jpg);
		free(src.data);
		free(dst.data);
	}
}

/* gray16 and YUV frames are converted, then encoded; the picture survives. */
Test(jpeg, converted_formats_round_trip)
{
	const uint32_t formats[] = { FR_FORMAT_NV12, FR_FORMAT_I420, FR_FORMAT_YUYV,
				     FR_FORMAT_GRAY16 };
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		uint32_t f = formats[i];
		uint32_t stride = (uint32_t)fr_format_min_stride(f, W) + 64;
		uint64_t bytes;
		cr_assert_eq(fr_format_frame_bytes(f, W, H, stride, &bytes), 0);
		struct fr_image src = { malloc(bytes), bytes, W, H, stride, f };
		cr_assert_not_null(src.data);
		pattern_render(&src, 2024);
		cr_assert(jpeg_can_encode(f), "%s", fr_format_name(f));
		size_t len;
		unsigned char *jpg = encode(&src, 92, &len);

		/* Compare with the same frame drawn directly in the decoded format. */
		uint32_t out_fmt = f == FR_FORMAT_GRAY16 ? FR_FORMAT_GRAY8 : FR_FORMAT_BGR24;
		struct fr_image want = slot(out_fmt, W, H, W * bpp(out_fmt));
		struct fr_image got = slot(out_fmt, W, H, W * bpp(out_fmt));
		pattern_render(&want, 2024);
		cr_assert_eq(jpeg_decode(&codec, jpg, len, &got), 0, "%s", jpeg_error(&codec));
		double mean;
		int p99;
		diff(&want, &got, &mean, &p99);
		cr_expect_lt(mean, 6.0, "%s: mean error %.2f", fr_format_name(f), mean);
		cr_expect_lt(p99, 80, "%s: 99th percentile error %d", fr_format_name(f), p99);
		cr_expect_eq(pattern_read_barcode(&got), 2024, "%s: bar code %lld",
			     fr_format_name(f), (long long)pattern_read_barcode(&got));
		/* A capacity below the frame is refused. */
		struct fr_image small = src;
		small.capacity = bytes - 1;
		const unsigned char *p;
		cr_expect_eq(jpeg_encode(&codec, &small, 90, &p, &len), -EINVAL);
		free(jpg);
		free(src.data);
		free(want.data);
		free(got.data);
	}
	cr_expect_eq(jpeg_can_encode(FR_FORMAT_RAW), 0);
	cr_expect_eq(jpeg_can_encode(FR_FORMAT_JPEG), 0);
}

/* Channel order is mapped from the format: BGR in, RGB out swaps bytes 0 and 2. */
Test(jpeg, channel_order_follows_the_format)
{
	struct fr_image bgr = slot(FR_FORMAT_BGR24, W, H, W * 3);
	struct fr_image rgb = slot(FR_FORMAT_RGB24, W, H, W * 3);
	uint8_t *p = bgr.data;
	for (uint32_t i = 0; i < W * H; i++) /* pure blue, smooth enough to survive */
		p[3 * i] = 220, p[3 * i + 1] = 30, p[3 * i + 2] = 10;
	size_t len;
	unsigned char *jpg = encode(&bgr, 95, &len);
	cr_assert_eq(jpeg_decode(&codec, jpg, len, &rgb), 0, "%s", jpeg_error(&codec));
	const uint8_t *q = rgb.data;
	for (uint32_t i = 0; i < W * H; i += 97) {
		cr_assert_lt(abs(q[3 * i] - 10), 8, "R at %u: %u", i, q[3 * i]);
		cr_assert_lt(abs(q[3 * i + 1] - 30), 8, "G at %u: %u", i, q[3 * i + 1]);
		cr_assert_lt(abs(q[3 * i + 2] - 220), 8, "B at %u: %u", i, q[3 * i + 2]);
	}
	free(jpg);
	free(bgr.data);
	free(rgb.data);
}

/* Decoding into a slot with a padded stride writes the rows, never the padding. */
Test(jpeg, decode_into_padded_stride)
{
	struct fr_image src;
	size_t len;
	unsigned char *jpg = pattern_jpeg(&src, 77, &len);

	struct fr_image packed = slot(FR_FORMAT_BGR24, W, H, W * 3);
	uint32_t stride = W * 3 + 200;
	struct fr_image padded = slot(FR_FORMAT_BGR24, W, H, stride);
	cr_assert_eq(jpeg_decode(&codec, jpg, len, &packed), 0);
	cr_assert_eq(jpeg_decode(&codec, jpg, len, &padded), 0, "%s", jpeg_error(&codec));
	for (uint32_t y = 0; y < H; y++) {
		const uint8_t *row = (const uint8_t *)padded.data + (uint64_t)y * stride;
		cr_assert_eq(memcmp(row, (const uint8_t *)packed.data + (uint64_t)y * W * 3, W * 3),
			     0, "row %u differs from the packed decode", y);
		for (uint32_t x = W * 3; x < stride; x++)
			cr_assert_eq(row[x], 0xAB, "padding byte %u of row %u overwritten", x, y);
	}
	/* A capacity one byte short of the last row is refused before any write. */
	struct fr_image small = padded;
	small.capacity = (uint64_t)stride * (H - 1) + W * 3 - 1;
	cr_assert_eq(jpeg_decode(&codec, jpg, len, &small), -EINVAL);
	free(jpg);
	free(src.data);
	free(packed.data);
	free(padded.data);
}

Test(jpeg, corrupt_and_truncated_rejected)
{
	struct fr_image src;
	size_t len;
	unsigned char *jpg = pattern_jpeg(&src, 5, &len);
	struct fr_image dst = slot(FR_FORMAT_BGR24, W, H, W * 3);
	unsigned char *bad = malloc(len);
	cr_assert_not_null(bad);

	/* Not a JPEG at all. */
	memset(bad, 0x5A, len);
	cr_expect_eq(jpeg_decode(&codec, bad, len, &dst), -EBADMSG);
	uint32_t w, h;
	cr_expect_eq(jpeg_header(&codec, bad, len, &w, &h), -EBADMSG);
	cr_expect_eq(jpeg_header(&codec, jpg, 3, &w, &h), -EBADMSG);

	/* Entropy-coded data damaged at several places. */
	for (size_t off = len / 3; off + 64 < len; off += len / 5) {
		memcpy(bad, jpg, len);
		memset(bad + off, 0, 64);
		cr_expect_eq(jpeg_decode(&codec, bad, len, &dst), -EBADMSG, "zeroed at %zu", off);
	}
	/* Truncated: half, and only the end-of-image marker missing. */
	cr_expect_eq(jpeg_decode(&codec, jpg, len / 2, &dst), -EBADMSG);
	cr_expect_eq(jpeg_decode(&codec, jpg, len - 2, &dst), -EBADMSG);
	cr_expect_neq(strlen(jpeg_error(&codec)), 0);
	/* The intact one still decodes. */
	cr_expect_eq(jpeg_decode(&codec, jpg, len, &dst), 0, "%s", jpeg_error(&codec));
	free(bad);
	free(jpg);
	free(src.data);
	free(dst.data);
}

Test(jpeg, size_mismatch_rejected)
{
	struct fr_image src;
	size_t len;
	unsigned char *jpg = pattern_jpeg(&src, 9, &len);

	struct fr_image big = slot(FR_FORMAT_BGR24, 2 * W, 2 * H, 2 * W * 3);
	memset(big.data, 0xAB, big.capacity);
	cr_expect_eq(jpeg_decode(&codec, jpg, len, &big), -EINVAL);
	cr_expect(strstr(jpeg_error(&codec), "320x240") != NULL, "message: %s", jpeg_error(&codec));
	/* Rejected before decoding: the slot is untouched (no scaled decode). */
	for (uint64_t i = 0; i < big.capacity; i += 101)
		cr_assert_eq(((uint8_t *)big.data)[i], 0xAB);
	struct fr_image narrow = slot(FR_FORMAT_BGR24, W, H - 1, W * 3);
	cr_expect_eq(jpeg_decode(&codec, jpg, len, &narrow), -EINVAL);
	/* Formats TurboJPEG cannot produce are refused, not misdecoded. */
	struct fr_image nv12 = slot(FR_FORMAT_NV12, W, H, W);
	cr_expect_eq(jpeg_decode(&codec, jpg, len, &nv12), -ENOTSUP);
	cr_expect_eq(jpeg_format_supported(FR_FORMAT_NV12), 0);
	cr_expect_eq(jpeg_format_supported(FR_FORMAT_BGR24), 1);
	free(jpg);
	free(src.data);
	free(big.data);
	free(narrow.data);
	free(nv12.data);
}

Test(jpeg, encode_checks)
{
	struct fr_image src = slot(FR_FORMAT_BGR24, W, H, W * 3);
	pattern_render(&src, 1);
	const unsigned char *jpg;
	size_t len;
	cr_expect_eq(jpeg_encode(&codec, &src, 0, &jpg, &len), -EINVAL);
	cr_expect_eq(jpeg_encode(&codec, &src, 101, &jpg, &len), -EINVAL);
	struct fr_image short_stride = src;
	short_stride.stride = W * 3 - 1;
	cr_expect_eq(jpeg_encode(&codec, &short_stride, 90, &jpg, &len), -EINVAL);
	struct fr_image raw = src;
	raw.format = FR_FORMAT_RAW;
	cr_expect_eq(jpeg_encode(&codec, &raw, 90, &jpg, &len), -ENOTSUP);

	/* Straight into a JPEG slot: fits, or -ENOSPC when the slot is too small. */
	unsigned char *out = malloc(jpeg_max_bytes(W, H));
	cr_assert_not_null(out);
	cr_expect_eq(jpeg_encode_into(&codec, &src, 90, out, jpeg_max_bytes(W, H), &len), 0, "%s",
		     jpeg_error(&codec));
	cr_expect(len > 100 && out[0] == 0xFF && out[1] == 0xD8, "not a JPEG: %zu bytes", len);
	size_t fitted = len;
	unsigned char *copy = malloc(fitted);
	cr_assert_not_null(copy);
	memcpy(copy, out, fitted);

	/* A slot just large enough for this JPEG (less than TurboJPEG's worst case). */
	memset(out, 0xEE, jpeg_max_bytes(W, H));
	cr_expect_eq(jpeg_encode_into(&codec, &src, 90, out, fitted + 8, &len), 0, "%s",
		     jpeg_error(&codec));
	cr_expect_eq(len, fitted);
	cr_expect_eq(memcmp(out, copy, fitted), 0, "different JPEG through the small slot");
	for (size_t i = fitted + 8; i < jpeg_max_bytes(W, H); i++)
		cr_assert_eq(out[i], 0xEE, "byte %zu written beyond the %zu-byte slot", i,
			     fitted + 8);

	/* Too small: refused, and nothing written past the slot. */
	memset(out, 0xEE, jpeg_max_bytes(W, H));
	cr_expect_eq(jpeg_encode_into(&codec, &src, 90, out, 200, &len), -ENOSPC);
	for (size_t i = 200; i < jpeg_max_bytes(W, H); i++)
		cr_assert_eq(out[i], 0xEE, "byte %zu written beyond the 200-byte slot", i);
	free(copy);
	free(out);
	free(src.data);
}
