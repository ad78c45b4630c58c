/*
 * Segments on hugetlbfs (FRAMERING_DIR on a hugetlbfs mount): its files and
 * mappings come only in whole huge pages, so a segment's file is its layout
 * rounded up to the huge page size. Creating, opening by name from another
 * process, streaming 1080p frames and fr_stat work there; a file one huge
 * page longer than that is refused; too few huge pages is -ENOSPC with
 * nothing left behind.
 *
 * Needs root (to mount) and huge pages: when the pool has too few free, the
 * suite allows the kernel to allocate surplus ones for its duration
 * (vm.nr_overcommit_hugepages), which go back to the system when freed, and
 * restores the setting after.
 */
#include <criterion/criterion.h>

#include "helpers.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define HUGE_NEED 48 /* pages the tests hold at most at once: 96 MB with 2 MB pages */
#define FRAME_1080P (1920u * 1080u * 3u)
#define FRAMES 200

static const char overcommit[] = "/proc/sys/vm/nr_overcommit_hugepages";
static long saved_overcommit = -1;
static char dir[64];
static int mounted;

static long read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static void teardown(void)
{
	if (mounted) {
		umount(dir);
		rmdir(dir);
		mounted = 0;
	}
	if (saved_overcommit >= 0)
		(void)write_long(overcommit, saved_overcommit);
	saved_overcommit = -1;
	unsetenv("FRAMERING_DIR");
}

/* A hugetlbfs mount of at most @size_mb (0: no limit) in FRAMERING_DIR, with
 * HUGE_NEED huge pages to be had; skips the test where that cannot be. */
