/*
 * http.c -- the status page and /status.json, /metrics (Prometheus text
 * format), /healthz and /readyz on the main event loop (see http.h).
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "arm_config.h"
#include "arm_sync.h"
#include "cache.h"
#include "client.h"
#include "common.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "loop_view.h"
#include "querylog.h"
#include "route.h"
#include "snapshot.h"
#include "xfr_notify.h"
#include "collect.h"
#include "http_auth.h"
#include "status_json.h"
#include "status_page.h"
#include "status_ring.h"
#include "wire.h"
#include "xfr_in.h"
#include "zone.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define HTTP_DEFAULT_PORT 9153
#define HTTP_TIMEOUT_S 10

#define HTTP_TICK_S 1 /* how often the rate ring samples the counters */

struct http_server {
	struct daemon *d;
	struct evhttp *http;
	struct event *tick;          /* every HTTP_TICK_S: ring sample, token after a reload */
	struct status_ring ring;     /* the status page's last 15 minutes */
	struct http_auth auth;       /* http-token-file; len 0 = open */
	uint64_t reloads_seen;       /* d->reloads_ok when the token file was last read */
	int loopback;                /* http-listen is on 127.0.0.0/8 or ::1 */
};

/* ------------------------------------------------------------ exposition helpers */

static void m_head(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped as the text format wants. */
static const char *esc(const char *s, char *buf, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			buf[n++] = '\\';
			buf[n++] = *s;
		} else if (*s == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
	return buf;
}

/* name{labels,le=...} lines, _sum and _count of one histogram series;
 * labels is "" or `key="value"` text already escaped. */
static void m_histogram(struct evbuffer *b, const char *name, const char *labels, const uint64_t *lat,
			uint64_t sum_us)
{
	uint64_t cum = 0;
	const char *sep = labels[0] ? "," : "";
	for (int i = 0; i < STATS_LAT_N; i++) {
		cum += lat[i];
		if (i < STATS_LAT_N - 1)
			evbuffer_add_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
					    (double)stats_lat_bounds_us[i] / 1e6, (unsigned long long)cum);
		else
			evbuffer_add_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
					    (unsigned long long)cum);
	}
	if (labels[0]) {
		evbuffer_add_printf(b, "%s_sum{%s} %.6f\n", name, labels, (double)sum_us / 1e6);
		evbuffer_add_printf(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)cum);
	} else {
		evbuffer_add_printf(b, "%s_sum %.6f\n", name, (double)sum_us / 1e6);
		evbuffer_add_printf(b, "%s_count %llu\n", name, (unsigned long long)cum);
	}
}

static const struct stats_group *group_find(const struct stats_total *t, const char *name)
{
	for (size_t i = 0; i < t->ngroups; i++)
		if (strcmp(t->groups[i].name, name) == 0)
			return &t->groups[i];
	return NULL;
}

/* DoT and DoH connections: open now, and their events by reason. */
static void metrics_conns(struct evbuffer *b, const struct stats_total *t)
{
	static const char *const tr[2] = {"tls", "https"};
	const struct stats_conns *c[2] = {&t->tls, &t->https};
	const uint64_t open[2] = {t->tls_conns, t->https_conns};

	m_head(b, "plinkfwd_encrypted_connections", "gauge", "DoT (tls) and DoH (https) client connections open now.");
	for (int i = 0; i < 2; i++)
		evbuffer_add_printf(b, "plinkfwd_encrypted_connections{transport=\"%s\"} %llu\n", tr[i],
				    (unsigned long long)open[i]);
	m_head(b, "plinkfwd_encrypted_connection_events_total", "counter",
	       "DoT and DoH connection events: accepted, handshake (completed), resumed (a session ticket), and "
	       "closed by policy: denied (ACL), over_limit, idle, deadline, tls_error, bad_stream.");
	for (int i = 0; i < 2; i++) {
		const struct { const char *n; uint64_t v; } ev[] = {
			{"accepted", c[i]->accepted}, {"handshake", c[i]->handshakes}, {"resumed", c[i]->resumed},
			{"denied", c[i]->denied}, {"over_limit", c[i]->over_limit}, {"idle", c[i]->idle},
			{"deadline", c[i]->deadline}, {"tls_error", c[i]->tls_error},
			{"bad_stream", c[i]->bad_stream},
		};
		for (size_t k = 0; k < sizeof(ev) / sizeof(ev[0]); k++)
			evbuffer_add_printf(b,
					    "plinkfwd_encrypted_connection_events_total{transport=\"%s\",event=\"%s\"} %llu\n",
					    tr[i], ev[k].n, (unsigned long long)ev[k].v);
	}
}

