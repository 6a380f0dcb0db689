/*
 * listener.c -- a worker's UDP and TCP sockets (see listener.h).
 *
 * Buffer ownership: the listener owns every UDP receive and send buffer
 * (the stream pools own theirs).  A query is handled while its receive
 * buffer is live; query_handle() copies whatever must outlive the call
 * (upstream.c copies forwarded queries).
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
#include "doh.h"
#include "dot.h"
#include "stream.h"
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

/* A listening stream socket: TCP, DoT or DoH. */
struct acc_sock {
	struct listener *l;
	int fd;
	enum client_transport tr;
	struct event *ev;
};

struct listener {
	struct query_engine *qe;    /* borrowed: answers every query */
	struct event_base *base;    /* borrowed: the worker's loop */
	struct tls_store *tls;      /* borrowed: the DoT/DoH certificates; NULL without them */
	struct udp_sock *udp;
	size_t nudp;
	struct acc_sock *acc;       /* TCP (one per listen:), then DoT, then DoH sockets */
	size_t nacc;
	struct stream_pool *tcp_pool; /* owned: client TCP connections */
	struct stream_pool *dot;    /* owned: DoT connections; NULL without listen-tls */
	struct doh_pool *doh;       /* owned: DoH connections; NULL without listen-https */
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

/* ------------------------------------------------------- stream accept */

/*
 * TCP, DoT and DoH sockets accept the same way: the ACL and the
 * connection caps are checked before anything else happens, and a refused
 * connection is closed at once, before any TLS handshake (RFC 7766 6.2.2).
 */
static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct acc_sock *as = arg;
	struct listener *l = as->l;

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("%s accept: %s", client_transport_name(as->tr), strerror(errno));
			return;
		}
		if (as->tr == CLIENT_HTTPS) {
			if (doh_admit(l->doh, &ss) != FWD_OK) {
				close(fd);
				continue;
			}
			doh_accept(l->doh, l->tls, fd, &ss, sl);
			continue;
		}
		struct stream_pool *pool = as->tr == CLIENT_TLS ? l->dot : l->tcp_pool;
		if (stream_pool_admit(pool, &ss) != FWD_OK) {
			close(fd);
			continue;
		}
		if (as->tr == CLIENT_TLS) {
			dot_accept(pool, l->tls, l->base, fd, &ss, sl);
			continue;
		}
		struct bufferevent *bev = bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!bev) {
			close(fd);
			continue;
		}
		stream_pool_attach(pool, bev, &ss, sl);
	}
}

/* ------------------------------------------------------------ interface */

void listener_send(void *arg, const struct client *cl, const uint8_t *msg, size_t len)
{
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
	if (cl->transport == CLIENT_HTTPS)
		doh_send(cl, msg, len);
	else
		stream_send(cl, msg, len);
}

size_t listener_tcp_conns(const struct listener *l) { return stream_pool_open(l->tcp_pool); }

size_t listener_conns(const struct listener *l, enum client_transport tr)
{
	switch (tr) {
	case CLIENT_TCP: return stream_pool_open(l->tcp_pool);
	case CLIENT_TLS: return l->dot ? stream_pool_open(l->dot) : 0;
	case CLIENT_HTTPS: return l->doh ? doh_pool_open(l->doh) : 0;
	default: return 0;
	}
}

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

/* "ADDR@PORT" of a as text into buf. */
static const char *addr_text(const struct cfg_addr *a, char *buf, size_t cap, int *port)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
		evutil_inet_ntop(AF_INET, &sin->sin_addr, buf, cap);
		*port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
		evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, buf, cap);
		*port = ntohs(sin6->sin6_port);
	}
	return buf;
}

