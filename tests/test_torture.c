/*
 * Crash torture: in every mode, 500 rounds in which one randomly chosen
 * producer or consumer process is SIGKILLed, either after a random delay or
 * by itself at an injected point inside the library (between an intent
 * record, its CAS and the publish/release; hook points compiled into the tests' copy of the library), and a
 * replacement attaches. At the end every published frame is accounted for:
 * delivered at least once, and every extra delivery flagged
 * FR_FRAME_REDELIVERED. Every wait is bounded; a survivor that waits out its
 * bound fails the test (nothing may wedge).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <framering.h>

#include <testhooks.h>

#define ROUNDS 500
#define FRAMES_PER_ROUND 2000
#define MAX_FRAMES (ROUNDS * FRAMES_PER_ROUND + 100000)
#define FRAME_BYTES 256
#define WAIT_BOUND_MS 20000 /* a survivor waiting this long is wedged */
#define MAX_ROLES 4

enum { EXIT_OK = 0, EXIT_TORN = 10, EXIT_WEDGED, EXIT_ERROR, EXIT_ORDER };

/* Shared between the test and its children (MAP_SHARED | MAP_ANONYMOUS). */
struct ledger {
	_Atomic uint64_t next_index; /* frame ids, handed out before each claim */
	_Atomic uint64_t allowed;    /* producers stay below this (paced per round) */
	_Atomic int stop;
	_Atomic uint8_t published[MAX_FRAMES];
	_Atomic uint32_t delivered[MAX_FRAMES];
	_Atomic uint32_t redelivered[MAX_FRAMES];
	_Atomic uint64_t witness_next; /* broadcast: next seq the witness expects */
	_Atomic unsigned consumers_ready;
	char detail[256];
};

struct role {
	unsigned flags;             /* FR_PRODUCER or FR_CONSUMER */
	bool witness;               /* broadcast: never killed, checks every seq */
	const char *const *points;  /* injection points for this role */
	pid_t pid;
	bool armed;
};

static struct ledger *L;

static uint8_t fill_byte(uint64_t id)
{
	return (uint8_t)(id * 131 + 7);
}

static void note(const char *what)
{
	snprintf(L->detail, sizeof(L->detail), "%s (pid %d)", what, (int)getpid());
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static int producer_main(const char *name)
{
	struct fr_ring *r;
	int rc;
	for (int tries = 0; (rc = fr_open(name, FR_PRODUCER, &r)) == -EBUSY && tries < 2000; tries++)
		sleep_us(1000); /* the dead predecessor's registration is being reaped */
	if (rc < 0) {
		note("producer open failed");
		return EXIT_ERROR;
	}
	while (!atomic_load(&L->stop)) {
		uint64_t id = atomic_load(&L->next_index);
		if (id >= atomic_load(&L->allowed) || id >= MAX_FRAMES) {
			sleep_us(200);
			continue;
		}
		struct fr_frame f;
		rc = fr_claim(r, &f, WAIT_BOUND_MS);
		if (rc == -ETIMEDOUT) {
			note("producer wedged in claim");
			return EXIT_WEDGED;
		}
		if (rc < 0) {
			note("producer claim failed");
			return EXIT_ERROR;
		}
		id = atomic_fetch_add(&L->next_index, 1);
		if (id >= MAX_FRAMES) {
			fr_cancel(r, &f);
			continue;
		}
		memset(f.data, fill_byte(id), FRAME_BYTES);
		memcpy(f.data, &id, sizeof(id));
		f.bytes = FRAME_BYTES;
		if (fr_publish(r, &f) < 0) {
			note("producer publish failed");
			return EXIT_ERROR;
		}
		atomic_store(&L->published[id], 1);
	}
	fr_close(r); /* the last producer's close ends the stream */
	return EXIT_OK;
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
	for (int tries = 0; (rc = fr_open(name, FR_CONSUMER, &r)) == -EBUSY && tries < 2000; tries++)
		sleep_us(1000);
	if (rc < 0) {
		note("consumer open failed");
		return EXIT_ERROR;
	}
	atomic_fetch_add(&L->consumers_ready, 1);
	int64_t last_seq = -1;
	for (;;) {
		struct fr_frame f;
		rc = fr_acquire(r, &f, WAIT_BOUND_MS);
		if (rc == -EPIPE)
			break;
		if (rc == -ETIMEDOUT) {
			note("consumer wedged in acquire");
			return EXIT_WEDGED;
		}
		if (rc < 0) {
			note("consumer acquire failed");
			return EXIT_ERROR;
		}
		uint64_t id;
		if (check_frame(&f, &id) < 0) {
			note("torn or foreign frame");
			return EXIT_TORN;
		}
		if (mode != FR_MPMC && (int64_t)f.seq <= last_seq) {
			note("seq went backwards");
			return EXIT_ORDER;
		}
		if (witness) {
			uint64_t want = atomic_load(&L->witness_next);
			if (f.seq != want) {
				snprintf(L->detail, sizeof(L->detail), "witness got seq %llu, expected %llu",
					 (unsigned long long)f.seq, (unsigned long long)want);
				return EXIT_ORDER;
			}
			atomic_store(&L->witness_next, want + 1);
		} else {
			atomic_fetch_add(&L->delivered[id], 1);
			if (f.flags & FR_FRAME_REDELIVERED)
				atomic_fetch_add(&L->redelivered[id], 1);
		}
		last_seq = (int64_t)f.seq;
		fr_release(r, &f);
	}
	fr_close(r);
	return EXIT_OK;
}

static pid_t spawn(const char *name, unsigned mode, struct role *ro, bool arm)
{
	ro->armed = false;
	const char *point = NULL;
	long after = 0;
	if (arm && ro->points) {
		unsigned n = 0;
		while (ro->points[n])
			n++;
		point = ro->points[rand() % n];
		after = 1 + rand() % 40;
		ro->armed = true;
	}
	pid_t pid = fork();
	cr_assert(pid >= 0, "fork");
	if (pid == 0) {
		fr_test_hook_arm(point, after);
		_exit(ro->flags == FR_PRODUCER ? producer_main(name)
					       : consumer_main(name, ro->witness, mode));
	}
	ro->pid = pid;
	return pid;
}

/* Wait for @pid with a bound; returns its status, or -1 after killing it. */
static int wait_bounded(pid_t pid, int bound_ms)
{
	int status;
	for (int waited = 0; waited < bound_ms * 10; waited++) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return status;
		sleep_us(100);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static void expect_clean_exit(int status, const char *who)
{
	cr_assert(status != -1, "%s did not finish within its bound (wedged): %s", who, L->detail);
	cr_assert(WIFEXITED(status), "%s died by signal %d", who, WTERMSIG(status));
	cr_assert_eq(WEXITSTATUS(status), EXIT_OK, "%s failed with %d: %s", who, WEXITSTATUS(status),
		     L->detail);
}

static void expect_killed(int status, const char *who)
{
	cr_assert(!WIFEXITED(status), "%s exited with %d before being killed: %s", who,
		  WEXITSTATUS(status), L->detail);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%s died by signal %d", who,
		  WTERMSIG(status));
}

/* Respawn every armed process that already killed itself; returns how many. */
static unsigned replace_self_killed(const char *name, unsigned mode, struct role *roles,
				    unsigned nroles)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nroles; i++) {
		int status;
		if (!roles[i].armed || waitpid(roles[i].pid, &status, WNOHANG) != roles[i].pid)
			continue;
		expect_killed(status, "armed process");
		spawn(name, mode, &roles[i], rand() % 2);
		n++;
	}
	return n;
}

