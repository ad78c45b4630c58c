/*
 * Crash and stop injection for the tests, compiled only into the tests' copy
 * of the library (FR_TEST_HOOKS; see testhooks.h for the interface).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testhooks.h"

#ifdef FR_TEST_HOOKS
/* Threads of one test process share these: atomics, relaxed (each is read
 * for its own value; the environment gives every reader the same one). */
static _Atomic(const char *) target;
static _Atomic int action;
static _Atomic long remaining;
static pthread_once_t env_once = PTHREAD_ONCE_INIT; /* the environment arms first */
static _Atomic int slice_enabled = -1;

static void read_env(void)
{
	const char *kill_at = getenv("FR_TEST_KILL_AT");
	const char *stop_at = getenv("FR_TEST_STOP_AT");
	const char *after = getenv(stop_at ? "FR_TEST_STOP_AFTER" : "FR_TEST_KILL_AFTER");
	long n = after ? atol(after) : 1;
	atomic_store_explicit(&target, stop_at ? stop_at : kill_at, memory_order_relaxed);
	atomic_store_explicit(&action, stop_at ? FR_TEST_STOP : FR_TEST_KILL, memory_order_relaxed);
	atomic_store_explicit(&remaining, (stop_at || kill_at) && n >= 1 ? n : 0,
			      memory_order_relaxed);
}

void fr_test_hook_arm_action(const char *point, long after, int what)
{
	pthread_once(&env_once, read_env); /* so that it cannot overwrite this later */
	atomic_store_explicit(&target, point, memory_order_relaxed);
	atomic_store_explicit(&action, what, memory_order_relaxed);
	atomic_store_explicit(&remaining, point && after > 0 ? after : 0, memory_order_relaxed);
}

void fr_test_hook_arm(const char *point, long after)
{
	fr_test_hook_arm_action(point, after, FR_TEST_KILL);
}

void fri_test_hook(const char *point)
{
	pthread_once(&env_once, read_env);
	if (atomic_load_explicit(&remaining, memory_order_relaxed) <= 0)
		return;
	const char *t = atomic_load_explicit(&target, memory_order_relaxed);
	if (t && strcmp(point, t) == 0 &&
	    atomic_fetch_sub_explicit(&remaining, 1, memory_order_relaxed) == 1)
		raise(atomic_load_explicit(&action, memory_order_relaxed) == FR_TEST_STOP
			  ? SIGSTOP
			  : SIGKILL);
}

void fr_test_set_reap_slice(int enabled)
{
	atomic_store_explicit(&slice_enabled, enabled != 0, memory_order_relaxed);
}

bool fri_test_reap_slice_enabled(void)
{
	int v = atomic_load_explicit(&slice_enabled, memory_order_relaxed);
	if (v == -1) {
		const char *env = getenv("FR_TEST_NO_SLICE");
		v = !(env && strcmp(env, "1") == 0);
		atomic_store_explicit(&slice_enabled, v, memory_order_relaxed);
	}
	return v;
}
#endif
