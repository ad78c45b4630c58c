/*
 * Permissions: a segment's file mode is exactly the one asked for, whatever
 * the umask; another user without access gets -EACCES from fr_open and
 * fr_stat; sharing between two users works through a group and mode 0660.
 * Switching users needs root: every test skips with a message otherwise.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <framering.h>

#include "helpers.h"

#define NOBODY 65534
/* A group id no test user belongs to; it need not exist in /etc/group. */
#define SHARE_GID 47311
/* Why a test skips as another user than root. */
#define NEEDS_ROOT "needs root to switch users and groups (run the tests as root)"

TestSuite(permissions, .fini = frt_cleanup, .timeout = 120);

static struct stat file_stat(const char *name)
{
	char path[FRT_NAME_SIZE + 16];
	struct stat st;
	cr_assert_eq(stat(frt_shm_path(path, sizeof path, name), &st), 0, "stat %s", path);
	return st;
}

/* What a child running as another user must see. */
struct expect {
	const char *name;
	gid_t groups[1];
	int ngroups;   /* supplementary groups: 0 or 1 (groups[0]) */
	int open_rc;   /* fr_open, both roles */
	int stat_rc;   /* fr_stat */
	int move_frame; /* with open_rc 0: also move a frame producer -> consumer */
	uint32_t perms; /* create_in_share_group: mode to create with */
};

/* Child: drop to uid/gid nobody with the given supplementary groups, then try. */
static int as_nobody(void *p)
{
	const struct expect *e = p;
	FRT_CHILD_CHECK(setgroups((size_t)e->ngroups, e->groups) == 0);
	FRT_CHILD_CHECK(setgid(NOBODY) == 0);
	FRT_CHILD_CHECK(setuid(NOBODY) == 0);
	FRT_CHILD_CHECK(geteuid() == NOBODY && getegid() == NOBODY);

	struct fr_info info;
	int rc = fr_stat(e->name, &info);
	FRT_CHILD_CHECKF(rc == e->stat_rc, "fr_stat as nobody: %d (%s), want %d", rc,
			 fr_strerror(rc), e->stat_rc);

	struct fr_ring *prod = NULL, *cons = NULL;
	rc = fr_open(e->name, FR_PRODUCER, &prod);
	FRT_CHILD_CHECKF(rc == e->open_rc, "fr_open(producer) as nobody: %d (%s), want %d", rc,
			 fr_strerror(rc), e->open_rc);
	rc = fr_open(e->name, FR_CONSUMER, &cons);
	FRT_CHILD_CHECKF(rc == e->open_rc, "fr_open(consumer) as nobody: %d (%s), want %d", rc,
			 fr_strerror(rc), e->open_rc);
	if (e->open_rc == 0 && e->move_frame) {
		struct fr_frame f;
		FRT_CHILD_OK(fr_claim(prod, &f, 0));
		memset(f.data, 0xab, (size_t)f.capacity);
		FRT_CHILD_OK(fr_publish(prod, &f));
		FRT_CHILD_OK(fr_acquire(cons, &f, 0));
		FRT_CHILD_CHECK(((const uint8_t *)f.data)[f.bytes - 1] == 0xab);
		FRT_CHILD_OK(fr_release(cons, &f));
	}
	fr_close(cons);
	fr_close(prod);
	return 0;
}

static void create_closed(const char *name, uint32_t perms)
{
	struct fr_config cfg = {.mode = FR_SPSC, .frame_bytes = 4096, .perms = perms};
	struct fr_ring *ring = NULL;
	FRT_ASSERT_OK(fr_create(name, &cfg, &ring));
	fr_close(ring);
}

