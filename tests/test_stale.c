/*
 * Stale segments: a segment whose creator is dead and that has no live peer
 * may be replaced by fr_create with FR_CREATE_REPLACE_STALE; a segment with
 * a live peer (or without the flag) never is.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "helpers.h"

static const struct fr_config cfg = {.mode = FR_SPSC, .slots = 4, .format = FR_FORMAT_RAW,
				     .frame_bytes = 4096};

static int create_and_die(void *arg)
{
	struct fr_ring *r;
	FRT_CHILD_OK(fr_create(arg, &cfg, &r));
	raise(SIGKILL); /* a camera that crashed: no close, no unlink */
	return FRT_CHILD_FAILED;
}

static int attach_and_wait(void *arg)
{
	struct fr_ring *r;
	FRT_CHILD_OK(fr_open(arg, FR_CONSUMER, &r));
	pause(); /* alive until the test kills us */
	return 0;
}

TestSuite(stale, .fini = frt_cleanup);

Test(stale, replaced_only_when_creator_and_peers_are_dead)
{
	char name[FRT_NAME_SIZE];
	frt_name(name, sizeof(name), "stale");
	pid_t pid = frt_spawn(create_and_die, name);
	cr_assert_eq(frt_wait(pid, FRT_BOUND_S), 128 + SIGKILL);

	struct fr_info info;
	cr_assert_eq(fr_stat(name, &info), 0);
	cr_assert_eq(info.creator_alive, 0);
	cr_assert_eq(info.live_peers, 0);
	cr_assert(fr_info_is_stale(&info));

	struct fr_ring *r;
	cr_assert_eq(fr_create(name, &cfg, &r), -EEXIST, "without the flag the name stays taken");

	struct fr_config replace = cfg;
	replace.flags = FR_CREATE_REPLACE_STALE;
	replace.slots = 8;
	cr_assert_eq(fr_create(name, &replace, &r), 0);
	cr_assert_eq(fr_info(r, &info), 0);
	cr_assert_eq(info.slots, 8, "the new segment replaced the stale one");
	cr_assert_eq(info.creator_pid, getpid());
	fr_close(r);
}

Test(stale, a_live_peer_keeps_the_segment)
{
	char name[FRT_NAME_SIZE];
	frt_name(name, sizeof(name), "stale-live");
	pid_t creator = frt_spawn(create_and_die, name);
	cr_assert_eq(frt_wait(creator, FRT_BOUND_S), 128 + SIGKILL);

	pid_t reader = frt_spawn(attach_and_wait, name);
	struct fr_info info;
	for (int i = 0; i < 10000; i++) { /* until the reader has attached */
		cr_assert_eq(fr_stat(name, &info), 0);
		if (info.live_peers == 1)
			break;
		frt_sleep_ms(1);
	}
	cr_assert_eq(info.live_peers, 1);
	cr_assert_not(fr_info_is_stale(&info));

	struct fr_config replace = cfg;
	replace.flags = FR_CREATE_REPLACE_STALE;
	struct fr_ring *r;
	cr_assert_eq(fr_create(name, &replace, &r), -EEXIST, "a live reader keeps it");

	cr_assert_eq(frt_kill(reader), 128 + SIGKILL, "the reader ended before the kill");
	cr_assert_eq(fr_create(name, &replace, &r), 0, "stale once the reader died");
	fr_close(r);
}

Test(stale, a_live_creator_keeps_the_segment)
{
	char name[FRT_NAME_SIZE];
	frt_name(name, sizeof(name), "stale-creator");
	struct fr_ring *mine;
	cr_assert_eq(fr_create(name, &cfg, &mine), 0);
	fr_close(mine); /* no peer attached, but the creator (us) lives */
	struct fr_info info;
	cr_assert_eq(fr_stat(name, &info), 0);
	cr_assert_eq(info.creator_alive, 1);
	cr_assert_not(fr_info_is_stale(&info));
	struct fr_config replace = cfg;
	replace.flags = FR_CREATE_REPLACE_STALE;
	cr_assert_eq(fr_create(name, &replace, &mine), -EEXIST);
}
