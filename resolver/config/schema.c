/*
 * schema.c -- the table of every configuration key (see schema.h), and the
 * Markdown that docs/configuration.md is generated from.
 *
 * The "doc" texts are what the Meaning column of the documentation says;
 * the Default and Range columns, "Repeatable." and "Needs a restart to
 * change." are derived from the other fields, so that they cannot drift
 * from what the parsers do.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "schema.h"

#include <stdlib.h>
#include <string.h>

#include "arm_config.h"
#include "cfg_secondary.h"
#include "cloud.h"
#include "cfg_types.h"

#define S(f) offsetof(struct cfg, f)
#define U(f) offsetof(struct cfg_upstream, f)
#define F(f) offsetof(struct cfg_forward, f)
#define Z(f) offsetof(struct cfg_zone, f)
#define A(f) offsetof(struct arm_cfg, f)
#define K(f) offsetof(struct cfg_tsig_key, f)

static const char *const auth_words[] = {"managed-identity", "client-secret", "workload-identity", NULL};
static const char *const discovery_words[] = {"subscriptions", "resource-graph", NULL};
static const char *const records_from_words[] = {"zones", "resource-graph", NULL};
/* TSIG algorithms (RFC 8945 sec. 6): the ones ldns signs with, MD5 left out */
const char *const cfg_tsig_alg_words[] = {"hmac-sha256", "hmac-sha512", "hmac-sha384", "hmac-sha1", NULL};