Test(permissions, private_segment_refuses_other_users)
{
	FRT_SKIP_UNLESS(geteuid() == 0, NEEDS_ROOT);
	char name[FRT_NAME_SIZE];
	create_closed(frt_name(name, sizeof name, "perm"), 0); /* default: 0600 */
	cr_assert_eq(file_stat(name).st_mode & 07777, 0600);
	cr_assert_eq(file_stat(name).st_uid, 0);
	struct expect e = {.name = name, .open_rc = -EACCES, .stat_rc = -EACCES};
	FRT_ASSERT_CHILD(frt_spawn(as_nobody, &e));
	/* Explicit 0600 and a group-only mode refuse nobody just the same. */
	create_closed(frt_name(name, sizeof name, "perm"), 0600);
	e.name = name;
	FRT_ASSERT_CHILD(frt_spawn(as_nobody, &e));
	/* The control: the same child gets in when others may read and write. */
	create_closed(frt_name(name, sizeof name, "perm"), 0666);
	e = (struct expect){.name = name, .open_rc = 0, .stat_rc = 0, .move_frame = 1};
	FRT_ASSERT_CHILD(frt_spawn(as_nobody, &e));
}

/* The creator runs with group SHARE_GID: its segment belongs to that group. */
static int create_in_share_group(void *p)
{
	const struct expect *e = p;
	FRT_CHILD_CHECK(setgid(SHARE_GID) == 0);
	struct fr_config cfg = {.mode = FR_SPSC, .frame_bytes = 4096, .perms = e->perms};
	struct fr_ring *ring = NULL;
	FRT_CHILD_OK(fr_create(e->name, &cfg, &ring));
	fr_close(ring);
	return 0;
}

static void create_shared(const char *name, uint32_t perms)
{
	struct expect how = {.name = name, .perms = perms};
	FRT_ASSERT_CHILD(frt_spawn(create_in_share_group, &how));
	struct stat st = file_stat(name);
	cr_assert_eq(st.st_gid, SHARE_GID, "segment group %u, want %u", (unsigned)st.st_gid,
		     (unsigned)SHARE_GID);
	cr_assert_eq(st.st_mode & 07777, perms, "mode %o, want %o", st.st_mode & 07777, perms);
}

Test(permissions, group_0660_shares_between_users)
{
	FRT_SKIP_UNLESS(geteuid() == 0, NEEDS_ROOT);
	char name[FRT_NAME_SIZE];
	create_shared(frt_name(name, sizeof name, "grp"), 0660);
	/* A member of the group (uid nobody) opens it in both roles and moves a frame. */
	struct expect member = {.name = name, .groups = {SHARE_GID}, .ngroups = 1, .open_rc = 0,
				.stat_rc = 0, .move_frame = 1};
	FRT_ASSERT_CHILD(frt_spawn(as_nobody, &member));
	/* The same uid outside the group is refused: the group is what lets it in. */
	struct expect outsider = {.name = name, .ngroups = 0, .open_rc = -EACCES,
				  .stat_rc = -EACCES};
	FRT_ASSERT_CHILD(frt_spawn(as_nobody, &outsider));
}

Test(permissions, group_read_only_can_stat_but_not_attach)
{
	FRT_SKIP_UNLESS(geteuid() == 0, NEEDS_ROOT);
	char name[FRT_NAME_SIZE];
	create_shared(frt_name(name, sizeof name, "grp"), 0640);
	/* Attaching writes (peer table, counters): read access is not enough. */
	struct expect member = {.name = name, .groups = {SHARE_GID}, .ngroups = 1,
				.open_rc = -EACCES, .stat_rc = 0};
	FRT_ASSERT_CHILD(frt_spawn(as_nobody, &member));
}

static void check_mode_under_umask(mode_t mask)
{
	char name[FRT_NAME_SIZE];
	mode_t old = umask(mask);
	create_closed(frt_name(name, sizeof name, "umask"), 0640);
	umask(old);
	mode_t got = file_stat(name).st_mode & 07777;
	cr_assert_eq(got, 0640, "umask %04o: created with 0640, file mode %04o", (unsigned)mask,
		     (unsigned)got);
	struct fr_info info;
	FRT_ASSERT_OK(fr_stat(name, &info));
	cr_assert_eq(info.perms, 0640, "umask %04o: fr_stat perms %04o", (unsigned)mask,
		     info.perms);
}

Test(permissions, mode_is_exact_whatever_the_umask)
{
	check_mode_under_umask(0077); /* would narrow 0640 to 0600 */
	check_mode_under_umask(0000); /* would leave the open() default */
	check_mode_under_umask(0022);
	check_mode_under_umask(0777);
}
