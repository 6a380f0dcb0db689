/*
 * dnsmsg.h -- DNS message building for the unit tests that feed hand-built
 * wire messages to the code under test (test_cache, test_splice).
 * Header-only: each test program includes it once.
 *
 *   struct msg m;                 a fixed buffer and its fill; the test owns it
 *   put8 / put16 / put32(&m, v)   an integer, network byte order
 *   put_labels(&m, "a.b")         labels as written, no terminator (a pointer
 *                                 or the root label follows)
 *   put_name_case(&m, "A.b")      a name exactly as written (case kept, no
 *                                 compression); returns its offset so later
 *                                 names can point at it
 *
 * No bounds checks: the tests build messages far below sizeof(m.b).
 */
#ifndef PLINKFWD_DNSMSG_H
#define PLINKFWD_DNSMSG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire.h"

struct msg {
	uint8_t b[4096];
	size_t n;
};

static void put8(struct msg *m, uint8_t v) { m->b[m->n++] = v; }
static void put16(struct msg *m, uint16_t v)
{
	wire_put16(m->b + m->n, v);
	m->n += 2;
}
static void put32(struct msg *m, uint32_t v)
{
	wire_put32(m->b + m->n, v);
	m->n += 4;
}
static void put_labels(struct msg *m, const char *labels)
{
	const char *p = labels;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		put8(m, (uint8_t)l);
		memcpy(m->b + m->n, p, l);
		m->n += l;
		p += l;
		if (*p == '.')
			p++;
	}
}
static size_t put_name_case(struct msg *m, const char *text)
{
	size_t at = m->n;
	put_labels(m, text);
	put8(m, 0);
	return at;
}

#endif
