/*
 * xfr_in.c -- secondary zones: checks, transfers, expiry (xfr_in.h).
 */
#include "xfr_in.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg_secondary.h"
#include "cfg_tsig.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "route.h"
#include "snapshot.h"
#include "soa_timer.h"
#include "tsig.h"
#include "xfr_in_conn.h"
#include "xfr_in_store.h"
#include "zone.h"

/* NOTIFYs waiting for the main loop; more are merged (the zone is
 * checked once anyway). */
#define XFR_NOTIFY_QUEUE 64

enum step { STEP_IDLE = 0, STEP_SOA, STEP_IXFR, STEP_AXFR };

struct xfr_zone {
	struct xfr_in *x;
	char *name;                    /* lower case, trailing dot */
	struct cfg_primary *primaries; /* copied: addresses and key names */
	struct cfg_tsig_key *keys;     /* nprimaries copies of their key: clauses (name NULL: none) */
	size_t nprimaries;
	struct zone *placeholder;      /* served while down (one reference) */
	struct zone *zone;             /* the copy, compiled (one reference); NULL = none */
	ldns_rr_list *rrs;             /* the copy's records; NULL = none */
	uint32_t serial;
	struct soa_timer timer;
	struct event *ev;              /* the timer of soa_timer_next() */
	/* the check in progress */
	struct xfr_conn *conn;
	enum step step;
	size_t primary;                /* index being asked */
	struct xfr_in_parse parse;
	int parsing;
	struct tsig_ctx tsig;          /* the query sent and the answers to it */
	int notify_again;              /* a NOTIFY came during the check */
	/* shown */
	uint64_t last_refresh_wall, last_failure_wall;
	char last_error[600];
	uint64_t axfr, ixfr, uptodate, notifies, checks, failed_checks;
	uint64_t rejected[XFR_IN_NREJECT];
};

struct xfr_in {
	struct event_base *base;
	const struct fwd_clock *clock;
	xfr_in_publish_fn publish;
	void *publish_arg;
	char *state_dir;               /* NULL: copies are not kept */
	struct xfr_zone **zones;
	size_t nzones;
	/* NOTIFYs from the workers */
	pthread_mutex_t lock;
	char queue[XFR_NOTIFY_QUEUE][256];
	size_t nqueue;
	struct event *notify_ev;
	_Atomic uint64_t refusal_logged_ms; /* xfr_in_refusal_log_ok() */
};

static void check_start(struct xfr_zone *z);
static void zone_arm(struct xfr_zone *z);

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(out, len, "%s@%u", a, ntohs(s->sin_port));
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(out, len, "[%s]@%u", a, ntohs(s->sin6_port));
	}
}

static uint64_t now_ms(const struct xfr_in *x) { return clock_ms(x->clock); }

/* ------------------------------------------------------------ publishing */

enum fwd_err xfr_in_route_zones(struct xfr_in *x, struct route_zone **out, size_t *n)
{
	struct route_zone *rz = calloc(x->nzones + 1, sizeof(*rz));
	if (!rz)
		return FWD_ENOMEM;
	for (size_t i = 0; i < x->nzones; i++) {
		const struct xfr_zone *z = x->zones[i];
		int usable = z->zone && !z->timer.expired;
		rz[i].zone = usable ? z->zone : z->placeholder;
		rz[i].origin = ORIGIN_ZONE_FILE;
		rz[i].secondary = 1;
		rz[i].down = usable ? 0 : (z->zone ? 2 : 1);
	}
	*out = rz;
	*n = x->nzones;
	return FWD_OK;
}

static void publish(struct xfr_in *x)
{
	struct route_zone *rz;
	size_t n;
	if (!x->publish || xfr_in_route_zones(x, &rz, &n) != FWD_OK) {
		log_err("xfr: out of memory publishing secondary zones");
		return;
	}
	x->publish(x->publish_arg, rz, n);
	free(rz);
}

/* ------------------------------------------------------------ the copy */

/* Compile rrs into a zone: FWD_OK with *out, or FWD_EPARSE with err. */
static enum fwd_err compile(const char *name, const ldns_rr_list *rrs, struct zone **out, char *err, size_t errlen)
{
	size_t len;
	char *text = xfr_store_text(rrs, &len);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return FWD_ENOMEM;
	}
	*out = zone_load_text(name, text, name, err, errlen);
	free(text);
	return *out ? FWD_OK : FWD_EPARSE;
}

