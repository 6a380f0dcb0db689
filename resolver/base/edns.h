/*
 * edns.h -- EDNS as a hop-by-hop protocol (docs/edns.md): plinkfwd reads a
 * client's OPT record, answers the client with an OPT record of its own,
 * and asks upstreams with an OPT record of its own.  Nothing of one hop's
 * OPT crosses to the other hop, except Extended DNS Errors (RFC 8914).
 *
 *   edns_parse()              the options of a query's OPT (RFC 6891, 7873)
 *   edns_client_init()        per-query state to carry until the answer,
 *                             with the DNS cookie verdict (RFC 7873, 9018)
 *   edns_finish_reply()       strip whatever OPT a reply has, append ours
 *   edns_truncate_reply()     the same for a reply cut to header+question+TC
 *   edns_reply_error()        FORMERR/NOTIMP/REFUSED/SERVFAIL/BADVERS/
 *                             BADCOOKIE replies with only the allowed flags
 *   edns_build_upstream_query() a query to an upstream, built from scratch
 *   edns_ede_extract()        the EDE options of an upstream reply
 *
 * Rules for the whole module:
 *  - nothing allocates, nothing keeps state between calls, nothing reads
 *    the clock (time comes in as `now`, seconds since the epoch) and
 *    nothing draws random numbers (secrets come in from the caller);
 *  - every buffer belongs to the caller.  Functions read their `const`
 *    inputs during the call only and keep no pointer to them; output
 *    structs are plain values (no pointers into packets) unless the
 *    field says otherwise;
 *  - builders take (buffer, capacity) and return the bytes written, or 0
 *    when the result does not fit or the input cannot be walked.
 */
#ifndef PLINKFWD_EDNS_H
#define PLINKFWD_EDNS_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct sockaddr;

/* EDNS option codes (IANA "DNS EDNS0 Option Codes") */
#define EDNS_OPT_NSID 3       /* RFC 5001 */
#define EDNS_OPT_ECS 8        /* RFC 7871 client subnet */
#define EDNS_OPT_EXPIRE 9     /* RFC 7314 */
#define EDNS_OPT_COOKIE 10    /* RFC 7873 */
#define EDNS_OPT_KEEPALIVE 11 /* RFC 7828 */
#define EDNS_OPT_PADDING 12   /* RFC 7830 */
#define EDNS_OPT_EDE 15       /* RFC 8914 */

#define RCODE_BADCOOKIE 23 /* RFC 7873: extended, needs OPT */

#define EDNS_OPT_HDR_LEN 11          /* an OPT RR without options */
#define EDNS_CLIENT_COOKIE_LEN 8
#define EDNS_SERVER_COOKIE_LEN 16    /* RFC 9018: version, reserved, time, hash */
#define EDNS_COOKIE_LEN (EDNS_CLIENT_COOKIE_LEN + EDNS_SERVER_COOKIE_LEN)
#define EDNS_COOKIE_MAX_LEN 40       /* client 8 + server 8..32 */
#define EDNS_COOKIE_SECRET_LEN 16

/* RFC 9018 4.3 timestamp rules, in seconds */
#define EDNS_COOKIE_MAX_AGE 3600     /* older: not valid */
#define EDNS_COOKIE_MAX_SKEW 300     /* further in the future: not valid */
#define EDNS_COOKIE_REISSUE 1800     /* older: answer with a fresh one */
/* The default and smallest secret rotation periods.  A cookie made just
 * before a rotation must still verify (with the previous secret) until it
 * expires, so a period shorter than its lifetime plus skew is raised. */
#define EDNS_COOKIE_ROTATE_DEFAULT 86400u
#define EDNS_COOKIE_ROTATE_MIN (EDNS_COOKIE_MAX_AGE + EDNS_COOKIE_MAX_SKEW)

/* ------------------------------------------------------------ parsing */

/* which options a query's OPT carried (struct edns_query .seen) */
#define EDNS_SEEN_NSID 0x01u
#define EDNS_SEEN_ECS 0x02u
#define EDNS_SEEN_EXPIRE 0x04u
#define EDNS_SEEN_COOKIE 0x08u
#define EDNS_SEEN_KEEPALIVE 0x10u
#define EDNS_SEEN_PADDING 0x20u
#define EDNS_SEEN_EDE 0x40u
#define EDNS_SEEN_UNKNOWN 0x80u