static void metrics_queries(struct evbuffer *b, const struct stats_total *t)
{

	m_head(b, "plinkfwd_queries_total", "counter", "DNS messages received from clients, by transport.");
	evbuffer_add_printf(b, "plinkfwd_queries_total{transport=\"udp\"} %llu\n",
			    (unsigned long long)t->queries_udp);
	evbuffer_add_printf(b, "plinkfwd_queries_total{transport=\"tcp\"} %llu\n",
			    (unsigned long long)t->queries_tcp);
	evbuffer_add_printf(b, "plinkfwd_queries_total{transport=\"tls\"} %llu\n",
			    (unsigned long long)t->queries_tls);
	evbuffer_add_printf(b, "plinkfwd_queries_total{transport=\"https\"} %llu\n",
			    (unsigned long long)t->queries_https);
	metrics_conns(b, t);
	m_head(b, "plinkfwd_dropped_total", "counter",
	       "Messages dropped without an answer (shorter than a header, or not a query).");
	evbuffer_add_printf(b, "plinkfwd_dropped_total %llu\n", (unsigned long long)t->dropped);
	m_head(b, "plinkfwd_tcp_closed_total", "counter",
	       "Client TCP connections closed by policy: denied (the ACL refuses the source, at accept), "
	       "over_limit (tcp-max-connections or tcp-max-connections-per-client), deadline (a message not "
	       "complete within tcp-idle-timeout of its first byte).");
	evbuffer_add_printf(b, "plinkfwd_tcp_closed_total{reason=\"denied\"} %llu\n",
			    (unsigned long long)t->tcp_denied);
	evbuffer_add_printf(b, "plinkfwd_tcp_closed_total{reason=\"over_limit\"} %llu\n",
			    (unsigned long long)t->tcp_over_limit);
	evbuffer_add_printf(b, "plinkfwd_tcp_closed_total{reason=\"deadline\"} %llu\n",
			    (unsigned long long)t->tcp_deadline);

	m_head(b, "plinkfwd_xfr_requests_total", "counter",
	       "Zone transfer requests (AXFR, IXFR) by outcome: axfr, ixfr (the differences, from the journal), ixfr_full (IXFR "
	       "answered with the whole zone), uptodate (the single SOA), refused (allow-transfer), notauth "
	       "(a bad TSIG, also on a signed SOA query, or not a zone served here), formerr, notimp (AXFR over UDP).");
	for (int o = 0; o < XFR_OUT_NOUTCOMES; o++)
		evbuffer_add_printf(b, "plinkfwd_xfr_requests_total{outcome=\"%s\"} %llu\n",
				    xfr_outcome_name((enum xfr_outcome)o), (unsigned long long)t->xfr[o]);
	m_head(b, "plinkfwd_xfr_aborted_total", "counter",
	       "Zone transfers cut short: the client closed the connection, or a message could not be built.");
	evbuffer_add_printf(b, "plinkfwd_xfr_aborted_total %llu\n", (unsigned long long)t->xfr_aborted);

	m_head(b, "plinkfwd_answers_total", "counter",
	       "Answers sent, by transport, answer source and response code.");
	for (int tcp = 0; tcp < STATS_TRANSPORTS; tcp++)
		for (int s = 0; s < STATS_SRC_N; s++)
			for (int r = 0; r < STATS_RC_N; r++)
				evbuffer_add_printf(b,
						    "plinkfwd_answers_total{transport=\"%s\",source=\"%s\",rcode=\"%s\"} %llu\n",
						    client_transport_name((enum client_transport)tcp), stats_source_name((enum stats_source)s),
						    stats_rcode_name((enum stats_rcode)r),
						    (unsigned long long)t->answers[tcp][s][r]);

	m_head(b, "plinkfwd_answer_duration_seconds", "histogram",
	       "Time from the arrival of a query to its answer, by answer source.");
	for (int s = 0; s < STATS_SRC_N; s++) {
		char labels[64];
		snprintf(labels, sizeof(labels), "source=\"%s\"", stats_source_name((enum stats_source)s));
		m_histogram(b, "plinkfwd_answer_duration_seconds", labels, t->lat[s], t->lat_sum_us[s]);
	}
}

static const char *server_text(const struct stats_server *sv, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (sv->addr.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&sv->addr;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, cap, "%s@%u", a, ntohs(s4->sin_port));
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&sv->addr;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, cap, "[%s]@%u", a, ntohs(s6->sin6_port));
	}
	return buf;
}

/* Per server, as every worker's upstream instance sees it.  Counters are
 * kept per worker since it started, so they only grow. */
static void metrics_servers(struct evbuffer *b, const struct stats_total *t)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{"plinkfwd_upstream_server_sent_total", "counter", "Attempts sent to this upstream server."},
		{"plinkfwd_upstream_server_answered_total", "counter", "Replies accepted from this upstream server."},
		{"plinkfwd_upstream_server_failed_total", "counter", "Attempts to this server that failed or timed out."},
		{"plinkfwd_upstream_server_srtt_seconds", "gauge",
		 "Smoothed round-trip time to this server (mean over the workers that measured it)."},
		{"plinkfwd_upstream_server_outstanding", "gauge", "Attempts in flight to this server."},
		{"plinkfwd_upstream_server_down", "gauge", "1 when a worker has this server marked down."},
		{"plinkfwd_upstream_server_timeouts_total", "counter",
		 "Attempts to this server that got no reply within upstream-timeout."},
	};
	char name[128];
	for (size_t f = 0; f < FWD_ARRAY_LEN(fam); f++) {
		m_head(b, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < t->nservers; i++) {
			const struct stats_server *sv = &t->servers[i];
			server_text(sv, name, sizeof(name));
			switch (f) {
			case 0: evbuffer_add_printf(b, "%s{server=\"%s\"} %llu\n", fam[f].name, name, (unsigned long long)sv->sent); break;
			case 1: evbuffer_add_printf(b, "%s{server=\"%s\"} %llu\n", fam[f].name, name, (unsigned long long)sv->answered); break;
			case 2: evbuffer_add_printf(b, "%s{server=\"%s\"} %llu\n", fam[f].name, name, (unsigned long long)sv->failed); break;
			case 3:
				evbuffer_add_printf(b, "%s{server=\"%s\"} %.6f\n", fam[f].name, name,
						    sv->srtt_n ? (double)sv->srtt_sum_us / sv->srtt_n / 1e6 : 0.0);
				break;
			case 4: evbuffer_add_printf(b, "%s{server=\"%s\"} %u\n", fam[f].name, name, (unsigned)sv->outstanding); break;
			case 5: evbuffer_add_printf(b, "%s{server=\"%s\"} %d\n", fam[f].name, name, sv->down ? 1 : 0); break;
			default: evbuffer_add_printf(b, "%s{server=\"%s\"} %llu\n", fam[f].name, name, (unsigned long long)sv->timeouts); break;
			}
		}
	}
	/* round-trip times of answered attempts, per server */
	m_head(b, "plinkfwd_upstream_server_rtt_seconds", "histogram",
	       "Round-trip time of attempts this server answered.");
	for (size_t i = 0; i < t->nservers; i++) {
		const struct stats_server *sv = &t->servers[i];
		uint64_t cum = 0;
		server_text(sv, name, sizeof(name));
		for (size_t k = 0; k < UPSTREAM_RTT_BUCKETS; k++) {
			cum += sv->rtt_hist[k];
			if (k < UPSTREAM_RTT_BUCKETS - 1)
				evbuffer_add_printf(b, "plinkfwd_upstream_server_rtt_seconds_bucket{server=\"%s\",le=\"%g\"} %llu\n",
						    name, upstream_rtt_bounds_us[k] / 1e6, (unsigned long long)cum);
			else
				evbuffer_add_printf(b, "plinkfwd_upstream_server_rtt_seconds_bucket{server=\"%s\",le=\"+Inf\"} %llu\n",
						    name, (unsigned long long)cum);
		}
		evbuffer_add_printf(b, "plinkfwd_upstream_server_rtt_seconds_sum{server=\"%s\"} %.6f\n", name,
				    sv->rtt_sum_us / 1e6);
		evbuffer_add_printf(b, "plinkfwd_upstream_server_rtt_seconds_count{server=\"%s\"} %llu\n", name,
				    (unsigned long long)cum);
	}
}

