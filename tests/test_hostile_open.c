/*
 * Finding 4 of issue 9: fr_open and fr_stat read header fields twice.
 *
 * A hostile writer process maps the segment file and flips every identity
 * field of the header (struct fr_shm_header, lib/layout.h) between the value
 * the creator wrote and invalid ones, in a tight loop, one field at a time,
 * while two opener processes call fr_open (producer and consumer, closing
 * every handle they get) and fr_stat, 10,000 opens per mode in all.
 *
 * What must hold (spec item 2: header fields are read once at open/stat):
 *  - no opener crashes: a SIGSEGV/SIGBUS (the old validation re-read `mode`
 *    after checking it, and a `mode` of 7 slipped through as a NULL ops
 *    table) ends the child with a signal and fails the test;
 *  - fr_open returns 0, -EPROTO or -EBUSY (a role taken by the other opener);
 *    fr_stat returns 0 or -EPROTO;
 *  - whatever succeeds describes the segment as it was created: the writer
 *    changes one field at a time and every value it writes is invalid on its
 *    own (so is every byte-wise mix of them, should a copy tear), so a copy
 *    that validates can only be the creator's header. A successful open or
 *    stat that reports another geometry read a field again after validating
 *    it.
 *
 * Every wait is bounded: the openers stop after 10,000 opens, and a child
 * that does not finish within its bound is killed and fails the test.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"
#include "layout.h"

#define OPENS_PER_MODE 10000
#define OPENERS 2
#define CHILD_BOUND_S 60 /* an opener or the writer taking longer is hung */
#define FIELD_TURN_NS 200000 /* the writer moves on to the next field this often */
#define MAX_BAD 6

/* The segment every mode uses: a real pixel format, so that width, height,
 * stride and format are checked against the capacity (RAW would make them
 * labels that any value passes). 64x48 gray8, stride 64: 3072-byte frames in
 * 4096-byte slots. */
#define W 64u
#define H 48u
#define STRIDE 64u

/* One identity field and the values the writer flips it to. */
struct flip {
	const char *name;
	size_t offset;
	unsigned size; /* 4 or 8 */
	uint64_t valid;
	uint64_t bad[MAX_BAD];
	unsigned nbad;
};

/* Shared between the test and its children (frt_shared_alloc). */
struct hostile {
	char name[FRT_NAME_SIZE];
	uint32_t mode, slots;
	uint64_t capacity, payload_stride, segment_bytes;
	struct flip flips[32];
	unsigned nflips;
	_Atomic uint32_t stop;          /* writer: restore and exit */
	_Atomic uint64_t flipped;       /* writer: bad values written */
	_Atomic uint64_t opens;         /* fr_open calls so far (tickets) */
	_Atomic uint64_t open_ok, open_proto, open_busy;
	_Atomic uint64_t stats, stat_ok, stat_proto;
	_Atomic uint64_t mismatches;    /* successes that reported another geometry */
	char mismatch[256];             /* the first of them */
};

/* A short, random dwell, so that readers meet both values at every distance. */
static void dwell(uint64_t n)
{
	for (volatile uint64_t i = 0; i < n; i++)
		;
}

/* ---- the writer ------------------------------------------------------------ */

static int writer_main(void *arg)
{
	struct hostile *hs = arg;
	/* Atomic stores (frt_field_store): the openers read these words
	 * concurrently, and the point is the values they see, not a data race
	 * in the test itself. */
	struct frt_view v;
	int rc = frt_view_open(hs->name, 1, &v);
	FRT_CHILD_CHECKF(rc == 0, "writer: a view of %s: %s", hs->name, strerror(-rc));
	uint8_t *map = v.map;
	uint64_t seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull | 1;
	unsigned field = 0;
	while (!atomic_load_explicit(&hs->stop, memory_order_relaxed)) {
		const struct flip *fl = &hs->flips[field];
		uint8_t *at = map + fl->offset;
		uint64_t until = frt_now_ns() + FIELD_TURN_NS;
		uint64_t n = 0;
		do {
			for (int k = 0; k < 64; k++, n++) {
				uint64_t x = frt_rand(&seed);
				frt_field_store(at, fl->size, fl->bad[x % fl->nbad]);
				dwell((x >> 20) & 63);
				frt_field_store(at, fl->size, fl->valid);
				dwell((x >> 40) & 63);
			}
		} while (frt_now_ns() < until);
		atomic_fetch_add_explicit(&hs->flipped, n, memory_order_relaxed);
		field = (field + 1) % hs->nflips;
	}
	/* Leave the segment as the creator made it (the test checks it opens). */
	for (unsigned i = 0; i < hs->nflips; i++)
		frt_field_store(map + hs->flips[i].offset, hs->flips[i].size, hs->flips[i].valid);
	frt_view_close(&v);
	return 0;
}