const struct cfg_key cfg_schema[] = {
	/* ---------------------------------------------------------------- server: */
	{ .clause = CFG_CL_SERVER, .name = "listen", .type = CT_LISTEN, .flags = CK_MULTI | CK_RESTART,
	  .off = S(listen), .off_n = S(nlisten), .def = "127.0.0.1 ::1", .arg = "ADDR[@PORT]",
	  .def_doc = "`127.0.0.1@53` and `::1@53` (only when no `listen:` is given)",
	  .doc = "An address to answer on, UDP and TCP, IPv4 or IPv6; port 53 when omitted. Each worker opens "
		 "its own socket on every address (`SO_REUSEPORT`)." },
	{ .clause = CFG_CL_SERVER, .name = "allow", .type = CT_CIDR, .flags = CK_MULTI, .off = S(allow),
	  .off_n = S(nallow), .arg = "CIDR", .def_doc = "none",
	  .doc = "Sources that may query, besides loopback; IPv4 and IPv6. See \"Access control\"." },
	{ .clause = CFG_CL_SERVER, .name = "deny", .type = CT_CIDR, .flags = CK_MULTI, .off = S(deny),
	  .off_n = S(ndeny), .arg = "CIDR", .def_doc = "none",
	  .doc = "Sources that are always refused, even if allowed or loopback." },
	{ .clause = CFG_CL_SERVER, .name = "workers", .type = CT_INT, .flags = CK_RESTART, .off = S(workers),
	  .def = "1", .min = 1, .max = 64, .arg = "N",
	  .doc = "Worker threads, each with its own event loop, sockets, upstream sockets and buffers." },
	{ .clause = CFG_CL_SERVER, .name = "cloud", .type = CT_CLOUD, .off = S(cloud), .def = "AzureCloud",
	  .arg = "NAME",
	  .doc = "Which built-in Private Link catalogue forwards to the `azure` group (case-insensitive; `none`: "
		 "no catalogue). Also the default cloud of the `arm:` clause." },
	{ .clause = CFG_CL_SERVER, .name = "state-dir", .type = CT_STR, .flags = CK_RESTART, .off = S(state_dir),
	  .arg = "PATH",
	  .doc = "Where zones synced from ARM are saved as RFC 1035 zone files (temporary file and rename), and "
		 "read back at start-up before the first sync. Not set: synced zones are kept in memory only." },
	{ .clause = CFG_CL_SERVER, .name = "control-socket", .type = CT_STR, .flags = CK_RESTART,
	  .off = S(control_socket), .arg = "PATH",
	  .doc = "UNIX socket `plinkfwd-ctl` talks to (status, reload, stats, zones, flush, sync, explain, check; see "
		 "`plinkfwd-ctl(8)`). Created at start-up, before `user:` takes effect, and given to that "
		 "user; a stale socket file is replaced, a live one (another daemon) or a file that is not a "
		 "socket is an error. Use an absolute path. Not set: no control socket." },
	{ .clause = CFG_CL_SERVER, .name = "control-socket-mode", .type = CT_MODE, .flags = CK_RESTART,
	  .off = S(control_socket_mode), .def = "0600", .max = 0777, .arg = "MODE",
	  .doc = "Permission bits of the control socket, in octal (`0600`, `0660`). Anyone who can connect can "
		 "reload, flush and sync: `0660` lets the members of the socket's group (the group of `user:`) "
		 "do so." },
	{ .clause = CFG_CL_SERVER, .name = "http-listen", .type = CT_HTTP, .flags = CK_RESTART,
	  .off = S(http_listen), .arg = "ADDR[@PORT]",
	  .doc = "Address of the HTTP endpoint serving the status page `/` and its data `/status.json`, "
		 "`/metrics` (Prometheus text format), `/healthz` and `/readyz` (see `docs/admin-guide.md`). Port "
		 "9153 when omitted. Without `http-token-file` it has no authentication: keep it on loopback or a "
		 "management network (on any other address plinkfwd logs a warning at start-up). Not set: no "
		 "HTTP listener." },
	{ .clause = CFG_CL_SERVER, .name = "http-token-file", .type = CT_STR, .off = S(http_token_file),
	  .arg = "PATH",
	  .doc = "File holding a bearer token (its first line, surrounding blanks removed; at most 4096 bytes). "
		 "When set, `/`, `/status.json` and `/metrics` answer 401 unless the request carries "
		 "`Authorization: Bearer TOKEN`; `/healthz` and `/readyz` stay open for load balancers. In a browser open the page as "
		 "`http://ADDR:PORT/#token=TOKEN` (the fragment is never sent; see `docs/admin-guide.md`). Read at "
		 "start-up, before `user:` takes effect (unreadable or empty: plinkfwd does not start), and again "
		 "after every reload, as that user (unreadable or empty then: the previous token stays, with an "
		 "error in the log). The token is never logged. Use an absolute path. Not set: no authentication." },
	{ .clause = CFG_CL_SERVER, .name = "query-log", .type = CT_STR, .flags = CK_RESTART, .off = S(query_log),
	  .arg = "PATH",
	  .doc = "Append one line per answered query to PATH: time, client, transport, name, type, rcode, answer "
		 "source and latency in microseconds (format in `docs/admin-guide.md`). Each worker buffers its "
		 "lines and writes them at least once a second. `SIGUSR2` reopens the file (log rotation: rename "
		 "it, then signal). After `user:` the reopen runs as that user, so the directory must be "
		 "writable by it. Not set: no query log." },
	{ .clause = CFG_CL_SERVER, .name = "pidfile", .type = CT_STR, .flags = CK_RESTART, .off = S(pidfile),
	  .arg = "PATH",
	  .doc = "File the daemon writes its process id to after start-up, and removes on a clean exit." },
	{ .clause = CFG_CL_SERVER, .name = "user", .type = CT_STR, .flags = CK_RESTART, .off = S(user),
	  .arg = "NAME",
	  .doc = "User to run as once every socket is open (port 53, the control socket, HTTP): plinkfwd sets "
		 "its groups to that user's primary group only, then its gid and uid, and refuses to start if "
		 "that fails or if it was started by another non-root user. Not set: keep the starting user. "
		 "State directory, query log directory and reloaded files must be usable by that user." },
	{ .clause = CFG_CL_SERVER, .name = "log-level", .type = CT_LOGLEVEL, .off = S(log_level), .def = "info",
	  .arg = "LEVEL",
	  .doc = "`warn` is `warning`; case-insensitive. Below `debug` nothing is logged per query. Applied "
		 "again on reload." },
	{ .clause = CFG_CL_SERVER, .name = "syslog", .type = CT_BOOL, .flags = CK_RESTART, .off = S(use_syslog),
	  .def = "no", .arg = "yes\\|no",
	  .doc = "`yes` logs to syslog (facility daemon). A daemon running in the background always logs to "
		 "syslog; in the foreground (`-f`) it logs to stderr unless this is `yes`." },
	{ .clause = CFG_CL_SERVER, .name = "upstream-timeout", .type = CT_INT, .off = S(upstream_timeout_ms),
	  .def = "1000", .min = 10, .max = 60000, .arg = "MS",
	  .doc = "Milliseconds to wait for one upstream server before trying the next server of the group." },
	{ .clause = CFG_CL_SERVER, .name = "query-timeout", .type = CT_INT, .off = S(query_timeout_ms),
	  .def = "3000", .min = 10, .max = 300000, .arg = "MS",
	  .doc = "Milliseconds for a whole forwarded query, every attempt included (not less than "
		 "`upstream-timeout`). Then the client gets SERVFAIL." },
	{ .clause = CFG_CL_SERVER, .name = "upstream-max-qps", .type = CT_INT, .off = S(upstream_max_qps),
	  .min = 0, .max = 1000000, .arg = "N", .def_doc = "not set",
	  .doc = "Queries per second to each server of every `upstream:` group that sets no `max-qps` of its "
		 "own — Azure DNS included; `0` = no cap. The form from before caps were per group; see "
		 "`max-qps` in `upstream:` and `docs/upstream.md`." },
	{ .clause = CFG_CL_SERVER, .name = "upstream-max-outstanding", .type = CT_INT,
	  .off = S(upstream_max_outstanding), .min = 0, .max = 1048576, .arg = "N", .def_doc = "not set",
	  .doc = "Queries in flight to each server of every `upstream:` group that sets no `max-outstanding` "
		 "of its own — Azure DNS included; `0` = no cap. Like `upstream-max-qps`." },
	{ .clause = CFG_CL_SERVER, .name = "azure-dns-max-qps", .type = CT_INT, .off = S(azure_dns_max_qps),
	  .def = "900", .min = 0, .max = 1000000, .arg = "N",
	  .doc = "Queries per second to an Azure DNS server — `168.63.129.16`, or every server of a group with "
		 "`azure-dns: yes` — that no `max-qps` applies to. For the whole process: each of the `workers` "
		 "gets `N / workers` (at least 1), and may send a tenth of a second's worth in a burst. The "
		 "default stays under the 1,000 qps that `168.63.129.16` accepts per VM (it silently drops the "
		 "rest); `0` = no cap." },
	{ .clause = CFG_CL_SERVER, .name = "azure-dns-max-outstanding", .type = CT_INT,
	  .off = S(azure_dns_max_outstanding), .def = "150", .min = 0, .max = 1048576, .arg = "N",
	  .doc = "Queries in flight at once to an Azure DNS server that no `max-outstanding` applies to, for "
		 "the whole process (divided among the workers). The default stays under the 200 pending queries "
		 "`168.63.129.16` accepts per VM; `0` = no cap." },
	{ .clause = CFG_CL_SERVER, .name = "upstream-down-after", .type = CT_INT, .off = S(upstream_down_after),
	  .def = "3", .min = 1, .max = 1000, .arg = "N",
	  .doc = "A server that fails this many times in a row (no reply in time, ICMP unreachable, broken TCP; "
		 "not SERVFAIL or REFUSED) is marked down: queries go to the other servers of its groups without "
		 "waiting for it. When every server of a group is down, queries are still sent to them." },
	{ .clause = CFG_CL_SERVER, .name = "upstream-probe-interval", .type = CT_INT,
	  .off = S(upstream_probe_interval_ms), .def = "5000", .min = 100, .max = 3600000, .arg = "MS",
	  .doc = "A server marked down gets one real query this long after its last failure, to find out "
		 "whether it is back; a reload applies a new value at once. The client of that query still gets "
		 "its answer from another server if the probe fails." },
	{ .clause = CFG_CL_SERVER, .name = "upstream-socket-reuse", .type = CT_INT,
	  .off = S(upstream_socket_reuse), .def = "64", .min = 1, .max = 65536, .arg = "N",
	  .doc = "Queries one UDP socket to an upstream server carries, one at a time, before it is closed and "
		 "a new one with a new random source port takes its place. A socket is also replaced after one "
		 "second and after any failure. `1` = a new socket and port for every query (about twice the CPU "
		 "time per forwarded query). See `docs/upstream.md` for the security argument." },
	{ .clause = CFG_CL_SERVER, .name = "max-pending", .type = CT_INT, .flags = CK_RESTART,
	  .off = S(max_pending), .def = "4096", .min = 16, .max = 1048576, .arg = "N",
	  .doc = "Forwarded queries in flight per worker. The pool is allocated at start-up; when it is full a "
		 "new query gets SERVFAIL at once." },
	{ .clause = CFG_CL_SERVER, .name = "tcp-idle-timeout", .type = CT_INT, .flags = CK_RESTART,
	  .off = S(tcp_idle_timeout_ms), .def = "10000", .min = 100, .max = 3600000, .arg = "MS",
	  .doc = "A client TCP connection idle this long — nothing read, no answer pending for it — is "
		 "closed; a message must also be complete within this long of its first byte, however slowly "
		 "it trickles in." },
	{ .clause = CFG_CL_SERVER, .name = "so-rcvbuf", .type = CT_SIZE, .flags = CK_RESTART,
	  .off = S(so_rcvbuf), .def = "1m", .max = 1L << 30, .arg = "SIZE",
	  .doc = "Receive buffer of each UDP listening socket, so that a burst of queries waits in the kernel "
		 "while a worker is busy instead of being dropped. Set before privileges are dropped, so that "
		 "it may exceed `net.core.rmem_max`; if the kernel grants less, the log says so at start-up. "
		 "`0` keeps the system's default." },
	{ .clause = CFG_CL_SERVER, .name = "tcp-max-connections", .type = CT_INT, .flags = CK_RESTART,
	  .off = S(tcp_max_conns), .def = "256", .min = 1, .max = 65536, .arg = "N",
	  .doc = "Client TCP connections open at once, per worker; the slots are allocated at start-up." },
	{ .clause = CFG_CL_SERVER, .name = "tcp-max-connections-per-client", .type = CT_INT, .flags = CK_RESTART,
	  .off = S(tcp_max_conns_per_client), .def = "64", .min = 1, .max = 65536, .arg = "N",
	  .doc = "Client TCP connections open at once from one address, per worker. A connection over the "
		 "limit, or from an address `allow:`/`deny:` refuses, is closed as it is accepted, before it "
		 "takes a slot (counted in `tcp_closed.*`). See `docs/bad-input.md`." },
	{ .clause = CFG_CL_SERVER, .name = "tcp-max-queries-per-connection", .type = CT_INT, .flags = CK_RESTART,
	  .off = S(max_tcp_per_conn), .def = "32", .min = 1, .max = 1024, .arg = "N",
	  .doc = "Queries in flight at once on one client TCP connection; reading pauses until answers go "
		 "out." },
	{ .clause = CFG_CL_SERVER, .name = "listen-tls", .type = CT_LISTEN, .flags = CK_MULTI | CK_RESTART,
	  .off = S(listen_tls), .off_n = S(nlisten_tls), .min = 853, .arg = "ADDR[@PORT]", .def_doc = "none",
	  .doc = "An address to serve DNS over TLS on (RFC 7858, ALPN `dot`); port 853 when omitted. Needs "
		 "`tls-cert` and `tls-key`. Same ACL, routing, cache and query log as UDP. See "
		 "`docs/encrypted-dns.md`." },
	{ .clause = CFG_CL_SERVER, .name = "listen-https", .type = CT_LISTEN, .flags = CK_MULTI | CK_RESTART,
	  .off = S(listen_https), .off_n = S(nlisten_https), .min = 443, .arg = "ADDR[@PORT]", .def_doc = "none",
	  .doc = "An address to serve DNS over HTTPS on (RFC 8484: HTTP/2, ALPN `h2`, path `/dns-query`, GET "
		 "`?dns=` and POST of `application/dns-message`); port 443 when omitted. Needs `tls-cert` and "
		 "`tls-key`." },
	{ .clause = CFG_CL_SERVER, .name = "tls-cert", .type = CT_STR, .off = S(tls_cert), .arg = "PATH",
	  .doc = "PEM file with the certificate of the encrypted listeners, then its intermediates. For "
		 "Discovery of Designated Resolvers (Windows) it must name the listener's IP addresses as IP "
		 "subjectAltNames. Read at start-up and again on every reload; a reload whose certificate or key "
		 "cannot be used fails as a whole and the running certificate stays." },
	{ .clause = CFG_CL_SERVER, .name = "tls-key", .type = CT_STR, .off = S(tls_key), .arg = "PATH",
	  .doc = "PEM file with the private key of `tls-cert`. Read before `user:` takes effect at start-up, "
		 "but as that user on reload." },
	{ .clause = CFG_CL_SERVER, .name = "tls-name", .type = CT_STR, .off = S(tls_name), .arg = "NAME",
	  .doc = "The DNS name `tls-cert` is issued for: the TargetName of the SVCB records that "
		 "`_dns.resolver.arpa` answers with (RFC 9462), and the owner of their A/AAAA records in the "
		 "additional section. Not set: TargetName `.` (the record's owner); clients connect to the "
		 "address hints and verify the certificate against the address they asked (RFC 9462 4.2)." },
	{ .clause = CFG_CL_SERVER, .name = "tls-idle-timeout", .type = CT_INT, .flags = CK_RESTART,
	  .off = S(tls_idle_timeout_ms), .def = "10000", .min = 100, .max = 3600000, .arg = "MS",
	  .doc = "A DoT or DoH connection idle this long (nothing read, no answer pending) is closed, and so "
		 "is one whose TLS handshake or DNS message is not complete within this long." },
	{ .clause = CFG_CL_SERVER, .name = "tls-max-connections", .type = CT_INT, .flags = CK_RESTART,
	  .off = S(tls_max_conns), .def = "256", .min = 1, .max = 65536, .arg = "N",
	  .doc = "DoT connections, and DoH connections, open at once per worker (each transport its own "
		 "count). A connection over the limit, or from an address `allow:`/`deny:` refuses, is closed "
		 "as it is accepted, before any handshake (counted). `tcp-max-connections-per-client` applies "
		 "too." },
	{ .clause = CFG_CL_SERVER, .name = "tls-max-queries-per-connection", .type = CT_INT, .flags = CK_RESTART,
	  .off = S(max_tls_per_conn), .def = "100", .min = 1, .max = 1024, .arg = "N",
	  .doc = "Queries in flight at once on one DoT connection (reading pauses until answers go out; "
		 "answers leave in the order they are ready), or HTTP/2 streams open at once on one DoH "
		 "connection (`SETTINGS_MAX_CONCURRENT_STREAMS`)." },
	{ .clause = CFG_CL_SERVER, .name = "cache-size", .type = CT_SIZE, .off = S(cache_size), .def = "64m",
	  .arg = "SIZE",
	  .doc = "Memory for the answer cache, one for all workers (entries and their bookkeeping; least "
		 "recently used entries go first). `0` turns the cache off. A reload applies a new size. See "
		 "`docs/resolution.md`." },
	{ .clause = CFG_CL_SERVER, .name = "cache-min-ttl", .type = CT_INT, .off = S(cache_min_ttl), .def = "0",
	  .min = 0, .max = 86400, .arg = "SECONDS",
	  .doc = "TTLs of cached answers below this are raised to it. Not applied to the lifetime of negative "
		 "answers." },
	{ .clause = CFG_CL_SERVER, .name = "cache-max-ttl", .type = CT_INT, .off = S(cache_max_ttl),
	  .def = "86400", .min = 0, .max = 2147483647, .arg = "SECONDS",
	  .doc = "TTLs of cached answers above this are lowered to it (not below `cache-min-ttl`). `0` caches "
		 "nothing." },
	{ .clause = CFG_CL_SERVER, .name = "cache-negative-max-ttl", .type = CT_INT, .off = S(cache_neg_max_ttl),
	  .def = "3600", .min = 0, .max = 604800, .arg = "SECONDS",
	  .doc = "A negative answer (NXDOMAIN, NODATA) is cached for min(SOA TTL, SOA MINIMUM) seconds (RFC "
		 "2308), at most this long. Negative answers without an SOA are not cached." },
	{ .clause = CFG_CL_SERVER, .name = "serve-stale", .type = CT_INT, .off = S(serve_stale), .def = "0",
	  .min = 0, .max = 2592000, .arg = "SECONDS", .def_doc = "`0` (off)",
	  .doc = "RFC 8767: when every server of a group fails (or none can be asked), answer from a cache "
		 "entry that expired at most this many seconds ago, every TTL set to 30." },
	{ .clause = CFG_CL_SERVER, .name = "privatelink-fallback", .type = CT_FALLBACK,
	  .off = S(privatelink_fallback), .def = "none", .arg = "public\\|none",
	  .doc = "For names of the built-in Private Link catalogue — and `forward:` rules for a `privatelink.*` "
		 "suffix that have no `fallback:` of their own — an NXDOMAIN from the group is followed by a "
		 "query to the `default` group, whose answer the client gets (Azure's NxDomainRedirect). Also "
		 "decides what a spliced CNAME chain gets when the private side says NXDOMAIN." },
	{ .clause = CFG_CL_SERVER, .name = "nsid", .type = CT_NSID, .off = S(nsid), .off_n = S(nsid_len),
	  .max = CFG_NSID_MAX, .arg = "TEXT", .def_doc = "not set (off)",
	  .doc = "Answer an NSID request (RFC 5001) with TEXT's bytes, to tell instances apart. The upstream's "
		 "NSID is never passed on. See `docs/edns.md`." },
	{ .clause = CFG_CL_SERVER, .name = "cookies-required-udp", .type = CT_BOOL,
	  .off = S(cookies_required_udp), .def = "no", .arg = "yes\\|no",
	  .doc = "A UDP query with a client cookie but no valid server cookie gets BADCOOKIE and a fresh server "
		 "cookie (RFC 7873 5.2.3). Queries without a cookie, and TCP, are never affected. See "
		 "`docs/edns.md`." },

	/* forwarding loops (docs/onprem-recipes.md, "Loops") */
	{ .clause = CFG_CL_SERVER, .name = "loop-probe", .type = CT_BOOL, .off = S(loop_probe), .def = "no",
	  .arg = "yes\\|no",
	  .doc = "At start-up and after each reload, send one query, `<16 hex digits>.plinkfwd-loop-probe.<zone>` "
		 "HINFO, for each `forward:` rule's suffix through its group, for each zone with `fallback: public` "
		 "and for the root through `default`. One that comes back to plinkfwd as a client query shows a "
		 "forwarding loop: logged, counted, shown by `plinkfwd-ctl status`, `/metrics` and `/healthz`. "
		 "Queries detected looping while they happen are answered SERVFAIL whatever this says." },
	{ .clause = CFG_CL_SERVER, .name = "loop-probe-interval", .type = CT_INT, .off = S(loop_probe_interval_s),
	  .def = "60", .min = 1, .max = 86400, .arg = "SECONDS",
	  .doc = "A route is probed at most once in this many seconds: a reload sooner than that probes it "
		 "when the interval has passed." },
	{ .clause = CFG_CL_SERVER, .name = "loop-ready-fail", .type = CT_BOOL, .off = S(loop_ready_fail),
	  .def = "no", .arg = "yes\\|no",
	  .doc = "`/readyz` answers 503 while the last probe of some route came back (`loop-probe`). "
		 "`/healthz` only reports it." },

	{ .clause = CFG_CL_SERVER, .name = "xfr-journal-size", .type = CT_SIZE, .off = S(xfr_journal_size),
	  .def = "1m", .max = 1L << 30, .arg = "SIZE",
	  .doc = "Differences between published versions kept per zone that some `allow-transfer:` line lets "
		 "secondaries transfer, for IXFR (RFC 1995): the newest versions that fit, oldest dropped first. "
		 "A secondary whose serial is older than the journal reaches back gets the whole zone. Saved in "
		 "`state-dir:` (`xfr-journal/ZONE`) after every change and read back at start-up; without "
		 "`state-dir:` it starts empty after a restart. `0`: no journal." },

	/* ---------------------------------------------------------------- upstream: NAME */
	{ .clause = CFG_CL_UPSTREAM, .name = "server", .type = CT_SERVER, .flags = CK_MULTI, .off = U(servers),
	  .off_n = U(nservers), .arg = "ADDR[@PORT] [max-qps=N] [max-outstanding=N]", .def_doc = "none",
	  .doc = "A server of the group; port 53 when omitted; IPv4 or IPv6 (`[2001:db8::53]@53` or "
		 "`2001:db8::53@53`). `max-qps=N` and `max-outstanding=N` (ranges as the keys below) cap this "
		 "server alone, over the group's caps. The same address twice in a group is an error; a group "
		 "has at most 64." },
	{ .clause = CFG_CL_UPSTREAM, .name = "max-qps", .type = CT_INT, .off = U(max_qps), .min = 0,
	  .max = 1000000, .arg = "N", .def_doc = "no cap; for Azure DNS `azure-dns-max-qps`",
	  .doc = "Queries per second to each server of the group, for the whole process (each worker gets "
		 "`N / workers`, at least 1, and a burst of a tenth of a second's worth: at most `1.1 × N` in any "
		 "one second). When every server a query could go to is at a cap, the client gets SERVFAIL at "
		 "once. `0` = no cap. Not set: the server clause's `upstream-max-qps` if given, else "
		 "`azure-dns-max-qps` for an Azure DNS server, else no cap." },
	{ .clause = CFG_CL_UPSTREAM, .name = "max-outstanding", .type = CT_INT, .off = U(max_outstanding),
	  .min = 0, .max = 1048576, .arg = "N", .def_doc = "no cap; for Azure DNS `azure-dns-max-outstanding`",
	  .doc = "Queries in flight at once to each server of the group, for the whole process (divided among "
		 "the workers); beyond it the next server of the group is used, or the client gets SERVFAIL at "
		 "once. `0` = no cap. Not set: like `max-qps`." },
	{ .clause = CFG_CL_UPSTREAM, .name = "azure-dns", .type = CT_BOOL, .off = U(azure_dns), .def = "no",
	  .arg = "yes\\|no",
	  .doc = "`yes`: the servers of this group are Azure DNS (say, `168.63.129.16` reached through a "
		 "forwarder or NAT at another address), so the `azure-dns-max-*` caps protect them. A server "
		 "at `168.63.129.16` is Azure DNS in any group." },

	/* ---------------------------------------------------------------- forward: SUFFIX */
	{ .clause = CFG_CL_FORWARD, .name = "to", .type = CT_GROUP, .flags = CK_REQUIRED, .off = F(to),
	  .arg = "GROUP",
	  .doc = "The group that names at or below `SUFFIX` go to. Must be an `upstream:` group declared "
		 "anywhere in the file, or `azure` / `default`." },
	{ .clause = CFG_CL_FORWARD, .name = "fallback", .type = CT_FALLBACK, .off = F(fallback_public),
	  .arg = "public\\|none",
	  .def_doc = "`none`; for a `privatelink.*` suffix the server's `privatelink-fallback`",
	  .doc = "`public`: an NXDOMAIN from the group is followed by a query to the `default` group, whose "
		 "answer the client gets." },

	/* ---------------------------------------------------------------- zone: NAME */
	{ .clause = CFG_CL_ZONE, .name = "file", .type = CT_ZONEFILE, .off = Z(file),
	  .arg = "PATH", .def_doc = "(required, unless `primary:`)",
	  .doc = "RFC 1035 zone file with the zone's records; an SOA at the apex is required. A relative path "
		 "is relative to the directory of the configuration file (so `conf/plinkfwd.conf` with "
		 "`file: ../zones/x.zone` reads `conf/../zones/x.zone`, wherever it is started from)." },
	{ .clause = CFG_CL_ZONE, .name = "fallback", .type = CT_FALLBACK, .off = Z(fallback_public), .def = "none",
	  .arg = "public\\|none",
	  .doc = "`public`: a name of the zone with no record (NXDOMAIN) is resolved through the `default` "
		 "group instead, like Azure's \"fallback to internet\" (resolutionPolicy NxDomainRedirect). "
		 "`none`: answer NXDOMAIN with the zone's SOA." },
	{ .clause = CFG_CL_ZONE, .name = "primary", .type = CT_PRIMARY, .flags = CK_MULTI, .off = Z(primaries),
	  .off_n = Z(nprimaries), .arg = "ADDR[@PORT] [key NAME]",
	  .doc = "Makes the zone a secondary zone, transferred from this server (port 53 by default) instead "
		 "of read from a file; repeatable, tried in order; excludes `file:`. plinkfwd asks the "
		 "primary for its SOA at the zone's refresh interval (at its retry interval after a failure, "
		 "and at once on a NOTIFY from a primary's address), transfers it by IXFR with AXFR as the "
		 "fallback, keeps a copy in `state-dir` that serves from start-up on, and answers SERVFAIL "
		 "once the SOA expire time has passed without a successful check. `key NAME` signs and "
		 "verifies every message with the TSIG key of that `key:` clause. See docs/admin-guide.md, "
		 "\"Secondary zones\"." },
	{ .clause = CFG_CL_ZONE, .name = "allow-transfer", .type = CT_XFRACL, .flags = CK_MULTI,
	  .off = Z(allow_transfer), .off_n = Z(nallow_transfer), .arg = "PREFIX [key NAME]", .def_doc = "none",
	  .doc = "Sources that may transfer the zone (AXFR, IXFR; RFC 5936, RFC 1995), as a CIDR; with "
		 "`key NAME`, only requests signed with that `key:` (TSIG). No line: no transfers. A refused "
		 "request gets REFUSED, a request with a bad signature NOTAUTH; both are logged (rate-limited) "
		 "and counted. The source must also be allowed to query (`allow:`). See "
		 "`docs/admin-guide.md`, \"Fleet\"." },
	{ .clause = CFG_CL_ZONE, .name = "notify", .type = CT_NOTIFY, .flags = CK_MULTI, .off = Z(notify),
	  .off_n = Z(nnotify), .arg = "ADDR[@PORT] [key NAME]", .def_doc = "none",
	  .doc = "A secondary told with a NOTIFY (RFC 1996), signed with `key NAME` when given, whenever a new "
		 "version of the zone is published (start-up, a reload that changes the zone); retried until "
		 "it answers or the retries run out." },

	/* ---------------------------------------------------------------- arm: */
	{ .clause = CFG_CL_ARM, .name = "subscription", .type = CT_TOKENS, .flags = CK_MULTI,
	  .off = A(subscriptions), .off_n = A(nsubscriptions), .max = 64, .chars = "-",
	  .what = "a subscription id", .arg = "ID",
	  .def_doc = "(required, at least one; with `discovery: resource-graph` optional)",
	  .doc = "A subscription to read, by id (case-insensitive). The order decides the merge: an earlier "
		 "subscription wins a zone name clash. With `discovery: resource-graph` the subscriptions "
		 "scope the query; without any (and without `management-group:`) it covers every "
		 "subscription the identity can read, ranked after the configured ones." },
	{ .clause = CFG_CL_ARM, .name = "resource-group", .type = CT_TOKENS, .flags = CK_MULTI,
	  .off = A(resource_groups), .off_n = A(nresource_groups), .max = 90, .chars = "-_.()",
	  .what = "a resource group name", .arg = "NAME", .def_doc = "all",
	  .doc = "Only list zones in these resource groups (of every subscription)." },
	{ .clause = CFG_CL_ARM, .name = "zone-filter", .type = CT_PATTERNS, .flags = CK_MULTI,
	  .off = A(zone_filters), .off_n = A(nzone_filters), .arg = "PATTERN", .def_doc = "all zones",
	  .doc = "Shell-style glob on the zone name, e.g. `privatelink.*` (`*` also matches dots); any match "
		 "keeps the zone." },
	{ .clause = CFG_CL_ARM, .name = "fallback", .type = CT_FALLBACK, .off = A(fallback_public), .def = "none",
	  .arg = "public\\|none",
	  .doc = "For every synced zone: a name the zone lacks is resolved on the public path instead of "
		 "NXDOMAIN (Azure's \"fallback to internet\")." },
	{ .clause = CFG_CL_ARM, .name = "zone-fallback", .type = CT_ZFALLBACKS, .flags = CK_MULTI,
	  .off = A(fallbacks), .off_n = A(nfallbacks), .arg = "PATTERN public\\|none",
	  .doc = "The same per zone name pattern; the first matching line wins over `fallback:`." },
	{ .clause = CFG_CL_ARM, .name = "interval", .type = CT_INT, .off = A(interval_s), .def = "60", .min = 1,
	  .max = 86400, .arg = "SECONDS",
	  .doc = "From the start of one sync round to the start of the next." },
	{ .clause = CFG_CL_ARM, .name = "auth", .type = CT_WORD, .off = A(auth), .def = "managed-identity",
	  .min = ARM_AUTH_MANAGED_IDENTITY, .words = auth_words,
	  .arg = "managed-identity\\|client-secret\\|workload-identity",
	  .doc = "Where the token comes from: see *Authentication* in `docs/arm-sync.md`." },
	{ .clause = CFG_CL_ARM, .name = "client-id", .type = CT_TOKEN, .off = A(client_id), .max = 128,
	  .chars = "-", .what = "an application (client) id", .arg = "ID",
	  .doc = "A user-assigned managed identity, or the application (client) id." },
	{ .clause = CFG_CL_ARM, .name = "tenant-id", .type = CT_TOKEN, .off = A(tenant_id), .max = 256,
	  .chars = "-.", .what = "a tenant id or domain", .arg = "ID",
	  .doc = "Tenant id or domain (client secret; for workload identity it overrides `AZURE_TENANT_ID`)." },
	{ .clause = CFG_CL_ARM, .name = "client-secret", .type = CT_SECRET, .arg = "(refused)",
	  .def_doc = "—",
	  .doc = "Refused: a secret never goes in the configuration text (the error does not echo it). Use "
		 "`client-secret-file:` or `client-secret-env:`." },
	{ .clause = CFG_CL_ARM, .name = "client-secret-file", .type = CT_STR, .off = A(client_secret_file),
	  .arg = "PATH", .doc = "File holding the client secret (trailing newline ignored)." },
	{ .clause = CFG_CL_ARM, .name = "client-secret-env", .type = CT_ENVNAME, .off = A(client_secret_env),
	  .arg = "NAME", .doc = "Name of an environment variable holding the client secret." },
	{ .clause = CFG_CL_ARM, .name = "federated-token-file", .type = CT_STR, .off = A(federated_token_file),
	  .arg = "PATH", .def_doc = "`$AZURE_FEDERATED_TOKEN_FILE`", .doc = "Workload identity assertion file." },
	{ .clause = CFG_CL_ARM, .name = "arm-cloud", .type = CT_ARM_CLOUD, .off = A(cloud),
	  .arg = "AzureCloud\\|AzureUSGovernment\\|AzureChinaCloud", .def_doc = "`server: cloud`",
	  .doc = "The cloud whose endpoints are the defaults." },
	{ .clause = CFG_CL_ARM, .name = "arm-endpoint", .type = CT_URL, .off = A(arm_endpoint), .arg = "URL",
	  .def_doc = "the cloud's", .doc = "ARM base URL." },
	{ .clause = CFG_CL_ARM, .name = "login-endpoint", .type = CT_URL, .off = A(login_endpoint), .arg = "URL",
	  .def_doc = "the cloud's (or `$AZURE_AUTHORITY_HOST` for workload identity)",
	  .doc = "Entra authority host." },
	{ .clause = CFG_CL_ARM, .name = "imds-endpoint", .type = CT_URL, .off = A(imds_endpoint), .max = 1,
	  .arg = "URL", .def_doc = "`http://169.254.169.254`", .doc = "IMDS base URL." },
	{ .clause = CFG_CL_ARM, .name = "audience", .type = CT_URL, .off = A(audience), .arg = "URL",
	  .def_doc = "the cloud's ARM endpoint",
	  .doc = "Token audience; the scope is `audience/.default`, the IMDS resource `audience/`." },
	{ .clause = CFG_CL_ARM, .name = "api-version", .type = CT_TOKEN, .off = A(api_version), .def = "2024-06-01",
	  .max = 32, .chars = "-.", .what = "an API version", .arg = "V", .doc = "Private DNS API version." },
	{ .clause = CFG_CL_ARM, .name = "ca-file", .type = CT_STR, .off = A(ca_file), .arg = "PATH",
	  .def_doc = "system CA store",
	  .doc = "PEM bundle that replaces the system store for all three endpoints." },
	{ .clause = CFG_CL_ARM, .name = "timeout", .type = CT_INT, .off = A(timeout_s), .def = "30", .min = 1,
	  .max = 600, .arg = "SECONDS", .doc = "Per HTTP request, connection included." },
	{ .clause = CFG_CL_ARM, .name = "max-inflight", .type = CT_INT, .off = A(max_inflight), .def = "4",
	  .min = 1, .max = 64, .arg = "N", .doc = "ARM requests in flight at once." },
	{ .clause = CFG_CL_ARM, .name = "max-retries", .type = CT_INT, .off = A(max_retries), .def = "4",
	  .min = 0, .max = 20, .arg = "N", .doc = "Retries per request on 429, 5xx and timeouts." },
	{ .clause = CFG_CL_ARM, .name = "page-size", .type = CT_INT, .off = A(page_size), .def = "1000", .min = 1,
	  .max = 1000, .arg = "N", .doc = "`$top` for record-set listings (ARM's limit is 1000)." },
	/* private endpoints (docs/arm-sync.md, *Records from private endpoints*) */
	{ .clause = CFG_CL_ARM, .name = "private-endpoints", .type = CT_BOOL, .off = A(private_endpoints),
	  .def = "no", .arg = "yes\\|no",
	  .doc = "Also list the private endpoints of every subscription (or resource group) and serve the "
		 "FQDNs and addresses of their `customDnsConfigs`, in the Private Link zone the catalogue pairs "
		 "with each FQDN, when the endpoint's connection is Approved. A record of a private DNS zone "
		 "wins over an endpoint's for the same name." },
	{ .clause = CFG_CL_ARM, .name = "endpoint-zone", .type = CT_TOKENS, .flags = CK_MULTI,
	  .off = A(endpoint_zones), .off_n = A(nendpoint_zones), .max = 253, .chars = "-_.",
	  .what = "a zone name", .arg = "ZONE", .def_doc = "none",
	  .doc = "An endpoint FQDN that no catalogue zone covers is served under its own name in the "
		 "longest of these zones that contains it; one that none contains is skipped with a log line." },
	{ .clause = CFG_CL_ARM, .name = "endpoint-ttl", .type = CT_INT, .off = A(endpoint_ttl), .def = "10",
	  .min = 0, .max = 86400, .arg = "SECONDS",
	  .doc = "TTL of the records made from private endpoints (Azure's own DNS zone groups write 10)." },
	/* Resource Graph (docs/arm-sync.md, *Tenant-wide discovery*) */
	{ .clause = CFG_CL_ARM, .name = "discovery", .type = CT_WORD, .off = A(discovery), .def = "subscriptions",
	  .min = ARM_DISCOVERY_SUBSCRIPTIONS, .words = discovery_words, .arg = "subscriptions\\|resource-graph",
	  .doc = "How zones and private endpoints are found: one list per subscription (or resource group), "
		 "or one paged Azure Resource Graph query over every subscription in scope." },
	{ .clause = CFG_CL_ARM, .name = "management-group", .type = CT_TOKENS, .flags = CK_MULTI,
	  .off = A(management_groups), .off_n = A(nmanagement_groups), .max = 90, .chars = "-_.()",
	  .what = "a management group name", .arg = "NAME", .def_doc = "the tenant",
	  .doc = "`discovery: resource-graph` only: query these management groups instead of the "
		 "`subscription:` list (not both)." },
	{ .clause = CFG_CL_ARM, .name = "records-from", .type = CT_WORD, .off = A(records_from), .def = "zones",
	  .min = ARM_RECORDS_FROM_ZONES, .words = records_from_words, .arg = "zones\\|resource-graph",
	  .doc = "`discovery: resource-graph` only: `zones` lists the record sets of each zone from ARM; "
		 "`resource-graph` takes them all from Resource Graph's `dnsresources` table in one paged "
		 "query, and lists a zone directly when its count there differs from the zone's "
		 "`numberOfRecordSets` (Resource Graph lags ARM)." },
	{ .clause = CFG_CL_ARM, .name = "resource-graph-api-version", .type = CT_TOKEN, .off = A(rg_api_version),
	  .def = "2024-04-01", .max = 32, .chars = "-.", .what = "an API version", .arg = "V",
	  .doc = "Microsoft.ResourceGraph API version." },
	{ .clause = CFG_CL_ARM, .name = "endpoint-api-version", .type = CT_TOKEN, .off = A(pe_api_version),
	  .def = "2026-01-01", .max = 32, .chars = "-.", .what = "an API version", .arg = "V",
	  .doc = "Microsoft.Network API version for the private endpoint lists." },
	{ .clause = CFG_CL_ARM, .name = "allow-transfer", .type = CT_XFRACL, .flags = CK_MULTI,
	  .off = A(allow_transfer), .off_n = A(nallow_transfer), .arg = "PREFIX [key NAME]", .def_doc = "none",
	  .doc = "Like `allow-transfer` of `zone:`, for every synced zone: secondaries (plinkfwd, BIND, NSD, "
		 "Knot, Windows DNS, Infoblox) transfer them from here instead of each syncing from ARM." },
	{ .clause = CFG_CL_ARM, .name = "notify", .type = CT_NOTIFY, .flags = CK_MULTI, .off = A(notify),
	  .off_n = A(nnotify), .arg = "ADDR[@PORT] [key NAME]", .def_doc = "none",
	  .doc = "Like `notify` of `zone:`, for every synced zone: each sync round that changes a zone "
		 "publishes a new version and notifies these secondaries." },

	/* ---------------------------------------------------------------- key: NAME */
	{ .clause = CFG_CL_KEY, .name = "algorithm", .type = CT_TSIGALG, .off = K(algorithm), .def = "hmac-sha256",
	  .words = cfg_tsig_alg_words, .arg = "NAME",
	  .doc = "The TSIG algorithm (RFC 8945) of the key, case-insensitive. `hmac-sha256` or `hmac-sha512` "
		 "for new keys; `hmac-sha1` only for a peer that knows nothing newer." },
	{ .clause = CFG_CL_KEY, .name = "secret-file", .type = CT_KEYFILE, .flags = CK_REQUIRED,
	  .off = K(secret_file), .arg = "PATH",
	  .doc = "File holding the key's secret in base64 (as `tsig-keygen`, `keymgr -t` or `openssl rand "
		 "-base64 32` print it; blanks and line breaks are ignored). A relative path is relative to the "
		 "directory of the configuration file. Read at start-up, on every reload and by `plinkfwd -t`; "
		 "unreadable, empty or not base64 is an error. The secret is never logged nor shown by "
		 "`plinkfwd-ctl`; keep the file readable by the daemon's user only." },
	{ .clause = CFG_CL_KEY, .name = "secret", .type = CT_SECRET, .arg = "(refused)", .def_doc = "—",
	  .doc = "Refused: a secret never goes in the configuration text (the error does not echo it). Use "
		 "`secret-file:`." },
};

