/*
 * Synthetic moving scene, rendered straight into a claimed slot: a scrolling
 * gradient, a bouncing box, the frame number in big seven-segment digits and
 * as a 32-bit bar code along the bottom edge.
 */
#ifndef FRAMERING_PATTERN_H
#define FRAMERING_PATTERN_H

#include <stdint.h>

#include "jpeg.h" /* struct fr_image */

/* 1 when the pattern can be drawn in this format (every pixel format but RAW/JPEG). */
int pattern_supported(uint32_t format);

/* Draw frame @n into @img; img geometry must be valid for its format. */
void pattern_render(const struct fr_image *img, uint64_t n);

/*
 * Read the bar code back from a rendered (possibly lossy-compressed) BGR/RGB/
 * GRAY/RGBA/BGRA image: the low 32 bits of the frame number, or -1 when the
 * format is not supported.
 */
int64_t pattern_read_barcode(const struct fr_image *img);

#endif /* FRAMERING_PATTERN_H */
