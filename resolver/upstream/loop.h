/*
 * loop.h -- forwarding loops: what plinkfwd has in flight to each upstream
 * group, the loops it found, and the routes its probes found looping
 * (docs/onprem-recipes.md, "Loops").
 *
 * A loop is found when a query arrives from an address that is a server
 * of the group plinkfwd would forward it to (loop_addrs.h) while the same
 * question (name, type, class) is already in flight from plinkfwd to that
 * group.  Forwarding it again would only send it round once more, so the
 * query path answers SERVFAIL at once (EDE 22, "forwarding loop via group
 * NAME") and reports it here.
 *
 * The workers are separate event loops (SO_REUSEPORT spreads queries), so
 * the query that comes back may reach another worker than the one that
 * sent it: the in-flight table is shared by every worker, lock-free.  Each
 * slot is one 64-bit word: a 32-bit tag of the key's hash, a "looped" bit
 * and a 31-bit count of the steps in flight with that key.  A key lives in
 * the first free or matching slot of a window of LOOP_WINDOW slots; a
 * lookup scans the whole window, so a slot freed in the middle breaks no
 * chain.  Two different questions share a slot only when index and 32-bit
 * tag both collide.  When the window is full the step is not tracked (no
 * loop can be found for it; loop_guard_stats() counts it).
 *
 * Everything else -- the per-group counters, the rate-limited log line,
 * the probed routes -- is rare and sits under one mutex.
 *
 * Ownership: loop_guard_new() returns a guard the caller frees with
 * loop_guard_free() after every user (workers, probe, ops) is gone.  The
 * clock is borrowed.  Nothing here allocates after loop_guard_new(); the
 * in-flight functions are allocation-free and callable from any thread.
 */
#ifndef PLINKFWD_LOOP_H
#define PLINKFWD_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common.h"

struct fwd_clock;
struct loop_guard;

#define LOOP_WINDOW 8               /* slots a key may live in */
#define LOOP_LOG_INTERVAL_MS 10000  /* one log line per (group, zone cut) this often at most */
#define LOOP_MAX_GROUPS 64          /* groups with loop counters (by name; more share "other") */
#define LOOP_MAX_ROUTES 128         /* probed routes remembered */
#define LOOP_NAME_MAX 64            /* a group name kept (longer ones are cut) */
#define LOOP_TEXT_MAX 256           /* a zone or route text kept */

/* The probe names: <16 hex digits>.plinkfwd-loop-probe.<zone> */
#define LOOP_PROBE_LABEL "plinkfwd-loop-probe"
#define LOOP_PROBE_NONCE_LEN 16

/* A guard whose in-flight table has at least `slots` slots (rounded up to
 * a power of two, at least 1024).  FWD_OK or FWD_ENOMEM. */
enum fwd_err loop_guard_new(const struct fwd_clock *clock, size_t slots, struct loop_guard **out);
void loop_guard_free(struct loop_guard *g);

/* ------------------------------------------------------------ in flight */

/* The key of a question to a group: a keyed hash (random key per guard) of
 * group index, type, class and the lower-cased wire name. */
uint64_t loop_key(const struct loop_guard *g, size_t group, const uint8_t *qname, size_t qname_len, uint16_t qtype,
		  uint16_t qclass);
/* A step with this key leaves for its group: 1 when tracked, 0 when its
 * window is full (then do not call loop_inflight_del for it). */
int loop_inflight_add(struct loop_guard *g, uint64_t key);
/* That step finished.  Returns 1 when a loop was reported for the key
 * while it was in flight (its answer then says so), else 0. */
int loop_inflight_del(struct loop_guard *g, uint64_t key);
/* 1 when a step with this key is in flight. */
int loop_inflight(const struct loop_guard *g, uint64_t key);

/* ------------------------------------------------------------ loops found */

/*
 * A query for qname_text from `from` was found looping through group
 * `group` (route: its zone cut as text, "." for the default route); key:
 * the in-flight question it met (flagged, see loop_inflight_del), or 0 for
 * a probe.  Counts it for the group and logs a warning, at most once per
 * (group, zone cut) per LOOP_LOG_INTERVAL_MS of the guard's clock.
 */
void loop_report(struct loop_guard *g, uint64_t key, const char *group, const char *cut,
		 const struct sockaddr_storage *from, const char *qname_text);