const size_t cfg_schema_len = FWD_ARRAY_LEN(cfg_schema);

/* Int-valued keys are stored through an int *: enums must have its size. */
_Static_assert(sizeof(enum cfg_cloud) == sizeof(int), "enum cfg_cloud is an int");
_Static_assert(sizeof(enum arm_auth_kind) == sizeof(int), "enum arm_auth_kind is an int");

static const char *const clause_names[CFG_NCLAUSES] = {"server", "upstream", "forward", "zone", "arm", "key"};

const char *cfg_clause_name(enum cfg_clause c)
{
	return (unsigned)c < CFG_NCLAUSES ? clause_names[c] : "(none)";
}

const struct cfg_key *cfg_schema_find(enum cfg_clause c, const char *key)
{
	for (size_t i = 0; i < cfg_schema_len; i++)
		if (cfg_schema[i].clause == c && strcmp(cfg_schema[i].name, key) == 0)
			return &cfg_schema[i];
	return NULL;
}

enum fwd_err cfg_schema_home(const char *key, enum cfg_clause *c)
{
	for (size_t i = 0; i < cfg_schema_len; i++) {
		if (strcmp(cfg_schema[i].name, key) == 0) {
			*c = cfg_schema[i].clause;
			return FWD_OK;
		}
	}
	return FWD_ENOENT;
}