/* Install rrs/zone (ownership passes here) as the copy. */
static void install(struct xfr_zone *z, ldns_rr_list *rrs, struct zone *zone, uint32_t serial)
{
	if (z->rrs)
		ldns_rr_list_deep_free(z->rrs);
	if (z->zone)
		zone_unref(z->zone);
	z->rrs = rrs;
	z->zone = zone;
	z->serial = serial;
}

/* A copy from state-dir, at start-up or when the zone is (re)configured. */
static void load_copy(struct xfr_zone *z)
{
	struct xfr_in *x = z->x;
	char err[512] = "";
	ldns_rr_list *rrs = NULL;
	uint64_t refreshed = 0;
	struct zone *zone = NULL;
	uint32_t serial, refresh, retry, expire;

	if (!x->state_dir)
		return;
	enum fwd_err rc = xfr_store_read(x->state_dir, z->name, &rrs, &refreshed, err, sizeof(err));
	if (rc == FWD_ENOENT)
		return;
	if (rc == FWD_OK && xfr_soa_values(rrs, &serial, &refresh, &retry, &expire) != FWD_OK) {
		snprintf(err, sizeof(err), "no SOA in the saved copy");
		rc = FWD_EPARSE;
	}
	if (rc == FWD_OK)
		rc = compile(z->name, rrs, &zone, err, sizeof(err));
	if (rc != FWD_OK) {
		log_warn("xfr: zone %s: the saved copy in %s is not usable, transferring afresh: %s", z->name,
			 x->state_dir, err);
		if (rrs)
			ldns_rr_list_deep_free(rrs);
		return;
	}
	install(z, rrs, zone, serial);
	uint64_t wall = clock_wall_s(x->clock);
	uint64_t age = refreshed && refreshed < wall ? wall - refreshed : 0;
	soa_timer_loaded(&z->timer, now_ms(x), refresh, retry, expire, age);
	z->last_refresh_wall = refreshed;
	if (soa_timer_expire(&z->timer, now_ms(x)))
		log_warn("xfr: zone %s: the saved copy (serial %u) expired %" PRIu64 " s ago; SERVFAIL until a "
			 "primary answers", z->name, serial, age - expire);
	else
		log_info("xfr: zone %s: serving the saved copy, serial %u, last confirmed %" PRIu64 " s ago", z->name,
			 serial, age);
}

/* ------------------------------------------------------------ checks */

static void check_close(struct xfr_zone *z)
{
	xfr_conn_free(z->conn);
	z->conn = NULL;
	tsig_ctx_clear(&z->tsig);
	if (z->parsing)
		xfr_in_parse_free(&z->parse);
	z->parsing = 0;
	z->step = STEP_IDLE;
}

/* The check ended (ok or not): the next one, or the one a NOTIFY asked for. */
static void check_done(struct xfr_zone *z)
{
	check_close(z);
	if (z->notify_again) {
		z->notify_again = 0;
		soa_timer_notify(&z->timer, now_ms(z->x));
	}
	zone_arm(z);
}

static void check_ok(struct xfr_zone *z)
{
	struct xfr_in *x = z->x;
	uint32_t serial, refresh, retry, expire;
	int was_expired = z->timer.expired;

	if (xfr_soa_values(z->rrs, &serial, &refresh, &retry, &expire) == FWD_OK)
		soa_timer_ok(&z->timer, now_ms(x), refresh, retry, expire);
	z->last_refresh_wall = clock_wall_s(x->clock);
	if (x->state_dir)
		xfr_store_touch(x->state_dir, z->name, z->rrs, z->last_refresh_wall);
	if (was_expired) {
		log_info("xfr: zone %s: a primary confirmed serial %u; serving again", z->name, z->serial);
		publish(x);
	}
	check_done(z);
}

