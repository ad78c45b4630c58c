/*
 * libFuzzer target: a hostile segment file, and a hostile peer scribbling on a
 * live segment.
 *
 * A random file almost never passes the magic and layout checks, so most
 * inputs start from a template: the bytes of a real segment made with
 * fr_create() at start-up (SPSC, MPMC and broadcast, fresh or after some
 * traffic, with RAW or pixel formats). The input is a small program run
 * against that file: patch raw bytes, set a named header/peer/descriptor/log
 * field to an edge value, resize the file (before anything is attached),
 * open producer and consumer handles (fr_open, or fr_open_from a sibling
 * handle), claim/publish/cancel, acquire/release,
 * info, stat and close, in any order. Patches after an open land in the live
 * mapping the handles use, so the data path meets corrupted counters, turn
 * words, descriptors, peer entries and log entries.
 *
 * Input format:
 *   byte 0: template (value % TEMPLATE_COUNT); the last one is "no template:
 *           the rest of the input is the whole file"
 *   then ops: one byte opcode (% OP_COUNT), followed by its operands.
 *
 * The file lives under /dev/shm with a name unique to this process and is
 * rewritten (ftruncate + pwrite) for every input. The harness checks what the
 * library promises for any segment content: calls return 0 or a documented
 * negative errno, a claimed slot is writable for its whole capacity, an
 * acquired frame's bytes lie within the slot (the harness reads them all),
 * a frame's width x height x stride never describes more than its slot,
 * info stays within its arrays; and nothing crashes, hangs or touches memory
 * outside the mapping (ASan, UBSan, libFuzzer's -timeout).
 *
 * Not exercised here (covered by the Criterion tests): files that make an
 * opener wait for a creator (shorter than the header, zero magic, magic with
 * state INIT), because the wait is a deliberate 500 ms; and shrinking the
 * file under live mappings, which no mmap user survives (SIGBUS).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <framering.h>

#include "layout.h"
#include "layout_fields.h"

#define MAX_FILE_BYTES (256u * 1024u)
#define HANDLES 2 /* per role */

/* ---- templates ------------------------------------------------------------ */

struct template_spec {
	uint32_t mode, slots, width, height, format;
	uint64_t frame_bytes;
	int traffic; /* frames to publish (and consume about half of) before the snapshot */
};

static const struct template_spec specs[] = {
	{FR_SPSC, 4, 0, 0, FR_FORMAT_RAW, 4096, 0},
	{FR_MPMC, 4, 0, 0, FR_FORMAT_RAW, 4096, 0},
	{FR_BROADCAST, 4, 0, 0, FR_FORMAT_RAW, 4096, 0},
	{FR_SPSC, 4, 16, 16, FR_FORMAT_GRAY8, 0, 6},
	{FR_MPMC, 8, 16, 16, FR_FORMAT_NV12, 0, 11},
	{FR_BROADCAST, 8, 8, 8, FR_FORMAT_RGB24, 0, 10},
};
#define SPEC_COUNT (sizeof specs / sizeof specs[0])
#define TEMPLATE_COUNT (SPEC_COUNT + 1) /* + raw file */

struct template {
	uint8_t *bytes;
	size_t len;
	uint32_t slots, log_count;
	uint64_t desc_offset, log_offset, payload_offset;
};

static struct template templates[SPEC_COUNT];
static char file_name[64];
static int file_fd = -1;

/* A broken promise: report and abort (libFuzzer saves the input). rc < 0: an errno. */
static void die(const char *what, int rc)
{
	if (rc < 0)
		fprintf(stderr, "fuzz_segment: %s: %d (%s)\n", what, rc, fr_strerror(rc));
	else
		fprintf(stderr, "fuzz_segment: %s (value %d)\n", what, rc);
	abort();
}

static void traffic(struct fr_ring *prod, const char *name, int frames)
{
	struct fr_ring *cons = NULL;
	int rc = fr_open(name, FR_CONSUMER, &cons);
	if (rc < 0)
		die("template consumer", rc);
	for (int i = 0; i < frames; i++) {
		struct fr_frame f;
		if (fr_claim(prod, &f, 0) != 0)
			break;
		memset(f.data, i, (size_t)f.capacity);
		if ((rc = fr_publish(prod, &f)) != 0)
			die("template publish", rc);
		if (i % 2 == 0 && fr_acquire(cons, &f, 0) == 0)
			fr_release(cons, &f);
	}
	fr_close(cons);
}

