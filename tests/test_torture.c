/*
 * Crash torture: in every mode, 500 rounds in which one randomly chosen
 * producer or consumer process is SIGKILLed, either after a random delay or
 * by itself at an injected point inside the library (before the CAS that
 * takes a slot, after it, before the publish/release hands the slot on;
 * hook points compiled into the tests' copy of the library), and a
 * replacement attaches. At the end every published frame is accounted for:
 * delivered at least once, and every extra delivery flagged
 * FR_FRAME_REDELIVERED. Every wait is bounded; a survivor that waits out its
 * bound fails the test (nothing may wedge).
 *
 * Slow peers (issue 9): in the *_slow runs one round's victim in three is
 * not killed but stopped (SIGSTOP, at a random moment or by itself at a hook
 * point) and resumed (SIGCONT) after a short random pause. A stopped peer is
 * slow, not dead: it keeps what it holds, nobody reaps it, and it goes on
 * where it stopped. So on top of the accounting above: no frame is released
 * twice (a second release means the frame went to another consumer while
 * its first holder was only stopped), every flagged redelivery is paid for
 * by a consumer that died (at most one per death), and every call of a
 * resumed peer still succeeds. The mpmc_3x3 run does the same with three
 * producers and three consumers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <framering.h>

#include <testhooks.h>

#include "helpers.h"

TestSuite(torture, .fini = frt_cleanup);

#define ROUNDS 500
#define SLOW_ROUNDS 100    /* the slow-peer runs: fewer rounds keep CI time level */
#define FRAMES_PER_ROUND 2000
#define MAX_FRAMES (ROUNDS * FRAMES_PER_ROUND + 100000)
#define FRAME_BYTES 256
#define WAIT_BOUND_MS 20000 /* a survivor waiting this long is wedged */
#define MAX_ROLES 6
#define STOP_PAUSE_US 20000 /* a stopped peer is resumed within this (plus scheduling) */

/* Shared between the test and its children (frt_shared_alloc). A child that
 * fails says why in detail and exits FRT_CHILD_FAILED. */
struct ledger {
	_Atomic uint64_t next_index; /* frame ids, handed out before each claim */
	_Atomic uint64_t allowed;    /* producers stay below this (paced per round) */
	_Atomic int stop;
	_Atomic uint8_t published[MAX_FRAMES];
	/* Per frame id: deliveries in the low half, flagged redeliveries in the high
	 * half, counted by one atomic add: a consumer killed between two separate
	 * counts would record a flagged delivery as an unflagged one. */
	_Atomic uint32_t deliveries[MAX_FRAMES];
	_Atomic uint8_t released[MAX_FRAMES]; /* fr_release calls that returned 0 */
	_Atomic uint64_t witness_next; /* broadcast: next seq the witness expects */
	_Atomic uint32_t consumers_ready;
	_Atomic uint32_t holding[MAX_ROLES]; /* role i's process holds a claimed/acquired frame */
	char detail[256];
};

struct role {
	unsigned flags;             /* FR_PRODUCER or FR_CONSUMER */
	bool witness;               /* broadcast: never killed, checks every seq */
	const char *const *points;  /* injection points for this role */
	pid_t pid;
	bool armed;
	int action;                 /* what the armed point does: FR_TEST_KILL or FR_TEST_STOP */
};

/* One run's shape and what happened in it. */
struct run {
	const char *label;
	unsigned mode;
	unsigned rounds;
	bool slow;                  /* one victim in three is stopped and resumed */
	uint64_t capacity;          /* the segment's frame_bytes; 0: FRAME_BYTES */
	unsigned deaths, injected;  /* processes killed; of which at an injected point */
	unsigned consumer_deaths;   /* of which consumers (each can cause one redelivery) */
	unsigned stops, stops_injected; /* stopped and resumed; of which at an injected point */
	unsigned kills_while_stopped;   /* deaths of another peer while a victim was stopped */
	struct role *roles;
	unsigned nroles;
};

static struct ledger *L;
static unsigned my_role; /* in a child: its index in the roles array */

static uint8_t fill_byte(uint64_t id)
{
	return (uint8_t)(id * 131 + 7);
}

/* In a child: say what failed (the parent prints it), and the exit status to return. */
static int fail(const char *what)
{
	snprintf(L->detail, sizeof(L->detail), "%s (pid %d)", what, (int)getpid());
	return FRT_CHILD_FAILED;
}