static void check_failed(struct xfr_zone *z)
{
	struct xfr_in *x = z->x;
	z->failed_checks++;
	z->last_failure_wall = clock_wall_s(x->clock);
	soa_timer_failed(&z->timer, now_ms(x));
	if (z->zone && z->timer.expired)
		log_warn("xfr: zone %s: no primary could be checked (%s); the copy of serial %u has expired, "
			 "SERVFAIL until one answers", z->name, z->last_error, z->serial);
	else if (z->zone)
		log_warn("xfr: zone %s: no primary could be checked (%s); serial %u keeps serving, next try in "
			 "%" PRIu64 " s", z->name, z->last_error, z->serial,
			 (z->timer.next_check - now_ms(x)) / 1000u);
	else
		log_warn("xfr: zone %s: no primary could be checked (%s); SERVFAIL until one answers", z->name,
			 z->last_error);
	check_done(z);
}

static void conn_msg(void *arg, const uint8_t *msg, size_t len);
static void conn_end(void *arg, int mid, const char *why);
static void try_primary(struct xfr_zone *z);

/* This primary failed: the next one, or the check failed. */
static void primary_failed(struct xfr_zone *z)
{
	check_close(z);
	z->primary++;
	if (z->primary >= z->nprimaries) {
		check_failed(z);
		return;
	}
	z->step = STEP_SOA;
	try_primary(z);
}

static void note_error(struct xfr_zone *z, const char *fmt, const char *what, const char *why)
{
	char a[80];
	addr_text(&z->primaries[z->primary].ss, a, sizeof(a));
	snprintf(z->last_error, sizeof(z->last_error), fmt, a, what, why);
}

/* A transfer or answer broke a rule (xfr_in_msg.h): logged, counted. */
static void rejected(struct xfr_zone *z, enum xfr_in_reject r)
{
	char a[80];
	addr_text(&z->primaries[z->primary].ss, a, sizeof(a));
	z->rejected[r]++;
	z->last_failure_wall = clock_wall_s(z->x->clock);
	snprintf(z->last_error, sizeof(z->last_error), "%s from %s rejected (%s): %.250s",
		 z->step == STEP_SOA ? "SOA answer" : z->step == STEP_IXFR ? "IXFR" : "AXFR", a,
		 xfr_in_reject_name(r), z->parse.why);
	if (z->zone)
		log_warn("xfr: zone %s: %s; serial %u keeps serving", z->name, z->last_error, z->serial);
	else
		log_warn("xfr: zone %s: %s", z->name, z->last_error);
}

/* The parser's check of each answer message: its TSIG (xfr_in_msg.h). */
static int verify_msg(void *arg, const uint8_t *msg, size_t len, int first)
{
	struct xfr_zone *z = arg;
	ldns_pkt *pkt = NULL;
	uint16_t err = 0;
	(void)first;
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return 1;
	enum fwd_err rc = tsig_verify(&z->tsig, pkt, msg, len, (int64_t)clock_wall_s(z->x->clock), &err);
	ldns_pkt_free(pkt);
	return rc != FWD_OK || err != 0;
}

/* Send the query of z->step on z->conn with a fresh parser. */
static enum fwd_err send_query(struct xfr_zone *z)
{
	uint16_t qtype = z->step == STEP_SOA ? LDNS_RR_TYPE_SOA : z->step == STEP_IXFR ? LDNS_RR_TYPE_IXFR
										    : LDNS_RR_TYPE_AXFR;
	uint16_t id = (uint16_t)fwd_random_u32();
	ldns_pkt *q = NULL;
	uint8_t *wire = NULL;
	size_t wlen = 0;
	enum fwd_err rc = FWD_ENOMEM;

	if (z->parsing)
		xfr_in_parse_free(&z->parse);
	z->parsing = 0;
	if (xfr_in_parse_init(&z->parse, z->name, id, qtype, z->zone != NULL, z->serial) != FWD_OK)
		return FWD_ENOMEM;
	z->parsing = 1;
	if (ldns_pkt_query_new_frm_str(&q, z->name, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK)
		return FWD_ENOMEM;
	ldns_pkt_set_id(q, id);
	if (z->step == STEP_IXFR) {
		/* RFC 1995 3: our SOA in the authority section */
		for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
			ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
				ldns_rr *c = ldns_rr_clone(rr);
				if (!c || !ldns_pkt_push_rr(q, LDNS_SECTION_AUTHORITY, c)) {
					ldns_rr_free(c);
					goto out;
				}
				break;
			}
		}
	}
	/* RFC 8945: with a key every query is signed and every answer
	 * message must verify (verify_msg) */
	const struct cfg_tsig_key *key = z->keys[z->primary].name ? &z->keys[z->primary] : NULL;
	tsig_ctx_clear(&z->tsig);
	tsig_ctx_start(&z->tsig, key);
	z->parse.verify = key ? verify_msg : NULL;
	z->parse.verify_arg = z;
	if (tsig_sign(&z->tsig, q) != FWD_OK)
		goto out;
	if (ldns_pkt2wire(&wire, q, &wlen) != LDNS_STATUS_OK)
		goto out;
	rc = xfr_conn_send(z->conn, wire, wlen);