enum edns_verdict {
	EDNS_OK = 0,   /* no OPT, or a well-formed version-0 OPT */
	EDNS_FORMERR,  /* options overrun the RDATA, or the COOKIE has a bad length */
	EDNS_BADVERS   /* well-formed, but a version other than 0 */
};

/*
 * A query's OPT record, fully read.  Offsets point into the packet the
 * struct wire_query was parsed from (q->pkt) and are valid as long as it.
 */
struct edns_query {
	uint8_t present;      /* the query had an OPT record */
	uint8_t version;
	uint8_t do_bit;
	uint8_t cookie_len;   /* length of the first COOKIE option (0: none) */
	uint16_t udp_size;    /* requestor's payload size as sent (not clamped) */
	uint16_t seen;        /* EDNS_SEEN_* of every option present */
	uint16_t nopts;       /* number of options */
	size_t cookie_off;    /* offset in q->pkt of that COOKIE's data (0: none) */
};

/*
 * Read the options of the OPT record wire_parse_query() found (q->opt_off).
 * Call it for WIRE_OK and WIRE_BADVERS verdicts (and WIRE_FORMERR with
 * QDCOUNT 0, see edns_cookie_only_query()); e is always filled as far as
 * the options could be read.  Only the first COOKIE option counts (later
 * ones are ignored); its length must be 8 or 16..40 (RFC 7873 5.2.2).
 * On EDNS_FORMERR no cookie is reported (cookie_off 0): the FORMERR reply
 * carries none.
 * The other options are only noted in e->seen: none of them is relayed.
 */
enum edns_verdict edns_parse(const struct wire_query *q, struct edns_query *e);

/* ------------------------------------------------------------ cookies */

/*
 * The server secret (RFC 9018): cookies are made with cur and verified
 * with cur or prev.  A plain value owned by the caller; every worker that
 * answers the same clients must use the same secret (copy it, or share it
 * read-only and rotate it where the daemon publishes new state).
 */
struct edns_cookie_secret {
	uint8_t cur[EDNS_COOKIE_SECRET_LEN];
	uint8_t prev[EDNS_COOKIE_SECRET_LEN];
	uint64_t cur_since;   /* when cur was installed (seconds) */
	uint32_t period;      /* rotation period in seconds, 0: never rotate */
	uint8_t has_prev;
};

/* Install secret (16 random bytes, or a configured shared secret) as the
 * current one at time now; period 0 never rotates, others are raised to
 * EDNS_COOKIE_ROTATE_MIN. */
void edns_cookie_secret_init(struct edns_cookie_secret *s, const uint8_t secret[EDNS_COOKIE_SECRET_LEN],
			     uint32_t period, uint64_t now);
/* 1 when cur is older than the rotation period at time now. */
int edns_cookie_secret_due(const struct edns_cookie_secret *s, uint64_t now);
/* When due: cur becomes prev and fresh (16 random bytes) becomes cur;
 * returns 1 if it rotated, 0 if it was not due (fresh unused). */
int edns_cookie_secret_rotate(struct edns_cookie_secret *s, const uint8_t fresh[EDNS_COOKIE_SECRET_LEN],
			      uint64_t now);

/*
 * The secret as the daemon shares it with its workers: two copies and an
 * index.  The main thread rotates by writing the copy not in use and then
 * publishing its index (release); a worker loads the index (acquire) once
 * per query.  A reader would have to hold a copy for a whole rotation
 * period (a day by default, never less than 3900 s) to see it rewritten.
 */
struct edns_cookie_keys {
	struct edns_cookie_secret slot[2];
	unsigned cur;                /* index of the copy in use (atomic access) */
};
/* Install the first secret (main thread, before any worker runs). */
void edns_cookie_keys_init(struct edns_cookie_keys *k, const uint8_t secret[EDNS_COOKIE_SECRET_LEN],
			   uint32_t period, uint64_t now);
