/*
 * listener.c -- a worker's UDP and TCP sockets (see listener.h).
 *
 * Buffer ownership: the listener owns every receive and send buffer.  A
 * query is handled while its receive buffer is live; query_handle() copies
 * whatever must outlive the call (upstream.c copies forwarded queries).
 */
#include "listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "client.h"
#include "clock.h"
#include "common.h"
#include "acl.h"
#include "config.h"
#include "log.h"
#include "query.h"
#include "snapshot.h"
#include "stats.h"
#include "wire.h"

#define UDP_BATCH 64      /* datagrams per recvmmsg/sendmmsg */
#define UDP_BUFSZ 4096    /* larger queries are not DNS queries anyone sends */
#define UDP_ROUNDS 4      /* batches per wake-up before yielding to other events */

struct udp_sock {
	struct listener *l;
	int fd;
	int family;
	int pktinfo;      /* bound to a wildcard address: track local addresses */
	struct event *ev;
};

#define CTL_SIZE 64 /* room for one in6_pktinfo control message */

struct tcp_lsock {
	struct listener *l;
	int fd;
	struct event *ev;
};

struct tcp_conn {
	struct listener *l;
	struct bufferevent *bev;     /* NULL when the slot is free */
	uint64_t gen;                /* bumped at close: late replies are dropped */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int inflight;                /* forwarded queries not answered yet */
	int read_paused;             /* inflight reached the per-connection cap */
	int eof;                     /* client closed its side: close when drained */
	int deadline_armed;          /* part of a message is buffered: it must complete in time */
	struct event *deadline;      /* owned: closes a connection whose message does not complete */
	struct tcp_conn *next_free;
};

struct listener {
	struct query_engine *qe;    /* borrowed: answers every query */
	struct event_base *base;    /* borrowed: the worker's loop */
	struct udp_sock *udp;
	size_t nudp;
	struct tcp_lsock *tcp;
	size_t ntcp;
	struct tcp_conn *conns;      /* pool of cfg->tcp_max_conns */
	size_t nconns;
	struct tcp_conn *free_conns;
	size_t open_conns;
	int idle_ms;
	int max_inflight;
	int max_per_client;          /* open connections per source address */
	/* UDP batch state: reused on every wake-up */
	struct mmsghdr rmsg[UDP_BATCH];
	struct iovec riov[UDP_BATCH];
	struct sockaddr_storage raddr[UDP_BATCH];
	uint8_t rctl[UDP_BATCH][CTL_SIZE];
	uint8_t sctl[UDP_BATCH][CTL_SIZE];
	struct mmsghdr smsg[UDP_BATCH];
	struct iovec siov[UDP_BATCH];
	uint8_t rbuf[UDP_BATCH][UDP_BUFSZ];
	uint8_t sbuf[UDP_BATCH][UDP_BUFSZ];
	/* TCP: one message in, one reply out, both with room for the length */
	uint8_t tcp_in[WIRE_MAX_MSG];
	uint8_t tcp_out[2 + WIRE_MAX_MSG];
};

/*
 * A larger receive buffer on a UDP listening socket: a burst that arrives
 * while the worker is busy (a reload's snapshot swap, a busy CPU) waits in
 * the kernel instead of being dropped (the kernel counts such drops as
 * Udp RcvbufErrors).  SO_RCVBUFFORCE first: listeners are opened before
 * privileges are dropped, so the configured size may exceed rmem_max.
 */
static void udp_rcvbuf(int fd, uint64_t want, int say)
{
	int v = (int)want, got = 0;
	socklen_t gl = sizeof(got);

	if (want == 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	/* Linux reports twice what was set (its own bookkeeping included) */
	if (say && getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && (uint64_t)got / 2 < want)
		log_warn("so-rcvbuf: asked for %llu bytes, the kernel granted %d (raise net.core.rmem_max, or "
			 "start plinkfwd as root)",
			 (unsigned long long)want, got / 2);
}

static int open_socket(const struct cfg_addr *a, int type)
{
	int one = 1;
	int fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* SO_REUSEPORT: every worker binds the same address and the kernel
	 * spreads datagrams and connections over them. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 256) < 0)
		goto fail;
	return fd;
fail: {
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}
}

/* ------------------------------------------------------------------ UDP */

