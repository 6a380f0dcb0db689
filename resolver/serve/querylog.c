/*
 * querylog.c -- per-worker buffered query log lines, reopened on SIGUSR2
 * (design in querylog.h).
 */
#include "querylog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "client.h"
#include "clock.h"
#include "common.h"
#include "counter.h"
#include "log.h"
#include "wire.h"

#define QL_BUF 16384          /* per writer; flushed when a line might not fit */
#define QL_LINE_MAX 1400      /* longest line: a 1024-byte escaped name and the rest */
#define QL_MAX_WRITERS 64     /* == the workers: limit */
#define QL_ERR_INTERVAL_MS 10000

struct querylog {
	char *path;
	atomic_uint gen;          /* bumped by each reopen */
	int check_fd;             /* main thread's own descriptor, handed to new writers */
	struct querylog_writer *writers[QL_MAX_WRITERS];
	size_t nwriters;
};

struct querylog_writer {
	struct querylog *ql;
	struct event *tick;       /* 1 s: flush and notice a reopen */
	int fd;                   /* this writer's own descriptor */
	unsigned gen;             /* generation fd was opened for */
	uint64_t lines, lost;     /* read by the main thread (STATS_GET) */
	uint64_t err_ms;          /* last write error logged */
	const struct fwd_clock *clock; /* borrowed */
	time_t stamp_sec;         /* second the cached time prefix is for */
	char stamp[24];           /* "YYYY-MM-DDTHH:MM:SS" */
	size_t len;
	char buf[QL_BUF];
};

static int ql_open_fd(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

struct querylog *querylog_open(const char *path, long uid, long gid)
{
	struct querylog *ql = calloc(1, sizeof(*ql));
	if (!ql || !(ql->path = strdup(path))) {
		free(ql);
		log_err("query log: out of memory");
		return NULL;
	}
	struct stat st;
	int existed = stat(path, &st) == 0;
	ql->check_fd = ql_open_fd(path);
	if (ql->check_fd < 0) {
		log_err("query log %s: cannot open: %s", path, strerror(errno));
		querylog_free(ql);
		return NULL;
	}
	/* a file created now, before the privilege drop, belongs to root;
	 * give it to the user so that the daemon can append after a reopen */
	if (!existed && (uid >= 0 || gid >= 0) && fchown(ql->check_fd, (uid_t)uid, (gid_t)gid) < 0)
		log_warn("query log %s: cannot change owner: %s", path, strerror(errno));
	atomic_init(&ql->gen, 0);
	return ql;
}

enum fwd_err querylog_reopen(struct querylog *ql)
{
	int fd = ql_open_fd(ql->path);
	if (fd < 0) {
		log_err("query log %s: cannot reopen, still writing to the old file: %s", ql->path,
			strerror(errno));
		return FWD_EIO;
	}
	close(ql->check_fd);
	ql->check_fd = fd;
	atomic_fetch_add_explicit(&ql->gen, 1, memory_order_release);
	log_info("query log %s reopened", ql->path);
	return FWD_OK;
}

void querylog_free(struct querylog *ql)
{
	if (!ql)
		return;
	if (ql->check_fd >= 0)
		close(ql->check_fd);
	free(ql->path);
	free(ql);
}

void querylog_counts(const struct querylog *ql, uint64_t *lines, uint64_t *lost)
{
	*lines = *lost = 0;
	for (size_t i = 0; i < ql->nwriters; i++) {
		*lines += STATS_GET(ql->writers[i]->lines);
		*lost += STATS_GET(ql->writers[i]->lost);
	}
}

/* ------------------------------------------------------------ writer (worker thread) */

static void writer_write(struct querylog_writer *qw)
{
	size_t off = 0;
	while (off < qw->len) {
		ssize_t n = write(qw->fd, qw->buf + off, qw->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* count the whole lines lost; a full disk must not stop answers */
			uint64_t lost = 0;
			for (size_t i = off; i < qw->len; i++)
				lost += qw->buf[i] == '\n';
			STATS_ADD(qw->lost, lost);
			uint64_t now = clock_ms(qw->clock);
			if (now - qw->err_ms >= QL_ERR_INTERVAL_MS || qw->err_ms == 0) {
				qw->err_ms = now;
				log_err("query log %s: write failed, %llu line(s) lost: %s", qw->ql->path,
					(unsigned long long)lost, n < 0 ? strerror(errno) : "short write");
			}
			break;
		}
		off += (size_t)n;
	}
	qw->len = 0;
}

/* Pick up a reopen: everything buffered so far still goes to the old file. */
static void writer_check_reopen(struct querylog_writer *qw)
{
	unsigned g = atomic_load_explicit(&qw->ql->gen, memory_order_acquire);
	if (FWD_LIKELY(g == qw->gen))
		return;
	if (qw->len)
		writer_write(qw);
	int fd = ql_open_fd(qw->ql->path);
	if (fd < 0) {
		uint64_t now = clock_ms(qw->clock);
		if (now - qw->err_ms >= QL_ERR_INTERVAL_MS || qw->err_ms == 0) {
			qw->err_ms = now;
			log_err("query log %s: cannot reopen, still writing to the old file: %s",
				qw->ql->path, strerror(errno));
		}
		return; /* retried at the next tick */
	}
	close(qw->fd);
	qw->fd = fd;
	qw->gen = g;
}

static void writer_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct querylog_writer *qw = arg;
	writer_check_reopen(qw);
	if (qw->len)
		writer_write(qw);
}

