/*
 * Segment lifecycle: create/open/stat/unlink, permissions, configuration
 * checks, -EEXIST/-ENOENT/-EBUSY/-EACCES, and -EPROTO for every kind of bad
 * segment file (written byte for byte into /dev/shm and opened for real).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <framering.h>

#include "layout.h"
#include "helpers.h"

TestSuite(segment, .fini = frt_cleanup, .timeout = 120);

static mode_t file_mode(const char *name)
{
	char path[FRT_NAME_SIZE + 16];
	struct stat st;
	cr_assert_eq(stat(frt_shm_path(path, sizeof path, name), &st), 0, "stat %s", path);
	return st.st_mode & 07777;
}

/* ---- round trip ----------------------------------------------------------- */

Test(segment, create_open_unlink_round_trip)
{
	char name[FRT_NAME_SIZE];
	frt_name(name, sizeof name, "rt");
	struct fr_config cfg = { .mode = FR_SPSC, .slots = 8, .format = FR_FORMAT_RGB24,
				 .width = 320, .height = 240 };
	struct fr_ring *prod = frt_create_ok(name, &cfg);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);

	struct fr_info info, st;
	FRT_ASSERT_OK(fr_info(cons, &info));
	cr_expect_eq(info.abi_version, FR_ABI_VERSION);
	cr_expect_eq(info.mode, FR_SPSC);
	cr_expect_eq(info.slots, 8);
	cr_expect_eq(info.width, 320);
	cr_expect_eq(info.height, 240);
	cr_expect_eq(info.format, FR_FORMAT_RGB24);
	cr_expect_eq(info.stride, 960);
	cr_expect_geq(info.frame_capacity, 960u * 240u);
	cr_expect_eq(info.creator_pid, getpid());
	cr_expect_eq(info.creator_alive, 1);
	cr_expect_eq(info.perms, 0600);
	cr_expect_eq(info.live_peers, 2);
	cr_expect_eq(info.end_of_stream, 0);

	char path[FRT_NAME_SIZE + 16];
	struct stat sb;
	cr_assert_eq(stat(frt_shm_path(path, sizeof path, name), &sb), 0);
	cr_expect_eq((uint64_t)sb.st_size, info.segment_bytes);
	cr_expect_geq(info.segment_bytes, info.payload_stride * info.slots);

	/* Both roles are listed with this pid. */
	int roles = 0;
	for (uint32_t i = 0; i < info.peer_count && i < FR_MAX_PEERS; i++) {
		if (!info.peers[i].alive)
			continue;
		cr_expect_eq(info.peers[i].pid, getpid());
		roles |= (int)info.peers[i].role;
	}
	cr_expect_eq(roles, FR_PRODUCER | FR_CONSUMER);

	/* fr_stat sees the same segment without attaching. */
	FRT_ASSERT_OK(fr_stat(name, &st));
	cr_expect_eq(st.slots, info.slots);
	cr_expect_eq(st.segment_bytes, info.segment_bytes);
	cr_expect_eq(st.frame_capacity, info.frame_capacity);
	cr_expect_eq(st.live_peers, 2);

	/* A frame goes through; its data is page aligned inside the segment. */
	long page = sysconf(_SC_PAGESIZE);
	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(prod, &f, 0));
	cr_expect_eq((uintptr_t)f.data % (uintptr_t)page, 0, "data %p not page aligned", f.data);
	cr_expect_eq(f.capacity, info.frame_capacity);
	memset(f.data, 0xa5, (size_t)f.capacity);
	FRT_ASSERT_OK(fr_publish(prod, &f));

	/* Unlink removes the name; attached handles keep working. */
	FRT_ASSERT_OK(fr_unlink(name));
	cr_expect_neq(stat(path, &sb), 0, "%s still exists after fr_unlink", path);
	struct fr_ring *late = NULL;
	FRT_ASSERT_ERR(fr_open(name, FR_CONSUMER, &late), -ENOENT);
	FRT_ASSERT_ERR(fr_stat(name, &st), -ENOENT);

	struct fr_frame g;
	FRT_ASSERT_OK(fr_acquire(cons, &g, 0));
	cr_expect_eq(g.seq, 0);
	cr_expect_eq(g.bytes, 960u * 240u);
	const unsigned char *p = g.data;
	for (uint64_t i = 0; i < g.bytes; i++)
		if (p[i] != 0xa5)
			cr_assert_fail("byte %lu is %#x", (unsigned long)i, p[i]);
	FRT_ASSERT_OK(fr_release(cons, &g));
	cr_expect_eq(frt_pass_one(prod, cons), 1);

	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_ERR(fr_unlink(name), -ENOENT);
}