static int is_wildcard(const struct cfg_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

/* Remember the destination address of a datagram (wildcard sockets only). */
static void read_pktinfo(struct msghdr *mh, struct client *cl)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			memcpy(&cl->local.v4, CMSG_DATA(cm), sizeof(cl->local.v4));
			cl->local.v4.ipi_spec_dst = cl->local.v4.ipi_addr;
			cl->local.v4.ipi_ifindex = 0;
			cl->has_local = AF_INET;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			memcpy(&cl->local.v6, CMSG_DATA(cm), sizeof(cl->local.v6));
			cl->has_local = AF_INET6;
		}
	}
}

/* Ask the kernel to send from the address the query came to. */
static void put_pktinfo(struct msghdr *mh, const struct client *cl, uint8_t *ctl)
{
	struct cmsghdr *cm;
	memset(ctl, 0, CTL_SIZE);
	mh->msg_control = ctl;
	if (cl->has_local == AF_INET) {
		mh->msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		memcpy(CMSG_DATA(cm), &cl->local.v4, sizeof(cl->local.v4));
	} else {
		mh->msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
		memcpy(CMSG_DATA(cm), &cl->local.v6, sizeof(cl->local.v6));
	}
}

static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock *us = arg;
	struct listener *l = us->l;
	struct query_engine *qe = l->qe;

	for (int round = 0; round < UDP_ROUNDS; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			l->riov[i].iov_base = l->rbuf[i];
			l->riov[i].iov_len = UDP_BUFSZ;
			memset(&l->rmsg[i].msg_hdr, 0, sizeof(l->rmsg[i].msg_hdr));
			l->rmsg[i].msg_hdr.msg_name = &l->raddr[i];
			l->rmsg[i].msg_hdr.msg_namelen = sizeof(l->raddr[i]);
			l->rmsg[i].msg_hdr.msg_iov = &l->riov[i];
			l->rmsg[i].msg_hdr.msg_iovlen = 1;
			if (us->pktinfo) {
				l->rmsg[i].msg_hdr.msg_control = l->rctl[i];
				l->rmsg[i].msg_hdr.msg_controllen = CTL_SIZE;
			}
		}
		int n = recvmmsg(fd, l->rmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		/* a reload published since the last batch takes effect here */
		query_engine_refresh(qe);
		uint64_t now = clock_us(qe->clock);
		int out = 0;
		for (int i = 0; i < n; i++) {
			struct client cl;
			int fwd;
			size_t len = l->rmsg[i].msg_len;
			cl.transport = CLIENT_UDP;
			cl.fd = fd;
			memcpy(&cl.addr, &l->raddr[i], sizeof(cl.addr));
			cl.addrlen = l->rmsg[i].msg_hdr.msg_namelen;
			cl.conn = NULL;
			cl.conn_gen = 0;
			cl.id = len >= 2 ? wire_get16(l->rbuf[i]) : 0;
			cl.udp_limit = WIRE_MIN_UDP;
			cl.start_us = now;
			cl.has_local = 0;
			if (us->pktinfo)
				read_pktinfo(&l->rmsg[i].msg_hdr, &cl);
			STATS_INC(qe->stats.queries_udp);
			size_t rlen = query_handle(qe, l->rbuf[i], len, &cl, l->sbuf[out], UDP_BUFSZ, &fwd);
			if (rlen == 0)
				continue;
			l->siov[out].iov_base = l->sbuf[out];
			l->siov[out].iov_len = rlen;
			memset(&l->smsg[out].msg_hdr, 0, sizeof(l->smsg[out].msg_hdr));
			l->smsg[out].msg_hdr.msg_name = &l->raddr[i];
			l->smsg[out].msg_hdr.msg_namelen = l->rmsg[i].msg_hdr.msg_namelen;
			l->smsg[out].msg_hdr.msg_iov = &l->siov[out];
			l->smsg[out].msg_hdr.msg_iovlen = 1;
			if (cl.has_local)
				put_pktinfo(&l->smsg[out].msg_hdr, &cl, l->sctl[out]);
			out++;
		}
		int sent = 0;
		while (sent < out) {
			int r = sendmmsg(fd, l->smsg + sent, (unsigned)(out - sent), MSG_DONTWAIT);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				/* a full socket buffer or an unreachable client: UDP
				 * answers are best effort, the client retries */
				log_debug("sendmmsg: %s", strerror(errno));
				sent++;
				continue;
			}
			sent += r;
		}
		if (n < UDP_BATCH)
			return;
	}
}

/* ------------------------------------------------------------------ TCP */

