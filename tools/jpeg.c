/* TurboJPEG encode/decode in place: see jpeg.h. */
#include "jpeg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "framering.h"

static void set_err(struct jpeg_codec *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(struct jpeg_codec *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

void jpeg_codec_init(struct jpeg_codec *c)
{
	memset(c, 0, sizeof(*c));
}

void jpeg_codec_fini(struct jpeg_codec *c)
{
	if (c->enc)
		tjDestroy(c->enc);
	if (c->dec)
		tjDestroy(c->dec);
	if (c->buf)
		tjFree(c->buf);
	free(c->conv);
	memset(c, 0, sizeof(*c));
}

const char *jpeg_error(const struct jpeg_codec *c)
{
	return c->err[0] ? c->err : "no error";
}

/* TurboJPEG pixel format for a framering format, or -1. */
static int tj_pixel_format(uint32_t format)
{
	switch (format) {
	case FR_FORMAT_GRAY8:
		return TJPF_GRAY;
	case FR_FORMAT_RGB24:
		return TJPF_RGB;
	case FR_FORMAT_BGR24:
		return TJPF_BGR;
	case FR_FORMAT_RGBA32:
		return TJPF_RGBA;
	case FR_FORMAT_BGRA32:
		return TJPF_BGRA;
	default:
		return -1;
	}
}

int jpeg_format_supported(uint32_t format)
{
	return tj_pixel_format(format) >= 0;
}

static int converted_format(uint32_t format)
{
	return format == FR_FORMAT_GRAY16 || format == FR_FORMAT_YUYV || format == FR_FORMAT_NV12 ||
	       format == FR_FORMAT_I420;
}

int jpeg_can_encode(uint32_t format)
{
	return jpeg_format_supported(format) || converted_format(format);
}

static uint8_t clip(int v)
{
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* BT.601 limited-range YCbCr to BGR. */
static void yuv_to_bgr(uint8_t *px, int y, int u, int v)
{
	int c = 298 * (y - 16) + 128, d = u - 128, e = v - 128;

	px[0] = clip((c + 516 * d) >> 8);
	px[1] = clip((c - 100 * d - 208 * e) >> 8);
	px[2] = clip((c + 409 * e) >> 8);
}

/*
 * Convert a gray16 or YUV frame into c->conv (gray8 or bgr24) and describe it
 * in @out. The caller checked the source geometry against its capacity.
 */
static int convert(struct jpeg_codec *c, const struct fr_image *src, struct fr_image *out)
{
	uint64_t w = src->width, h = src->height, s = src->stride;
	int gray = src->format == FR_FORMAT_GRAY16;
	uint64_t need = w * h * (gray ? 1 : 3);

	if (need > c->conv_size) {
		unsigned char *n = realloc(c->conv, need);
		if (!n) {
			set_err(c, "out of memory converting a %llux%llu frame",
				(unsigned long long)w, (unsigned long long)h);
			return -ENOMEM;
		}
		c->conv = n;
		c->conv_size = need;
	}
	const uint8_t *in = src->data;
	uint8_t *o = c->conv;
	for (uint64_t y = 0; y < h; y++) {
		const uint8_t *row = in + y * s;
		uint8_t *orow = o + y * w * (gray ? 1 : 3);
		for (uint64_t x = 0; x < w; x++) {
			switch (src->format) {
			case FR_FORMAT_GRAY16: {
				uint16_t v;
				memcpy(&v, row + 2 * x, 2);
				orow[x] = (uint8_t)(v >> 8);
				break;
			}
			case FR_FORMAT_YUYV: {
				const uint8_t *pair = row + 4 * (x / 2);
				yuv_to_bgr(orow + 3 * x, row[2 * x], pair[1], pair[3]);
				break;
			}
			case FR_FORMAT_NV12: {
				const uint8_t *uv = in + s * h + (y / 2) * s + (x & ~(uint64_t)1);
				yuv_to_bgr(orow + 3 * x, row[x], uv[0], uv[1]);
				break;
			}
			default: { /* I420 */
				uint64_t cs = s / 2, off = (y / 2) * cs + x / 2;
				const uint8_t *u = in + s * h, *v = u + cs * (h / 2);
				yuv_to_bgr(orow + 3 * x, row[x], u[off], v[off]);
				break;
			}
			}
		}
	}
	*out = (struct fr_image){ c->conv, need, src->width, src->height,
				  (uint32_t)(w * (gray ? 1 : 3)),
				  gray ? FR_FORMAT_GRAY8 : FR_FORMAT_BGR24 };
	return 0;
}

/* 0 when @img's buffer holds the @need bytes its geometry takes, else -EINVAL with the text. */
static int check_capacity(struct jpeg_codec *c, const struct fr_image *img, uint64_t need)
{
	if (need <= img->capacity)
		return 0;
	set_err(c, "%ux%u %s needs %llu bytes, the buffer holds %llu", img->width, img->height,
		fr_format_name(img->format), (unsigned long long)need,
		(unsigned long long)img->capacity);
	return -EINVAL;
}

/* Checks a gray16/YUV source before conversion. */
static int check_converted(struct jpeg_codec *c, const struct fr_image *img)
{
	uint64_t bytes;

	if (!img->data || !img->width || !img->height || img->width > 65535 ||
	    img->height > 65535 ||
	    fr_format_frame_bytes(img->format, img->width, img->height, img->stride, &bytes)) {
		set_err(c, "bad %s geometry %ux%u stride %u", fr_format_name(img->format),
			img->width, img->height, img->stride);
		return -EINVAL;
	}
	return check_capacity(c, img, bytes);
}

static int dec_handle(struct jpeg_codec *c)
{
	if (!c->dec && !(c->dec = tjInitDecompress())) {
		set_err(c, "cannot start the JPEG decoder: %s", tjGetErrorStr2(NULL));
		return -ENOMEM;
	}
	return 0;
}

int jpeg_header(struct jpeg_codec *c, const void *jpeg, size_t len, uint32_t *width,
		uint32_t *height)
{
	int w, h, subsamp, colorspace, rc;

	if ((rc = dec_handle(c)))
		return rc;
	if (len < 4 || len > (size_t)(unsigned long)-1) {
		set_err(c, "not a JPEG (%zu bytes)", len);
		return -EBADMSG;
	}
	if (tjDecompressHeader3(c->dec, jpeg, (unsigned long)len, &w, &h, &subsamp, &colorspace)) {
		set_err(c, "not a readable JPEG: %s", tjGetErrorStr2(c->dec));
		return -EBADMSG;
	}
	if (w <= 0 || h <= 0) {
		set_err(c, "JPEG has no pixels");
		return -EBADMSG;
	}
	*width = (uint32_t)w;
	*height = (uint32_t)h;
	return 0;
}

/* Geometry checks shared by encode and decode. */
static int check_image(struct jpeg_codec *c, const struct fr_image *img, int *pf)
{
	*pf = tj_pixel_format(img->format);
	if (*pf < 0) {
		const char *name = fr_format_name(img->format);
		set_err(c, "JPEG needs gray8, rgb24, bgr24, rgba32 or bgra32 pixels, not %s",
			name ? name : "an unknown format");
		return -ENOTSUP;
	}
	if (!img->data || img->width == 0 || img->height == 0 || img->width > 65535 ||
	    img->height > 65535) {
		set_err(c, "bad image geometry %ux%u", img->width, img->height);
		return -EINVAL;
	}
	uint64_t row = (uint64_t)img->width * (uint64_t)tjPixelSize[*pf];
	if (img->stride < row || img->stride > (uint32_t)INT32_MAX) {
		set_err(c, "stride %u is below the row size %llu", img->stride,
			(unsigned long long)row);
		return -EINVAL;
	}
	/* The last row only needs its pixels, not the whole stride. */
	return check_capacity(c, img, (uint64_t)img->stride * (img->height - 1) + row);
}

int jpeg_decode(struct jpeg_codec *c, const void *jpeg, size_t len, const struct fr_image *dst)
{
	uint32_t w, h;
	int pf, rc;

	if ((rc = check_image(c, dst, &pf)))
		return rc;
	if ((rc = jpeg_header(c, jpeg, len, &w, &h)))
		return rc;
	if (w != dst->width || h != dst->height) {
		set_err(c, "JPEG is %ux%u, the frame is %ux%u", w, h, dst->width, dst->height);
		return -EINVAL;
	}
	/* Exact size (no scaling), rows at the slot's stride; warnings are fatal. */
	if (tjDecompress2(c->dec, jpeg, (unsigned long)len, dst->data, (int)w, (int)dst->stride,
			  (int)h, pf, TJFLAG_STOPONWARNING)) {
		set_err(c, "corrupt JPEG: %s", tjGetErrorStr2(c->dec));
		return -EBADMSG;
	}
	return 0;
}

uint64_t jpeg_max_bytes(uint32_t width, uint32_t height)
{
	if (!width || !height || width > 65535 || height > 65535)
		return 0;
	unsigned long n = tjBufSize((int)width, (int)height, TJSAMP_444);
	return n == (unsigned long)-1 ? 0 : n;
}

/* Checks and handle shared by both encoders; sets the pixel format and subsampling. */
static int enc_prepare(struct jpeg_codec *c, const struct fr_image *src, int quality, int *pf,
		       int *subsamp)
{
	int rc;

	if ((rc = check_image(c, src, pf)))
		return rc;
	if (quality < 1 || quality > 100) {
		set_err(c, "JPEG quality %d is not in 1..100", quality);
		return -EINVAL;
	}
	if (!c->enc && !(c->enc = tjInitCompress())) {
		set_err(c, "cannot start the JPEG encoder: %s", tjGetErrorStr2(NULL));
		return -ENOMEM;
	}
	*subsamp = *pf == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_420;
	return 0;
}

int jpeg_encode_into(struct jpeg_codec *c, const struct fr_image *src, int quality, void *dst,
		     size_t capacity, size_t *len)
{
	int pf, subsamp, rc;

	if ((rc = enc_prepare(c, src, quality, &pf, &subsamp)))
		return rc;
	if (!dst || !capacity) {
		set_err(c, "no buffer for the JPEG");
		return -ENOSPC;
	}
	/*
	 * With TJFLAG_NOREALLOC TurboJPEG 2.x assumes the buffer holds tjBufSize()
	 * bytes, whatever size it is told: compress straight into @dst only when it
	 * is that large, else into the codec's buffer and copy if the result fits.
	 */
	unsigned long bound = tjBufSize((int)src->width, (int)src->height, subsamp);
	if (bound != (unsigned long)-1 && capacity >= bound) {
		unsigned char *out = dst;
		unsigned long size = bound;
		if (tjCompress2(c->enc, src->data, (int)src->width, (int)src->stride,
				(int)src->height, pf, &out, &size, subsamp, quality,
				TJFLAG_NOREALLOC)) {
			set_err(c, "JPEG encoding failed: %s", tjGetErrorStr2(c->enc));
			return -EIO;
		}
		*len = size;
		return 0;
	}
	const unsigned char *tmp;
	size_t size;
	if ((rc = jpeg_encode(c, src, quality, &tmp, &size)))
		return rc;
	if (size > capacity) {
		set_err(c, "the %zu-byte JPEG does not fit %zu bytes", size, capacity);
		return -ENOSPC;
	}
	memcpy(dst, tmp, size);
	*len = size;
	return 0;
}

int jpeg_encode(struct jpeg_codec *c, const struct fr_image *src, int quality,
		const unsigned char **out, size_t *len)
{
	int pf, subsamp, rc;
	struct fr_image conv;

	if (converted_format(src->format)) {
		if ((rc = check_converted(c, src)) || (rc = convert(c, src, &conv)))
			return rc;
		src = &conv;
	}
	if ((rc = enc_prepare(c, src, quality, &pf, &subsamp)))
		return rc;
	/* A buffer of the worst-case size never has to grow during compression. */
	unsigned long bound = tjBufSize((int)src->width, (int)src->height, subsamp);
	if (bound == (unsigned long)-1 || bound > (unsigned long)INT32_MAX) {
		set_err(c, "image too large for JPEG");
		return -EINVAL;
	}
	if (c->buf_size < bound) {
		if (c->buf)
			tjFree(c->buf);
		c->buf = tjAlloc((int)bound);
		c->buf_size = c->buf ? bound : 0;
		if (!c->buf) {
			set_err(c, "out of memory for a %lu-byte JPEG buffer", bound);
			return -ENOMEM;
		}
	}
	unsigned long size = c->buf_size;
	if (tjCompress2(c->enc, src->data, (int)src->width, (int)src->stride, (int)src->height, pf,
			&c->buf, &size, subsamp, quality, TJFLAG_NOREALLOC)) {
		set_err(c, "JPEG encoding failed: %s", tjGetErrorStr2(c->enc));
		return -EIO;
	}
	*out = c->buf;
	*len = size;
	return 0;
}