static void make_template(size_t i)
{
	const struct template_spec *s = &specs[i];
	char name[64];
	snprintf(name, sizeof name, "/frfuzz-tpl-%d-%zu", (int)getpid(), i);
	fr_unlink(name);
	struct fr_config cfg = {.mode = s->mode, .slots = s->slots, .width = s->width,
				.height = s->height, .format = s->format,
				.frame_bytes = s->frame_bytes};
	struct fr_ring *ring = NULL;
	int rc = fr_create(name, &cfg, &ring);
	if (rc < 0)
		die("template fr_create", rc);
	if (s->traffic)
		traffic(ring, name, s->traffic);
	fr_close(ring);

	char path[96];
	snprintf(path, sizeof path, "/dev/shm%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || (size_t)st.st_size > MAX_FILE_BYTES)
		die("template file", -errno);
	struct template *t = &templates[i];
	t->len = (size_t)st.st_size;
	t->bytes = malloc(t->len);
	if (!t->bytes || pread(fd, t->bytes, t->len, 0) != (ssize_t)t->len)
		die("template read", -errno);
	close(fd);
	fr_unlink(name);
	const struct fr_shm_header *h = (const struct fr_shm_header *)(void *)t->bytes;
	t->slots = h->slot_count;
	t->log_count = h->log_count;
	t->desc_offset = h->desc_offset;
	t->log_offset = h->log_offset;
	t->payload_offset = h->payload_offset;
}

static void remove_file(void)
{
	if (file_name[0])
		fr_unlink(file_name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < SPEC_COUNT; i++)
		make_template(i);
	snprintf(file_name, sizeof file_name, "/frfuzz-%d", (int)getpid());
	char path[96];
	snprintf(path, sizeof path, "/dev/shm%s", file_name);
	file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (file_fd < 0)
		die("segment file", -errno);
	atexit(remove_file);
	return 0;
}

/* ---- input reader --------------------------------------------------------- */

struct input {
	const uint8_t *p;
	size_t left;
};

static bool more(const struct input *in)
{
	return in->left > 0;
}

static uint8_t u8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint16_t u16(struct input *in)
{
	uint16_t lo = u8(in);
	return (uint16_t)(lo | (uint16_t)u8(in) << 8);
}

static uint64_t u64(struct input *in)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)u8(in) << (8 * i);
	return v;
}

/* ---- fields a hostile peer may scribble on -------------------------------- */

enum area { AREA_HEADER, AREA_PEER, AREA_DESC, AREA_LOG };

struct field {
	enum area area;
	uint16_t offset; /* within the header / entry */
	uint8_t size;    /* 4 or 8 */
};

#define HF(name) {AREA_HEADER, offsetof(struct fr_shm_header, name), \
		  sizeof(((struct fr_shm_header *)0)->name)}
#define PF(name) {AREA_PEER, offsetof(struct fr_shm_peer, name), \
		  sizeof(((struct fr_shm_peer *)0)->name)}
#define DF(name) {AREA_DESC, offsetof(struct fr_shm_desc, name), \
		  sizeof(((struct fr_shm_desc *)0)->name)}

/* One entry of the lists below (../layout_fields.h). */
#define HF_(name) HF(name),
#define PF_(name) PF(name),
#define DF_(name) DF(name),

static const struct field fields[] = {
	{AREA_HEADER, 0, 8}, /* magic */
	FRT_HEADER_FIELDS(HF_)
	FRT_PEER_FIELDS(PF_)    /* a peer entry */
	FRT_DESC_FIELDS(DF_)    /* a slot descriptor */
	{AREA_LOG, 0, 8},       /* a broadcast publish log entry */
};
#define FIELD_COUNT (sizeof fields / sizeof fields[0])

static const uint64_t edge_values[] = {
	0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 63, 64, 65, 0x7f, 0x80, 0xff, 0x100, 4095, 4096,
	65536, 0x7fffffff, 0x80000000u, 0xffffffffu, UINT64_C(0x100000000),
	UINT64_C(0x80000000ffffffff), UINT64_C(0x7fffffffffffffff), UINT64_C(0x8000000000000000),
	UINT64_MAX - 1, UINT64_MAX,
	UINT64_C(0xffffffff00000000),
};
#define EDGE_COUNT (sizeof edge_values / sizeof edge_values[0])

