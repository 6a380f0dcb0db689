/*
 * arm_sched.c -- the ARM request scheduler of the sync: queue, limits, 429
 * hold, token and retries (see arm_sched.h for the rules).
 */
#include "arm_sched.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arm_auth.h"
#include "arm_http.h"
#include "arm_records.h"
#include "clock.h"
#include "common.h"
#include "log.h"

#define ARM_SCHED_BACKOFF_CAP_MS 60000

static void arm_sched_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	arm_sched_run(arg);
}

/* r failed for the reason fmt says (already logged): hand it back. */
static void arm_req_fail(struct arm_sched *q, struct arm_req *r, const char *fmt, ...)
	FWD_PRINTF(3, 4);
static void arm_req_fail(struct arm_sched *q, struct arm_req *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	q->ops.fail(q->ops.arg, r);
}

/* Delay for retry number attempt (1-based): exponential, capped, with
 * "equal jitter" so that many clients do not retry in lockstep. */
static uint64_t arm_backoff_ms(int attempt)
{
	uint64_t base = 1000ULL << (attempt - 1 < 6 ? attempt - 1 : 6);

	if (base > ARM_SCHED_BACKOFF_CAP_MS)
		base = ARM_SCHED_BACKOFF_CAP_MS;
	return base / 2 + fwd_random_u32() % (base / 2 + 1);
}

static void arm_http_done_cb(void *arg, const struct arm_http_result *res)
{
	struct arm_req *r = arg;
	struct arm_sched *q = r->q;
	char what[600], code[128] = "", msg[512] = "";
	int transient;

	q->inflight--;
	if (res->err == 0 && res->status == 200) {
		if (q->ops.page(q->ops.arg, r, res) < 0)
			q->ops.fail(q->ops.arg, r);
		arm_sched_run(q);
		return;
	}
	q->ops.what(q->ops.arg, r, what, sizeof(what));
	if (res->err == 0)
		arm_records_error(res->body, res->len, code, sizeof(code), msg, sizeof(msg));
	if (res->err == 0 && res->status == 429) {
		/* every 429, retried or not: the budget is what the admin tunes */
		q->throttled++;
		q->ops.throttled(q->ops.arg, r);
	}

	if (res->err == 0 && res->status == 401) {
		if (!r->auth_retried) {
			log_warn("arm: HTTP 401 %s while %s; getting a new token and retrying once", code,
				 what);
			/* Only drop the token this request carried, not a newer
			 * one another request already fetched. */
			if (r->tok_gen == q->tok_gen)
				arm_auth_invalidate(q->auth);
			r->auth_retried = 1;
			q->retries++;
			arm_sched_push(q, r);
		} else {
			log_err("arm: HTTP 401 %s while %s, again with a fresh token: %s -- ARM does not "
				"accept the token (wrong tenant, cloud or audience?)",
				code, what, msg);
			arm_req_fail(q, r, "HTTP 401 %s: %s (again with a fresh token)", code, msg);
		}
		arm_sched_run(q);
		return;
	}
	if (res->err == 0 && res->status == 403) {
		log_err("arm: HTTP 403 %s while %s: %s -- the identity needs read access: assign the "
			"Reader role (it grants Microsoft.Network/privateDnsZones/read and "
			"privateDnsZones/ALL/read) on the subscription, resource group or zone; "
			"\"Private DNS Zone Contributor\" is not needed",
			code, what, msg);
		arm_req_fail(q, r, "HTTP 403 %s: %s (the identity needs the Reader role)", code, msg);
		arm_sched_run(q);
		return;
	}
	if (res->err == 0 && res->status == 404) {
		log_err("arm: HTTP 404 %s while %s: %s -- %s", code, what, msg, r->hint404);
		arm_req_fail(q, r, "HTTP 404 %s: %s", code, msg);
		arm_sched_run(q);
		return;
	}
	transient = res->err == FWD_ETIMEDOUT || res->err == FWD_EIO || res->status == 429 ||
		    res->status >= 500;
	if (!transient || r->attempt >= q->max_retries) {
		if (res->err != 0)
			log_err("arm: %s failed: %s%s", what, res->errmsg,
				transient ? " (retries exhausted)" : "");
		else
			log_err("arm: HTTP %ld %s while %s: %s%s", res->status, code, what, msg,
				transient ? " (retries exhausted)" : "");
		if (res->err != 0)
			arm_req_fail(q, r, "%s%s", res->errmsg, transient ? " (retries exhausted)" : "");
		else
			arm_req_fail(q, r, "HTTP %ld %s: %s%s", res->status, code, msg,
				     transient ? " (retries exhausted)" : "");
		arm_sched_run(q);
		return;
	}
	r->attempt++;
	q->retries++;
	if (res->err == 0 && res->status == 429) {
		/* Retry-After is the subscription's read budget: nobody asks
		 * before it passes.  Without the header, back off as for 5xx. */
		uint64_t wait = res->retry_after_s >= 0 ? (uint64_t)res->retry_after_s * 1000
							: arm_backoff_ms(r->attempt);
		uint64_t until = clock_ms(q->clock) + wait;
		if (until > q->hold_until_ms)
			q->hold_until_ms = until;
		log_warn("arm: throttled (HTTP 429 %s) while %s; no ARM request for %llu ms%s", code,
			 what, (unsigned long long)wait,
			 res->retry_after_s >= 0 ? " (Retry-After)" : "");
	} else {
		uint64_t wait = arm_backoff_ms(r->attempt);
		if (res->err == 0 && res->retry_after_s >= 0 &&
		    (uint64_t)res->retry_after_s * 1000 > wait)
			wait = (uint64_t)res->retry_after_s * 1000;
		r->not_before_ms = clock_ms(q->clock) + wait;
		if (res->err != 0)
			log_warn("arm: %s failed: %s; retry %d of %d in %llu ms", what, res->errmsg,
				 r->attempt, q->max_retries, (unsigned long long)wait);
		else
			log_warn("arm: HTTP %ld %s while %s; retry %d of %d in %llu ms", res->status,
				 code, what, r->attempt, q->max_retries,
				 (unsigned long long)wait);
	}
	arm_sched_push(q, r);
	arm_sched_run(q);
}

