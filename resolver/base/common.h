/*
 * common.h -- error codes and small helpers shared by every module.
 *
 * Convention (project wide): a function that can fail is declared to return
 * enum fwd_err -- FWD_OK (0) on success, a negative value on failure -- so
 * that the compiler sees what a caller compares with; a value it finds or
 * computes goes to an out-parameter, never into the same return.  (Sizes,
 * counts and lengths that cannot fail are size_t; predicates are int 1/0;
 * file descriptors keep POSIX's -1.)  The failure is logged once, where it
 * happened; callers only propagate it.  Functions that build something for
 * a caller fill a caller-supplied "char *err, size_t errlen" with a human
 * message in "file:line: message" form when a file and line are known.
 */
#ifndef PLINKFWD_COMMON_H
#define PLINKFWD_COMMON_H

#include <stddef.h>
#include <stdint.h>

enum fwd_err {
	FWD_OK = 0,
	FWD_ENOMEM = -1,   /* allocation failed */
	FWD_EINVAL = -2,   /* bad argument or bad input */
	FWD_EIO = -3,      /* system call failed (errno logged) */
	FWD_EPARSE = -4,   /* malformed config, zone file, JSON or packet */
	FWD_ENOENT = -5,   /* no such name / zone / group */
	FWD_EFULL = -6,    /* a fixed pool is exhausted */
	FWD_ETIMEDOUT = -7 /* an operation ran out of time */
};

/* Static string for an enum fwd_err value; never NULL. */
const char *fwd_strerror(int err);

#define FWD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define FWD_LIKELY(x) __builtin_expect(!!(x), 1)
#define FWD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FWD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FWD_LIKELY(x) (x)
#define FWD_UNLIKELY(x) (x)
#define FWD_PRINTF(a, b)
#endif

/* printf into a caller's error buffer (err may be NULL or errlen 0). */
void fwd_errf(char *err, size_t errlen, const char *fmt, ...) FWD_PRINTF(3, 4);

/* Cryptographically strong random bytes (getrandom(2)); never fails. */
void fwd_random(void *buf, size_t len);
uint32_t fwd_random_u32(void);

#endif