/* ---- the openers ----------------------------------------------------------- */

/*
 * The geometry an open or stat reported must be the creator's (see the top).
 * A mismatch is counted and the first one described, and the opener goes
 * on: a crash later in the run is worth seeing too.
 */
static void check_geometry(struct hostile *hs, const struct fr_info *in, const char *call)
{
	if (in->mode == hs->mode && in->slots == hs->slots && in->width == W && in->height == H &&
	    in->stride == STRIDE && in->format == FR_FORMAT_GRAY8 &&
	    in->frame_capacity == hs->capacity && in->payload_stride == hs->payload_stride &&
	    in->segment_bytes == hs->segment_bytes)
		return;
	if (atomic_fetch_add(&hs->mismatches, 1) == 0)
		snprintf(hs->mismatch, sizeof hs->mismatch,
			 "%s succeeded with a geometry the creator never wrote: mode %u slots %u "
			 "%ux%u stride %u format %u capacity %llu payload stride %llu size %llu",
			 call, in->mode, in->slots, in->width, in->height, in->stride, in->format,
			 (unsigned long long)in->frame_capacity,
			 (unsigned long long)in->payload_stride,
			 (unsigned long long)in->segment_bytes);
}

static int opener_main(void *arg)
{
	struct hostile *hs = arg;
	struct fr_info info;
	for (uint64_t n = 0;; n++) {
		if (atomic_fetch_add(&hs->opens, 1) >= OPENS_PER_MODE)
			break;
		/* Both roles; broadcast consumers also as latest readers. */
		unsigned flags = n % 2 ? FR_PRODUCER : FR_CONSUMER;
		if (hs->mode == FR_BROADCAST && n % 4 == 2)
			flags |= FR_LATEST;
		struct fr_ring *ring = NULL;
		int rc = fr_open(hs->name, flags, &ring);
		FRT_CHILD_CHECKF(rc == 0 || rc == -EPROTO || rc == -EBUSY,
				 "fr_open(%s) returned %d (%s)",
				 flags & FR_PRODUCER ? "producer" : "consumer", rc,
				 fr_strerror(rc));
		if (rc == 0) {
			atomic_fetch_add(&hs->open_ok, 1);
			FRT_CHILD_OK(fr_info(ring, &info));
			check_geometry(hs, &info, "fr_open");
			fr_close(ring);
		} else {
			atomic_fetch_add(rc == -EPROTO ? &hs->open_proto : &hs->open_busy, 1);
		}
		if (n % 2)
			continue; /* one stat per two opens keeps the opens the bulk of the work */
		atomic_fetch_add(&hs->stats, 1);
		rc = fr_stat(hs->name, &info);
		FRT_CHILD_CHECKF(rc == 0 || rc == -EPROTO, "fr_stat returned %d (%s)", rc,
				 fr_strerror(rc));
		if (rc == 0) {
			atomic_fetch_add(&hs->stat_ok, 1);
			check_geometry(hs, &info, "fr_stat");
		} else {
			atomic_fetch_add(&hs->stat_proto, 1);
		}
	}
	return 0;
}

/* ---- the test -------------------------------------------------------------- */

static void add(struct hostile *hs, const char *name, size_t offset, unsigned size,
		const uint8_t *hdr, const uint64_t *bad, unsigned nbad)
{
	cr_assert_lt(hs->nflips, sizeof hs->flips / sizeof hs->flips[0]);
	cr_assert_leq(nbad, MAX_BAD);
	struct flip *fl = &hs->flips[hs->nflips++];
	fl->name = name;
	fl->offset = offset;
	fl->size = size;
	fl->valid = frt_field_load(hdr + offset, size);
	fl->nbad = 0;
	for (unsigned i = 0; i < nbad; i++) {
		uint64_t v = size == 4 ? (uint32_t)bad[i] : bad[i];
		cr_assert_neq(v, fl->valid, "%s: a 'bad' value equals the valid one", name);
		fl->bad[fl->nbad++] = v;
	}
}

#define FIELD(f, ...)                                                                     \
	do {                                                                              \
		static const char fname_[] = #f;                                          \
		const uint64_t bad_[] = {__VA_ARGS__};                                    \
		add(hs, fname_, offsetof(struct fr_shm_header, f),                        \
		    sizeof(((struct fr_shm_header *)0)->f), hdr, bad_,                    \
		    sizeof bad_ / sizeof bad_[0]);                                        \
	} while (0)