out:
	LDNS_FREE(wire);
	ldns_pkt_free(q);
	return rc;
}

static void try_primary(struct xfr_zone *z)
{
	const struct cfg_primary *p = &z->primaries[z->primary];
	if (xfr_conn_open(z->x->base, (const struct sockaddr *)&p->ss, p->len, XFR_IN_IO_TIMEOUT_S, conn_msg,
			  conn_end, z, &z->conn) != FWD_OK ||
	    send_query(z) != FWD_OK) {
		note_error(z, "%s: %s%s", "cannot connect or send", "");
		primary_failed(z);
	}
}

static void check_start(struct xfr_zone *z)
{
	if (z->conn)
		return;
	z->checks++;
	z->primary = 0;
	z->step = STEP_SOA;
	log_debug("xfr: zone %s: checking the primary's serial", z->name);
	try_primary(z);
	zone_arm(z);
}

/* On the same connection, the next query. */
static void next_step(struct xfr_zone *z, enum step s)
{
	z->step = s;
	if (send_query(z) != FWD_OK) {
		note_error(z, "%s: %s%s", "cannot send the transfer query", "");
		primary_failed(z);
	}
}

/* A complete, valid transfer: apply it. */
static void transfer_done(struct xfr_zone *z)
{
	struct xfr_in *x = z->x;
	enum xfr_in_reject why = XFR_IN_OK;
	ldns_rr_list *rrs = NULL;
	struct zone *zone = NULL;
	char err[512] = "no SOA";
	uint32_t serial = 0, r1, r2, r3;
	int ixfr = z->parse.kind == XFR_IN_IXFR;

	if (z->parse.kind == XFR_IN_UPTODATE) {
		z->uptodate++;
		check_ok(z);
		return;
	}
	if (xfr_in_parse_apply(&z->parse, z->rrs, &rrs, &why) != FWD_OK) {
		if (why == XFR_IN_OK)
			why = XFR_IN_R_MALFORMED;
		rejected(z, why);
		if (z->step == STEP_IXFR && why == XFR_IN_R_IXFR) {
			/* RFC 1995 4: what cannot be applied is asked for whole */
			xfr_conn_free(z->conn);
			z->conn = NULL;
			z->step = STEP_AXFR;
			try_primary(z);
			return;
		}
		primary_failed(z);
		return;
	}
	if (xfr_soa_values(rrs, &serial, &r1, &r2, &r3) != FWD_OK ||
	    compile(z->name, rrs, &zone, err, sizeof(err)) != FWD_OK) {
		snprintf(z->parse.why, sizeof(z->parse.why), "the zone does not load: %.200s", err);
		ldns_rr_list_deep_free(rrs);
		rejected(z, XFR_IN_R_MALFORMED);
		primary_failed(z);
		return;
	}
	uint32_t old = z->serial;
	int had = z->zone != NULL;
	install(z, rrs, zone, serial);
	if (ixfr)
		z->ixfr++;
	else
		z->axfr++;
	char a[80];
	addr_text(&z->primaries[z->primary].ss, a, sizeof(a));
	if (had)
		log_info("xfr: zone %s: serial %u -> %u by %s from %s (%zu records)", z->name, old, serial,
			 ixfr ? "IXFR" : "AXFR", a, ldns_rr_list_rr_count(rrs));
	else
		log_info("xfr: zone %s: serial %u by %s from %s (%zu records)", z->name, serial,
			 ixfr ? "IXFR" : "AXFR", a, ldns_rr_list_rr_count(rrs));
	uint32_t s, refresh, retry, expire;
	xfr_soa_values(rrs, &s, &refresh, &retry, &expire);
	soa_timer_ok(&z->timer, now_ms(x), refresh, retry, expire);
	z->last_refresh_wall = clock_wall_s(x->clock);
	if (x->state_dir)
		xfr_store_write(x->state_dir, z->name, z->rrs, z->last_refresh_wall);
	publish(x);
	check_done(z);
}

