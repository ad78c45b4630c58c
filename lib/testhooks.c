/*
 * Crash and stop injection for the tests, compiled only into the tests' copy
 * of the library (FR_TEST_HOOKS; see testhooks.h for the interface).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testhooks.h"

#ifdef FR_TEST_HOOKS
static const char *target;
static int action;
static long remaining = -1; /* -1: not read from the environment yet */
static int slice_enabled = -1;

static void read_env(void)
{
	const char *kill_at = getenv("FR_TEST_KILL_AT");
	const char *stop_at = getenv("FR_TEST_STOP_AT");
	const char *after = getenv(stop_at ? "FR_TEST_STOP_AFTER" : "FR_TEST_KILL_AFTER");
	target = stop_at ? stop_at : kill_at;
	action = stop_at ? FR_TEST_STOP : FR_TEST_KILL;
	remaining = after ? atol(after) : 1;
	if (!target || remaining < 1)
		remaining = 0;
}

void fr_test_hook_arm_action(const char *point, long after, int what)
{
	target = point;
	action = what;
	remaining = point && after > 0 ? after : 0;
}

void fr_test_hook_arm(const char *point, long after)
{
	fr_test_hook_arm_action(point, after, FR_TEST_KILL);
}

void fri_test_hook(const char *point)
{
	if (remaining == -1)
		read_env();
	if (remaining > 0 && strcmp(point, target) == 0 && --remaining == 0)
		raise(action == FR_TEST_STOP ? SIGSTOP : SIGKILL);
}

void fr_test_set_reap_slice(int enabled)
{
	slice_enabled = enabled != 0;
}

bool fri_test_reap_slice_enabled(void)
{
	if (slice_enabled == -1) {
		const char *v = getenv("FR_TEST_NO_SLICE");
		slice_enabled = !(v && strcmp(v, "1") == 0);
	}
	return slice_enabled;
}
#endif