static void metrics_cache(struct evbuffer *b, const struct daemon *d, const struct stats_total *t,
			  const struct cfg *cfg)
{
	m_head(b, "plinkfwd_cache_hits_total", "counter", "Queries answered from the cache.");
	evbuffer_add_printf(b, "plinkfwd_cache_hits_total %llu\n", (unsigned long long)t->cache_hits);
	m_head(b, "plinkfwd_cache_misses_total", "counter", "Queries the cache could not answer (forwarded).");
	evbuffer_add_printf(b, "plinkfwd_cache_misses_total %llu\n", (unsigned long long)t->cache_misses);
	m_head(b, "plinkfwd_cache_stale_answers_total", "counter",
	       "Expired answers served because every upstream server failed (serve-stale).");
	evbuffer_add_printf(b, "plinkfwd_cache_stale_answers_total %llu\n", (unsigned long long)t->cache_stale);
	uint64_t entries = 0, bytes = 0;
	if (d->cache)
		cache_usage(d->cache, &entries, &bytes);
	m_head(b, "plinkfwd_cache_entries", "gauge", "Answers held in the cache.");
	evbuffer_add_printf(b, "plinkfwd_cache_entries %llu\n", (unsigned long long)entries);
	m_head(b, "plinkfwd_cache_evictions_total", "counter",
	       "Answers removed from the cache to stay within cache-size (least recently used first).");
	evbuffer_add_printf(b, "plinkfwd_cache_evictions_total %llu\n", (unsigned long long)cache_evictions(d->cache));
	m_head(b, "plinkfwd_cache_bytes", "gauge", "Memory used by the cache.");
	evbuffer_add_printf(b, "plinkfwd_cache_bytes %llu\n", (unsigned long long)bytes);
	m_head(b, "plinkfwd_cache_max_bytes", "gauge", "The cache-size limit.");
	evbuffer_add_printf(b, "plinkfwd_cache_max_bytes %llu\n", (unsigned long long)cfg->cache_size);
	m_head(b, "plinkfwd_spliced_total", "counter",
	       "Public CNAME chains completed with private records from a zone served here.");
	evbuffer_add_printf(b, "plinkfwd_spliced_total %llu\n", (unsigned long long)t->spliced);
	m_head(b, "plinkfwd_splice_too_deep_total", "counter",
	       "Public CNAME chains longer than 16 steps (or looping): relayed without splicing.");
	evbuffer_add_printf(b, "plinkfwd_splice_too_deep_total %llu\n", (unsigned long long)t->splice_too_deep);
	m_head(b, "plinkfwd_fallbacks_total", "counter",
	       "NXDOMAIN answers sent on to the default group (fallback: public).");
	evbuffer_add_printf(b, "plinkfwd_fallbacks_total %llu\n", (unsigned long long)t->fallbacks);
}

static void metrics_upstream(struct evbuffer *b, const struct stats_total *t, const struct cfg *cfg)
{
	/* every configured group (zeros included), then groups that only
	 * old configurations had: counters must not vanish on a reload */
	const char *names[STATS_MAX_GROUPS * 2];
	size_t n = 0;
	for (size_t i = 0; i < cfg->nupstreams && n < STATS_MAX_GROUPS; i++)
		names[n++] = cfg->upstreams[i].name;
	for (size_t i = 0; i < t->ngroups; i++) {
		size_t j = 0;
		while (j < n && strcmp(names[j], t->groups[i].name) != 0)
			j++;
		if (j == n)
			names[n++] = t->groups[i].name;
	}
	char e[160], labels[200];
	static const struct stats_group zero;

	m_head(b, "plinkfwd_upstream_answers_total", "counter",
	       "Forwarded queries answered by an upstream group (reply relayed to the client).");
	for (size_t i = 0; i < n; i++) {
		const struct stats_group *g = group_find(t, names[i]);
		evbuffer_add_printf(b, "plinkfwd_upstream_answers_total{group=\"%s\"} %llu\n",
				    esc(names[i], e, sizeof(e)), (unsigned long long)(g ? g->answered : 0));
	}
	m_head(b, "plinkfwd_upstream_failures_total", "counter",
	       "Forwarded queries for which every server of the group failed or time ran out (client got SERVFAIL).");
	for (size_t i = 0; i < n; i++) {
		const struct stats_group *g = group_find(t, names[i]);
		evbuffer_add_printf(b, "plinkfwd_upstream_failures_total{group=\"%s\"} %llu\n",
				    esc(names[i], e, sizeof(e)), (unsigned long long)(g ? g->failed : 0));
	}
	m_head(b, "plinkfwd_upstream_duration_seconds", "histogram",
	       "Time from the arrival of a forwarded query to its answer or failure, by upstream group.");
	for (size_t i = 0; i < n; i++) {
		const struct stats_group *g = group_find(t, names[i]);
		if (!g)
			g = &zero;
		snprintf(labels, sizeof(labels), "group=\"%s\"", esc(names[i], e, sizeof(e)));
		m_histogram(b, "plinkfwd_upstream_duration_seconds", labels, g->lat, g->lat_sum_us);
	}
	m_head(b, "plinkfwd_upstream_servers", "gauge", "Servers configured in each upstream group.");
	for (size_t i = 0; i < cfg->nupstreams; i++)
		evbuffer_add_printf(b, "plinkfwd_upstream_servers{group=\"%s\"} %zu\n",
				    esc(cfg->upstreams[i].name, e, sizeof(e)), cfg->upstreams[i].nservers);
	static const struct {
		const char *name, *help;
		size_t off;
	} upc[] = {
		{"plinkfwd_upstream_sent_total", "Attempts sent to upstream servers (UDP and TCP).",
		 offsetof(struct upstream_stats, sent)},
		{"plinkfwd_upstream_sent_tcp_total", "Attempts sent to upstream servers over TCP.",
		 offsetof(struct upstream_stats, sent_tcp)},
		{"plinkfwd_upstream_replies_total", "Upstream replies accepted (any rcode).",
		 offsetof(struct upstream_stats, answered)},
		{"plinkfwd_upstream_timeouts_total", "Attempts that got no reply within upstream-timeout.",
		 offsetof(struct upstream_stats, timeouts)},
		{"plinkfwd_upstream_malformed_total",
		 "Matching upstream replies that were malformed (or TC over TCP): a failed attempt.",
		 offsetof(struct upstream_stats, malformed)},
		{"plinkfwd_upstream_errors_total", "Attempts that failed at once (ICMP unreachable, broken TCP).",
		 offsetof(struct upstream_stats, errors)},
		{"plinkfwd_upstream_coalesced_total", "Queries joined to an identical query already in flight.",
		 offsetof(struct upstream_stats, coalesced)},
		{"plinkfwd_upstream_capped_total", "Queries refused because every server of the group was at a cap.",
		 offsetof(struct upstream_stats, capped)},
		{"plinkfwd_upstream_marked_down_total", "Times a server was marked down.",
		 offsetof(struct upstream_stats, marked_down)},
		{"plinkfwd_upstream_probes_total", "Queries sent to a down server to probe it.",
		 offsetof(struct upstream_stats, probes)},
	};
	for (size_t i = 0; i < FWD_ARRAY_LEN(upc); i++) {
		uint64_t v;
		memcpy(&v, (const char *)&t->up + upc[i].off, sizeof(v));
		m_head(b, upc[i].name, "counter", upc[i].help);
		evbuffer_add_printf(b, "%s %llu\n", upc[i].name, (unsigned long long)v);
	}
	metrics_servers(b, t);
	m_head(b, "plinkfwd_upstream_pending", "gauge", "Forwarded queries in flight.");
	evbuffer_add_printf(b, "plinkfwd_upstream_pending %llu\n", (unsigned long long)t->pending);
	m_head(b, "plinkfwd_tcp_connections", "gauge", "Client TCP connections open.");
	evbuffer_add_printf(b, "plinkfwd_tcp_connections %llu\n", (unsigned long long)t->tcp_conns);
}

