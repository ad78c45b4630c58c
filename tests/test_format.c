/* Pixel formats: names, strides and frame sizes, and how fr_create uses them. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"

TestSuite(format, .fini = frt_cleanup, .timeout = 60);

static const struct {
	uint32_t format;
	const char *name;
	uint32_t bytes_per_pixel; /* first plane; 0 = no geometry (RAW, JPEG) */
} formats[] = {
	{ FR_FORMAT_RAW, "raw", 0 },       { FR_FORMAT_GRAY8, "gray8", 1 },
	{ FR_FORMAT_GRAY16, "gray16", 2 }, { FR_FORMAT_RGB24, "rgb24", 3 },
	{ FR_FORMAT_BGR24, "bgr24", 3 },   { FR_FORMAT_RGBA32, "rgba32", 4 },
	{ FR_FORMAT_BGRA32, "bgra32", 4 }, { FR_FORMAT_YUYV, "yuyv", 2 },
	{ FR_FORMAT_NV12, "nv12", 1 },     { FR_FORMAT_I420, "i420", 1 },
	{ FR_FORMAT_JPEG, "jpeg", 0 },
};
#define NFORMATS (sizeof formats / sizeof formats[0])

static uint64_t round64(uint64_t x)
{
	return (x + 63) / 64 * 64;
}

Test(format, table_covers_every_format)
{
	cr_assert_eq(NFORMATS, FR_FORMAT_COUNT);
	for (size_t i = 0; i < NFORMATS; i++)
		cr_assert_eq(formats[i].format, i);
}

Test(format, names_round_trip)
{
	for (size_t i = 0; i < NFORMATS; i++) {
		const char *n = fr_format_name(formats[i].format);
		cr_assert_not_null(n, "no name for format %u", formats[i].format);
		cr_expect_str_eq(n, formats[i].name);
		cr_expect_eq(fr_format_from_name(formats[i].name), (int)formats[i].format,
			     "%s", formats[i].name);
	}
}

Test(format, names_are_case_insensitive)
{
	cr_expect_eq(fr_format_from_name("BGR24"), FR_FORMAT_BGR24);
	cr_expect_eq(fr_format_from_name("Nv12"), FR_FORMAT_NV12);
	cr_expect_eq(fr_format_from_name("JPEG"), FR_FORMAT_JPEG);
	cr_expect_eq(fr_format_from_name("I420"), FR_FORMAT_I420);
	cr_expect_eq(fr_format_from_name("GRAY16"), FR_FORMAT_GRAY16);
}

Test(format, unknown_names_and_values)
{
	static const char *const bad[] = { "", "rgb", "rgb24 ", " rgb24", "rgb2", "rgb244",
					   "bgr24x", "yuv", "h264", "gray" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(fr_format_from_name(bad[i]), -EINVAL, "\"%s\" accepted", bad[i]);
	cr_expect_eq(fr_format_from_name(NULL), -EINVAL);
	cr_expect_null(fr_format_name(FR_FORMAT_COUNT));
	cr_expect_null(fr_format_name(FR_FORMAT_COUNT + 1));
	cr_expect_null(fr_format_name(UINT32_MAX));
}

Test(format, strides)
{
	static const uint32_t widths[] = { 1, 2, 7, 16, 21, 63, 64, 65, 640, 1919, 1920, 4096 };
	for (size_t i = 0; i < NFORMATS; i++) {
		for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
			uint64_t want = (uint64_t)formats[i].bytes_per_pixel * widths[w];
			uint64_t min = fr_format_min_stride(formats[i].format, widths[w]);
			uint64_t def = fr_format_default_stride(formats[i].format, widths[w]);
			cr_expect_eq(min, want, "%s w=%u min stride %lu, want %lu",
				     formats[i].name, widths[w], (unsigned long)min,
				     (unsigned long)want);
			cr_expect_eq(def, round64(want), "%s w=%u default stride %lu",
				     formats[i].name, widths[w], (unsigned long)def);
		}
	}
	cr_expect_eq(fr_format_min_stride(FR_FORMAT_COUNT, 64), 0);
}

static uint64_t frame_bytes(uint32_t format, uint32_t w, uint32_t h, uint32_t stride)
{
	uint64_t bytes = 0;
	int rc = fr_format_frame_bytes(format, w, h, stride, &bytes);
	cr_assert_eq(rc, 0, "fr_format_frame_bytes(%u, %u, %u, %u) = %d", format, w, h, stride,
		     rc);
	return bytes;
}