/* Rotate when due (main thread): 1 when it did. */
int edns_cookie_keys_rotate(struct edns_cookie_keys *k, const uint8_t fresh[EDNS_COOKIE_SECRET_LEN],
			    uint64_t now);
/* The secret to use now (any thread). */
const struct edns_cookie_secret *edns_cookie_keys_current(const struct edns_cookie_keys *k);

/*
 * The client address as the cookie hash takes it: 4 bytes for IPv4 (also
 * for an IPv4-mapped IPv6 address, so v4 and dual-stack sockets agree),
 * 16 for IPv6.  *ip points into sa.  Returns the length, 0 for other
 * families.
 */
size_t edns_addr_bytes(const struct sockaddr *sa, const uint8_t **ip);

/*
 * The RFC 9018 server cookie for client cookie cc, made at time ts (low
 * 32 bits), for the client address ip (4 or 16 bytes), with secret key:
 * version 1, reserved 0, ts, then SipHash-2-4 over
 * cc | version | reserved | ts | ip.  Written to out (16 bytes).
 */
void edns_server_cookie(const uint8_t key[EDNS_COOKIE_SECRET_LEN], const uint8_t cc[EDNS_CLIENT_COOKIE_LEN],
			uint32_t ts, const uint8_t *ip, size_t iplen, uint8_t out[EDNS_SERVER_COOKIE_LEN]);

enum edns_cookie_status {
	EDNS_COOKIE_NONE = 0,     /* no COOKIE option, or cookies off */
	EDNS_COOKIE_CLIENT_ONLY,  /* a client cookie only */
	EDNS_COOKIE_BAD,          /* a server cookie that is not ours, or no longer valid */
	EDNS_COOKIE_VALID         /* a server cookie we made, in its time window */
};

/*
 * Check a COOKIE option (data cookie, length len: 8 or 16..40) sent by ip
 * at time now: VALID when it is 24 bytes, version 1, its timestamp is at
 * most EDNS_COOKIE_MAX_AGE old and EDNS_COOKIE_MAX_SKEW ahead (serial
 * number arithmetic) and its hash verifies with s->cur or s->prev (the
 * reserved bytes are hashed as received).  *with_cur (may be NULL) tells
 * which secret verified it.
 */
enum edns_cookie_status edns_cookie_check(const struct edns_cookie_secret *s, const uint8_t *cookie,
					  size_t len, const uint8_t *ip, size_t iplen, uint64_t now,
					  int *with_cur);

/* ------------------------------------------------- per-query EDNS state */

/*
 * What the answer to one query needs to know about the query's EDNS: a
 * small plain value (no pointers) meant to be embedded in struct client,
 * so that it travels with the upstream query and the answer can be built
 * when the reply comes back.
 */
struct edns_client {
	uint8_t has_edns;     /* the query had an OPT: the answer gets ours */
	uint8_t do_bit;       /* DO to echo */
	uint8_t nsid;         /* the client asked for NSID */
	uint8_t cookie;       /* enum edns_cookie_status */
	uint16_t udp_size;    /* the client's payload size (clamped to >= 512) */
	uint8_t cookie_len;   /* bytes of cookie_data to send back: 0 or 24 */
	uint8_t cookie_data[EDNS_COOKIE_LEN]; /* client cookie | our server cookie */
};

/* What the client's query gets, from its cookie and the policy. */
enum edns_action {
	EDNS_ANSWER = 0,     /* answer normally; every reply goes through edns_finish_reply() */
	EDNS_BADCOOKIE       /* answer BADCOOKIE (edns_reply_error(..., RCODE_BADCOOKIE, ...)) */
};

/* Cookie policy and context for edns_client_init(). */
struct edns_cookie_params {
	const struct edns_cookie_secret *secret; /* NULL: cookies off (options ignored) */
	const uint8_t *ip;       /* client address bytes (edns_addr_bytes()) */
	size_t iplen;            /* 4 or 16 */
	uint64_t now;            /* seconds since the epoch */
	uint8_t tcp;             /* the query came over TCP (or another stateful transport) */
	uint8_t required_udp;    /* cookies-required-udp: no valid server cookie over UDP -> BADCOOKIE */
};