size_t cfg_schema_index(const struct cfg_key *k)
{
	size_t n = 0;

	for (const struct cfg_key *r = cfg_schema; r < k; r++)
		n += r->clause == k->clause;
	return n;
}

size_t cfg_schema_count(enum cfg_clause c)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg_schema_len; i++)
		n += cfg_schema[i].clause == c;
	return n;
}

/* Keys whose value is an int. */
static int int_valued(enum cfg_type t)
{
	return t == CT_INT || t == CT_BOOL || t == CT_FALLBACK || t == CT_WORD || t == CT_MODE || t == CT_CLOUD ||
	       t == CT_ARM_CLOUD;
}

enum fwd_err cfg_schema_defaults(enum cfg_clause c, void *base, cfg_schema_set_fn set, void *ctx)
{
	for (size_t i = 0; i < cfg_schema_len; i++) {
		const struct cfg_key *k = &cfg_schema[i];
		enum fwd_err rc;

		if (k->clause != c || (k->flags & CK_MULTI))
			continue;
		if (k->def == NULL) {
			if (int_valued(k->type))
				*(int *)(void *)((char *)base + k->off) = -1;
			continue;
		}
		if ((rc = set(ctx, k, k->def)) != FWD_OK)
			return rc;
	}
	return FWD_OK;
}

