/* The synthetic camera: see pattern.h. */
#include "pattern.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "framering.h"

struct rgb {
	uint8_t r, g, b;
};

struct canvas {
	uint8_t *p;
	uint32_t w, h, stride, format;
	uint64_t t; /* frame number, animates the gradient */
};

int pattern_supported(uint32_t format)
{
	return format != FR_FORMAT_RAW && format != FR_FORMAT_JPEG && format < FR_FORMAT_COUNT;
}

/* BT.601 limited range. */
static uint8_t luma(struct rgb c)
{
	return (uint8_t)(16 + ((66 * c.r + 129 * c.g + 25 * c.b + 128) >> 8));
}

static uint8_t cb(struct rgb c)
{
	return (uint8_t)(128 + ((-38 * c.r - 74 * c.g + 112 * c.b + 128) >> 8));
}

static uint8_t cr(struct rgb c)
{
	return (uint8_t)(128 + ((112 * c.r - 94 * c.g - 18 * c.b + 128) >> 8));
}

/* Full-range gray for the gray formats, so black is 0 and white 255. */
static uint8_t gray(struct rgb c)
{
	return (uint8_t)((77 * c.r + 150 * c.g + 29 * c.b + 128) >> 8);
}

static void store(const struct canvas *c, uint32_t x, uint32_t y, struct rgb v)
{
	uint8_t *row = c->p + (uint64_t)y * c->stride;

	switch (c->format) {
	case FR_FORMAT_GRAY8:
		row[x] = gray(v);
		break;
	case FR_FORMAT_GRAY16: {
		uint16_t g = (uint16_t)(gray(v) * 257u);
		memcpy(row + 2 * (uint64_t)x, &g, 2);
		break;
	}
	case FR_FORMAT_RGB24:
		row[3 * x] = v.r, row[3 * x + 1] = v.g, row[3 * x + 2] = v.b;
		break;
	case FR_FORMAT_BGR24:
		row[3 * x] = v.b, row[3 * x + 1] = v.g, row[3 * x + 2] = v.r;
		break;
	case FR_FORMAT_RGBA32:
		row[4 * x] = v.r, row[4 * x + 1] = v.g, row[4 * x + 2] = v.b, row[4 * x + 3] = 255;
		break;
	case FR_FORMAT_BGRA32:
		row[4 * x] = v.b, row[4 * x + 1] = v.g, row[4 * x + 2] = v.r, row[4 * x + 3] = 255;
		break;
	case FR_FORMAT_YUYV: /* Y0 U Y1 V; chroma from the even pixel */
		row[2 * x] = luma(v);
		if (!(x & 1))
			row[2 * x + 1] = cb(v), row[2 * x + 3] = cr(v);
		break;
	case FR_FORMAT_NV12:
		row[x] = luma(v);
		if (!(x & 1) && !(y & 1)) {
			uint8_t *uv = c->p + ((uint64_t)c->h + (uint64_t)(y / 2)) * c->stride;
			uv[x] = cb(v), uv[x + 1] = cr(v);
		}
		break;
	case FR_FORMAT_I420:
		row[x] = luma(v);
		if (!(x & 1) && !(y & 1)) {
			uint64_t cs = c->stride / 2, ch = c->h / 2;
			uint8_t *u = c->p + (uint64_t)c->h * c->stride;
			uint8_t *vv = u + cs * ch;
			u[(y / 2) * cs + x / 2] = cb(v);
			vv[(y / 2) * cs + x / 2] = cr(v);
		}
		break;
	default:
		break;
	}
}

/* Bytes per pixel of a packed format (one plane, no shared chroma), else 0. */
static unsigned packed_bpp(uint32_t format)
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