/* After fr_unlink the name is free: a new segment by that name is a different one. */
Test(segment, recreate_after_unlink)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_SPSC, .frame_bytes = 64 };
	struct fr_ring *old_prod = frt_create_ok(frt_name(name, sizeof name, "again"), &cfg);
	struct fr_ring *old_cons = frt_open_ok(name, FR_CONSUMER);
	FRT_ASSERT_OK(fr_unlink(name));
	cfg.slots = 8;
	struct fr_ring *new_prod = frt_create_ok(name, &cfg); /* not -EEXIST, not -EBUSY */
	struct fr_ring *new_cons = frt_open_ok(name, FR_CONSUMER);
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(new_cons, &info));
	cr_expect_eq(info.slots, 8);
	FRT_ASSERT_OK(fr_info(old_cons, &info));
	cr_expect_eq(info.slots, 4);

	struct fr_frame f;
	FRT_ASSERT_OK(fr_claim(new_prod, &f, 0));
	FRT_ASSERT_OK(fr_publish(new_prod, &f));
	FRT_ASSERT_ERR(fr_acquire(old_cons, &f, 0), -EAGAIN);
	FRT_ASSERT_OK(fr_acquire(new_cons, &f, 0));
	FRT_ASSERT_OK(fr_release(new_cons, &f));
	FRT_ASSERT_OK(fr_claim(old_prod, &f, 0));
	FRT_ASSERT_OK(fr_publish(old_prod, &f));
	FRT_ASSERT_ERR(fr_acquire(new_cons, &f, 0), -EAGAIN);
	FRT_ASSERT_OK(fr_acquire(old_cons, &f, 0));
	FRT_ASSERT_OK(fr_release(old_cons, &f));
	fr_close(old_cons);
	fr_close(old_prod);
	fr_close(new_cons);
	fr_close(new_prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(segment, defaults_and_limits)
{
	char name[FRT_NAME_SIZE];
	struct fr_info info;

	/* Zero config except the size: SPSC, 4 slots, RAW. */
	struct fr_config cfg = { .frame_bytes = 1000 };
	struct fr_ring *ring = frt_create_ok(frt_name(name, sizeof name, "def"), &cfg);
	FRT_ASSERT_OK(fr_info(ring, &info));
	cr_expect_eq(info.mode, FR_SPSC);
	cr_expect_eq(info.slots, 4);
	cr_expect_eq(info.format, FR_FORMAT_RAW);
	cr_expect_geq(info.frame_capacity, 1000);
	fr_close(ring);
	FRT_ASSERT_OK(fr_unlink(name));

	/* Smallest and largest slot counts. */
	static const uint32_t good_slots[] = { FR_MIN_SLOTS, 16, FR_MAX_SLOTS };
	for (size_t i = 0; i < 3; i++) {
		struct fr_config c = { .mode = FR_MPMC, .slots = good_slots[i], .frame_bytes = 64 };
		ring = frt_create_ok(frt_name(name, sizeof name, "slots"), &c);
		FRT_ASSERT_OK(fr_info(ring, &info));
		cr_expect_eq(info.slots, good_slots[i]);
		fr_close(ring);
		FRT_ASSERT_OK(fr_unlink(name));
	}
}

Test(segment, create_rejects_bad_config)
{
	static const struct fr_config bad[] = {
		{ .slots = 3, .frame_bytes = 64 },
		{ .slots = 1, .frame_bytes = 64 },
		{ .slots = 6, .frame_bytes = 64 },
		{ .slots = FR_MAX_SLOTS * 2, .frame_bytes = 64 },
		{ .slots = 0x80000000u, .frame_bytes = 64 },
		{ .mode = 4, .frame_bytes = 64 },
		{ .mode = 0xffffffffu, .frame_bytes = 64 },
		{ .frame_bytes = 0 }, /* RAW without a size */
		{ .frame_bytes = UINT64_MAX },
		{ .frame_bytes = 64, .perms = 010000 }, /* not file mode bits */
	};
	frt_expect_create_einval(bad, sizeof bad / sizeof bad[0], "badcfg");
	char name[FRT_NAME_SIZE];
	struct fr_ring *ring = NULL;
	cr_expect_eq(fr_create(frt_name(name, sizeof name, "nullout"),
			       &(struct fr_config){ .frame_bytes = 64 }, NULL),
		     -EINVAL);
	cr_expect_eq(fr_open(name, FR_CONSUMER, &ring), -ENOENT);
}

/* ---- permissions ---------------------------------------------------------- */

static void check_perms(uint32_t perms, mode_t umask_value, mode_t want)
{
	char name[FRT_NAME_SIZE];
	frt_name(name, sizeof name, "perm");
	struct fr_config cfg = { .frame_bytes = 64, .perms = perms };
	mode_t old = umask(umask_value);
	struct fr_ring *ring = NULL;
	int rc = fr_create(name, &cfg, &ring);
	umask(old);
	cr_assert_eq(rc, 0, "fr_create(perms %o) under umask %o: %d", perms, umask_value, rc);
	mode_t got = file_mode(name);
	cr_expect_eq(got, want, "perms %o under umask %03o: file mode %03o, want %03o", perms,
		     umask_value, got, want);
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(ring, &info));
	cr_expect_eq(info.perms, want);
	fr_close(ring);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(segment, permissions_exact_regardless_of_umask)
{
	check_perms(0, 022, 0600);
	check_perms(0, 0, 0600);     /* umask does not widen the default */
	check_perms(0, 0777, 0600);  /* nor narrow it */
	check_perms(0666, 0077, 0666);
	check_perms(0666, 0777, 0666);
	check_perms(0640, 022, 0640);
	check_perms(0604, 0, 0604);
	check_perms(0660, 0007, 0660);
}

struct access_arg {
	const char *name;
	int want;
};

static int open_as_nobody(void *p)
{
	struct access_arg *a = p;
	FRT_CHILD_CHECK(setgid(65534) == 0);
	FRT_CHILD_CHECK(setuid(65534) == 0);
	struct fr_ring *ring = NULL;
	int rc = fr_open(a->name, FR_CONSUMER, &ring);
	FRT_CHILD_CHECKF(rc == a->want, "fr_open as nobody: %d, want %d", rc, a->want);
	fr_close(ring);
	return 0;
}

Test(segment, eacces_for_other_users)
{
	FRT_SKIP_UNLESS(geteuid() == 0, "needs root to switch to another user");
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_MPMC, .frame_bytes = 64 };
	struct fr_ring *ring = frt_create_ok(frt_name(name, sizeof name, "acc"), &cfg);
	struct access_arg a = { name, -EACCES };
	FRT_ASSERT_CHILD(frt_spawn(open_as_nobody, &a));
	fr_close(ring);
	FRT_ASSERT_OK(fr_unlink(name));

	/* The same user with perms 0666 gets in: the check above is about permissions. */
	cfg.perms = 0666;
	ring = frt_create_ok(frt_name(name, sizeof name, "acc"), &cfg);
	a.want = 0;
	FRT_ASSERT_CHILD(frt_spawn(open_as_nobody, &a));
	fr_close(ring);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- -EEXIST, -ENOENT, bad arguments -------------------------------------- */

Test(segment, eexist_and_enoent)
{
	char name[FRT_NAME_SIZE];
	frt_name(name, sizeof name, "ex");
	struct fr_config cfg = { .mode = FR_MPMC, .frame_bytes = 64 };
	struct fr_ring *ring = NULL, *again = NULL;
	struct fr_info info;

	FRT_ASSERT_ERR(fr_open(name, FR_CONSUMER, &ring), -ENOENT);
	FRT_ASSERT_ERR(fr_open(name, FR_PRODUCER, &ring), -ENOENT);
	cr_expect_null(ring);
	FRT_ASSERT_ERR(fr_stat(name, &info), -ENOENT);
	FRT_ASSERT_ERR(fr_unlink(name), -ENOENT);

	ring = frt_create_ok(name, &cfg);
	FRT_ASSERT_ERR(fr_create(name, &cfg, &again), -EEXIST);
	cr_expect_null(again);
	fr_close(ring);
	/* Still there after the creator closed: closing is not unlinking. */
	FRT_ASSERT_ERR(fr_create(name, &cfg, &again), -EEXIST);
	FRT_ASSERT_OK(fr_stat(name, &info));
	FRT_ASSERT_OK(fr_unlink(name));
	FRT_ASSERT_ERR(fr_unlink(name), -ENOENT);

	/* A foreign file of that name is not replaced either. */
	char path[FRT_NAME_SIZE + 16];
	int fd = open(frt_shm_path(path, sizeof path, name), O_CREAT | O_EXCL | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "hello", 5), 5);
	close(fd);
	FRT_ASSERT_ERR(fr_create(name, &cfg, &again), -EEXIST);
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	cr_expect_eq(sb.st_size, 5, "the foreign file was modified");
	unlink(path);
}