/* ---- the run -------------------------------------------------------------- */

struct run {
	uint8_t *map; /* the harness's own view of the file */
	size_t len;
	const struct template *t; /* NULL for a raw file */
	struct fr_ring *prod[HANDLES], *cons[HANDLES];
	struct fr_frame pf[HANDLES], cf[HANDLES];
	bool pheld[HANDLES], cheld[HANDLES];
	bool attached_once;
};

/* Would fr_open/fr_stat wait for a creator that is still at work? (see header comment) */
static bool opener_would_wait(const struct run *r)
{
	if (r->len < sizeof(struct fr_shm_header))
		return true;
	static const char zeros[8];
	const struct fr_shm_header *h = (const struct fr_shm_header *)(void *)r->map;
	uint32_t state;
	memcpy(&state, r->map + offsetof(struct fr_shm_header, state), sizeof state);
	return memcmp(h->magic, zeros, 8) == 0 ||
	       (memcmp(h->magic, FR_SHM_MAGIC, 8) == 0 && state == FR_SHM_INIT);
}

static void check_rc(const char *call, int rc, const int *allowed, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rc == allowed[i])
			return;
	die(call, rc);
}
#define CHECK_RC(call, rc, ...)                                                     \
	do {                                                                        \
		static const int allowed_[] = {__VA_ARGS__};                       \
		check_rc(call, rc, allowed_, sizeof allowed_ / sizeof allowed_[0]); \
	} while (0)

static void write_field(struct run *r, struct input *in)
{
	if (!r->t)
		return;
	const struct field *fd = &fields[u8(in) % FIELD_COUNT];
	uint8_t index = u8(in);
	uint64_t at;
	switch (fd->area) {
	case AREA_HEADER:
		at = fd->offset;
		break;
	case AREA_PEER:
		at = offsetof(struct fr_shm_header, peers) +
		     (uint64_t)(index % FR_MAX_PEERS) * FR_SHM_PEER_BYTES + fd->offset;
		break;
	case AREA_DESC:
		at = r->t->desc_offset + (uint64_t)(index % r->t->slots) * FR_SHM_DESC_BYTES +
		     fd->offset;
		break;
	default:
		if (!r->t->log_count)
			return;
		at = r->t->log_offset + (uint64_t)(index % r->t->log_count) * 8u;
		break;
	}
	if (at + fd->size > r->len)
		return;
	uint64_t cur = 0, v;
	memcpy(&cur, r->map + at, fd->size);
	uint8_t how = u8(in);
	if (how < 64)
		v = edge_values[how % EDGE_COUNT];
	else if (how < 128)
		v = cur + (uint64_t)(int64_t)(int8_t)u8(in); /* a near miss */
	else if (how < 160)
		v = cur ^ (UINT64_C(1) << (u8(in) % (8 * fd->size))); /* one bit */
	else
		v = u64(in);
	memcpy(r->map + at, &v, fd->size); /* little-endian: the low bytes for 4-byte fields */
}

static void patch_bytes(struct run *r, struct input *in)
{
	size_t span = r->t ? (size_t)r->t->payload_offset : r->len;
	if (span > r->len)
		span = r->len;
	if (!span)
		return;
	size_t at = u16(in) % span;
	size_t n = u8(in) % 16 + 1;
	for (size_t i = 0; i < n && at + i < r->len; i++)
		r->map[at + i] = u8(in);
}

static void resize(struct run *r, struct input *in)
{
	if (r->attached_once)
		return; /* shrinking a mapped file makes every user SIGBUS: out of scope */
	size_t len = (size_t)u16(in) * 8u;
	if (len > MAX_FILE_BYTES)
		len = MAX_FILE_BYTES;
	munmap(r->map, r->len ? r->len : 1);
	if (ftruncate(file_fd, (off_t)len) != 0)
		die("ftruncate", -errno);
	r->len = len;
	r->map = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd, 0);
	if (r->map == MAP_FAILED)
		die("mmap", -errno);
}