/*
 * Every identity field with values that are each invalid alone: out of
 * range, inconsistent with the layout (mode, slots and capacity fix every
 * offset), past the end of the file, or a geometry that does not fit the
 * slot. Values that would still validate (another capacity within the same
 * page-rounded slot, stride 0 = default, format RAW or JPEG, mode 2 for 1)
 * are left out on purpose, and so are values whose bytes, mixed with the
 * valid value's or another bad value's, would make one: a copy may read a
 * field byte by byte while it changes (memcpy may), and the check that a
 * success reports the creator's geometry must hold for such a torn copy too.
 */
static void build_flips(struct hostile *hs, const uint8_t *hdr)
{
	const struct fr_shm_header *h = (const struct fr_shm_header *)(const void *)hdr;
	const uint64_t size = h->segment_bytes, v_log = h->log_offset;
	uint64_t magic_other;
	memcpy(&magic_other, "FRMRINGX", 8);
	hs->nflips = 0;
	/* zero magic and state INIT look like a segment in the making: openers
	 * wait for it (bounded) and must then give up or see it READY */
	add(hs, "magic", offsetof(struct fr_shm_header, magic), 8, hdr,
	    (const uint64_t[]){0, magic_other, ~frt_field_load(hdr, 8)}, 3);
	FIELD(abi_version, 0, h->abi_version + 1, UINT32_MAX);
	FIELD(header_bytes, 0, h->header_bytes + FR_SHM_PAGE, UINT32_MAX);
	FIELD(segment_bytes, 0, size + FR_SHM_PAGE, size * 2, UINT64_MAX);
	/* 7: the old code's NULL ops table; 0 and 4 just out of range */
	FIELD(mode, 0, 7, 4, UINT32_MAX);
	FIELD(policy, 1, UINT32_MAX);
	FIELD(slot_count, 0, 3, h->slot_count * 2, UINT32_C(1) << 31, UINT32_MAX);
	FIELD(max_peers, 0, FR_MAX_PEERS - 1, FR_MAX_PEERS + 1, UINT32_MAX);
	FIELD(desc_offset, 0, size, size + FR_SHM_PAGE, UINT64_MAX, h->desc_offset + 64);
	FIELD(log_offset, size, UINT64_MAX, v_log ? 0 : FR_SHM_PAGE, v_log + 8);
	FIELD(payload_offset, 0, size, size + FR_SHM_PAGE, UINT64_MAX);
	FIELD(payload_stride, 0, h->payload_stride + FR_SHM_PAGE, size, UINT64_MAX);
	/* Valid capacities are a range (the frame's size up to the page-rounded
	 * slot), so these keep the low byte of the valid 3072 (0x0c00): with
	 * another low byte a torn read would assemble 0x0cxx, valid and new. */
	FIELD(frame_capacity, 0, h->frame_capacity - 4 * 256, h->frame_capacity + 2 * FR_SHM_PAGE,
	      FR_MAX_FRAME_BYTES * 2, UINT64_MAX << 8);
	FIELD(width, 0, STRIDE + 1, UINT32_MAX);
	FIELD(height, 0, H * 2, UINT32_MAX);
	FIELD(stride, STRIDE - 1, STRIDE * 2, UINT32_MAX);
	FIELD(format, FR_FORMAT_COUNT, 255, UINT32_MAX, FR_FORMAT_GRAY16, FR_FORMAT_RGBA32);
	if (h->log_count)
		FIELD(log_count, 0, h->log_count - 1, h->log_count * 2, UINT32_MAX);
	else
		FIELD(log_count, 1, 16, UINT32_MAX);
	FIELD(state, FR_SHM_INIT, FR_SHM_CLOSED, 7);
}

static const char *mode_name(uint32_t mode)
{
	return mode == FR_SPSC ? "spsc" : mode == FR_MPMC ? "mpmc" : "broadcast";
}