Test(segment, open_rejects_bad_flags)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_MPMC, .frame_bytes = 64 };
	struct fr_ring *ring = frt_create_ok(frt_name(name, sizeof name, "flags"), &cfg);
	struct fr_ring *h = NULL;
	FRT_ASSERT_ERR(fr_open(name, 0, &h), -EINVAL);
	FRT_ASSERT_ERR(fr_open(name, FR_PRODUCER | FR_CONSUMER, &h), -EINVAL);
	FRT_ASSERT_ERR(fr_open(name, 0x100, &h), -EINVAL);
	FRT_ASSERT_ERR(fr_open(name, FR_CONSUMER, NULL), -EINVAL);
	cr_expect_null(h);
	struct fr_info info;
	FRT_ASSERT_OK(fr_info(ring, &info));
	cr_expect_eq(info.live_peers, 1, "a failed open left a peer entry");
	fr_close(ring);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- -EBUSY --------------------------------------------------------------- */

Test(segment, spsc_second_producer_or_consumer_is_ebusy)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_SPSC, .frame_bytes = 64 };
	struct fr_ring *prod = frt_create_ok(frt_name(name, sizeof name, "busy"), &cfg);
	struct fr_ring *h = NULL;

	FRT_ASSERT_ERR(fr_open(name, FR_PRODUCER, &h), -EBUSY);
	cr_expect_null(h);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	FRT_ASSERT_ERR(fr_open(name, FR_CONSUMER, &h), -EBUSY);
	FRT_ASSERT_ERR(fr_open(name, FR_PRODUCER, &h), -EBUSY);
	cr_expect_null(h);

	/* Detaching frees the role. */
	fr_close(cons);
	cons = frt_open_ok(name, FR_CONSUMER);
	fr_close(prod);
	prod = frt_open_ok(name, FR_PRODUCER);
	FRT_ASSERT_ERR(fr_open(name, FR_PRODUCER, &h), -EBUSY);

	/* The failed attempts disturbed nothing: a frame still goes through. */
	cr_expect_eq(frt_pass_one(prod, cons), 0);
	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

