/*
 * Test-only hooks. The tests link a copy of the library compiled with
 * FR_TEST_HOOKS (framering_test_dep in lib/meson.build); the installed
 * library has none of this. Include as <testhooks.h> from tests.
 *
 * A hook point is a named place in lib/ (FR_HOOK("name")) where a test can
 * make the process SIGKILL or SIGSTOP itself, to force an interleaving: stop
 * a peer between two steps, run another peer, then resume (SIGCONT) or kill
 * the first. Points are listed in docs/design.md ("Hook points").
 *
 * Environment, read at the first hook passed (for exec'd programs):
 *   FR_TEST_KILL_AT=<point> [FR_TEST_KILL_AFTER=<n>]   SIGKILL the n-th time (default 1)
 *   FR_TEST_STOP_AT=<point> [FR_TEST_STOP_AFTER=<n>]   SIGSTOP the n-th time (default 1)
 *   FR_TEST_NO_SLICE=1                                 as fr_test_set_reap_slice(0)
 */
#ifndef FR_TESTHOOKS_H
#define FR_TESTHOOKS_H

enum fr_test_action { FR_TEST_KILL = 1, FR_TEST_STOP = 2 };

/* SIGKILL this process the @after-th time (1-based) it passes @point; NULL disarms. */
void fr_test_hook_arm(const char *point, long after);

/* The same with an action: FR_TEST_KILL or FR_TEST_STOP (raise(SIGSTOP), then go on
 * after SIGCONT). One point is armed at a time; it disarms itself once it fired. */
void fr_test_hook_arm_action(const char *point, long after, int action);

/*
 * 0: a blocked wait sleeps until it is woken or its own timeout ends, instead
 * of waking every FR_REAP_INTERVAL_MS to look for dead peers. Makes a missing
 * wake-up a hang that a bounded test sees, instead of a 100 ms delay. 1: back
 * to normal.
 */
void fr_test_set_reap_slice(int enabled);

#endif /* FR_TESTHOOKS_H */
