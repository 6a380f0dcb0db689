/*
 * fuzz_token.c -- libFuzzer target for token responses: what the IMDS
 * (managed identity) and Entra (client secret, workload identity) token
 * endpoints answer, through the real arm_auth.c flow -- request, response
 * status, body parse (arm_auth_parse_token: access_token, token_type,
 * expires_in / expires_on as number, numeric string or date), failure log
 * -- with the HTTP request answered in process (fuzz_arm.h).
 *
 * Input: u8 flow (0 managed identity, 1 client secret, 2 workload
 * identity), u8 status (an index into STATUSES), then the body.
 * Checked: the request is the flow's (IMDS: its header, no proxy; Entra: a
 * POST to the tenant's token URL); the ready callback comes exactly once,
 * never from inside arm_auth_refresh(); a token handed out is non-empty and
 * fit for an HTTP header.  The parser also gets the body directly, with a
 * few clocks.
 */
#include <event2/event.h>

#include "arm_auth.h"
#include "arm_config.h"
#include "clock.h"
#include "fuzz.h"
#include "fuzz_arm.h"
#include "log.h"

static const long STATUSES[] = {200, 200, 200, 200, 400, 401, 403, 404, 410, 429, 500, 503};
#define NSTATUSES (sizeof(STATUSES) / sizeof(STATUSES[0]))

static struct event_base *base;
static struct fwd_test_clock tclock;
static char fedpath[600];
static int ready_calls, ready_ok, in_refresh;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = fuzz_tmpdir("token");
	snprintf(fedpath, sizeof(fedpath), "%s/federated-token", dir);
	fuzz_write_file(fedpath, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJmdXp6In0.\n", 41);
	setenv("PLINKFWD_FUZZ_SECRET", "fuzz~secret&=+", 1);
	log_set_level(LOG_LVL_ERR);
	base = event_base_new();
	if (!base)
		abort();
	return 0;
}

static void ready(void *arg, int ok)
{
	(void)arg;
	FUZZ_ASSERT(!in_refresh);
	ready_calls++;
	ready_ok = ok;
}

static void check_token(const char *tok)
{
	FUZZ_ASSERT(tok[0] != '\0');
	for (const char *p = tok; *p; p++)
		FUZZ_ASSERT((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	static const enum arm_auth_kind kinds[3] = {ARM_AUTH_MANAGED_IDENTITY, ARM_AUTH_CLIENT_SECRET,
						    ARM_AUTH_WORKLOAD_IDENTITY};

	if (size > 256 * 1024)
		return 0;
	enum arm_auth_kind kind = kinds[fuzz_u8(&in) % 3];
	long status = STATUSES[fuzz_u8(&in) % NSTATUSES];
	size_t blen;
	const uint8_t *body = fuzz_take(&in, in.n, &blen);

	/* the parser alone, at a few wall clocks */
	char *copy = fuzz_strdup(body, blen);
	static const time_t nows[] = {0, 1700000000, 4102444800};
	for (size_t i = 0; i < 3; i++) {
		char *tok = NULL, err[200] = "";
		int64_t life = 0;
		if (arm_auth_parse_token(copy, nows[i], &tok, &life, err, sizeof(err)) == 0) {
			FUZZ_ASSERT(tok != NULL && life > 0);
			check_token(tok);
			free(tok);
		} else {
			FUZZ_ASSERT(tok == NULL && err[0] != '\0');
		}
	}
	free(copy);

	/* the whole flow */
	fwd_test_clock_init(&tclock, 1000 * 1000000ull);
	struct arm_auth_params p = {
		.kind = kind,
		.login_endpoint = "https://login.microsoftonline.com/",
		.imds_endpoint = "http://169.254.169.254",
		.audience = "https://management.azure.com",
		.client_id = kind == ARM_AUTH_MANAGED_IDENTITY ? NULL : "11111111-1111-1111-1111-111111111111",
		.tenant_id = "22222222-2222-2222-2222-222222222222",
		.secret_env = "PLINKFWD_FUZZ_SECRET",
		.federated_token_file = fedpath,
		.max_retries = 0,
		.clock = &tclock.clock,
	};
	static int dummy_http;
	struct arm_auth *a = arm_auth_new(base, (struct arm_http *)(void *)&dummy_http, &p, ready, NULL);
	FUZZ_ASSERT(a != NULL);
	FUZZ_ASSERT(arm_auth_token(a) == NULL);
	ready_calls = 0;
	in_refresh = 1;
	arm_auth_refresh(a);
	in_refresh = 0;

	struct fuzz_http_req r;
	FUZZ_ASSERT(fuzz_http_next(&r));
	if (kind == ARM_AUTH_MANAGED_IDENTITY) {
		FUZZ_ASSERT(strncmp(r.url, "http://169.254.169.254/metadata/identity/oauth2/token?", 54) == 0);
		FUZZ_ASSERT(r.metadata && (r.flags & ARM_HTTP_NOPROXY) && !r.post);
	} else {
		FUZZ_ASSERT(strcmp(r.url, "https://login.microsoftonline.com/22222222-2222-2222-2222-222222222222"
					  "/oauth2/v2.0/token") == 0);
		FUZZ_ASSERT(r.post && !r.metadata);
	}
	fuzz_http_answer(&r, status, body, blen);
	free(r.url);
	for (int i = 0; i < 4 && ready_calls == 0; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	FUZZ_ASSERT(ready_calls == 1);
	FUZZ_ASSERT(fuzz_http_n == 0); /* max-retries 0: no second request */
	const char *tok = arm_auth_token(a);
	FUZZ_ASSERT(!!tok == !!ready_ok);
	if (tok)
		check_token(tok);
	arm_auth_free(a);
	fuzz_http_reset();
	return 0;
}