static int open_expect_busy(void *p)
{
	const char *name = p;
	struct fr_ring *h = NULL;
	int rc = fr_open(name, FR_CONSUMER, &h);
	FRT_CHILD_CHECKF(rc == -EBUSY, "second consumer in another process: %d", rc);
	rc = fr_open(name, FR_PRODUCER, &h);
	FRT_CHILD_CHECKF(rc == -EBUSY, "second producer in another process: %d", rc);
	return 0;
}

Test(segment, spsc_ebusy_across_processes)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_SPSC, .frame_bytes = 64 };
	struct fr_ring *prod = frt_create_ok(frt_name(name, sizeof name, "busyx"), &cfg);
	struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
	FRT_ASSERT_CHILD(frt_spawn(open_expect_busy, name));
	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

Test(segment, mpmc_many_handles_then_ebusy)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_MPMC, .frame_bytes = 64 };
	struct fr_ring *h[FR_MAX_PEERS] = { 0 };
	h[0] = frt_create_ok(frt_name(name, sizeof name, "many"), &cfg);
	for (int i = 1; i < FR_MAX_PEERS; i++)
		h[i] = frt_open_ok(name, i % 2 ? FR_CONSUMER : FR_PRODUCER);
	struct fr_ring *extra = NULL;
	FRT_ASSERT_ERR(fr_open(name, FR_CONSUMER, &extra), -EBUSY);
	FRT_ASSERT_ERR(fr_open(name, FR_PRODUCER, &extra), -EBUSY);
	struct fr_info info;
	FRT_ASSERT_OK(fr_stat(name, &info));
	cr_expect_eq(info.live_peers, FR_MAX_PEERS);
	fr_close(h[5]);
	h[5] = frt_open_ok(name, FR_CONSUMER);
	for (int i = 0; i < FR_MAX_PEERS; i++)
		fr_close(h[i]);
	FRT_ASSERT_OK(fr_stat(name, &info));
	cr_expect_eq(info.live_peers, 0);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- error texts and peer bookkeeping ------------------------------------ */