static void check_info(const struct fr_info *info)
{
	if (info->peer_count > FR_MAX_PEERS || info->live_peers > info->peer_count)
		die("info peer counts", (int)info->peer_count);
	for (uint32_t i = 0; i < info->peer_count; i++)
		if (info->peers[i].index >= FR_MAX_PEERS)
			die("info peer index", (int)info->peers[i].index);
	if (info->slots < FR_MIN_SLOTS || info->slots > FR_MAX_SLOTS)
		die("info slots", (int)info->slots);
}

static void do_open(struct run *r, struct input *in, bool producer)
{
	unsigned j = u8(in) % HANDLES;
	uint8_t opts = u8(in);
	struct fr_ring **slot = producer ? &r->prod[j] : &r->cons[j];
	if (*slot || opener_would_wait(r))
		return;
	unsigned flags = producer ? FR_PRODUCER : FR_CONSUMER;
	if (!producer) {
		if (opts & 1)
			flags |= FR_LATEST;
		if (opts & 2)
			flags |= FR_FROM_OLDEST;
	}
	int rc = fr_open(file_name, flags, slot);
	CHECK_RC("fr_open", rc, 0, -EPROTO, -EBUSY, -EINVAL);
	if (rc == 0) {
		r->attached_once = true;
		if (opts & 4)
			fr_set_spin(*slot, 0);
	} else {
		*slot = NULL;
	}
}

/*
 * Does a frame's geometry fit in @capacity bytes? From the format definitions
 * in framering.h, independently of the library and without wrapping.
 */
static bool geometry_fits(const struct fr_frame *f)
{
	static const uint8_t bpp[FR_FORMAT_COUNT] = {
		[FR_FORMAT_GRAY8] = 1, [FR_FORMAT_GRAY16] = 2, [FR_FORMAT_RGB24] = 3,
		[FR_FORMAT_BGR24] = 3, [FR_FORMAT_RGBA32] = 4, [FR_FORMAT_BGRA32] = 4,
		[FR_FORMAT_YUYV] = 2, [FR_FORMAT_NV12] = 1, [FR_FORMAT_I420] = 1,
	};
	if (f->format >= FR_FORMAT_COUNT)
		return false;
	if (f->format == FR_FORMAT_RAW || f->format == FR_FORMAT_JPEG)
		return true;
	uint64_t row = (uint64_t)f->width * bpp[f->format];
	uint64_t s = f->stride ? f->stride : (row + 63) / 64 * 64;
	uint64_t luma, chroma = 0, total;
	if (s < row || __builtin_mul_overflow(s, (uint64_t)f->height, &luma))
		return false;
	if (f->format == FR_FORMAT_NV12 &&
	    __builtin_mul_overflow(s, (uint64_t)f->height / 2, &chroma))
		return false;
	if (f->format == FR_FORMAT_I420 &&
	    __builtin_mul_overflow(2 * (s / 2), (uint64_t)f->height / 2, &chroma))
		return false;
	return !__builtin_add_overflow(luma, chroma, &total) && total <= f->capacity;
}

/* Another handle on a sibling's mapping (fr_open_from): a peer of its own. */
static void do_open_from(struct run *r, struct input *in)
{
	uint8_t which = u8(in), opts = u8(in);
	struct fr_ring *all[2 * HANDLES] = {r->prod[0], r->prod[1], r->cons[0], r->cons[1]};
	struct fr_ring *sibling = all[which % (2 * HANDLES)];
	bool producer = opts & 8;
	unsigned j = (opts >> 4) % HANDLES;
	struct fr_ring **slot = producer ? &r->prod[j] : &r->cons[j];
	if (!sibling || *slot)
		return;
	unsigned flags = producer ? FR_PRODUCER : FR_CONSUMER;
	if (!producer) {
		if (opts & 1)
			flags |= FR_LATEST;
		if (opts & 2)
			flags |= FR_FROM_OLDEST;
	}
	int rc = fr_open_from(sibling, flags, slot);
	CHECK_RC("fr_open_from", rc, 0, -EBUSY, -EINVAL);
	if (rc != 0)
		*slot = NULL;
}