void cfg_schema_free(enum cfg_clause c, void *base)
{
	for (size_t i = 0; i < cfg_schema_len; i++) {
		const struct cfg_key *k = &cfg_schema[i];
		void **at = (void **)(void *)((char *)base + k->off);
		size_t *n = (size_t *)(void *)((char *)base + k->off_n);

		if (k->clause != c)
			continue;
		switch (k->type) {
		case CT_TOKENS:
		case CT_PATTERNS:
			for (size_t j = 0; j < *n; j++)
				free(((char **)*at)[j]);
			*n = 0;
			break;
		case CT_ZFALLBACKS:
			for (size_t j = 0; j < *n; j++)
				free(((struct arm_cfg_fallback *)*at)[j].pattern);
			*n = 0;
			break;
		case CT_XFRACL:
			for (size_t j = 0; j < *n; j++)
				free(((struct cfg_xfr_acl *)*at)[j].key);
			*n = 0;
			break;
		case CT_NOTIFY:
			for (size_t j = 0; j < *n; j++)
				free(((struct cfg_notify *)*at)[j].key);
			*n = 0;
			break;
		case CT_LISTEN:
		case CT_CIDR:
		case CT_SERVER:
			*n = 0;
			break;
		case CT_PRIMARY:
			cfg_primary_list_free(*at, *n);
			*n = 0;
			*at = NULL;
			continue;
		case CT_LOGLEVEL:
		case CT_STR:
		case CT_NSID:
		case CT_HTTP:
		case CT_GROUP:
		case CT_ZONEFILE:
		case CT_TSIGALG:
		case CT_KEYFILE:
		case CT_URL:
		case CT_TOKEN:
		case CT_ENVNAME:
			break;
		default:
			continue; /* numbers; client-secret stores nothing */
		}
		free(*at);
		*at = NULL;
	}
}