/*
 * Per synced zone, from arm_sync's own view: every zone ARM lists, served
 * or not (a zone whose first listing keeps failing has failures but no
 * records, which is exactly what an alert wants to see).  Zone labels end
 * with a dot, as in plinkfwd_zone_records.
 */
static void metrics_arm_zones(struct evbuffer *b, const struct arm_sync *arm, int64_t now)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{"plinkfwd_zone_sync_age_seconds", "gauge",
		 "Seconds since the last complete ARM listing of each synced zone (the age of the copy served)."},
		{"plinkfwd_arm_zone_last_success_timestamp_seconds", "gauge",
		 "Unix time of the last complete ARM listing of each synced zone (0 = never)."},
		{"plinkfwd_arm_zone_sync_attempts_total", "counter",
		 "Listings of each zone's record sets that finished, successful or not."},
		{"plinkfwd_arm_zone_sync_failures_total", "counter",
		 "Listings of each zone that failed (the zone kept its last good copy)."},
		{"plinkfwd_arm_zone_consecutive_failures", "gauge",
		 "Failed listings of each zone since its last success."},
		{"plinkfwd_arm_zone_throttled_total", "counter",
		 "ARM answers with status 429 while listing each zone's record sets."},
		{"plinkfwd_arm_zone_record_sets", "gauge", "ARM record sets in the copy of each zone served."},
		{"plinkfwd_arm_zone_served", "gauge", "1 when a copy of the zone is served, 0 when none yet."},
	};
	size_t n = arm_sync_zone_count(arm);
	char name[300], e[400];

	for (size_t f = 0; f < FWD_ARRAY_LEN(fam); f++) {
		m_head(b, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < n; i++) {
			struct arm_zone_info zi;
			unsigned long long v;
			if (arm_sync_zone_at(arm, i, &zi) != 0)
				continue;
			snprintf(name, sizeof(name), "%s.", zi.name);
			esc(name, e, sizeof(e));
			switch (f) {
			case 0:
				if (zi.last_success_unix <= 0)
					continue; /* never listed: no age to give */
				v = (unsigned long long)(now > zi.last_success_unix ? now - zi.last_success_unix : 0);
				break;
			case 1: v = (unsigned long long)(zi.last_success_unix > 0 ? zi.last_success_unix : 0); break;
			case 2: v = zi.attempts; break;
			case 3: v = zi.failures; break;
			case 4: v = zi.consecutive_failures; break;
			case 5: v = zi.throttled; break;
			case 6: v = zi.record_sets; break;
			default: v = zi.served ? 1 : 0; break;
			}
			evbuffer_add_printf(b, "%s{zone=\"%s\"} %llu\n", fam[f].name, e, v);
		}
	}
}

/*
 * Private endpoints (private-endpoints: yes), from the last complete
 * endpoint listing: endpoints per connection state, and their names by
 * what became of them.  Nothing before the first complete listing.
 */
static void metrics_arm_pe(struct evbuffer *b, const struct arm_sync *arm)
{
	static const char *const result[ARM_PE_NOTE_NKINDS] = {
		[ARM_PE_NOTE_SERVED] = "served",          [ARM_PE_NOTE_NOT_APPROVED] = "not_approved",
		[ARM_PE_NOTE_UNMAPPED] = "no_zone",       [ARM_PE_NOTE_FILTERED] = "filtered",
		[ARM_PE_NOTE_DUPLICATE] = "duplicate",    [ARM_PE_NOTE_CONFLICT] = "conflict",
	};
	struct arm_pe_stats ps;

	arm_sync_pe_stats(arm, &ps);
	if (!ps.enabled || !ps.valid)
		return;
	m_head(b, "plinkfwd_arm_private_endpoints", "gauge",
	       "Private endpoints in the last complete listing, by connection state (only approved ones are "
	       "served).");
	for (int i = 0; i < ARM_PE_NSTATES; i++)
		evbuffer_add_printf(b, "plinkfwd_arm_private_endpoints{state=\"%s\"} %zu\n",
				    arm_pe_state_label((enum arm_pe_state)i), ps.by_state[i]);
	m_head(b, "plinkfwd_arm_private_endpoint_names", "gauge",
	       "Names (customDnsConfigs FQDNs) of private endpoints, by what became of them.");
	for (int i = 1; i < ARM_PE_NOTE_NKINDS; i++)
		evbuffer_add_printf(b, "plinkfwd_arm_private_endpoint_names{result=\"%s\"} %zu\n", result[i],
				    ps.names[i]);
}