static void conn_msg(void *arg, const uint8_t *msg, size_t len)
{
	struct xfr_zone *z = arg;
	enum xfr_in_reject why;
	int r = xfr_in_parse_msg(&z->parse, msg, len, &why);

	if (r < 0) {
		rejected(z, why);
		if (z->step == STEP_IXFR && why == XFR_IN_R_RCODE) {
			/* a primary without IXFR (NOTIMP, REFUSED): AXFR */
			xfr_conn_free(z->conn);
			z->conn = NULL;
			z->step = STEP_AXFR;
			try_primary(z);
			return;
		}
		primary_failed(z);
		return;
	}
	if (r == 0)
		return;
	if (z->step != STEP_SOA) {
		transfer_done(z);
		return;
	}
	if (z->parse.kind == XFR_IN_UPTODATE) {
		z->uptodate++;
		log_debug("xfr: zone %s: serial %u is current", z->name, z->serial);
		check_ok(z);
		return;
	}
	log_info("xfr: zone %s: the primary has serial %u (ours: %s%u): transferring by %s", z->name,
		 z->parse.new_serial, z->zone ? "" : "none, ", z->zone ? z->serial : 0, z->zone ? "IXFR" : "AXFR");
	next_step(z, z->zone ? STEP_IXFR : STEP_AXFR);
}

static void conn_end(void *arg, int mid, const char *why)
{
	struct xfr_zone *z = arg;
	enum xfr_in_reject r = xfr_in_parse_eof(&z->parse, mid);
	if (r == XFR_IN_R_NET) {
		note_error(z, "%s: %s: %s", "connection", why);
		z->rejected[r]++;
		log_info("xfr: zone %s: %s", z->name, z->last_error);
	} else {
		rejected(z, r);
	}
	primary_failed(z);
}

/* ------------------------------------------------------------ timers */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct xfr_zone *z = arg;
	struct xfr_in *x = z->x;
	uint64_t now = now_ms(x);
	(void)fd;
	(void)what;

	if (!z->timer.expired && soa_timer_expire(&z->timer, now)) {
		z->last_failure_wall = clock_wall_s(x->clock);
		snprintf(z->last_error, sizeof(z->last_error), "expired: no primary confirmed serial %u within the SOA "
			 "expire time (%" PRIu64 " s)", z->serial, z->timer.expire_ms / 1000u);
		log_warn("xfr: zone %s: %s; answering SERVFAIL until a primary answers", z->name, z->last_error);
		publish(x);
	}
	if (now >= z->timer.next_check && !z->conn)
		check_start(z);
	else
		zone_arm(z);
}

static void zone_arm(struct xfr_zone *z)
{
	uint64_t now = now_ms(z->x), at;
	if (z->conn) {
		/* a check runs (its end arms the next one); a copy may still
		 * expire meanwhile, since a check can wait on slow primaries */
		if (!z->timer.has_copy || z->timer.expired) {
			evtimer_del(z->ev);
			return;
		}
		at = z->timer.expire_at;
	} else {
		at = soa_timer_next(&z->timer);
	}
	uint64_t ms = at > now ? at - now : 0;
	struct timeval tv = {(time_t)(ms / 1000u), (suseconds_t)((ms % 1000u) * 1000u)};
	evtimer_add(z->ev, &tv);
}

/* ------------------------------------------------------------ NOTIFY */