static void setup_mount(unsigned size_mb)
{
	long long have = frt_meminfo("HugePages_Free");
	FRT_SKIP_UNLESS(have >= 0, "no huge page support in this kernel");
	if (have < HUGE_NEED) {
		long was = read_long(overcommit);
		FRT_SKIP_UNLESS(was >= 0 && write_long(overcommit, was + HUGE_NEED) == 0,
				"%lld free huge pages and %s not writable (not root?)", have,
				overcommit);
		saved_overcommit = was;
	}
	snprintf(dir, sizeof dir, "/tmp/frt-hugetlbfs-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	char opts[64] = "mode=0700";
	if (size_mb)
		snprintf(opts, sizeof opts, "mode=0700,size=%uM", size_mb);
	mounted = mount("frt-hugetlbfs", dir, "hugetlbfs", MS_NOSUID | MS_NODEV, opts) == 0;
	int err = errno;
	if (!mounted)
		rmdir(dir);
	FRT_SKIP_UNLESS(mounted, "cannot mount hugetlbfs here (%s): segments on it untested",
			strerror(err));
	setenv("FRAMERING_DIR", dir, 1);
}

static uint64_t huge_page_size(void)
{
	struct statfs fs;
	cr_assert_eq(statfs(dir, &fs), 0);
	cr_assert_eq(fs.f_type, HUGETLBFS_MAGIC, "%s is not hugetlbfs", dir);
	return (uint64_t)fs.f_bsize;
}

static off_t file_size(const char *name)
{
	char path[160];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_size;
}

static void stream_1080p(const char *name, uint32_t mode, uint32_t slots, int consumers)
{
	struct fr_config cfg = {.mode = mode, .slots = slots, .frame_bytes = FRAME_1080P};
	struct fr_ring *tx = NULL;
	FRT_ASSERT_OK(fr_create(name, &cfg, &tx));
	uint64_t page = huge_page_size();
	off_t size = file_size(name);
	cr_assert_eq((uint64_t)size % page, 0, "file of %lld bytes: not whole %llu-byte pages",
		     (long long)size, (unsigned long long)page);
	cr_assert_geq((uint64_t)size, (uint64_t)slots * FRAME_1080P);
	cr_assert_lt((uint64_t)size, (uint64_t)slots * FRAME_1080P + 16384 + page,
		     "more than one huge page of rounding");

	struct frt_stream *s = frt_shared_alloc((size_t)(consumers + 1) * sizeof *s);
	cr_assert_not_null(s);
	pid_t pids[4];
	cr_assert_leq(consumers, 3);
	for (int i = 1; i <= consumers; i++) {
		s[i].name = name;
		s[i].in_order = 1;
		s[i].min_len = FRAME_1080P - 4096;
		s[i].max_len = FRAME_1080P;
		s[i].wait_ms = FRT_WAIT_MS;
		pids[i] = frt_spawn(frt_consume_main, &s[i]);
		cr_assert_gt(pids[i], 0);
	}
	s[0].ring = tx;
	s[0].count = FRAMES;
	s[0].min_len = FRAME_1080P - 4096;
	s[0].max_len = FRAME_1080P;
	s[0].wait_ms = FRT_WAIT_MS;
	/* consumers attached (broadcast readers start at the newest frame) */
	for (int spins = 0;; spins++) {
		struct fr_info info;
		FRT_ASSERT_OK(fr_stat(name, &info));
		if (info.peer_count >= (uint32_t)consumers + 1)
			break;
		cr_assert_lt(spins, 30000, "consumers did not attach");
		frt_sleep_ms(1);
	}
	cr_assert_eq(frt_produce(&s[0]), 0, "producer: %s", s[0].error);
	for (int i = 1; i <= consumers; i++) {
		int st = frt_wait(pids[i], FRT_BOUND_S);
		cr_assert_eq(st, 0, "consumer %d ended with status %d: %s", i, st, s[i].error);
		cr_assert_eq(s[i].frames, FRAMES, "consumer %d got %llu frames", i,
			     (unsigned long long)s[i].frames);
		cr_assert_eq(s[i].sum, s[0].sum, "consumer %d read other bytes", i);
	}
	struct fr_info info;
	FRT_ASSERT_OK(fr_stat(name, &info));
	cr_assert_eq(info.published, FRAMES);
	frt_shared_free(s, (size_t)(consumers + 1) * sizeof *s);
	FRT_ASSERT_OK(fr_unlink(name));
}

TestSuite(hugetlbfs, .fini = teardown);

Test(hugetlbfs, spsc_frames_through_huge_pages)
{
	setup_mount(0);
	char name[64];
	snprintf(name, sizeof name, "frt-huge-spsc-%d", (int)getpid());
	stream_1080p(name, FR_SPSC, 4, 1);
}

Test(hugetlbfs, broadcast_frames_through_huge_pages)
{
	setup_mount(0);
	char name[64];
	snprintf(name, sizeof name, "frt-huge-bc-%d", (int)getpid());
	stream_1080p(name, FR_BROADCAST, 8, 3);
}

/* The rounding is exact: a file a huge page longer is not a segment. */
Test(hugetlbfs, one_page_too_long_is_refused)
{
	setup_mount(0);
	char name[64], path[160];
	snprintf(name, sizeof name, "frt-huge-long-%d", (int)getpid());
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 2, .frame_bytes = 4096};
	struct fr_ring *tx = frt_create_ok(name, &cfg), *rx = NULL;
	uint64_t page = huge_page_size();
	cr_assert_eq((uint64_t)file_size(name), page, "a small segment takes one huge page");
	FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &rx));
	fr_close(rx);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)(2 * page)), 0, "%s", strerror(errno));
	close(fd);
	FRT_ASSERT_ERR(fr_open(name, FR_CONSUMER, &rx), -EPROTO);
	fr_close(tx);
	FRT_ASSERT_OK(fr_unlink(name));
}

/* A mount that holds 8 MB: a 25 MB segment does not fit. */
Test(hugetlbfs, too_few_huge_pages_is_enospc)
{
	setup_mount(8);
	char name[64], path[160];
	snprintf(name, sizeof name, "frt-huge-full-%d", (int)getpid());
	struct fr_config cfg = {.mode = FR_SPSC, .slots = 4, .frame_bytes = FRAME_1080P};
	struct fr_ring *tx = NULL;
	FRT_ASSERT_ERR(fr_create(name, &cfg, &tx), -ENOSPC);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	cr_assert_neq(access(path, F_OK), 0, "the failed create left %s behind", path);
}
