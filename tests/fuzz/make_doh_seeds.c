/*
 * make_doh_seeds.c -- write the seed corpus of the doh fuzz target
 * (tests/fuzz/fuzz_doh.c): byte streams an HTTP/2 client sends on a DoH
 * connection, made by nghttp2's own client session so that the framing
 * and HPACK are what real clients send.
 *
 *   tests/fuzz/make_doh_seeds DIR     (make fuzz builds it; DIR is
 *                                      tests/fuzz/corpus/doh)
 *
 * Python's standard library has no HTTP/2, hence a C program rather than a
 * function in make-seeds.py.  Each seed is the client preface, SETTINGS,
 * an ACK of the server's SETTINGS, then requests and frames; the names
 * asked are those of fuzz_doh.c's zone (fuzz.test), its forward rule
 * (fwd.test), the privatelink catalogue and the default group, all without
 * servers.  The output is deterministic; re-running rewrites the same
 * seed-* files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

/* ------------------------------------------------------------ DNS */

struct msg {
	uint8_t b[512];
	size_t len;
};

/* A query for name (dotted text) and type, RD set; edns adds an OPT. */
static struct msg query(uint16_t id, const char *name, uint16_t type, int edns)
{
	struct msg m = {{0}, 12};
	m.b[0] = (uint8_t)(id >> 8);
	m.b[1] = (uint8_t)id;
	m.b[2] = 0x01; /* RD */
	m.b[5] = 1;
	m.b[11] = edns ? 1 : 0;
	for (const char *p = name; *p;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		m.b[m.len++] = (uint8_t)n;
		memcpy(m.b + m.len, p, n);
		m.len += n;
		p += n + (dot ? 1 : 0);
	}
	m.b[m.len++] = 0;
	m.b[m.len++] = (uint8_t)(type >> 8);
	m.b[m.len++] = (uint8_t)type;
	m.b[m.len++] = 0;
	m.b[m.len++] = 1; /* IN */
	if (edns) {
		static const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0};
		memcpy(m.b + m.len, opt, sizeof(opt));
		m.len += sizeof(opt);
	}
	return m;
}

static struct msg raw(const void *p, size_t n)
{
	struct msg m;
	memcpy(m.b, p, n);
	m.len = n;
	return m;
}

