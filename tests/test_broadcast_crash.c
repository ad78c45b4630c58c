/*
 * A broadcast consumer SIGKILLed while it pins a frame. Its pin (holder bit)
 * and its peer entry are cleared by the reaper, run by a waiter that waited
 * longer than the reap interval (here the producer, held back by the dead
 * reliable consumer's cursor) or by the next attach. The producer goes on and
 * the surviving consumers lose nothing.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>

#include <testhooks.h>

#include "test_broadcast_util.h"

TestSuite(broadcast_crash, .fini = frt_cleanup, .timeout = 280);

#define FRAMES 3000
#define KILLED_STATUS (128 + SIGKILL)

struct victim {
	struct bct_consumer c;
	const char *hook;   /* NULL: kill itself after acquiring; else die at this lib point */
	long hook_after;
};

static int victim_main(void *arg)
{
	struct victim *v = arg;
	if (v->hook)
		fr_test_hook_arm(v->hook, v->hook_after);
	bct_consume(&v->c);
	return 0; /* not reached when it died as planned: the parent checks for SIGKILL */
}

/*
 * survivors[0]: reliable, survivors[1]: latest with short random holds; the
 * victim dies while pinning.
 */
static void run_with_victim(const char *tag, unsigned victim_flags, const char *hook,
			    long hook_after)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = bct_create_ok(name, tag, 8, 8192);

	struct bct_consumer *surv = frt_shared_alloc(2 * sizeof *surv);
	struct victim *vic = frt_shared_alloc(sizeof *vic);
	cr_assert(surv && vic);
	surv[0] = (struct bct_consumer){ .flags = FR_CONSUMER, .pattern = BCT_PATTERN_BYTE,
					 .verify_twice = 1 };
	surv[1] = (struct bct_consumer){ .flags = FR_CONSUMER | FR_LATEST,
					 .pattern = BCT_PATTERN_BYTE, .verify_twice = 1,
					 .hold_rand_us = 500 };
	vic->c = (struct bct_consumer){ .flags = FR_CONSUMER | victim_flags,
					.pattern = BCT_PATTERN_BYTE };
	/* A reliable victim gets every frame, so it surely reaches its 50th; a
	 * latest one may skip any number of frames, so it dies on its first. */
	if (!hook)
		vic->c.kill_after = victim_flags & FR_LATEST ? 1 : 50;
	vic->hook = hook;
	vic->hook_after = hook_after;

	int pipefd[2];
	cr_assert_eq(pipe(pipefd), 0);
	pid_t pids[2], vpid;
	for (int i = 0; i < 2; i++) {
		surv[i].name = name;
		surv[i].ready_fd = pipefd[1];
		pids[i] = frt_spawn(bct_consume_main, &surv[i]);
		cr_assert_gt(pids[i], 0);
	}
	vic->c.name = name;
	vic->c.ready_fd = pipefd[1];
	vpid = frt_spawn(victim_main, vic);
	cr_assert_gt(vpid, 0);
	close(pipefd[1]);
	int ready = frt_ready_wait(pipefd[0], 3, FRT_WAIT_MS);
	close(pipefd[0]);
	if (ready != 0) {
		frt_kill(pids[0]);
		frt_kill(pids[1]);
		frt_kill(vpid);
		cr_assert_fail("consumers did not attach");
	}
	int victim_index = vic->c.peer_index;

	struct bct_producer p = { .ring = prod, .pattern = BCT_PATTERN_BYTE, .count = FRAMES,
				  .pace_us = 20, .claim_timeout_ms = FRT_WAIT_MS };
	int prc = bct_produce(&p);
	struct fr_info pinfo;
	cr_assert_eq(fr_info(prod, &pinfo), 0);

	int bad;
	int vst = frt_wait(vpid, FRT_BOUND_S);
	/* Before anyone attaches again: whether a waiter already reaped the victim. */
	struct frt_view v;
	int vrc = frt_view_open(name, 0, &v);
	uint64_t holders_before = 0;
	uint32_t state_before = UINT32_MAX;
	if (vrc == 0) {
		unsigned w;
		holders_before = bct_holders(&v, &w);
		if (victim_index >= 0)
			state_before = frt_view_peer_state(&v, (unsigned)victim_index);
	}
	/* The attach of a new handle reaps whatever is left. */
	struct fr_ring *late = NULL;
	int orc = fr_open(name, FR_CONSUMER | FR_LATEST, &late);
	uint64_t holders_after_attach = 0;
	unsigned writing = 0, victim_entries = 0;
	if (vrc == 0)
		holders_after_attach = bct_holders(&v, &writing);
	if (orc == 0) {
		/* The new handle may reuse the dead one's entry: look for its pid. */
		static struct fr_info seen;
		if (fr_info(late, &seen) == 0)
			for (uint32_t i = 0; i < seen.peer_count; i++)
				victim_entries += seen.peers[i].pid == (int32_t)vpid;
		fr_close(late);
	}
	fr_close(prod);
	int st = frt_wait_all(pids, 2, FRT_BOUND_S, &bad);

	cr_assert_eq(prc, 0, "producer: %s", p.error);
	cr_assert_eq(st, 0, "survivor %d ended with status %d: %s", bad, st,
		     bad >= 0 ? surv[bad].error : "");
	cr_assert_eq(vst, KILLED_STATUS, "the victim ended with status %d, not killed: %s", vst,
		     vic->c.error);
	cr_assert_geq(victim_index, 0, "victim's peer entry unknown");
	if (!hook)
		cr_assert_neq(atomic_load(&vic->c.pinned_seq), 0,
			      "the victim died holding nothing");
	cr_assert_eq(orc, 0, "attach after the crash: %d (%s)", orc, fr_strerror(orc));
	cr_assert_eq(vrc, 0);

	/* The producer went on past the dead consumer. */
	cr_expect_eq(p.published, FRAMES);
	/* The survivors lost nothing. */
	cr_expect_eq(surv[0].delivered, FRAMES, "reliable survivor got %llu of %d",
		     (unsigned long long)surv[0].delivered, FRAMES);
	cr_expect_eq(surv[0].gaps, 0);
	cr_expect_eq(surv[1].info_delivered + surv[1].info_dropped, FRAMES,
		     "latest survivor: %llu delivered + %llu dropped",
		     (unsigned long long)surv[1].info_delivered,
		     (unsigned long long)surv[1].info_dropped);
	if (!(victim_flags & FR_LATEST)) {
		/* The producer got past the dead reliable consumer's cursor only
		 * because a waiter reaped it: pin and entry were gone before the
		 * next attach. */
		cr_expect_eq(holders_before & (UINT64_C(1) << victim_index), 0,
			     "the dead consumer's holder bit %d is still set", victim_index);
		cr_expect_eq(state_before, 0, "the dead consumer's entry %d is in state %u",
			     victim_index, state_before);
	}
	/* After an attach, the dead consumer's pin and entry are gone in any case. */
	cr_expect_eq(holders_after_attach & (UINT64_C(1) << victim_index), 0,
		     "the dead consumer's holder bit %d is still set", victim_index);
	cr_expect_eq(victim_entries, 0, "the dead consumer still has a peer entry");
	cr_expect_eq(writing, 0);

	unsigned writing_end;
	uint64_t holders_end = bct_holders(&v, &writing_end);
	frt_view_close(&v);
	cr_expect_eq(holders_end, 0, "holder bits left at the end: 0x%llx",
		     (unsigned long long)holders_end);
	cr_expect_eq(writing_end, 0);
	struct fr_info info;
	cr_assert_eq(fr_stat(name, &info), 0);
	cr_expect_eq(info.peer_count, 0, "%u peer entries left", info.peer_count);
	/* What the dead consumer read still counts. */
	uint64_t read = surv[0].delivered + surv[1].delivered + vic->c.delivered;
	cr_expect_eq(info.consumed, read, "consumed %llu, the consumers read %llu",
		     (unsigned long long)info.consumed, (unsigned long long)read);
	cr_expect_eq(info.latest_stalls, 0);
	printf("%s: victim entry %d, producer waits %llu, reliable survivor %llu frames, "
	       "latest survivor %llu delivered %llu dropped\n",
	       tag, victim_index, (unsigned long long)pinfo.producer_waits,
	       (unsigned long long)surv[0].delivered, (unsigned long long)surv[1].info_delivered,
	       (unsigned long long)surv[1].info_dropped);
	fflush(stdout);
	cr_assert_eq(fr_unlink(name), 0);
	frt_shared_free(surv, 2 * sizeof *surv);
	frt_shared_free(vic, sizeof *vic);
}

