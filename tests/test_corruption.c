/*
 * Hostile memory: a peer scribbles over a LIVE segment while a producer
 * process and a consumer process use it (SPSC, MPMC, broadcast). Every header
 * field, every peer-table field (of the producer's entry, the consumer's and
 * an idle one), every descriptor field (of every slot) and the broadcast
 * publish log get out-of-range values, one field per run, several values in
 * a row. The two processes must return errors (-EPROTO, -ETIMEDOUT, ...) or
 * carry on, and never crash, hang, or touch memory outside the mapping: the
 * children check every return code and every frame the library hands out
 * (bytes within the slot, the whole slot readable/writable), the suite runs
 * under AddressSanitizer in CI, and a child whose calls stop returning is a
 * hang (generous bound, then the test kills it and fails).
 *
 * The children also re-open their handle now and then, so scribbled identity
 * fields and peer entries meet fr_open's validation and the reaper too.
 *
 * Suite open_identity: each identity field of a valid segment file perturbed
 * alone gives -EPROTO from fr_open (both roles) and fr_stat, or, for the
 * fields that are information only, a segment that still works.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <framering.h>

#include "layout.h"
#include "helpers.h"
#include "layout_fields.h"

/* How long a child may go without one library call returning (hang guard). */
#define STUCK_BOUND_S 60
/* Blocking calls in the children are bounded by this (never -1). */
#define CALL_TIMEOUT_MS 10
/* Children re-open their handle every this many calls. */
#define REOPEN_EVERY 40
#define FRAME_BYTES 4096u

/* ---- what to scribble on ---------------------------------------------------- */

enum area { AREA_HEADER, AREA_PEER, AREA_DESC, AREA_LOG };

struct target {
	const char *name;
	enum area area;
	size_t offset; /* within the header, peer entry or descriptor */
	unsigned size; /* 4 or 8 (the magic: 8) */
};

#define HF(f) {"header." #f, AREA_HEADER, offsetof(struct fr_shm_header, f), \
	       sizeof(((struct fr_shm_header *)0)->f)}
#define PF(f) {"peer." #f, AREA_PEER, offsetof(struct fr_shm_peer, f), \
	       sizeof(((struct fr_shm_peer *)0)->f)}
#define DF(f) {"desc." #f, AREA_DESC, offsetof(struct fr_shm_desc, f), \
	       sizeof(((struct fr_shm_desc *)0)->f)}

/* One entry of the lists below (layout_fields.h). */
#define HF_(f) HF(f),
#define PF_(f) PF(f),
#define DF_(f) DF(f),

static const struct target header_targets[] = {
	{"header.magic", AREA_HEADER, 0, 8},
	FRT_HEADER_FIELDS(HF_)
};

static const struct target peer_targets[] = {FRT_PEER_FIELDS(PF_)};

static const struct target desc_targets[] = {FRT_DESC_FIELDS(DF_)};

static const struct target log_target = {"log.entry", AREA_LOG, 0, 8};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the producer and consumer processes ---------------------------------- */

struct side {
	_Atomic uint64_t calls;  /* library calls that returned */
	_Atomic uint64_t frames; /* frames published / acquired */
	_Atomic uint64_t errors; /* calls that returned an error other than a timeout */
};

struct shared {
	_Atomic uint32_t stop;
	struct side side[2]; /* 0 producer, 1 consumer */
	char name[FRT_NAME_SIZE];
	uint32_t mode;
	uint64_t slot_bytes; /* payload stride: no frame may claim more */
};

/* A return code outside the documented set fails the child. */
static void check_rc(const char *call, int rc, const int *ok, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rc == ok[i])
			return;
	frt_child_fail(__FILE__, __LINE__, "%s returned %d (%s)", call, rc, fr_strerror(rc));
}
#define CHECK_RC(call, rc, ...)                                                   \
	do {                                                                      \
		static const int ok_[] = {__VA_ARGS__};                          \
		check_rc(call, rc, ok_, COUNT(ok_));                              \
	} while (0)

static void count_call(struct side *s, int rc)
{
	atomic_fetch_add(&s->calls, 1);
	if (rc < 0 && rc != -ETIMEDOUT && rc != -EAGAIN)
		atomic_fetch_add(&s->errors, 1);
}

/* Attach (again); NULL while the segment is refused or the role is taken. */
static struct fr_ring *attach(struct shared *sh, struct side *s, unsigned flags)
{
	struct fr_ring *ring = NULL;
	int rc = fr_open(sh->name, flags, &ring);
	CHECK_RC("fr_open", rc, 0, -EPROTO, -EBUSY);
	count_call(s, rc);
	if (rc != 0) {
		frt_sleep_ms(1);
		return NULL;
	}
	return ring;
}

/*
 * Does a frame's geometry fit in @capacity bytes? Computed here from the
 * format definitions (framering.h), independently of the library and without
 * wrapping: a frame whose width x height x stride claims more than its slot
 * would send a consumer that trusts it outside the mapping.
 */
static bool geometry_fits(uint32_t format, uint32_t width, uint32_t height, uint32_t stride,
			  uint64_t capacity)
{
	static const uint8_t bpp[FR_FORMAT_COUNT] = {
		[FR_FORMAT_GRAY8] = 1, [FR_FORMAT_GRAY16] = 2, [FR_FORMAT_RGB24] = 3,
		[FR_FORMAT_BGR24] = 3, [FR_FORMAT_RGBA32] = 4, [FR_FORMAT_BGRA32] = 4,
		[FR_FORMAT_YUYV] = 2, [FR_FORMAT_NV12] = 1, [FR_FORMAT_I420] = 1,
	};
	if (format >= FR_FORMAT_COUNT)
		return false;
	if (format == FR_FORMAT_RAW || format == FR_FORMAT_JPEG)
		return true;
	uint64_t row = (uint64_t)width * bpp[format]; /* < 2^34 */
	uint64_t s = stride ? stride : (row + 63) / 64 * 64;
	uint64_t luma, chroma = 0, total;
	if (s < row || __builtin_mul_overflow(s, (uint64_t)height, &luma))
		return false;
	if (format == FR_FORMAT_NV12 && __builtin_mul_overflow(s, (uint64_t)height / 2, &chroma))
		return false;
	if (format == FR_FORMAT_I420 &&
	    __builtin_mul_overflow(2 * (s / 2), (uint64_t)height / 2, &chroma))
		return false;
	return !__builtin_add_overflow(luma, chroma, &total) && total <= capacity;
}

