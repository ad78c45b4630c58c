/*
 * The bridge's wire formats, apart from any socket so that the decoder can be
 * fuzzed on its own (tests/fuzz/fuzz_bridge.c):
 *
 * - native, version 1: two ZeroMQ message parts, a 64-byte little-endian
 *   header then the payload (apart, so that a sender can hand ZeroMQ the
 *   slot itself; README.md has the table):
 *     0  magic "FRBR"         4  version (u16) = 1   6  header bytes (u16) = 64
 *     8  kind (u8): 0 raw, 1 JPEG, 2 end of stream    9  reserved, 3 bytes of 0
 *    12  format (u32, enum fr_format)  16 width  20 height  24 stride  28 flags
 *    32  seq (u64)  40  capture time (u64, CLOCK_REALTIME ns, 0 unknown)
 *    48  payload bytes (u64, the size of part 2)  56  reserved (u64) = 0
 *   raw: the frame's bytes, rows @stride apart; JPEG (stride 0): a JPEG that
 *   decodes to width x height of @format (a pixel format TurboJPEG writes), or
 *   format jpeg for frames that stay compressed; end of stream: no payload.
 *
 * - imagezmq: two parts, a JSON object {"msg": ..., "dtype": ..., "shape": [...]}
 *   then the packed array bytes, or {"msg": ...} then a JPEG.
 *
 * Everything received is hostile: the decoders check every field and every
 * size against the bytes that arrived and return the reason of a refusal.
 */
#ifndef FRAMERING_BRIDGE_WIRE_H
#define FRAMERING_BRIDGE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRIDGE_MAGIC "FRBR"
#define BRIDGE_VERSION 1
#define BRIDGE_HEADER_BYTES 64
/* Largest frame the bridge carries (raw bytes, or a JPEG's decoded size). */
#define BRIDGE_MAX_FRAME_BYTES (256ull << 20)
/* Largest imagezmq JSON part, and the deepest nesting of its "msg" value. */
#define BRIDGE_MAX_JSON_BYTES 65536u
#define BRIDGE_MAX_JSON_DEPTH 32

enum bridge_kind {
	BRIDGE_RAW = 0,  /* the frame's bytes */
	BRIDGE_JPEG = 1, /* a JPEG of the frame */
	BRIDGE_END = 2,  /* end of stream: the sender's segment ended */
};

/*
 * Why a message was refused (or, from BRIDGE_E_JPEG on, found by the receiver
 * after decoding). Index of the receiver's drop counters.
 */
enum bridge_error {
	BRIDGE_OK = 0,
	BRIDGE_E_PARTS,    /* wrong number of message parts */
	BRIDGE_E_SHORT,    /* shorter than the header */
	BRIDGE_E_MAGIC,    /* not "FRBR" */
	BRIDGE_E_VERSION,  /* a version this receiver does not speak */
	BRIDGE_E_HEADER,   /* header size or reserved fields wrong */
	BRIDGE_E_KIND,     /* unknown payload kind */
	BRIDGE_E_FORMAT,   /* unknown format, or one that does not fit the kind */
	BRIDGE_E_GEOMETRY, /* width, height or stride impossible */
	BRIDGE_E_SIZE,     /* payload size disagrees with the header or geometry */
	BRIDGE_E_JSON,     /* imagezmq metadata is not the JSON object expected */
	BRIDGE_E_DTYPE,    /* imagezmq dtype not uint8/uint16 */
	BRIDGE_E_SHAPE,    /* imagezmq shape impossible */
	BRIDGE_E_JPEG,     /* corrupt, truncated or of another size than announced */
	BRIDGE_E_MISMATCH, /* does not match the segment it is for */
	BRIDGE_E_SEGMENT,  /* the segment could not be created or opened */
	BRIDGE_E_FULL,     /* recv --latest: no free slot */
	BRIDGE_E_COUNT
};

/* Short text of a bridge_error ("bad magic"). */
const char *bridge_error_text(int err);

/* One decoded frame message. Payload points into the message. */
struct bridge_meta {
	uint32_t kind;   /* enum bridge_kind */
	uint32_t format; /* enum fr_format */
	uint32_t width, height, stride;
	uint32_t flags;      /* frame flags (FR_FRAME_USER_MASK bits only) */
	uint64_t seq;        /* sender's sequence number (native) */
	uint64_t capture_ns; /* CLOCK_REALTIME ns at capture, 0 when unknown */
	const void *payload;
	uint64_t payload_bytes;
	/*
	 * imagezmq arrays say how many channels, not their order: a 3-channel
	 * array is bgr24 by OpenCV's convention but may fill an rgb24 segment.
	 */
	bool any_channel_order;
};

/* A message part as received. */
struct bridge_part {
	const void *data;
	size_t len;
};

/*
 * The formats a JPEG decodes into in place (TurboJPEG's pixel formats): gray8,
 * rgb24, bgr24, rgba32, bgra32.
 */
bool bridge_jpeg_pixel_format(uint32_t format);

/*
 * Decode a native message: exactly two parts, the header and the payload.
 * BRIDGE_OK with @m filled, or the bridge_error that refused it.
 */
int bridge_native_decode(const struct bridge_part *parts, unsigned nparts, struct bridge_meta *m);

/* Write the native header of @m (its payload_bytes included) into @out: part 1. */
void bridge_native_header(const struct bridge_meta *m, unsigned char out[BRIDGE_HEADER_BYTES]);

/*
 * Decode an imagezmq message: exactly two parts, JSON then bytes. An array
 * gives kind raw, a packed frame of gray8 ([h, w] or [h, w, 1] uint8), gray16
 * ([h, w] uint16, little-endian), bgr24 ([h, w, 3] uint8) or bgra32
 * ([h, w, 4] uint8); a JSON object with "msg" alone gives kind JPEG with
 * format, width and height 0 (the receiver reads them from the JPEG). The
 * "msg" value, when it is a string, is copied printable into @text (may be
 * NULL) of @text_len bytes.
 */
int bridge_izmq_decode(const struct bridge_part *parts, unsigned nparts, struct bridge_meta *m,
		       char *text, size_t text_len);

/*
 * The imagezmq JSON part for a frame of @format, @width x @height, or for a
 * JPEG when @jpeg, with @msg as its "msg" string, as Python's json.dumps writes
 * it. The length, or 0 when it does not fit @cap or the format has no imagezmq
 * array form (bridge_izmq_array_format).
 */
size_t bridge_izmq_json(char *out, size_t cap, const char *msg, bool jpeg, uint32_t format,
			uint32_t width, uint32_t height);

/* 1 when frames of @format can travel as imagezmq arrays (see bridge_izmq_decode). */
bool bridge_izmq_array_format(uint32_t format);

/* Bytes per pixel of a packed format, 0 for RAW, JPEG and the YUV ones. */
unsigned bridge_pixel_bytes(uint32_t format);

#endif /* FRAMERING_BRIDGE_WIRE_H */
