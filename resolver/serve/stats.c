/*
 * stats.c -- answer accounting on the workers, aggregation on the main
 * thread, and the health verdict (see stats.h for the memory model).
 */
#include "stats.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "querylog.h"
#include "wire.h"

const uint64_t stats_lat_bounds_us[STATS_LAT_N - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000,
};

static unsigned lat_bucket(uint64_t us)
{
	unsigned i = 0;
	while (i < STATS_LAT_N - 1 && us > stats_lat_bounds_us[i])
		i++;
	return i;
}

/* ------------------------------------------------------------ worker side */

/*
 * The full rcode of a reply.  BADVERS (16) does not fit the header's four
 * bits: its upper bits are in the OPT record, which plinkfwd's own error
 * replies put right after the question.  Other replies are not walked:
 * nothing plinkfwd relays or builds has an extended rcode elsewhere worth
 * the cost of parsing every answer.
 */
static int reply_rcode(const uint8_t *r, size_t len, size_t qend, enum stats_source src)
{
	int rcode = r[3] & 0xf;
	if (src != STATS_SRC_ERROR || qend == 0)
		return rcode;
	if (wire_get16(r + 6) != 0 || wire_get16(r + 8) != 0 || wire_get16(r + 10) != 1)
		return rcode;
	/* root owner (1), type (2), class (2), then the TTL: extended rcode first */
	if (qend + 11 > len || r[qend] != 0 || wire_get16(r + qend + 1) != TYPE_OPT)
		return rcode;
	return (r[qend + 5] << 4) | rcode;
}

/* Question of a reply: name offset (0 = none) and the offset after it. */
static size_t reply_question(const uint8_t *r, size_t len, uint16_t *qtype, size_t *name_off)
{
	*name_off = 0;
	*qtype = 0;
	if (wire_get16(r + 4) != 1)
		return 0;
	size_t off = wire_skip_name(r, len, WIRE_HDR_LEN);
	if (off == 0 || off + 4 > len)
		return 0;
	*qtype = wire_get16(r + off);
	*name_off = WIRE_HDR_LEN;
	return off + 4;
}

_Static_assert(STATS_TRANSPORTS == CLIENT_NTRANSPORT, "one answer counter row per transport");

static void account(struct stats_worker *sw, enum client_transport tr, enum stats_source src, int rcode,
		    uint64_t lat_us)
{
	STATS_INC(sw->answers[tr][src][stats_rcode_bucket(rcode)]);
	STATS_INC(sw->lat[src][lat_bucket(lat_us)]);
	STATS_ADD(sw->lat_sum_us[src], lat_us);
}

static uint64_t latency_us(const struct client *cl, uint64_t now_us)
{
	return now_us > cl->start_us ? now_us - cl->start_us : 0;
}

void stats_reply(struct worker_stats *ws, struct querylog_writer *qlog, const struct client *cl,
		 enum stats_source src, const uint8_t *reply, size_t len, uint64_t now_us)
{
	if (len < WIRE_HDR_LEN || (unsigned)src >= STATS_SRC_N)
		return;
	uint16_t qtype = 0;
	size_t name_off = 0, qend = 0;
	/* the question is walked only when something needs it: the query log,
	 * or the OPT record of plinkfwd's own error replies (BADVERS) */
	if (qlog || src == STATS_SRC_ERROR)
		qend = reply_question(reply, len, &qtype, &name_off);
	int rcode = reply_rcode(reply, len, qend, src);
	uint64_t lat = latency_us(cl, now_us);
	account(&ws->ops, cl->transport, src, rcode, lat);
	if (qlog) {
		uint8_t name[WIRE_MAX_NAME];
		int nlen = name_off ? wire_read_name(reply, len, name_off, name) : -1;
		struct querylog_entry e = {
			.cl = cl, .qname = nlen > 0 ? name : NULL, .qtype = qtype, .rcode = rcode,
			.source = src, .group = NULL, .latency_us = lat,
		};
		querylog_write(qlog, &e);
	}
}

/* The counters of group `name`, claimed on first use; NULL when the table
 * is full (counted as overflow). */
static struct stats_group *group_slot(struct stats_worker *sw, const char *name)
{
	for (size_t i = 0; i < STATS_MAX_GROUPS; i++) {
		struct stats_group *g = &sw->groups[i];
		if (!g->used) {
			snprintf(g->name, sizeof(g->name), "%s", name);
			/* the main thread reads name only after it sees used set */
			__atomic_store_n(&g->used, 1, __ATOMIC_RELEASE);
			return g;
		}
		if (strcmp(g->name, name) == 0)
			return g;
	}
	return NULL;
}

/* The group's side of a forwarded question, and its query-log line. */
static void forwarded(struct worker_stats *ws, struct querylog_writer *qlog, const struct client *cl,
		      const struct wire_query *q, const char *gname, int ok, enum stats_source src, int rcode,
		      uint64_t now_us)
{
	uint64_t lat = latency_us(cl, now_us);
	struct stats_worker *sw = &ws->ops;

	account(sw, cl->transport, src, rcode, lat);
	struct stats_group *g = group_slot(sw, gname);
	if (g) {
		if (ok)
			STATS_INC(g->answered);
		else
			STATS_INC(g->failed);
		STATS_INC(g->lat[lat_bucket(lat)]);
		STATS_ADD(g->lat_sum_us, lat);
	} else {
		STATS_INC(sw->groups_overflow);
	}
	if (qlog) {
		struct querylog_entry e = {
			.cl = cl, .qname = q->qname, .qtype = q->qtype, .rcode = rcode,
			.source = src, .group = gname, .latency_us = lat,
		};
		querylog_write(qlog, &e);
	}
}

void stats_forwarded(struct worker_stats *ws, struct querylog_writer *qlog, const struct client *cl,
		     const struct wire_query *q, const char *gname, int ok, const uint8_t *reply, size_t len,
		     uint64_t now_us)
{
	int rcode = ok && len >= WIRE_HDR_LEN ? (reply[3] & 0xf) : RCODE_SERVFAIL;
	forwarded(ws, qlog, cl, q, gname, ok, STATS_SRC_UPSTREAM, rcode, now_us);
}

void stats_stale(struct worker_stats *ws, struct querylog_writer *qlog, const struct client *cl,
		 const struct wire_query *q, const char *gname, const uint8_t *reply, size_t len, uint64_t now_us)
{
	int rcode = len >= WIRE_HDR_LEN ? (reply[3] & 0xf) : RCODE_SERVFAIL;
	forwarded(ws, qlog, cl, q, gname, 0, STATS_SRC_STALE, rcode, now_us);
}