void xfr_in_notified(struct xfr_in *x, const char *zone)
{
	pthread_mutex_lock(&x->lock);
	size_t i = 0;
	while (i < x->nqueue && strcmp(x->queue[i], zone) != 0)
		i++;
	if (i == x->nqueue && x->nqueue < XFR_NOTIFY_QUEUE)
		snprintf(x->queue[x->nqueue++], sizeof(x->queue[0]), "%s", zone);
	pthread_mutex_unlock(&x->lock);
	event_active(x->notify_ev, EV_READ, 0);
}

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct xfr_in *x = arg;
	char names[XFR_NOTIFY_QUEUE][256];
	size_t n;
	(void)fd;
	(void)what;

	pthread_mutex_lock(&x->lock);
	n = x->nqueue;
	memcpy(names, x->queue, n * sizeof(names[0]));
	x->nqueue = 0;
	pthread_mutex_unlock(&x->lock);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < x->nzones; j++) {
			struct xfr_zone *z = x->zones[j];
			if (strcmp(z->name, names[i]) != 0)
				continue;
			z->notifies++;
			log_info("xfr: zone %s: NOTIFY from a primary, checking now", z->name);
			if (z->conn) {
				z->notify_again = 1;
			} else {
				evtimer_del(z->ev);
				soa_timer_notify(&z->timer, now_ms(x));
				check_start(z);
			}
		}
	}
}

uint64_t xfr_in_wall_s(const struct xfr_in *x) { return clock_wall_s(x->clock); }

int xfr_in_refusal_log_ok(struct xfr_in *x)
{
	uint64_t now = now_ms(x), last = atomic_load(&x->refusal_logged_ms);
	if (last && now - last < 1000u)
		return 0;
	return atomic_compare_exchange_strong(&x->refusal_logged_ms, &last, now ? now : 1);
}

/* ------------------------------------------------------------ zones */

static void keys_free(struct xfr_zone *z)
{
	for (size_t i = 0; z->keys && i < z->nprimaries; i++)
		cfg_tsig_key_free(&z->keys[i]);
	free(z->keys);
	z->keys = NULL;
}

/* Copies of the key: clauses the primaries name (a reload may change a
 * secret without changing the name): FWD_OK or FWD_ENOMEM. */
static enum fwd_err keys_set(struct xfr_zone *z, const struct cfg *cfg)
{
	struct cfg_tsig_key *k = calloc(z->nprimaries + 1, sizeof(*k));
	if (!k)
		return FWD_ENOMEM;
	for (size_t i = 0; i < z->nprimaries; i++) {
		const struct cfg_tsig_key *src = z->primaries[i].key ? cfg_key_find(cfg, z->primaries[i].key) : NULL;
		if (!src)
			continue;
		k[i].name = strdup(src->name);
		k[i].algorithm = strdup(src->algorithm);
		k[i].secret_b64 = strdup(src->secret_b64);
		k[i].line = src->line;
		if (!k[i].name || !k[i].algorithm || !k[i].secret_b64) {
			for (size_t j = 0; j <= i; j++)
				cfg_tsig_key_free(&k[j]);
			free(k);
			return FWD_ENOMEM;
		}
	}
	keys_free(z);
	z->keys = k;
	return FWD_OK;
}

static void zone_free(struct xfr_zone *z)
{
	if (!z)
		return;
	check_close(z);
	if (z->ev)
		event_free(z->ev);
	install(z, NULL, NULL, 0);
	if (z->placeholder)
		zone_unref(z->placeholder);
	keys_free(z);
	cfg_primary_list_free(z->primaries, z->nprimaries);
	free(z->name);
	free(z);
}

static struct xfr_zone *zone_new(struct xfr_in *x, const struct cfg *cfg, const struct cfg_zone *cz)
{
	char err[256];
	struct xfr_zone *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	z->x = x;
	z->name = strdup(cz->name);
	z->primaries = calloc(cz->nprimaries, sizeof(*z->primaries));
	z->ev = evtimer_new(x->base, on_timer, z);
	z->placeholder = snapshot_placeholder_zone(cz->name, err, sizeof(err));
	if (!z->name || !z->primaries || !z->ev || !z->placeholder) {
		zone_free(z);
		return NULL;
	}
	for (size_t i = 0; i < cz->nprimaries; i++) {
		z->primaries[i] = cz->primaries[i];
		z->primaries[i].key = NULL;
		z->nprimaries++;
		if (cz->primaries[i].key && !(z->primaries[i].key = strdup(cz->primaries[i].key))) {
			zone_free(z);
			return NULL;
		}
	}
	if (keys_set(z, cfg) != FWD_OK) {
		zone_free(z);
		return NULL;
	}
	soa_timer_init(&z->timer, now_ms(x));
	load_copy(z);
	return z;
}

