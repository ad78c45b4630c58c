/*
 * JPEG through TurboJPEG, in place: encode straight from a slot's pixels and
 * decode straight into a claimed slot (pitch = slot stride), so the codec is
 * the only thing that touches the pixels.
 */
#ifndef FRAMERING_JPEG_H
#define FRAMERING_JPEG_H

#include <stddef.h>
#include <stdint.h>

/* Pixels somewhere (a slot, usually): @capacity bytes at @data. */
struct fr_image {
	void *data;
	uint64_t capacity;
	uint32_t width;
	uint32_t height;
	uint32_t stride; /* bytes between rows */
	uint32_t format; /* enum fr_format */
};

struct jpeg_codec {
	void *enc;           /* tjhandle, created on first use */
	void *dec;           /* tjhandle, created on first use */
	unsigned char *buf;  /* encoder output, reused between frames (tjAlloc) */
	unsigned long buf_size;
	unsigned char *conv;  /* YUV/GRAY16 frames converted for the encoder */
	size_t conv_size;
	char err[256];       /* text of the last error */
};

/* Zero-initialise a codec; handles are created lazily. */
void jpeg_codec_init(struct jpeg_codec *c);
void jpeg_codec_fini(struct jpeg_codec *c);

/* 1 when TurboJPEG can encode from / decode into this pixel format in place. */
int jpeg_format_supported(uint32_t format);

/*
 * 1 when jpeg_encode() takes this format: the in-place ones, and gray16, yuyv,
 * nv12 and i420, which are converted first (BT.601 limited range to RGB).
 */
int jpeg_can_encode(uint32_t format);

/*
 * Width and height of a JPEG. 0, or -EBADMSG when it is not a readable JPEG
 * (text in c->err).
 */
int jpeg_header(struct jpeg_codec *c, const void *jpeg, size_t len, uint32_t *width,
		uint32_t *height);

/*
 * Decode @jpeg into @dst, rows dst->stride apart, in dst->format.
 * -EINVAL: the JPEG is not dst->width x dst->height or does not fit the capacity;
 * -ENOTSUP: format not decodable; -EBADMSG: corrupt or truncated (warnings are
 * errors: a frame is never half decoded silently); -ENOMEM. Text in c->err.
 */
int jpeg_decode(struct jpeg_codec *c, const void *jpeg, size_t len, const struct fr_image *dst);

/*
 * Encode @src (read in place; converted first when it is gray16 or YUV) at
 * @quality 1..100. On success *out points to
 * *len bytes owned by the codec, valid until the next call.
 * -EINVAL bad geometry; -ENOTSUP format; -EIO codec failure. Text in c->err.
 */
int jpeg_encode(struct jpeg_codec *c, const struct fr_image *src, int quality,
		const unsigned char **out, size_t *len);

/*
 * Encode @src straight into @dst (a JPEG slot, usually) of @capacity bytes;
 * *len receives the JPEG size. -ENOSPC when it does not fit, else as jpeg_encode.
 */
int jpeg_encode_into(struct jpeg_codec *c, const struct fr_image *src, int quality, void *dst,
		     size_t capacity, size_t *len);

/* Largest JPEG TurboJPEG can produce for @width x @height (4:4:4), 0 if too large. */
uint64_t jpeg_max_bytes(uint32_t width, uint32_t height);

/* Text of the last error. */
const char *jpeg_error(const struct jpeg_codec *c);

#endif /* FRAMERING_JPEG_H */