static int producer_main(const char *name)
{
	struct fr_ring *r;
	int rc;
	for (int tries = 0; (rc = fr_open(name, FR_PRODUCER, &r)) == -EBUSY && tries < 2000;
	     tries++)
		frt_sleep_us(1000); /* the dead predecessor's registration is being reaped */
	if (rc < 0)
		return fail("producer open failed");
	while (!atomic_load(&L->stop)) {
		uint64_t id = atomic_load(&L->next_index);
		if (id >= atomic_load(&L->allowed) || id >= MAX_FRAMES) {
			frt_sleep_us(200);
			continue;
		}
		struct fr_frame f;
		rc = fr_claim(r, &f, WAIT_BOUND_MS);
		if (rc == -ETIMEDOUT)
			return fail("producer wedged in claim");
		if (rc < 0)
			return fail("producer claim failed");
		id = atomic_fetch_add(&L->next_index, 1);
		if (id >= MAX_FRAMES) {
			fr_cancel(r, &f);
			continue;
		}
		atomic_store(&L->holding[my_role], 1);
		memset(f.data, fill_byte(id), FRAME_BYTES);
		memcpy(f.data, &id, sizeof(id));
		f.bytes = FRAME_BYTES;
		/* A producer that was stopped while holding the claim still owns it. */
		if (fr_publish(r, &f) < 0)
			return fail("producer publish failed");
		atomic_store(&L->holding[my_role], 0);
		atomic_store(&L->published[id], 1);
	}
	fr_close(r); /* the last producer's close ends the stream */
	return 0;
}

static int check_frame(const struct fr_frame *f, uint64_t *id_out)
{
	const uint8_t *p = f->data;
	uint64_t id;
	if (f->bytes != FRAME_BYTES)
		return -1;
	memcpy(&id, p, sizeof(id));
	if (id >= MAX_FRAMES)
		return -1;
	for (size_t i = sizeof(id); i < FRAME_BYTES; i++)
		if (p[i] != fill_byte(id))
			return -1;
	*id_out = id;
	return 0;
}

static int consumer_main(const char *name, bool witness, unsigned mode)
{
	struct fr_ring *r;
	int rc;
	for (int tries = 0; (rc = fr_open(name, FR_CONSUMER, &r)) == -EBUSY && tries < 2000;
	     tries++)
		frt_sleep_us(1000);
	if (rc < 0)
		return fail("consumer open failed");
	atomic_fetch_add(&L->consumers_ready, 1);
	int64_t last_seq = -1;
	for (;;) {
		struct fr_frame f;
		rc = fr_acquire(r, &f, WAIT_BOUND_MS);
		if (rc == -EPIPE)
			break;
		if (rc == -ETIMEDOUT)
			return fail("consumer wedged in acquire");
		if (rc < 0)
			return fail("consumer acquire failed");
		uint64_t id;
		atomic_store(&L->holding[my_role], 1);
		if (check_frame(&f, &id) < 0)
			return fail("torn or foreign frame");
		if (mode != FR_MPMC && (int64_t)f.seq <= last_seq)
			return fail("seq went backwards");
		if (witness) {
			uint64_t want = atomic_load(&L->witness_next);
			if (f.seq != want) {
				snprintf(L->detail, sizeof(L->detail),
					 "witness got seq %llu, expected %llu",
					 (unsigned long long)f.seq, (unsigned long long)want);
				return FRT_CHILD_FAILED;
			}
			atomic_store(&L->witness_next, want + 1);
		} else {
			bool flagged = f.flags & FR_FRAME_REDELIVERED;
			atomic_fetch_add(&L->deliveries[id], 1u + (flagged ? 1u << 16 : 0u));
		}
		last_seq = (int64_t)f.seq;
		/* A consumer that was stopped while holding the frame still owns it. */
		if (fr_release(r, &f) < 0)
			return fail("consumer release failed");
		atomic_store(&L->holding[my_role], 0);
		if (!witness && mode != FR_BROADCAST)
			atomic_fetch_add(&L->released[id], 1);
	}
	fr_close(r);
	return 0;
}

/* What a child runs (copied into it by fork). */
struct child {
	const char *name;
	unsigned mode;
	unsigned role; /* index in the run's roles */
	const struct role *ro;
	const char *point;
	long after;
};

static int child_main(void *arg)
{
	const struct child *c = arg;
	my_role = c->role;
	atomic_store(&L->holding[my_role], 0);
	fr_test_hook_arm_action(c->point, c->after, c->ro->action);
	return c->ro->flags == FR_PRODUCER ? producer_main(c->name)
					   : consumer_main(c->name, c->ro->witness, c->mode);
}