/* Fill [x0,x1) x [y0,y1) (clipped) with a colour, or the gradient when solid is NULL. */
static void fill(const struct canvas *c, int64_t x0, int64_t y0, int64_t x1, int64_t y1,
		 const struct rgb *solid)
{
	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > c->w)
		x1 = c->w;
	if (y1 > c->h)
		y1 = c->h;
	if (x0 >= x1 || y0 >= y1)
		return;
	/* 16.16 fixed-point steps so the gradient needs no division per pixel. */
	uint32_t step_x = (uint32_t)((256u << 16) / c->w);
	uint32_t shift = (uint32_t)(c->t * 3);
	unsigned bpp = packed_bpp(c->format);
	if (solid && bpp && y1 - y0 > 1) {
		/* Packed formats: draw one row, copy it down (rows are alike). */
		fill(c, x0, y0, x1, y0 + 1, solid);
		const uint8_t *first = c->p + (uint64_t)y0 * c->stride + (uint64_t)x0 * bpp;
		for (int64_t y = y0 + 1; y < y1; y++)
			memcpy(c->p + (uint64_t)y * c->stride + (uint64_t)x0 * bpp, first,
			       (uint64_t)(x1 - x0) * bpp);
		return;
	}
	for (int64_t y = y0; y < y1; y++) {
		struct rgb v = solid ? *solid : (struct rgb){ 0, 0, 0 };
		uint8_t g = (uint8_t)((uint64_t)y * 256 / c->h);
		uint32_t acc = (uint32_t)x0 * step_x;
		for (int64_t x = x0; x < x1; x++, acc += step_x) {
			if (!solid) {
				uint8_t r = (uint8_t)((acc >> 16) + shift);
				v.r = r;
				v.g = g;
				v.b = (uint8_t)(255 - ((r + g) >> 1));
			}
			store(c, (uint32_t)x, (uint32_t)y, v);
		}
	}
}

/* Position bouncing between 0 and span: a triangle wave of period 2 * span. */
static int64_t bounce(uint64_t t, uint64_t speed, int64_t span)
{
	if (span <= 0)
		return 0;
	uint64_t p = (t * speed) % (2 * (uint64_t)span);
	return p <= (uint64_t)span ? (int64_t)p : 2 * span - (int64_t)p;
}

/* Seven segments: a b c d e f g, bit 0 = a. */
static const uint8_t seven[10] = { 0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f };

static void digit(const struct canvas *c, int64_t x, int64_t y, int64_t dw, int64_t dh, int64_t th,
		  unsigned d, const struct rgb *ink)
{
	uint8_t m = seven[d % 10];
	int64_t mid = y + dh / 2 - th / 2;

	if (m & 0x01) /* a: top */
		fill(c, x, y, x + dw, y + th, ink);
	if (m & 0x02) /* b: top right */
		fill(c, x + dw - th, y, x + dw, y + dh / 2, ink);
	if (m & 0x04) /* c: bottom right */
		fill(c, x + dw - th, y + dh / 2, x + dw, y + dh, ink);
	if (m & 0x08) /* d: bottom */
		fill(c, x, y + dh - th, x + dw, y + dh, ink);
	if (m & 0x10) /* e: bottom left */
		fill(c, x, y + dh / 2, x + th, y + dh, ink);
	if (m & 0x20) /* f: top left */
		fill(c, x, y, x + th, y + dh / 2, ink);
	if (m & 0x40) /* g: middle */
		fill(c, x, mid, x + dw, mid + th, ink);
}

/* Bar code geometry: 32 cells across the bottom strip, most significant bit left. */
static void barcode_rect(uint32_t w, uint32_t h, int64_t *y0, int64_t *y1, int64_t *cell)
{
	int64_t bh = h / 16 > 2 ? h / 16 : 2;
	*y0 = (int64_t)h - bh;
	*y1 = h;
	*cell = w / 32 > 0 ? w / 32 : 1;
}

/*
 * The gradient of packed formats, drawn once per geometry at twice the width:
 * it repeats every `width` pixels, so frame t is each row copied from a
 * scrolling offset. Rows come at memcpy speed instead of per-pixel colour
 * conversion (the camera must never be what a benchmark measures).
 */
static struct {
	uint8_t *rows; /* height rows of 2 * width pixels, packed */
	uint32_t width, height, format;
} background;

static const uint8_t *background_for(const struct canvas *c, unsigned bpp)
{
	if (background.rows && background.width == c->w && background.height == c->h &&
	    background.format == c->format)
		return background.rows;
	free(background.rows);
	background.rows = malloc((uint64_t)c->h * 2 * c->w * bpp);
	if (!background.rows)
		return NULL;
	background.width = c->w;
	background.height = c->h;
	background.format = c->format;
	const struct canvas bg = { background.rows, 2 * c->w, c->h, 2 * c->w * bpp, c->format, 0 };
	struct canvas wide = bg;
	wide.w = c->w; /* the gradient's period: one frame width */
	for (uint32_t half = 0; half < 2; half++) {
		wide.p = bg.p + (uint64_t)half * c->w * bpp;
		fill(&wide, 0, 0, c->w, c->h, NULL);
	}
	return background.rows;
}