/* ------------------------------------------------------------ documentation */

static void md_words(FILE *out, const char *const *w)
{
	for (size_t i = 0; w[i]; i++)
		fprintf(out, "%s`%s`", i ? ", " : "", w[i]);
}

/* The Range column. */
static void md_range(FILE *out, const struct cfg_key *k)
{
	switch (k->type) {
	case CT_INT:
		fprintf(out, "%ld–%ld", k->min, k->max);
		return;
	case CT_BOOL:
		fputs("`yes`, `no`", out);
		return;
	case CT_FALLBACK:
		fputs("`public`, `none`", out);
		return;
	case CT_WORD:
	case CT_TSIGALG:
		md_words(out, k->words);
		return;
	case CT_SIZE: {
		/* max, when set, in the largest unit it is a whole number of */
		long m = k->max;
		const char *u = "";
		if (m == 0) {
			fputs("`0`–`1024g`", out);
			return;
		}
		if (m % (1L << 30) == 0) {
			m >>= 30;
			u = "g";
		} else if (m % (1L << 20) == 0) {
			m >>= 20;
			u = "m";
		} else if (m % 1024 == 0) {
			m >>= 10;
			u = "k";
		}
		fprintf(out, "`0`–`%ld%s`", m, u);
		return;
	}
	case CT_MODE:
		fprintf(out, "`0`–`0%lo`", (unsigned long)k->max);
		return;
	case CT_NSID:
		fprintf(out, "1–%ld bytes", k->max);
		return;
	case CT_CLOUD:
	case CT_ARM_CLOUD:
		for (int cl = CLOUD_AZURE; cl <= CLOUD_CHINA; cl++)
			fprintf(out, "%s`%s`", cl > CLOUD_AZURE ? ", " : "", cfg_cloud_name((enum cfg_cloud)cl));
		if (k->type == CT_CLOUD)
			fprintf(out, ", `%s`", cfg_cloud_name(CLOUD_NONE));
		return;
	case CT_LOGLEVEL:
		fputs("`error`, `warning`, `info`, `debug`", out);
		return;
	case CT_URL:
		fputs(k->max ? "`http://…`, `https://…`" : "`https://…`", out);
		return;
	case CT_TOKEN:
	case CT_TOKENS:
		fputs("letters, digits", out);
		for (const char *ch = k->chars; *ch; ch++)
			fprintf(out, ", `%c`", *ch);
		fprintf(out, "; at most %ld", k->max);
		return;
	default:
		fputs("—", out);
		return;
	}
}

