/*
 * fr_open_from: more handles on one mapping (threads of one process), each a
 * peer of its own with its own liveness lock.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "helpers.h"

TestSuite(open_from, .fini = frt_cleanup);

static struct fr_ring *make(char *name, size_t size, unsigned mode)
{
	struct fr_config cfg = {.mode = mode, .slots = 4, .format = FR_FORMAT_RAW,
				.frame_bytes = 4096};
	return frt_create_ok(frt_name(name, size, "from"), &cfg);
}

Test(open_from, shares_the_mapping_and_outlives_its_sibling)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make(name, sizeof(name), FR_SPSC);
	struct fr_ring *cons;
	cr_assert_eq(fr_open_from(prod, FR_CONSUMER, &cons), 0);

	struct fr_frame f;
	cr_assert_eq(fr_claim(prod, &f, 0), 0);
	memset(f.data, 0x5a, 4096);
	cr_assert_eq(fr_publish(prod, &f), 0);

	struct fr_frame g;
	cr_assert_eq(fr_acquire(cons, &g, 0), 0);
	cr_assert_eq(g.data, f.data, "one mapping: the consumer sees the producer's address");
	cr_assert_eq(((unsigned char *)g.data)[4095], 0x5a);
	cr_assert_eq(fr_release(cons, &g), 0);

	cr_assert_eq(fr_claim(prod, &f, 0), 0);
	cr_assert_eq(fr_publish(prod, &f), 0);
	fr_close(prod); /* the consumer's handle keeps the mapping */
	cr_assert_eq(fr_acquire(cons, &g, 0), 0);
	cr_assert_eq(g.seq, 1);
	cr_assert_eq(fr_release(cons, &g), 0);
	cr_assert_eq(fr_acquire(cons, &g, 0), -EPIPE);
	fr_close(cons);
}

Test(open_from, siblings_are_alive_to_each_other)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make(name, sizeof(name), FR_MPMC);
	struct fr_ring *a, *b;
	cr_assert_eq(fr_open_from(prod, FR_CONSUMER, &a), 0);
	cr_assert_eq(fr_open_from(a, FR_CONSUMER, &b), 0);
	struct fr_info info;
	cr_assert_eq(fr_info(b, &info), 0);
	cr_assert_eq(info.peer_count, 3);
	cr_assert_eq(info.live_peers, 3, "each handle holds its own lock, seen by the others");
	fr_close(a);
	cr_assert_eq(fr_info(b, &info), 0);
	cr_assert_eq(info.live_peers, 2);
	fr_close(b);
	fr_close(prod);
}

Test(open_from, works_after_unlink_and_checks_flags)
{
	char name[FRT_NAME_SIZE];
	struct fr_ring *prod = make(name, sizeof(name), FR_SPSC);
	cr_assert_eq(fr_unlink(name), 0);
	struct fr_ring *cons;
	cr_assert_eq(fr_open_from(prod, FR_CONSUMER | FR_LATEST, &cons), -EINVAL,
		     "FR_LATEST is for broadcast consumers");
	cr_assert_eq(fr_open_from(prod, FR_PRODUCER, &cons), -EBUSY, "SPSC: one producer");
	cr_assert_eq(fr_open_from(prod, FR_CONSUMER, &cons), 0);
	fr_close(cons);
	fr_close(prod);
}
