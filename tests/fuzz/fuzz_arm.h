/*
 * fuzz_arm.h -- ARM's HTTP answered in process, for the targets that drive
 * ARM sync and token fetches (fuzz_arm_zones.c, fuzz_token.c).
 *
 * Those programs are linked with -Wl,--wrap=arm_http_request (Makefile.am,
 * tests/fuzz/fuzz.mk): every call the library makes to arm_http_request()
 * lands in __wrap_arm_http_request() below, which queues the request and
 * returns as the real one does; the target then answers queued requests one
 * by one, from its input, by calling their completion as arm_http.c would
 * from the event loop.  Nothing is ever sent: no socket, no libcurl
 * transfer, no name lookup.
 */
#ifndef PLINKFWD_FUZZ_ARM_H
#define PLINKFWD_FUZZ_ARM_H

#include "arm_http.h"
#include "common.h"
#include "fuzz.h"

#define FUZZ_HTTP_QUEUE 64

struct fuzz_http_req {
	char *url;
	int post;                /* a body was sent (the Entra token flows) */
	int flags;               /* ARM_HTTP_NOPROXY for IMDS */
	int metadata;            /* "Metadata: true" header (IMDS) */
	arm_http_done_fn done;
	void *arg;
};

static struct fuzz_http_req fuzz_http_q[FUZZ_HTTP_QUEUE];
static size_t fuzz_http_head, fuzz_http_n;

int __wrap_arm_http_request(struct arm_http *h, const char *url, const char *const *headers, const char *body,
			    size_t len, int flags, arm_http_done_fn done, void *arg);

int __wrap_arm_http_request(struct arm_http *h, const char *url, const char *const *headers, const char *body,
			    size_t len, int flags, arm_http_done_fn done, void *arg)
{
	(void)h;
	(void)len;
	FUZZ_ASSERT(url != NULL && done != NULL);
	if (fuzz_http_n == FUZZ_HTTP_QUEUE)
		return FWD_EFULL;
	struct fuzz_http_req *r = &fuzz_http_q[(fuzz_http_head + fuzz_http_n) % FUZZ_HTTP_QUEUE];
	r->url = strdup(url);
	if (!r->url)
		abort();
	r->post = body != NULL;
	r->flags = flags;
	r->metadata = 0;
	for (size_t i = 0; headers && headers[i]; i++)
		if (strcmp(headers[i], "Metadata: true") == 0)
			r->metadata = 1;
	r->done = done;
	r->arg = arg;
	fuzz_http_n++;
	return 0;
}

/* The oldest request not answered yet (the caller frees ->url); 0 when none. */
static inline int fuzz_http_next(struct fuzz_http_req *out)
{
	if (fuzz_http_n == 0)
		return 0;
	*out = fuzz_http_q[fuzz_http_head];
	fuzz_http_head = (fuzz_http_head + 1) % FUZZ_HTTP_QUEUE;
	fuzz_http_n--;
	return 1;
}

/* Complete r with HTTP status and body[0..len) (a NUL-terminated copy, as
 * arm_http.c hands bodies over). */
static inline void fuzz_http_answer(const struct fuzz_http_req *r, long status, const void *body, size_t len)
{
	char *b = malloc(len + 1);
	if (!b)
		abort();
	memcpy(b, body, len);
	b[len] = '\0';
	struct arm_http_result res = {
		.status = status, .err = 0, .errmsg = "", .body = b, .len = len, .retry_after_s = -1, .total_s = 0.001,
	};
	r->done(r->arg, &res);
	free(b);
}

/* Forget every queued request without answering it (what arm_http_free()
 * does to the callbacks of its transfers). */
static inline void fuzz_http_reset(void)
{
	struct fuzz_http_req r;
	while (fuzz_http_next(&r))
		free(r.url);
}

#endif