static void hostile_open(uint32_t mode)
{
	struct hostile *hs = frt_shared_alloc(sizeof *hs);
	cr_assert_not_null(hs);
	frt_name(hs->name, sizeof hs->name, "hostile");
	hs->mode = mode;
	struct fr_config cfg = {.mode = mode, .slots = mode == FR_BROADCAST ? 8 : 4, .width = W,
				.height = H, .stride = STRIDE, .format = FR_FORMAT_GRAY8};
	struct fr_ring *ring = NULL;
	FRT_ASSERT_OK(fr_create(hs->name, &cfg, &ring));
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(ring, &info));
	hs->slots = info.slots;
	hs->capacity = info.frame_capacity;
	hs->payload_stride = info.payload_stride;
	hs->segment_bytes = info.segment_bytes;
	/* Closed, so that producer opens can succeed too (SPSC and broadcast admit
	 * one producer); it published nothing, so the stream does not end. */
	fr_close(ring);

	struct frt_view v;
	frt_view_open_ok(hs->name, 0, &v);
	build_flips(hs, v.map);
	frt_view_close(&v);

	pid_t writer = frt_spawn(writer_main, hs);
	cr_assert_gt(writer, 0);
	/* The openers start once the header is already moving. */
	for (int waited = 0; atomic_load(&hs->flipped) == 0; waited++) {
		if (waited > CHILD_BOUND_S * 1000 || frt_try_wait(writer) >= 0) {
			frt_kill(writer);
			cr_assert(false, "%s: the writer never started flipping", mode_name(mode));
		}
		frt_sleep_ms(1);
	}
	pid_t openers[OPENERS];
	for (int i = 0; i < OPENERS; i++) {
		openers[i] = frt_spawn(opener_main, hs);
		cr_assert_gt(openers[i], 0);
	}
	int status[OPENERS];
	for (int i = 0; i < OPENERS; i++)
		status[i] = frt_wait(openers[i], CHILD_BOUND_S);
	atomic_store(&hs->stop, 1);
	int wst = frt_wait(writer, CHILD_BOUND_S);
	uint64_t opens = atomic_load(&hs->open_ok) + atomic_load(&hs->open_proto) +
			 atomic_load(&hs->open_busy);
	fprintf(stderr,
		"hostile_open %s: %llu opens (%llu attached, %llu -EPROTO, %llu -EBUSY), "
		"%llu stats (%llu ok, %llu -EPROTO), %llu bad values written over %u fields\n",
		mode_name(mode), (unsigned long long)opens,
		(unsigned long long)atomic_load(&hs->open_ok),
		(unsigned long long)atomic_load(&hs->open_proto),
		(unsigned long long)atomic_load(&hs->open_busy),
		(unsigned long long)atomic_load(&hs->stats),
		(unsigned long long)atomic_load(&hs->stat_ok),
		(unsigned long long)atomic_load(&hs->stat_proto),
		(unsigned long long)atomic_load(&hs->flipped), hs->nflips);
	for (int i = 0; i < OPENERS; i++)
		cr_assert_eq(status[i], 0,
			     "%s: opener %d ended with status %d (128+n: killed by signal n, e.g. "
			     "139 SIGSEGV, 135 SIGBUS; 101: a check failed, see its message; -1: "
			     "hung and killed)",
			     mode_name(mode), i, status[i]);
	cr_assert_eq(wst, 0, "%s: the writer ended with status %d", mode_name(mode), wst);
	cr_assert_eq(atomic_load(&hs->mismatches), 0,
		     "%s: %llu opens/stats succeeded with a geometry read after validation; the "
		     "first: %s",
		     mode_name(mode), (unsigned long long)atomic_load(&hs->mismatches),
		     hs->mismatch);

	cr_assert_eq(opens, OPENS_PER_MODE, "%s: %llu opens counted", mode_name(mode),
		     (unsigned long long)opens);
	/* Otherwise the run showed nothing: the header was never seen invalid,
	 * or never valid. */
	cr_assert_gt(atomic_load(&hs->open_proto), 0, "%s: no open saw a bad header",
		     mode_name(mode));
	cr_assert_gt(atomic_load(&hs->open_ok), 0, "%s: no open succeeded", mode_name(mode));

	/* The writer put every field back: the segment is intact and usable. */
	FRT_ASSERT_OK(fr_stat(hs->name, &info));
	cr_assert_eq(info.mode, mode);
	struct fr_ring *prod = NULL, *cons = NULL;
	FRT_ASSERT_OK(fr_open(hs->name, FR_CONSUMER, &cons));
	FRT_ASSERT_OK(fr_open(hs->name, FR_PRODUCER, &prod));
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	memset(f.data, 0x5a, (size_t)f.bytes);
	FRT_ASSERT_OK(fr_publish(prod, &f));
	FRT_ASSERT_OK(fr_acquire(cons, &f, 1000));
	cr_assert_eq(((const uint8_t *)f.data)[f.bytes - 1], 0x5a);
	FRT_ASSERT_OK(fr_release(cons, &f));
	fr_close(prod);
	fr_close(cons);
	FRT_ASSERT_OK(fr_unlink(hs->name));
	frt_shared_free(hs, sizeof *hs);
}

TestSuite(hostile, .fini = frt_cleanup, .timeout = 300);

Test(hostile, open_spsc) { hostile_open(FR_SPSC); }
Test(hostile, open_mpmc) { hostile_open(FR_MPMC); }
Test(hostile, open_broadcast) { hostile_open(FR_BROADCAST); }
