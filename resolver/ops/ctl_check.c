/*
 * ctl_check.c -- plinkfwd-ctl's "check" (see ctl_check.h): a DNS question
 * to the daemon, its "check" control command, TCP probes, the report.
 */
#include "ctl_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "wire.h"

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "a.b.c.d@port" or "[v6]@port" (control_json.c's form) into ss; the
 * wildcard address becomes loopback, where the daemon also listens. */
static int parse_listener(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *at = strrchr(text, '@');
	long port;

	if (at == NULL || (size_t)(at - text) >= sizeof(host))
		return -1;
	memcpy(host, text, (size_t)(at - text));
	host[at - text] = '\0';
	port = strtol(at + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		size_t n = strlen(host);
		if (n < 2 || host[n - 1] != ']')
			return -1;
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -1;
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			s6->sin6_addr = in6addr_loopback;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -1;
	if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*len = sizeof(*s4);
	return 0;
}

/* Ask the daemon (name, qtype) over UDP and wait for its answer: the
 * answer lands in its cache, which "check" then reads.  The rcode, or -1
 * when no answer came within CTL_CHECK_DNS_MS. */
static int dns_ask(const struct sockaddr_storage *ss, socklen_t sslen, const char *name, uint16_t qtype)
{
	uint8_t q[WIRE_HDR_LEN + WIRE_MAX_NAME + 4], r[4096];
	int wl = wire_name_from_text(name, q + WIRE_HDR_LEN);
	uint16_t id = 0;
	int fd, rc = -1;
	uint64_t deadline;

	if (wl < 0)
		return -1;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)getpid();
	wire_put_header(q, id, WIRE_RD, 1, 0, 0, 0);
	wire_put16(q + WIRE_HDR_LEN + wl, qtype);
	wire_put16(q + WIRE_HDR_LEN + wl + 2, CLASS_IN);
	fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, sslen) < 0 ||
	    send(fd, q, WIRE_HDR_LEN + (size_t)wl + 4, 0) < 0) {
		close(fd);
		return -1;
	}
	deadline = clock_ms(&fwd_clock_monotonic) + CTL_CHECK_DNS_MS;
	for (;;) {
		uint64_t now = clock_ms(&fwd_clock_monotonic);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0)
			break;
		ssize_t n = recv(fd, r, sizeof(r), 0);
		if (n >= WIRE_HDR_LEN && r[0] == (uint8_t)(id >> 8) && r[1] == (uint8_t)id) {
			rc = r[3] & 0x0f;
			break;
		}
		if (n < 0 && errno != EINTR)
			break;
	}
	close(fd);
	return rc;
}

/* A TCP connection to addr:port from this host: "connected", "refused",
 * "timed out", or the error. */
static const char *tcp_probe(const char *addr, int port, char *buf, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err = 0;
	socklen_t elen = sizeof(err);
	struct pollfd p;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		len = sizeof(struct sockaddr_in6);
	} else {
		return "not an address";
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(buf, cap, "error: %s", strerror(errno));
		return buf;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		close(fd);
		return "connected";
	}
	if (errno != EINPROGRESS) {
		err = errno;
		close(fd);
		if (err == ECONNREFUSED)
			return "refused";
		snprintf(buf, cap, "error: %s", strerror(err));
		return buf;
	}
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, CTL_CHECK_CONNECT_MS) <= 0) {
		close(fd);
		return "timed out";
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	close(fd);
	if (err == 0)
		return "connected";
	if (err == ECONNREFUSED)
		return "refused";
	if (err == ETIMEDOUT)
		return "timed out";
	snprintf(buf, cap, "error: %s", strerror(err));
	return buf;
}

/* Where a chain record came from, in one line. */
static void print_from(const cJSON *c)
{
	const cJSON *og = cJSON_GetObjectItemCaseSensitive(c, "origin");
	const char *src = jstr(og, "source"), *id = jstr(og, "arm_id"), *from = jstr(c, "from");
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(og, "line");

	if (src && strcmp(src, "arm") == 0 && id && strstr(id, "/privateEndpoints/"))
		printf("      from private endpoint %s (connection Approved), zone %s\n", id,
		       jstr(og, "zone") ? jstr(og, "zone") : "?");
	else if (src && strcmp(src, "arm") == 0 && id)
		printf("      from ARM record set %s\n", id);
	else if (src && strcmp(src, "zone-file") == 0 && cJSON_IsNumber(line))
		printf("      from %s:%d\n", jstr(og, "file") ? jstr(og, "file") : "?", line->valueint);
	else if (src && strcmp(src, "upstream") == 0)
		printf("      from upstream group %s\n", jstr(og, "group") ? jstr(og, "group") : "?");
	else if (from)
		printf("      from %s\n", from);
	if (jstr(og, "note"))
		printf("      (%s)\n", jstr(og, "note"));
}