/* The scrolling gradient over the whole frame; false when it was not drawn. */
static bool copy_background(const struct canvas *c)
{
	unsigned bpp = packed_bpp(c->format);
	const uint8_t *bg = bpp ? background_for(c, bpp) : NULL;
	if (!bg)
		return false;
	/* The same scroll as the per-pixel gradient: 3 steps of 256 per frame. */
	uint64_t offset = (uint64_t)((c->t * 3) % 256) * c->w / 256;
	uint64_t row_bytes = (uint64_t)c->w * bpp, bg_stride = 2 * row_bytes;
	for (uint32_t y = 0; y < c->h; y++)
		memcpy(c->p + (uint64_t)y * c->stride, bg + y * bg_stride + offset * bpp,
		       row_bytes);
	return true;
}

void pattern_render(const struct fr_image *img, uint64_t n)
{
	const struct canvas c = { img->data, img->width, img->height, img->stride, img->format, n };
	const struct rgb black = { 0, 0, 0 }, white = { 255, 255, 255 }, red = { 230, 30, 30 },
			 yellow = { 255, 220, 0 };
	int64_t w = c.w, h = c.h;

	if (!pattern_supported(c.format) || !c.p || !w || !h)
		return;
	if (!copy_background(&c))
		fill(&c, 0, 0, w, h, NULL);

	/* Bouncing box: crosses the frame in about two seconds at 60 fps. */
	int64_t bw = w / 6 > 2 ? w / 6 : 2, bh = h / 4 > 2 ? h / 4 : 2;
	int64_t bx = bounce(n, (uint64_t)(w / 120 > 1 ? w / 120 : 1), w - bw);
	int64_t by = bounce(n, (uint64_t)(h / 90 > 1 ? h / 90 : 1), h - h / 16 - bh);
	int64_t border = w / 200 > 2 ? w / 200 : 2;
	fill(&c, bx, by, bx + bw, by + bh, &red);
	fill(&c, bx + border, by + border, bx + bw - border, by + bh - border, &white);

	/* Frame number in big digits on a black panel, top left. */
	char text[24];
	int len = 0;
	uint64_t v = n;
	do {
		text[len++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && len < 20);
	int64_t dh = h / 8 > 7 ? h / 8 : 7, dw = dh / 2, th = dh / 8 > 1 ? dh / 8 : 1;
	int64_t gap = dw / 3 > 1 ? dw / 3 : 1, pad = gap;
	fill(&c, 0, 0, 2 * pad + len * (dw + gap) - gap, 2 * pad + dh, &black);
	for (int i = 0; i < len; i++)
		digit(&c, pad + (int64_t)i * (dw + gap), pad, dw, dh, th,
		      (unsigned)(text[len - 1 - i] - '0'), &yellow);

	/* Bar code of the low 32 bits, bottom strip. */
	int64_t y0, y1, cell;
	barcode_rect(c.w, c.h, &y0, &y1, &cell);
	fill(&c, 0, y0, w, y1, &black);
	for (int b = 0; b < 32; b++)
		if ((n >> (31 - b)) & 1)
			fill(&c, b * cell + cell / 4, y0, (b + 1) * cell - cell / 4, y1, &white);
}

int64_t pattern_read_barcode(const struct fr_image *img)
{
	int bpp;

	switch (img->format) {
	case FR_FORMAT_GRAY8:
		bpp = 1;
		break;
	case FR_FORMAT_RGB24:
	case FR_FORMAT_BGR24:
		bpp = 3;
		break;
	case FR_FORMAT_RGBA32:
	case FR_FORMAT_BGRA32:
		bpp = 4;
		break;
	default:
		return -1;
	}
	if (img->width < 32 || img->height < 2)
		return -1;
	int64_t y0, y1, cell;
	barcode_rect(img->width, img->height, &y0, &y1, &cell);
	const uint8_t *row = (const uint8_t *)img->data + (uint64_t)((y0 + y1) / 2) * img->stride;
	uint32_t v = 0;
	for (int b = 0; b < 32; b++) {
		/* Middle of the cell, green channel (or gray): white > 128. */
		uint64_t x = (uint64_t)(b * cell + cell / 2);
		uint8_t px = row[x * (uint64_t)bpp + (bpp >= 3 ? 1 : 0)];
		v = (v << 1) | (px > 128);
	}
	return v;
}
