/*
 * arm_auth.h -- bearer tokens for ARM: managed identity (IMDS), client
 * secret and workload identity (federated token), cached and refreshed
 * before they expire.
 *
 * One struct arm_auth per arm_sync, used on its event loop only.  The token
 * is fetched asynchronously through arm_http; whoever needs it asks
 * arm_auth_token() and, on NULL, calls arm_auth_refresh() and waits for the
 * ready callback.  Secrets (the client secret, the federated assertion, the
 * token) are read when needed, sent, and wiped; none of them is ever logged.
 */
#ifndef PLINKFWD_ARM_AUTH_H
#define PLINKFWD_ARM_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "arm_config.h"

struct event_base;
struct arm_http;
struct fwd_clock;
struct arm_auth;

/* Everything resolved (cloud defaults, environment) before arm_auth_new.
 * All strings are copied. */
struct arm_auth_params {
	enum arm_auth_kind kind;
	const char *login_endpoint;  /* authority host, any trailing slashes */
	const char *imds_endpoint;   /* e.g. http://169.254.169.254 */
	const char *audience;        /* e.g. https://management.azure.com */
	const char *client_id;       /* NULL = system-assigned (IMDS only) */
	const char *tenant_id;       /* client secret / workload identity */
	const char *secret_file;     /* client secret: one of these two */
	const char *secret_env;
	const char *federated_token_file; /* workload identity */
	int max_retries;             /* attempts after the first on 429/5xx/timeouts */
	const struct fwd_clock *clock; /* token refresh times and expiry (clock.h); kept */
};

/* ok = 1 when a token is now available, 0 when the fetch failed (logged). */
typedef void (*arm_auth_ready_fn)(void *arg, int ok);

struct arm_auth *arm_auth_new(struct event_base *base, struct arm_http *http,
			      const struct arm_auth_params *p, arm_auth_ready_fn ready, void *arg);
void arm_auth_free(struct arm_auth *a);

/* The cached token if it is not due for refresh, else NULL.  Borrowed: valid
 * until the next arm_auth_* call. */
const char *arm_auth_token(struct arm_auth *a);
/* Start fetching a token unless a fetch is already running; the ready
 * callback follows (never from inside this call). */
void arm_auth_refresh(struct arm_auth *a);
/* Forget the cached token: ARM answered 401 to it. */
void arm_auth_invalidate(struct arm_auth *a);

/*
 * Parse a token endpoint response: access_token and its lifetime from
 * expires_in (number or numeric string) or else expires_on (epoch number,
 * numeric string, or a date string), relative to now (wall clock).  On
 * success *token is a malloc'd copy (the caller wipes and frees it) and
 * *lifetime_s > 0.  FWD_EPARSE with a message (never containing the token)
 * in err otherwise.
 */
int arm_auth_parse_token(const char *body, time_t now, char **token, int64_t *lifetime_s, char *err,
			 size_t errlen);

/*
 * The Entra v2 token URL for tenant under authority host: slashes around
 * both are normalised ("https://login.microsoftonline.com/" + "/t/" gives
 * "https://login.microsoftonline.com/t/oauth2/v2.0/token").  0, or
 * FWD_EINVAL when it does not fit in cap.
 */
int arm_auth_token_url(const char *authority, const char *tenant, char *out, size_t cap);

#endif
