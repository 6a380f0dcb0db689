/*
 * test_caps.c -- the upstream caps: per group, per server, and only for
 * Azure DNS unless configured (docs/upstream.md, "Caps").
 *
 *  - Configuration: the caps every server ends up with (struct cfg_caps,
 *    resolved by cfg_load) for each way of setting them, and the errors of
 *    the server: options.
 *  - The engine: resolver/upstream driven directly with a test clock, its
 *    upstream servers this program's own UDP sockets on 127.0.0.1 that
 *    never answer, so that every query stays in flight.  The default group
 *    takes every query at once; the group marked azure-dns: yes gets the
 *    Azure DNS defaults (900 qps with a burst of 90, 150 in flight).
 *
 * No packet goes to 168.63.129.16: that address appears in configuration
 * text only, and nothing is sent to those groups.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "common.h"
#include "config.h"
#include "snapshot.h"
#include "tap.h"
#include "upstream.h"
#include "wire.h"

static char dir[] = "/tmp/plinkfwd-test-caps-XXXXXX";

static struct snapshot *build(const char *text, char *err, size_t errlen)
{
	char path[256];
	FILE *f;
	struct snapshot *s;

	snprintf(path, sizeof(path), "%s/caps.conf", dir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	s = snapshot_build(path, NULL, 0, err, errlen);
	unlink(path);
	return s;
}

static const struct cfg_upstream *group(const struct snapshot *s, const char *name)
{
	size_t g;
	return cfg_group_find(s->cfg, name, &g) == FWD_OK ? &s->cfg->upstreams[g] : NULL;
}

/* "qps/outstanding" of server i of group name, "?" when there is none */
static const char *caps_of(const struct snapshot *s, const char *name, size_t i)
{
	static char buf[64];
	const struct cfg_upstream *u = group(s, name);

	if (!u || i >= u->nservers)
		return "?";
	snprintf(buf, sizeof(buf), "%d/%d", u->caps[i].max_qps, u->caps[i].max_outstanding);
	return buf;
}

