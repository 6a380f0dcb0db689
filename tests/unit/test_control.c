/*
 * test_control.c -- the operations modules without sockets: control_run()
 * answers (status, zones, explain, errors, reload), the answer accounting
 * of stats_reply()/stats_forwarded() and its aggregation, the health
 * verdict, the /metrics text and the query log writer.
 *
 * The daemon is a real snapshot built from a config and zone file written
 * to a temporary directory, with one worker struct that is never started
 * (no sockets, no threads): what control and metrics read of a worker is
 * its counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "client.h"
#include "clock.h"
#include "collect.h"
#include "common.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "http.h"
#include "querylog.h"
#include "snapshot.h"
#include "stats.h"
#include "tap.h"
#include "wire.h"
#include "worker.h"

static char dir[] = "/tmp/plinkfwd-test-control.XXXXXX";
static char cfgpath[256], zonepath[256], logpath[256];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void write_conf(const char *extra)
{
	char buf[2048];
	snprintf(buf, sizeof(buf),
		 "server:\n"
		 "    listen: 127.0.0.1@5399\n"
		 "    cloud: AzureCloud\n"
		 "%s"
		 "upstream: lab\n"
		 "    server: 127.0.0.53@5301\n"
		 "forward: lab.test\n"
		 "    to: lab\n"
		 "zone: privatelink.openai.azure.com\n"
		 "    file: %s\n",
		 extra, zonepath);
	write_file(cfgpath, buf);
}

/* control_run's answer, parsed. */
static cJSON *run(struct daemon *d, const char *line)
{
	char *s = control_run(d, line);
	cJSON *o = s ? cJSON_Parse(s) : NULL;
	free(s);
	return o;
}

static int json_ok(const cJSON *o) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")); }

static const char *json_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double json_num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const cJSON *step_n(const cJSON *o, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "steps"), i);
}