static pid_t spawn(const char *name, struct run *run, struct role *ro, bool arm)
{
	ro->armed = false;
	ro->action = FR_TEST_KILL;
	const char *point = NULL;
	long after = 0;
	if (arm && ro->points) {
		unsigned n = 0;
		while (ro->points[n])
			n++;
		point = ro->points[rand() % n];
		after = 1 + rand() % 40;
		ro->armed = true;
		/* Slow runs: a third of the armed points stop the process instead. */
		if (run->slow && rand() % 3 == 0)
			ro->action = FR_TEST_STOP;
	}
	struct child c = {.name = name, .mode = run->mode, .role = (unsigned)(ro - run->roles),
			  .ro = ro, .point = point, .after = after};
	ro->pid = frt_spawn_ok(child_main, &c);
	return ro->pid;
}

/* Statuses as frt_wait() reports them: exit code, 128 + signal, -1 wedged (killed). */
static void expect_clean_exit(int status, const char *who)
{
	cr_assert(status != -1, "%s did not finish within its bound (wedged): %s", who, L->detail);
	cr_assert(status < 128, "%s died by signal %d", who, status - 128);
	cr_assert_eq(status, 0, "%s failed with %d: %s", who, status, L->detail);
}

static void expect_killed(int status, const char *who)
{
	cr_assert(status >= 128, "%s exited with %d before being killed: %s", who, status,
		  L->detail);
	cr_assert_eq(status, 128 + SIGKILL, "%s died by signal %d", who, status - 128);
}

/* A role's process died (SIGKILL): count it and staff the role again. */
static void replace(const char *name, struct run *run, struct role *ro, bool at_point)
{
	run->deaths++;
	run->injected += at_point;
	run->consumer_deaths += ro->flags == FR_CONSUMER;
	spawn(name, run, ro, rand() % 2);
}

/* Resume a stopped process after a short random pause: slow, not dead. */
static void resume(struct run *run, struct role *ro, bool at_point)
{
	frt_sleep_us(1000 + rand() % STOP_PAUSE_US);
	frt_continue(ro->pid);
	run->stops++;
	run->stops_injected += at_point;
}

/*
 * Armed processes kill or stop themselves whenever they reach their point:
 * replace those that died and resume those that stopped, so that every role
 * is always staffed and nobody stays stopped for long.
 */
static void tend_armed(const char *name, struct run *run, struct role *roles, unsigned nroles)
{
	for (unsigned i = 0; i < nroles; i++) {
		int status, got;
		if (!roles[i].armed || (got = frt_wait_stopped(roles[i].pid, 0, &status)) < 0)
			continue;
		if (got == 0) { /* stopped */
			cr_assert_eq(roles[i].action, FR_TEST_STOP,
				     "a process armed to die stopped");
			roles[i].armed = false; /* a point fires once */
			resume(run, &roles[i], true);
			continue;
		}
		expect_killed(status, "armed process");
		cr_assert_eq(roles[i].action, FR_TEST_KILL, "a process armed to stop died");
		replace(name, run, &roles[i], true);
	}
}

/*
 * While @stopped is stopped, half the time another peer dies (mostly one of
 * the same role) and its replacement attaches and reaps it: the reaper meets
 * a live peer caught between two steps, the interleaving of issue 9's
 * findings 1 and 2.
 */
static void kill_another(const char *name, struct run *run, struct role *roles, unsigned nroles,
			 struct role *stopped)
{
	if (rand() % 2)
		return;
	unsigned same[MAX_ROLES], any[MAX_ROLES], nsame = 0, nany = 0;
	for (unsigned i = 0; i < nroles; i++) {
		if (&roles[i] == stopped || roles[i].witness)
			continue;
		any[nany++] = i;
		if (roles[i].flags == stopped->flags)
			same[nsame++] = i;
	}
	if (!nany)
		return;
	struct role *w = &roles[nsame && rand() % 3 ? same[rand() % nsame] : any[rand() % nany]];
	int status;
	bool at_point = false;
	if (w->armed && w->action == FR_TEST_KILL) {
		status = frt_wait_ms(w->pid, 50); /* its own point, if it gets there */
		if (status != -1)
			expect_killed(status, "armed process");
		at_point = status != -1;
	} else {
		/* Preferably while it holds a frame: a dead holder is what a
		 * reaper must tell apart from the stopped peer. */
		unsigned i = (unsigned)(w - roles);
		for (int waited = 0; waited < 200 && !atomic_load(&L->holding[i]); waited++)
			frt_sleep_us(100);
		/* SIGKILL also ends one stopped at its point. */
		expect_killed(frt_kill(w->pid), "second victim");
	}
	run->kills_while_stopped++;
	replace(name, run, w, at_point);
}

