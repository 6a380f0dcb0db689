/*
 * upstream_sock.c -- the pooled UDP sockets of a forwarding instance (see
 * upstream_sock.h for why they are pooled and who owns what).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "counter.h"
#include "common.h"
#include "config.h"
#include "log.h"
#include "upstream_log.h"
#include "upstream_sock.h"

static void idle_unlink(struct up_sockpool *p, struct up_sock *k)
{
	struct up_idle_list *l = &p->idle[k->server];

	if (k->prev)
		k->prev->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->next = k->prev = NULL;
	l->n--;
}

/* Close k (not on any list) and put the object on the free list. */
static void sock_close(struct up_sockpool *p, struct up_sock *k)
{
	event_del(k->ev);
	close(k->fd);
	k->fd = -1;
	k->owner = NULL;
	k->prev = NULL;
	k->next = p->free_list;
	p->free_list = k;
}

/* A datagram or an error on a socket nobody waits on: a late duplicate, an
 * ICMP error or a forgery.  The socket is not trusted any more. */
static void sock_idle_event(struct up_sockpool *p, struct up_sock *k)
{
	if (k->fd < 0)
		return;
	idle_unlink(p, k);
	sock_close(p, k);
}

static void sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct up_sock *k = arg;

	(void)fd;
	(void)what;
	if (k->owner)
		k->pool->readable(k->owner);
	else
		sock_idle_event(k->pool, k);
}

/* A free socket object: from the free list, else by closing an idle socket
 * of any server (there are as many objects as attempts, so one of the two
 * always exists while an attempt asks). */
static struct up_sock *sock_obj(struct up_sockpool *p)
{
	struct up_sock *k = p->free_list;
	size_t i;

	if (!k) {
		for (i = 0; i < p->nservers && !k; i++) {
			if (p->idle[i].head) {
				struct up_sock *v = p->idle[i].head;
				idle_unlink(p, v);
				sock_close(p, v);
				k = p->free_list;
			}
		}
		if (!k)
			return NULL;
	}
	p->free_list = k->next;
	k->next = NULL;
	return k;
}

enum fwd_err up_sockpool_init(struct up_sockpool *p, struct event_base *base, const struct fwd_clock *clock,
			      size_t nsocks, size_t nservers, up_sock_readable_fn readable, uint64_t *warn_ms)
{
	size_t i;

	memset(p, 0, sizeof *p);
	p->base = base;
	p->clock = clock;
	p->readable = readable;
	p->warn_ms = warn_ms;
	p->socks = calloc(nsocks, sizeof *p->socks);
	p->idle = calloc(nservers, sizeof *p->idle);
	if (!p->socks || !p->idle)
		return FWD_ENOMEM;
	p->nservers = nservers;
	for (i = 0; i < nsocks; i++) {
		struct up_sock *k = &p->socks[i];
		k->pool = p;
		k->fd = -1;
		k->ev = event_new(base, -1, 0, sock_cb, k);
		p->nsocks = i + 1;
		if (!k->ev)
			return FWD_ENOMEM;
	}
	for (i = nsocks; i-- > 0;) {
		p->socks[i].next = p->free_list;
		p->free_list = &p->socks[i];
	}
	return FWD_OK;
}

void up_sockpool_fini(struct up_sockpool *p)
{
	size_t i;

	if (p->socks) {
		for (i = 0; i < p->nsocks; i++) {
			struct up_sock *k = &p->socks[i];
			if (k->fd >= 0) {
				event_del(k->ev);
				close(k->fd);
			}
			if (k->ev)
				event_free(k->ev);
		}
	}
	free(p->socks);
	free(p->idle);
	memset(p, 0, sizeof *p);
}

struct up_sock *up_sock_get(struct up_sockpool *p, uint32_t server, const struct cfg_addr *a,
			    uint32_t reuse, void *owner, int *server_fault)
{
	struct up_idle_list *l = &p->idle[server];
	uint64_t now = clock_ms(p->clock);
	struct up_sock *k;
	int fd;

	*server_fault = 0;
	while ((k = l->head) != NULL) {
		idle_unlink(p, k);
		if (k->uses < reuse && now - k->born_ms < UP_SOCK_MAX_AGE_MS)
			goto take;
		sock_close(p, k);
	}
	k = sock_obj(p);
	if (!k)
		return NULL;
	fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (up_warn_limit(p->warn_ms, now))
			log_warn("upstream: socket: %s", strerror(errno));
		goto put_back;
	}
	/* connect() makes the kernel pick a random ephemeral port, drop
	 * datagrams from any other address:port and report ICMP port
	 * unreachable as ECONNREFUSED. */
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		char sb[80];
		log_debug("upstream %s: connect: %s", up_addr_text(&a->ss, sb, sizeof sb), strerror(errno));
		close(fd);
		*server_fault = 1;
		goto put_back;
	}
	if (event_assign(k->ev, p->base, fd, EV_READ | EV_PERSIST, sock_cb, k) < 0 ||
	    event_add(k->ev, NULL) < 0) {
		if (up_warn_limit(p->warn_ms, now))
			log_warn("upstream: cannot add event");
		close(fd);
		goto put_back;
	}
	k->fd = fd;
	k->server = server;
	k->uses = 0;
	k->born_ms = now;
	STATS_INC(p->opened); /* read by upstream_get_stats() on another thread */
take:
	k->owner = owner;
	k->uses++;
	return k;
put_back:
	k->next = p->free_list;
	p->free_list = k;
	return NULL;
}

void up_sock_put(struct up_sockpool *p, struct up_sock *k, int clean, uint32_t reuse)
{
	struct up_idle_list *l = &p->idle[k->server];

	k->owner = NULL;
	if (clean && k->uses < reuse && clock_ms(p->clock) - k->born_ms < UP_SOCK_MAX_AGE_MS &&
	    l->n < UP_IDLE_MAX) {
		k->prev = NULL;
		k->next = l->head;
		if (l->head)
			l->head->prev = k;
		l->head = k;
		l->n++;
		return;
	}
	sock_close(p, k);
}

void up_sock_discard(struct up_sockpool *p, struct up_sock *k)
{
	k->owner = NULL;
	sock_close(p, k);
}

void up_sockpool_drop_server(struct up_sockpool *p, uint32_t server)
{
	struct up_idle_list *l = &p->idle[server];

	while (l->head) {
		struct up_sock *k = l->head;
		idle_unlink(p, k);
		sock_close(p, k);
	}
}

void up_sockpool_expire(struct up_sockpool *p, uint64_t now_ms)
{
	size_t i;

	for (i = 0; i < p->nservers; i++) {
		struct up_sock *k, *next;

		for (k = p->idle[i].head; k; k = next) {
			next = k->next;
			if (now_ms - k->born_ms >= UP_SOCK_MAX_AGE_MS) {
				idle_unlink(p, k);
				sock_close(p, k);
			}
		}
	}
}

uint32_t up_sockpool_idle(const struct up_sockpool *p, uint32_t server)
{
	return p->idle[server].n;
}
