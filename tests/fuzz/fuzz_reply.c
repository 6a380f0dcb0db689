/*
 * fuzz_reply.c -- libFuzzer target for upstream replies through the
 * completion path: reply validation (upstream.c), fallback, CNAME splicing
 * (from zone data and through a second upstream question), the cache insert
 * and what the client gets back (query.c, edns.c).
 *
 * The query engine is built as tests/unit/test_query.c builds it: no
 * listener, a capture hook for late answers, a fwd_test_clock (timeouts
 * fire from upstream_expire() after the clock moved, never from a real
 * timer), a snapshot from a config with a zone, forward rules, a
 * privatelink zone file and the privatelink catalogue, and this program's
 * own loopback UDP and TCP sockets as the upstream servers.  Replies reach
 * the engine through those real sockets: the function that reads a
 * datagram (slot_udp_read) is static in upstream.c, and loopback delivers
 * before sendto() returns, so nothing waits and every step is determined
 * by the input.  The engine and the cache are made afresh for each input,
 * so server health, the cache and the clock never carry over.
 *
 * Input:
 *   u8   question: index into QUESTIONS (bit 7: the type follows as u16)
 *   [u16 type]
 *   u8   client: bit 0 TCP, bit 1 EDNS, bit 2 DO, bit 3 CD, bits 4-5 EDNS
 *        payload size, bit 6 name in mixed case, bit 7 RD clear
 *   then, for each upstream query the engine sends, in order:
 *   u8   mode: bits 0-1 how the piece becomes the reply --
 *          0 as is, 1 the query's ID patched in, 2 built: the piece's first
 *          12 bytes are the header (ID patched, QR set, opcode QUERY,
 *          QDCOUNT 1), then the query's question, then the rest of the
 *          piece; 3 no reply (the attempt times out);
 *        bit 2 (TCP) the piece is the raw stream, without a length prefix;
 *        bit 3 (mode 2) keep the piece's QR and opcode bits
 *   u16  length, then the piece
 * An input that runs out leaves the remaining queries unanswered.
 *
 * Checked: every forwarded question gets exactly one answer; each answer
 * the client gets is a well-formed message (fuzz.h) with its ID, QR, its
 * question, AA clear, an OPT exactly when it sent one, within its UDP size;
 * no upstream query is left pending.  Then the same question is asked again
 * (a cache hit, or a miss whose upstream stays silent) and checked the same
 * way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "cache.h"
#include "client.h"
#include "clock.h"
#include "fuzz.h"
#include "log.h"
#include "query.h"
#include "snapshot.h"
#include "upstream.h"
#include "wire.h"

#define NSERVERS 4           /* 0 azure, 1 and 2 default, 3 corp */
#define UP_TIMEOUT_MS 1000
#define Q_TIMEOUT_MS 5000
#define SEC 1000000ull
#define MAX_STEPS 16         /* upstream queries answered per input */
#define UDP_MAX 65507

static const struct {
	const char *name;
	uint16_t type;
} QUESTIONS[] = {
	{"www.example.com", TYPE_A},                     /* default */
	{"host.fwd.test", TYPE_AAAA},                    /* fwd.test -> corp */
	{"sa1.blob.core.windows.net", TYPE_A},           /* default; CNAME into the zone file */
	{"acct.openai.azure.com", TYPE_A},               /* default; CNAME into the catalogue (azure) */
	{"nope.local.test", TYPE_A},                     /* zone NXDOMAIN, fallback: public */
	{"acct.privatelink.openai.azure.com", TYPE_AAAA},/* catalogue -> azure; NXDOMAIN -> default */
	{"app.contoso.test", TYPE_TXT},                  /* default; CNAME into a privatelink forward rule */
	{"x.privatelink.contoso.test", TYPE_A},          /* privatelink forward rule -> corp */
	{"mail.example.com", TYPE_MX},
	{"example.com", TYPE_SOA},
};
#define NQUESTIONS (sizeof(QUESTIONS) / sizeof(QUESTIONS[0]))

static const uint16_t EDNS_SIZES[4] = {512, 1232, 4096, 100};

struct server {
	int udp, tcp;
	uint16_t port;
};

static struct server srv[NSERVERS];
static struct event_base *base;
static struct fwd_test_clock tclock;
static struct snapshot_pub pub;
static struct query_engine qe;
static struct cache *cache;
static int debug; /* FUZZ_DEBUG set: say what the client got */