static void test_config(void)
{
	char err[512] = "";
	struct snapshot *s;

	s = build("upstream: default\n"
		  "    server: 127.0.0.53\n"
		  "upstream: azure\n"
		  "    server: 168.63.129.16\n"
		  "    server: 127.0.0.54\n"
		  "upstream: resolver\n"
		  "    server: 127.0.0.55\n"
		  "    azure-dns: yes\n"
		  "upstream: mixed\n"
		  "    server: 127.0.0.56\n"
		  "    server: 168.63.129.16@53\n"
		  "upstream: mapped\n"
		  "    server: ::ffff:168.63.129.16\n",
		  err, sizeof(err));
	ok(s != NULL, "defaults: parses (%s)", err);
	if (s) {
		is_str(caps_of(s, "default", 0), "0/0", "default group: no cap");
		is_str(caps_of(s, "azure", 0), "900/150", "azure group, 168.63.129.16: the Azure DNS caps");
		is_str(caps_of(s, "azure", 1), "0/0", "azure group, a Private Resolver address: no cap");
		is_str(caps_of(s, "resolver", 0), "900/150", "azure-dns: yes: the Azure DNS caps for any address");
		is_str(caps_of(s, "mixed", 0), "0/0", "another group: its own server uncapped");
		is_str(caps_of(s, "mixed", 1), "900/150", "... and 168.63.129.16 capped in any group");
		is_str(caps_of(s, "mapped", 0), "900/150", "168.63.129.16 written v4-mapped is Azure DNS too");
		is_int(s->cfg->azure_dns_max_qps, 900, "azure-dns-max-qps defaults to 900");
		is_int(s->cfg->azure_dns_max_outstanding, 150, "azure-dns-max-outstanding defaults to 150");
		snapshot_unref(s);
	}

	s = build("server:\n"
		  "    azure-dns-max-qps: 500\n"
		  "    azure-dns-max-outstanding: 50\n"
		  "upstream: azure\n"
		  "    server: 168.63.129.16\n"
		  "    server: 168.63.129.16@5353 max-qps=0\n"
		  "upstream: onprem\n"
		  "    max-qps: 20000\n"
		  "    max-outstanding: 2000\n"
		  "    server: 127.0.2.1\n"
		  "    server: 127.0.2.2 max-outstanding=10\n"
		  "    server: 127.0.2.3 max-qps=5 max-outstanding=0\n"
		  "upstream: uncapped-azure\n"
		  "    azure-dns: yes\n"
		  "    max-qps: 0\n"
		  "    server: 127.0.2.4\n",
		  err, sizeof(err));
	ok(s != NULL, "explicit caps: parses (%s)", err);
	if (s) {
		is_str(caps_of(s, "azure", 0), "500/50", "azure-dns-max-* change the Azure DNS defaults");
		is_str(caps_of(s, "azure", 1), "0/50", "a server option overrides one cap");
		is_str(caps_of(s, "onprem", 0), "20000/2000", "group caps apply to its servers");
		is_str(caps_of(s, "onprem", 1), "20000/10", "max-outstanding= overrides the group's");
		is_str(caps_of(s, "onprem", 2), "5/0", "both options, 0 = no cap");
		is_str(caps_of(s, "uncapped-azure", 0), "0/50", "a group's max-qps: 0 lifts the Azure DNS qps cap");
		snapshot_unref(s);
	}

	/* the keys of the server: clause from before, for every group */
	s = build("server:\n"
		  "    upstream-max-qps: 100\n"
		  "    upstream-max-outstanding: 5\n"
		  "upstream: default\n"
		  "    server: 127.0.2.53\n"
		  "upstream: azure\n"
		  "    server: 168.63.129.16\n"
		  "upstream: own\n"
		  "    max-qps: 7\n"
		  "    server: 127.0.2.54\n",
		  err, sizeof(err));
	ok(s != NULL, "upstream-max-*: parses (%s)", err);
	if (s) {
		is_str(caps_of(s, "default", 0), "100/5", "upstream-max-* cap a group that sets none");
		is_str(caps_of(s, "azure", 0), "100/5", "... Azure DNS included");
		is_str(caps_of(s, "own", 0), "7/5", "a group's own key wins");
		snapshot_unref(s);
	}

	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"upstream: u\n server: 127.0.2.1 max-qps=x\n", ":2: server: max-qps: 'x' is not a number in 0..1000000"},
		{"upstream: u\n server: 127.0.2.1 max-outstanding=2000000\n", ":2: server: max-outstanding: '2000000'"},
		{"upstream: u\n server: 127.0.2.1 qps=5\n", ":2: server: unknown option 'qps=5'"},
		{"upstream: u\n server: 127.0.2.1 max-qps=1 max-qps=2\n", ":2: server: max-qps given twice"},
		{"upstream: u\n max-qps: 1\n max-qps: 2\n", ":3: duplicate key 'max-qps' (first at line 2)"},
		{"upstream: u\n azure-dns: maybe\n", ":2: azure-dns: expected yes or no"},
		{"server:\n max-qps: 5\n", ":2: key 'max-qps' belongs in an upstream: clause, not in server:"},
		{"upstream: u\n azure-dns-max-qps: 5\n", ":2: key 'azure-dns-max-qps' belongs in a server: clause"},
	};
	for (size_t i = 0; i < FWD_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		s = build(bad[i].text, err, sizeof(err));
		ok(s == NULL && strstr(err, bad[i].msg) != NULL, "refused: %s", bad[i].msg);
		if (s)
			snapshot_unref(s);
		else if (!strstr(err, bad[i].msg))
			printf("#   got '%s'\n", err);
	}
}

/* ------------------------------------------------------------ the engine */

#define NSRV 2 /* 0: the default group's server, 1: the azure-dns group's */
#define SEC 1000000ull

static int srv_fd[NSRV];
static uint16_t srv_port[NSRV];
static int ndone;

static void done_cb(void *arg, const void *ctx, enum upstream_status st, uint8_t *reply, size_t len,
		    const struct wire_query *q)
{
	(void)arg, (void)ctx, (void)st, (void)reply, (void)len, (void)q;
	ndone++;
}

