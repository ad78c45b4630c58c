/*
 * A stand-in for the few Criterion macros the threaded tests use, so that
 * they can also be built as plain programs. Criterion 2.4 cannot start under
 * ThreadSanitizer (its inheritable arena is mapped where TSan keeps its shadow
 * memory: "Could not initialize inheritable arena"), so the ThreadSanitizer
 * build compiles those tests with -DFRT_STANDALONE (tests/meson.build).
 *
 * Each Test(suite, name) (no options) registers itself; main() runs them in
 * order and exits non-zero at the first failed check (cr_expect too), after
 * printing the failed condition, its line and the check's message.
 */
#ifndef FRAMERING_TEST_STANDALONE_H
#define FRAMERING_TEST_STANDALONE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

struct frt_sa_test {
	const char *name;
	void (*fn)(void);
};

#define FRT_SA_MAX 32
static struct frt_sa_test frt_sa_tests[FRT_SA_MAX];
static int frt_sa_count;

static inline void frt_sa_register(const char *name, void (*fn)(void))
{
	if (frt_sa_count < FRT_SA_MAX)
		frt_sa_tests[frt_sa_count++] = (struct frt_sa_test){ name, fn };
}

/* The message is the check's own format and arguments, then an extra "" (ignored). */
static inline void frt_sa_fail(const char *file, int line, const char *what, const char *fmt, ...)
{
	fprintf(stderr, "%s:%d: check failed: %s", file, line, what);
	if (fmt[0]) {
		va_list ap;
		va_start(ap, fmt);
		fputs(": ", stderr);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	frt_cleanup();
	exit(1);
}

#define TestSuite(...) _Static_assert(1, "suite options are ignored")
#define Test(suite, name)                                                          \
	static void suite##_##name(void);                                          \
	__attribute__((constructor)) static void frt_sa_reg_##suite##_##name(void) \
	{                                                                          \
		frt_sa_register(#suite "::" #name, suite##_##name);                \
	}                                                                          \
	static void suite##_##name(void)

#define FRT_SA_COND_(cond, ...) \
	((cond) ? (void)0 : frt_sa_fail(__FILE__, __LINE__, #cond, __VA_ARGS__))
#define FRT_SA_EQ_(a, b, ...) \
	(((a) == (b)) ? (void)0 : frt_sa_fail(__FILE__, __LINE__, #a " == " #b, __VA_ARGS__))
#define cr_assert(...) FRT_SA_COND_(__VA_ARGS__, "")
#define cr_expect(...) FRT_SA_COND_(__VA_ARGS__, "")
#define cr_assert_eq(...) FRT_SA_EQ_(__VA_ARGS__, "")
#define cr_expect_eq(...) FRT_SA_EQ_(__VA_ARGS__, "")

int main(void)
{
	for (int i = 0; i < frt_sa_count; i++) {
		frt_sa_tests[i].fn();
		frt_cleanup();
		printf("[PASS] %s\n", frt_sa_tests[i].name);
	}
	printf("%d tests passed\n", frt_sa_count);
	return 0;
}

#endif /* FRAMERING_TEST_STANDALONE_H */