/* Secondary zones (xfr_in.h): serial, refresh, failure, expiry, transfers. */
static void metrics_secondary(struct evbuffer *b, const struct xfr_in *x)
{
	size_t n = xfr_in_count(x);
	char e[1100];
	struct xfr_in_info in;
	if (n == 0)
		return;
	m_head(b, "plinkfwd_secondary_zone_serial", "gauge", "SOA serial of each secondary zone's copy (absent without one).");
	for (size_t i = 0; i < n; i++)
		if (xfr_in_info(x, i, &in) == FWD_OK && in.has_copy)
			evbuffer_add_printf(b, "plinkfwd_secondary_zone_serial{zone=\"%s\"} %lu\n", esc(in.name, e, sizeof(e)),
					    (unsigned long)in.serial);
	m_head(b, "plinkfwd_secondary_zone_last_refresh_timestamp_seconds", "gauge",
	       "When a primary last confirmed the copy (Unix time; 0 = never).");
	for (size_t i = 0; i < n; i++)
		if (xfr_in_info(x, i, &in) == FWD_OK)
			evbuffer_add_printf(b, "plinkfwd_secondary_zone_last_refresh_timestamp_seconds{zone=\"%s\"} %llu\n",
					    esc(in.name, e, sizeof(e)), (unsigned long long)in.last_refresh_wall);
	m_head(b, "plinkfwd_secondary_zone_last_failure_timestamp_seconds", "gauge",
	       "When a check or transfer last failed (Unix time; 0 = never).");
	for (size_t i = 0; i < n; i++)
		if (xfr_in_info(x, i, &in) == FWD_OK)
			evbuffer_add_printf(b, "plinkfwd_secondary_zone_last_failure_timestamp_seconds{zone=\"%s\"} %llu\n",
					    esc(in.name, e, sizeof(e)), (unsigned long long)in.last_failure_wall);
	m_head(b, "plinkfwd_secondary_zone_expires_in_seconds", "gauge",
	       "Seconds until the copy expires without a successful check (0: expired, SERVFAIL; absent without a copy).");
	for (size_t i = 0; i < n; i++)
		if (xfr_in_info(x, i, &in) == FWD_OK && in.expires_in_s >= 0)
			evbuffer_add_printf(b, "plinkfwd_secondary_zone_expires_in_seconds{zone=\"%s\"} %lld\n",
					    esc(in.name, e, sizeof(e)), (long long)in.expires_in_s);
	m_head(b, "plinkfwd_secondary_zone_expired", "gauge", "1 while the zone's copy has expired (answers SERVFAIL).");
	for (size_t i = 0; i < n; i++)
		if (xfr_in_info(x, i, &in) == FWD_OK)
			evbuffer_add_printf(b, "plinkfwd_secondary_zone_expired{zone=\"%s\"} %d\n", esc(in.name, e, sizeof(e)),
					    in.expired ? 1 : 0);
	m_head(b, "plinkfwd_secondary_transfers_total", "counter", "Transfers applied, by type (axfr, ixfr).");
	for (size_t i = 0; i < n; i++)
		if (xfr_in_info(x, i, &in) == FWD_OK) {
			evbuffer_add_printf(b, "plinkfwd_secondary_transfers_total{zone=\"%s\",type=\"axfr\"} %llu\n",
					    esc(in.name, e, sizeof(e)), (unsigned long long)in.axfr);
			evbuffer_add_printf(b, "plinkfwd_secondary_transfers_total{zone=\"%s\",type=\"ixfr\"} %llu\n",
					    esc(in.name, e, sizeof(e)), (unsigned long long)in.ixfr);
		}
	m_head(b, "plinkfwd_secondary_checks_total", "counter",
	       "SOA checks started, and those that found the copy current (result=\"uptodate\") or reached no primary (result=\"failed\").");
	for (size_t i = 0; i < n; i++)
		if (xfr_in_info(x, i, &in) == FWD_OK) {
			evbuffer_add_printf(b, "plinkfwd_secondary_checks_total{zone=\"%s\",result=\"started\"} %llu\n",
					    esc(in.name, e, sizeof(e)), (unsigned long long)in.checks);
			evbuffer_add_printf(b, "plinkfwd_secondary_checks_total{zone=\"%s\",result=\"uptodate\"} %llu\n",
					    esc(in.name, e, sizeof(e)), (unsigned long long)in.uptodate);
			evbuffer_add_printf(b, "plinkfwd_secondary_checks_total{zone=\"%s\",result=\"failed\"} %llu\n",
					    esc(in.name, e, sizeof(e)), (unsigned long long)in.failed_checks);
		}
	m_head(b, "plinkfwd_secondary_notifies_total", "counter", "NOTIFYs accepted from a primary.");
	for (size_t i = 0; i < n; i++)
		if (xfr_in_info(x, i, &in) == FWD_OK)
			evbuffer_add_printf(b, "plinkfwd_secondary_notifies_total{zone=\"%s\"} %llu\n",
					    esc(in.name, e, sizeof(e)), (unsigned long long)in.notifies);
	m_head(b, "plinkfwd_secondary_rejected_total", "counter",
	       "Answers and transfers rejected, by reason (docs/bad-input.md); the copy serving stayed.");
	for (size_t i = 0; i < n; i++)
		if (xfr_in_info(x, i, &in) == FWD_OK)
			for (int k = 1; k < XFR_IN_NREJECT; k++)
				evbuffer_add_printf(b, "plinkfwd_secondary_rejected_total{zone=\"%s\",reason=\"%s\"} %llu\n",
						    esc(in.name, e, sizeof(e)), xfr_in_reject_name((enum xfr_in_reject)k),
						    (unsigned long long)in.rejected[k]);
}