static int producer_main(void *arg)
{
	struct shared *sh = arg;
	struct side *s = &sh->side[0];
	struct fr_ring *ring = NULL;
	uint64_t n = 0;
	while (!atomic_load(&sh->stop)) {
		if (!ring && !(ring = attach(sh, s, FR_PRODUCER)))
			continue;
		struct fr_frame f;
		int rc = fr_claim(ring, &f, CALL_TIMEOUT_MS);
		CHECK_RC("fr_claim", rc, 0, -ETIMEDOUT, -EPROTO);
		count_call(s, rc);
		if (rc == 0) {
			bool in_slot = f.data && f.bytes <= f.capacity &&
				       f.capacity <= sh->slot_bytes;
			bool fits =
				geometry_fits(f.format, f.width, f.height, f.stride, f.capacity);
			FRT_CHILD_CHECKF(in_slot, "claimed frame: data %p bytes %llu capacity %llu",
					 f.data, (unsigned long long)f.bytes,
					 (unsigned long long)f.capacity);
			FRT_CHILD_CHECKF(fits,
					 "claimed frame: format %u %ux%u stride %u does not fit "
					 "%llu bytes", f.format, f.width, f.height, f.stride,
					 (unsigned long long)f.capacity);
			memset(f.data, (int)(n & 0xff), (size_t)f.capacity); /* the whole slot */
			if (f.capacity > 64)
				f.bytes = f.capacity - n % 64;
			rc = fr_publish(ring, &f);
			CHECK_RC("fr_publish", rc, 0, -EPROTO);
			count_call(s, rc);
			if (rc == 0)
				atomic_fetch_add(&s->frames, 1);
			else /* -EPROTO: the frame is gone and the handle holds nothing */
				FRT_CHILD_CHECK(fr_cancel(ring, &f) == -EINVAL);
		}
		if (++n % REOPEN_EVERY == 0) {
			fr_close(ring);
			ring = NULL;
		}
	}
	fr_close(ring);
	return 0;
}

static volatile uint8_t sink;

static int consumer_main(void *arg)
{
	struct shared *sh = arg;
	struct side *s = &sh->side[1];
	struct fr_ring *ring = NULL;
	uint64_t n = 0;
	while (!atomic_load(&sh->stop)) {
		if (!ring && !(ring = attach(sh, s, FR_CONSUMER)))
			continue;
		struct fr_frame f;
		int rc = fr_acquire(ring, &f, CALL_TIMEOUT_MS);
		CHECK_RC("fr_acquire", rc, 0, -ETIMEDOUT, -EPROTO, -EPIPE);
		count_call(s, rc);
		if (rc == -EPIPE)
			frt_sleep_ms(1); /* a scribbled end-of-stream flag: keep asking */
		if (rc == 0) {
			bool in_slot = f.data && f.bytes <= f.capacity &&
				       f.capacity <= sh->slot_bytes && f.format < FR_FORMAT_COUNT;
			FRT_CHILD_CHECKF(in_slot,
					 "acquired frame: data %p bytes %llu capacity %llu "
					 "format %u", f.data, (unsigned long long)f.bytes,
					 (unsigned long long)f.capacity, f.format);
			/* Read all of it: outside the mapping this faults (or trips ASan). */
			const volatile uint8_t *p = f.data;
			uint8_t x = 0;
			for (uint64_t i = 0; i < f.capacity; i++)
				x ^= p[i];
			sink = x;
			bool fits =
				geometry_fits(f.format, f.width, f.height, f.stride, f.capacity);
			FRT_CHILD_CHECKF(fits,
					 "acquired frame: format %u %ux%u stride %u does not fit "
					 "%llu bytes", f.format, f.width, f.height, f.stride,
					 (unsigned long long)f.capacity);
			atomic_fetch_add(&s->frames, 1);
			rc = fr_release(ring, &f);
			CHECK_RC("fr_release", rc, 0, -EPROTO);
			count_call(s, rc);
		}
		if (++n % REOPEN_EVERY == 0) {
			fr_close(ring);
			ring = NULL;
		}
	}
	fr_close(ring);
	return 0;
}

/* ---- the scribbler (the test process) ------------------------------------- */

struct scenario {
	struct shared *sh;
	pid_t pid[2];
	struct frt_view v; /* writable; where things are as the creator made them */
};

static const char *side_name(int i)
{
	return i == 0 ? "producer" : "consumer";
}

/* Fail (after killing the children) unless both are still running. */
static void expect_running(struct scenario *sc, const char *what)
{
	for (int i = 0; i < 2; i++) {
		int st = frt_try_wait(sc->pid[i]);
		if (st >= 0) {
			frt_kill(sc->pid[1 - i]);
			sc->pid[0] = sc->pid[1] = 0;
			cr_assert(false, "%s: the %s ended early with status %d (128+n: signal n)",
				  what, side_name(i), st);
		}
	}
}

/* Wait until both children completed @calls more library calls. */
static void expect_progress(struct scenario *sc, uint64_t calls, const char *what)
{
	uint64_t want[2];
	for (int i = 0; i < 2; i++)
		want[i] = atomic_load(&sc->sh->side[i].calls) + calls;
	for (long waited_ms = 0;; waited_ms += 1) {
		expect_running(sc, what);
		if (atomic_load(&sc->sh->side[0].calls) >= want[0] &&
		    atomic_load(&sc->sh->side[1].calls) >= want[1])
			return;
		if (waited_ms > STUCK_BOUND_S * 1000L) {
			int stuck = atomic_load(&sc->sh->side[0].calls) < want[0] ? 0 : 1;
			frt_kill(sc->pid[0]);
			frt_kill(sc->pid[1]);
			sc->pid[0] = sc->pid[1] = 0;
			cr_assert(false,
				  "%s: the %s's library call has not returned for %d s (hang)",
				  what, side_name(stuck), STUCK_BOUND_S);
		}
		frt_sleep_ms(1);
	}
}

