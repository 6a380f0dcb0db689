/*
 * common.c -- error strings, clocks and randomness.
 */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

const char *fwd_strerror(int err)
{
	switch (err) {
	case FWD_OK: return "ok";
	case FWD_ENOMEM: return "out of memory";
	case FWD_EINVAL: return "invalid argument";
	case FWD_EIO: return "system call failed";
	case FWD_EPARSE: return "parse error";
	case FWD_ENOENT: return "not found";
	case FWD_EFULL: return "pool exhausted";
	case FWD_ETIMEDOUT: return "timed out";
	default: return "unknown error";
	}
}

void fwd_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void fwd_random(void *buf, size_t len)
{
	/* getrandom() only fails with EINTR before the pool is ready or on a
	 * signal; query IDs and ports must be unpredictable (RFC 5452), so we
	 * retry instead of falling back to a weak generator. */
	unsigned char *p = buf;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
}

uint32_t fwd_random_u32(void)
{
	uint32_t v;
	fwd_random(&v, sizeof(v));
	return v;
}