static void run_torture(unsigned mode, struct role *roles, unsigned nroles)
{
	char name[64];
	snprintf(name, sizeof(name), "/frt-torture-%u-%d", mode, (int)getpid());
	L = mmap(NULL, sizeof(*L), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(L != MAP_FAILED);
	srand((unsigned)getpid());

	struct fr_config cfg = {.mode = mode, .slots = 8, .format = FR_FORMAT_RAW,
				.frame_bytes = FRAME_BYTES};
	struct fr_ring *creator;
	cr_assert_eq(fr_create(name, &cfg, &creator), 0);
	fr_close(creator); /* created, never published: not end of stream */

	/* Consumers first, so that broadcast consumers see seq 0 onwards. */
	unsigned nconsumers = 0;
	for (unsigned i = 0; i < nroles; i++)
		if (roles[i].flags == FR_CONSUMER) {
			spawn(name, mode, &roles[i], false);
			nconsumers++;
		}
	for (int waited = 0; atomic_load(&L->consumers_ready) < nconsumers; waited++) {
		cr_assert(waited < 100000, "consumers did not attach");
		sleep_us(100);
	}
	for (unsigned i = 0; i < nroles; i++)
		if (roles[i].flags == FR_PRODUCER)
			spawn(name, mode, &roles[i], false);

	unsigned deaths = 0, injected = 0; /* processes killed; of which at an injected point */
	for (unsigned round = 0; round < ROUNDS; round++) {
		atomic_fetch_add(&L->allowed, FRAMES_PER_ROUND);
		/* Armed processes kill themselves whenever they reach their point:
		 * replace those first, so that every role is always staffed. */
		unsigned self_killed = replace_self_killed(name, mode, roles, nroles);
		deaths += self_killed;
		injected += self_killed;
		unsigned v;
		do
			v = (unsigned)rand() % nroles;
		while (roles[v].witness);
		struct role *ro = &roles[v];
		int status;
		if (ro->armed) {
			/* Give it time to reach its injection point, then make sure. */
			status = wait_bounded(ro->pid, 200);
			if (status != -1)
				expect_killed(status, "armed victim");
			injected += status != -1;
		} else {
			sleep_us(rand() % 3000);
			kill(ro->pid, SIGKILL);
			waitpid(ro->pid, &status, 0);
			expect_killed(status, "victim");
		}
		deaths++;
		spawn(name, mode, ro, rand() % 2);
	}
	unsigned self_killed = replace_self_killed(name, mode, roles, nroles);
	deaths += self_killed;
	injected += self_killed;
	/* The last armed processes would kill themselves while finishing: replace
	 * them with unarmed ones. */
	for (unsigned i = 0; i < nroles; i++) {
		if (!roles[i].armed)
			continue;
		int status;
		kill(roles[i].pid, SIGKILL);
		waitpid(roles[i].pid, &status, 0);
		expect_killed(status, "armed process");
		deaths++;
		spawn(name, mode, &roles[i], false);
	}

	/* Let the survivors finish: producers stop, the last close ends the
	 * stream, consumers drain and exit. */
	atomic_store(&L->stop, 1);
	for (unsigned i = 0; i < nroles; i++)
		if (roles[i].flags == FR_PRODUCER)
			expect_clean_exit(wait_bounded(roles[i].pid, 60000), "producer");
	for (unsigned i = 0; i < nroles; i++)
		if (roles[i].flags == FR_CONSUMER)
			expect_clean_exit(wait_bounded(roles[i].pid, 60000), "consumer");

	struct fr_info info;
	cr_assert_eq(fr_stat(name, &info), 0);
	uint64_t ids = atomic_load(&L->next_index);
	if (ids > MAX_FRAMES)
		ids = MAX_FRAMES;
	uint64_t published = 0, redelivered = 0;
	if (mode != FR_BROADCAST) {
		for (uint64_t id = 0; id < ids; id++) {
			uint32_t d = atomic_load(&L->delivered[id]);
			uint32_t rd = atomic_load(&L->redelivered[id]);
			if (atomic_load(&L->published[id])) {
				published++;
				cr_assert(d >= 1, "frame %llu published but never delivered",
					  (unsigned long long)id);
			}
			cr_assert(d <= 1 + rd, "frame %llu delivered %u times, only %u flagged redelivered",
				  (unsigned long long)id, d, rd);
			redelivered += rd;
		}
	} else {
		published = info.published;
		cr_assert_eq(atomic_load(&L->witness_next), info.published,
			     "witness saw %llu of %llu frames",
			     (unsigned long long)atomic_load(&L->witness_next),
			     (unsigned long long)info.published);
	}
	cr_log_info("mode %u: %u rounds, %u processes SIGKILLed (%u at injected points), %llu frames published, "
		    "%llu accounted for, %llu redelivered, %llu aborted slots",
		    mode, ROUNDS, deaths, injected, (unsigned long long)published,
		    (unsigned long long)published, (unsigned long long)redelivered,
		    (unsigned long long)info.aborted);
	fprintf(stderr,
		"torture mode %u: %u rounds, %u processes SIGKILLed (%u at injected points), %llu frames published, "
		"all accounted for, %llu redelivered, %llu aborted slots\n",
		mode, ROUNDS, deaths, injected, (unsigned long long)published,
		(unsigned long long)redelivered, (unsigned long long)info.aborted);
	cr_assert_eq(fr_unlink(name), 0);
	munmap(L, sizeof(*L));
}

static const char *const spsc_producer_points[] = {"spsc_publish_before_head", NULL};
static const char *const spsc_consumer_points[] = {"spsc_acquire_held", "spsc_release_before_tail",
						   NULL};
static const char *const mpmc_producer_points[] = {"mpmc_claim_before_cas", "mpmc_claim_won",
						   "mpmc_publish_before_turn", NULL};
static const char *const mpmc_consumer_points[] = {"mpmc_acquire_before_cas", "mpmc_acquire_won",
						   "mpmc_release_before_turn", "mpmc_adopt_before_cas",
						   NULL};
static const char *const bc_producer_points[] = {"bc_claim_won", "bc_publish_before_log", NULL};
static const char *const bc_consumer_points[] = {"bc_pinned", "bc_release_before_unpin", NULL};

Test(torture, spsc, .timeout = 600)
{
	struct role roles[] = {
		{.flags = FR_PRODUCER, .points = spsc_producer_points},
		{.flags = FR_CONSUMER, .points = spsc_consumer_points},
	};
	run_torture(FR_SPSC, roles, 2);
}

Test(torture, mpmc, .timeout = 600)
{
	struct role roles[] = {
		{.flags = FR_PRODUCER, .points = mpmc_producer_points},
		{.flags = FR_PRODUCER, .points = mpmc_producer_points},
		{.flags = FR_CONSUMER, .points = mpmc_consumer_points},
		{.flags = FR_CONSUMER, .points = mpmc_consumer_points},
	};
	run_torture(FR_MPMC, roles, 4);
}

Test(torture, broadcast, .timeout = 600)
{
	struct role roles[] = {
		{.flags = FR_PRODUCER, .points = bc_producer_points},
		{.flags = FR_CONSUMER, .witness = true},
		{.flags = FR_CONSUMER, .points = bc_consumer_points},
	};
	run_torture(FR_BROADCAST, roles, 3);
}