static void metrics_zones(struct evbuffer *b, const struct daemon *d, const struct snapshot *snap)
{
	struct arm_sync_stats as;
	memset(&as, 0, sizeof(as));
	if (d->arm)
		arm_sync_stats(d->arm, &as);
	char name[1025], e[1100];
	size_t alen;
	int64_t now = (int64_t)time(NULL);

	m_head(b, "plinkfwd_zones", "gauge", "Zones served, by source (file or arm).");
	evbuffer_add_printf(b, "plinkfwd_zones{source=\"file\"} %zu\n", snap->nfile_zones);
	evbuffer_add_printf(b, "plinkfwd_zones{source=\"arm\"} %zu\n", snap->nzones - snap->nfile_zones);
	m_head(b, "plinkfwd_zone_records", "gauge", "Resource records in each served zone.");
	for (size_t i = 0; i < snap->nzones; i++) {
		const struct route_zone *rz = &snap->zones[i];
		wire_name_to_text(zone_apex(rz->zone, &alen), name, sizeof(name));
		evbuffer_add_printf(b, "plinkfwd_zone_records{zone=\"%s\",source=\"%s\"} %zu\n", esc(name, e, sizeof(e)),
				    rz->origin == ORIGIN_ZONE_ARM ? "arm" : "file", zone_rr_count(rz->zone));
	}
	m_head(b, "plinkfwd_zone_serial", "gauge", "SOA serial of each served zone.");
	for (size_t i = 0; i < snap->nzones; i++) {
		const struct route_zone *rz = &snap->zones[i];
		wire_name_to_text(zone_apex(rz->zone, &alen), name, sizeof(name));
		evbuffer_add_printf(b, "plinkfwd_zone_serial{zone=\"%s\",source=\"%s\"} %lu\n", esc(name, e, sizeof(e)),
				    rz->origin == ORIGIN_ZONE_ARM ? "arm" : "file",
				    (unsigned long)zone_serial(rz->zone));
	}
	if (!snap->cfg->arm)
		return;
	if (d->arm) {
		metrics_arm_zones(b, d->arm, now);
		metrics_arm_pe(b, d->arm);
	}
	m_head(b, "plinkfwd_arm_sync_rounds_total", "counter", "ARM sync rounds finished.");
	evbuffer_add_printf(b, "plinkfwd_arm_sync_rounds_total %llu\n", (unsigned long long)as.rounds);
	m_head(b, "plinkfwd_arm_sync_rounds_failed_total", "counter",
	       "ARM sync rounds in which some listing failed (the zones concerned kept their last good copy).");
	evbuffer_add_printf(b, "plinkfwd_arm_sync_rounds_failed_total %llu\n", (unsigned long long)as.rounds_failed);
	m_head(b, "plinkfwd_arm_requests_total", "counter", "HTTP requests sent to Azure Resource Manager.");
	evbuffer_add_printf(b, "plinkfwd_arm_requests_total %llu\n", (unsigned long long)as.requests);
	if (snap->cfg->arm->discovery == ARM_DISCOVERY_RESOURCE_GRAPH) {
		m_head(b, "plinkfwd_arm_resource_graph_quota_waits_total", "counter",
		       "Times Resource Graph's quota was used up (x-ms-user-quota-remaining: 0) and sync waited "
		       "for its reset.");
		evbuffer_add_printf(b, "plinkfwd_arm_resource_graph_quota_waits_total %llu\n",
				    (unsigned long long)as.rg_quota_waits);
		m_head(b, "plinkfwd_arm_resource_graph_direct_listings_total", "counter",
		       "Zones listed from ARM because Resource Graph's record count differed from the zone's "
		       "(records-from: resource-graph).");
		evbuffer_add_printf(b, "plinkfwd_arm_resource_graph_direct_listings_total %llu\n",
				    (unsigned long long)as.rg_direct_listings);
	}
	m_head(b, "plinkfwd_arm_throttled_total", "counter", "ARM answers with status 429 (throttled).");
	evbuffer_add_printf(b, "plinkfwd_arm_throttled_total %llu\n", (unsigned long long)as.throttled);
	m_head(b, "plinkfwd_arm_retries_total", "counter", "ARM requests repeated after 429, 5xx, a timeout or 401.");
	evbuffer_add_printf(b, "plinkfwd_arm_retries_total %llu\n", (unsigned long long)as.retries);
	m_head(b, "plinkfwd_arm_sync_last_success_timestamp_seconds", "gauge",
	       "Unix time of the end of the last sync round without failure (0 = never).");
	evbuffer_add_printf(b, "plinkfwd_arm_sync_last_success_timestamp_seconds %lld\n",
			    (long long)as.last_success_unix);
	m_head(b, "plinkfwd_arm_sync_last_duration_seconds", "gauge", "Duration of the last ARM sync round.");
	evbuffer_add_printf(b, "plinkfwd_arm_sync_last_duration_seconds %.3f\n", (double)as.last_duration_ms / 1e3);
	m_head(b, "plinkfwd_arm_sync_running", "gauge", "1 while an ARM sync round is in progress.");
	evbuffer_add_printf(b, "plinkfwd_arm_sync_running %d\n", as.running ? 1 : 0);
	m_head(b, "plinkfwd_arm_synced_records", "gauge", "Resource records in all synced zones.");
	evbuffer_add_printf(b, "plinkfwd_arm_synced_records %zu\n", as.records);
}

enum fwd_err http_metrics(struct daemon *d, struct evbuffer *b)
{
	struct stats_total *t = calloc(1, sizeof(*t));
	if (!t)
		return FWD_ENOMEM;
	stats_collect(d, t);
	struct snapshot *snap = daemon_acquire(d);
	char why[256];

