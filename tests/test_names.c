/* Segment name validation: "/" followed by 1..200 of [A-Za-z0-9._-]. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"

TestSuite(names, .fini = frt_cleanup, .timeout = 60);

/* "/" (optional) followed by len copies of c. */
static char *make_name(char *buf, int slash, size_t len, char c)
{
	size_t at = 0;
	if (slash)
		buf[at++] = '/';
	memset(buf + at, c, len);
	buf[at + len] = '\0';
	return buf;
}

Test(names, accepts_valid_names)
{
	static const char *const good[] = {
		"/a", "a", "/A", "/0", "/frame-ring_1.0", "cam0", "/x.y.z", "/-", "/_",
		"/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		cr_expect_eq(fr_name_check(good[i]), 0, "\"%s\" rejected: %d", good[i],
			     fr_name_check(good[i]));
}

Test(names, length_limits)
{
	char buf[FR_NAME_MAX + 64];
	cr_expect_eq(fr_name_check(make_name(buf, 1, FR_NAME_MAX, 'a')), 0);
	cr_expect_eq(fr_name_check(make_name(buf, 0, FR_NAME_MAX, 'b')), 0);
	cr_expect_eq(fr_name_check(make_name(buf, 1, 1, 'c')), 0);
	cr_expect_eq(fr_name_check(make_name(buf, 1, FR_NAME_MAX + 1, 'a')), -ENAMETOOLONG);
	cr_expect_eq(fr_name_check(make_name(buf, 0, FR_NAME_MAX + 1, 'a')), -ENAMETOOLONG);
	cr_expect_eq(fr_name_check(make_name(buf, 1, FR_NAME_MAX + 40, 'z')), -ENAMETOOLONG);
}

Test(names, rejects_empty_and_null)
{
	cr_expect_eq(fr_name_check(NULL), -EINVAL);
	cr_expect_eq(fr_name_check(""), -EINVAL);
	cr_expect_eq(fr_name_check("/"), -EINVAL);
	/* Made of allowed characters, but not a file name. */
	cr_expect_eq(fr_name_check("/."), -EINVAL);
	cr_expect_eq(fr_name_check(".."), -EINVAL);
	cr_expect_eq(fr_name_check("/..."), 0);
}

Test(names, rejects_bad_characters)
{
	static const char *const bad[] = {
		"/a/b", "a/b", "//a", "/a/", "/a b", " a", "/a\tb", "/a\nb", "/a*", "/a?",
		"/a:b", "/a\\b", "/caf\xc3\xa9", "/\x7f", "/a%b", "/a+b", "/a~", "/a\"b",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(fr_name_check(bad[i]), -EINVAL, "bad name #%zu accepted (%d)", i,
			     fr_name_check(bad[i]));
	/* One bad character at the very end of a maximal name. */
	char buf[FR_NAME_MAX + 8];
	make_name(buf, 1, FR_NAME_MAX, 'q');
	buf[FR_NAME_MAX] = '/';
	cr_expect_eq(fr_name_check(buf), -EINVAL);
	buf[FR_NAME_MAX] = ' ';
	cr_expect_eq(fr_name_check(buf), -EINVAL);
}

/* Every entry point applies the check and touches nothing when it fails. */
Test(names, entry_points_reject_bad_names)
{
	struct fr_config cfg = { .mode = FR_SPSC, .frame_bytes = 64 };
	struct fr_ring *ring = NULL;
	struct fr_info info;
	char longname[FR_NAME_MAX + 8];
	make_name(longname, 1, FR_NAME_MAX + 1, 'l');

	cr_expect_eq(fr_create("/bad name", &cfg, &ring), -EINVAL);
	cr_expect_null(ring);
	cr_expect_eq(fr_create(longname, &cfg, &ring), -ENAMETOOLONG);
	cr_expect_null(ring);
	cr_expect_eq(fr_create(NULL, &cfg, &ring), -EINVAL);
	cr_expect_eq(fr_open("/a/b", FR_CONSUMER, &ring), -EINVAL);
	cr_expect_eq(fr_open(longname, FR_CONSUMER, &ring), -ENAMETOOLONG);
	cr_expect_null(ring);
	cr_expect_eq(fr_unlink("/a b"), -EINVAL);
	cr_expect_eq(fr_unlink(longname), -ENAMETOOLONG);
	cr_expect_eq(fr_stat("", &info), -EINVAL);
	cr_expect_eq(fr_stat(longname, &info), -ENAMETOOLONG);

	struct stat st;
	cr_expect_neq(stat("/dev/shm/bad name", &st), 0, "a segment with a bad name exists");
}

/* "name" and "/name" are the same segment. */
Test(names, leading_slash_is_optional)
{
	char name[FRT_NAME_SIZE];
	frt_name(name, sizeof name, "slash");
	struct fr_config cfg = { .mode = FR_SPSC, .frame_bytes = 64 };
	struct fr_ring *prod = NULL, *cons = NULL;

	FRT_ASSERT_OK(fr_create(name + 1, &cfg, &prod)); /* without the slash */
	cr_assert_not_null(prod);
	FRT_ASSERT_OK(fr_open(name, FR_CONSUMER, &cons)); /* with it */
	cr_assert_not_null(cons);

	char path[FRT_NAME_SIZE + 16];
	struct stat st;
	cr_expect_eq(stat(frt_shm_path(path, sizeof path, name), &st), 0,
		     "segment file %s missing", path);
	FRT_ASSERT_ERR(fr_create(name, &cfg, &prod), -EEXIST);

	fr_close(cons);
	fr_close(prod);
	FRT_ASSERT_OK(fr_unlink(name + 1));
	FRT_ASSERT_ERR(fr_unlink(name), -ENOENT);
}

/* A maximal name works end to end (shm_open, /dev/shm, unlink). */
Test(names, longest_name_round_trip)
{
	char name[FR_NAME_MAX + 8];
	char tag[FRT_NAME_SIZE];
	frt_name(tag, sizeof tag, "long");
	size_t n = strlen(tag);
	make_name(name, 0, FR_NAME_MAX + 1, 'x');
	memcpy(name, tag, n); /* unique prefix, padded with 'x' to 200 characters */
	cr_assert_eq(strlen(name), FR_NAME_MAX + 1);
	frt_track(name);

	struct fr_config cfg = { .mode = FR_MPMC, .frame_bytes = 64 };
	struct fr_ring *ring = NULL;
	FRT_ASSERT_OK(fr_create(name, &cfg, &ring));
	fr_close(ring);
	struct fr_info info;
	FRT_ASSERT_OK(fr_stat(name, &info));
	FRT_ASSERT_OK(fr_unlink(name));
	FRT_ASSERT_ERR(fr_stat(name, &info), -ENOENT);
}
