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

struct tcp_conn;

enum client_transport { CLIENT_UDP = 0, CLIENT_TCP = 1 };

struct client {
	enum client_transport transport;
	int fd;                          /* UDP: the socket the query came in on */
	struct sockaddr_storage addr;    /* client address */
	socklen_t addrlen;
	struct tcp_conn *conn;           /* TCP: the connection (pool object, listener.c) */
	uint64_t conn_gen;               /* TCP: generation when the query came */
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