static void start(struct scenario *sc, uint32_t mode, const char *tag)
{
	memset(sc, 0, sizeof *sc);
	sc->sh = frt_shared_alloc(sizeof *sc->sh);
	cr_assert_not_null(sc->sh);
	struct shared *sh = sc->sh;
	frt_name(sh->name, sizeof sh->name, tag);
	sh->mode = mode;
	struct fr_config cfg = {.mode = mode, .slots = mode == FR_BROADCAST ? 8 : 4,
				.frame_bytes = FRAME_BYTES};
	struct fr_ring *ring = NULL;
	FRT_ASSERT_OK(fr_create(sh->name, &cfg, &ring));
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(ring, &info));
	sh->slot_bytes = info.payload_stride;
	fr_close(ring); /* never published: not end of stream */
	frt_view_open_ok(sh->name, 1, &sc->v);
	cr_assert_eq(sc->v.len, info.segment_bytes);

	sc->pid[0] = frt_spawn(producer_main, sh);
	sc->pid[1] = frt_spawn(consumer_main, sh);
	cr_assert_gt(sc->pid[0], 0);
	cr_assert_gt(sc->pid[1], 0);
	/* Frames flow before anything is scribbled on (else this test shows nothing). */
	for (long waited_ms = 0; atomic_load(&sh->side[1].frames) < 20; waited_ms++) {
		expect_running(sc, "before corruption");
		if (waited_ms > STUCK_BOUND_S * 1000L) {
			frt_kill(sc->pid[0]);
			frt_kill(sc->pid[1]);
			cr_assert(false, "no frames flow through a clean segment");
		}
		frt_sleep_ms(1);
	}
}

static void finish(struct scenario *sc, const char *what)
{
	atomic_store(&sc->sh->stop, 1);
	for (int i = 0; i < 2; i++) {
		int st = frt_wait(sc->pid[i], STUCK_BOUND_S);
		if (st != 0) {
			frt_kill(sc->pid[1 - i]);
			cr_assert(false,
				  "%s: the %s ended with status %d (-1: hung and killed; 128+n: "
				  "signal n)",
				  what, side_name(i), st);
		}
	}
	frt_view_close(&sc->v);
	fr_unlink(sc->sh->name);
	frt_shared_free(sc->sh, sizeof *sc->sh);
}

/* Where @t lives, the n-th place of several (peers, slots, log entries); NULL past the last. */
static uint8_t *field_at(struct scenario *sc, const struct target *t, unsigned n)
{
	/* Peer entries: producer and consumer (whichever the mode gives them) and an idle one. */
	static const unsigned peers_p2p[] = {0, 1, 7};
	static const unsigned peers_bc[] = {31, 0, 7};
	const unsigned *e = sc->sh->mode == FR_BROADCAST ? peers_bc : peers_p2p;
	uint8_t *at;
	switch (t->area) {
	case AREA_HEADER:
		if (n)
			return NULL;
		at = sc->v.map + t->offset;
		break;
	case AREA_PEER:
		if (n >= 3)
			return NULL;
		at = (uint8_t *)&sc->v.hdr->peers[e[n]] + t->offset;
		break;
	case AREA_DESC:
		if (n >= sc->v.slots)
			return NULL;
		at = (uint8_t *)&sc->v.desc[n] + t->offset;
		break;
	default:
		if (n >= sc->v.log_count)
			return NULL;
		at = (uint8_t *)&sc->v.log[n];
		break;
	}
	cr_assert_leq((size_t)(at - sc->v.map) + t->size, sc->v.len);
	return at;
}

/*
 * The values written, in order, without repairing anything in between:
 * absolute edge values and values relative to what the field held.
 */
enum {
	REL_PLUS_1 = 1, REL_MINUS_1, REL_PLUS_SLOTS, REL_FLIP_TOP, REL_FLIP_LOW,
	/* high half kept, low 32 bits all set (broadcast: seq kept, every holder/writing bit) */
	REL_LOW_ONES,
	/* high half kept, low 32 bits = slot count (log entry: seq kept, slot past the table) */
	REL_LOW_SLOTS,
};
struct value {
	int rel; /* 0: absolute */
	uint64_t v;
};
static const struct value values[] = {
	{REL_PLUS_1, 0},
	{REL_MINUS_1, 0},
	{REL_PLUS_SLOTS, 0},
	{0, 0},
	{REL_FLIP_LOW, 0},
	{0, 0x7fffffff},
	{0, 0x80000000u},
	{0, UINT64_C(0x100000000)},
	{0, UINT64_C(0x8000000000000000)},
	{REL_FLIP_TOP, 0},
	{0, UINT64_MAX},
	{0, 3},
	{REL_LOW_SLOTS, 0},
	{REL_LOW_ONES, 0},
};

static uint64_t value_for(const struct value *v, uint64_t cur, unsigned size, uint32_t slots)
{
	switch (v->rel) {
	case REL_PLUS_1: return cur + 1;
	case REL_MINUS_1: return cur - 1;
	case REL_PLUS_SLOTS: return cur + slots + 1;
	case REL_FLIP_TOP: return cur ^ (UINT64_C(1) << (8 * size - 1));
	case REL_FLIP_LOW: return cur ^ 1;
	case REL_LOW_ONES: return size == 8 ? cur | 0xffffffffu : 0xffffffffu;
	case REL_LOW_SLOTS: return size == 8 ? (cur & ~UINT64_C(0xffffffff)) | slots : slots;
	default: return v->v;
	}
}