Test(segment, strerror_texts)
{
	static const int codes[] = { EINVAL, ENAMETOOLONG, EEXIST, ENOENT, EACCES, EAGAIN,
				     ETIMEDOUT, EINTR, EPIPE, EBUSY, EPROTO, ENOSPC };
	const size_t n = sizeof codes / sizeof codes[0];
	for (size_t i = 0; i < n; i++) {
		const char *neg = fr_strerror(-codes[i]), *pos = fr_strerror(codes[i]);
		cr_assert_not_null(neg);
		cr_assert_not_null(pos);
		cr_expect_gt(strlen(neg), 0);
		cr_expect_str_eq(neg, pos, "sign changes the text of %d", codes[i]);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(neg, fr_strerror(-codes[j]), "%d and %d share a text",
					  codes[i], codes[j]);
	}
	static const int odd[] = { 0, -9999, 9999, INT_MAX, INT_MIN, -INT_MAX };
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
		cr_expect_not_null(fr_strerror(odd[i]), "NULL for %d", odd[i]);
}

/* Each attach bumps its entry's generation; counters follow the traffic. */
Test(segment, peer_generation_and_counters)
{
	char name[FRT_NAME_SIZE];
	struct fr_config cfg = { .mode = FR_SPSC, .frame_bytes = 64 };
	struct fr_ring *prod = frt_create_ok(frt_name(name, sizeof name, "gen"), &cfg);
	uint64_t last_gen = 0;
	for (int round = 0; round < 3; round++) {
		struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
		for (int i = 0; i <= round; i++) {
			frt_pass_one(prod, cons);
		}
		struct fr_info info;
		FRT_ASSERT_OK(fr_info(prod, &info));
		int consumers = 0, producers = 0;
		for (uint32_t i = 0; i < info.peer_count && i < FR_MAX_PEERS; i++) {
			const struct fr_peer_info *p = &info.peers[i];
			if (!p->alive)
				continue;
			cr_expect_eq(p->pid, getpid());
			if (p->role == FR_CONSUMER) {
				consumers++;
				cr_expect_gt(p->generation, last_gen,
					     "round %d: generation %lu after %lu", round,
					     (unsigned long)p->generation, (unsigned long)last_gen);
				last_gen = p->generation;
				cr_expect_eq(p->delivered, (uint64_t)round + 1);
			} else if (p->role == FR_PRODUCER) {
				producers++;
				cr_expect_eq(p->delivered, (uint64_t)(round + 1) * (round + 2) / 2);
			}
		}
		cr_expect_eq(consumers, 1);
		cr_expect_eq(producers, 1);
		fr_close(cons);
	}
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* ---- -EPROTO -------------------------------------------------------------- */

/* The bytes of a freshly created, closed segment (SPSC, 4 slots of 4096 bytes). */
static unsigned char *valid_image(size_t *len, uint32_t mode)
{
	struct fr_config cfg = { .mode = mode, .slots = 4, .frame_bytes = 4096 };
	unsigned char *buf = frt_segment_image_ok(&cfg, len);
	cr_assert_geq(*len, sizeof(struct fr_shm_header));
	return buf;
}

static struct fr_shm_header *hdr(unsigned char *img)
{
	return (struct fr_shm_header *)(void *)img;
}

/* Every way of looking at these bytes says -EPROTO (fr_stat too when stat_too). */
static void expect_eproto_ex(const void *buf, size_t len, const char *what, int stat_too)
{
	char name[FRT_NAME_SIZE];
	frt_segment_write_ok(name, "bad", buf, len);
	struct fr_ring *ring = NULL;
	int rc = fr_open(name, FR_CONSUMER, &ring);
	cr_expect_eq(rc, -EPROTO, "%s: fr_open(consumer) returned %d", what, rc);
	if (rc == 0)
		fr_close(ring);
	ring = NULL;
	rc = fr_open(name, FR_PRODUCER, &ring);
	cr_expect_eq(rc, -EPROTO, "%s: fr_open(producer) returned %d", what, rc);
	if (rc == 0)
		fr_close(ring);
	if (stat_too) {
		struct fr_info info;
		rc = fr_stat(name, &info);
		cr_expect_eq(rc, -EPROTO, "%s: fr_stat returned %d", what, rc);
	}
	FRT_ASSERT_OK(fr_unlink(name)); /* unlinking works on any file by that name */
}

static void expect_eproto(const void *buf, size_t len, const char *what)
{
	expect_eproto_ex(buf, len, what, 1);
}

/* The unmodified copy opens: the copying itself is not what makes the others fail. */
Test(segment, eproto_control_copy_opens)
{
	static const uint32_t modes[] = { FR_SPSC, FR_MPMC };
	for (size_t m = 0; m < 2; m++) {
		size_t len;
		unsigned char *img = valid_image(&len, modes[m]);
		char name[FRT_NAME_SIZE];
		frt_segment_write_ok(name, "bad", img, len);
		struct fr_ring *prod = frt_open_ok(name, FR_PRODUCER);
		struct fr_ring *cons = frt_open_ok(name, FR_CONSUMER);
		frt_pass_one(prod, cons);
		fr_close(cons);
		fr_close(prod);
		struct fr_info info;
		FRT_ASSERT_OK(fr_stat(name, &info));
		FRT_ASSERT_OK(fr_unlink(name));
		free(img);
	}
}

Test(segment, eproto_truncated)
{
	size_t len;
	unsigned char *img = valid_image(&len, FR_SPSC);
	expect_eproto(img, 0, "empty file");
	expect_eproto(img, 7, "7 bytes");
	expect_eproto(img, 64, "64 bytes");
	expect_eproto(img, offsetof(struct fr_shm_header, peers), "header without peer table");
	expect_eproto(img, 4096, "header page only");
	expect_eproto(img, hdr(img)->payload_offset, "no payload");
	expect_eproto(img, len - 4096, "last slot missing");
	expect_eproto(img, len - 1, "one byte short");
	free(img);
}

Test(segment, eproto_zeros_and_random)
{
	size_t len;
	unsigned char *img = valid_image(&len, FR_SPSC);
	memset(img, 0, len);
	expect_eproto(img, len, "all zeros");
	expect_eproto(img, 4096, "one page of zeros");
	uint64_t x = 0x243f6a8885a308d3ull;
	for (int round = 0; round < 8; round++) {
		for (size_t i = 0; i < len; i++) {
			x = frt_mix64(x);
			img[i] = (unsigned char)x;
		}
		expect_eproto(img, len, "random bytes");
	}
	/* Random bytes behind a correct magic. */
	memcpy(img, FR_SHM_MAGIC, 8);
	expect_eproto(img, len, "magic then random bytes");
	free(img);
}

/* Apply one change to a fresh valid image and expect -EPROTO. */
#define EXPECT_EPROTO_WITH(mode, what, ...)                                     \
	do {                                                                    \
		size_t len_;                                                    \
		unsigned char *img_ = valid_image(&len_, (mode));               \
		struct fr_shm_header *h = hdr(img_);                            \
		(void)h;                                                        \
		__VA_ARGS__;                                                    \
		expect_eproto(img_, len_, what);                                \
		free(img_);                                                     \
	} while (0)

Test(segment, eproto_magic_and_abi)
{
	EXPECT_EPROTO_WITH(FR_SPSC, "magic FRMRING2", h->magic[7] = '2');
	EXPECT_EPROTO_WITH(FR_SPSC, "magic lower case", h->magic[0] = 'f');
	EXPECT_EPROTO_WITH(FR_SPSC, "no magic", memset(h->magic, 0, 8));
	EXPECT_EPROTO_WITH(FR_SPSC, "abi 2 (newer)", h->abi_version = FR_ABI_VERSION + 1);
	EXPECT_EPROTO_WITH(FR_MPMC, "abi 2 (newer)", h->abi_version = FR_ABI_VERSION + 1);
	EXPECT_EPROTO_WITH(FR_SPSC, "abi 0", h->abi_version = 0);
	EXPECT_EPROTO_WITH(FR_SPSC, "abi 0xffffffff", h->abi_version = 0xffffffffu);
}

Test(segment, eproto_slot_count)
{
	EXPECT_EPROTO_WITH(FR_SPSC, "slot_count 3", h->slot_count = 3);
	EXPECT_EPROTO_WITH(FR_MPMC, "slot_count 3", h->slot_count = 3);
	EXPECT_EPROTO_WITH(FR_SPSC, "slot_count 6", h->slot_count = 6);
	EXPECT_EPROTO_WITH(FR_SPSC, "slot_count 0", h->slot_count = 0);
	EXPECT_EPROTO_WITH(FR_SPSC, "slot_count 1", h->slot_count = 1);
	EXPECT_EPROTO_WITH(FR_SPSC, "slot_count 2^17", h->slot_count = FR_MAX_SLOTS * 2);
	EXPECT_EPROTO_WITH(FR_SPSC, "slot_count 2^31", h->slot_count = 0x80000000u);
	/* A power of two that the file is too small for. */
	EXPECT_EPROTO_WITH(FR_SPSC, "slot_count 8 in a 4-slot file", h->slot_count = 8);
	EXPECT_EPROTO_WITH(FR_MPMC, "slot_count 1024 in a 4-slot file", h->slot_count = 1024);
}

/*
 * A slot count that is not a power of two in an otherwise consistent file:
 * sizes and offsets match that count, only the power-of-two rule is broken.
 */
Test(segment, eproto_slot_count_not_power_of_two_consistent)
{
	static const uint32_t counts[] = { 3, 5, 6, 7 };
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		static const uint32_t modes[] = { FR_SPSC, FR_MPMC };
		for (size_t m = 0; m < 2; m++) {
			char name[FRT_NAME_SIZE], path[FRT_NAME_SIZE + 16], what[64];
			struct fr_config cfg = { .mode = modes[m], .slots = 8,
						 .frame_bytes = 4096 };
			fr_close(frt_create_ok(frt_name(name, sizeof name, "img8"), &cfg));
			struct frt_view v;
			frt_view_open_ok(name, 1, &v);
			uint64_t bytes = v.hdr->payload_offset + counts[i] * v.hdr->payload_stride;
			v.hdr->slot_count = counts[i];
			v.hdr->segment_bytes = bytes;
			frt_view_close(&v);
			frt_shm_path(path, sizeof path, name);
			cr_assert_eq(truncate(path, (off_t)bytes), 0);
			snprintf(what, sizeof what, "consistent slot_count %u (mode %u)", counts[i],
				 modes[m]);
			struct fr_ring *ring = NULL;
			int rc = fr_open(name, FR_CONSUMER, &ring);
			cr_expect_eq(rc, -EPROTO, "%s: fr_open returned %d", what, rc);
			if (rc == 0)
				fr_close(ring);
			struct fr_info info;
			rc = fr_stat(name, &info);
			cr_expect_eq(rc, -EPROTO, "%s: fr_stat returned %d", what, rc);
			FRT_ASSERT_OK(fr_unlink(name));
		}
	}
}