int ctl_check_run(ctl_request_fn req, void *arg, const char *name, int connect_port, int json)
{
	char line[1200], *resp;
	cJSON *st, *o;
	const cJSON *ls, *c;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	int have_addr = 0, rc;

	/* 1. the question, through the daemon's own policy */
	resp = req(arg, "status\n");
	if (resp == NULL)
		return 3;
	st = cJSON_Parse(resp);
	free(resp);
	ls = cJSON_GetObjectItemCaseSensitive(st, "listen");
	cJSON_ArrayForEach(c, ls)
		if (!have_addr && cJSON_IsString(c) && parse_listener(c->valuestring, &ss, &sslen) == 0)
			have_addr = 1;
	cJSON_Delete(st);
	if (!have_addr) {
		fprintf(stderr, "plinkfwd-ctl: check: the daemon reports no listening address to ask\n");
		return 1;
	}
	if (dns_ask(&ss, sslen, name, TYPE_A) < 0)
		fprintf(stderr, "plinkfwd-ctl: check: no DNS answer from the daemon for %s A\n", name);
	dns_ask(&ss, sslen, name, TYPE_AAAA);

	/* 2. what it answered, and from where */
	snprintf(line, sizeof(line), "check %s\n", name);
	resp = req(arg, line);
	if (resp == NULL)
		return 3;
	o = cJSON_Parse(resp);
	free(resp);
	if (!cJSON_IsObject(o)) {
		fprintf(stderr, "plinkfwd-ctl: the daemon's answer is not JSON\n");
		cJSON_Delete(o);
		return 3;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"))) {
		fprintf(stderr, "plinkfwd-ctl: check failed: %s\n", jstr(o, "error") ? jstr(o, "error") : "?");
		cJSON_Delete(o);
		return 1;
	}

	/* 3. the connections */
	const cJSON *addrs = cJSON_GetObjectItemCaseSensitive(o, "addresses"), *a;
	const char *result = jstr(o, "result") ? jstr(o, "result") : "unresolved";
	int reached = 0, failed = 0;
	if (connect_port > 0) {
		cJSON *conn = cJSON_AddArrayToObject(o, "connect");
		cJSON_ArrayForEach(a, addrs)
		{
			char buf[200];
			const char *r = tcp_probe(jstr(a, "address") ? jstr(a, "address") : "", connect_port, buf,
						  sizeof(buf));
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "address", jstr(a, "address") ? jstr(a, "address") : "?");
			cJSON_AddNumberToObject(e, "port", connect_port);
			cJSON_AddStringToObject(e, "result", r);
			cJSON_AddItemToArray(conn, e);
			if (strcmp(r, "connected") == 0)
				reached++;
			else
				failed++;
		}
	}
	if (strcmp(result, "public") == 0)
		rc = CTL_CHECK_PUBLIC;
	else if (strcmp(result, "private") != 0)
		rc = CTL_CHECK_UNRESOLVED;
	else if (connect_port > 0 && failed > 0)
		rc = CTL_CHECK_UNREACHABLE;
	else
		rc = CTL_CHECK_PRIVATE;
	cJSON_AddNumberToObject(o, "exit", rc);

	if (json) {
		char *s = cJSON_PrintUnformatted(o);
		if (s)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(o);
		return rc;
	}
	printf("check %s\n", jstr(o, "name") ? jstr(o, "name") : name);
	printf("chain:\n");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(o, "chain"))
	{
		printf("   %s\n", jstr(c, "rr") ? jstr(c, "rr") : "?");
		print_from(c);
	}
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "chain")) == 0)
		printf("   (nothing: %s)\n", jstr(o, "rcode") ? jstr(o, "rcode") : "no answer");
	printf("addresses of %s:\n", jstr(o, "final_name") ? jstr(o, "final_name") : "?");
	{
		const cJSON *conn = cJSON_GetObjectItemCaseSensitive(o, "connect");
		int k = 0;
		cJSON_ArrayForEach(a, addrs)
		{
			const cJSON *e = cJSON_GetArrayItem(conn, k++);
			int priv = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "private"));
			printf("   %s  %s", jstr(a, "address") ? jstr(a, "address") : "?", priv ? "private" : "PUBLIC");
			if (priv && jstr(a, "why"))
				printf(" (%s)", jstr(a, "why"));
			if (e)
				printf("  tcp/%d: %s", connect_port, jstr(e, "result") ? jstr(e, "result") : "?");
			putchar('\n');
		}
		if (cJSON_GetArraySize(addrs) == 0)
			printf("   none\n");
	}
	{
		const cJSON *eps = cJSON_GetObjectItemCaseSensitive(o, "endpoints");
		if (cJSON_GetArraySize(eps) > 0) {
			printf("private endpoints:\n");
			cJSON_ArrayForEach(c, eps)
				printf("   %s\n", jstr(c, "note") ? jstr(c, "note") : "?");
		}
	}
	switch (rc) {
	case CTL_CHECK_PRIVATE:
		printf("result: private%s (exit 0)\n", connect_port > 0 ? " and reachable" : "");
		break;
	case CTL_CHECK_PUBLIC:
		printf("result: resolves to a public address (exit 4)\n");
		break;
	case CTL_CHECK_UNRESOLVED:
		printf("result: does not resolve (exit 5)\n");
		break;
	default:
		printf("result: private, but %d of %d addresses unreachable on tcp/%d (exit 6)\n", failed,
		       failed + reached, connect_port);
		break;
	}
	cJSON_Delete(o);
	return rc;
}
