/*
 * client.h -- how to reach the client of a query: the transport only.
 *
 * A struct client is a small value (no pointers it owns) that travels by
 * value inside a forwarded step (step.h), so that the answer can be sent
 * when the upstream reply arrives.  For TCP the connection may be gone by
 * then: conn_gen is compared with the connection's current generation
 * before sending (listener.c).
 */
#ifndef PLINKFWD_CLIENT_H
#define PLINKFWD_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "edns.h"

struct doh_conn;
struct tcp_conn;

/* The transport a query came on; also the index of the per-transport
 * answer counters (stats.h) and the word the query log and /metrics print
 * (client_transport_name). */
enum client_transport { CLIENT_UDP = 0, CLIENT_TCP = 1, CLIENT_TLS = 2, CLIENT_HTTPS = 3, CLIENT_NTRANSPORT };

/* "udp", "tcp", "tls", "https" (static strings). */
static inline const char *client_transport_name(enum client_transport t)
{
	static const char *const names[CLIENT_NTRANSPORT] = {"udp", "tcp", "tls", "https"};
	return (unsigned)t < CLIENT_NTRANSPORT ? names[t] : "?";
}

/* A stream transport: no UDP size limit, no truncation, TCP upstream
 * retries as for TCP (RFC 7766). */
static inline int client_is_stream(enum client_transport t) { return t != CLIENT_UDP; }

struct client {
	enum client_transport transport;
	int fd;                          /* UDP: the socket the query came in on */
	struct sockaddr_storage addr;    /* client address */
	socklen_t addrlen;
	struct tcp_conn *conn;           /* TCP, TLS: the connection (pool object, stream.c) */
	struct doh_conn *hconn;          /* HTTPS: the connection (pool object, doh.c) */
	uint64_t conn_gen;               /* TCP, TLS, HTTPS: generation when the query came */
	int32_t stream_id;               /* HTTPS: the HTTP/2 stream to answer on */
	uint16_t id;                     /* the client's query ID */
	uint16_t udp_limit;              /* reply size limit (UDP) */
	uint64_t start_us;               /* arrival time (worker clock), for latency */
	/* UDP on a wildcard address: where the query was sent, so that the
	 * answer leaves from that same address (IP_PKTINFO/IPV6_PKTINFO);
	 * a client drops answers from any other source. */
	uint8_t has_local;
	union {
		struct in_pktinfo v4;
		struct in6_pktinfo v6;
	} local;
	/* Set by query.c for a forwarded question: this client's EDNS state
	 * (has OPT, DO, payload size, NSID asked, the cookie to send back),
	 * so that a later answer gets this hop's own OPT (docs/edns.md). */
	struct edns_client edns;
};

#endif
