/*
 * libFuzzer target: hostile bridge messages (tools/bridge_wire.c), the bytes a
 * `framering bridge recv` gets from anyone who can reach its socket.
 *
 * Input format:
 *   byte 0: bit 0 = protocol (0 native, 1 imagezmq)
 *   byte 1: number of message parts, 0..7
 *   then, for every part but the last, its length (2 bytes, little-endian,
 *   cut to what is left); the last part is the rest of the input.
 *
 * Each part is copied into a buffer of exactly its size, so that ASan sees a
 * read past any part. The harness checks what the decoders promise: the
 * result is BRIDGE_OK or a bridge_error; an accepted frame's payload is its
 * second part and has the size its geometry says (raw frames), is
 * within the limits, and survives a round trip (native header written again
 * and decoded to the same frame; an imagezmq array's JSON written again and
 * decoded to the same shape).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <framering.h>

#include "bridge_wire.h"

#define MAX_PARTS 7

static void die(const char *what)
{
	fprintf(stderr, "fuzz_bridge: %s\n", what);
	abort();
}

/* Read every payload byte (ASan checks the bounds). */
static unsigned touch(const struct bridge_meta *m)
{
	const unsigned char *p = m->payload;
	unsigned sum = 0;

	for (uint64_t i = 0; i < m->payload_bytes; i++)
		sum += p[i];
	return sum;
}

static void check_native(const struct bridge_part *parts, const struct bridge_meta *m)
{
	if (parts[0].len != BRIDGE_HEADER_BYTES)
		die("header part of another size accepted");
	if (m->kind == BRIDGE_END) {
		if (m->payload_bytes)
			die("end of stream with a payload");
		return;
	}
	if (m->payload != parts[1].data || m->payload_bytes != parts[1].len)
		die("payload is not the second part");
	if (m->payload_bytes > BRIDGE_MAX_FRAME_BYTES)
		die("payload over the limit");
	if (m->kind == BRIDGE_RAW && m->format != FR_FORMAT_RAW) {
		uint64_t need;
		if (fr_format_frame_bytes(m->format, m->width, m->height, m->stride, &need) ||
		    need != m->payload_bytes)
			die("raw frame of another size than its geometry");
	}
	if (m->kind == BRIDGE_JPEG && m->format != FR_FORMAT_JPEG &&
	    !bridge_jpeg_pixel_format(m->format))
		die("JPEG into a format it cannot be decoded into");
	/* Round trip: the header written from the decoded frame decodes the same. */
	unsigned char head[BRIDGE_HEADER_BYTES];
	bridge_native_header(m, head);
	struct bridge_part again[2] = { { head, sizeof(head) }, parts[1] };
	struct bridge_meta m2;
	if (bridge_native_decode(again, 2, &m2) != BRIDGE_OK)
		die("native round trip refused");
	if (m2.kind != m->kind || m2.format != m->format || m2.width != m->width ||
	    m2.height != m->height || m2.stride != m->stride || m2.seq != m->seq ||
	    m2.capture_ns != m->capture_ns || m2.flags != m->flags)
		die("native round trip changed the frame");
}

static void check_izmq(const struct bridge_part *parts, const struct bridge_meta *m,
		       const char *text)
{
	if (m->payload != parts[1].data || m->payload_bytes != parts[1].len)
		die("imagezmq payload is not the second part");
	if (strlen(text) >= 64)
		die("msg text past its buffer");
	for (const char *c = text; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			die("msg text not printable");
	if (m->kind != BRIDGE_RAW)
		return;
	if ((uint64_t)m->stride * m->height != m->payload_bytes)
		die("imagezmq array of another size than its shape");
	char json[512];
	size_t len = bridge_izmq_json(json, sizeof(json), text, false, m->format, m->width,
				      m->height);
	if (!len)
		die("no JSON for an accepted array");
	struct bridge_part again[2] = { { json, len }, parts[1] };
	struct bridge_meta m2;
	char text2[64];
	if (bridge_izmq_decode(again, 2, &m2, text2, sizeof(text2)) != BRIDGE_OK)
		die("imagezmq round trip refused");
	if (m2.format != m->format || m2.width != m->width || m2.height != m->height ||
	    strcmp(text, text2))
		die("imagezmq round trip changed the frame");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bridge_part parts[MAX_PARTS];
	unsigned char *bufs[MAX_PARTS] = { 0 };

	if (size < 2)
		return 0;
	bool izmq = data[0] & 1;
	unsigned n = data[1] % (MAX_PARTS + 1);
	size_t off = 2;
	for (unsigned i = 0; i < n; i++) {
		size_t len = size - off;
		if (i + 1 < n) {
			size_t want = off + 2 <= size ? (size_t)(data[off] | data[off + 1] << 8)
						      : 0;
			off = off + 2 <= size ? off + 2 : size;
			len = want < size - off ? want : size - off;
		}
		/* Exactly sized copies: a read past a part is an ASan report. */
		bufs[i] = malloc(len ? len : 1);
		if (!bufs[i])
			goto out;
		memcpy(bufs[i], data + off, len);
		parts[i] = (struct bridge_part){ bufs[i], len };
		off += len;
	}
	struct bridge_meta m;
	char text[64];
	int rc = izmq ? bridge_izmq_decode(parts, n, &m, text, sizeof(text))
		      : bridge_native_decode(parts, n, &m);
	if (rc < 0 || rc >= BRIDGE_E_COUNT || !bridge_error_text(rc))
		die("result out of range");
	if (rc == BRIDGE_OK) {
		if (izmq)
			check_izmq(parts, &m, text);
		else
			check_native(parts, &m);
		volatile unsigned sink = touch(&m);
		(void)sink;
	}
out:
	for (unsigned i = 0; i < MAX_PARTS; i++)
		free(bufs[i]);
	return 0;
}