static void server_open(int i)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv_fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (srv_fd[i] < 0 || bind(srv_fd[i], (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(srv_fd[i], (struct sockaddr *)&a, &al) < 0)
		abort();
	srv_port[i] = ntohs(a.sin_port);
}

static int received[NSRV];

/* Read what server i got (it never answers); returns the datagrams counted
 * since the last call.  Called after every send, so that the socket's
 * buffer never overflows. */
static int server_drain(int i)
{
	uint8_t buf[1024];
	int n;

	while (recv(srv_fd[i], buf, sizeof(buf), 0) > 0)
		received[i]++;
	n = received[i];
	received[i] = 0;
	return n;
}

static void server_read(int i)
{
	uint8_t buf[1024];

	while (recv(srv_fd[i], buf, sizeof(buf), 0) > 0)
		received[i]++;
}

/* Send count distinct questions to group g (whose server is srv); how many were accepted
 * (FWD_OK), and *capped how many were refused with FWD_EFULL. */
static int send_many(struct upstream *u, struct snapshot *s, const char *g, int srv, const char *tag, int count,
		     int *capped)
{
	size_t gi;
	int accepted = 0;

	*capped = 0;
	if (cfg_group_find(s->cfg, g, &gi) != FWD_OK)
		return -1;
	for (int i = 0; i < count; i++) {
		uint8_t pkt[WIRE_HDR_LEN + WIRE_MAX_NAME + 4];
		char name[128];
		struct wire_query q;
		int ctx = i;
		enum fwd_err rc;
		int nl;

		snprintf(name, sizeof(name), "q%d.%s.caps.test", i, tag);
		nl = wire_name_from_text(name, pkt + WIRE_HDR_LEN);
		wire_put_header(pkt, (uint16_t)i, WIRE_RD, 1, 0, 0, 0);
		wire_put16(pkt + WIRE_HDR_LEN + nl, TYPE_A);
		wire_put16(pkt + WIRE_HDR_LEN + nl + 2, CLASS_IN);
		if (wire_parse_query(pkt, WIRE_HDR_LEN + (size_t)nl + 4, &q) != WIRE_OK)
			return -1;
		rc = upstream_send(u, s, gi, &q, 0, &ctx, sizeof(ctx));
		accepted += rc == FWD_OK;
		*capped += rc == FWD_EFULL;
		server_read(srv);
	}
	return accepted;
}

static void test_engine(void)
{
	char text[1024], err[512] = "";
	struct fwd_test_clock tc;
	struct event_base *base = event_base_new();
	struct upstream_stats st;
	struct snapshot *s;
	struct upstream *u;
	int accepted, capped;

	for (int i = 0; i < NSRV; i++)
		server_open(i);
	snprintf(text, sizeof(text),
		 "server:\n"
		 "    workers: 1\n"
		 "    upstream-timeout: 60000\n"
		 "    query-timeout: 300000\n"
		 "upstream: default\n"
		 "    server: 127.0.0.1@%u\n"
		 "upstream: azure\n"
		 "    azure-dns: yes\n"
		 "    server: 127.0.0.1@%u\n",
		 srv_port[0], srv_port[1]);
	s = build(text, err, sizeof(err));
	ok(s != NULL && base != NULL, "engine config parses (%s)", err);
	if (!s || !base)
		return;
	is_str(caps_of(s, "default", 0), "0/0", "default group: uncapped");
	is_str(caps_of(s, "azure", 0), "900/150", "azure-dns group: 900 qps, 150 in flight");

	/* the default group: 300 questions in the same microsecond, none
	 * answered -- more than any Azure DNS cap would let through */
	fwd_test_clock_init(&tc, 10 * SEC);
	u = upstream_new(base, &tc.clock, 1024, done_cb, NULL);
	ok(u != NULL, "engine with a test clock");
	if (!u)
		goto out;
	accepted = send_many(u, s, "default", 0, "d", 300, &capped);
	is_int(accepted, 300, "default group: 300 questions at once, all sent");
	is_int(capped, 0, "default group: none refused at a cap");
	is_int(server_drain(0), 300, "default group: the server got all 300");
	upstream_get_stats(u, &st);
	is_int(st.capped, 0, "default group: capped counter 0");
	is_int(upstream_pending(u), 300, "300 in flight");
	upstream_free(u);

	/* the azure-dns group, one worker: 900 qps with a burst of a tenth of a
	 * second (90), 150 in flight */
	fwd_test_clock_init(&tc, 10 * SEC);
	u = upstream_new(base, &tc.clock, 1024, done_cb, NULL);
	if (!u)
		goto out;
	accepted = send_many(u, s, "azure", 1, "a1", 200, &capped);
	is_int(accepted, 90, "azure-dns group: 200 at once, the burst of 90 sent");
	is_int(capped, 110, "... the other 110 refused at once (FWD_EFULL)");
	is_int(server_drain(1), 90, "... and the server got 90");
	fwd_test_clock_advance(&tc, 50000);
	accepted = send_many(u, s, "azure", 1, "a2", 100, &capped);
	is_int(accepted, 45, "50 ms later: 45 more tokens (900 qps)");
	fwd_test_clock_advance(&tc, SEC);
	accepted = send_many(u, s, "azure", 1, "a3", 100, &capped);
	is_int(accepted, 15, "a second later, 135 in flight: 15 more reach the outstanding cap of 150");
	is_int(capped, 85, "... the rest refused at once");
	is_int(upstream_pending(u), 150, "150 in flight, never more");
	is_int(server_drain(1), 60, "the server got 150 in all");
	upstream_get_stats(u, &st);
	is_int(st.capped, 110 + 55 + 85, "every refused question counted as capped");
	is_int(ndone, 0, "nothing completed (the servers never answer)");
	upstream_free(u);
out:
	snapshot_unref(s);
	for (int i = 0; i < NSRV; i++)
		close(srv_fd[i]);
	event_base_free(base);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 99;
	}
	test_config();
	test_engine();
	rmdir(dir);
	return tap_done();
}
