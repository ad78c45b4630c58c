/* The bridge's wire formats: see bridge_wire.h. No sockets, no codec: fuzzable alone. */
#include "bridge_wire.h"

#include <stdio.h>
#include <string.h>

#include "framering.h"

static const char *const error_texts[BRIDGE_E_COUNT] = {
	[BRIDGE_OK] = "ok",
	[BRIDGE_E_PARTS] = "wrong number of message parts",
	[BRIDGE_E_SHORT] = "shorter than its header",
	[BRIDGE_E_MAGIC] = "bad magic",
	[BRIDGE_E_VERSION] = "unsupported version",
	[BRIDGE_E_HEADER] = "bad header",
	[BRIDGE_E_KIND] = "unknown payload kind",
	[BRIDGE_E_FORMAT] = "bad format",
	[BRIDGE_E_GEOMETRY] = "bad geometry",
	[BRIDGE_E_SIZE] = "wrong payload size",
	[BRIDGE_E_JSON] = "bad JSON metadata",
	[BRIDGE_E_DTYPE] = "unsupported dtype",
	[BRIDGE_E_SHAPE] = "bad shape",
	[BRIDGE_E_JPEG] = "bad JPEG",
	[BRIDGE_E_MISMATCH] = "does not match the segment",
	[BRIDGE_E_SEGMENT] = "segment unavailable",
	[BRIDGE_E_FULL] = "no free slot",
};

const char *bridge_error_text(int err)
{
	if (err < 0 || err >= BRIDGE_E_COUNT)
		return "unknown error";
	return error_texts[err];
}

bool bridge_jpeg_pixel_format(uint32_t format)
{
	return format == FR_FORMAT_GRAY8 || format == FR_FORMAT_RGB24 ||
	       format == FR_FORMAT_BGR24 || format == FR_FORMAT_RGBA32 ||
	       format == FR_FORMAT_BGRA32;
}

unsigned bridge_pixel_bytes(uint32_t format)
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

bool bridge_izmq_array_format(uint32_t format)
{
	return bridge_pixel_bytes(format) != 0;
}

/* ---- native ---------------------------------------------------------------- */

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

void bridge_native_header(const struct bridge_meta *m, unsigned char out[BRIDGE_HEADER_BYTES])
{
	memset(out, 0, BRIDGE_HEADER_BYTES);
	memcpy(out, BRIDGE_MAGIC, 4);
	put16(out + 4, BRIDGE_VERSION);
	put16(out + 6, BRIDGE_HEADER_BYTES);
	out[8] = (unsigned char)m->kind;
	put32(out + 12, m->format);
	put32(out + 16, m->width);
	put32(out + 20, m->height);
	put32(out + 24, m->stride);
	put32(out + 28, m->flags & FR_FRAME_USER_MASK);
	put64(out + 32, m->seq);
	put64(out + 40, m->capture_ns);
	put64(out + 48, m->payload_bytes);
}

static bool size_ok(uint32_t width, uint32_t height)
{
	return width >= 1 && height >= 1 && width <= 65535 && height <= 65535;
}

/* A raw frame: its bytes must be exactly what the geometry takes. */
static int check_raw(struct bridge_meta *m)
{
	if (m->format == FR_FORMAT_RAW)
		return m->payload_bytes <= BRIDGE_MAX_FRAME_BYTES ? BRIDGE_OK : BRIDGE_E_SIZE;
	if (m->format == FR_FORMAT_JPEG || m->format >= FR_FORMAT_COUNT)
		return BRIDGE_E_FORMAT;
	uint64_t need;
	if (!size_ok(m->width, m->height) ||
	    fr_format_frame_bytes(m->format, m->width, m->height, m->stride, &need))
		return BRIDGE_E_GEOMETRY;
	if (!m->stride)
		m->stride = (uint32_t)fr_format_default_stride(m->format, m->width);
	if (need > BRIDGE_MAX_FRAME_BYTES || m->payload_bytes != need)
		return BRIDGE_E_SIZE;
	return BRIDGE_OK;
}

