/*
 * xfr_notify.c -- NOTIFY to secondaries (see xfr_notify.h).
 *
 * One job per (zone, target): a connected UDP socket (its own random
 * source port), a random message id, and a timer.  The message is built
 * once per attempt (a signed one carries the time, so each attempt is
 * signed again).  An answer is any message from the target with the id,
 * QR set and opcode NOTIFY; when the NOTIFY was signed, the answer's TSIG
 * must verify against that request's MAC, or anyone who can send to our
 * port could stop the retries of a NOTIFY the secondary never saw.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "xfr_notify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "cfg_tsig.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "route.h"
#include "snapshot.h"
#include "tsig.h"
#include "wire.h"
#include "xfr_cfg.h"
#include "zone.h"

#define OPCODE_NOTIFY 4

struct notify_job {
	struct xfr_notify *n;
	struct notify_job *next;
	char zone[WIRE_MAX_NAME * 4 + 1];  /* text, for logs and matching */
	uint8_t apex[WIRE_MAX_NAME];
	size_t apex_len;
	uint32_t serial;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char target[INET6_ADDRSTRLEN + 8];
	struct cfg_tsig_key key;           /* copies; name NULL: unsigned */
	struct tsig_ctx tsig;              /* the last attempt's MAC, which its answer chains to */
	int fd;
	struct event *ev;
	uint16_t id;
	int tries;
};

/* The serial last notified for a zone (so that an unchanged zone is not
 * notified again on every publish). */
struct notified {
	char zone[WIRE_MAX_NAME * 4 + 1];
	uint32_t serial;
};

struct xfr_notify {
	struct event_base *base;
	const struct fwd_clock *clock;
	struct notify_job *jobs;
	struct notified *seen;
	size_t nseen, capseen;
	struct xfr_notify_stats st;
};

static void job_free(struct notify_job *j)
{
	if (j->ev)
		event_free(j->ev);
	if (j->fd >= 0)
		close(j->fd);
	tsig_ctx_clear(&j->tsig);
	free(j->key.name);
	free(j->key.algorithm);
	cfg_tsig_secret_free(j->key.secret_b64);
	free(j);
}

static void job_unlink(struct notify_job *j)
{
	struct notify_job **pp = &j->n->jobs;

	while (*pp && *pp != j)
		pp = &(*pp)->next;
	if (*pp)
		*pp = j->next;
}

/* Build and send attempt j->tries + 1; arm the timer. */
static void job_send(struct notify_job *j)
{
	uint8_t msg[WIRE_HDR_LEN + WIRE_MAX_NAME + 4];
	size_t n;
	uint8_t *w = NULL;
	size_t wl = 0;
	const uint8_t *out = msg;
	ldns_pkt *pkt = NULL;

	/* header: NOTIFY, AA (RFC 1996 sec. 3.7), the zone's SOA as the question */
	wire_put_header(msg, j->id, (uint16_t)((OPCODE_NOTIFY << 11) | WIRE_AA), 1, 0, 0, 0);
	memcpy(msg + WIRE_HDR_LEN, j->apex, j->apex_len);
	wire_put16(msg + WIRE_HDR_LEN + j->apex_len, TYPE_SOA);
	wire_put16(msg + WIRE_HDR_LEN + j->apex_len + 2, CLASS_IN);
	n = WIRE_HDR_LEN + j->apex_len + 4;
	tsig_ctx_clear(&j->tsig);
	tsig_ctx_start(&j->tsig, NULL);
	if (j->key.name) {
		/* a fresh exchange per attempt: the answer chains to this MAC */
		tsig_ctx_start(&j->tsig, &j->key);
		if (ldns_wire2pkt(&pkt, msg, n) == LDNS_STATUS_OK && tsig_sign(&j->tsig, pkt) == FWD_OK &&
		    ldns_pkt2wire(&w, pkt, &wl) == LDNS_STATUS_OK) {
			out = w;
			n = wl;
		} else {
			/* unsigned: no answer can verify, the tries run out and
			 * the NOTIFY counts as failed */
			log_warn("notify: %s to %s: cannot sign with key %s, sending unsigned", j->zone, j->target,
				 j->key.name);
		}
		ldns_pkt_free(pkt);
	}
	if (send(j->fd, out, n, 0) < 0)
		log_debug("notify: %s to %s: %s", j->zone, j->target, strerror(errno));
	free(w);
	j->n->st.sent++;
	if (j->tries > 0)
		j->n->st.retries++;
	struct timeval tv = {1 << j->tries, 0};
	j->tries++;
	event_add(j->ev, &tv);
}