/* A listening stream socket of transport tr on a. */
static enum fwd_err add_acceptor(struct listener *l, const struct cfg_addr *a, enum client_transport tr)
{
	char host[INET6_ADDRSTRLEN + 8] = "?";
	int port = 0;
	addr_text(a, host, sizeof(host), &port);
	int fd = open_socket(a, SOCK_STREAM);
	if (fd < 0) {
		log_err("listen %s@%d (%s): %s", host, port, client_transport_name(tr), strerror(errno));
		return FWD_EIO;
	}
	struct acc_sock *as = &l->acc[l->nacc++];
	as->l = l;
	as->fd = fd;
	as->tr = tr;
	as->ev = event_new(l->base, fd, EV_READ | EV_PERSIST, accept_cb, as);
	if (!as->ev || event_add(as->ev, NULL) < 0)
		return FWD_ENOMEM;
	return FWD_OK;
}

struct listener *listener_new(struct query_engine *qe, struct event_base *base, const struct cfg *cfg,
			      struct tls_store *tls, int announce)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->qe = qe;
	l->base = base;
	l->tls = tls;
	struct stream_limits tcp_lim = {
		.idle_ms = cfg->tcp_idle_timeout_ms, .max_inflight = cfg->max_tcp_per_conn,
		.max_per_client = cfg->tcp_max_conns_per_client, .max_conns = (size_t)cfg->tcp_max_conns,
	};
	/* DoT and DoH share the tls-* limits; the per-client share is TCP's */
	struct stream_limits tls_lim = {
		.idle_ms = cfg->tls_idle_timeout_ms, .max_inflight = cfg->max_tls_per_conn,
		.max_per_client = cfg->tcp_max_conns_per_client, .max_conns = (size_t)cfg->tls_max_conns,
	};
	l->udp = calloc(cfg->nlisten, sizeof(*l->udp));
	l->acc = calloc(cfg->nlisten + cfg->nlisten_tls + cfg->nlisten_https, sizeof(*l->acc));
	if (!l->udp || !l->acc || stream_pool_new(qe, base, CLIENT_TCP, &tcp_lim, &l->tcp_pool) != FWD_OK)
		goto fail;
	if ((cfg->nlisten_tls || cfg->nlisten_https) && !tls) {
		log_err("encrypted listeners without TLS contexts");
		goto fail;
	}
	if (cfg->nlisten_tls && stream_pool_new(qe, base, CLIENT_TLS, &tls_lim, &l->dot) != FWD_OK)
		goto fail;
	if (cfg->nlisten_https && doh_pool_new(qe, base, &tls_lim, &l->doh) != FWD_OK)
		goto fail;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		const struct cfg_addr *a = &cfg->listen[i];
		char host[INET6_ADDRSTRLEN + 8] = "?";
		int port = 0;
		addr_text(a, host, sizeof(host), &port);
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
		if (add_acceptor(l, a, CLIENT_TCP) != FWD_OK)
			goto fail;
		if (announce)
			log_info("listening on %s@%d (udp, tcp)", host, port);
	}
	for (int kind = 0; kind < 2; kind++) {
		enum client_transport tr = kind ? CLIENT_HTTPS : CLIENT_TLS;
		const struct cfg_addr *as = kind ? cfg->listen_https : cfg->listen_tls;
		size_t n = kind ? cfg->nlisten_https : cfg->nlisten_tls;
		for (size_t i = 0; i < n; i++) {
			char host[INET6_ADDRSTRLEN + 8] = "?";
			int port = 0;
			if (add_acceptor(l, &as[i], tr) != FWD_OK)
				goto fail;
			addr_text(&as[i], host, sizeof(host), &port);
			if (announce)
				log_info("listening on %s@%d (%s)", host, port,
					 kind ? "https: DNS over HTTPS" : "tls: DNS over TLS");
		}
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
	stream_pool_free(l->tcp_pool);
	stream_pool_free(l->dot);
	doh_pool_free(l->doh);
	for (size_t i = 0; i < l->nudp; i++) {
		if (l->udp[i].ev)
			event_free(l->udp[i].ev);
		close(l->udp[i].fd);
	}
	for (size_t i = 0; i < l->nacc; i++) {
		if (l->acc[i].ev)
			event_free(l->acc[i].ev);
		close(l->acc[i].fd);
	}
	free(l->udp);
	free(l->acc);
	free(l);
}