/* Stop the victim (at its stop point if it has one, else now) and resume it. */
static void stop_victim(const char *name, struct run *run, struct role *roles, unsigned nroles,
			struct role *ro)
{
	/* frt_wait_stopped: 0 stopped, 1 died (status set), -1 neither. */
	int status, got = -1;
	bool at_point = false;
	if (ro->armed && ro->action == FR_TEST_STOP) {
		/* Give it time to reach its point. */
		got = frt_wait_stopped(ro->pid, 200, &status);
		cr_assert(got != 1, "a process armed to stop died: %s", L->detail);
		if (got == 0) {
			ro->armed = false;
			at_point = true;
		}
	}
	if (got != 0) {
		frt_sleep_us(rand() % 3000);
		kill(ro->pid, SIGSTOP);
		got = frt_wait_stopped(ro->pid, 5000, &status);
		cr_assert(got != -1, "a process did not stop within 5 s of SIGSTOP");
		if (got == 1) {
			/* Its kill point came first. */
			expect_killed(status, "armed victim");
			cr_assert(ro->armed && ro->action == FR_TEST_KILL,
				  "victim died while stopping: %s", L->detail);
			replace(name, run, ro, true);
			return;
		}
	}
	kill_another(name, run, roles, nroles, ro);
	resume(run, ro, at_point);
}