Test(broadcast_crash, reliable_consumer_killed_while_pinning_is_reaped_and_the_producer_goes_on)
{
	/* Its cursor holds the producer back until the producer's wait reaps it. */
	run_with_victim("crashrel", 0, NULL, 0);
}

Test(broadcast_crash, latest_consumer_killed_while_pinning_is_reaped_on_attach)
{
	/* A dead latest consumer's pin never makes the producer wait. */
	run_with_victim("crashlat", FR_LATEST, NULL, 0);
}

Test(broadcast_crash, reliable_consumer_killed_between_pin_and_cursor_update)
{
	run_with_victim("crashpin", 0, "bc_pinned", 30);
}

Test(broadcast_crash, latest_consumer_killed_before_unpinning)
{
	run_with_victim("crashunpin", FR_LATEST, "bc_release_before_unpin", 1);
}

/* A consumer process that pins one frame and dies holding it. */
struct pinner {
	const char *name;
	unsigned flags;
	int index; /* its peer entry, reported before it dies */
};

static int pinner_main(void *arg)
{
	struct pinner *pn = arg;
	struct fr_ring *r = NULL;
	if (fr_open(pn->name, FR_CONSUMER | pn->flags, &r) != 0)
		return FRT_CHILD_FAILED;
	struct fr_frame f;
	if (fr_acquire(r, &f, FRT_WAIT_MS) != 0)
		return FRT_CHILD_FAILED;
	pn->index = bct_find_self(r, FR_CONSUMER, pn->flags, NULL);
	raise(SIGKILL);
	return FRT_CHILD_FAILED;
}

