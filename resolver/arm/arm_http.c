/*
 * arm_http.c -- libcurl multi driven by libevent.
 *
 * The pattern is libcurl's documented "multi_socket" one: curl reports each
 * socket it wants watched and the single timeout it needs; a libevent event
 * per socket and one timer event call curl_multi_socket_action() back, and
 * finished transfers are collected with curl_multi_info_read().
 */
#include "arm_http.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arm_records.h"
#include "common.h"
#include "log.h"

/* A private DNS zone of 25,000 record sets at 1,000 per page is a few MB per
 * page; anything far beyond that is not an ARM answer we want in memory. */
#define ARM_HTTP_MAX_BODY (64u * 1024u * 1024u)

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

struct arm_http_req {
	struct arm_http *h;
	CURL *easy;
	struct curl_slist *headers;
	char *post;          /* owned copy of the POST body, wiped at the end */
	size_t post_len;
	char *body;          /* response */
	size_t len, cap;
	int too_big;
	arm_http_done_fn done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	struct arm_http_req *prev, *next;
};

struct arm_http_sock {
	struct arm_http *h;
	curl_socket_t fd;
	struct event *ev;
	struct arm_http_sock *prev, *next;
};

struct arm_http {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	char *ca_file;
	long timeout_ms;
	size_t npending;
	struct arm_http_req *reqs;
	struct arm_http_sock *socks; /* freed by us if curl never says REMOVE */
};

static void arm_http_sock_free(struct arm_http *h, struct arm_http_sock *s)
{
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		h->socks = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	free(s);
}

static void arm_http_wipe(void *p, size_t n)
{
	if (p != NULL)
		explicit_bzero(p, n);
}

static void arm_http_req_free(struct arm_http_req *r)
{
	struct curl_slist *l;

	if (r->easy != NULL) {
		curl_multi_remove_handle(r->h->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	for (l = r->headers; l != NULL; l = l->next)
		arm_http_wipe(l->data, strlen(l->data));
	curl_slist_free_all(r->headers);
	arm_http_wipe(r->post, r->post_len);
	free(r->post);
	/* Token responses land here too. */
	arm_http_wipe(r->body, r->len);
	free(r->body);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		r->h->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->h->npending--;
	free(r);
}

/* The last value of header name in the response, into out ("" when absent
 * or too long). */
static void arm_http_header(CURL *e, const char *name, char *out, size_t cap)
{
	struct curl_header *hv = NULL;

	out[0] = '\0';
	if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &hv) == CURLHE_OK && hv != NULL && hv->value != NULL &&
	    strlen(hv->value) < cap)
		snprintf(out, cap, "%s", hv->value);
}

static void arm_http_check_done(struct arm_http *h)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		struct arm_http_req *r = NULL;
		struct arm_http_result res;
		curl_off_t ra = -1;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		memset(&res, 0, sizeof(res));
		res.retry_after_s = -1;
		res.errmsg = "";
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &res.total_s);
		if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra >= 0 &&
		    res.status != 0)
			res.retry_after_s = (long)ra;
		arm_http_header(r->easy, "x-ms-user-quota-remaining", res.quota_remaining,
				sizeof(res.quota_remaining));
		arm_http_header(r->easy, "x-ms-user-quota-resets-after", res.quota_resets_after,
				sizeof(res.quota_resets_after));
		if (r->too_big) {
			res.err = FWD_EFULL;
			res.errmsg = "response larger than 64 MiB";
		} else if (msg->data.result != CURLE_OK) {
			res.err = msg->data.result == CURLE_OPERATION_TIMEDOUT ? FWD_ETIMEDOUT
									     : FWD_EIO;
			res.errmsg = r->errbuf[0] ? r->errbuf : curl_easy_strerror(msg->data.result);
			res.status = 0;
		}
		res.body = r->body ? r->body : "";
		res.len = r->len;
		/* Unlink first so the callback can start new requests. */
		curl_multi_remove_handle(h->multi, r->easy);
		r->done(r->arg, &res);
		arm_http_req_free(r);
	}
}

static void arm_http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct arm_http *h = arg;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, fd, flags, &running);
	arm_http_check_done(h);
}

static void arm_http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct arm_http *h = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	arm_http_check_done(h);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arm our timer; curl forbids calling back
 * into the multi handle from here. */
static int arm_http_timer_fn(CURLM *multi, long timeout_ms, void *arg)
{
	struct arm_http *h = arg;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(h->timer, &tv);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: mirror curl's interest in fd as one event. */
static int arm_http_socket_fn(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct arm_http *h = arg;
	struct arm_http_sock *s = sockp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			arm_http_sock_free(h, s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		s->h = h;
		s->fd = fd;
		s->next = h->socks;
		if (h->socks != NULL)
			h->socks->prev = s;
		h->socks = s;
		curl_multi_assign(h->multi, fd, s);
	} else {
		event_free(s->ev);
		s->ev = NULL;
	}
	s->ev = event_new(h->base, fd, kind, arm_http_event_cb, h);
	if (s->ev == NULL || event_add(s->ev, NULL) < 0) {
		log_err("arm: cannot watch an HTTP socket");
		return -1;
	}
	return 0;
}

static size_t arm_http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct arm_http_req *r = arg;
	size_t n = size * nmemb;

	if (n == 0)
		return 0;
	if (r->len + n > ARM_HTTP_MAX_BODY) {
		r->too_big = 1;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 16384;
		char *nb;
		while (cap < r->len + n + 1)
			cap *= 2;
		nb = realloc(r->body, cap);
		if (nb == NULL)
			return 0;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

struct arm_http *arm_http_new(struct event_base *base, const char *ca_file, int timeout_s)
{
	struct arm_http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		goto nomem;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("arm: libcurl initialisation failed");
		free(h);
		return NULL;
	}
	h->base = base;
	h->timeout_ms = (long)timeout_s * 1000;
	h->multi = curl_multi_init();
	h->timer = evtimer_new(base, arm_http_timer_cb, h);
	if (ca_file != NULL)
		h->ca_file = strdup(ca_file);
	if (h->multi == NULL || h->timer == NULL || (ca_file != NULL && h->ca_file == NULL)) {
		arm_http_free(h);
		goto nomem;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, arm_http_socket_fn);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, arm_http_timer_fn);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
nomem:
	log_err("arm: out of memory creating the HTTP client");
	return NULL;
}