static void run_torture(struct run *run, struct role *roles, unsigned nroles)
{
	const unsigned mode = run->mode;
	cr_assert_leq(nroles, MAX_ROLES);
	run->roles = roles;
	run->nroles = nroles;
	char name[FRT_NAME_SIZE];
	frt_name(name, sizeof name, "torture");
	L = frt_shared_alloc(sizeof(*L));
	cr_assert_not_null(L);
	srand((unsigned)getpid());

	struct fr_config cfg = {.mode = mode, .slots = 8, .format = FR_FORMAT_RAW,
				.frame_bytes = run->capacity ? run->capacity : FRAME_BYTES};
	struct fr_ring *creator;
	cr_assert_eq(fr_create(name, &cfg, &creator), 0);
	fr_close(creator); /* created, never published: not end of stream */

	/* Consumers first, so that broadcast consumers see seq 0 onwards. */
	unsigned nconsumers = 0;
	for (unsigned i = 0; i < nroles; i++)
		if (roles[i].flags == FR_CONSUMER) {
			spawn(name, run, &roles[i], false);
			nconsumers++;
		}
	cr_assert_eq(frt_wait_flag(&L->consumers_ready, nconsumers, 0, FRT_BOUND_S), 0,
		     "consumers did not attach");
	for (unsigned i = 0; i < nroles; i++)
		if (roles[i].flags == FR_PRODUCER)
			spawn(name, run, &roles[i], false);

	for (unsigned round = 0; round < run->rounds; round++) {
		atomic_fetch_add(&L->allowed, FRAMES_PER_ROUND);
		tend_armed(name, run, roles, nroles);
		unsigned v;
		do
			v = (unsigned)rand() % nroles;
		while (roles[v].witness);
		struct role *ro = &roles[v];
		if (run->slow && rand() % 3 == 0) {
			stop_victim(name, run, roles, nroles, ro);
			continue;
		}
		int status;
		bool at_point = false;
		if (ro->armed && ro->action == FR_TEST_KILL) {
			/* Give it time to reach its injection point, then make sure. */
			status = frt_wait_ms(ro->pid, 200);
			if (status != -1)
				expect_killed(status, "armed victim");
			at_point = status != -1;
		} else {
			/* Unarmed, or armed to stop: killed at a random moment (also
			 * while it may be stopped at its point: SIGKILL ends it). */
			frt_sleep_us(rand() % 3000);
			expect_killed(frt_kill(ro->pid), "victim");
		}
		replace(name, run, ro, at_point);
	}
	tend_armed(name, run, roles, nroles);
	/* The last armed processes would kill or stop themselves while
	 * finishing: replace them with unarmed ones. */
	for (unsigned i = 0; i < nroles; i++) {
		if (!roles[i].armed)
			continue;
		expect_killed(frt_kill(roles[i].pid), "armed process");
		run->deaths++;
		run->consumer_deaths += roles[i].flags == FR_CONSUMER;
		spawn(name, run, &roles[i], false);
	}

	/* Let the survivors finish: producers stop, the last close ends the
	 * stream, consumers drain and exit. */
	atomic_store(&L->stop, 1);
	for (unsigned i = 0; i < nroles; i++)
		if (roles[i].flags == FR_PRODUCER)
			expect_clean_exit(frt_wait(roles[i].pid, 60), "producer");
	for (unsigned i = 0; i < nroles; i++)
		if (roles[i].flags == FR_CONSUMER)
			expect_clean_exit(frt_wait(roles[i].pid, 60), "consumer");

	struct fr_info info;
	cr_assert_eq(fr_stat(name, &info), 0);
	uint64_t ids = atomic_load(&L->next_index);
	if (ids > MAX_FRAMES)
		ids = MAX_FRAMES;
	uint64_t published = 0, redelivered = 0;
	if (mode != FR_BROADCAST) {
		for (uint64_t id = 0; id < ids; id++) {
			uint32_t both = atomic_load(&L->deliveries[id]);
			uint32_t d = both & 0xffffu, rd = both >> 16;
			if (atomic_load(&L->published[id])) {
				published++;
				cr_assert(d >= 1, "%s: frame %llu published but never delivered",
					  run->label, (unsigned long long)id);
			}
			cr_assert(d <= 1 + rd,
				  "%s: frame %llu delivered %u times, only %u flagged redelivered",
				  run->label, (unsigned long long)id, d, rd);
			cr_assert(atomic_load(&L->released[id]) <= 1,
				  "%s: frame %llu released %u times: it went to another consumer "
				  "while its holder was alive (stopped, not dead)",
				  run->label, (unsigned long long)id,
				  atomic_load(&L->released[id]));
			redelivered += rd;
		}
		/* Only a death leaves a frame to redeliver, one per dead consumer. */
		cr_assert(redelivered <= run->consumer_deaths,
			  "%s: %llu frames redelivered, but only %u consumers died", run->label,
			  (unsigned long long)redelivered, run->consumer_deaths);
	} else {
		published = info.published;
		cr_assert_eq(atomic_load(&L->witness_next), info.published,
			     "%s: witness saw %llu of %llu frames", run->label,
			     (unsigned long long)atomic_load(&L->witness_next),
			     (unsigned long long)info.published);
	}
	fprintf(stderr,
		"torture %s: %u rounds, %u processes SIGKILLed (%u at injected points, %u while "
		"another was stopped), %u stopped and resumed (%u at injected points), %llu "
		"frames published, all accounted for, %llu redelivered, %llu aborted slots\n",
		run->label, run->rounds, run->deaths, run->injected, run->kills_while_stopped,
		run->stops, run->stops_injected, (unsigned long long)published,
		(unsigned long long)redelivered, (unsigned long long)info.aborted);
	cr_assert_eq(fr_unlink(name), 0);
	frt_shared_free(L, sizeof(*L));
}

/* Hook point names of the new library (issue 9); see docs/design.md. */
static const char *const spsc_producer_points[] = {"spsc_publish_before_turn",
							   "spsc_publish_before_head", NULL};
static const char *const spsc_consumer_points[] = {"spsc_acquire_held", "spsc_release_before_tail",
						   NULL};
static const char *const mpmc_producer_points[] = {"mpmc_claim_before_cas", "mpmc_claim_won",
						   "mpmc_publish_before_turn", NULL};
static const char *const mpmc_consumer_points[] = {"mpmc_acquire_before_cas", "mpmc_acquire_won",
						   "mpmc_release_before_turn",
						   "mpmc_adopt_before_cas", NULL};
/* MPMC with large frames: payloads decoupled from positions (mpmc.c) */
static const char *const mpmc_hot_producer_points[] = {
    "mpmc_claim_before_cas", "mpmc_claim_won", "mpmc_claim_before_payload",
    "mpmc_publish_before_turn", NULL};
static const char *const mpmc_hot_consumer_points[] = {
    "mpmc_acquire_before_cas", "mpmc_acquire_won", "mpmc_release_before_turn",
    "mpmc_release_before_payload", "mpmc_adopt_before_cas", NULL};
static const char *const bc_producer_points[] = {"bc_claim_won", "bc_publish_before_log", NULL};
static const char *const bc_consumer_points[] = {"bc_pinned", "bc_release_before_unpin", NULL};