/* Fork a pinner on a fresh 4-slot segment with one frame published; returns its entry. */
static int dead_pinner(char *name, const char *tag, unsigned flags, struct fr_ring **prod,
		       struct pinner **pn)
{
	*prod = bct_create_ok(name, tag, 4, 4096);
	bct_publish_byte(*prod, 0, 0);
	*pn = frt_shared_alloc(sizeof **pn);
	cr_assert_not_null(*pn);
	(*pn)->name = name;
	(*pn)->flags = flags;
	(*pn)->index = -1;
	pid_t pid = frt_spawn(pinner_main, *pn);
	cr_assert_gt(pid, 0);
	int st = frt_wait(pid, FRT_BOUND_S);
	cr_assert_eq(st, KILLED_STATUS, "the pinner ended with status %d", st);
	cr_assert_geq((*pn)->index, 0);
	/* Nobody waited and nobody attached since: the dead pin is still there. */
	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	unsigned writing;
	uint64_t holders = bct_holders(&v, &writing);
	uint32_t state = frt_view_peer_state(&v, (unsigned)(*pn)->index);
	frt_view_close(&v);
	cr_assert_eq(holders, UINT64_C(1) << (*pn)->index, "holders 0x%llx",
		     (unsigned long long)holders);
	cr_assert_eq(state, 1, "the dead consumer's entry is not live yet");
	/* fr_info tells: registered, but not alive. */
	static struct fr_info info;
	cr_assert_eq(fr_info(*prod, &info), 0);
	int listed = 0;
	for (uint32_t i = 0; i < info.peer_count; i++)
		if ((int)info.peers[i].index == (*pn)->index) {
			listed = 1;
			cr_expect_eq(info.peers[i].alive, 0, "a dead consumer reported alive");
			cr_expect_eq(info.peers[i].role, FR_CONSUMER);
			cr_expect_eq(info.peers[i].flags, flags);
			cr_expect_eq(info.peers[i].delivered, 1);
		}
	cr_expect(listed, "the dead consumer's entry is not in fr_info");
	cr_expect_eq(info.live_peers, 1, "only the producer is alive");
	return (*pn)->index;
}

static void expect_reaped(const char *name, int index)
{
	struct frt_view v;
	frt_view_open_ok(name, 0, &v);
	unsigned writing;
	uint64_t holders = bct_holders(&v, &writing);
	uint32_t state = frt_view_peer_state(&v, (unsigned)index);
	frt_view_close(&v);
	cr_expect_eq(holders & (UINT64_C(1) << index), 0, "dead pin still set: holders 0x%llx",
		     (unsigned long long)holders);
	cr_expect_eq(writing, 0);
	cr_expect_eq(state, 0, "the dead consumer's entry is in state %u", state);
}

Test(broadcast_crash, dead_latest_pin_stays_until_an_attach_reaps_it)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod;
	struct pinner *pn;
	int idx = dead_pinner(name, "deadlat", FR_LATEST, &prod, &pn);
	/* The producer never waits for a latest pin, dead or alive. */
	for (uint64_t s = 1; s < 50; s++)
		bct_publish_byte(prod, s, 0);
	struct fr_info info;
	cr_assert_eq(fr_info(prod, &info), 0);
	cr_expect_eq(info.producer_waits, 0);
	/* The attach of any handle reaps it. */
	struct fr_ring *c = NULL;
	cr_assert_eq(fr_open(name, FR_CONSUMER | FR_LATEST, &c), 0);
	fr_close(c);
	expect_reaped(name, idx);
	fr_close(prod);
	cr_assert_eq(fr_unlink(name), 0);
	frt_shared_free(pn, sizeof *pn);
}

Test(broadcast_crash, dead_reliable_consumer_is_reaped_by_the_waiting_producer)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod;
	struct pinner *pn;
	int idx = dead_pinner(name, "deadrel", 0, &prod, &pn);
	/* Its cursor (1) lets the producer fill the other slots, then holds it back. */
	for (uint64_t s = 1; s < 4; s++)
		bct_publish_byte(prod, s, 0);
	struct fr_frame f;
	cr_assert_eq(fr_claim(prod, &f, 0), -EAGAIN, "the producer overwrote an unread frame");
	/* A waiting claim outlives the reap interval and reaps the dead consumer. */
	bct_publish_byte(prod, 4, FRT_WAIT_MS);
	expect_reaped(name, idx);
	for (uint64_t s = 5; s < 50; s++)
		bct_publish_byte(prod, s, 0);
	fr_close(prod);
	cr_assert_eq(fr_unlink(name), 0);
	frt_shared_free(pn, sizeof *pn);
}