static void job_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify_job *j = arg;
	struct xfr_notify *n = j->n;

	if (what & EV_READ) {
		uint8_t buf[4096];
		ssize_t r;
		while ((r = recv(fd, buf, sizeof(buf), 0)) >= 0) {
			enum xfr_notify_answer a =
				xfr_notify_check_answer(&j->tsig, j->id, buf, (size_t)r, (int64_t)clock_wall_s(n->clock));
			if (a == XFR_NOTIFY_NOT_ANSWER)
				continue; /* not the answer: keep waiting */
			if (a == XFR_NOTIFY_UNVERIFIED) {
				/* a failed try: the timer (still armed) sends
				 * the next one, or gives up after the last */
				n->st.unverified++;
				log_warn("notify: %s serial %u: the answer from %s is unsigned or its TSIG does not "
					 "verify (key %s), trying again",
					 j->zone, j->serial, j->target, j->key.name);
				continue;
			}
			unsigned rcode = WIRE_RCODE(wire_get16(buf + 2));
			n->st.answered++;
			if (rcode != 0)
				log_warn("notify: %s serial %u: %s answered rcode %u", j->zone, j->serial, j->target,
					 rcode);
			else
				log_info("notify: %s serial %u: %s acknowledged", j->zone, j->serial, j->target);
			job_unlink(j);
			job_free(j);
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return; /* the timer is still armed (EV_PERSIST on the read side) */
		/* ICMP unreachable comes back as ECONNREFUSED: wait for the timer */
		return;
	}
	/* timeout */
	if (j->tries >= XFR_NOTIFY_TRIES) {
		n->st.failed++;
		log_warn("notify: %s serial %u: no answer from %s after %d tries, giving up", j->zone, j->serial,
			 j->target, j->tries);
		job_unlink(j);
		job_free(j);
		return;
	}
	job_send(j);
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
		snprintf(buf, cap, "%s@%u", a, port);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
		snprintf(buf, cap, "[%s]@%u", a, port);
	}
}

/* Queue a NOTIFY of zone (serial) to target t, replacing one still being retried. */
static void queue(struct xfr_notify *n, const struct cfg *cfg, const char *zone, const uint8_t *apex,
		  size_t apex_len, uint32_t serial, const struct cfg_notify *t)
{
	struct notify_job *j, **pp;
	char target[INET6_ADDRSTRLEN + 8];

	addr_text(&t->addr.ss, target, sizeof(target));
	for (pp = &n->jobs; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->zone, zone) == 0 && strcmp((*pp)->target, target) == 0) {
			j = *pp;
			*pp = j->next;
			job_free(j);
			break;
		}
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		n->st.failed++;
		return;
	}
	j->n = n;
	j->fd = -1;
	snprintf(j->zone, sizeof(j->zone), "%s", zone);
	memcpy(j->apex, apex, apex_len);
	j->apex_len = apex_len;
	j->serial = serial;
	memcpy(&j->addr, &t->addr.ss, sizeof(j->addr));
	j->addrlen = t->addr.len;
	snprintf(j->target, sizeof(j->target), "%s", target);
	if (t->key) {
		const struct cfg_tsig_key *k = cfg_key_find(cfg, t->key);
		if (k && ((j->key.name = strdup(k->name)) == NULL || (j->key.algorithm = strdup(k->algorithm)) == NULL ||
			  (j->key.secret_b64 = strdup(k->secret_b64)) == NULL)) {
			job_free(j);
			n->st.failed++;
			return;
		}
	}
	j->id = (uint16_t)fwd_random_u32();
	j->fd = socket(j->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (j->fd < 0 || connect(j->fd, (const struct sockaddr *)&j->addr, j->addrlen) < 0 ||
	    (j->ev = event_new(n->base, j->fd, EV_READ | EV_PERSIST, job_cb, j)) == NULL) {
		log_warn("notify: %s to %s: cannot open a socket: %s", zone, target, strerror(errno));
		n->st.failed++;
		job_free(j);
		return;
	}
	j->next = n->jobs;
	n->jobs = j;
	log_info("notify: %s serial %u to %s%s%s", zone, serial, target, j->key.name ? " key " : "",
		 j->key.name ? j->key.name : "");
	job_send(j);
}