#define SPSC_ROLES                                                                        \
	{                                                                                 \
		{.flags = FR_PRODUCER, .points = spsc_producer_points},                   \
		{.flags = FR_CONSUMER, .points = spsc_consumer_points},                   \
	}
#define MPMC_PRODUCER {.flags = FR_PRODUCER, .points = mpmc_producer_points}
#define MPMC_CONSUMER {.flags = FR_CONSUMER, .points = mpmc_consumer_points}
#define BC_ROLES                                                                          \
	{                                                                                 \
		{.flags = FR_PRODUCER, .points = bc_producer_points},                     \
		{.flags = FR_CONSUMER, .witness = true},                                  \
		{.flags = FR_CONSUMER, .points = bc_consumer_points},                     \
	}
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

Test(torture, spsc, .timeout = 600)
{
	struct role roles[] = SPSC_ROLES;
	struct run run = {.label = "mode 1", .mode = FR_SPSC, .rounds = ROUNDS};
	run_torture(&run, roles, COUNT(roles));
}

Test(torture, mpmc, .timeout = 600)
{
	struct role roles[] = {MPMC_PRODUCER, MPMC_PRODUCER, MPMC_CONSUMER, MPMC_CONSUMER};
	struct run run = {.label = "mode 2", .mode = FR_MPMC, .rounds = ROUNDS};
	run_torture(&run, roles, COUNT(roles));
}

Test(torture, broadcast, .timeout = 600)
{
	struct role roles[] = BC_ROLES;
	struct run run = {.label = "mode 3", .mode = FR_BROADCAST, .rounds = ROUNDS};
	run_torture(&run, roles, COUNT(roles));
}

/* Slow peers: one victim in three is stopped and resumed instead of killed. */
Test(torture, spsc_slow, .timeout = 600)
{
	struct role roles[] = SPSC_ROLES;
	struct run run = {.label = "mode 1, slow peers", .mode = FR_SPSC, .rounds = SLOW_ROUNDS,
			  .slow = true};
	run_torture(&run, roles, COUNT(roles));
}

Test(torture, mpmc_slow, .timeout = 600)
{
	struct role roles[] = {MPMC_PRODUCER, MPMC_PRODUCER, MPMC_CONSUMER, MPMC_CONSUMER};
	struct run run = {.label = "mode 2, slow peers", .mode = FR_MPMC, .rounds = SLOW_ROUNDS,
			  .slow = true};
	run_torture(&run, roles, COUNT(roles));
}

Test(torture, broadcast_slow, .timeout = 600)
{
	struct role roles[] = BC_ROLES;
	struct run run = {.label = "mode 3, slow peers", .mode = FR_BROADCAST,
			  .rounds = SLOW_ROUNDS, .slow = true};
	run_torture(&run, roles, COUNT(roles));
}

/* Large frames: payload words next to position words, every new step a
 * kill or stop point; three producers and three consumers, slow peers. */
Test(torture, mpmc_hot_payloads, .timeout = 600)
{
	struct role roles[] = {{.flags = FR_PRODUCER, .points = mpmc_hot_producer_points},
			       {.flags = FR_PRODUCER, .points = mpmc_hot_producer_points},
			       {.flags = FR_PRODUCER, .points = mpmc_hot_producer_points},
			       {.flags = FR_CONSUMER, .points = mpmc_hot_consumer_points},
			       {.flags = FR_CONSUMER, .points = mpmc_hot_consumer_points},
			       {.flags = FR_CONSUMER, .points = mpmc_hot_consumer_points}};
	struct run run = {.label = "mode 2, large frames (hot payloads), 3x3, slow peers",
			  .mode = FR_MPMC, .rounds = SLOW_ROUNDS, .slow = true,
			  .capacity = 256 * 1024};
	run_torture(&run, roles, COUNT(roles));
}

/* Three producers and three consumers: more peers between any two steps of
 * a stopped or dying one. Slow peers too. */
Test(torture, mpmc_3x3, .timeout = 600)
{
	struct role roles[] = {MPMC_PRODUCER, MPMC_PRODUCER, MPMC_PRODUCER,
			       MPMC_CONSUMER, MPMC_CONSUMER, MPMC_CONSUMER};
	struct run run = {.label = "mode 2, 3 producers 3 consumers, slow peers", .mode = FR_MPMC,
			  .rounds = SLOW_ROUNDS, .slow = true};
	run_torture(&run, roles, COUNT(roles));
}