static const char *mode_name(uint32_t mode)
{
	return mode == FR_SPSC ? "spsc" : mode == FR_MPMC ? "mpmc" : "broadcast";
}

/* One field: fresh segment and processes, every value in a row, then a clean stop. */
static void scribble(uint32_t mode, const struct target *t)
{
	struct scenario sc;
	start(&sc, mode, "cor");
	char what[160];
	for (size_t k = 0; k < COUNT(values); k++) {
		/* Relative values are relative to each place's own content (each
		 * log entry keeps its seq, each turn word its lap). */
		uint64_t v = 0;
		for (unsigned n = 0; field_at(&sc, t, n); n++) {
			uint8_t *at = field_at(&sc, t, n);
			uint64_t vn = value_for(&values[k], frt_field_load(at, t->size), t->size,
						sc.v.slots);
			frt_field_store(at, t->size, vn);
			if (n == 0)
				v = vn;
		}
		snprintf(what, sizeof what, "%s: %s = %#llx%s (value %zu)", mode_name(mode),
			 t->name, (unsigned long long)v,
			 values[k].rel && t->area != AREA_HEADER ? " (first)" : "", k);
		/* Both sides get through a few calls with the bad value (both
		 * directions of a ring, a re-open after REOPEN_EVERY calls). */
		expect_progress(&sc, 3, what);
	}
	/* Let each side go through a re-open with the segment as it is now. */
	expect_progress(&sc, REOPEN_EVERY + 2, what);
	finish(&sc, what);
}

static void scribble_all(uint32_t mode, const struct target *targets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		scribble(mode, &targets[i]);
}

TestSuite(corruption, .fini = frt_cleanup, .timeout = 600);

Test(corruption, spsc_header) { scribble_all(FR_SPSC, header_targets, COUNT(header_targets)); }
Test(corruption, spsc_peers) { scribble_all(FR_SPSC, peer_targets, COUNT(peer_targets)); }
Test(corruption, spsc_descriptors) { scribble_all(FR_SPSC, desc_targets, COUNT(desc_targets)); }
Test(corruption, mpmc_header) { scribble_all(FR_MPMC, header_targets, COUNT(header_targets)); }
Test(corruption, mpmc_peers) { scribble_all(FR_MPMC, peer_targets, COUNT(peer_targets)); }
Test(corruption, mpmc_descriptors) { scribble_all(FR_MPMC, desc_targets, COUNT(desc_targets)); }
Test(corruption, broadcast_header)
{
	scribble_all(FR_BROADCAST, header_targets, COUNT(header_targets));
}
Test(corruption, broadcast_peers)
{
	scribble_all(FR_BROADCAST, peer_targets, COUNT(peer_targets));
}
Test(corruption, broadcast_descriptors)
{
	scribble_all(FR_BROADCAST, desc_targets, COUNT(desc_targets));
}
Test(corruption, broadcast_log) { scribble(FR_BROADCAST, &log_target); }

/* Two scribbles at once that make an MPMC slot look "ahead": the consumer side. */
Test(corruption, mpmc_turn_ahead_of_tail)
{
	struct scenario sc;
	start(&sc, FR_MPMC, "cor");
	const struct target turn = DF(turn);
	for (int round = 0; round < 8; round++) {
		/* Make the slot at tail read as published two laps ahead. */
		uint64_t tail = atomic_load_explicit(&sc.v.hdr->tail, memory_order_relaxed);
		frt_field_store(field_at(&sc, &turn, (unsigned)(tail & (sc.v.slots - 1))), 8,
				tail + 1 + 2 * sc.v.slots);
		expect_progress(&sc, 3, "mpmc: turn at tail = tail + 1 + 2 laps");
	}
	finish(&sc, "mpmc: turn ahead of tail");
}

/* ---- identity fields perturbed one at a time: -EPROTO at open ------------- */

struct image_spec {
	const char *label;
	struct fr_config cfg;
};

enum { IMG_SPSC, IMG_MPMC, IMG_BC, IMG_GRAY8, IMG_NV12, IMG_I420, IMG_YUYV, IMG_COUNT };
static const struct image_spec images[IMG_COUNT] = {
	[IMG_SPSC] = {"spsc raw", {.mode = FR_SPSC, .slots = 4, .frame_bytes = 4096}},
	[IMG_MPMC] = {"mpmc raw", {.mode = FR_MPMC, .slots = 4, .frame_bytes = 4096}},
	[IMG_BC] = {"broadcast raw", {.mode = FR_BROADCAST, .slots = 8, .frame_bytes = 4096}},
	[IMG_GRAY8] = {"spsc gray8 16x16",
		       {.mode = FR_SPSC, .width = 16, .height = 16, .format = FR_FORMAT_GRAY8}},
	[IMG_NV12] = {"mpmc nv12 16x16",
		      {.mode = FR_MPMC, .width = 16, .height = 16, .format = FR_FORMAT_NV12}},
	[IMG_I420] = {"spsc i420 16x16",
		      {.mode = FR_SPSC, .width = 16, .height = 16, .format = FR_FORMAT_I420}},
	[IMG_YUYV] = {"broadcast yuyv 16x16",
		      {.mode = FR_BROADCAST, .width = 16, .height = 16, .format = FR_FORMAT_YUYV}},
};

/* A field, how to change it, and what opening the result must give. */
struct perturb {
	int image;
	const char *field;
	size_t offset;
	unsigned size;
	int rel; /* 0: set to v; 1: add v (two's complement for negatives) */
	uint64_t v;
	int want; /* -EPROTO, or 0: information only, the segment still works */
	int stat_want; /* what fr_stat gives (it describes segments in any state) */
};

#define ID(img, f, r, val, w) {img, #f, offsetof(struct fr_shm_header, f), \
			       sizeof(((struct fr_shm_header *)0)->f), r, (uint64_t)(val), w, w}