/* the late answers */
static uint8_t sent[2][WIRE_MAX_MSG];
static size_t sent_len[2];
static int nsent;

static void capture(void *arg, const struct client *cl, const uint8_t *msg, size_t len)
{
	(void)arg;
	(void)cl;
	FUZZ_ASSERT(len <= WIRE_MAX_MSG);
	if (nsent < 2) {
		memcpy(sent[nsent], msg, len);
		sent_len[nsent] = len;
	}
	nsent++;
}

/* ------------------------------------------------------------ set-up */

/* A UDP and a TCP socket on the same free port of 127.0.0.1 (the port the
 * kernel gives the UDP socket may be taken for TCP: then another one). */
static void server_open(struct server *s)
{
	for (int tries = 0; tries < 100; tries++) {
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		int one = 1;

		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		s->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->udp < 0 || s->tcp < 0 || bind(s->udp, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(s->udp, (struct sockaddr *)&a, &al) < 0)
			abort();
		s->port = ntohs(a.sin_port);
		setsockopt(s->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s->tcp, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(s->tcp, 16) == 0)
			return;
		close(s->udp);
		close(s->tcp);
	}
	abort();
}

static const char LOCAL_ZONE[] = "$TTL 300\n"
				  "@ IN SOA ns.local.test. host.local.test. 1 3600 300 86400 60\n"
				  "@ IN NS ns.local.test.\n"
				  "www IN A 10.0.0.1\n";

/* as tests/integration/t_splice.sh serves it */
static const char BLOB_ZONE[] = "$TTL 60\n"
				"@ IN SOA ns.blob.test. host.blob.test. 1 3600 300 86400 60\n"
				"@ IN NS ns.blob.test.\n"
				"sa1 IN A 10.1.0.4\n"
				"sa2 IN CNAME sa1\n"
				"sa3 IN AAAA fd00::4\n";

static void setup(void)
{
	const char *dir = fuzz_tmpdir("reply");
	char zlocal[600], zblob[600], cpath[600], conf[4096], err[512] = "";

	for (int i = 0; i < NSERVERS; i++)
		server_open(&srv[i]);
	snprintf(zlocal, sizeof(zlocal), "%s/local.test.zone", dir);
	snprintf(zblob, sizeof(zblob), "%s/blob.zone", dir);
	snprintf(cpath, sizeof(cpath), "%s/fuzz.conf", dir);
	fuzz_write_file(zlocal, LOCAL_ZONE, strlen(LOCAL_ZONE));
	fuzz_write_file(zblob, BLOB_ZONE, strlen(BLOB_ZONE));
	int n = snprintf(conf, sizeof(conf),
			 "server:\n  listen: 127.0.0.1@53\n  allow: 0.0.0.0/0\n  allow: ::/0\n"
			 "  upstream-timeout: %d\n  query-timeout: %d\n  serve-stale: 60\n  nsid: fuzz-nsid\n"
			 "  privatelink-fallback: public\n"
			 "upstream: azure\n  server: 127.0.0.1@%u\n"
			 "upstream: default\n  server: 127.0.0.1@%u\n  server: 127.0.0.1@%u\n"
			 "upstream: corp\n  server: 127.0.0.1@%u\n"
			 "zone: local.test\n  file: %s\n  fallback: public\n"
			 "zone: privatelink.blob.core.windows.net\n  file: %s\n"
			 "forward: fwd.test\n  to: corp\n"
			 "forward: privatelink.contoso.test\n  to: corp\n",
			 UP_TIMEOUT_MS, Q_TIMEOUT_MS, srv[0].port, srv[1].port, srv[2].port, srv[3].port, zlocal,
			 zblob);
	fuzz_write_file(cpath, conf, (size_t)n);
	struct snapshot *s = snapshot_build(cpath, NULL, 0, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "fuzz_reply setup: %s\n", err);
		abort();
	}
	unlink(zlocal);
	unlink(zblob);
	unlink(cpath);
	rmdir(dir);
	debug = getenv("FUZZ_DEBUG") != NULL;
	log_set_level(debug ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	base = event_base_new();
	if (!base || snapshot_pub_init(&pub) != FWD_OK)
		abort();
	snapshot_pub_publish(&pub, s);
}

/* the engine's big blocks reused, and a smaller ASan quarantine (see
 * fuzz_big_blocks.h) */
#include "fuzz_big_blocks.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setup();
	return 0;
}

/* ------------------------------------------------------------ driving */