enum fwd_err xfr_in_apply(struct xfr_in *x, const struct cfg *cfg)
{
	size_t n = 0;
	struct xfr_zone **nz;

	for (size_t i = 0; i < cfg->nzones; i++)
		n += cfg->zones[i].nprimaries ? 1 : 0;
	nz = calloc(n + 1, sizeof(*nz));
	if (!nz)
		return FWD_ENOMEM;
	free(x->state_dir);
	x->state_dir = cfg->state_dir ? strdup(cfg->state_dir) : NULL;
	if (n && !cfg->state_dir)
		log_warn("xfr: no state-dir: secondary zone copies are not kept, a restart transfers them again");
	n = 0;
	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct cfg_zone *cz = &cfg->zones[i];
		struct xfr_zone *z = NULL;
		if (!cz->nprimaries)
			continue;
		for (size_t j = 0; j < x->nzones; j++) {
			struct xfr_zone *o = x->zones[j];
			if (o && strcmp(o->name, cz->name) == 0 &&
			    cfg_primaries_equal(o->primaries, o->nprimaries, cz->primaries, cz->nprimaries)) {
				z = o; /* unchanged: copy, timers and counters stay */
				x->zones[j] = NULL;
				if (keys_set(z, cfg) != FWD_OK)
					log_err("xfr: zone %s: out of memory reading its keys again; the old ones stay",
						z->name);
				break;
			}
		}
		if (!z) {
			z = zone_new(x, cfg, cz);
			if (!z) {
				for (size_t j = 0; j < n; j++)
					zone_free(nz[j]);
				free(nz);
				return FWD_ENOMEM;
			}
			zone_arm(z);
		}
		nz[n++] = z;
	}
	for (size_t j = 0; j < x->nzones; j++)
		zone_free(x->zones[j]);
	free(x->zones);
	x->zones = nz;
	x->nzones = n;
	return FWD_OK;
}

enum fwd_err xfr_in_new(struct event_base *base, const struct fwd_clock *clock, xfr_in_publish_fn fn, void *arg,
			struct xfr_in **out)
{
	struct xfr_in *x = calloc(1, sizeof(*x));
	if (!x)
		return FWD_ENOMEM;
	x->base = base;
	x->clock = clock;
	x->publish = fn;
	x->publish_arg = arg;
	if (pthread_mutex_init(&x->lock, NULL) != 0) {
		free(x);
		return FWD_ENOMEM;
	}
	x->notify_ev = event_new(base, -1, 0, on_notify, x);
	if (!x->notify_ev) {
		pthread_mutex_destroy(&x->lock);
		free(x);
		return FWD_ENOMEM;
	}
	*out = x;
	return FWD_OK;
}

void xfr_in_free(struct xfr_in *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->nzones; i++)
		zone_free(x->zones[i]);
	free(x->zones);
	event_free(x->notify_ev);
	pthread_mutex_destroy(&x->lock);
	free(x->state_dir);
	free(x);
}

size_t xfr_in_count(const struct xfr_in *x) { return x ? x->nzones : 0; }

enum fwd_err xfr_in_info(const struct xfr_in *x, size_t i, struct xfr_in_info *info)
{
	if (!x || i >= x->nzones)
		return FWD_ENOENT;
	const struct xfr_zone *z = x->zones[i];
	memset(info, 0, sizeof(*info));
	info->name = z->name;
	info->has_copy = z->zone != NULL;
	info->expired = z->timer.expired;
	info->serial = z->serial;
	info->last_refresh_wall = z->last_refresh_wall;
	info->last_failure_wall = z->last_failure_wall;
	info->last_error = z->last_error;
	uint64_t left = soa_timer_left(&z->timer, now_ms(x));
	info->expires_in_s = left == UINT64_MAX ? -1 : (int64_t)(left / 1000u);
	info->axfr = z->axfr;
	info->ixfr = z->ixfr;
	info->uptodate = z->uptodate;
	info->notifies = z->notifies;
	info->checks = z->checks;
	info->failed_checks = z->failed_checks;
	memcpy(info->rejected, z->rejected, sizeof(info->rejected));
	return FWD_OK;
}