/*
 * A JPEG: of a size that decodes within the limits, into a format it can fill
 * (or format jpeg: it stays compressed). No stride: the receiver's rows are its own.
 */
static int check_jpeg(struct bridge_meta *m)
{
	if (m->format != FR_FORMAT_JPEG && !bridge_jpeg_pixel_format(m->format))
		return BRIDGE_E_FORMAT;
	if (!size_ok(m->width, m->height) || m->stride)
		return BRIDGE_E_GEOMETRY;
	unsigned px = m->format == FR_FORMAT_JPEG ? 4 : bridge_pixel_bytes(m->format);
	if ((uint64_t)m->width * m->height * px > BRIDGE_MAX_FRAME_BYTES)
		return BRIDGE_E_SIZE;
	if (m->payload_bytes < 4 || m->payload_bytes > BRIDGE_MAX_FRAME_BYTES)
		return BRIDGE_E_SIZE;
	return BRIDGE_OK;
}

int bridge_native_decode(const struct bridge_part *parts, unsigned nparts, struct bridge_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (nparts != 2)
		return BRIDGE_E_PARTS;
	const unsigned char *p = parts[0].data;
	size_t len = parts[0].len;
	if (len < 8)
		return BRIDGE_E_SHORT;
	if (memcmp(p, BRIDGE_MAGIC, 4))
		return BRIDGE_E_MAGIC;
	if (get16(p + 4) != BRIDGE_VERSION)
		return BRIDGE_E_VERSION;
	if (get16(p + 6) != BRIDGE_HEADER_BYTES)
		return BRIDGE_E_HEADER;
	if (len < BRIDGE_HEADER_BYTES)
		return BRIDGE_E_SHORT;
	if (len > BRIDGE_HEADER_BYTES || p[9] || p[10] || p[11] || get64(p + 56))
		return BRIDGE_E_HEADER;
	m->kind = p[8];
	m->format = get32(p + 12);
	m->width = get32(p + 16);
	m->height = get32(p + 20);
	m->stride = get32(p + 24);
	m->flags = get32(p + 28);
	m->seq = get64(p + 32);
	m->capture_ns = get64(p + 40);
	m->payload_bytes = get64(p + 48);
	m->payload = parts[1].data;
	if (m->flags & ~FR_FRAME_USER_MASK)
		return BRIDGE_E_HEADER;
	if (m->payload_bytes != parts[1].len)
		return BRIDGE_E_SIZE;
	switch (m->kind) {
	case BRIDGE_RAW: return check_raw(m);
	case BRIDGE_JPEG: return check_jpeg(m);
	case BRIDGE_END: return m->payload_bytes ? BRIDGE_E_SIZE : BRIDGE_OK;
	default: return BRIDGE_E_KIND;
	}
}

/* ---- JSON (imagezmq metadata) -------------------------------------------------- */

/* A cursor over untrusted JSON text; nothing past @end is ever read. */
struct jcur {
	const unsigned char *p, *end;
	int depth;
};