/* Run the event loop until nothing is ready (no real time passes). */
static void pump(void)
{
	for (int i = 0; i < 2; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Move the test clock and fire the attempt timers that are due. */
static void advance_ms(uint64_t ms)
{
	fwd_test_clock_advance(&tclock, ms * 1000);
	upstream_expire(qe.up);
	pump();
}

/* One query an upstream server received. */
struct upq {
	int server;
	int tcp_fd;                 /* >= 0: came over TCP on this connection */
	struct sockaddr_in from;    /* UDP: the engine's socket */
	socklen_t fromlen;
	uint8_t q[1024];
	size_t qlen;
};

/* Read a whole length-prefixed query from a new TCP connection. */
static int tcp_query(int fd, struct upq *u)
{
	uint8_t buf[2 + sizeof(u->q)];
	size_t have = 0;

	for (int tries = 0; tries < 8; tries++) {
		ssize_t n = recv(fd, buf + have, sizeof(buf) - have, MSG_DONTWAIT);
		if (n > 0)
			have += (size_t)n;
		else if (n == 0)
			break;
		if (have >= 2 && have >= 2u + (size_t)(buf[0] << 8 | buf[1]))
			break;
		pump();
	}
	if (have < 2 || have < 2u + (size_t)(buf[0] << 8 | buf[1]) || have - 2 > sizeof(u->q))
		return 0;
	u->qlen = (size_t)(buf[0] << 8 | buf[1]);
	memcpy(u->q, buf + 2, u->qlen);
	return 1;
}

/* The next query any server got (UDP first, then a TCP connection).  One
 * poll() says which sockets have something, so that an idle round costs
 * one system call. */
static int next_query(struct upq *u)
{
	struct pollfd pfd[2 * NSERVERS];

	u->tcp_fd = -1;
	for (int i = 0; i < NSERVERS; i++) {
		pfd[i].fd = srv[i].udp;
		pfd[NSERVERS + i].fd = srv[i].tcp;
		pfd[i].events = pfd[NSERVERS + i].events = POLLIN;
	}
	if (poll(pfd, 2 * NSERVERS, 0) <= 0)
		return 0;
	for (int i = 0; i < NSERVERS; i++) {
		if (!(pfd[i].revents & POLLIN))
			continue;
		u->fromlen = sizeof(u->from);
		ssize_t n = recvfrom(srv[i].udp, u->q, sizeof(u->q), 0, (struct sockaddr *)&u->from, &u->fromlen);
		if (n > 0) {
			u->server = i;
			u->qlen = (size_t)n;
			return 1;
		}
	}
	for (int i = 0; i < NSERVERS; i++) {
		if (!(pfd[NSERVERS + i].revents & POLLIN))
			continue;
		int fd = accept4(srv[i].tcp, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pump();
		if (!tcp_query(fd, u)) {
			close(fd);
			continue;
		}
		u->server = i;
		u->tcp_fd = fd;
		return 1;
	}
	return 0;
}

/* Read and drop whatever the servers got. */
static void drain_servers(void)
{
	struct upq u;
	for (int i = 0; i < 64 && next_query(&u); i++)
		if (u.tcp_fd >= 0)
			close(u.tcp_fd);
}

/* End of the question of an upstream query (our own queries are never
 * compressed); 0 when it cannot be found. */
static size_t question_end(const uint8_t *q, size_t len)
{
	size_t end;
	if (len < WIRE_HDR_LEN || fuzz_dns_name(q, len, WIRE_HDR_LEN, &end) < 0 || end + 4 > len)
		return 0;
	return end + 4;
}

static void send_tcp(int fd, const uint8_t *p, size_t len)
{
	size_t off = 0;
	for (int tries = 0; off < len && tries < 64; tries++) {
		ssize_t n = send(fd, p + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			break;
		pump();
	}
}

/* Answer u with the input's next piece, as its mode says. */
static void respond(struct upq *u, unsigned mode, const uint8_t *p, size_t plen)
{
	static uint8_t r[2 + WIRE_MAX_MSG + 1024];
	uint8_t *m = r + 2;
	size_t mlen = 0, qend = question_end(u->q, u->qlen);

	switch (mode & 3) {
	case 0:
	case 1:
		memcpy(m, p, plen);
		mlen = plen;
		if ((mode & 3) == 1 && mlen >= 2)
			memcpy(m, u->q, 2);
		break;
	case 2: {
		uint8_t hdr[WIRE_HDR_LEN] = {0};
		size_t h = plen < WIRE_HDR_LEN ? plen : WIRE_HDR_LEN;
		memcpy(hdr, p, h);
		memcpy(hdr, u->q, 2);
		if (!(mode & 8)) {
			hdr[2] = (uint8_t)((hdr[2] & 0x07) | 0x80); /* QR, opcode QUERY */
		}
		hdr[4] = 0;
		hdr[5] = 1;
		memcpy(m, hdr, WIRE_HDR_LEN);
		mlen = WIRE_HDR_LEN;
		if (qend) {
			memcpy(m + mlen, u->q + WIRE_HDR_LEN, qend - WIRE_HDR_LEN);
			mlen += qend - WIRE_HDR_LEN;
		}
		if (plen > h) {
			size_t rest = plen - h;
			if (mlen + rest > WIRE_MAX_MSG)
				rest = WIRE_MAX_MSG - mlen;
			memcpy(m + mlen, p + h, rest);
			mlen += rest;
		}
		break;
	}
	default:
		return; /* no reply */
	}
	if (u->tcp_fd < 0) {
		sendto(srv[u->server].udp, m, mlen > UDP_MAX ? UDP_MAX : mlen, 0, (struct sockaddr *)&u->from,
		       u->fromlen);
		return;
	}
	if (mode & 4) {
		send_tcp(u->tcp_fd, m, mlen);
	} else {
		if (mlen > WIRE_MAX_MSG)
			mlen = WIRE_MAX_MSG;
		r[0] = (uint8_t)(mlen >> 8);
		r[1] = (uint8_t)mlen;
		send_tcp(u->tcp_fd, r, mlen + 2);
	}
	close(u->tcp_fd);
	u->tcp_fd = -1;
}

/* Answer the engine's upstream queries from the input until it has none. */
static void converse(struct fuzz_in *in)
{
	for (int step = 0; step < MAX_STEPS && upstream_pending(qe.up) > 0; step++) {
		struct upq u;
		pump();
		if (!next_query(&u) || in->n == 0) {
			/* nothing new went out (the attempt waits for its timer, e.g.
			 * after a reply that did not match), or no input is left */
			if (u.tcp_fd >= 0 && in->n == 0)
				close(u.tcp_fd);
			advance_ms(UP_TIMEOUT_MS);
			continue;
		}
		unsigned mode = fuzz_u8(in);
		size_t plen;
		const uint8_t *p = fuzz_piece(in, &plen);
		respond(&u, mode, p, plen);
		if (u.tcp_fd >= 0)
			close(u.tcp_fd);
		pump();
	}
}

/* Let every attempt time out until nothing is pending. */
static void settle(void)
{
	for (int i = 0; i < 64 && upstream_pending(qe.up) > 0; i++) {
		drain_servers();
		advance_ms(UP_TIMEOUT_MS);
	}
	drain_servers();
}

/* ------------------------------------------------------------ checks */

struct cq {
	uint8_t b[512];
	size_t len;
	size_t q_end;     /* end of the question */
	int tcp, edns;
	uint16_t edns_size;
};

static void check_answer(const struct cq *c, uint16_t id, const uint8_t *m, size_t len, int forwarded)
{
	struct fuzz_dns_info inf;

	if (debug) {
		fprintf(stderr, "answer %04x:", id);
		for (size_t i = 0; i < len; i++)
			fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", m[i]);
		fprintf(stderr, "\n");
	}
	FUZZ_ASSERT(fuzz_dns_check(m, len, &inf) == 0);
	if (debug)
		fprintf(stderr, "answer %04x: rcode %u, flags %04x, %u/%u/%u records, %zu bytes%s\n", id,
			inf.flags & 0xfu, inf.flags, inf.an, inf.ns, inf.ar, len, forwarded ? " (forwarded)" : "");
	FUZZ_ASSERT(inf.id == id);
	FUZZ_ASSERT(inf.flags & WIRE_QR);
	FUZZ_ASSERT(WIRE_OPCODE(inf.flags) == 0);
	FUZZ_ASSERT(inf.qd == 1);
	FUZZ_ASSERT(inf.q_end - inf.q_off == c->q_end - WIRE_HDR_LEN);
	FUZZ_ASSERT(fuzz_dns_name_eq(m + inf.q_off, c->b + WIRE_HDR_LEN, c->q_end - WIRE_HDR_LEN));
	FUZZ_ASSERT(!!inf.opt == !!c->edns);
	if (forwarded)
		FUZZ_ASSERT(!(inf.flags & WIRE_AA));
	if (!c->tcp) {
		size_t limit = !c->edns ? 512 : c->edns_size < 512 ? 512 : c->edns_size > 1232 ? 1232 : c->edns_size;
		FUZZ_ASSERT(len <= limit);
	}
}

/* The client's query: question from the input, flags from the input. */
static void make_query(struct fuzz_in *in, struct cq *c, uint16_t id)
{
	unsigned sel = fuzz_u8(in);
	uint16_t type = QUESTIONS[(sel & 0x7f) % NQUESTIONS].type;
	const char *name = QUESTIONS[(sel & 0x7f) % NQUESTIONS].name;
	if (sel & 0x80)
		type = (uint16_t)fuzz_u16(in);
	unsigned fl = fuzz_u8(in);
	uint8_t *b = c->b;
	size_t n = WIRE_HDR_LEN;

	c->tcp = fl & 1;
	c->edns = (fl >> 1) & 1;
	c->edns_size = EDNS_SIZES[(fl >> 4) & 3];
	uint16_t flags = (uint16_t)((fl & 0x80 ? 0 : WIRE_RD) | (fl & 8 ? WIRE_CD : 0));
	wire_put_header(b, id, flags, 1, 0, 0, c->edns ? 1 : 0);
	for (const char *l = name; *l;) {
		size_t k = strcspn(l, ".");
		b[n++] = (uint8_t)k;
		for (size_t i = 0; i < k; i++)
			b[n++] = (uint8_t)((fl & 0x40) && (i & 1) && l[i] >= 'a' && l[i] <= 'z' ? l[i] - 32 : l[i]);
		l += k;
		if (*l == '.')
			l++;
	}
	b[n++] = 0;
	wire_put16(b + n, type);
	wire_put16(b + n + 2, CLASS_IN);
	n += 4;
	c->q_end = n;
	if (c->edns) {
		b[n++] = 0;
		wire_put16(b + n, TYPE_OPT);
		wire_put16(b + n + 2, c->edns_size);
		wire_put32(b + n + 4, fl & 4 ? 0x8000u : 0);
		wire_put16(b + n + 8, 0);
		n += 10;
	}
	c->len = n;
}

/* Ask c with ID id; returns how many late answers it produced (0 or 1)
 * after checking the immediate one, if any.  in: replies for the upstream
 * queries, or NULL for silent servers. */
static void ask(const struct cq *c, uint16_t id, struct fuzz_in *in)
{
	static uint8_t out[WIRE_MAX_MSG];
	struct client cl;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cl.addr;
	int fwd = 0;
	uint8_t q[sizeof(c->b)];

	memcpy(q, c->b, c->len);
	wire_put16(q, id);
	memset(&cl, 0, sizeof(cl));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cl.addrlen = sizeof(*sin);
	cl.transport = c->tcp ? CLIENT_TCP : CLIENT_UDP;
	cl.fd = -1;
	cl.id = id;
	cl.start_us = clock_us(&tclock.clock);
	nsent = 0;
	size_t n = query_handle(&qe, q, c->len, &cl, out, sizeof(out), &fwd);
	if (n) {
		FUZZ_ASSERT(!fwd);
		check_answer(c, id, out, n, 0);
		return;
	}
	FUZZ_ASSERT(fwd); /* a well-formed question is never dropped */
	if (in)
		converse(in);
	settle();
	FUZZ_ASSERT(upstream_pending(qe.up) == 0);
	FUZZ_ASSERT(nsent == 1);
	check_answer(c, id, sent[0], sent_len[0], 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct cq c;

	if (size > 4 * WIRE_MAX_MSG)
		return 0;
	fwd_test_clock_init(&tclock, 1000 * SEC);
	cache = cache_new(1 << 20, 1);
	if (!cache || query_engine_init(&qe, base, &pub, &tclock.clock, cache, 8) != FWD_OK)
		abort();
	query_engine_set_send(&qe, capture, NULL);
	drain_servers();

	make_query(&in, &c, 0x1234);
	ask(&c, 0x1234, &in);
	/* the same question again: from the cache, or a silent upstream */
	fwd_test_clock_advance(&tclock, SEC);
	ask(&c, 0x4321, NULL);

	query_engine_fini(&qe);
	cache_free(cache);
	pump();
	return 0;
}