static void test_control(struct daemon *d)
{
	cJSON *o = run(d, "status");
	ok(json_ok(o), "status: ok");
	is_int(json_num(o, "workers"), 1, "status: workers");
	is_str(json_str(o, "config"), cfgpath, "status: config path");
	is_str(json_str(o, "health"), "ok", "status: healthy");
	cJSON_Delete(o);

	o = run(d, "zones");
	const cJSON *z = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "zones"), 0);
	is_str(json_str(z, "name"), "privatelink.openai.azure.com.", "zones: the zone");
	is_str(json_str(z, "source"), "file", "zones: from a file");
	is_int(json_num(z, "records"), 4, "zones: record count");
	is_int(json_num(z, "serial"), 42, "zones: serial");
	is_str(json_str(z, "file"), zonepath, "zones: file path");
	cJSON_Delete(o);

	o = run(d, "explain Alias.PrivateLink.OpenAI.Azure.COM");
	ok(json_ok(o), "explain local: ok");
	is_str(json_str(o, "name"), "alias.privatelink.openai.azure.com.", "explain: name lower-cased");
	is_str(json_str(o, "type"), "A", "explain: type A by default");
	is_str(json_str(step_n(o, 0), "origin"), "zone-file", "explain: route origin");
	is_str(json_str(step_n(o, 0), "match"), "privatelink.openai.azure.com.", "explain: matched zone");
	is_str(json_str(step_n(o, 1), "status"), "answer", "explain: zone status");
	const cJSON *recs = cJSON_GetObjectItemCaseSensitive(step_n(o, 1), "records");
	is_int(cJSON_GetArraySize(recs), 2, "explain: CNAME and A");
	ok(strstr(cJSON_GetArrayItem(recs, 1)->valuestring, "10.0.1.5") != NULL, "explain: the A record");
	const cJSON *origins = cJSON_GetObjectItemCaseSensitive(step_n(o, 1), "origins");
	is_int(json_num(cJSON_GetArrayItem(origins, 0), "line"), 6, "explain: the CNAME is on line 6 of the zone file");
	is_int(json_num(cJSON_GetArrayItem(origins, 1), "line"), 5, "explain: the A record on line 5");
	is_str(json_str(cJSON_GetArrayItem(origins, 1), "file"), zonepath, "explain: the zone file read");
	is_str(json_str(o, "answered_by"), "local", "explain: answered locally");
	cJSON_Delete(o);

	o = run(d, "explain www.lab.test AAAA");
	is_str(json_str(step_n(o, 0), "origin"), "forward-rule", "explain forward: rule");
	is_str(json_str(step_n(o, 1), "group"), "lab", "explain forward: group");
	const cJSON *sv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(step_n(o, 1), "servers"), 0);
	is_str(json_str(sv, "address"), "127.0.0.53@5301", "explain forward: server");
	is_str(json_str(sv, "state"), "unused", "explain forward: server never asked");
	is_int(json_num(sv, "max_qps"), 0, "explain forward: an uncapped group's server (max_qps 0)");
	is_int(json_num(sv, "max_outstanding"), 0, "explain forward: ... (max_outstanding 0)");
	is_str(json_str(o, "type"), "AAAA", "explain forward: type");
	cJSON_Delete(o);

	o = run(d, "explain x.privatelink.vaultcore.azure.net");
	is_str(json_str(step_n(o, 0), "origin"), "catalogue", "explain catalogue: origin");
	is_str(json_str(step_n(o, 1), "group"), "azure", "explain catalogue: azure group");
	is_str(json_str(step_n(o, 1), "result"), "REFUSED: the group has no server", "explain: empty group");
	cJSON_Delete(o);

	o = run(d, "explain nope.privatelink.openai.azure.com");
	is_str(json_str(step_n(o, 1), "status"), "nxdomain", "explain: NXDOMAIN in the zone");
	cJSON_Delete(o);

	static const char *const bad[] = {"", "bogus", "status now", "explain", "explain a b c",
					  "explain a..b", "explain a.b BOGUSTYPE", "sync",
					  "flush"};
	for (size_t i = 0; i < FWD_ARRAY_LEN(bad); i++) {
		o = run(d, bad[i]);
		ok(o && !json_ok(o) && json_str(o, "error"), "'%s' fails with an error message", bad[i]);
		cJSON_Delete(o);
	}

	/* reload: a broken file is reported with file:line, then a good one */
	write_conf("    bogus-key: 1\n");
	o = run(d, "reload");
	ok(!json_ok(o), "reload of a bad config fails");
	char want[300];
	snprintf(want, sizeof(want), "%s:4: unknown key 'bogus-key'", cfgpath);
	ok(json_str(o, "error") && strncmp(json_str(o, "error"), want, strlen(want)) == 0,
	   "reload error is file:line: message (%s)", json_str(o, "error") ? json_str(o, "error") : "-");
	cJSON_Delete(o);
	is_int(d->reloads_failed, 1, "failed reload counted");
	write_conf("");
	o = run(d, "reload");
	ok(json_ok(o), "reload of a good config");
	is_int(json_num(o, "generation"), 2, "new generation");
	cJSON_Delete(o);
}

/* A reply as plinkfwd would send it, for the accounting. */
static size_t make_reply(uint8_t *out, size_t cap, const char *name, uint16_t type, int rcode, int edns_version)
{
	uint8_t pkt[512];
	struct wire_query q;
	int n = wire_name_from_text(name, pkt + WIRE_HDR_LEN);
	wire_put_header(pkt, 7, WIRE_RD, 1, 0, 0, edns_version >= 0 ? 1 : 0);
	size_t len = WIRE_HDR_LEN + (size_t)n;
	wire_put16(pkt + len, type);
	wire_put16(pkt + len + 2, CLASS_IN);
	len += 4;
	if (edns_version >= 0) {
		len += wire_put_opt(pkt + len, sizeof(pkt) - len, 0, 0);
		pkt[len - 5] = (uint8_t)edns_version; /* TTL: ext rcode, version, flags */
	}
	wire_parse_query(pkt, len, &q);
	return wire_reply_error(&q, rcode, WIRE_RA, out, cap);
}

