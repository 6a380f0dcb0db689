/*
 * cfg_types.h -- the shape of a parsed configuration: struct cfg and the
 * structs it holds.  Types only, so that the clause parsers (cfg_xfr.c,
 * cfg_secondary.c, cfg_loop.c, cfg_tsig.c) and the schema table can name
 * them without depending on the parser in config.c (config.h says how a
 * struct cfg is built and freed, and who owns what).
 */
#ifndef PLINKFWD_CFG_TYPES_H
#define PLINKFWD_CFG_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cloud.h"
#include "common.h"

struct arm_cfg; /* arm_config.h */
struct cfg_primary; /* cfg_secondary.h */


struct cfg_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int line;
};

struct cfg_cidr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* network address, host bits cleared */
	int prefix;        /* 0..32 or 0..128 */
	int line;
};

/* Longest nsid: payload; an operator's label, not a document. */
#define CFG_NSID_MAX 128

/* Servers in one upstream group at most (upstream.c tracks them in a bit mask). */
#define CFG_MAX_GROUP_SERVERS 64

/*
 * What one upstream server may be sent, for the whole process (each worker
 * enforces its share, upstream_health.c); 0 = no cap.  Resolved by
 * cfg_load() for every server of every group, in this order: the server's
 * own max-qps=/max-outstanding=, the group's max-qps:/max-outstanding:, the
 * server: clause's upstream-max-qps/upstream-max-outstanding, and for Azure
 * DNS (168.63.129.16, or a group with azure-dns: yes) azure-dns-max-qps /
 * azure-dns-max-outstanding; anything else has no cap.
 */
struct cfg_caps {
	int max_qps;          /* queries per second */
	int max_outstanding;  /* queries in flight */
};

struct cfg_upstream {
	char *name;
	struct cfg_addr *servers;
	struct cfg_caps *caps;     /* nservers entries, parallel to servers: each one's caps */
	size_t nservers;
	int max_qps;               /* max-qps: of the group, -1 = not set (then see struct cfg_caps) */
	int max_outstanding;       /* max-outstanding:, -1 = not set */
	int azure_dns;             /* azure-dns: yes -- every server of the group is Azure DNS */
	int line;
};

struct cfg_forward {
	char *suffix;      /* text, lower-case, with trailing dot */
	char *to;          /* group name; resolved to group_index */
	size_t group_index;
	int fallback_public;  /* NXDOMAIN from the group goes to "default": fallback: public, or (no
			       * fallback: line) privatelink-fallback for a privatelink.* suffix */
	int fallback_set;     /* fallback: was given */
	int line;
	int to_line;          /* line of its to: */
};

/* allow-transfer: PREFIX [key NAME] -- a source that may transfer a zone;
 * with a key, only requests signed with it (cfg_xfr.h). */
struct cfg_xfr_acl {
	struct cfg_cidr net;
	char *key;         /* key name, lower-case with the dot; NULL: no TSIG needed */
	int line;
};

/* notify: ADDR[@PORT] [key NAME] -- a secondary told of each new version. */
struct cfg_notify {
	struct cfg_addr addr;
	char *key;         /* NULL: unsigned NOTIFY */
	int line;
};

struct cfg_zone {
	char *name;        /* text, lower-case, with trailing dot */
	char *file;        /* as written; relative paths are relative to the config file's directory */
	char *path;        /* resolved path actually opened */
	int fallback_public;
	struct cfg_primary *primaries; /* primary: lines (cfg_secondary.h); none for a zone file */
	size_t nprimaries;
	struct cfg_xfr_acl *allow_transfer; /* none: no transfers of this zone */
	size_t nallow_transfer;
	struct cfg_notify *notify;
	size_t nnotify;
	int line;
};

/*
 * key: NAME -- a TSIG key (RFC 8945) for zone transfers and NOTIFY.  The
 * secret is read from secret-file: when the configuration is loaded; it
 * lives in secret_b64 (base64, as ldns's TSIG functions take it) and is
 * never logged.  cfg_free() wipes it before freeing it.
 */
struct cfg_tsig_key {
	char *name;         /* lower-case fqdn with the trailing dot: "xfr.example." */
	char *algorithm;    /* ldns's name, lower case with the dot: "hmac-sha256." */
	char *secret_file;  /* as written */
	char *secret_b64;   /* the secret, base64, no blanks */
	int line;
};

/* The algorithm names key: accepts (without the dot), NULL-terminated. */
extern const char *const cfg_tsig_alg_words[];

