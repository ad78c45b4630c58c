/*
 * Test helper: decode JPEG files with the tools' JPEG module and print
 * "WIDTHxHEIGHT BARCODE" per file (the frame number the pattern drew).
 * Exit 1 when a file cannot be read or decoded.
 */
#include <stdio.h>
#include <stdlib.h>

#include "framering.h"
#include "jpeg.h"
#include "pattern.h"

int main(int argc, char **argv)
{
	struct jpeg_codec c;
	int status = 0;

	jpeg_codec_init(&c);
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		unsigned char *buf = NULL;
		long len = -1;
		if (f && !fseek(f, 0, SEEK_END) && (len = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) &&
		    (buf = malloc((size_t)len)) && fread(buf, 1, (size_t)len, f) == (size_t)len) {
			uint32_t w, h;
			if (!jpeg_header(&c, buf, (size_t)len, &w, &h)) {
				struct fr_image img = { malloc((size_t)w * h * 3),
							(uint64_t)w * h * 3, w, h, w * 3,
							FR_FORMAT_BGR24 };
				if (img.data && !jpeg_decode(&c, buf, (size_t)len, &img)) {
					printf("%ux%u %lld\n", w, h,
					       (long long)pattern_read_barcode(&img));
					free(img.data);
					free(buf);
					fclose(f);
					continue;
				}
				free(img.data);
			}
			fprintf(stderr, "jpeg_check: %s: %s\n", argv[i], jpeg_error(&c));
		} else {
			fprintf(stderr, "jpeg_check: %s: cannot read\n", argv[i]);
		}
		status = 1;
		free(buf);
		if (f)
			fclose(f);
	}
	jpeg_codec_fini(&c);
	return status;
}
