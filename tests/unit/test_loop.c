/*
 * test_loop.c -- forwarding loops (resolver/upstream/loop.h, loop_addrs.h,
 * resolver/config/cfg_loop.h), in virtual time.
 *
 *  - The in-flight table: a question is in flight from its first step to
 *    its last; keys differ by group, type and name; a full window is
 *    counted, never confused with another question.
 *  - A loop found: the in-flight question is flagged (its answer will say
 *    so), counted per group, logged once per (group, zone cut) per
 *    LOOP_LOG_INTERVAL_MS of the test clock -- one line, still one 1 ms
 *    before the interval ends, another at its end.
 *  - Probed routes: a probe's name coming back marks its route looping;
 *    a route is probed again only after loop-probe-interval; a reload's
 *    sweep forgets routes no longer configured.
 *  - Server addresses: a query from a server of the group (any port, IPv4
 *    mapped or not) is recognised; a server the ACL refuses is not watched.
 *  - The configuration: an upstream that is plinkfwd's own listener is an
 *    error; a forward rule whose server is an allowed client a warning.
 * No socket is opened.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "cfg_loop.h"
#include "clock.h"
#include "common.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "loop_addrs.h"
#include "tap.h"
#include "wire.h"

static char dir[] = "/tmp/plinkfwd-test-loop-XXXXXX";

static struct cfg *load(const char *text, char *err, size_t errlen)
{
	char path[256];
	struct cfg *cfg = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.conf", dir);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	if (cfg_load(path, &cfg, err, errlen) != FWD_OK)
		return NULL;
	return cfg;
}

static uint64_t key_of(struct loop_guard *g, size_t group, const char *name, uint16_t type)
{
	uint8_t w[WIRE_MAX_NAME];
	int n = wire_name_from_text(name, w);
	return loop_key(g, group, w, (size_t)n, type, 1);
}

static struct sockaddr_storage addr4(const char *ip, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (void *)&ss;
	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &s4->sin_addr);
	return ss;
}

static struct sockaddr_storage addr6(const char *ip, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	memset(&ss, 0, sizeof(ss));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	inet_pton(AF_INET6, ip, &s6->sin6_addr);
	return ss;
}

static void test_inflight(void)
{
	struct fwd_test_clock tc;
	struct loop_guard *g = NULL;
	struct loop_guard_stats st;

	fwd_test_clock_init(&tc, 1000000);
	ok(loop_guard_new(&tc.clock, 100, &g) == FWD_OK, "a guard");
	uint64_t k = key_of(g, 0, "acct.privatelink.blob.core.windows.net", 1);
	ok(k == key_of(g, 0, "acct.privatelink.blob.core.windows.net", 1), "the same question has the same key");
	ok(k != key_of(g, 1, "acct.privatelink.blob.core.windows.net", 1), "another group: another key");
	ok(k != key_of(g, 0, "acct.privatelink.blob.core.windows.net", 28), "another type: another key");
	ok(k != key_of(g, 0, "acct2.privatelink.blob.core.windows.net", 1), "another name: another key");

	ok(!loop_inflight(g, k), "nothing in flight at first");
	ok(loop_inflight_add(g, k) == 1, "a step leaves: tracked");
	ok(loop_inflight(g, k), "... in flight");
	ok(!loop_inflight(g, key_of(g, 1, "acct.privatelink.blob.core.windows.net", 1)),
	   "... to its group only");
	ok(loop_inflight_add(g, k) == 1, "a second step with the same question");
	ok(loop_inflight_del(g, k) == 0, "the first ends (no loop found)");
	ok(loop_inflight(g, k), "... the second is still in flight");
	ok(loop_inflight_del(g, k) == 0, "the second ends");
	ok(!loop_inflight(g, k), "nothing in flight any more");

	/* more questions than the table has slots: some windows fill up */
	enum { MANY = 3000 };
	static uint64_t keys[MANY];
	static int tracked[MANY];
	int ntracked = 0, all_found = 1;
	char name[64];
	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		keys[i] = key_of(g, 0, name, 1);
		tracked[i] = loop_inflight_add(g, keys[i]);
		ntracked += tracked[i];
	}
	for (int i = 0; i < MANY; i++)
		if (tracked[i] && !loop_inflight(g, keys[i]))
			all_found = 0;
	loop_guard_stats(g, &st);
	ok(ntracked <= 1024 && ntracked > 0, "a 1024-slot table holds at most 1024 questions (%d)", ntracked);
	ok(st.untracked == (uint64_t)(MANY - ntracked), "the others are counted as untracked (%llu)",
	   (unsigned long long)st.untracked);
	ok(all_found, "every tracked question is found in flight");
	for (int i = 0; i < MANY; i++)
		if (tracked[i])
			loop_inflight_del(g, keys[i]);
	int none = 1;
	for (int i = 0; i < MANY; i++)
		if (loop_inflight(g, keys[i]))
			none = 0;
	ok(none, "after every step ended nothing is in flight");
	ok(loop_inflight_add(g, k) == 1, "a freed table takes questions again");
	loop_inflight_del(g, k);
	loop_guard_free(g);
}