static void tcp_close(struct tcp_conn *c)
{
	struct listener *l = c->l;
	if (!c->bev)
		return;
	bufferevent_free(c->bev); /* closes the socket */
	c->bev = NULL;
	if (c->deadline_armed)
		event_del(c->deadline);
	c->deadline_armed = 0;
	c->gen++;
	c->inflight = 0;
	c->read_paused = 0;
	c->eof = 0;
	c->next_free = l->free_conns;
	l->free_conns = c;
	STATS_DEC(l->open_conns);
}

static void tcp_write_msg(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2];
	wire_put16(hdr, (uint16_t)len);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evbuffer_add(out, hdr, 2);
	evbuffer_add(out, msg, len);
}

/* The connection may close once every answer is written (client EOF). */
static void tcp_write_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	if (c->eof && c->inflight == 0 && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		tcp_close(c);
}

/*
 * The read timeout restarts with every byte, so a client dripping one byte
 * at a time would keep a slot forever.  A message therefore has its own
 * deadline: it must be complete within tcp-idle-timeout of the moment its
 * first byte was buffered, however the bytes trickle in.
 */
static void tcp_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	(void)fd;
	(void)what;
	c->deadline_armed = 0;
	if (!c->bev)
		return;
	STATS_INC(c->l->qe->stats.tcp_deadline);
	log_debug("tcp: message not complete within %d ms of its first byte, closing", c->l->idle_ms);
	tcp_close(c);
}

/* Arm the message deadline when part of a message waits in the input
 * buffer, and drop it when nothing does (or when plinkfwd itself stopped
 * reading: then the client is waiting for us, not the other way round). */
static void tcp_deadline_update(struct tcp_conn *c, size_t buffered)
{
	int want = buffered > 0 && !c->read_paused && !c->eof;
	if (want && !c->deadline_armed) {
		struct timeval tv = {c->l->idle_ms / 1000, (c->l->idle_ms % 1000) * 1000};
		if (event_add(c->deadline, &tv) == 0)
			c->deadline_armed = 1;
	} else if (!want && c->deadline_armed) {
		event_del(c->deadline);
		c->deadline_armed = 0;
	}
}

static void tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	struct listener *l = c->l;
	struct query_engine *qe = l->qe;
	struct evbuffer *in = bufferevent_get_input(bev);

	query_engine_refresh(qe);
	while (!c->read_paused) {
		uint8_t lenbuf[2];
		size_t avail = evbuffer_get_length(in);
		if (avail < 2) {
			tcp_deadline_update(c, avail);
			return;
		}
		evbuffer_copyout(in, lenbuf, 2);
		size_t mlen = wire_get16(lenbuf);
		if (mlen < WIRE_HDR_LEN) {
			/* no DNS message is this short: the stream is not DNS */
			log_debug("tcp: message length %zu, closing", mlen);
			tcp_close(c);
			return;
		}
		if (avail < 2 + mlen) {
			/* the rest arrives later, or the message deadline fires */
			tcp_deadline_update(c, avail);
			return;
		}
		evbuffer_drain(in, 2);
		evbuffer_remove(in, l->tcp_in, mlen);

		struct client cl;
		int fwd;
		cl.transport = CLIENT_TCP;
		cl.fd = -1;
		memcpy(&cl.addr, &c->addr, sizeof(cl.addr));
		cl.addrlen = c->addrlen;
		cl.conn = c;
		cl.conn_gen = c->gen;
		cl.id = wire_get16(l->tcp_in);
		cl.udp_limit = 0;
		cl.start_us = clock_us(qe->clock);
		cl.has_local = 0; /* TCP answers leave from the accepted socket */
		STATS_INC(qe->stats.queries_tcp);
		size_t rlen = query_handle(qe, l->tcp_in, mlen, &cl, l->tcp_out + 2, WIRE_MAX_MSG, &fwd);
		if (rlen > 0) {
			tcp_write_msg(c, l->tcp_out + 2, rlen);
		} else if (fwd) {
			if (++c->inflight >= l->max_inflight) {
				/* RFC 7766 6.2.1.1: a server may limit pipelining;
				 * stop reading until answers drain */
				c->read_paused = 1;
				bufferevent_disable(bev, EV_READ);
			}
		}
		if (!c->bev)
			return;
	}
	tcp_deadline_update(c, 0); /* paused: the wait is ours */
}