/* One group's loops, for status, /metrics and explain. */
struct loop_group_info {
	char name[LOOP_NAME_MAX];
	uint64_t detected;                /* queries answered SERVFAIL as looping */
	char last_cut[LOOP_TEXT_MAX];     /* the zone cut of the last one */
	char last_from[64];               /* the server it came back from */
	uint64_t last_wall_s;             /* when (wall clock, shown only) */
};
/* Copies up to max groups that saw a loop; returns how many there are. */
size_t loop_groups(struct loop_guard *g, struct loop_group_info *out, size_t max);
/* The loops counted for one group (0 when none or unknown). */
uint64_t loop_group_detected(struct loop_guard *g, const char *group);

struct loop_guard_stats {
	uint64_t tracked;     /* steps entered in the in-flight table */
	uint64_t untracked;   /* steps not entered: their window was full */
	uint64_t detected;    /* loops found, every group */
};
void loop_guard_stats(struct loop_guard *g, struct loop_guard_stats *out);

/* ------------------------------------------------------------ probed routes */

enum loop_probe_state {
	LOOP_PROBE_NONE = 0,   /* never probed */
	LOOP_PROBE_PENDING,    /* sent, no answer yet */
	LOOP_PROBE_OK,         /* answered without coming back */
	LOOP_PROBE_LOOPS,      /* came back to plinkfwd as a client query */
	LOOP_PROBE_FAILED      /* no answer (timeouts, errors) and did not come back */
};
const char *loop_probe_state_name(enum loop_probe_state s);

struct loop_route_info {
	char group[LOOP_NAME_MAX];
	char zone[LOOP_TEXT_MAX];          /* text with trailing dot, "." for the catch-all */
	enum loop_probe_state state;
	int rcode;                         /* LOOP_PROBE_OK: the answer's RCODE */
	char via[64];                      /* LOOP_PROBE_LOOPS: the address it came back from */
	uint64_t sent_ms;                  /* guard clock when the last probe left */
	uint64_t sent_wall_s;              /* the same, wall clock (shown only) */
	uint64_t probes;                   /* probes sent for this route */
};

/*
 * A probe for (group, zone) may leave now: returns FWD_OK with the
 * route's index in *route and a fresh nonce (LOOP_PROBE_NONCE_LEN
 * characters, no NUL) written to nonce, the route marked pending; or
 * FWD_EFULL when the route was probed less than interval_ms ago (*wait_ms:
 * how long until it may be) or the route table is full.
 */
enum fwd_err loop_probe_begin(struct loop_guard *g, const char *group, const char *zone, uint64_t interval_ms,
			      size_t *route, char nonce[LOOP_PROBE_NONCE_LEN], uint64_t *wait_ms);
/* The probe of route ended: OK with the RCODE, or FAILED (ignored when it
 * was found looping meanwhile). */
void loop_probe_end(struct loop_guard *g, size_t route, enum loop_probe_state st, int rcode);

/*
 * Is this client query (lower-cased wire name) a probe coming back?  1
 * when its name has the probe's shape (<nonce>.plinkfwd-loop-probe.*):
 * the caller answers it SERVFAIL and never forwards it.  When the nonce is
 * one of a probe in flight, the route is marked LOOP_PROBE_LOOPS, counted
 * as a loop of its group, logged, and the group's name copied to group;
 * else group is "".  Cheap when the name has not the shape (a few byte
 * compares, no lock).
 */
int loop_probe_match(struct loop_guard *g, const uint8_t *qname, size_t qname_len,
		     const struct sockaddr_storage *from, char group[LOOP_NAME_MAX]);

/* A probe run (start-up, reload) keeps only the routes of the current
 * config: loop_routes_sweep_begin() forgets which routes were seen,
 * loop_probe_begin() marks its route seen (also when it answers
 * FWD_EFULL), loop_routes_sweep_end() drops the routes not seen. */
void loop_routes_sweep_begin(struct loop_guard *g);
void loop_routes_sweep_end(struct loop_guard *g);

/* Copies up to max probed routes; returns how many there are. */
size_t loop_routes(struct loop_guard *g, struct loop_route_info *out, size_t max);
/* The number of routes whose last probe came back (0 = none loops). */
size_t loop_routes_looping(struct loop_guard *g);

#endif