Test(format, packed_sizes)
{
	/* Default stride: row rounded up to 64 bytes. */
	cr_expect_eq(frame_bytes(FR_FORMAT_GRAY8, 640, 480, 0), 640u * 480u);
	cr_expect_eq(frame_bytes(FR_FORMAT_GRAY8, 100, 10, 0), 128u * 10u);
	cr_expect_eq(frame_bytes(FR_FORMAT_GRAY16, 100, 10, 0), 256u * 10u);
	cr_expect_eq(frame_bytes(FR_FORMAT_RGB24, 1920, 1080, 0), 5760u * 1080u);
	cr_expect_eq(frame_bytes(FR_FORMAT_BGR24, 100, 3, 0), 320u * 3u);
	cr_expect_eq(frame_bytes(FR_FORMAT_RGBA32, 33, 2, 0), 192u * 2u);
	cr_expect_eq(frame_bytes(FR_FORMAT_BGRA32, 1, 1, 0), 64u);
	cr_expect_eq(frame_bytes(FR_FORMAT_YUYV, 640, 480, 0), 1280u * 480u);
	/* Explicit strides, exact and padded. */
	cr_expect_eq(frame_bytes(FR_FORMAT_RGB24, 100, 3, 300), 900u);
	cr_expect_eq(frame_bytes(FR_FORMAT_RGB24, 100, 3, 301), 903u);
	cr_expect_eq(frame_bytes(FR_FORMAT_GRAY16, 10, 10, 4096), 40960u);
	cr_expect_eq(frame_bytes(FR_FORMAT_YUYV, 2, 2, 4), 8u);
}

Test(format, planar_sizes)
{
	/* NV12: Y plane stride*h, then interleaved UV: stride * h/2. */
	cr_expect_eq(frame_bytes(FR_FORMAT_NV12, 640, 480, 0), 640u * 480u * 3u / 2u);
	cr_expect_eq(frame_bytes(FR_FORMAT_NV12, 100, 10, 0), 128u * 10u + 128u * 5u);
	cr_expect_eq(frame_bytes(FR_FORMAT_NV12, 100, 10, 200), 200u * 15u);
	/* I420: Y plane stride*h, then U and V each (stride/2) * (h/2). */
	cr_expect_eq(frame_bytes(FR_FORMAT_I420, 640, 480, 0), 640u * 480u * 3u / 2u);
	cr_expect_eq(frame_bytes(FR_FORMAT_I420, 100, 10, 0), 128u * 10u + 2u * 64u * 5u);
	cr_expect_eq(frame_bytes(FR_FORMAT_I420, 100, 10, 200), 200u * 10u + 2u * 100u * 5u);
	cr_expect_eq(frame_bytes(FR_FORMAT_I420, 2, 2, 2), 6u);
	cr_expect_eq(frame_bytes(FR_FORMAT_NV12, 2, 2, 2), 6u);
}

Test(format, invalid_sizes)
{
	static const struct {
		uint32_t format, width, height, stride;
		const char *why;
	} bad[] = {
		{ FR_FORMAT_RAW, 64, 64, 0, "no geometry: RAW needs frame_bytes" },
		{ FR_FORMAT_JPEG, 64, 64, 0, "no geometry: JPEG needs frame_bytes" },
		{ FR_FORMAT_COUNT, 64, 64, 0, "unknown format" },
		/* Chroma subsampling needs even sizes. */
		{ FR_FORMAT_YUYV, 641, 480, 0, "odd width" },
		{ FR_FORMAT_NV12, 641, 480, 0, "odd width" },
		{ FR_FORMAT_NV12, 640, 481, 0, "odd height" },
		{ FR_FORMAT_I420, 641, 480, 0, "odd width" },
		{ FR_FORMAT_I420, 640, 481, 0, "odd height" },
		/* A stride below the row. */
		{ FR_FORMAT_RGB24, 100, 3, 299, "stride below the row" },
		{ FR_FORMAT_GRAY16, 100, 3, 199, "stride below the row" },
		{ FR_FORMAT_NV12, 100, 2, 99, "stride below the row" },
		{ FR_FORMAT_YUYV, 100, 2, 199, "stride below the row" },
		/* Overflow of 64 bits: a 4 GiB stride times 4 G rows, plus planes. */
		{ FR_FORMAT_RGBA32, UINT32_MAX, UINT32_MAX, 0, "64-bit overflow" },
		{ FR_FORMAT_NV12, 0xfffffffeu, 0xfffffffeu, 0, "64-bit overflow" },
		{ FR_FORMAT_I420, 0xfffffffeu, 0xfffffffeu, 0, "64-bit overflow" },
	};
	uint64_t bytes = 12345;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(fr_format_frame_bytes(bad[i].format, bad[i].width, bad[i].height,
						   bad[i].stride, &bytes),
			     -EINVAL, "case %zu: %s", i, bad[i].why);
	cr_expect_eq(fr_format_frame_bytes(FR_FORMAT_GRAY8, 16, 16, 0, NULL), -EINVAL);
}