struct cfg {
	char *file;                     /* path of the config file */
	/* server: */
	struct cfg_addr *listen;        /* default: 127.0.0.1@53 and ::1@53 */
	size_t nlisten;
	struct cfg_cidr *allow;
	size_t nallow;
	struct cfg_cidr *deny;
	size_t ndeny;
	int workers;                    /* default 1 */
	enum cfg_cloud cloud;           /* default AzureCloud */
	char *state_dir;                /* may be NULL */
	char *control_socket;           /* may be NULL */
	int control_socket_mode;        /* permission bits, default 0600 */
	char *http_listen;              /* may be NULL */
	char *http_token_file;          /* bearer token for /, /status.json, /metrics; may be NULL */
	char *query_log;                /* may be NULL */
	char *pidfile;                  /* may be NULL */
	char *user;                     /* may be NULL */
	char *log_level;                /* "info" by default */
	int use_syslog;
	/* forwarding behaviour */
	int upstream_timeout_ms;        /* per attempt, default 1000 */
	int query_timeout_ms;           /* whole forwarded query, default 3000 */
	int max_pending;                /* per worker, default 4096 */
	int tcp_idle_timeout_ms;        /* default 10000 */
	int tcp_max_conns;              /* per worker, default 256 */
	int tcp_max_conns_per_client;   /* per worker and source address, default 64 */
	int max_tcp_per_conn;           /* queries in flight per TCP conn, default 32 */
	/* encrypted listeners (docs/encrypted-dns.md) */
	struct cfg_addr *listen_tls;    /* DNS over TLS, port 853 by default; none by default */
	size_t nlisten_tls;
	struct cfg_addr *listen_https;  /* DNS over HTTPS, port 443 by default; none by default */
	size_t nlisten_https;
	char *tls_cert;                 /* PEM certificate chain; required with an encrypted listener */
	char *tls_key;                  /* PEM private key */
	char *tls_name;                 /* the name the certificate is for (DDR's TargetName); may be NULL */
	int tls_idle_timeout_ms;        /* default 10000 */
	int tls_max_conns;              /* per worker and transport, default 256 */
	int max_tls_per_conn;           /* queries in flight per DoT/DoH connection, default 100 */
	/* upstream health and caps (docs/upstream.md); the caps a server gets
	 * are resolved into its group's caps[] (struct cfg_caps) */
	int upstream_max_qps;           /* caps for every group that sets none, -1 = not set */
	int upstream_max_outstanding;
	int azure_dns_max_qps;          /* caps of Azure DNS servers that set none, default 900 */
	int azure_dns_max_outstanding;  /* ... default 150 */
	int upstream_down_after;        /* failures in a row that mark a server down, default 3 */
	int upstream_probe_interval_ms; /* a down server is probed this long after its last failure, default 5000 */
	int upstream_socket_reuse;      /* queries per UDP socket (source port), default 64 */
	uint64_t cache_size;            /* bytes, default 64 MiB */
	uint64_t so_rcvbuf;             /* bytes per UDP listening socket, 0: the system's; default 1 MiB */
	int cache_min_ttl;              /* seconds, default 0 */
	int cache_max_ttl;              /* seconds, default 86400 */
	int cache_neg_max_ttl;          /* seconds, default 3600 (RFC 2308 lifetime cap) */
	int serve_stale;                /* seconds past expiry an answer may be served stale; 0 = off */
	int privatelink_fallback;       /* catalogue routes: NXDOMAIN from azure -> default group */
	/* EDNS (docs/edns.md) */
	char *nsid;                     /* NSID option payload (RFC 5001); NULL = off */
	size_t nsid_len;                /* its length, 1..CFG_NSID_MAX */
	int cookies_required_udp;       /* UDP query with a client cookie but no valid server cookie -> BADCOOKIE */
	/* forwarding loops (docs/onprem-recipes.md, "Loops") */
	int loop_probe;                 /* probe every route for a loop at start-up and reload, default no */
	int loop_probe_interval_s;      /* a route is probed at most this often, default 60 */
	int loop_ready_fail;            /* /readyz fails while a probed route loops, default no */
	uint64_t xfr_journal_size;      /* bytes of IXFR differences kept per zone, default 1 MiB; 0 = none */
	/* groups: "azure" and "default" always exist (maybe with no server) */
	struct cfg_upstream *upstreams;
	size_t nupstreams;
	size_t group_azure;             /* index of "azure" in upstreams */
	size_t group_default;           /* index of "default" in upstreams */
	struct cfg_forward *forwards;
	size_t nforwards;
	struct cfg_zone *zones;
	size_t nzones;
	struct arm_cfg *arm;            /* NULL when no arm: clause */
	struct cfg_tsig_key *keys;      /* key: clauses, in file order */
	size_t nkeys;
};

#endif