/* fr_open refuses it, fr_stat still describes it */
#define ID_OPEN(img, f, r, val) {img, #f, offsetof(struct fr_shm_header, f), \
				 sizeof(((struct fr_shm_header *)0)->f), r, (uint64_t)(val), \
				 -EPROTO, 0}
#define SET 0
#define ADD 1
#define EP (-EPROTO)

static const struct perturb perturbs[] = {
	/* sizes and offsets the layout fixes: any other value is refused */
	ID(IMG_SPSC, header_bytes, ADD, 4096, EP),
	ID(IMG_MPMC, header_bytes, ADD, -4096, EP),
	ID(IMG_BC, header_bytes, SET, 0, EP),
	ID(IMG_SPSC, header_bytes, ADD, 1, EP),
	ID(IMG_SPSC, segment_bytes, ADD, -4096, EP),
	ID(IMG_BC, segment_bytes, ADD, -1, EP),
	ID(IMG_MPMC, segment_bytes, SET, 0, EP),
	ID(IMG_SPSC, desc_offset, ADD, 64, EP),
	ID(IMG_MPMC, desc_offset, ADD, 4096, EP),
	ID(IMG_BC, desc_offset, ADD, -4096, EP),
	ID(IMG_SPSC, log_offset, SET, 4096 * 3 + 4 * 64, EP), /* a log in a non-broadcast mode */
	ID(IMG_MPMC, log_offset, SET, 4096, EP),
	ID(IMG_BC, log_offset, ADD, 8, EP),
	ID(IMG_BC, log_offset, ADD, -64, EP),
	ID(IMG_BC, log_offset, SET, 0, EP),
	ID(IMG_BC, log_offset, ADD, 4096, EP),
	ID(IMG_SPSC, log_count, SET, 8, EP),
	ID(IMG_MPMC, log_count, SET, 1, EP),
	ID(IMG_BC, log_count, SET, 8, EP),   /* half */
	ID(IMG_BC, log_count, SET, 32, EP),  /* double: the log would cross the payload */
	ID(IMG_BC, log_count, SET, 15, EP),  /* not a power of two */
	ID(IMG_BC, log_count, SET, 0, EP),
	ID(IMG_YUYV, log_count, SET, 0xffffffffu, EP),
	ID(IMG_SPSC, payload_offset, ADD, 4096, EP),
	ID(IMG_BC, payload_offset, ADD, -4096, EP),
	ID(IMG_MPMC, payload_stride, ADD, 4096, EP),
	ID(IMG_SPSC, frame_capacity, SET, 0, EP),
	ID(IMG_MPMC, frame_capacity, SET, (UINT64_C(1) << 32) + 1, EP),
	ID(IMG_GRAY8, frame_capacity, ADD, -1, EP), /* below width x height */
	ID(IMG_NV12, frame_capacity, SET, 16 * 64, EP), /* the chroma plane no longer fits */
	/* reserved words and constants */
	ID(IMG_SPSC, policy, SET, 1, EP),
	ID(IMG_BC, policy, SET, 0x80000000u, EP),
	ID(IMG_SPSC, max_peers, SET, 0, EP),
	ID(IMG_MPMC, max_peers, SET, FR_MAX_PEERS - 1, EP),
	ID(IMG_BC, max_peers, SET, FR_MAX_PEERS + 1, EP),
	ID(IMG_SPSC, max_peers, SET, 0xffffffffu, EP),
	/* default geometry that does not fit the slot, or is malformed */
	ID(IMG_GRAY8, width, SET, 0, EP),
	ID(IMG_GRAY8, width, SET, 65, EP), /* wider than the stride */
	ID(IMG_GRAY8, width, SET, 0xffffffffu, EP),
	ID(IMG_NV12, width, ADD, -1, EP), /* odd width, 4:2:0 */
	ID(IMG_YUYV, width, ADD, 1, EP),  /* odd width, 4:2:2 */
	ID(IMG_GRAY8, height, SET, 0, EP),
	ID(IMG_GRAY8, height, ADD, 1, EP), /* one row more than the capacity */
	ID(IMG_I420, height, SET, 0xffffffffu, EP),
	ID(IMG_NV12, height, ADD, -1, EP), /* odd height, 4:2:0 */
	ID(IMG_GRAY8, stride, SET, 15, EP), /* below the row */
	ID(IMG_GRAY8, stride, ADD, 64, EP), /* rows no longer fit */
	ID(IMG_GRAY8, stride, SET, 0xffffffffu, EP),
	ID(IMG_I420, stride, ADD, -1, EP), /* odd: chroma rows at stride / 2 */
	ID(IMG_GRAY8, format, SET, FR_FORMAT_NV12, EP), /* needs more than the capacity */
	ID(IMG_SPSC, format, SET, FR_FORMAT_GRAY8, EP), /* a pixel format with no geometry */
	ID(IMG_GRAY8, format, SET, 0xffffffffu, EP),
	ID_OPEN(IMG_SPSC, state, SET, FR_SHM_CLOSED),
	ID_OPEN(IMG_BC, state, SET, FR_SHM_READY + 7),
	ID(IMG_MPMC, abi_version, ADD, 1, EP),
	/* information only: never used for an address or a size */
	ID(IMG_SPSC, creator_pid, SET, 0, 0),
	ID(IMG_MPMC, creator_pid, SET, -1, 0),
	ID(IMG_BC, creator_pid, SET, 0x7fffffff, 0),
	ID(IMG_SPSC, creator_pid, SET, 1, 0), /* alive, but not the creator (start time) */
	ID(IMG_SPSC, created_ns, SET, UINT64_MAX, 0),
	ID(IMG_MPMC, creator_start, SET, UINT64_MAX, 0),
	ID(IMG_BC, perms, SET, 0xffffffffu, 0),
	ID(IMG_SPSC, width, SET, 0xffffffffu, 0), /* RAW: geometry is a label */
	ID(IMG_MPMC, stride, SET, 0xffffffffu, 0),
	ID(IMG_SPSC, frame_capacity, ADD, -1, 0), /* smaller, same page-rounded layout */
};