static void arm_req_send(struct arm_sched *q, struct arm_req *r, const char *tok)
{
	char *hdr = NULL;
	const char *hdrs[4];
	int n;

	n = asprintf(&hdr, "Authorization: Bearer %s", tok);
	if (n < 0) {
		log_err("arm: out of memory sending a request");
		arm_req_fail(q, r, "out of memory");
		return;
	}
	hdrs[0] = hdr;
	hdrs[1] = "Accept: application/json";
	hdrs[2] = r->body != NULL ? "Content-Type: application/json" : NULL;
	hdrs[3] = NULL;
	r->tok_gen = q->tok_gen;
	q->inflight++;
	q->requests++;
	log_debug("arm: %s %s", r->body != NULL ? "POST" : "GET", r->url);
	if (arm_http_request(q->http, r->url, hdrs, r->body, r->body != NULL ? strlen(r->body) : 0, 0,
			     arm_http_done_cb, r) < 0) {
		q->inflight--;
		/* the token must not linger in freed memory */
		explicit_bzero(hdr, (size_t)n);
		free(hdr);
		arm_req_fail(q, r, "the request could not be started (see the log)");
		return;
	}
	explicit_bzero(hdr, (size_t)n);
	free(hdr);
}

int arm_sched_init(struct arm_sched *q, struct event_base *base, const struct fwd_clock *clock,
		   struct arm_http *http, struct arm_auth *auth, int max_inflight, int max_retries,
		   const struct arm_sched_ops *ops)
{
	memset(q, 0, sizeof(*q));
	q->clock = clock;
	q->http = http;
	q->auth = auth;
	q->max_inflight = max_inflight;
	q->max_retries = max_retries;
	q->ops = *ops;
	q->ev = evtimer_new(base, arm_sched_cb, q);
	return q->ev != NULL ? 0 : FWD_ENOMEM;
}

void arm_sched_fini(struct arm_sched *q)
{
	if (q->ev != NULL)
		event_free(q->ev);
	q->ev = NULL;
	q->qhead = q->qtail = NULL;
}

void arm_sched_push(struct arm_sched *q, struct arm_req *r)
{
	r->q = q;
	r->next = NULL;
	if (q->qtail != NULL)
		q->qtail->next = r;
	else
		q->qhead = r;
	q->qtail = r;
}

void arm_sched_next_page(struct arm_sched *q, struct arm_req *r, char *url)
{
	free(r->url);
	r->url = url;
	r->page++;
	r->attempt = 0;
	r->auth_retried = 0;
	r->not_before_ms = 0;
	arm_sched_push(q, r);
}

void arm_sched_next_body(struct arm_sched *q, struct arm_req *r, char *body)
{
	free(r->body);
	r->body = body;
	r->page++;
	r->attempt = 0;
	r->auth_retried = 0;
	r->not_before_ms = 0;
	arm_sched_push(q, r);
}

void arm_sched_hold(struct arm_sched *q, uint64_t ms)
{
	uint64_t until = clock_ms(q->clock) + ms;

	if (until > q->hold_until_ms)
		q->hold_until_ms = until;
}

void arm_sched_run(struct arm_sched *q)
{
	uint64_t now, wake = 0;

	if (q->in_run) {
		q->run_again = 1;
		return;
	}
	q->in_run = 1;
	do {
		q->run_again = 0;
		now = clock_ms(q->clock);
		wake = 0;
		while (!q->token_wait && q->inflight < (size_t)q->max_inflight && q->qhead != NULL) {
			struct arm_req *r, *prev = NULL;
			uint64_t min_nb = UINT64_MAX;
			const char *tok;

			if (q->hold_until_ms > now) {
				wake = q->hold_until_ms;
				break;
			}
			for (r = q->qhead; r != NULL && r->not_before_ms > now; prev = r, r = r->next)
				if (r->not_before_ms < min_nb)
					min_nb = r->not_before_ms;
			if (r == NULL) {
				wake = min_nb;
				break;
			}
			tok = arm_auth_token(q->auth);
			if (tok == NULL) {
				q->token_wait = 1;
				arm_auth_refresh(q->auth);
				break;
			}
			if (prev != NULL)
				prev->next = r->next;
			else
				q->qhead = r->next;
			if (q->qtail == r)
				q->qtail = prev;
			r->next = NULL;
			arm_req_send(q, r, tok);
		}
	} while (q->run_again);
	q->in_run = 0;
	if (wake != 0) {
		struct timeval tv;
		uint64_t d = wake > now ? wake - now : 0;
		tv.tv_sec = (time_t)(d / 1000);
		tv.tv_usec = (suseconds_t)((d % 1000) * 1000);
		evtimer_add(q->ev, &tv);
	}
}

void arm_sched_auth_ready(void *arg, int ok)
{
	struct arm_sched *q = arg;
	struct arm_req *r;

	q->token_wait = 0;
	if (ok) {
		q->tok_gen++;
		arm_sched_run(q);
		return;
	}
	/* No token: every waiting request fails now (their zones keep their
	 * last good copy); the next round tries again. */
	r = q->qhead;
	q->qhead = q->qtail = NULL;
	while (r != NULL) {
		struct arm_req *next = r->next;
		r->next = NULL;
		arm_req_fail(q, r, "no token for ARM: the token request failed (see the log)");
		r = next;
	}
}