	m_head(b, "plinkfwd_build_info", "gauge", "Always 1; the version is in the label.");
	evbuffer_add_printf(b, "plinkfwd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	m_head(b, "plinkfwd_start_time_seconds", "gauge", "Unix time the daemon started.");
	evbuffer_add_printf(b, "plinkfwd_start_time_seconds %lld\n", (long long)d->started);
	m_head(b, "plinkfwd_workers", "gauge", "Worker threads serving queries.");
	evbuffer_add_printf(b, "plinkfwd_workers %d\n", d->nworkers);
	m_head(b, "plinkfwd_snapshot_generation", "gauge",
	       "Generation of the serving state (bumped by every reload and ARM publish).");
	evbuffer_add_printf(b, "plinkfwd_snapshot_generation %llu\n", (unsigned long long)snap->generation);
	m_head(b, "plinkfwd_healthy", "gauge", "1 when /healthz answers 200.");
	evbuffer_add_printf(b, "plinkfwd_healthy %d\n", stats_health(d, 0, why, sizeof(why)));

	metrics_queries(b, t);
	metrics_upstream(b, t, snap->cfg);
	metrics_cache(b, d, t, snap->cfg);
	metrics_zones(b, d, snap);
	metrics_secondary(b, d->xfr);
	loop_view_metrics(d, snap->cfg, b);

	struct xfr_notify_stats ns;
	xfr_notify_get_stats(d->notify, &ns);
	m_head(b, "plinkfwd_notify_total", "counter",
	       "NOTIFY messages to secondaries (RFC 1996): sent (retries included), retries, answered (a "
	       "secondary acknowledged), unverified (an answer whose TSIG was missing or did not verify: a failed try), "
	       "failed (no answer after every retry).");
	evbuffer_add_printf(b, "plinkfwd_notify_total{result=\"sent\"} %llu\n", (unsigned long long)ns.sent);
	evbuffer_add_printf(b, "plinkfwd_notify_total{result=\"retries\"} %llu\n", (unsigned long long)ns.retries);
	evbuffer_add_printf(b, "plinkfwd_notify_total{result=\"answered\"} %llu\n", (unsigned long long)ns.answered);
	evbuffer_add_printf(b, "plinkfwd_notify_total{result=\"unverified\"} %llu\n", (unsigned long long)ns.unverified);
	evbuffer_add_printf(b, "plinkfwd_notify_total{result=\"failed\"} %llu\n", (unsigned long long)ns.failed);

	m_head(b, "plinkfwd_reloads_total", "counter", "Configuration reloads (SIGHUP or control), by result.");
	evbuffer_add_printf(b, "plinkfwd_reloads_total{result=\"ok\"} %llu\n", (unsigned long long)d->reloads_ok);
	evbuffer_add_printf(b, "plinkfwd_reloads_total{result=\"failed\"} %llu\n",
			    (unsigned long long)d->reloads_failed);
	m_head(b, "plinkfwd_config_last_reload_successful", "gauge",
	       "0 when the last reload failed (the previous configuration is still serving), else 1.");
	evbuffer_add_printf(b, "plinkfwd_config_last_reload_successful %d\n", d->last_reload_error[0] ? 0 : 1);
	if (d->qlog) {
		uint64_t lines, lost;
		querylog_counts(d->qlog, &lines, &lost);
		m_head(b, "plinkfwd_querylog_lines_total", "counter", "Lines written to the query log.");
		evbuffer_add_printf(b, "plinkfwd_querylog_lines_total %llu\n", (unsigned long long)lines);
		m_head(b, "plinkfwd_querylog_lost_total", "counter", "Query log lines lost to write errors.");
		evbuffer_add_printf(b, "plinkfwd_querylog_lost_total %llu\n", (unsigned long long)lost);
	}
	snapshot_unref(snap);
	free(t);
	return FWD_OK;
}

/* ------------------------------------------------------------ handlers */

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *ctype,
		       struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, body);
}

/* The rate ring's view of the counters now (main thread, no allocation). */
static void ring_counts(const struct daemon *d, struct status_counts *c)
{
	stats_collect_rates(d, &c->queries, c->rcodes);
}

/*
 * After a reload, read http-token-file again (as the user the daemon runs
 * as).  The new configuration may name another file, or none; a file that
 * cannot be read keeps the previous token, so that a mistake in the file
 * never opens the page by itself.
 */
static void token_refresh(struct http_server *h)
{
	if (h->d->reloads_ok == h->reloads_seen)
		return;
	h->reloads_seen = h->d->reloads_ok;
	struct snapshot *snap = daemon_acquire(h->d);
	const char *path = snap->cfg->http_token_file;
	char err[512];
	if (!path) {
		if (h->auth.len)
			log_warn("http: http-token-file removed by the reload: /, /status.json and /metrics are open%s",
				 h->loopback ? "" : " on a non-loopback address");
		http_auth_clear(&h->auth);
	} else if (http_auth_load(&h->auth, path, err, sizeof(err)) != FWD_OK) {
		log_err("%s; %s", err, h->auth.len ? "the previous token stays in force" : "no token is in force");
	} else {
		log_info("http: token read from %s", path);
	}
	snapshot_unref(snap);
}

static void http_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *h = arg;
	struct status_counts c;
	ring_counts(h->d, &c);
	status_ring_sample(&h->ring, &c);
	token_refresh(h);
}

/*
 * The bearer token, when http-token-file is set: 1 when req may go on;
 * otherwise the 401 (RFC 6750 section 3) is sent, with body as its body
 * when given (the status page, whose script then asks with the token) or
 * a one-line explanation.  Nothing of the header is logged.
 */
static int authorized(struct http_server *h, struct evhttp_request *req, struct evbuffer *body)
{
	token_refresh(h);
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	enum fwd_err r = http_auth_check(&h->auth, a);
	if (r == FWD_OK)
		return 1;
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	evhttp_add_header(oh, "WWW-Authenticate",
			  r == FWD_EINVAL ? "Bearer realm=\"plinkfwd\", error=\"invalid_token\"" : "Bearer realm=\"plinkfwd\"");
	struct evbuffer *b = body ? body : evbuffer_new();
	if (!b) {
		evhttp_send_error(req, 500, "out of memory");
		return 0;
	}
	if (!body)
		evbuffer_add_printf(b, "%s: send the token of http-token-file as 'Authorization: Bearer TOKEN'\n",
				    r == FWD_EINVAL ? "wrong token" : "this path needs a token");
	reply_text(req, 401, "Unauthorized", body ? "text/html; charset=utf-8" : "text/plain; charset=utf-8", b);
	if (!body)
		evbuffer_free(b);
	return 0;
}

