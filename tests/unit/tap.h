/*
 * tap.h -- a minimal TAP producer for the unit tests (run by automake's
 * tap-driver.sh).  Header-only: each test program includes it once.
 *
 *   ok(cond, "fmt", ...)       one test point
 *   is_int(got, want, "name")  integer equality with a diagnostic
 *   is_str(got, want, "name")  string equality (NULL-safe)
 *   skip("reason")             a test point that cannot run here (TAP SKIP)
 *   return tap_done();         prints the plan, exit status 1 if any failed
 */
#ifndef PLINKFWD_TAP_H
#define PLINKFWD_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct tap_state {
	int run;
	int failed;
};

static struct tap_state tap_state_;

static int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tap_state_.run++;
	if (!cond)
		tap_state_.failed++;
	printf("%s %d - ", cond ? "ok" : "not ok", tap_state_.run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, name)                                                              \
	do {                                                                                  \
		long long g_ = (long long)(got), w_ = (long long)(want);                      \
		if (!ok(g_ == w_, "%s", name))                                                \
			printf("#   got %lld, want %lld\n", g_, w_);                          \
	} while (0)
#define is_str(got, want, name)                                                              \
	do {                                                                                  \
		const char *g_ = (got), *w_ = (want);                                         \
		int same_ = (g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0);  \
		if (!ok(same_, "%s", name))                                                   \
			printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	} while (0)

/* A test point that cannot run in this build or on this machine: TAP's
 * "ok N # SKIP reason", counted by the driver as skipped, never as passed. */
static inline void skip(const char *reason)
{
	tap_state_.run++;
	printf("ok %d # SKIP %s\n", tap_state_.run, reason);
	fflush(stdout);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_state_.run);
	return tap_state_.failed ? 1 : 0;
}

#endif