void cfg_schema_markdown(FILE *out, enum cfg_clause c)
{
	fputs("| Key | Default | Range | Meaning |\n|---|---|---|---|\n", out);
	for (size_t i = 0; i < cfg_schema_len; i++) {
		const struct cfg_key *k = &cfg_schema[i];

		if (k->clause != c)
			continue;
		fprintf(out, "| `%s: %s` | ", k->name, k->arg);
		if (k->flags & CK_REQUIRED)
			fputs(k->flags & CK_MULTI ? "(required, at least one)" : "(required)", out);
		else if (k->def_doc)
			fputs(k->def_doc, out);
		else if (k->def)
			fprintf(out, "`%s`", k->def);
		else
			fputs("not set", out);
		fputs(" | ", out);
		md_range(out, k);
		fprintf(out, " | %s%s%s |\n", k->doc, (k->flags & CK_MULTI) ? " Repeatable." : "",
			(k->flags & CK_RESTART) ? " Needs a restart to change." : "");
	}
}

#define DOC_OPEN "<!-- schema: "
#define DOC_CLOSE "<!-- /schema -->"

enum fwd_err cfg_schema_doc_update(const char *text, char **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *p = text;
	int line = 0;

	if (f == NULL)
		return FWD_ENOMEM;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) + 1 : strlen(p);
		enum cfg_clause c = CFG_NCLAUSES;

		line++;
		fwrite(p, 1, n, f);
		if (strncmp(p, DOC_OPEN, sizeof(DOC_OPEN) - 1) == 0) {
			const char *name = p + sizeof(DOC_OPEN) - 1;
			for (int i = 0; i < CFG_NCLAUSES; i++) {
				size_t l = strlen(clause_names[i]);
				if (strncmp(name, clause_names[i], l) == 0 && strncmp(name + l, " -->", 4) == 0)
					c = (enum cfg_clause)i;
			}
			if (c == CFG_NCLAUSES) {
				fwd_errf(err, errlen, "line %d: unknown clause in '%.*s'", line, (int)(n - 1), p);
				goto bad;
			}
			/* skip the old table, up to the closing marker */
			p += n;
			for (;;) {
				if (*p == '\0') {
					fwd_errf(err, errlen, "line %d: no '%s' after it", line, DOC_CLOSE);
					goto bad;
				}
				eol = strchr(p, '\n');
				n = eol ? (size_t)(eol - p) + 1 : strlen(p);
				line++;
				if (strncmp(p, DOC_CLOSE, sizeof(DOC_CLOSE) - 1) == 0)
					break;
				p += n;
			}
			cfg_schema_markdown(f, c);
			fwrite(p, 1, n, f);
		}
		p += n;
	}
	if (fclose(f) != 0) {
		free(buf);
		return FWD_ENOMEM;
	}
	*out = buf;
	return FWD_OK;
bad:
	fclose(f);
	free(buf);
	return FWD_EPARSE;
}
