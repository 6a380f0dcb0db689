/*
 * arm_http.h -- asynchronous HTTPS requests on a libevent loop (libcurl
 * multi interface, socket-action style).
 *
 * libcurl tells us which sockets and which timeout it wants watched
 * (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION); we mirror them as
 * libevent events on the loop that owns this object, so requests progress
 * while that loop serves other events and nothing ever blocks on the
 * network.  Everything here runs on that one loop's thread.
 *
 * Knows nothing about ARM or tokens: arm_auth.c and arm_sync.c build the
 * requests, this only moves bytes.  Never logs a header or a body, because
 * both carry credentials.
 */
#ifndef PLINKFWD_ARM_HTTP_H
#define PLINKFWD_ARM_HTTP_H

#include <stddef.h>

struct event_base;
struct arm_http;
struct arm_buf;

struct arm_http_result {
	long status;           /* HTTP status; 0 when no response arrived */
	int err;               /* 0, FWD_ETIMEDOUT, FWD_EIO (transport/TLS), FWD_EFULL (too big) */
	const char *errmsg;    /* libcurl's message when err != 0, else "" */
	const char *body;      /* NUL-terminated; borrowed, valid during the callback */
	size_t len;
	long retry_after_s;    /* Retry-After in seconds (either form), or -1 */
	/* Resource Graph's throttling headers as sent, "" when absent:
	 * x-ms-user-quota-remaining (queries left) and
	 * x-ms-user-quota-resets-after ("hh:mm:ss") */
	char quota_remaining[24];
	char quota_resets_after[32];
	double total_s;        /* request duration */
};

/* Called once per request, on the loop, unless the arm_http is freed first. */
typedef void (*arm_http_done_fn)(void *arg, const struct arm_http_result *res);

enum arm_http_flags {
	ARM_HTTP_NOPROXY = 1 /* IMDS: a proxy must never see that request */
};

/*
 * ca_file: PEM bundle to trust instead of the system store (copied; may be
 * NULL).  timeout_s bounds each whole request.  NULL on failure (logged).
 */
struct arm_http *arm_http_new(struct event_base *base, const char *ca_file, int timeout_s);
/* Abort every request without calling its callback, release everything. */
void arm_http_free(struct arm_http *h);

/*
 * Start a GET (body == NULL) or a POST of body[0..len) (form-encoded).
 * headers: NULL-terminated array of "Name: value" lines, copied.  The body
 * and the header lines are wiped from memory when the request ends, since
 * they hold secrets.  0, or a negative enum fwd_err (logged) with no
 * callback to come.  Callbacks may start new requests; they must not free h.
 */
int arm_http_request(struct arm_http *h, const char *url, const char *const *headers,
		     const char *body, size_t len, int flags, arm_http_done_fn done, void *arg);

/*
 * 1 when URLs a and b have the same scheme, host and port (an explicit
 * default port equals none: "https://h:443/x" matches "https://h").  A
 * nextLink must pass this against the ARM endpoint before the bearer token
 * is sent to it.
 */
int arm_http_same_origin(const char *a, const char *b);

/*
 * Append an ARM resource id to b as a URL path: bytes outside the RFC 3986
 * path set are percent-encoded; FWD_EINVAL (nothing sensible appended) for
 * an id that does not start with /subscriptions/ or holds "/../", "?", "#"
 * or control bytes.
 */
int arm_http_path_escape(struct arm_buf *b, const char *id);

/* Requests started and not yet finished. */
size_t arm_http_pending(const struct arm_http *h);

#endif
