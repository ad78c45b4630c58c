/* Pixel formats: names, row sizes and frame sizes (packed and planar). */
#include <errno.h>
#include <strings.h>

#include "internal.h"

static const char *const format_names[FR_FORMAT_COUNT] = {
	[FR_FORMAT_RAW] = "raw",       [FR_FORMAT_GRAY8] = "gray8", [FR_FORMAT_GRAY16] = "gray16",
	[FR_FORMAT_RGB24] = "rgb24",   [FR_FORMAT_BGR24] = "bgr24", [FR_FORMAT_RGBA32] = "rgba32",
	[FR_FORMAT_BGRA32] = "bgra32", [FR_FORMAT_YUYV] = "yuyv",   [FR_FORMAT_NV12] = "nv12",
	[FR_FORMAT_I420] = "i420",     [FR_FORMAT_JPEG] = "jpeg",
};

/* Bytes per pixel of the first plane's rows. */
static const uint8_t row_bytes_per_pixel[FR_FORMAT_COUNT] = {
	[FR_FORMAT_GRAY8] = 1, [FR_FORMAT_GRAY16] = 2, [FR_FORMAT_RGB24] = 3,
	[FR_FORMAT_BGR24] = 3, [FR_FORMAT_RGBA32] = 4, [FR_FORMAT_BGRA32] = 4,
	[FR_FORMAT_YUYV] = 2,  [FR_FORMAT_NV12] = 1,   [FR_FORMAT_I420] = 1,
};

FR_API const char *fr_format_name(uint32_t format)
{
	return format < FR_FORMAT_COUNT ? format_names[format] : NULL;
}

FR_API int fr_format_from_name(const char *name)
{
	if (!name)
		return -EINVAL;
	for (int i = 0; i < FR_FORMAT_COUNT; i++)
		if (strcasecmp(name, format_names[i]) == 0)
			return i;
	return -EINVAL;
}

FR_API uint64_t fr_format_min_stride(uint32_t format, uint32_t width)
{
	if (format >= FR_FORMAT_COUNT)
		return 0;
	return (uint64_t)width * row_bytes_per_pixel[format];
}

FR_API uint64_t fr_format_default_stride(uint32_t format, uint32_t width)
{
	uint64_t min = fr_format_min_stride(format, width);
	return (min + 63) & ~UINT64_C(63);
}

FR_API int fr_format_frame_bytes(uint32_t format, uint32_t width, uint32_t height, uint32_t stride,
				 uint64_t *bytes)
{
	if (format >= FR_FORMAT_COUNT || !row_bytes_per_pixel[format] || !width || !height ||
	    !bytes)
		return -EINVAL;
	bool subsampled = format == FR_FORMAT_YUYV || format == FR_FORMAT_NV12 ||
			  format == FR_FORMAT_I420;
	if (subsampled && (width & 1))
		return -EINVAL;
	if ((format == FR_FORMAT_NV12 || format == FR_FORMAT_I420) && (height & 1))
		return -EINVAL;
	uint64_t s = stride ? stride : fr_format_default_stride(format, width);
	if (s < fr_format_min_stride(format, width))
		return -EINVAL;
	if (format == FR_FORMAT_I420 && (s & 1))
		return -EINVAL; /* chroma rows are stride / 2 apart */
	/* The default stride of a 2^32-pixel row needs 35 bits: check every product
	 * (sizes come from segments, i.e. from anyone). */
	uint64_t total, chroma = 0;
	if (__builtin_mul_overflow(s, (uint64_t)height, &total))
		return -EINVAL;
	if (format == FR_FORMAT_NV12)
		chroma = total / 2; /* s * (height / 2), height even */
	else if (format == FR_FORMAT_I420)
		chroma = 2 * ((s / 2) * (uint64_t)(height / 2)); /* <= total */
	if (__builtin_add_overflow(total, chroma, &total) || total > FR_MAX_FRAME_BYTES)
		return -EINVAL;
	*bytes = total;
	return 0;
}