static void skip_ws(struct jcur *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool take(struct jcur *j, char c)
{
	skip_ws(j);
	if (j->p < j->end && *j->p == (unsigned char)c) {
		j->p++;
		return true;
	}
	return false;
}

static int hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append one byte to @out if there is room (always leaves room for the NUL). */
static void out_byte(char *out, size_t cap, size_t *n, unsigned char c)
{
	if (out && *n + 1 < cap)
		out[*n] = (char)c;
	(*n)++;
}

/*
 * A string: validated, decoded into @out (NUL-terminated, cut at @cap; may be
 * NULL), its decoded length in *len. Escapes \uXXXX become UTF-8 (a lone
 * surrogate included: only lengths and ASCII keys matter here).
 */
static bool parse_string(struct jcur *j, char *out, size_t cap, size_t *len)
{
	size_t n = 0;

	skip_ws(j);
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = *j->p++;
		if (c == '"') {
			if (out && cap)
				out[n < cap ? n : cap - 1] = '\0';
			*len = n;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			out_byte(out, cap, &n, c);
			continue;
		}
		if (j->p >= j->end)
			return false;
		c = *j->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/': out_byte(out, cap, &n, c); break;
		case 'b': out_byte(out, cap, &n, '\b'); break;
		case 'f': out_byte(out, cap, &n, '\f'); break;
		case 'n': out_byte(out, cap, &n, '\n'); break;
		case 'r': out_byte(out, cap, &n, '\r'); break;
		case 't': out_byte(out, cap, &n, '\t'); break;
		case 'u': {
			unsigned v = 0;
			if (j->end - j->p < 4)
				return false;
			for (int i = 0; i < 4; i++) {
				int h = hex(j->p[i]);
				if (h < 0)
					return false;
				v = v << 4 | (unsigned)h;
			}
			j->p += 4;
			if (v < 0x80) {
				out_byte(out, cap, &n, (unsigned char)v);
			} else if (v < 0x800) {
				out_byte(out, cap, &n, (unsigned char)(0xc0 | v >> 6));
				out_byte(out, cap, &n, (unsigned char)(0x80 | (v & 0x3f)));
			} else {
				out_byte(out, cap, &n, (unsigned char)(0xe0 | v >> 12));
				out_byte(out, cap, &n, (unsigned char)(0x80 | ((v >> 6) & 0x3f)));
				out_byte(out, cap, &n, (unsigned char)(0x80 | (v & 0x3f)));
			}
			break;
		}
		default: return false;
		}
	}
	return false;
}

/*
 * A number as JSON writes it. *is_count: it was a plain non-negative integer
 * (no sign, fraction or exponent) of at most 20 digits, its value in *v.
 */
static bool parse_number(struct jcur *j, bool *is_count, uint64_t *v)
{
	const unsigned char *start;
	bool plain = true;
	uint64_t val = 0;
	int digits = 0;

	skip_ws(j);
	start = j->p;
	if (j->p < j->end && *j->p == '-') {
		plain = false;
		j->p++;
	}
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return false;
	if (*j->p == '0') {
		j->p++;
	} else {
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
			unsigned d = (unsigned)(*j->p++ - '0');
			if (++digits > 19 || val > (UINT64_MAX - d) / 10)
				plain = false;
			else
				val = val * 10 + d;
		}
	}
	if (j->p < j->end && *j->p == '.') {
		plain = false;
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		plain = false;
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	*is_count = plain && j->p > start;
	*v = val;
	return true;
}

static bool parse_word(struct jcur *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
		return false;
	j->p += n;
	return true;
}

static bool skip_value(struct jcur *j);

/* The members of an object or the elements of an array, after its bracket. */
static bool skip_container(struct jcur *j, char close, bool object)
{
	size_t len;

	if (++j->depth > BRIDGE_MAX_JSON_DEPTH)
		return false;
	if (take(j, close)) {
		j->depth--;
		return true;
	}
	do {
		if (object && (!parse_string(j, NULL, 0, &len) || !take(j, ':')))
			return false;
		if (!skip_value(j))
			return false;
	} while (take(j, ','));
	j->depth--;
	return take(j, close);
}

/* Any JSON value, checked and skipped. */
static bool skip_value(struct jcur *j)
{
	size_t len;
	bool count;
	uint64_t v;

	skip_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '"': return parse_string(j, NULL, 0, &len);
	case '{': j->p++; return skip_container(j, '}', true);
	case '[': j->p++; return skip_container(j, ']', false);
	case 't': return parse_word(j, "true");
	case 'f': return parse_word(j, "false");
	case 'n': return parse_word(j, "null");
	default: return parse_number(j, &count, &v);
	}
}

/* What the imagezmq metadata said. */
struct izmq_md {
	bool have_msg, have_dtype, have_shape;
	char dtype[16];
	uint64_t shape[4];
	unsigned dims;
};