void arm_http_free(struct arm_http *h)
{
	if (h == NULL)
		return;
	while (h->reqs != NULL)
		arm_http_req_free(h->reqs);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	while (h->socks != NULL)
		arm_http_sock_free(h, h->socks);
	if (h->timer != NULL)
		event_free(h->timer);
	free(h->ca_file);
	free(h);
	curl_global_cleanup();
}

size_t arm_http_pending(const struct arm_http *h)
{
	return h->npending;
}

int arm_http_request(struct arm_http *h, const char *url, const char *const *headers,
		     const char *body, size_t len, int flags, arm_http_done_fn done, void *arg)
{
	struct arm_http_req *r = calloc(1, sizeof(*r));
	CURL *e;

	if (r == NULL)
		goto nomem;
	r->h = h;
	r->done = done;
	r->arg = arg;
	r->next = h->reqs;
	if (h->reqs != NULL)
		h->reqs->prev = r;
	h->reqs = r;
	h->npending++;
	r->easy = e = curl_easy_init();
	if (e == NULL)
		goto nomem_req;
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
		struct curl_slist *l = curl_slist_append(r->headers, headers[i]);
		if (l == NULL)
			goto nomem_req;
		r->headers = l;
	}
	/* No "Expect: 100-continue" round trip on token POSTs. */
	{
		struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
		if (l == NULL)
			goto nomem_req;
		r->headers = l;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, arm_http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms < 10000 ? h->timeout_ms : 10000L);
	/* A redirect could carry the bearer token to another host. */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "plinkfwd/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file != NULL) {
		/* ca-file replaces the system store; the built-in CA directory
		 * would otherwise still be trusted as well. */
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (flags & ARM_HTTP_NOPROXY)
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	if (body != NULL) {
		r->post = malloc(len + 1);
		if (r->post == NULL)
			goto nomem_req;
		memcpy(r->post, body, len);
		r->post[len] = '\0';
		r->post_len = len;
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->post);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		log_err("arm: cannot start an HTTP request");
		arm_http_req_free(r);
		return FWD_EIO;
	}
	return 0;
nomem_req:
	arm_http_req_free(r);
nomem:
	log_err("arm: out of memory starting an HTTP request");
	return FWD_ENOMEM;
}

/* ---------------------------------------------------------------- URLs */

/* A resource id as a URL path: reject what could change the request,
 * percent-encode anything unusual. */
int arm_http_path_escape(struct arm_buf *b, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";

	if (strncasecmp(id, "/subscriptions/", 15) != 0 || strstr(id, "/../") != NULL ||
	    strstr(id, "/./") != NULL)
		return FWD_EINVAL;
	for (const char *p = id; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~/()!$&'*+,;=:@", c) != NULL) {
			arm_buf_add(b, (const char *)p, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			if (c == '?' || c == '#' || c < 0x20)
				return FWD_EINVAL;
			arm_buf_add(b, e, 3);
		}
	}
	return 0;
}

/* nextLink must point at the ARM endpoint we were configured with: the
 * bearer token goes with it.  ":443" and no port are the same thing. */
int arm_http_same_origin(const char *a, const char *b)
{
	CURLU *ua = curl_url(), *ub = curl_url();
	char *sa = NULL, *sb = NULL, *ha = NULL, *hb = NULL, *pa = NULL, *pb = NULL;
	int same = 0;

	if (ua == NULL || ub == NULL)
		goto out;
	if (curl_url_set(ua, CURLUPART_URL, a, 0) != CURLUE_OK ||
	    curl_url_set(ub, CURLUPART_URL, b, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(ua, CURLUPART_SCHEME, &sa, 0) != CURLUE_OK ||
	    curl_url_get(ub, CURLUPART_SCHEME, &sb, 0) != CURLUE_OK ||
	    curl_url_get(ua, CURLUPART_HOST, &ha, 0) != CURLUE_OK ||
	    curl_url_get(ub, CURLUPART_HOST, &hb, 0) != CURLUE_OK ||
	    curl_url_get(ua, CURLUPART_PORT, &pa, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_get(ub, CURLUPART_PORT, &pb, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	same = strcasecmp(sa, sb) == 0 && strcasecmp(ha, hb) == 0 && strcmp(pa, pb) == 0;
out:
	curl_free(sa);
	curl_free(sb);
	curl_free(ha);
	curl_free(hb);
	curl_free(pa);
	curl_free(pb);
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}