/* Workers share the table: two threads enter and leave the same and
 * different questions at once, as two workers would. */
struct racer {
	struct loop_guard *g;
	uint64_t keys[16];
	int lost; /* a key not found in flight between its add and del */
};

static void *race(void *arg)
{
	struct racer *r = arg;
	for (int round = 0; round < 20000; round++) {
		uint64_t k = r->keys[round % 16];
		if (!loop_inflight_add(r->g, k))
			continue;
		if (!loop_inflight(r->g, k))
			r->lost++;
		loop_inflight_del(r->g, k);
	}
	return NULL;
}

static void test_threads(void)
{
	struct fwd_test_clock tc;
	struct loop_guard *g = NULL;
	struct racer r[2];
	pthread_t t[2];
	char name[64];

	fwd_test_clock_init(&tc, 0);
	loop_guard_new(&tc.clock, 0, &g);
	for (int i = 0; i < 2; i++) {
		r[i].g = g;
		r[i].lost = 0;
		for (int j = 0; j < 16; j++) {
			/* half the questions shared by both threads, half their own */
			snprintf(name, sizeof(name), "q%d.example", j < 8 ? j : 100 * (i + 1) + j);
			r[i].keys[j] = key_of(g, 0, name, 1);
		}
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, race, &r[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ok(r[0].lost == 0 && r[1].lost == 0, "two threads at once: a question is in flight from its add to its del");
	int none = 1;
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 16; j++)
			if (loop_inflight(g, r[i].keys[j]))
				none = 0;
	ok(none, "... and nothing is left in flight after both finished");
	loop_guard_free(g);
}

static void test_report(void)
{
	struct fwd_test_clock tc;
	struct loop_guard *g = NULL;
	struct sockaddr_storage from = addr4("127.0.0.41", 40000);
	struct loop_group_info gi[4];

	fwd_test_clock_init(&tc, 5000000);
	loop_guard_new(&tc.clock, 0, &g);
	log_set_level(LOG_LVL_ERR); /* counted, not printed */
	uint64_t k = key_of(g, 0, "x.privatelink.blob.core.windows.net", 1);
	loop_inflight_add(g, k);
	uint64_t w0 = log_count(LOG_LVL_WARN);
	for (int i = 0; i < 5; i++)
		loop_report(g, k, "default", ".", &from, "x.privatelink.blob.core.windows.net.");
	ok(log_count(LOG_LVL_WARN) - w0 == 1, "5 loops in the same (group, zone cut): 1 log line");
	ok(loop_group_detected(g, "default") == 5, "... 5 counted for the group");
	ok(loop_group_detected(g, "azure") == 0, "... none for another group");
	fwd_test_clock_advance(&tc, (LOOP_LOG_INTERVAL_MS - 1) * 1000ull);
	loop_report(g, k, "default", ".", &from, "x.privatelink.blob.core.windows.net.");
	ok(log_count(LOG_LVL_WARN) - w0 == 1, "1 ms before the interval ends (test clock): still 1 line");
	fwd_test_clock_advance(&tc, 1000);
	loop_report(g, k, "default", ".", &from, "x.privatelink.blob.core.windows.net.");
	ok(log_count(LOG_LVL_WARN) - w0 == 2, "at the end of the interval: a second line");
	loop_report(g, 0, "default", "corp.example.", &from, "a.corp.example.");
	ok(log_count(LOG_LVL_WARN) - w0 == 3, "another zone cut of the group: its own line at once");
	loop_report(g, 0, "onprem", ".", &from, "b.example.");
	ok(log_count(LOG_LVL_WARN) - w0 == 4, "another group: its own line at once");

	size_t n = loop_groups(g, gi, 4);
	ok(n == 2, "two groups have loops");
	ok(strcmp(gi[0].name, "default") == 0 && gi[0].detected == 8, "default: 8 loops");
	ok(strcmp(gi[0].last_cut, "corp.example.") == 0, "default: the last zone cut");
	ok(strcmp(gi[0].last_from, "127.0.0.41") == 0, "default: the last server, without its port");

	ok(loop_inflight_del(g, k) == 1, "the question that met a loop ends flagged: its answer says so");
	uint64_t k2 = key_of(g, 0, "y.example", 1);
	loop_inflight_add(g, k2);
	ok(loop_inflight_del(g, k2) == 0, "one that met none ends unflagged");
	loop_guard_free(g);
}

/* "<nonce>.plinkfwd-loop-probe.<zone>" in wire form */
static int probe_name(const char *nonce, const char *zone, uint8_t out[WIRE_MAX_NAME])
{
	char text[512];
	snprintf(text, sizeof(text), "%.*s.%s.%s", LOOP_PROBE_NONCE_LEN, nonce, LOOP_PROBE_LABEL,
		 strcmp(zone, ".") ? zone : "");
	return wire_name_from_text(text, out);
}

static void test_probe(void)
{
	struct fwd_test_clock tc;
	struct loop_guard *g = NULL;
	struct sockaddr_storage from = addr4("127.0.0.41", 4711);
	struct loop_route_info ri[4];
	char nonce[LOOP_PROBE_NONCE_LEN], group[LOOP_NAME_MAX];
	size_t route = 99, route2 = 99;
	uint64_t wait = 0;
	uint8_t w[WIRE_MAX_NAME];

	fwd_test_clock_init(&tc, 7000000);
	loop_guard_new(&tc.clock, 0, &g);
	ok(loop_probe_begin(g, "default", "privatelink.openai.azure.com.", 60000, &route, nonce, &wait) == FWD_OK,
	   "a probe may leave");
	ok(loop_routes(g, ri, 4) == 1 && ri[0].state == LOOP_PROBE_PENDING, "its route is pending");

	int n = wire_name_from_text("www.example.com", w);
	ok(loop_probe_match(g, w, (size_t)n, &from, group) == 0, "an ordinary name is not a probe");
	char other[LOOP_PROBE_NONCE_LEN];
	memset(other, 'f', sizeof(other));
	n = probe_name(other, "privatelink.openai.azure.com.", w);
	ok(loop_probe_match(g, w, (size_t)n, &from, group) == 1 && group[0] == 0,
	   "a probe-shaped name with a foreign nonce: never forwarded, no route marked");
	ok(loop_routes(g, ri, 4) == 1 && ri[0].state == LOOP_PROBE_PENDING, "... the route still pending");

	uint64_t d0 = loop_group_detected(g, "default");
	n = probe_name(nonce, "privatelink.openai.azure.com.", w);
	ok(loop_probe_match(g, w, (size_t)n, &from, group) == 1, "the probe's own name comes back");
	ok(strcmp(group, "default") == 0, "... its group is named");
	ok(loop_routes(g, ri, 4) == 1 && ri[0].state == LOOP_PROBE_LOOPS, "... the route loops");
	ok(strcmp(ri[0].via, "127.0.0.41") == 0, "... it came back from 127.0.0.41");
	ok(loop_routes_looping(g) == 1, "one route loops");
	ok(loop_group_detected(g, "default") == d0 + 1, "... counted as a loop of the group");
	loop_probe_end(g, route, LOOP_PROBE_FAILED, -1);
	loop_routes(g, ri, 4);
	ok(ri[0].state == LOOP_PROBE_LOOPS, "the probe's own SERVFAIL afterwards does not hide the loop");

	fwd_test_clock_advance(&tc, 59999 * 1000ull);
	ok(loop_probe_begin(g, "default", "privatelink.openai.azure.com.", 60000, &route2, nonce, &wait) == FWD_EFULL,
	   "59.999 s later (test clock): not probed again");
	ok(wait == 1, "... due in 1 ms");
	fwd_test_clock_advance(&tc, 1000);
	ok(loop_probe_begin(g, "default", "privatelink.openai.azure.com.", 60000, &route2, nonce, &wait) == FWD_OK,
	   "at loop-probe-interval: probed again");
	ok(route2 == route, "... the same route");
	loop_probe_end(g, route2, LOOP_PROBE_OK, 3);
	loop_routes(g, ri, 4);
	ok(ri[0].state == LOOP_PROBE_OK && ri[0].rcode == 3 && ri[0].probes == 2,
	   "answered without coming back: ok (NXDOMAIN), 2 probes");
	ok(loop_routes_looping(g) == 0, "no route loops now");

	/* a reload: the rule for corp.example. is new, the privatelink zone gone */
	loop_routes_sweep_begin(g);
	ok(loop_probe_begin(g, "onprem", "corp.example.", 60000, &route2, nonce, &wait) == FWD_OK, "a new route");
	loop_routes_sweep_end(g);
	ok(loop_routes(g, ri, 4) == 1 && strcmp(ri[0].zone, "corp.example.") == 0,
	   "the sweep forgot the route no longer configured");
	n = probe_name(nonce, "corp.example.", w);
	ok(loop_probe_match(g, w, (size_t)n, &from, group) == 1 && strcmp(group, "onprem") == 0,
	   "the new route's probe is recognised");
	loop_guard_free(g);
}

static void test_addrs(void)
{
	char err[512];
	struct cfg *cfg = load("server:\n    listen: 127.0.0.1@5300\n"
			       "upstream: default\n    server: 127.0.0.41@5310\n    server: ::1@5399\n"
			       "upstream: azure\n    server: 10.1.2.3\n"
			       "upstream: onprem\n    server: 127.0.0.42@53\n"
			       "forward: corp.example\n    to: onprem\n",
			       err, sizeof(err));
	ok(cfg != NULL, "a config with three groups%s%s", cfg ? "" : ": ", cfg ? "" : err);
	if (!cfg)
		return;
	struct acl *acl = acl_build(cfg);
	struct loop_addrs *la = NULL;
	ok(loop_addrs_build(cfg, acl, &la) == FWD_OK, "the view of its servers");
	size_t def = cfg->group_default, az = cfg->group_azure, op = 0;
	cfg_group_find(cfg, "onprem", &op);
	struct sockaddr_storage a41 = addr4("127.0.0.41", 33333), a42 = addr4("127.0.0.42", 1),
				a43 = addr4("127.0.0.43", 5310), m41 = addr6("::ffff:127.0.0.41", 2),
				v6 = addr6("::1", 5);
	ok(loop_addrs_watched(la, def), "default is watched (its servers may query plinkfwd)");
	ok(!loop_addrs_watched(la, az), "azure is not: 10.1.2.3 is refused by the ACL, it cannot send one back");
	ok(loop_addrs_match(la, &a41, def), "127.0.0.41 from any port is a server of default");
	ok(loop_addrs_match(la, &m41, def), "... also as ::ffff:127.0.0.41");
	ok(loop_addrs_match(la, &v6, def), "::1 is a server of default");
	ok(!loop_addrs_match(la, &a41, op), "127.0.0.41 is not a server of onprem");
	ok(loop_addrs_match(la, &a42, op), "127.0.0.42 is");
	ok(!loop_addrs_match(la, &a43, def), "127.0.0.43 is nobody's server");
	loop_addrs_free(la);
	acl_free(acl);
	cfg_free(cfg);
}

static size_t nwarn;
static char lastwarn[1024];
static void warn_cb(void *arg, const char *msg)
{
	(void)arg;
	nwarn++;
	snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
}

static void test_config(void)
{
	char err[512];
	struct cfg *cfg;

	cfg = load("server:\n    listen: 127.0.0.1@5300\nupstream: default\n    server: 127.0.0.1@5300\n", err,
		   sizeof(err));
	ok(!cfg && strstr(err, "t.conf:4: upstream default: server 127.0.0.1@5300 is plinkfwd's own listen: "
			       "127.0.0.1@5300 (line 2)"),
	   "an upstream that is plinkfwd's listener: error at the server's line (%s)", err);
	cfg = load("server:\n    listen: 127.0.0.1@5300\nupstream: default\n    server: 127.0.0.1@5301\n", err,
		   sizeof(err));
	ok(cfg != NULL, "the same address on another port is another server");
	cfg_free(cfg);
	cfg = load("server:\n    listen: 0.0.0.0@5300\nupstream: default\n    server: 127.0.0.77@5300\n", err,
		   sizeof(err));
	ok(!cfg && strstr(err, "is plinkfwd's own listen: 0.0.0.0@5300"),
	   "a loopback server on the port of a wildcard listener: error (%s)", err);
	cfg = load("server:\n    listen: [::]@5300\nupstream: default\n    server: ::1@5300\n", err, sizeof(err));
	ok(!cfg && strstr(err, "is plinkfwd's own listen: [::]@5300"), "::1 on the port of [::]: error (%s)", err);
	cfg = load("server:\nupstream: default\n    server: 127.0.0.1\n", err, sizeof(err));
	ok(!cfg && strstr(err, "own listen address 127.0.0.1@53 (the default)"),
	   "127.0.0.1 port 53 while listening on the default addresses: error (%s)", err);

	cfg = load("server:\n    listen: 127.0.0.1@5300\n    allow: 10.20.0.0/16\n"
		   "upstream: onprem\n    server: 10.20.1.53\n    server: 10.30.1.53\n"
		   "forward: corp.example\n    to: onprem\n",
		   err, sizeof(err));
	ok(cfg != NULL, "a forward rule to a server that is also a client is no error");
	nwarn = 0;
	if (cfg)
		cfg_loop_warnings(cfg, warn_cb, NULL);
	ok(nwarn == 1, "one warning: 10.20.1.53 is allowed, 10.30.1.53 is not");
	ok(strstr(lastwarn, "t.conf:7: warning: forward: corp.example. sends to group onprem, whose server "
			    "10.20.1.53@53 may also query plinkfwd (allow: 10.20.0.0/16, line 3)") != NULL,
	   "... with the rule's line, the server and the allow: line (%s)", lastwarn);
	cfg_free(cfg);
	cfg = load("server:\n    listen: 127.0.0.1@5300\nupstream: onprem\n    server: 127.0.0.42\n"
		   "forward: corp.example\n    to: onprem\n",
		   err, sizeof(err));
	nwarn = 0;
	if (cfg)
		cfg_loop_warnings(cfg, warn_cb, NULL);
	ok(cfg && nwarn == 0, "loopback allowed by default says nothing of intent: no warning");
	cfg_free(cfg);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_inflight();
	test_threads();
	test_report();
	test_probe();
	test_addrs();
	test_config();
	char path[300];
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
