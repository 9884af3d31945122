/*
 * test.h — the unit-test harness.  A test is `TEST(name) { … }` in any
 * tests/unit file; the makefile finds it by grep, no registration.
 * Each test runs in its own child process with its own temporary folder
 * (tl_tmp()), so a crash fails one test, not the suite.  A failed CHECK
 * prints file:line and the values and ends the test.
 */
#ifndef WALDO_TEST_H
#define WALDO_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TEST(name) void test_##name(void)

_Noreturn void tl_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define CHECK(c) do { if (!(c)) tl_fail(__FILE__, __LINE__, "CHECK(%s)", #c); } while (0)
#define CHECK_EQ(a, b) do { \
	long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) tl_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld (0x%llx != 0x%llx)", \
			      #a, #b, a_, b_, (unsigned long long)a_, (unsigned long long)b_); \
} while (0)
#define CHECK_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (!a_ || !b_ || strcmp(a_, b_)) tl_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
						 #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
} while (0)
#define CHECK_MEM(a, b, n) do { \
	if (memcmp((a), (b), (n))) tl_fail(__FILE__, __LINE__, "memcmp(%s, %s, %s) != 0", #a, #b, #n); \
} while (0)

#endif