static void do_claim(struct run *r, struct input *in)
{
	unsigned j = u8(in) % HANDLES;
	if (!r->prod[j])
		return;
	struct fr_frame *f = &r->pf[j];
	int rc = fr_claim(r->prod[j], f, 0);
	CHECK_RC("fr_claim", rc, 0, -EAGAIN, -EPROTO, -EBUSY);
	if (rc == 0) {
		if (!f->data || f->bytes > f->capacity || f->capacity > MAX_FILE_BYTES)
			die("claimed frame", (int)f->bytes);
		if (!geometry_fits(f))
			die("claimed frame's default geometry does not fit the slot",
			    (int)f->format);
		memset(f->data, 0x5a, (size_t)f->capacity); /* the whole slot is ours to write */
		r->pheld[j] = true;
	}
}

static void do_publish(struct run *r, struct input *in)
{
	unsigned j = u8(in) % HANDLES;
	uint8_t tweak = u8(in);
	if (!r->prod[j] || !r->pheld[j])
		return;
	struct fr_frame *f = &r->pf[j];
	if (tweak & 1)
		f->bytes = u64(in) % (2 * f->capacity + 2); /* may exceed the slot: -EINVAL */
	if (tweak & 2)
		f->flags = (uint32_t)u64(in);
	if (tweak & 4)
		f->format = u8(in) % (FR_FORMAT_COUNT + 2);
	if (tweak & 8) {
		f->width = u16(in);
		f->height = u16(in);
		f->stride = u16(in);
	}
	int rc = fr_publish(r->prod[j], f);
	CHECK_RC("fr_publish", rc, 0, -EINVAL, -EPROTO);
	if (rc != -EINVAL) /* -EPROTO: the slot was taken from us, the frame is gone */
		r->pheld[j] = false;
}

static void do_cancel(struct run *r, struct input *in)
{
	unsigned j = u8(in) % HANDLES;
	if (!r->prod[j] || !r->pheld[j])
		return;
	int rc = fr_cancel(r->prod[j], &r->pf[j]);
	CHECK_RC("fr_cancel", rc, 0, -EPROTO);
	r->pheld[j] = false; /* given back, or (-EPROTO) taken from us */
}

static volatile uint8_t sink;

static void do_acquire(struct run *r, struct input *in)
{
	unsigned j = u8(in) % HANDLES;
	uint8_t opts = u8(in);
	if (!r->cons[j])
		return;
	struct fr_frame *f = &r->cf[j];
	int rc = fr_acquire_ex(r->cons[j], f, 0, (opts & 1) ? FR_ACQUIRE_NEWEST : 0);
	CHECK_RC("fr_acquire", rc, 0, -EAGAIN, -EPROTO, -EPIPE, -EBUSY, -EINVAL);
	if (rc == 0) {
		if (!f->data || f->bytes > f->capacity || f->capacity > MAX_FILE_BYTES ||
		    f->format >= FR_FORMAT_COUNT)
			die("acquired frame", (int)f->bytes);
		if (!geometry_fits(f))
			die("acquired frame's geometry does not fit the slot", (int)f->format);
		/* Read every byte the library says is the frame: outside the
		 * mapping this faults or trips ASan. */
		const volatile uint8_t *p = f->data;
		uint8_t x = 0;
		for (uint64_t i = 0; i < f->bytes; i++)
			x ^= p[i];
		if (f->capacity)
			x ^= p[f->capacity - 1];
		sink = x;
		r->cheld[j] = true;
	}
}

static void do_release(struct run *r, struct input *in)
{
	unsigned j = u8(in) % HANDLES;
	if (!r->cons[j] || !r->cheld[j])
		return;
	int rc = fr_release(r->cons[j], &r->cf[j]);
	CHECK_RC("fr_release", rc, 0, -EPROTO);
	r->cheld[j] = false; /* given back, or (-EPROTO) taken from us */
}

static void do_info(struct run *r, struct input *in)
{
	unsigned j = u8(in) % (2 * HANDLES);
	struct fr_ring *ring = j < HANDLES ? r->prod[j] : r->cons[j - HANDLES];
	if (!ring)
		return;
	struct fr_info info;
	int rc = fr_info(ring, &info);
	CHECK_RC("fr_info", rc, 0);
	check_info(&info);
}

static void do_stat(struct run *r)
{
	if (opener_would_wait(r))
		return;
	struct fr_info info;
	int rc = fr_stat(file_name, &info);
	CHECK_RC("fr_stat", rc, 0, -EPROTO);
	if (rc == 0)
		check_info(&info);
}