Test(segment, eproto_offsets_past_the_end)
{
	EXPECT_EPROTO_WITH(FR_SPSC, "desc_offset at end", h->desc_offset = h->segment_bytes);
	EXPECT_EPROTO_WITH(FR_SPSC, "desc_offset past end", h->desc_offset = h->segment_bytes * 2);
	EXPECT_EPROTO_WITH(FR_SPSC, "descriptors cross the end",
			   h->desc_offset = h->segment_bytes - FR_SHM_DESC_BYTES);
	EXPECT_EPROTO_WITH(FR_SPSC, "desc_offset near 2^64", h->desc_offset = UINT64_MAX - 63);
	EXPECT_EPROTO_WITH(FR_SPSC, "desc_offset inside the header", h->desc_offset = 0);
	EXPECT_EPROTO_WITH(FR_SPSC, "payload_offset at end",
			   h->payload_offset = h->segment_bytes);
	EXPECT_EPROTO_WITH(FR_SPSC, "payload_offset past end",
			   h->payload_offset = h->segment_bytes + 4096);
	EXPECT_EPROTO_WITH(FR_SPSC, "last slots past end",
			   h->payload_offset = h->segment_bytes - h->payload_stride);
	EXPECT_EPROTO_WITH(FR_SPSC, "payload_offset near 2^64",
			   h->payload_offset = UINT64_MAX & ~(uint64_t)4095);
	EXPECT_EPROTO_WITH(FR_SPSC, "payload_offset not page aligned", h->payload_offset += 64);
	EXPECT_EPROTO_WITH(FR_SPSC, "payload_offset 0", h->payload_offset = 0);
	EXPECT_EPROTO_WITH(FR_SPSC, "payload_stride doubled", h->payload_stride *= 2);
	EXPECT_EPROTO_WITH(FR_SPSC, "payload_stride 2^62 (overflows times slots)",
			   h->payload_stride = UINT64_C(1) << 62);
	EXPECT_EPROTO_WITH(FR_SPSC, "payload_stride not a page multiple",
			   h->payload_stride -= 64);
	EXPECT_EPROTO_WITH(FR_SPSC, "payload_stride 0", h->payload_stride = 0);
	EXPECT_EPROTO_WITH(FR_SPSC, "frame_capacity above payload_stride",
			   h->frame_capacity = h->payload_stride + 1);
	EXPECT_EPROTO_WITH(FR_MPMC, "frame_capacity 2^63", h->frame_capacity = UINT64_C(1) << 63);
	EXPECT_EPROTO_WITH(FR_SPSC, "segment_bytes larger than the file",
			   h->segment_bytes += 4096);
	EXPECT_EPROTO_WITH(FR_SPSC, "segment_bytes 2^64-1", h->segment_bytes = UINT64_MAX);
	EXPECT_EPROTO_WITH(FR_SPSC, "segment_bytes smaller than the header",
			   h->segment_bytes = 64);
}