static void check_perturb(const struct perturb *p)
{
	size_t len;
	uint8_t *img = frt_segment_image_ok(&images[p->image].cfg, &len);
	uint64_t cur = frt_field_load(img + p->offset, p->size);
	uint64_t v = p->rel == ADD ? cur + p->v : p->v;
	frt_field_store(img + p->offset, p->size, v);
	char name[FRT_NAME_SIZE];
	frt_segment_write_ok(name, "id", img, len);
	free(img);
	char what[160];
	snprintf(what, sizeof what, "%s: %s %#llx -> %#llx", images[p->image].label, p->field,
		 (unsigned long long)cur, (unsigned long long)v);

	struct fr_info info;
	int rc = fr_stat(name, &info);
	cr_expect_eq(rc, p->stat_want, "%s: fr_stat returned %d (%s), want %d", what, rc,
		     fr_strerror(rc), p->stat_want);
	struct fr_ring *prod = NULL, *cons = NULL;
	rc = fr_open(name, FR_PRODUCER, &prod);
	cr_expect_eq(rc, p->want, "%s: fr_open(producer) returned %d (%s), want %d", what, rc,
		     fr_strerror(rc), p->want);
	rc = fr_open(name, FR_CONSUMER, &cons);
	cr_expect_eq(rc, p->want, "%s: fr_open(consumer) returned %d (%s), want %d", what, rc,
		     fr_strerror(rc), p->want);
	if (prod && cons) {
		/* Information-only fields: the segment still moves frames. */
		struct fr_frame f;
		FRT_ASSERT_OK(fr_claim(prod, &f, 0));
		memset(f.data, 0x3c, (size_t)f.bytes);
		FRT_ASSERT_OK(fr_publish(prod, &f));
		FRT_ASSERT_OK(fr_acquire(cons, &f, 0));
		cr_expect(f.bytes <= f.capacity && ((const uint8_t *)f.data)[f.bytes - 1] == 0x3c,
			  "%s: frame content", what);
		FRT_ASSERT_OK(fr_release(cons, &f));
		FRT_ASSERT_OK(fr_info(cons, &info));
		cr_expect_leq(info.perms, 07777u, "%s: perms %o", what, info.perms);
		if (p->offset == offsetof(struct fr_shm_header, creator_pid) ||
		    p->offset == offsetof(struct fr_shm_header, creator_start))
			cr_expect_eq(info.creator_alive, 0,
				     "%s: a process that is not the creator counts as it", what);
	}
	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

TestSuite(open_identity, .fini = frt_cleanup, .timeout = 120);

Test(open_identity, each_field_alone)
{
	for (size_t i = 0; i < COUNT(perturbs); i++)
		check_perturb(&perturbs[i]);
}

/* A default geometry of 2^32-1 x 2^31 16-bit pixels (stride 0: the default) needs 2^64 bytes. */
Test(open_identity, default_geometry_whose_size_wraps)
{
	size_t len;
	uint8_t *img = frt_segment_image_ok(&images[IMG_GRAY8].cfg, &len);
	struct fr_shm_header *h = (struct fr_shm_header *)(void *)img;
	h->format = FR_FORMAT_GRAY16;
	h->width = 0xffffffffu;
	h->height = 0x80000000u;
	h->stride = 0;
	char name[FRT_NAME_SIZE];
	frt_segment_write_ok(name, "id", img, len);
	free(img);
	struct fr_info info;
	struct fr_ring *ring = NULL;
	int rc = fr_stat(name, &info);
	cr_expect_eq(rc, -EPROTO, "fr_stat returned %d (%s)", rc, fr_strerror(rc));
	rc = fr_open(name, FR_CONSUMER, &ring);
	cr_expect_eq(rc, -EPROTO, "fr_open returned %d (%s)", rc, fr_strerror(rc));
	fr_close(ring);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* The unchanged images open and work: the copies themselves are valid. */
Test(open_identity, unchanged_images_open)
{
	for (int i = 0; i < IMG_COUNT; i++) {
		size_t len;
		uint8_t *img = frt_segment_image_ok(&images[i].cfg, &len);
		char name[FRT_NAME_SIZE];
		frt_segment_write_ok(name, "id", img, len);
		free(img);
		struct fr_info info;
		FRT_ASSERT_OK(fr_stat(name, &info));
		struct fr_ring *prod = NULL, *cons = NULL;
		FRT_ASSERT_OK(fr_open(name, FR_PRODUCER, &prod));
		FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &cons));
		frt_pass_one(prod, cons);
		fr_close(cons);
		fr_close(prod);
		FRT_ASSERT_OK(fr_unlink(name));
	}
}

/* ---- one scribble, one exact answer (single process) ---------------------- */

/*
 * A segment with a producer and a consumer handle in this process and the
 * test's own view of the bytes, to corrupt one value between two calls and
 * require the documented answer: -EPROTO for the frame the value spoils, and
 * the stream going on after it.
 */
struct exact {
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod, *cons;
	struct frt_view v; /* writable */
};

static void exact_start(struct exact *x, uint32_t mode, uint32_t format)
{
	memset(x, 0, sizeof *x);
	struct fr_config cfg = {.mode = mode, .slots = 8, .format = format};
	if (format == FR_FORMAT_RAW)
		cfg.frame_bytes = 4096;
	else
		cfg.width = cfg.height = 16;
	FRT_ASSERT_OK(fr_create(frt_name(x->name, sizeof x->name, "exact"), &cfg, &x->prod));
	FRT_ASSERT_OK(fr_open(x->name, FR_CONSUMER, &x->cons));
	frt_view_open_ok(x->name, 1, &x->v);
}

static void exact_finish(struct exact *x)
{
	fr_close(x->cons);
	fr_close(x->prod);
	frt_view_close(&x->v);
	FRT_ASSERT_OK(fr_unlink(x->name));
}

