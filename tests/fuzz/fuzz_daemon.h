/*
 * fuzz_daemon.h -- a daemon for the operations targets (control socket,
 * HTTP listener), built as tests/unit/test_control.c builds one: a real
 * snapshot from a config and zone files in a scratch directory, the answer
 * cache with a few entries, one worker struct that is never started (what
 * control and metrics read of a worker is its counters), and the main
 * event base.  No thread, no DNS socket.
 */
#ifndef PLINKFWD_FUZZ_DAEMON_H
#define PLINKFWD_FUZZ_DAEMON_H

#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>

#include "cache.h"
#include "clock.h"
#include "daemon.h"
#include "fuzz.h"
#include "log.h"
#include "snapshot.h"
#include "wire.h"
#include "worker.h"

static struct daemon fuzz_d;
static struct worker fuzz_w;
static char fuzz_dir[512];
static char fuzz_cfgpath[600];

static const char FUZZ_PL_ZONE[] = "$ORIGIN privatelink.openai.azure.com.\n$TTL 10\n"
				   "@ IN SOA ns.test. h.test. 42 3600 300 2419200 10\n"
				   "@ IN NS ns.test.\n"
				   "contoso IN A 10.0.1.5\n"
				   "alias IN CNAME contoso\n"
				   "txt IN TXT \"v=1\" \"two words\"\n";

/* Put "NAME A 192.0.2.7" (TTL 300) into the cache, as a forwarded answer. */
static inline void fuzz_daemon_cache_put(const char *name)
{
	uint8_t m[512], w[WIRE_MAX_NAME];
	int wl = wire_name_from_text(name, w);
	struct wire_query q;
	struct cache_ttl ttl = {0, 86400, 3600};
	size_t n = WIRE_HDR_LEN;

	if (wl <= 0)
		abort();
	wire_put_header(m, 1, WIRE_RD, 1, 0, 0, 0);
	memcpy(m + n, w, (size_t)wl);
	n += (size_t)wl;
	wire_put16(m + n, TYPE_A);
	wire_put16(m + n + 2, CLASS_IN);
	n += 4;
	if (wire_parse_query(m, n, &q) != WIRE_OK)
		abort();
	static uint8_t r[512];
	memcpy(r, m, n);
	wire_put16(r + 2, WIRE_QR | WIRE_RD | WIRE_RA);
	wire_put16(r + 6, 1);
	size_t k = n;
	wire_put16(r + k, 0xc00c);
	wire_put16(r + k + 2, TYPE_A);
	wire_put16(r + k + 4, CLASS_IN);
	wire_put32(r + k + 6, 300);
	wire_put16(r + k + 10, 4);
	memcpy(r + k + 12, "\xc0\x00\x02\x07", 4);
	k += 16;
	cache_insert(fuzz_d.cache, &q, r, k, &ttl, 0, clock_ms(&fwd_clock_monotonic));
}

static inline void fuzz_daemon_setup(const char *tag)
{
	char zpath[700], conf[2048], err[512] = "";

	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s", fuzz_tmpdir(tag));
	snprintf(fuzz_cfgpath, sizeof(fuzz_cfgpath), "%s/plinkfwd.conf", fuzz_dir);
	snprintf(zpath, sizeof(zpath), "%s/pl.zone", fuzz_dir);
	fuzz_write_file(zpath, FUZZ_PL_ZONE, strlen(FUZZ_PL_ZONE));
	int n = snprintf(conf, sizeof(conf),
			 "server:\n    listen: 127.0.0.1@5399\n    cloud: AzureCloud\n    log-level: error\n"
			 "    nsid: fuzz\nupstream: lab\n    server: 127.0.0.53@5301\n    server: [::1]@5302\n"
			 "forward: lab.test\n    to: lab\n"
			 "forward: privatelink.contoso.test\n    to: lab\n    fallback: public\n"
			 "zone: privatelink.openai.azure.com\n    file: %s\n    fallback: public\n",
			 zpath);
	fuzz_write_file(fuzz_cfgpath, conf, (size_t)n);
	log_set_level(LOG_LVL_ERR);
	struct snapshot *snap = snapshot_build(fuzz_cfgpath, NULL, 0, err, sizeof(err));
	if (!snap) {
		fprintf(stderr, "fuzz daemon: %s\n", err);
		abort();
	}
	memset(&fuzz_d, 0, sizeof(fuzz_d));
	memset(&fuzz_w, 0, sizeof(fuzz_w));
	fuzz_d.cfgpath = fuzz_cfgpath;
	if (snapshot_pub_init(&fuzz_d.pub) != FWD_OK)
		abort();
	snapshot_pub_publish(&fuzz_d.pub, snap);
	fuzz_d.started = time(NULL);
	fuzz_d.clock = &fwd_clock_monotonic;
	fuzz_d.base = event_base_new();
	fuzz_d.cache = cache_new(1 << 20, 1);
	if (!fuzz_d.base || !fuzz_d.cache)
		abort();
	fuzz_w.running = 1;
	fuzz_d.workers = &fuzz_w;
	fuzz_d.nworkers = 1;
}

/* Run the main loop until nothing is ready. */
static inline void fuzz_daemon_pump(void)
{
	for (int i = 0; i < 4; i++)
		event_base_loop(fuzz_d.base, EVLOOP_NONBLOCK);
}

/*
 * Send data[0..size) on fd (a connected stream socket to one of the
 * daemon's listeners), say EOF when half_close is set, and collect what the
 * daemon answers until it closes or has nothing more to say, into out (at
 * most cap bytes, NUL-terminated).  Returns the answer's length.  The
 * daemon's loop runs in between: nothing waits.  (evhttp drops a reply
 * being written when the client's EOF arrives, as a client that is gone;
 * HTTP clients do not half-close, so the HTTP target does not.)
 */
static inline size_t fuzz_daemon_talk(int fd, const uint8_t *data, size_t size, char *out, size_t cap,
				      int half_close)
{
	size_t off = 0, got = 0;
	int eof = 0, shut = 0;

	for (int idle = 0; !eof && idle < 8;) {
		int progress = 0;
		if (off < size) {
			ssize_t n = send(fd, data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				off += (size_t)n;
				progress = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
				off = size; /* the daemon closed: what it said is the answer */
			}
		}
		if (off >= size && !shut && half_close) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		fuzz_daemon_pump();
		for (;;) {
			char buf[4096];
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0) {
				size_t k = (size_t)n < cap - 1 - got ? (size_t)n : cap - 1 - got;
				memcpy(out + got, buf, k);
				got += k;
				progress = 1;
				continue;
			}
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				eof = 1;
			break;
		}
		idle = progress ? 0 : idle + 1;
	}
	out[got] = '\0';
	close(fd);
	fuzz_daemon_pump();
	return got;
}

#endif
