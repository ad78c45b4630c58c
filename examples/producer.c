/* A camera: publishes 100 gray frames into segment argv[1] (default "demo-cam"). */
#include <framering.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "demo-cam";
	struct fr_config cfg = {.mode = FR_SPSC, .width = 640, .height = 480,
				.format = FR_FORMAT_GRAY8};
	struct fr_ring *ring;
	int rc = fr_create(name, &cfg, &ring);
	if (rc < 0) {
		fprintf(stderr, "producer: %s\n", fr_strerror(rc));
		return 1;
	}
	for (int i = 0; i < 100; i++) {
		struct fr_frame f;
		if ((rc = fr_claim(ring, &f, 5000)) < 0) /* waits while the ring is full */
			break;
		memset(f.data, i, f.bytes); /* "capture" straight into the slot */
		fr_publish(ring, &f);
	}
	fr_close(ring); /* end of stream for the consumer */
	return rc < 0 ? 1 : 0;
}