/* Publish one frame; returns its seq and slot. */
static uint64_t publish_one(struct exact *x, uint32_t *slot)
{
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(x->prod, &f, 0));
	memset(f.data, 0x11, (size_t)f.bytes);
	FRT_ASSERT_OK(fr_publish(x->prod, &f));
	if (slot) {
		*slot = UINT32_MAX;
		for (uint32_t s = 0; s < x->v.slots; s++)
			if (x->v.desc[s].seq == f.seq)
				*slot = s;
		cr_assert_neq(*slot, UINT32_MAX);
	}
	return f.seq;
}

/* The next acquire gives @want; a frame that comes is checked and released. */
static void expect_acquire(struct exact *x, int want, const char *what)
{
	struct fr_frame f;
	int rc = fr_acquire(x->cons, &f, 0);
	cr_assert_eq(rc, want, "%s: fr_acquire returned %d (%s), want %d (%s)", what, rc,
		     fr_strerror(rc), want, fr_strerror(want));
	if (rc == 0) {
		cr_assert_leq(f.bytes, f.capacity, "%s", what);
		FRT_ASSERT_OK(fr_release(x->cons, &f));
	}
}

/* Spoil the descriptor of the next frame with @poke; that frame is -EPROTO, the next one fine. */
static void spoiled_descriptor(uint32_t mode, uint32_t format, const char *what,
			       void (*poke)(struct fr_shm_desc *d))
{
	struct exact x;
	exact_start(&x, mode, format);
	uint32_t slot;
	publish_one(&x, &slot);
	poke(&x.v.desc[slot]);
	publish_one(&x, NULL);
	char label[128];
	snprintf(label, sizeof label, "%s %s", mode_name(mode), what);
	expect_acquire(&x, -EPROTO, label);
	expect_acquire(&x, 0, label);
	expect_acquire(&x, -EAGAIN, label);
	exact_finish(&x);
}

static void poke_bytes(struct fr_shm_desc *d) { d->bytes = 4097; }
static void poke_bytes_huge(struct fr_shm_desc *d) { d->bytes = UINT64_MAX; }
static void poke_format(struct fr_shm_desc *d) { d->format = FR_FORMAT_COUNT; }
static void poke_width(struct fr_shm_desc *d) { d->width = 0x10000; }
static void poke_stride(struct fr_shm_desc *d) { d->stride = 3; }
/* 2^32-1 x 2^31 16-bit pixels at the default stride: 2^64 bytes, 0 after wrapping. */
static void poke_wrapping_geometry(struct fr_shm_desc *d)
{
	d->format = FR_FORMAT_GRAY16;
	d->width = 0xffffffffu;
	d->height = 0x80000000u;
	d->stride = 0;
}

/* NV12 with an explicit stride: luma + chroma = 2^64 + 26 bytes, 26 after wrapping. */
static void poke_nv12_wrap(struct fr_shm_desc *d)
{
	d->format = FR_FORMAT_NV12;
	d->width = 16;
	d->height = 4015134844u;
	d->stride = 3062868337u;
}

Test(corruption, exact_descriptor_spoils_one_frame)
{
	static const uint32_t modes[] = {FR_SPSC, FR_MPMC, FR_BROADCAST};
	for (size_t m = 0; m < COUNT(modes); m++) {
		spoiled_descriptor(modes[m], FR_FORMAT_RAW, "bytes > capacity", poke_bytes);
		spoiled_descriptor(modes[m], FR_FORMAT_RAW, "bytes 2^64-1", poke_bytes_huge);
		spoiled_descriptor(modes[m], FR_FORMAT_RAW, "format out of range", poke_format);
		spoiled_descriptor(modes[m], FR_FORMAT_GRAY8, "width past the slot", poke_width);
		spoiled_descriptor(modes[m], FR_FORMAT_GRAY8, "stride below the row", poke_stride);
	}
}

/* Sizes past 2^64 must not wrap into something that fits. */
Test(corruption, exact_descriptor_size_wraps_at_default_stride)
{
	static const uint32_t modes[] = {FR_SPSC, FR_MPMC, FR_BROADCAST};
	for (size_t m = 0; m < COUNT(modes); m++)
		spoiled_descriptor(modes[m], FR_FORMAT_GRAY8, "geometry whose size wraps 2^64",
				   poke_wrapping_geometry);
}

Test(corruption, exact_descriptor_size_wraps_with_explicit_stride)
{
	static const uint32_t modes[] = {FR_SPSC, FR_MPMC, FR_BROADCAST};
	for (size_t m = 0; m < COUNT(modes); m++)
		spoiled_descriptor(modes[m], FR_FORMAT_GRAY8,
				   "nv12 size wraps 2^64 with an explicit stride", poke_nv12_wrap);
}

/* Broadcast: a log entry naming a slot past the table is refused, not followed. */
Test(corruption, exact_broadcast_log_slot_out_of_range)
{
	static const uint32_t bad_slots[] = {8, 9, 64, 0x7fffffff, 0xffffffffu};
	for (size_t i = 0; i < COUNT(bad_slots); i++) {
		struct exact x;
		exact_start(&x, FR_BROADCAST, FR_FORMAT_RAW);
		uint64_t seq = publish_one(&x, NULL);
		publish_one(&x, NULL);
		struct fr_shm_log *e = &x.v.log[seq & (x.v.hdr->log_count - 1)];
		uint64_t v = atomic_load_explicit(&e->entry, memory_order_relaxed);
		cr_assert_eq(v >> 32, seq, "log entry of seq %llu", (unsigned long long)seq);
		atomic_store_explicit(&e->entry, (v & ~UINT64_C(0xffffffff)) | bad_slots[i],
				      memory_order_relaxed);
		char what[64];
		snprintf(what, sizeof what, "log entry slot %#x", bad_slots[i]);
		expect_acquire(&x, -EPROTO, what);
		expect_acquire(&x, 0, what);
		exact_finish(&x);
	}
}