static void test_stats(struct daemon *d, struct worker *w)
{
	uint8_t r[512];
	struct client cl;
	memset(&cl, 0, sizeof(cl));
	cl.transport = CLIENT_UDP;
	cl.start_us = 1000;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cl.addr;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40001);
	inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr);

	size_t n = make_reply(r, sizeof(r), "a.test", TYPE_A, RCODE_NOERROR, -1);
	for (int i = 0; i < 3; i++)
		stats_reply(&w->qe.stats, NULL, &cl, STATS_SRC_LOCAL, r, n, 1500);
	n = make_reply(r, sizeof(r), "b.test", TYPE_AAAA, RCODE_NXDOMAIN, -1);
	stats_reply(&w->qe.stats, NULL, &cl, STATS_SRC_SYNCED, r, n, 1500);
	n = make_reply(r, sizeof(r), "c.test", TYPE_A, RCODE_BADVERS, 1);
	stats_reply(&w->qe.stats, NULL, &cl, STATS_SRC_ERROR, r, n, 1500);
	cl.transport = CLIENT_TCP;
	n = make_reply(r, sizeof(r), "d.test", TYPE_TXT, RCODE_REFUSED, -1);
	stats_reply(&w->qe.stats, NULL, &cl, STATS_SRC_ERROR, r, n, 1500);

	/* a forwarded query for a name of the "lab" rule */
	uint8_t qp[WIRE_HDR_LEN + WIRE_MAX_NAME + 4];
	struct wire_query q;
	int nl = wire_name_from_text("www.lab.test", qp + WIRE_HDR_LEN);
	wire_put_header(qp, 1, WIRE_RD, 1, 0, 0, 0);
	wire_put16(qp + WIRE_HDR_LEN + nl, TYPE_A);
	wire_put16(qp + WIRE_HDR_LEN + nl + 2, CLASS_IN);
	wire_parse_query(qp, WIRE_HDR_LEN + (size_t)nl + 4, &q);
	cl.transport = CLIENT_UDP;
	n = make_reply(r, sizeof(r), "www.lab.test", TYPE_A, RCODE_NOERROR, -1);
	stats_forwarded(&w->qe.stats, NULL, &cl, &q, "lab", 1, r, n, 1500);
	stats_forwarded(&w->qe.stats, NULL, &cl, &q, "lab", 0, NULL, 0, 1500);

	struct stats_total t;
	stats_collect(d, &t);
	is_int(t.answers[0][STATS_SRC_LOCAL][STATS_RC_NOERROR], 3, "3 local NOERROR over UDP");
	is_int(t.answers[0][STATS_SRC_SYNCED][STATS_RC_NXDOMAIN], 1, "synced NXDOMAIN");
	is_int(t.answers[0][STATS_SRC_ERROR][STATS_RC_BADVERS], 1, "BADVERS read from the OPT record");
	is_int(t.answers[1][STATS_SRC_ERROR][STATS_RC_REFUSED], 1, "REFUSED over TCP");
	is_int(t.answers[0][STATS_SRC_UPSTREAM][STATS_RC_NOERROR], 1, "upstream NOERROR");
	is_int(t.answers[0][STATS_SRC_UPSTREAM][STATS_RC_SERVFAIL], 1, "upstream failure is SERVFAIL");
	is_int(t.ngroups, 1, "one upstream group seen");
	is_str(t.groups[0].name, "lab", "the group the step was sent to");
	is_int(t.groups[0].answered, 1, "group answered");
	is_int(t.groups[0].failed, 1, "group failed");
	uint64_t hist = 0;
	for (int b = 0; b < STATS_LAT_N; b++)
		hist += t.lat[STATS_SRC_LOCAL][b];
	is_int(hist, 3, "latency histogram counts every local answer");

	struct evbuffer *b = evbuffer_new();
	ok(http_metrics(d, b) == 0, "metrics rendered");
	size_t mlen = evbuffer_get_length(b);
	char *m = calloc(1, mlen + 1);
	evbuffer_remove(b, m, mlen);
	ok(strstr(m, "plinkfwd_answers_total{transport=\"udp\",source=\"local\",rcode=\"NOERROR\"} 3\n") != NULL,
	   "metrics: local NOERROR sample");
	ok(strstr(m, "plinkfwd_upstream_failures_total{group=\"lab\"} 1\n") != NULL, "metrics: group failures");
	ok(strstr(m, "plinkfwd_answer_duration_seconds_bucket{source=\"local\",le=\"+Inf\"} 3\n") != NULL,
	   "metrics: histogram +Inf bucket");
	ok(strstr(m, "plinkfwd_zone_records{zone=\"privatelink.openai.azure.com.\",source=\"file\"} 4\n") != NULL,
	   "metrics: zone records");
	ok(strstr(m, "# TYPE plinkfwd_answers_total counter\n") != NULL, "metrics: TYPE line");
	free(m);
	evbuffer_free(b);

	char why[256];
	ok(stats_health(d, 0, why, sizeof(why)) == 1, "healthy while the worker serves");
	w->running = 0;
	ok(stats_health(d, 0, why, sizeof(why)) == 0 && strstr(why, "worker 0"), "unhealthy: %s", why);
	w->running = 1;
}