/* 1 when zone was last notified with serial (or is recorded now with it). */
static int seen_serial(struct xfr_notify *n, const char *zone, uint32_t serial)
{
	for (size_t i = 0; i < n->nseen; i++) {
		if (strcmp(n->seen[i].zone, zone) == 0) {
			if (n->seen[i].serial == serial)
				return 1;
			n->seen[i].serial = serial;
			return 0;
		}
	}
	if (n->nseen == n->capseen) {
		size_t cap = n->capseen ? 2 * n->capseen : 16;
		struct notified *g = realloc(n->seen, cap * sizeof(*g));
		if (g == NULL)
			return 0;
		n->seen = g;
		n->capseen = cap;
	}
	snprintf(n->seen[n->nseen].zone, sizeof(n->seen[n->nseen].zone), "%s", zone);
	n->seen[n->nseen].serial = serial;
	n->nseen++;
	return 0;
}

void xfr_notify_publish(struct xfr_notify *n, const struct snapshot *snap)
{
	for (size_t i = 0; n && i < snap->nzones; i++) {
		const struct route_zone *rz = &snap->zones[i];
		size_t alen;
		const uint8_t *apex = zone_apex(rz->zone, &alen);
		const struct route_target *rt = route_lookup(snap->routes, apex, alen);
		struct xfr_zone_cfg zc;
		char name[WIRE_MAX_NAME * 4 + 1];

		if (rt->kind != ROUTE_ZONE || rt->zone != rz->zone)
			continue; /* a synced zone a zone file shadows */
		wire_name_to_text(apex, name, sizeof(name));
		xfr_zone_cfg(snap->cfg, rz->origin, name, &zc);
		if (zc.nnotify == 0 || seen_serial(n, name, zone_serial(rz->zone)))
			continue;
		for (size_t t = 0; t < zc.nnotify; t++)
			queue(n, snap->cfg, name, apex, alen, zone_serial(rz->zone), &zc.notify[t]);
	}
}

enum xfr_notify_answer xfr_notify_check_answer(struct tsig_ctx *ctx, uint16_t id, const uint8_t *msg, size_t len,
					       int64_t now)
{
	ldns_pkt *pkt = NULL;
	uint16_t err = 0;
	enum fwd_err rc;

	if (len < WIRE_HDR_LEN || wire_get16(msg) != id || !(msg[2] & 0x80) ||
	    WIRE_OPCODE(wire_get16(msg + 2)) != OPCODE_NOTIFY)
		return XFR_NOTIFY_NOT_ANSWER;
	if (ctx->key == NULL)
		return XFR_NOTIFY_ANSWERED;
	if (ldns_wire2pkt(&pkt, msg, len) != LDNS_STATUS_OK)
		return XFR_NOTIFY_UNVERIFIED;
	rc = tsig_verify(ctx, pkt, msg, len, now, &err);
	ldns_pkt_free(pkt);
	return rc == FWD_OK && err == 0 ? XFR_NOTIFY_ANSWERED : XFR_NOTIFY_UNVERIFIED;
}

enum fwd_err xfr_notify_new(struct event_base *base, const struct fwd_clock *clock, struct xfr_notify **out)
{
	struct xfr_notify *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return FWD_ENOMEM;
	n->base = base;
	n->clock = clock;
	*out = n;
	return FWD_OK;
}

void xfr_notify_free(struct xfr_notify *n)
{
	if (n == NULL)
		return;
	while (n->jobs) {
		struct notify_job *j = n->jobs;
		n->jobs = j->next;
		job_free(j);
	}
	free(n->seen);
	free(n);
}

void xfr_notify_get_stats(const struct xfr_notify *n, struct xfr_notify_stats *out)
{
	if (n == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = n->st;
}