static void tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;
	if (what & BEV_EVENT_TIMEOUT) {
		if ((what & BEV_EVENT_READING) && c->inflight > 0) {
			/* idle only counts when nothing is pending for the client */
			bufferevent_enable(bev, EV_READ);
			return;
		}
		/* a stall in the middle of a message: the idle timer and the
		 * message deadline fire together; count it once, as the deadline */
		if (c->deadline_armed)
			STATS_INC(c->l->qe->stats.tcp_deadline);
		tcp_close(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (c->inflight > 0 ||
		    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
			c->eof = 1;
			bufferevent_disable(bev, EV_READ);
			return;
		}
	}
	tcp_close(c);
}

/* Open connections from the address of ss.  A scan of the pool: it runs
 * once per accepted connection, never per query, and the pool is
 * tcp-max-connections (256 by default) long. */
static int tcp_conns_from(const struct listener *l, const struct sockaddr_storage *ss)
{
	int n = 0;
	for (size_t i = 0; i < l->nconns; i++) {
		const struct tcp_conn *c = &l->conns[i];
		if (c->bev && acl_same_host((const struct sockaddr *)&c->addr, (const struct sockaddr *)ss))
			n++;
	}
	return n;
}

static void tcp_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct tcp_lsock *ls = arg;
	struct listener *l = ls->l;
	struct query_engine *qe = l->qe;

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("tcp accept: %s", strerror(errno));
			return;
		}
		/* a source the ACL refuses gets no slot: it could only be
		 * answered REFUSED, and it would hold a slot an allowed
		 * client needs (docs/bad-input.md) */
		query_engine_refresh(qe);
		if (!acl_allowed(qe->snap->acl, (const struct sockaddr *)&ss)) {
			STATS_INC(qe->stats.tcp_denied);
			close(fd);
			continue;
		}
		struct tcp_conn *c = l->free_conns;
		if (!c || tcp_conns_from(l, &ss) >= l->max_per_client) {
			/* over tcp-max-connections or the per-client limit:
			 * closing at once is the clearest signal (RFC 7766 6.2.2) */
			log_debug("tcp: %s limit reached, closing new connection",
				  c ? "per-client connection" : "connection");
			STATS_INC(qe->stats.tcp_over_limit);
			close(fd);
			continue;
		}
		c->bev = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev) {
			close(fd);
			continue;
		}
		l->free_conns = c->next_free;
		STATS_INC(l->open_conns);
		memcpy(&c->addr, &ss, sizeof(ss));
		c->addrlen = sl;
		c->inflight = 0;
		c->read_paused = 0;
		c->eof = 0;
		c->deadline_armed = 0;
		struct timeval tv = {l->idle_ms / 1000, (l->idle_ms % 1000) * 1000};
		bufferevent_setcb(c->bev, tcp_read_cb, tcp_write_cb, tcp_event_cb, c);
		bufferevent_set_timeouts(c->bev, &tv, &tv);
		/* bound what one client can make us buffer: one message and a bit */
		bufferevent_setwatermark(c->bev, EV_READ, 0, 2 * (2 + WIRE_MAX_MSG));
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	}
}

/* ------------------------------------------------------------ interface */

void listener_send(void *arg, const struct client *cl, const uint8_t *msg, size_t len)
{
	struct listener *l = arg;

	if (cl->transport == CLIENT_UDP) {
		struct msghdr mh;
		struct iovec iov = {(void *)msg, len};
		uint8_t ctl[CTL_SIZE];
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = (void *)&cl->addr;
		mh.msg_namelen = cl->addrlen;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (cl->has_local)
			put_pktinfo(&mh, cl, ctl);
		if (sendmsg(cl->fd, &mh, MSG_DONTWAIT) < 0)
			log_debug("sendmsg: %s", strerror(errno));
		return;
	}
	struct tcp_conn *c = cl->conn;
	if (!c || !c->bev || c->gen != cl->conn_gen)
		return; /* the connection closed while the query was out */
	tcp_write_msg(c, msg, len);
	if (c->inflight > 0)
		c->inflight--;
	if (c->read_paused && c->inflight < l->max_inflight && !c->eof) {
		c->read_paused = 0;
		bufferevent_enable(c->bev, EV_READ);
		tcp_read_cb(c->bev, c); /* messages may already be buffered */
	}
}

size_t listener_tcp_conns(const struct listener *l) { return STATS_GET(l->open_conns); }