/* fr_create derives stride and capacity from the geometry and reports them. */
Test(format, create_uses_geometry)
{
	static const struct {
		uint32_t format, width, height, stride;
	} cases[] = {
		{ FR_FORMAT_GRAY8, 640, 480, 0 },   { FR_FORMAT_RGB24, 100, 7, 0 },
		{ FR_FORMAT_BGRA32, 33, 5, 256 },   { FR_FORMAT_NV12, 320, 240, 0 },
		{ FR_FORMAT_I420, 100, 10, 200 },   { FR_FORMAT_YUYV, 64, 2, 0 },
		{ FR_FORMAT_GRAY16, 1920, 1080, 0 },
	};
	long page = sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[FRT_NAME_SIZE];
		frt_name(name, sizeof name, "geom");
		struct fr_config cfg = { .mode = FR_SPSC, .slots = 2, .format = cases[i].format,
					 .width = cases[i].width, .height = cases[i].height,
					 .stride = cases[i].stride };
		uint64_t want_stride = cases[i].stride
					       ? cases[i].stride
					       : fr_format_default_stride(cases[i].format,
									  cases[i].width);
		uint64_t want_bytes = frame_bytes(cases[i].format, cases[i].width, cases[i].height,
						  cases[i].stride);
		struct fr_ring *ring = NULL;
		FRT_ASSERT_OK(fr_create(name, &cfg, &ring));
		struct fr_info info;
		FRT_ASSERT_OK(fr_info(ring, &info));
		cr_expect_eq(info.format, cases[i].format);
		cr_expect_eq(info.width, cases[i].width);
		cr_expect_eq(info.height, cases[i].height);
		cr_expect_eq(info.stride, want_stride, "case %zu: stride %u, want %lu", i,
			     info.stride, (unsigned long)want_stride);
		cr_expect_geq(info.frame_capacity, want_bytes, "case %zu: capacity %lu < %lu", i,
			      (unsigned long)info.frame_capacity, (unsigned long)want_bytes);
		cr_expect_eq(info.payload_stride % (uint64_t)page, 0);
		cr_expect_geq(info.payload_stride, info.frame_capacity);

		/* A claimed frame carries the default geometry and the full size. */
		struct fr_frame f;
		FRT_ASSERT_OK(fr_claim(ring, &f, 0));
		cr_expect_eq(f.format, cases[i].format);
		cr_expect_eq(f.width, cases[i].width);
		cr_expect_eq(f.height, cases[i].height);
		cr_expect_eq(f.stride, want_stride);
		cr_expect_eq(f.bytes, want_bytes, "case %zu: bytes %lu, want %lu", i,
			     (unsigned long)f.bytes, (unsigned long)want_bytes);
		cr_expect_eq(f.capacity, info.frame_capacity);
		FRT_ASSERT_OK(fr_cancel(ring, &f));
		fr_close(ring);
		FRT_ASSERT_OK(fr_unlink(name));
	}
}

Test(format, create_rejects_bad_geometry)
{
	static const struct fr_config bad[] = {
		{ .format = FR_FORMAT_RAW },                                  /* no size */
		{ .format = FR_FORMAT_JPEG, .width = 640, .height = 480 },   /* no capacity */
		{ .format = FR_FORMAT_COUNT, .width = 8, .height = 8 },      /* unknown format */
		{ .format = FR_FORMAT_NV12, .width = 641, .height = 480 },   /* odd width */
		{ .format = FR_FORMAT_I420, .width = 640, .height = 479 },   /* odd height */
		{ .format = FR_FORMAT_RGB24, .width = 100, .height = 2, .stride = 299 },
		{ .format = FR_FORMAT_GRAY8, .width = 64, .height = 64, .frame_bytes = 100 },
	};
	frt_expect_create_einval(bad, sizeof bad / sizeof bad[0], "badgeom");
}