/*
 * Fill c from the query's OPT (e from edns_parse(); any verdict) and
 * decide on its cookie (RFC 7873 5.2): with cookies on and a client
 * cookie present, c carries the client cookie and a server cookie to
 * send back -- the received one when it is VALID, made with the current
 * secret and younger than EDNS_COOKIE_REISSUE, else a fresh one.  A bad
 * or missing server cookie is answered normally, except over UDP with
 * p->required_udp, where the answer is BADCOOKIE (RFC 7873 5.2.3/5.2.4).
 * p may be NULL (cookies off).
 */
enum edns_action edns_client_init(const struct wire_query *q, const struct edns_query *e,
				  const struct edns_cookie_params *p, struct edns_client *c);

/*
 * RFC 7873 5.4: a query with no question, only an OPT with a COOKIE, asks
 * for a server cookie.  1 when q (WIRE_FORMERR verdict because QDCOUNT is
 * 0) and e (EDNS_OK) are such a query: answer it with
 * edns_reply_error(q, RCODE_NOERROR, ...) (or BADCOOKIE as edns_client_init
 * says) instead of FORMERR.
 */
int edns_cookie_only_query(const struct wire_query *q, const struct edns_query *e, enum edns_verdict ev);

/* ------------------------------------------------ Extended DNS Errors */

/* RFC 8914 info-codes plinkfwd is likely to use */
enum edns_ede_code {
	EDE_OTHER = 0,
	EDE_STALE_ANSWER = 3,
	EDE_FORGED_ANSWER = 4,
	EDE_NOT_READY = 14,
	EDE_BLOCKED = 15,
	EDE_FILTERED = 17,
	EDE_PROHIBITED = 18,
	EDE_STALE_NXDOMAIN = 19,
	EDE_NOT_AUTHORITATIVE = 20,
	EDE_NOT_SUPPORTED = 21,
	EDE_NO_REACHABLE_AUTHORITY = 22,
	EDE_NETWORK_ERROR = 23,
	EDE_INVALID_DATA = 24
};

#define EDNS_EDE_MAX 4         /* EDE options one reply carries at most */
#define EDNS_EDE_TEXT_MAX 64   /* EXTRA-TEXT kept per option (cut on a UTF-8 boundary) */

struct edns_ede {
	uint16_t code;
	uint8_t text_len;
	char text[EDNS_EDE_TEXT_MAX]; /* UTF-8, not NUL-terminated */
};

/* A small list of EDE options, a plain value owned by the caller (zero it
 * to start: struct edns_ede_list l = {0};). */
struct edns_ede_list {
	uint8_t n;
	struct edns_ede e[EDNS_EDE_MAX];
};

/* Append an EDE (text may be NULL; longer text is cut).  -1 when full. */
int edns_ede_add(struct edns_ede_list *l, uint16_t code, const char *text);

/*
 * Append the EDE options of a reply's OPT record(s) to l (copies: l does
 * not point into msg).  Returns how many were added (those beyond
 * EDNS_EDE_MAX are dropped), -1 when msg cannot be walked.  Call it before
 * edns_finish_reply() rewrites msg.
 */
int edns_ede_extract(const uint8_t *msg, size_t len, struct edns_ede_list *l);

/* ------------------------------------------------------------- replies */

/* What edns_finish_reply() puts into the reply (all pointers: caller's,
 * read during the call only). */
struct edns_reply {
	const struct edns_client *client; /* NULL or !has_edns: the reply gets no OPT */
	int rcode;                 /* full rcode (0..4095) to set, or -1: keep the reply's own
				      (header bits plus the extended bits of its old OPT) */
	uint16_t flags_clear;      /* header bits to clear, e.g. WIRE_AA for forwarded/cached data */
	uint16_t flags_set;        /* header bits to set, e.g. WIRE_RA */
	uint16_t udp_size;         /* our payload size; 0: WIRE_EDNS_UDP */
	const uint8_t *nsid;       /* our NSID (nsid: option), sent when the client asked */
	uint16_t nsid_len;
	const struct edns_ede_list *ede;          /* plinkfwd's own EDE options, or NULL */
	const struct edns_ede_list *upstream_ede; /* upstream EDEs to pass on, or NULL */
};