struct querylog_writer *querylog_writer_new(struct querylog *ql, struct event_base *base,
					    const struct fwd_clock *clock)
{
	if (ql->nwriters == QL_MAX_WRITERS) {
		log_err("query log: too many writers");
		return NULL;
	}
	struct querylog_writer *qw = calloc(1, sizeof(*qw));
	if (!qw) {
		log_err("query log: out of memory");
		return NULL;
	}
	qw->clock = clock;
	qw->ql = ql;
	qw->gen = atomic_load(&ql->gen);
	qw->fd = fcntl(ql->check_fd, F_DUPFD_CLOEXEC, 0);
	qw->tick = event_new(base, -1, EV_PERSIST, writer_tick_cb, qw);
	struct timeval tv = {1, 0};
	if (qw->fd < 0 || !qw->tick || event_add(qw->tick, &tv) < 0) {
		log_err("query log: cannot set up a writer: %s", strerror(errno));
		if (qw->tick)
			event_free(qw->tick);
		if (qw->fd >= 0)
			close(qw->fd);
		free(qw);
		return NULL;
	}
	ql->writers[ql->nwriters++] = qw;
	return qw;
}

void querylog_writer_free(struct querylog_writer *qw)
{
	if (!qw)
		return;
	if (qw->len)
		writer_write(qw);
	event_free(qw->tick);
	close(qw->fd);
	struct querylog *ql = qw->ql;
	for (size_t i = 0; i < ql->nwriters; i++)
		if (ql->writers[i] == qw) {
			ql->writers[i] = ql->writers[--ql->nwriters];
			break;
		}
	free(qw);
}

static size_t put_client(char *p, size_t cap, const struct client *cl)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (cl->addr.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&cl->addr;
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		port = ntohs(sin->sin_port);
	} else if (cl->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&cl->addr;
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		port = ntohs(sin6->sin6_port);
	}
	int n = snprintf(p, cap, "%s#%u", addr, port);
	return n > 0 ? (size_t)n : 0;
}

void querylog_write(struct querylog_writer *qw, const struct querylog_entry *e)
{
	writer_check_reopen(qw);
	if (qw->len + QL_LINE_MAX > sizeof(qw->buf))
		writer_write(qw);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != qw->stamp_sec) {
		/* gmtime and strftime once a second, not once a line */
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		strftime(qw->stamp, sizeof(qw->stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		qw->stamp_sec = ts.tv_sec;
	}

	char *p = qw->buf + qw->len;
	size_t cap = QL_LINE_MAX, n = 0;
	char name[1025] = "-", tbuf[16];
	if (e->qname)
		wire_name_to_text(e->qname, name, sizeof(name));
	const char *type = e->qname ? stats_type_name(e->qtype, tbuf, sizeof(tbuf)) : "-";
	const char *rc = stats_rcode_name(stats_rcode_bucket(e->rcode));
	char rcbuf[16];
	if (stats_rcode_bucket(e->rcode) == STATS_RC_OTHER) {
		snprintf(rcbuf, sizeof(rcbuf), "RCODE%d", e->rcode);
		rc = rcbuf;
	}

	int m = snprintf(p, cap, "%s.%06ldZ ", qw->stamp, (long)(ts.tv_nsec / 1000));
	n += m > 0 ? (size_t)m : 0;
	n += put_client(p + n, cap - n, e->cl);
	m = snprintf(p + n, cap - n, " %s %s %s %s %s%s%s %llu\n",
		     client_transport_name(e->cl->transport), name, type, rc,
		     stats_source_name(e->source), e->group ? ":" : "", e->group ? e->group : "",
		     (unsigned long long)e->latency_us);
	if (m < 0 || n + (size_t)m >= cap)
		return; /* cannot happen with QL_LINE_MAX; never write half a line */
	n += (size_t)m;
	qw->len += n;
	STATS_INC(qw->lines);
}