static void test_querylog(struct event_base *base)
{
	struct querylog *ql = querylog_open(logpath, -1, -1);
	ok(ql != NULL, "query log opened");
	if (!ql)
		return;
	struct querylog_writer *qw = querylog_writer_new(ql, base, &fwd_clock_monotonic);
	ok(qw != NULL, "writer created");
	struct client cl;
	memset(&cl, 0, sizeof(cl));
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&cl.addr;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(53000);
	inet_pton(AF_INET6, "::1", &s6->sin6_addr);
	cl.transport = CLIENT_TCP;
	uint8_t name[WIRE_MAX_NAME];
	wire_name_from_text("Www.Example.TEST", name);
	struct querylog_entry e = {.cl = &cl, .qname = name, .qtype = TYPE_AAAA, .rcode = RCODE_NOERROR,
				   .source = STATS_SRC_UPSTREAM, .group = "default", .latency_us = 1234};
	querylog_write(qw, &e);
	e.qname = NULL;
	e.rcode = 9; /* NOTAUTH: not one of the named buckets */
	e.source = STATS_SRC_ERROR;
	e.group = NULL;
	querylog_write(qw, &e);
	uint64_t lines, lost;
	querylog_counts(ql, &lines, &lost);
	is_int(lines, 2, "two lines counted");
	querylog_writer_free(qw); /* flushes */
	querylog_free(ql);

	char buf[1024] = "";
	FILE *f = fopen(logpath, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	char *l2 = strchr(buf, '\n');
	const char *want1 = " ::1#53000 tcp www.example.test. AAAA NOERROR upstream:default 1234\n";
	char *sp = strchr(buf, ' ');
	ok(l2 && sp && sp - buf == 27 && buf[10] == 'T' && sp[-1] == 'Z' && strncmp(sp, want1, strlen(want1)) == 0,
	   "first line: time, client, proto, name, type, rcode, source:group, latency");
	ok(l2 && strcmp(strchr(l2 + 1, ' '), " ::1#53000 tcp - - RCODE9 error 1234\n") == 0,
	   "second line: no question, numeric rcode");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(cfgpath, sizeof(cfgpath), "%s/plinkfwd.conf", dir);
	snprintf(zonepath, sizeof(zonepath), "%s/pl.zone", dir);
	snprintf(logpath, sizeof(logpath), "%s/queries.log", dir);
	write_file(zonepath, "$ORIGIN privatelink.openai.azure.com.\n$TTL 10\n"
			     "@ IN SOA ns.test. h.test. 42 3600 300 2419200 10\n"
			     "@ IN NS ns.test.\n"
			     "contoso IN A 10.0.1.5\n"
			     "alias IN CNAME contoso\n");
	write_conf("");

	char err[512] = "";
	struct snapshot *snap = snapshot_build(cfgpath, NULL, 0, err, sizeof(err));
	ok(snap != NULL, "snapshot built (%s)", err);
	if (!snap)
		return tap_done();

	struct daemon d;
	struct worker w;
	memset(&d, 0, sizeof(d));
	memset(&w, 0, sizeof(w));
	d.cfgpath = cfgpath;
	snapshot_pub_init(&d.pub);
	snapshot_pub_publish(&d.pub, snap);
	d.started = time(NULL);
	d.clock = &fwd_clock_monotonic;
	d.base = event_base_new();
	w.running = 1;
	d.workers = &w;
	d.nworkers = 1;

	test_stats(&d, &w);
	test_control(&d);
	test_querylog(d.base);

	event_base_free(d.base);
	snapshot_pub_fini(&d.pub);
	unlink(cfgpath);
	unlink(zonepath);
	unlink(logpath);
	rmdir(dir);
	return tap_done();
}
