/*
 * arm_sched.h -- how ARM sync's requests reach ARM: the run queue, the
 * max-inflight limit, the 429 hold, the bearer token and retries.
 *
 * The sync (arm_sync.c) lists collections page after page; each listing is
 * a job with at most one request in flight, represented here by the struct
 * arm_req embedded in it.  Ready requests wait in a FIFO; the scheduler
 * starts them while fewer than max-inflight are out, no 429 hold is pending
 * and a token is at hand (else it asks arm_auth for one and waits).
 *
 * Faults, per request: 401 -> new token, retry once; 429 -> every ARM
 * request waits until Retry-After has passed (the budget is per
 * subscription and caller, so one throttled request means all of them are);
 * 5xx / timeout / transport error -> retry after an exponential backoff with
 * jitter; after max-retries, or on 403/404/other 4xx, the request fails.
 * What a page says (malformed JSON included) is the owner's business.
 *
 * Ownership: struct arm_sched is embedded in the sync, which calls
 * arm_sched_init() once and arm_sched_fini() once (also after a failed
 * init, or on a zeroed struct).  The http and auth objects are borrowed and
 * must be freed before the requests they carry (arm_http_free() drops its
 * callbacks).  A queued or in-flight request belongs to its owner, who must
 * keep it alive until ops.page or ops.fail was called for it.  Main thread
 * (the sync's loop) only.
 */
#ifndef PLINKFWD_ARM_SCHED_H
#define PLINKFWD_ARM_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct arm_auth;
struct arm_http;
struct arm_http_result;
struct arm_sched;
struct event;
struct event_base;

/* One paged listing's request state, embedded in the owner's job. */
struct arm_req {
	struct arm_sched *q;      /* set by arm_sched_push() */
	char *url;                /* the page to fetch next; owned, freed by the owner with
				   * the job (arm_sched_next_page() replaces it) */
	char *body;               /* NULL: GET url; else POST this JSON to url (Resource
				   * Graph); owned like url, replaced with arm_sched_next_body() */
	const char *hint404;      /* why a 404 may happen and what to check, for the log;
				   * static text set by the owner */
	int page;                 /* 0-based page number of url */
	int attempt;              /* retries used for this page */
	int auth_retried;         /* the one 401 retry was used */
	uint64_t tok_gen;         /* token generation the request carried */
	uint64_t not_before_ms;   /* backoff */
	struct arm_req *next;     /* run queue */
	char err[400];            /* why it failed, set before ops.fail; for zones and /metrics */
};

/* The owner's side; arg is ops.arg.  Called on the loop, possibly from
 * inside arm_sched_run() and the other arm_sched_* calls. */
struct arm_sched_ops {
	/* HTTP 200 for r: the owner reads the page, then re-queues r for the
	 * next one (arm_sched_next_page()) or finishes its job.  < 0 when the
	 * page failed the job (r->err set, logged): ops.fail follows. */
	int (*page)(void *arg, struct arm_req *r, const struct arm_http_result *res);
	/* r failed for good; r->err says why (already logged).  The owner
	 * finishes its job; r is out of the scheduler. */
	void (*fail)(void *arg, struct arm_req *r);
	/* "listing ... of ..." for log lines: what r is for, into buf */
	const char *(*what)(void *arg, const struct arm_req *r, char *buf, size_t cap);
	/* ARM answered 429 to r (counted whether or not r is retried) */
	void (*throttled)(void *arg, struct arm_req *r);
	void *arg;
};

struct arm_sched {
	struct arm_http *http;    /* borrowed */
	struct arm_auth *auth;    /* borrowed */
	const struct fwd_clock *clock; /* borrowed: holds and backoffs (clock.h) */
	int max_inflight, max_retries;
	struct arm_sched_ops ops;
	struct arm_req *qhead, *qtail;
	size_t inflight;
	uint64_t hold_until_ms;   /* 429: no ARM request before this */
	struct event *ev;         /* owned: wakes the queue after a hold or a backoff */
	int token_wait;
	uint64_t tok_gen;
	int in_run, run_again;
	uint64_t requests;        /* ARM requests sent */
	uint64_t throttled;       /* 429 answers */
	uint64_t retries;         /* requests repeated after 429/5xx/timeout/401 */
};

/* 0, or FWD_ENOMEM (nothing logged: the owner says what it was setting
 * up; call arm_sched_fini()). */
int arm_sched_init(struct arm_sched *q, struct event_base *base, const struct fwd_clock *clock,
		   struct arm_http *http, struct arm_auth *auth, int max_inflight, int max_retries, const struct arm_sched_ops *ops);
void arm_sched_fini(struct arm_sched *q);

/* Queue r (url set) at the tail; arm_sched_run() starts it. */
void arm_sched_push(struct arm_sched *q, struct arm_req *r);

/* From ops.page: r's next page is url (taken over; the old one is freed),
 * with fresh retry counts; queued at the tail. */
void arm_sched_next_page(struct arm_sched *q, struct arm_req *r, char *url);

/* From ops.page: r's next page is the same url POSTed with body (taken
 * over; the old one is freed), with fresh retry counts; queued at the tail. */
void arm_sched_next_body(struct arm_sched *q, struct arm_req *r, char *body);

/* No request before ms from now (Resource Graph's quota spent until it
 * resets); a longer hold already set stays. */
void arm_sched_hold(struct arm_sched *q, uint64_t ms);

/* Start what may start now; arms a timer for what must wait.  Safe to call
 * from inside the ops (it runs once more instead of recursing). */
void arm_sched_run(struct arm_sched *q);

/* arm_auth_ready_fn for arm_auth_new(), with arg = the struct arm_sched:
 * the token request ended.  Without a token every queued request fails. */
void arm_sched_auth_ready(void *arg, int ok);

#endif
