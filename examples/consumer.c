/* A vision process: reads every frame of argv[1] (default "demo-cam") in place. */
#include <errno.h>
#include <framering.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "demo-cam";
	struct fr_ring *ring;
	int rc = fr_open(name, FR_CONSUMER, &ring);
	if (rc < 0) {
		fprintf(stderr, "consumer: %s\n", fr_strerror(rc));
		return 1;
	}
	struct fr_frame f;
	while ((rc = fr_acquire(ring, &f, 5000)) == 0) {
		const unsigned char *px = f.data; /* no copy: the pixels in the segment */
		printf("frame %llu: %ux%u, first pixel %u\n", (unsigned long long)f.seq,
		       f.width, f.height, px[0]);
		fr_release(ring, &f);
	}
	fr_close(ring);
	fr_unlink(name);
	return rc == -EPIPE ? 0 : 1; /* -EPIPE: the producer closed and we drained */
}
