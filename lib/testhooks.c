/*
 * Crash injection for the torture tests, compiled only with -Dtest_hooks=true.
 * FR_TEST_KILL_AT=<point> and FR_TEST_KILL_AFTER=<n> make the process SIGKILL
 * itself the n-th time (1-based) it passes the named point in lib/, so tests
 * can kill a peer between an intent record, its CAS and the publish/release.
 * Tests that fork may call fr_test_hook_arm() in the child instead.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#ifdef FR_TEST_HOOKS
static const char *target;
static long remaining = -1; /* -1: not read from the environment yet */

void fr_test_hook_arm(const char *point, long after)
{
	target = point;
	remaining = point && after > 0 ? after : 0;
}

void fr_test_hook(const char *point)
{
	if (remaining == -1) {
		target = getenv("FR_TEST_KILL_AT");
		const char *after = getenv("FR_TEST_KILL_AFTER");
		remaining = after ? atol(after) : 1;
		if (!target || remaining < 1)
			remaining = 0;
	}
	if (remaining > 0 && strcmp(point, target) == 0 && --remaining == 0)
		raise(SIGKILL);
}
#endif