/* Counters moved by a scribbler: -EPROTO for whoever would trust them. */
Test(corruption, exact_counters)
{
	struct exact x;
	/* SPSC head far past what was published: the consumer goes by each
	 * descriptor's turn, so it takes the one frame and reads no garbage slot. */
	exact_start(&x, FR_SPSC, FR_FORMAT_RAW);
	publish_one(&x, NULL);
	atomic_store_explicit(&x.v.hdr->head, UINT64_C(1) + x.v.slots + 5, memory_order_relaxed);
	expect_acquire(&x, 0, "spsc head ahead by more than the ring");
	expect_acquire(&x, -EAGAIN, "spsc head ahead by more than the ring, next");
	exact_finish(&x);

	/* SPSC turn of an unpublished position forged: its descriptor is checked
	 * like any (here a 0-byte frame inside the slot), and the stream goes on
	 * in order; the frame later published at that position is the one lost. */
	exact_start(&x, FR_SPSC, FR_FORMAT_RAW);
	publish_one(&x, NULL);
	atomic_store_explicit(&x.v.desc[1].turn, 2, memory_order_relaxed);
	expect_acquire(&x, 0, "spsc published frame before a forged turn");
	struct fr_frame g;
	FRT_ASSERT_OK(fr_acquire(x.cons, &g, 0));
	cr_assert_eq(g.seq, UINT64_MAX, "forged turn: seq %lu, not the never-published descriptor's",
		     (unsigned long)g.seq);
	cr_assert_eq(g.bytes, 0, "forged turn: %lu bytes", (unsigned long)g.bytes);
	FRT_ASSERT_OK(fr_release(x.cons, &g));
	expect_acquire(&x, -EAGAIN, "spsc after the forged turn");
	publish_one(&x, NULL); /* position 1: the consumer is past it */
	cr_assert_eq(publish_one(&x, NULL), 2);
	FRT_ASSERT_OK(fr_acquire(x.cons, &g, 0));
	cr_assert_eq(g.seq, 2, "after a forged turn: seq %lu", (unsigned long)g.seq);
	FRT_ASSERT_OK(fr_release(x.cons, &g));
	exact_finish(&x);

	/* SPSC tail past the producer: the producer does not overwrite unread slots. */
	exact_start(&x, FR_SPSC, FR_FORMAT_RAW);
	for (uint32_t i = 0; i < x.v.slots; i++)
		publish_one(&x, NULL);
	atomic_store_explicit(&x.v.hdr->tail, UINT64_C(1) << 40, memory_order_relaxed);
	struct fr_frame f;
	int rc = fr_claim(x.prod, &f, 0);
	cr_assert_eq(rc, -EPROTO, "spsc tail past head: fr_claim returned %d", rc);
	exact_finish(&x);

	/* Broadcast head moved backwards under a consumer. */
	exact_start(&x, FR_BROADCAST, FR_FORMAT_RAW);
	publish_one(&x, NULL);
	publish_one(&x, NULL);
	expect_acquire(&x, 0, "broadcast before");
	expect_acquire(&x, 0, "broadcast before");
	atomic_store_explicit(&x.v.hdr->head, 0, memory_order_relaxed);
	expect_acquire(&x, -EPROTO, "broadcast head went backwards");
	exact_finish(&x);
}

/* Broadcast head scribbled far ahead with no producer to repair it: a reliable
 * consumer must not walk 2^40 positions inside one call (seq aliasing stops
 * such a walk after 2^32 steps: half a minute of CPU for a try-once call).
 * In a child with a CPU-time limit, so the hang is reported as one. */
#define CPU_BOUND_S 5
static int head_far_ahead_child(void *arg)
{
	const char *name = arg;
	/* A handful of try-once calls use microseconds of CPU: a call that
	 * walks billions of positions runs into this limit (SIGXCPU). CPU
	 * time, not wall time: a loaded machine does not make it fire. */
	struct rlimit cpu = {.rlim_cur = CPU_BOUND_S, .rlim_max = CPU_BOUND_S + 1};
	FRT_CHILD_CHECK(setrlimit(RLIMIT_CPU, &cpu) == 0);
	struct fr_config cfg = {.mode = FR_BROADCAST, .slots = 8, .frame_bytes = 4096};
	struct fr_ring *prod = NULL, *cons = NULL;
	FRT_CHILD_OK(fr_create(name, &cfg, &prod));
	FRT_CHILD_OK(fr_open(name, FR_CONSUMER, &cons));
	struct fr_frame f;
	FRT_CHILD_OK(fr_claim(prod, &f, 0));
	FRT_CHILD_OK(fr_publish(prod, &f));
	fr_close(prod);
	struct frt_view v;
	FRT_CHILD_OK(frt_view_open(name, 1, &v));
	atomic_store_explicit(&v.hdr->head, UINT64_C(1) << 40, memory_order_relaxed);
	for (int i = 0; i < 4; i++) {
		int rc = fr_acquire(cons, &f, 0);
		FRT_CHILD_CHECKF(rc == -EPROTO || rc == -EAGAIN || rc == -EPIPE || rc == 0,
				 "fr_acquire returned %d (%s)", rc, fr_strerror(rc));
		if (rc == 0) {
			FRT_CHILD_CHECK(f.bytes <= f.capacity);
			FRT_CHILD_OK(fr_release(cons, &f));
		}
	}
	frt_view_close(&v);
	fr_close(cons);
	return 0;
}

Test(corruption, exact_broadcast_head_far_ahead)
{
	char name[FRT_NAME_SIZE];
	pid_t pid = frt_spawn(head_far_ahead_child, frt_name(name, sizeof name, "far"));
	cr_assert_gt(pid, 0);
	int st = frt_wait(pid, STUCK_BOUND_S);
	cr_assert_eq(st, 0, "reliable broadcast consumer, head scribbled to 2^40: child status %d "
		     "(%d = SIGXCPU: four fr_acquire(timeout 0) calls used %d s of CPU)", st,
		     128 + SIGXCPU, CPU_BOUND_S);
}