/* "shape": an array of 1..4 plain counts. */
static int parse_shape(struct jcur *j, struct izmq_md *md)
{
	if (!take(j, '['))
		return BRIDGE_E_SHAPE;
	if (take(j, ']'))
		return BRIDGE_E_SHAPE;
	do {
		bool count;
		uint64_t v;
		if (!parse_number(j, &count, &v))
			return BRIDGE_E_JSON;
		if (!count || md->dims >= 4)
			return BRIDGE_E_SHAPE;
		md->shape[md->dims++] = v;
	} while (take(j, ','));
	return take(j, ']') ? BRIDGE_OK : BRIDGE_E_JSON;
}

/* "msg": any value; a string is kept, printable, in @text. */
static bool parse_msg(struct jcur *j, char *text, size_t text_len)
{
	char buf[256];
	size_t len;

	skip_ws(j);
	if (j->p >= j->end || *j->p != '"')
		return skip_value(j);
	if (!parse_string(j, buf, sizeof(buf), &len))
		return false;
	if (text && text_len) {
		size_t n = 0;
		for (size_t i = 0; buf[i] && n + 1 < text_len; i++) {
			unsigned char c = (unsigned char)buf[i];
			text[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		}
		text[n] = '\0';
	}
	return true;
}

/* One member of the top-level object. */
static int parse_member(struct jcur *j, struct izmq_md *md, char *text, size_t text_len)
{
	char key[16];
	size_t len;

	if (!parse_string(j, key, sizeof(key), &len) || !take(j, ':'))
		return BRIDGE_E_JSON;
	if (len == 3 && !strcmp(key, "msg")) {
		if (md->have_msg)
			return BRIDGE_E_JSON;
		md->have_msg = true;
		return parse_msg(j, text, text_len) ? BRIDGE_OK : BRIDGE_E_JSON;
	}
	if (len == 5 && !strcmp(key, "dtype")) {
		if (md->have_dtype)
			return BRIDGE_E_JSON;
		md->have_dtype = true;
		skip_ws(j);
		if (j->p < j->end && *j->p != '"')
			return skip_value(j) ? BRIDGE_E_DTYPE : BRIDGE_E_JSON;
		if (!parse_string(j, md->dtype, sizeof(md->dtype), &len))
			return BRIDGE_E_JSON;
		return len < sizeof(md->dtype) ? BRIDGE_OK : BRIDGE_E_DTYPE;
	}
	if (len == 5 && !strcmp(key, "shape")) {
		if (md->have_shape)
			return BRIDGE_E_JSON;
		md->have_shape = true;
		return parse_shape(j, md);
	}
	return skip_value(j) ? BRIDGE_OK : BRIDGE_E_JSON; /* other keys: ignored */
}

static int parse_metadata(const struct bridge_part *json, struct izmq_md *md, char *text,
			  size_t text_len)
{
	struct jcur j = { json->data, (const unsigned char *)json->data + json->len, 0 };
	int rc;

	memset(md, 0, sizeof(*md));
	if (!json->len || json->len > BRIDGE_MAX_JSON_BYTES || !take(&j, '{'))
		return BRIDGE_E_JSON;
	if (!take(&j, '}')) {
		do {
			if ((rc = parse_member(&j, md, text, text_len)))
				return rc;
		} while (take(&j, ','));
		if (!take(&j, '}'))
			return BRIDGE_E_JSON;
	}
	skip_ws(&j);
	if (j.p != j.end || !md->have_msg)
		return BRIDGE_E_JSON;
	return BRIDGE_OK;
}

int bridge_izmq_decode(const struct bridge_part *parts, unsigned nparts, struct bridge_meta *m,
		       char *text, size_t text_len)
{
	struct izmq_md md;
	int rc;

	memset(m, 0, sizeof(*m));
	if (text && text_len)
		text[0] = '\0';
	if (nparts != 2)
		return BRIDGE_E_PARTS;
	if ((rc = parse_metadata(&parts[0], &md, text, text_len)))
		return rc;
	m->payload = parts[1].data;
	m->payload_bytes = parts[1].len;
	if (!md.have_dtype && !md.have_shape) {
		m->kind = BRIDGE_JPEG;
		m->format = FR_FORMAT_RAW; /* unknown until the JPEG is read */
		return m->payload_bytes >= 4 && m->payload_bytes <= BRIDGE_MAX_FRAME_BYTES
			   ? BRIDGE_OK
			   : BRIDGE_E_SIZE;
	}
	if (!md.have_dtype)
		return BRIDGE_E_DTYPE;
	if (!md.have_shape)
		return BRIDGE_E_SHAPE;
	unsigned esize;
	if (!strcmp(md.dtype, "uint8") || !strcmp(md.dtype, "|u1") || !strcmp(md.dtype, "u1"))
		esize = 1;
	else if (!strcmp(md.dtype, "uint16") || !strcmp(md.dtype, "<u2"))
		esize = 2;
	else
		return BRIDGE_E_DTYPE;
	uint64_t channels = md.dims == 3 ? md.shape[2] : 1;
	if (md.dims < 2 || md.dims > 3 || md.shape[0] < 1 || md.shape[0] > 65535 ||
	    md.shape[1] < 1 || md.shape[1] > 65535)
		return BRIDGE_E_SHAPE;
	if (esize == 2 ? channels != 1 : channels != 1 && channels != 3 && channels != 4)
		return BRIDGE_E_SHAPE;
	m->kind = BRIDGE_RAW;
	m->height = (uint32_t)md.shape[0];
	m->width = (uint32_t)md.shape[1];
	m->format = esize == 2      ? FR_FORMAT_GRAY16
		    : channels == 1 ? FR_FORMAT_GRAY8
		    : channels == 3 ? FR_FORMAT_BGR24
				    : FR_FORMAT_BGRA32;
	m->any_channel_order = channels >= 3;
	m->stride = (uint32_t)(m->width * channels * esize);
	uint64_t need = (uint64_t)m->stride * m->height;
	if (need > BRIDGE_MAX_FRAME_BYTES || m->payload_bytes != need)
		return BRIDGE_E_SIZE;
	return BRIDGE_OK;
}

/* @s as a JSON string body (no quotes): escapes as Python's json.dumps writes them. */
static size_t json_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];
		int k;
		if (*p == '"' || *p == '\\')
			k = snprintf(esc, sizeof(esc), "\\%c", *p);
		else if (*p == '\n')
			k = snprintf(esc, sizeof(esc), "\\n");
		else if (*p == '\t')
			k = snprintf(esc, sizeof(esc), "\\t");
		else if (*p == '\r')
			k = snprintf(esc, sizeof(esc), "\\r");
		else if (*p < 0x20)
			k = snprintf(esc, sizeof(esc), "\\u%04x", *p);
		else
			k = snprintf(esc, sizeof(esc), "%c", *p);
		if (n + (size_t)k >= cap)
			return cap; /* does not fit */
		memcpy(out + n, esc, (size_t)k);
		n += (size_t)k;
	}
	out[n] = '\0';
	return n;
}

size_t bridge_izmq_json(char *out, size_t cap, const char *msg, bool jpeg, uint32_t format,
			uint32_t width, uint32_t height)
{
	char esc[1024];
	int n;

	if (json_escape(esc, sizeof(esc), msg) >= sizeof(esc))
		return 0;
	if (jpeg) {
		n = snprintf(out, cap, "{\"msg\": \"%s\"}", esc);
	} else {
		unsigned px = bridge_pixel_bytes(format);
		if (!px)
			return 0;
		const char *dtype = format == FR_FORMAT_GRAY16 ? "uint16" : "uint8";
		if (px == 1 || format == FR_FORMAT_GRAY16)
			n = snprintf(out, cap,
				     "{\"msg\": \"%s\", \"dtype\": \"%s\", \"shape\": [%u, %u]}",
				     esc, dtype, height, width);
		else
			n = snprintf(
			    out, cap,
			    "{\"msg\": \"%s\", \"dtype\": \"%s\", \"shape\": [%u, %u, %u]}", esc,
			    dtype, height, width, px);
	}
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