Test(segment, eproto_enums_out_of_range)
{
	EXPECT_EPROTO_WITH(FR_SPSC, "mode 0", h->mode = 0);
	EXPECT_EPROTO_WITH(FR_SPSC, "mode 4", h->mode = 4);
	EXPECT_EPROTO_WITH(FR_SPSC, "mode 0xffffffff", h->mode = 0xffffffffu);
	EXPECT_EPROTO_WITH(FR_SPSC, "format out of range", h->format = FR_FORMAT_COUNT);
	/* fr_stat may describe a segment in any state (a tool lists those being made). */
	size_t len;
	unsigned char *img = valid_image(&len, FR_SPSC);
	atomic_store(&hdr(img)->state, 77);
	expect_eproto_ex(img, len, "state out of range", 0);
	atomic_store(&hdr(img)->state, FR_SHM_CLOSED);
	expect_eproto_ex(img, len, "state CLOSED", 0);
	free(img);
}

/* A segment that never became READY is not opened (and the open does not hang). */
Test(segment, never_ready_is_refused)
{
	size_t len;
	unsigned char *img = valid_image(&len, FR_SPSC);
	atomic_store(&hdr(img)->state, FR_SHM_INIT);
	char name[FRT_NAME_SIZE];
	frt_segment_write_ok(name, "bad", img, len);
	struct fr_ring *ring = NULL;
	int rc = fr_open(name, FR_CONSUMER, &ring);
	cr_expect_lt(rc, 0, "fr_open of a segment stuck in INIT returned %d", rc);
	if (rc == 0)
		fr_close(ring);
	FRT_ASSERT_OK(fr_unlink(name));
	free(img);
}

