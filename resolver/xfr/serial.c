/*
 * serial.c -- RFC 1982 serial arithmetic and the synced-zone serial rule
 * (see serial.h).
 */
#include "serial.h"

int serial_lt(uint32_t a, uint32_t b)
{
	uint32_t d = b - a; /* modulo 2^32 */

	return d != 0 && d < 0x80000000u;
}

/* c may replace best when it is newer than prev and newer than best, within
 * one RFC 1982 step of prev. */
static uint32_t better(uint32_t prev, uint32_t best, uint32_t c)
{
	if (serial_lt(prev, c) && serial_lt(best, c) && c - prev < 0x80000000u)
		return c;
	return best;
}

uint32_t serial_next(uint32_t prev, int has_prev, uint32_t src, uint32_t now)
{
	uint32_t best;

	if (!has_prev)
		/* the first version: the source's serial, or the clock if newer */
		return serial_lt(src, now) ? now : src;
	best = prev + 1;
	best = better(prev, best, src);
	best = better(prev, best, now);
	return best;
}