/* base64url without padding (RFC 8484 6) */
static void b64url(const uint8_t *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = a[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = a[v & 63];
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------ the client */

struct gen {
	nghttp2_session *h2;
	uint8_t *out;
	size_t len, cap;
	int pad; /* pad every frame that can be padded */
};

/* A POST body the data provider reads from (one per stream); with a
 * trailer, the stream ends with a HEADERS frame after the body. */
struct body {
	const uint8_t *p;
	size_t len, off;
	int trailer;
};

static void put(struct gen *g, const void *p, size_t n)
{
	if (g->len + n > g->cap) {
		g->cap = (g->len + n) * 2;
		g->out = realloc(g->out, g->cap);
		if (!g->out)
			abort();
	}
	memcpy(g->out + g->len, p, n);
	g->len += n;
}

/* Everything the session has queued goes into the seed. */
static void flush(struct gen *g)
{
	for (;;) {
		const uint8_t *d;
		ssize_t n = nghttp2_session_mem_send(g->h2, &d);
		if (n < 0) {
			fprintf(stderr, "mem_send: %s\n", nghttp2_strerror((int)n));
			exit(1);
		}
		if (n == 0)
			return;
		put(g, d, (size_t)n);
	}
}

/* What a server says first, fed to the client: its SETTINGS (the client
 * then queues the ACK a real client sends), as fuzz_doh.c's server says
 * them (4 streams at once, header lists up to 16 KiB); with big, a window
 * of 1 MiB besides, so that the client sends a body over 65,535 bytes in
 * one go (which fuzz_doh.c's server never granted). */
static void server_hello(struct gen *g, int big)
{
	uint8_t f[64];
	size_t n = 0;
	const uint8_t settings[] = {0, 0, big ? 18 : 12, NGHTTP2_SETTINGS, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 4,
				    0, 6, 0, 0, 0x40, 0, 0, 4, 0, 0x10, 0, 0};
	memcpy(f, settings, sizeof(settings));
	n = 9 + f[2];
	if (big) {
		const uint8_t wu[] = {0, 0, 4, NGHTTP2_WINDOW_UPDATE, 0, 0, 0, 0, 0, 0, 0x10, 0, 0};
		memcpy(f + n, wu, sizeof(wu));
		n += sizeof(wu);
	}
	if (nghttp2_session_mem_recv(g->h2, f, n) != (ssize_t)n)
		abort();
}

static ssize_t read_body(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
			 nghttp2_data_source *src, void *user)
{
	(void)user;
	struct body *b = src->ptr;
	size_t n = b->len - b->off < length ? b->len - b->off : length;
	memcpy(buf, b->p + b->off, n);
	b->off += n;
	if (b->off == b->len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (b->trailer) {
			/* nghttp2's way to trailers: submitted from here, and the
			 * DATA frame does not end the stream */
			nghttp2_nv trailer[] = {{(uint8_t *)"x-trailer", (uint8_t *)"1", 9, 1, NGHTTP2_NV_FLAG_NONE}};
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			if (nghttp2_submit_trailer(h2, id, trailer, 1) != 0)
				abort();
		}
	}
	return (ssize_t)n;
}

static ssize_t select_padding(nghttp2_session *h2, const nghttp2_frame *frame, size_t max_payloadlen, void *user)
{
	(void)h2;
	struct gen *g = user;
	size_t want = frame->hd.length + (g->pad ? 17 : 0);
	return (ssize_t)(want < max_payloadlen ? want : max_payloadlen);
}

/* A new connection: the preface, our SETTINGS (iv), the server's SETTINGS
 * received and ACKed (hello 1, or 2 with a big window), or not yet
 * (hello 0: the client sends before the server's SETTINGS came), or ACKed
 * without the client knowing them (hello 3: it then opens more streams
 * than the server allows). */
static void begin(struct gen *g, const nghttp2_settings_entry *iv, size_t niv, int hello)
{
	nghttp2_session_callbacks *cbs;
	memset(g, 0, sizeof(*g));
	if (nghttp2_session_callbacks_new(&cbs) != 0)
		abort();
	nghttp2_session_callbacks_set_select_padding_callback(cbs, select_padding);
	if (nghttp2_session_client_new(&g->h2, cbs, g) != 0)
		abort();
	nghttp2_session_callbacks_del(cbs);
	if (nghttp2_submit_settings(g->h2, NGHTTP2_FLAG_NONE, iv, niv) != 0)
		abort();
	flush(g);
	if (hello == 1 || hello == 2)
		server_hello(g, hello == 2);
	if (hello == 3) {
		static const uint8_t ack[] = {0, 0, 0, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0, 0, 0, 0};
		put(g, ack, sizeof(ack));
	}
	flush(g);
}

static void end(struct gen *g, const char *dir, const char *name)
{
	char path[1024];
	flush(g);
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(g->out, 1, g->len, f) != g->len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	nghttp2_session_del(g->h2);
	free(g->out);
}

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE}

/* A request with the usual pseudo-headers; body (may be NULL) is sent as
 * DATA.  Returns the stream ID. */
static int32_t request(struct gen *g, const char *method, const char *path, const char *ctype, struct body *body)
{
	char clen[16];
	nghttp2_nv nv[8] = {NV(":method", method), NV(":scheme", "https"), NV(":authority", "127.0.0.1"),
			    NV(":path", path), NV("accept", "application/dns-message")};
	size_t n = 5;
	if (ctype)
		nv[n++] = (nghttp2_nv)NV("content-type", ctype);
	if (body) {
		snprintf(clen, sizeof(clen), "%zu", body->len);
		nv[n++] = (nghttp2_nv)NV("content-length", clen);
	}
	nghttp2_data_provider dp = {.source.ptr = body, .read_callback = read_body};
	int32_t id = nghttp2_submit_request(g->h2, NULL, nv, n, body ? &dp : NULL, NULL);
	if (id < 0)
		abort();
	flush(g);
	return id;
}

static int32_t get(struct gen *g, const struct msg *m)
{
	char path[1024] = "/dns-query?dns=";
	b64url(m->b, m->len, path + strlen(path));
	return request(g, "GET", path, NULL, NULL);
}

static int32_t post(struct gen *g, const struct msg *m, const char *ctype)
{
	/* flushed before request() returns: the body may live on the stack */
	struct body b = {m->b, m->len, 0, 0};
	return request(g, "POST", "/dns-query", ctype, &b);
}

#define CT "application/dns-message"

int main(int argc, char **argv)
{
	struct gen g;
	const char *dir;
	int n = 0;
	static const nghttp2_settings_entry usual[] = {
		{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
		{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 65535},
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];

	/* one request each: local answers, forwarded names (no server:
	 * REFUSED), the catalogue, EDNS */
	static const struct {
		const char *seed, *name;
		uint16_t type;
		int edns, post;
	} one[] = {
		{"get-local-a", "a.fuzz.test", 1, 0, 0},
		{"post-local-aaaa", "a.fuzz.test", 28, 1, 1},
		{"get-cname-chain", "d.fuzz.test", 1, 1, 0},
		{"post-wildcard", "x.w.fuzz.test", 1, 0, 1},
		{"get-txt", "t.fuzz.test", 16, 1, 0},
		{"post-nxdomain", "nope.fuzz.test", 1, 1, 1},
		{"get-nodata", "a.fuzz.test", 15, 0, 0},
		{"get-soa", "fuzz.test", 6, 1, 0},
		{"get-out-cname", "out.fuzz.test", 1, 0, 0},
		{"get-forward", "www.fwd.test", 1, 1, 0},
		{"post-forward-default", "www.example.com", 1, 0, 1},
		{"post-privatelink", "acct.privatelink.openai.azure.com", 1, 1, 1},
		{"get-any", "a.fuzz.test", 255, 0, 0},
		{"get-resolver-arpa", "_dns.resolver.arpa", 64, 1, 0},
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		struct msg m = query((uint16_t)(0x100 + i), one[i].name, one[i].type, one[i].edns);
		begin(&g, usual, 2, 1);
		if (one[i].post)
			post(&g, &m, CT);
		else
			get(&g, &m);
		end(&g, dir, one[i].seed);
		n++;
	}

	/* bad DNS messages: a label past the end, a response (QR), a header
	 * alone, too short, two questions, opcode NOTIFY, a zero ID over GET */
	static const uint8_t past_end[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 40, 'a', 'b'};
	static const uint8_t short_msg[] = {0x12, 0x34, 1, 0, 0};
	static const uint8_t hdr_only[] = {0x12, 0x34, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	struct msg resp = query(0x4242, "a.fuzz.test", 1, 0);
	resp.b[2] |= 0x80;
	struct msg two = query(0x4343, "a.fuzz.test", 1, 0);
	two.b[5] = 2;
	memcpy(two.b + two.len, two.b + 12, two.len - 12);
	two.len += two.len - 12;
	struct msg notify = query(0x4444, "fuzz.test", 6, 0);
	notify.b[2] = 0x20;
	struct msg zero = query(0, "c.fuzz.test", 1, 1);
	struct msg loop = raw("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01", 18);
	const struct {
		const char *seed;
		struct msg m;
	} bad[] = {
		{"label-past-end", raw(past_end, sizeof(past_end))},
		{"response-not-query", resp},
		{"header-only", raw(hdr_only, sizeof(hdr_only))},
		{"short-message", raw(short_msg, sizeof(short_msg))},
		{"two-questions", two},
		{"notify", notify},
		{"zero-id", zero},
		{"pointer-loop", loop},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[64];
		begin(&g, usual, 2, 1);
		post(&g, &bad[i].m, CT);
		snprintf(name, sizeof(name), "post-bad-%s", bad[i].seed);
		end(&g, dir, name);
		begin(&g, usual, 2, 1);
		get(&g, &bad[i].m);
		snprintf(name, sizeof(name), "get-bad-%s", bad[i].seed);
		end(&g, dir, name);
		n += 2;
	}

	/* several streams on one connection, GET and POST mixed, local,
	 * forwarded and bad: four (the server's limit once its SETTINGS are
	 * ACKed); eight before the server's SETTINGS came (the server refuses
	 * streams over its limit); eight after (over the limit it ACKed: a
	 * connection error) */
	{
		const char *names[] = {"a.fuzz.test",     "www.fwd.test", "c.fuzz.test",  "x.y.w.fuzz.test",
				       "www.example.com", "t.fuzz.test",  "nope.fuzz.test"};
		const struct {
			const char *seed;
			int hello;
			size_t nq;
		} multi[] = {{"streams-four", 1, 4}, {"streams-before-settings", 0, 7}, {"streams-over-limit", 3, 7}};
		for (size_t k = 0; k < sizeof(multi) / sizeof(multi[0]); k++) {
			/* no limit in the client: what the server does about
			 * too many streams is the point */
			nghttp2_settings_entry none[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 65535}};
			begin(&g, none, 1, multi[k].hello);
			for (size_t i = 0; i < multi[k].nq; i++) {
				struct msg m = query((uint16_t)(0x2000 + i), names[i], i % 3 ? 1 : 28, (int)(i & 1));
				if (i & 1)
					post(&g, &m, CT);
				else
					get(&g, &m);
			}
			if (multi[k].nq > 4)
				post(&g, &bad[0].m, CT);
			end(&g, dir, multi[k].seed);
			n++;
		}
	}

	/* HTTP errors: other paths, no or a bad dns parameter, other methods,
	 * other media types, a body over 65,535 bytes */
	{
		struct msg m = query(0x3000, "a.fuzz.test", 1, 0);
		char p[1024], enc[1024];
		b64url(m.b, m.len, enc);
		const struct {
			const char *seed, *method, *path, *ctype;
			int body;
		} http[] = {
			{"path-other", "GET", "/", NULL, 0},
			{"path-prefix", "GET", "/dns-query-not?dns=", NULL, 0},
			{"path-no-dns", "GET", "/dns-query", NULL, 0},
			{"path-empty-dns", "GET", "/dns-query?dns=", NULL, 0},
			{"path-bad-base64", "GET", "/dns-query?dns=AAAA*AAA", NULL, 0},
			{"path-padded-base64", "GET", "/dns-query?dns=EjQBAAABAAAAAAAAAWEEZnV6egR0ZXN0AAABAAE=", NULL, 0},
			{"path-params", "GET", "/dns-query?ct=x&dns=EjQBAAABAAAAAAAAAWEEZnV6eg&x=1", NULL, 0},
			{"path-fragment", "GET", "/dns-query#dns=", NULL, 0},
			{"method-put", "PUT", "/dns-query", CT, 1},
			{"method-head", "HEAD", p, NULL, 0},
			{"method-delete", "DELETE", "/dns-query", NULL, 0},
			{"post-text-plain", "POST", "/dns-query", "text/plain", 1},
			{"post-no-content-type", "POST", "/dns-query", NULL, 1},
			{"post-ct-params", "POST", "/dns-query", "Application/DNS-Message; charset=utf-8", 1},
			{"post-ct-prefix", "POST", "/dns-query", "application/dns-messages", 1},
			{"post-empty-body", "POST", "/dns-query", CT, 2},
			{"post-with-dns-param", "POST", p, CT, 1},
		};
		snprintf(p, sizeof(p), "/dns-query?dns=%s", enc);
		for (size_t i = 0; i < sizeof(http) / sizeof(http[0]); i++) {
			struct body b = {m.b, http[i].body == 1 ? m.len : 0, 0, 0};
			begin(&g, usual, 2, 1);
			request(&g, http[i].method, http[i].path, http[i].ctype, http[i].body ? &b : NULL);
			end(&g, dir, http[i].seed);
			n++;
		}

		/* 70,000 bytes of body, after a window the server would have
		 * granted (server_hello's big window) */
		static uint8_t huge[70000];
		memcpy(huge, m.b, m.len);
		struct body b = {huge, sizeof(huge), 0, 0};
		begin(&g, usual, 2, 2);
		request(&g, "POST", "/dns-query", CT, &b);
		end(&g, dir, "post-oversized-body");
		n++;
	}

	/* frames besides requests: PING, WINDOW_UPDATE, RST_STREAM of a
	 * request, PRIORITY, SETTINGS changing what the server may send,
	 * GOAWAY, padding, trailers, a header block in CONTINUATION frames */
	{
		struct msg m = query(0x5000, "a.fuzz.test", 1, 1);
		static const uint8_t ping[8] = "plinkfwd";
		begin(&g, usual, 2, 1);
		nghttp2_submit_ping(g.h2, NGHTTP2_FLAG_NONE, ping);
		nghttp2_submit_window_update(g.h2, NGHTTP2_FLAG_NONE, 0, 1 << 20);
		int32_t id = get(&g, &m);
		nghttp2_submit_window_update(g.h2, NGHTTP2_FLAG_NONE, id, 4096);
		nghttp2_submit_ping(g.h2, NGHTTP2_FLAG_NONE, ping);
		end(&g, dir, "frames-ping-window-update");
		n++;

		begin(&g, usual, 2, 1);
		struct msg q1 = query(0x5001, "www.fwd.test", 1, 0);
		nghttp2_nv nv[] = {NV(":method", "POST"), NV(":scheme", "https"), NV(":authority", "127.0.0.1"),
				   NV(":path", "/dns-query"), NV("content-type", CT)};
		/* headers now, the body never: then the stream is reset */
		id = nghttp2_submit_headers(g.h2, NGHTTP2_FLAG_NONE, -1, NULL, nv, 5, NULL);
		flush(&g);
		nghttp2_submit_rst_stream(g.h2, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
		post(&g, &m, CT);
		id = get(&g, &q1);
		nghttp2_submit_rst_stream(g.h2, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
		end(&g, dir, "frames-rst-stream");
		n++;

		static const nghttp2_settings_entry odd[] = {
			{NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 0},
			{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
			{NGHTTP2_SETTINGS_MAX_FRAME_SIZE, 32768},
			{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0},
			{NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 1024},
		};
		begin(&g, odd, 5, 1);
		id = get(&g, &m);
		/* a zero window: the answer waits for this */
		nghttp2_submit_window_update(g.h2, NGHTTP2_FLAG_NONE, id, 100);
		static const nghttp2_settings_entry again[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 65535},
							       {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, 4096}};
		nghttp2_submit_settings(g.h2, NGHTTP2_FLAG_NONE, again, 2);
		post(&g, &m, CT);
		end(&g, dir, "frames-settings");
		n++;

		begin(&g, usual, 2, 1);
		nghttp2_priority_spec pri;
		nghttp2_priority_spec_init(&pri, 0, 32, 1);
		nghttp2_submit_priority(g.h2, NGHTTP2_FLAG_NONE, 9, &pri);
		get(&g, &m);
		nghttp2_submit_goaway(g.h2, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, (const uint8_t *)"bye", 3);
		get(&g, &m);
		end(&g, dir, "frames-priority-goaway");
		n++;

		begin(&g, usual, 2, 1);
		g.pad = 1;
		post(&g, &m, CT);
		get(&g, &m);
		end(&g, dir, "frames-padded");
		n++;

		begin(&g, usual, 2, 1);
		struct body b = {q1.b, q1.len, 0, 1};
		nghttp2_data_provider dp = {.source.ptr = &b, .read_callback = read_body};
		nghttp2_submit_request(g.h2, NULL, nv, 5, &dp, NULL);
		flush(&g);
		end(&g, dir, "frames-trailer");
		n++;

		/* a header block bigger than one frame: HEADERS + CONTINUATION */
		static char big[40000];
		memset(big, 'x', sizeof(big) - 1);
		begin(&g, usual, 2, 1);
		nghttp2_nv nvbig[] = {NV(":method", "GET"), NV(":scheme", "https"), NV(":authority", "127.0.0.1"),
				      NV(":path", "/dns-query?dns=EjQBAAABAAAAAAAAAWEEZnV6egR0ZXN0AAABAAE"),
				      NV("x-big", big)};
		nghttp2_submit_request(g.h2, NULL, nvbig, 5, NULL, NULL);
		get(&g, &m);
		end(&g, dir, "frames-continuation");
		n++;
	}

	/* not HTTP/2: HTTP/1.1, and a TLS ClientHello where HTTP/2 was due */
	{
		static const char h1[] = "GET /dns-query?dns=EjQBAAABAAAAAAAAAWEEZnV6egR0ZXN0AAABAAE HTTP/1.1\r\n"
					 "Host: 127.0.0.1\r\nAccept: application/dns-message\r\n\r\n";
		static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03};
		memset(&g, 0, sizeof(g));
		put(&g, h1, sizeof(h1) - 1);
		char path[1024];
		snprintf(path, sizeof(path), "%s/seed-not-h2-http11", dir);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(g.out, 1, g.len, f) != g.len || fclose(f) != 0)
			return 1;
		free(g.out);
		snprintf(path, sizeof(path), "%s/seed-not-h2-tls", dir);
		f = fopen(path, "wb");
		if (!f || fwrite(hello, 1, sizeof(hello), f) != sizeof(hello) || fclose(f) != 0)
			return 1;
		n += 2;
	}
	printf("%d seeds in %s\n", n, dir);
	return 0;
}