static void http_metrics_cb(struct evhttp_request *req, void *arg)
{
	struct http_server *h = arg;
	if (!authorized(h, req, NULL))
		return;
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	if (http_metrics(h->d, b) != FWD_OK) {
		evbuffer_free(b);
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	reply_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

static void health(struct evhttp_request *req, struct http_server *h, int ready)
{
	char why[256];
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	int ok = stats_health(h->d, ready, why, sizeof(why));
	evbuffer_add_printf(b, "%s\n", why);
	/* a looping route is reported; /readyz fails for it on request */
	char loops[512];
	struct snapshot *snap = daemon_acquire(h->d);
	if (!loop_view_health(h->d, snap->cfg, ready, loops, sizeof(loops)))
		ok = 0;
	snapshot_unref(snap);
	if (loops[0])
		evbuffer_add_printf(b, "%s\n", loops);
	reply_text(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

/* /healthz and /readyz stay open with a token: load balancers and
 * orchestrators probe them without credentials, and they tell nothing but
 * "ok" or why not. */
static void http_healthz_cb(struct evhttp_request *req, void *arg) { health(req, arg, 0); }
static void http_readyz_cb(struct evhttp_request *req, void *arg) { health(req, arg, 1); }

/* The page: the same static bytes with or without a token, so that a
 * browser that cannot send the header on navigation still gets the script,
 * which asks for status.json with the token from the URL fragment. */
static void http_page(struct evhttp_request *req, struct http_server *h)
{
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add_reference(b, status_page_html, status_page_html_len, NULL, NULL);
	/* the page runs only its own inline code and talks only to us, with
	 * or without the token (the 401 carries the page too) */
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	evhttp_add_header(oh, "Content-Security-Policy",
			  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
			  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	if (authorized(h, req, b))
		reply_text(req, 200, "OK", "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

static void http_status_json(struct evhttp_request *req, struct http_server *h)
{
	if (!authorized(h, req, NULL))
		return;
	/* the newest counts go into the current bucket first, so that the
	 * totals and the history of one answer agree */
	struct status_counts c;
	ring_counts(h->d, &c);
	status_ring_sample(&h->ring, &c);
	cJSON *o = NULL;
	char *text = NULL;
	struct evbuffer *b = evbuffer_new();
	if (b && status_json(h->d, &o) == FWD_OK && status_json_history(o, &h->ring) == FWD_OK)
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text) {
		if (b)
			evbuffer_free(b);
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(b, text, strlen(text));
	evbuffer_add(b, "\n", 1);
	free(text);
	reply_text(req, 200, "OK", "application/json", b);
	evbuffer_free(b);
}

static void http_page_cb(struct evhttp_request *req, void *arg) { http_page(req, arg); }
static void http_status_json_cb(struct evhttp_request *req, void *arg) { http_status_json(req, arg); }

static void http_other_cb(struct evhttp_request *req, void *arg)
{
	evhttp_send_error(req, 404, "not found: try /, /status.json, /metrics, /healthz or /readyz");
}

static int is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return 0;
}

struct http_server *http_new(struct daemon *d, const char *addr)
{
	struct cfg_addr a;
	memset(&a, 0, sizeof(a));
	if (cfg_parse_addr(addr, HTTP_DEFAULT_PORT, &a) != 0) {
		log_err("http-listen: bad address '%s'", addr);
		return NULL;
	}
	struct http_server *h = calloc(1, sizeof(*h));
	if (!h) {
		log_err("http: out of memory");
		return NULL;
	}
	h->d = d;
	h->loopback = is_loopback(&a.ss);
	struct snapshot *snap = daemon_acquire(d);
	const char *tokpath = snap->cfg->http_token_file;
	char err[512];
	enum fwd_err tr = tokpath ? http_auth_load(&h->auth, tokpath, err, sizeof(err)) : FWD_OK;
	snapshot_unref(snap);
	if (tr != FWD_OK) {
		log_err("%s", err);
		free(h);
		return NULL;
	}
	h->reloads_seen = d->reloads_ok;
	int fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (a.ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&a.ss, a.len) < 0 || listen(fd, 64) < 0) {
		log_err("http-listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(h);
		return NULL;
	}
	h->http = evhttp_new(d->base);
	if (!h->http || !evhttp_accept_socket_with_handle(h->http, fd)) {
		log_err("http-listen %s: cannot start the HTTP server", addr);
		if (h->http)
			evhttp_free(h->http);
		close(fd);
		free(h);
		return NULL;
	}
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(h->http, HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(h->http, 8192);
	evhttp_set_max_body_size(h->http, 0);
	evhttp_set_cb(h->http, "/metrics", http_metrics_cb, h);
	evhttp_set_cb(h->http, "/healthz", http_healthz_cb, h);
	evhttp_set_cb(h->http, "/readyz", http_readyz_cb, h);
	evhttp_set_cb(h->http, "/", http_page_cb, h);
	evhttp_set_cb(h->http, "/status.json", http_status_json_cb, h);
	evhttp_set_gencb(h->http, http_other_cb, h);
	struct status_counts c;
	ring_counts(d, &c);
	status_ring_init(&h->ring, d->clock, &c);
	struct timeval tv = {HTTP_TICK_S, 0};
	h->tick = event_new(d->base, -1, EV_PERSIST, http_tick_cb, h);
	if (!h->tick || event_add(h->tick, &tv) < 0) {
		log_err("http-listen %s: cannot start the status page's timer", addr);
		http_free(h);
		return NULL;
	}
	log_info("http endpoint on %s (/ status page, /status.json, /metrics, /healthz, /readyz)%s", addr,
		 h->auth.len ? "; /, /status.json and /metrics need the bearer token of http-token-file" : "");
	if (!h->loopback && !h->auth.len)
		log_warn("http-listen %s is not a loopback address and no http-token-file is set: anyone who can reach "
			 "it can read the status page and /metrics", addr);
	return h;
}

void http_free(struct http_server *h)
{
	if (!h)
		return;
	if (h->tick)
		event_free(h->tick);
	evhttp_free(h->http);
	http_auth_clear(&h->auth);
	free(h);
}