static void do_close(struct run *r, struct input *in)
{
	unsigned j = u8(in) % (2 * HANDLES);
	if (j < HANDLES) {
		fr_close(r->prod[j]);
		r->prod[j] = NULL;
		r->pheld[j] = false;
	} else {
		fr_close(r->cons[j - HANDLES]);
		r->cons[j - HANDLES] = NULL;
		r->cheld[j - HANDLES] = false;
	}
}

enum op {
	OP_PATCH, OP_FIELD, OP_FIELD2, OP_RESIZE, OP_OPEN_PRODUCER, OP_OPEN_CONSUMER, OP_CLAIM,
	OP_PUBLISH, OP_CANCEL, OP_ACQUIRE, OP_RELEASE, OP_INFO, OP_STAT, OP_CLOSE, OP_OPEN_FROM,
	OP_COUNT
};

/* With no ops left, a default script: the whole API once over the file as it is. */
static void default_script(struct run *r)
{
	static const uint8_t script[] = {
		OP_STAT,
		OP_OPEN_CONSUMER, 0, 0,
		OP_OPEN_PRODUCER, 0, 0,
		OP_INFO, 0,
		OP_ACQUIRE, 0, 0,
		OP_RELEASE, 0,
		OP_CLAIM, 0,
		OP_PUBLISH, 0, 0,
		OP_ACQUIRE, 0, 0,
		OP_RELEASE, 0,
		OP_INFO, 2,
	};
	struct input in = {script, sizeof script};
	while (more(&in)) {
		switch (u8(&in)) {
		case OP_STAT: do_stat(r); break;
		case OP_OPEN_CONSUMER: do_open(r, &in, false); break;
		case OP_OPEN_PRODUCER: do_open(r, &in, true); break;
		case OP_INFO: do_info(r, &in); break;
		case OP_ACQUIRE: do_acquire(r, &in); break;
		case OP_RELEASE: do_release(r, &in); break;
		case OP_CLAIM: do_claim(r, &in); break;
		case OP_PUBLISH: do_publish(r, &in); break;
		default: break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct input in = {data + 1, size - 1};
	struct run r;
	memset(&r, 0, sizeof r);
	unsigned which = data[0] % TEMPLATE_COUNT;
	const uint8_t *bytes;
	if (which < SPEC_COUNT) {
		r.t = &templates[which];
		bytes = r.t->bytes;
		r.len = r.t->len;
	} else {
		bytes = in.p; /* the rest of the input is the file */
		r.len = in.left > MAX_FILE_BYTES ? MAX_FILE_BYTES : in.left;
		in.left = 0;
	}
	/* Same file every run: empty it (dropping the old pages), then refill. */
	if (ftruncate(file_fd, 0) != 0 || ftruncate(file_fd, (off_t)r.len) != 0 ||
	    (r.len && pwrite(file_fd, bytes, r.len, 0) != (ssize_t)r.len))
		die("rewrite segment file", -errno);
	r.map = mmap(NULL, r.len ? r.len : 1, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd, 0);
	if (r.map == MAP_FAILED)
		die("mmap", -errno);

	if (!more(&in))
		default_script(&r);
	while (more(&in)) {
		switch ((enum op)(u8(&in) % OP_COUNT)) {
		case OP_PATCH: patch_bytes(&r, &in); break;
		case OP_FIELD:
		case OP_FIELD2: write_field(&r, &in); break;
		case OP_RESIZE: resize(&r, &in); break;
		case OP_OPEN_PRODUCER: do_open(&r, &in, true); break;
		case OP_OPEN_CONSUMER: do_open(&r, &in, false); break;
		case OP_CLAIM: do_claim(&r, &in); break;
		case OP_PUBLISH: do_publish(&r, &in); break;
		case OP_CANCEL: do_cancel(&r, &in); break;
		case OP_ACQUIRE: do_acquire(&r, &in); break;
		case OP_RELEASE: do_release(&r, &in); break;
		case OP_INFO: do_info(&r, &in); break;
		case OP_STAT: do_stat(&r); break;
		case OP_CLOSE: do_close(&r, &in); break;
		case OP_OPEN_FROM: do_open_from(&r, &in); break;
		case OP_COUNT: break;
		}
	}
	for (unsigned j = 0; j < HANDLES; j++) {
		fr_close(r.cons[j]);
		fr_close(r.prod[j]);
	}
	munmap(r.map, r.len ? r.len : 1);
	return 0;
}