enum fwd_err listener_bound_addr(const struct listener *l, size_t i, struct sockaddr_storage *ss, socklen_t *len)
{
	if (i >= l->nudp)
		return FWD_ENOENT;
	/* the UDP socket stands for the pair: the TCP one was bound to the
	 * same address right after it, or the listener would not exist */
	*len = sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if (getsockname(l->udp[i].fd, (struct sockaddr *)ss, len) < 0)
		return FWD_EIO;
	return FWD_OK;
}

struct listener *listener_new(struct query_engine *qe, struct event_base *base, const struct cfg *cfg, int announce)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->qe = qe;
	l->base = base;
	l->idle_ms = cfg->tcp_idle_timeout_ms;
	l->max_inflight = cfg->max_tcp_per_conn;
	l->nconns = (size_t)cfg->tcp_max_conns;
	l->max_per_client = cfg->tcp_max_conns_per_client;
	l->udp = calloc(cfg->nlisten, sizeof(*l->udp));
	l->tcp = calloc(cfg->nlisten, sizeof(*l->tcp));
	l->conns = calloc(l->nconns, sizeof(*l->conns));
	if (!l->udp || !l->tcp || !l->conns)
		goto fail;
	for (size_t i = l->nconns; i-- > 0;) {
		l->conns[i].l = l;
		if (!(l->conns[i].deadline = evtimer_new(base, tcp_deadline_cb, &l->conns[i])))
			goto fail;
		l->conns[i].next_free = l->free_conns;
		l->free_conns = &l->conns[i];
	}
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct cfg_addr *a = &cfg->listen[i];
		char host[INET6_ADDRSTRLEN + 8] = "?";
		int port = 0;
		if (a->ss.ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
			evutil_inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
			port = ntohs(sin->sin_port);
		} else {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
			evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
			port = ntohs(sin6->sin6_port);
		}
		int ufd = open_socket(a, SOCK_DGRAM);
		if (ufd < 0) {
			log_err("listen %s@%d (udp): %s", host, port, strerror(errno));
			goto fail;
		}
		udp_rcvbuf(ufd, cfg->so_rcvbuf, announce && i == 0);
		l->udp[l->nudp].l = l;
		l->udp[l->nudp].fd = ufd;
		l->udp[l->nudp].family = a->ss.ss_family;
		if (is_wildcard(a)) {
			int one = 1;
			l->udp[l->nudp].pktinfo = 1;
			if (a->ss.ss_family == AF_INET)
				setsockopt(ufd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
			else
				setsockopt(ufd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		}
		l->udp[l->nudp].ev = event_new(base, ufd, EV_READ | EV_PERSIST, udp_read_cb, &l->udp[l->nudp]);
		l->nudp++;
		if (!l->udp[l->nudp - 1].ev || event_add(l->udp[l->nudp - 1].ev, NULL) < 0)
			goto fail;
		int tfd = open_socket(a, SOCK_STREAM);
		if (tfd < 0) {
			log_err("listen %s@%d (tcp): %s", host, port, strerror(errno));
			goto fail;
		}
		l->tcp[l->ntcp].l = l;
		l->tcp[l->ntcp].fd = tfd;
		l->tcp[l->ntcp].ev = event_new(base, tfd, EV_READ | EV_PERSIST, tcp_accept_cb, &l->tcp[l->ntcp]);
		l->ntcp++;
		if (!l->tcp[l->ntcp - 1].ev || event_add(l->tcp[l->ntcp - 1].ev, NULL) < 0)
			goto fail;
		if (announce)
			log_info("listening on %s@%d (udp, tcp)", host, port);
	}
	return l;
fail:
	listener_free(l);
	return NULL;
}

void listener_free(struct listener *l)
{
	if (!l)
		return;
	for (size_t i = 0; l->conns && i < l->nconns; i++) {
		tcp_close(&l->conns[i]);
		if (l->conns[i].deadline)
			event_free(l->conns[i].deadline);
	}
	for (size_t i = 0; i < l->nudp; i++) {
		if (l->udp[i].ev)
			event_free(l->udp[i].ev);
		close(l->udp[i].fd);
	}
	for (size_t i = 0; i < l->ntcp; i++) {
		if (l->tcp[i].ev)
			event_free(l->tcp[i].ev);
		close(l->tcp[i].fd);
	}
	free(l->udp);
	free(l->tcp);
	free(l->conns);
	free(l);
}
