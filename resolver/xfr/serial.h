/*
 * serial.h -- SOA serial numbers: RFC 1982 arithmetic, and the rule that
 * gives a synced zone a serial of plinkfwd's own (docs/admin-guide.md,
 * "Serials").  Pure functions; nothing allocates.
 */
#ifndef PLINKFWD_SERIAL_H
#define PLINKFWD_SERIAL_H

#include <stdint.h>

/* RFC 1982 sec. 3.2 with SERIAL_BITS 32: a < b.  Two serials exactly 2^31
 * apart are undefined there; both serial_lt(a, b) and serial_lt(b, a) are
 * 0 for them (neither is newer), as NSD and Knot treat them. */
int serial_lt(uint32_t a, uint32_t b);
/* a == b or b is newer: nothing to transfer from a client at a. */
static inline int serial_le(uint32_t a, uint32_t b) { return a == b || serial_lt(a, b); }

/*
 * The serial of a new version of a synced zone whose last published
 * serial was prev (has_prev 0: the zone was never published here), given
 * the serial its source says (src, Azure's SOA serial, which Azure keeps
 * while records change) and `now` (Unix seconds).  The result is newer
 * than prev in RFC 1982 order -- so a secondary always sees an increase,
 * even when Azure's serial stayed the same -- and it never goes back
 * across restarts as long as prev is kept (xfr_state.c).  It is the
 * largest of prev + 1, src and now (a time-based serial tells an operator
 * when the version was made), each taken only when it is newer than prev
 * and not more than 2^31 - 1 ahead of it (the RFC 1982 limit on one step).
 */
uint32_t serial_next(uint32_t prev, int has_prev, uint32_t src, uint32_t now);

#endif