/*
 * Rewrite the reply msg[0..len) (buffer of cap bytes) for the client:
 * remove every OPT record from its additional section (e.g. the
 * upstream's, with its COOKIE, NSID, ECS, padding...), then append
 * plinkfwd's own OPT as r says -- our payload size, DO as the client sent
 * it, the extended rcode bits, the client's cookie with our server cookie,
 * NSID when asked for and configured, the EDE options -- and fix ARCOUNT.
 * Without client EDNS no OPT is added (an rcode above 15 then becomes
 * SERVFAIL).  Additional records after the old OPT are kept when they are
 * A/AAAA records whose owner name does not point behind the OPT, others
 * there are dropped (moving them could break compression pointers).
 *
 * Returns the new length, or 0 when it would exceed min(cap, limit)
 * (limit 0: cap) or msg cannot be walked; msg is then left unchanged --
 * call edns_truncate_reply() (and answer SERVFAIL if that fails too).
 */
size_t edns_finish_reply(uint8_t *msg, size_t len, size_t cap, size_t limit, const struct edns_reply *r);

/*
 * Cut msg to header + question, zero the other counts, set TC, and append
 * our OPT as edns_finish_reply() does, leaving out the EDE options and
 * then NSID if that is what it takes to fit into min(cap, limit).
 * Returns the new length or 0 (msg cannot be walked, or even the bare
 * header+question+OPT does not fit).
 */
size_t edns_truncate_reply(uint8_t *msg, size_t len, size_t cap, size_t limit, const struct edns_reply *r);

/*
 * Header flags for an error reply plinkfwd makes up (RFC 1035, RFC 6891,
 * and what BIND/unbound do): QR, the query's opcode, the rcode's low 4
 * bits, and
 *   NOTIMP                   nothing else: no RD/CD echo, no RA
 *   anything else            RD and CD echoed, RA when ra is set
 *   (FORMERR, REFUSED, SERVFAIL, NOERROR, BADVERS, BADCOOKIE)
 * AA, TC and AD are never set.
 */
uint16_t edns_error_flags(uint16_t qflags, int rcode, int ra);

/*
 * A complete error reply: header (edns_error_flags), the question when it
 * was parsed completely, and an OPT record when the client's query had one:
 * r->client decides when given (so q may be a parse of the query plinkfwd
 * sent upstream); with r or r->client NULL, q->has_edns decides and the
 * OPT is bare, as wire_reply_error() makes it.
 * rcode is the full rcode: BADVERS (16) and BADCOOKIE (23) carry their
 * upper bits in the OPT, which such a reply always gets (the query had an
 * OPT anyway).  r->rcode is ignored.  Returns bytes written, 0 if cap is
 * too small.  Meant to replace wire_reply_error() (kept for its callers).
 */
size_t edns_reply_error(const struct wire_query *q, int rcode, int ra, const struct edns_reply *r,
			uint8_t *out, size_t cap);

/* ----------------------------------------------------------- upstreams */

/*
 * A query to an upstream built from scratch into out: header (id, opcode
 * QUERY, RD, CD and AD as the client sent them), the question exactly as
 * the client sent it (case kept: it is echoed back), and plinkfwd's own
 * OPT: payload size udp_size (0: WIRE_EDNS_UDP), DO when the client set it,
 * version 0, and no option of the client's.  cookie (may be NULL): COOKIE
 * option data plinkfwd sends to this upstream (its own 8-byte client cookie,
 * optionally followed by the server cookie the upstream gave it: 8 or
 * 16..40 bytes).  Returns bytes written, 0 if cap is too small or the
 * query's question was not parsed.
 */
size_t edns_build_upstream_query(const struct wire_query *q, uint16_t id, uint16_t udp_size,
				 const uint8_t *cookie, size_t cookie_len, uint8_t *out, size_t cap);

/*
 * Find option code in the (first) OPT record of msg: 1 and *data and *dlen
 * pointing into msg when found, 0 when msg has no OPT or no such option,
 * -1 when msg cannot be walked.  For the upstream side (e.g. to learn an
 * upstream's server cookie) and for tests.
 */
int edns_find_option(const uint8_t *msg, size_t len, uint16_t code, const uint8_t **data, uint16_t *dlen);

#endif