/*
 * Any single corrupted byte in the identity line gives 0 or -EPROTO, never a
 * crash; when the open succeeds, the ring still works or fails cleanly.
 * (Run under AddressSanitizer, an out-of-bounds access fails this test.)
 */
Test(segment, identity_line_byte_corruption)
{
	static const unsigned char values[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	size_t len;
	unsigned char *img = valid_image(&len, FR_SPSC);
	size_t state_at = offsetof(struct fr_shm_header, state);
	for (size_t at = 0; at < 128; at++) {
		if (at >= state_at && at < state_at + 4)
			continue; /* INIT makes open wait: covered above */
		for (size_t v = 0; v < sizeof values; v++) {
			if (img[at] == values[v])
				continue;
			unsigned char saved = img[at];
			img[at] = values[v];
			char name[FRT_NAME_SIZE];
			frt_segment_write_ok(name, "bad", img, len);
			img[at] = saved;
			struct fr_ring *prod = NULL, *cons = NULL;
			int rc = fr_open(name, FR_PRODUCER, &prod);
			cr_expect(rc == 0 || rc == -EPROTO, "byte %zu = %#x: fr_open returned %d",
				  at, values[v], rc);
			if (rc == 0 && fr_open(name, FR_CONSUMER, &cons) == 0) {
				struct fr_frame f;
				if (fr_claim(prod, &f, 0) == 0) {
					memset(f.data, 1, (size_t)f.capacity);
					fr_publish(prod, &f);
				}
				if (fr_acquire(cons, &f, 0) == 0)
					fr_release(cons, &f);
			}
			fr_close(cons);
			fr_close(prod);
			struct fr_info info;
			rc = fr_stat(name, &info);
			cr_expect(rc == 0 || rc == -EPROTO, "byte %zu = %#x: fr_stat returned %d",
				  at, values[v], rc);
			fr_unlink(name);
		}
	}
	free(img);
}
