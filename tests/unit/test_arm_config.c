/*
 * test_arm_config.c -- the arm: clause keys: defaults, validation, the
 * secret-never-in-config rule, cross-key checks and the zone filters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arm_config.h"
#include "config.h"
#include "tap.h"

static struct arm_cfg *cfg_with(const char *const *kv, char *err, size_t errlen, enum fwd_err *rc)
{
	struct arm_cfg *ac = arm_cfg_new();

	*rc = FWD_OK;
	for (size_t i = 0; kv[i] != NULL && *rc == 0; i += 2)
		*rc = arm_cfg_set(ac, kv[i], kv[i + 1], err, errlen);
	if (*rc == 0)
		*rc = arm_cfg_finish(ac, err, errlen);
	return ac;
}

static void set_fails(const char *key, const char *value, const char *want_in_err, const char *name)
{
	struct arm_cfg *ac = arm_cfg_new();
	char err[256] = "";

	is_int(arm_cfg_set(ac, key, value, err, sizeof(err)), FWD_EPARSE, name);
	ok(want_in_err == NULL || strstr(err, want_in_err) != NULL, "%s: message '%s'", name, err);
	arm_cfg_free(ac);
}

static void finish_fails(const char *const *kv, const char *want_in_err, const char *name)
{
	char err[256] = "";
	enum fwd_err rc;
	struct arm_cfg *ac = cfg_with(kv, err, sizeof(err), &rc);

	is_int(rc, FWD_EPARSE, name);
	ok(strstr(err, want_in_err) != NULL, "%s: message '%s'", name, err);
	arm_cfg_free(ac);
}

static void test_defaults(void)
{
	struct arm_cfg *ac = arm_cfg_new();

	ok(ac != NULL, "arm_cfg_new");
	is_int(ac->cloud, -1, "cloud follows server: cloud by default");
	is_int(ac->auth, ARM_AUTH_MANAGED_IDENTITY, "managed identity by default");
	is_int(ac->interval_s, 60, "interval 60 s");
	is_int(ac->timeout_s, 30, "timeout 30 s");
	is_int(ac->max_inflight, 4, "max-inflight 4");
	is_int(ac->max_retries, 4, "max-retries 4");
	is_int(ac->page_size, 1000, "page-size 1000");
	is_str(ac->api_version, "2024-06-01", "api-version 2024-06-01");
	is_int(ac->fallback_public, 0, "fallback none");
	ok(ac->arm_endpoint == NULL && ac->login_endpoint == NULL && ac->imds_endpoint == NULL,
	   "endpoints from the cloud by default");
	arm_cfg_free(ac);
}

static void test_full(void)
{
	static const char *const kv[] = {
		"arm-cloud", "AzureUSGovernment",
		"arm-endpoint", " \"https://127.0.0.1:8443/\" ",
		"login-endpoint", "https://login.example.test//",
		"imds-endpoint", "http://127.0.0.1:8080",
		"auth", "client-secret",
		"tenant-id", "contoso.onmicrosoft.com",
		"client-id", "00000000-1111-2222-3333-444444444444",
		"client-secret-file", "/etc/plinkfwd/arm.secret",
		"subscription", "AAAAAAAA-0000-0000-0000-000000000001",
		"subscription", "bbbbbbbb-0000-0000-0000-000000000002",
		"resource-group", "RG-Net_1(dns).x",
		"zone-filter", "privatelink.*",
		"zone-filter", "Corp.Example.",
		"zone-fallback", "privatelink.blob.* public",
		"fallback", "none",
		"interval", "30",
		"timeout", "5",
		"max-inflight", "8",
		"max-retries", "0",
		"page-size", "100",
		"ca-file", "/etc/ssl/arm-ca.pem",
		NULL,
	};
	char err[256] = "";
	enum fwd_err rc;
	struct arm_cfg *ac = cfg_with(kv, err, sizeof(err), &rc), *d;

	is_int(rc, 0, "a full clause is accepted");
	if (rc != 0)
		printf("# %s\n", err);
	is_int(ac->cloud, CLOUD_USGOV, "arm-cloud");
	is_str(ac->arm_endpoint, "https://127.0.0.1:8443", "arm-endpoint unquoted, trimmed, no trailing slash");
	is_str(ac->login_endpoint, "https://login.example.test", "login-endpoint without trailing slashes");
	is_str(ac->imds_endpoint, "http://127.0.0.1:8080", "imds-endpoint may be http");
	is_int(ac->auth, ARM_AUTH_CLIENT_SECRET, "auth");
	is_int((long long)ac->nsubscriptions, 2, "two subscriptions");
	is_str(ac->subscriptions[0], "aaaaaaaa-0000-0000-0000-000000000001", "subscription lower-cased, order kept");
	is_str(ac->resource_groups[0], "rg-net_1(dns).x", "resource group lower-cased");
	is_str(ac->zone_filters[1], "corp.example", "zone-filter lower-cased, trailing dot dropped");
	is_int(ac->interval_s, 30, "interval");
	is_int(ac->timeout_s, 5, "timeout");
	is_int(ac->max_inflight, 8, "max-inflight");
	is_int(ac->max_retries, 0, "max-retries");
	is_int(ac->page_size, 100, "page-size");
	is_str(ac->ca_file, "/etc/ssl/arm-ca.pem", "ca-file");

	ok(arm_cfg_zone_wanted(ac, "privatelink.blob.core.windows.net"), "glob matches across dots");
	ok(arm_cfg_zone_wanted(ac, "corp.example"), "exact filter matches");
	ok(!arm_cfg_zone_wanted(ac, "other.example"), "unmatched zone filtered out");
	is_int(arm_cfg_zone_fallback(ac, "privatelink.blob.core.windows.net"), 1, "zone-fallback public");
	is_int(arm_cfg_zone_fallback(ac, "privatelink.vaultcore.azure.net"), 0, "default fallback none");

	d = arm_cfg_dup(ac);
	ok(d != NULL && d->arm_endpoint != ac->arm_endpoint, "dup copies strings");
	is_str(d ? d->subscriptions[1] : NULL, ac->subscriptions[1], "dup keeps lists");
	is_str(d ? d->fallbacks[0].pattern : NULL, "privatelink.blob.*", "dup keeps zone-fallback");
	arm_cfg_free(ac);
	is_str(d ? d->ca_file : NULL, "/etc/ssl/arm-ca.pem", "dup outlives the original");
	arm_cfg_free(d);
}

static void test_rejects(void)
{
	char err[256] = "";
	struct arm_cfg *ac = arm_cfg_new();
	static const char secret[] = "s3cr3t~Value.With.Dots";

	is_int(arm_cfg_set(ac, "client-secret", secret, err, sizeof(err)), FWD_EPARSE,
	       "client-secret: in the config text is refused");
	ok(strstr(err, "client-secret-file") != NULL, "refusal names the alternatives");
	ok(strstr(err, secret) == NULL, "refusal does not echo the secret");
	is_int(arm_cfg_set(ac, "client-secret-env", secret, err, sizeof(err)), FWD_EPARSE,
	       "client-secret-env needs a variable name");
	ok(strstr(err, secret) == NULL, "client-secret-env error does not echo the value");
	arm_cfg_free(ac);

	set_fails("no-such-key", "1", "unknown key", "unknown key");
	set_fails("arm-endpoint", "http://management.azure.com", "https://", "ARM over plain http");
	set_fails("arm-endpoint", "https://x.example/?a=b", "plain base URL", "endpoint with a query");
	set_fails("subscription", "abc/../def", "subscription id", "subscription with a slash");
	set_fails("subscription", "a?b", "subscription id", "subscription with a '?'");
	set_fails("resource-group", "rg/x", "resource group", "resource group with a slash");
	set_fails("zone-filter", "bad zone", "pattern", "zone filter with a space");
	set_fails("interval", "0", "1 to 86400", "interval 0");
	set_fails("interval", "10s", "whole number", "interval with a unit");
	set_fails("max-inflight", "100", "1 to 64", "max-inflight too high");
	set_fails("page-size", "1001", "1 to 1000", "page-size over ARM's limit");
	set_fails("auth", "password", "managed-identity", "unknown auth");
	set_fails("fallback", "maybe", "public", "bad fallback word");
	set_fails("zone-fallback", "privatelink.*", "public|none", "zone-fallback without a word");
	set_fails("arm-cloud", "none", "AzureCloud", "arm-cloud none");
	set_fails("tenant-id", "a b", "tenant", "tenant with a space");
	set_fails("interval", "", "empty", "empty value");

	ac = arm_cfg_new();
	arm_cfg_set(ac, "subscription", "s1", err, sizeof(err));
	is_int(arm_cfg_set(ac, "subscription", "S1", err, sizeof(err)), FWD_EPARSE, "same subscription twice");
	arm_cfg_set(ac, "ca-file", "/a", err, sizeof(err));
	is_int(arm_cfg_set(ac, "ca-file", "/b", err, sizeof(err)), FWD_EPARSE, "ca-file twice");
	arm_cfg_free(ac);
}

static void test_finish(void)
{
	static const char *const nosub[] = {"interval", "10", NULL};
	static const char *const cs_notenant[] = {"subscription", "s", "auth", "client-secret",
						  "client-id", "c", "client-secret-env", "ARM_SECRET", NULL};
	static const char *const cs_two[] = {"subscription", "s", "auth", "client-secret", "client-id", "c",
					     "tenant-id", "t", "client-secret-env", "ARM_SECRET",
					     "client-secret-file", "/f", NULL};
	static const char *const cs_none[] = {"subscription", "s", "auth", "client-secret", "client-id", "c",
					      "tenant-id", "t", NULL};
	static const char *const mi_secret[] = {"subscription", "s", "client-secret-file", "/f", NULL};
	static const char *const mi_tenant[] = {"subscription", "s", "tenant-id", "t", NULL};
	static const char *const fed_cs[] = {"subscription", "s", "auth", "client-secret", "client-id", "c",
					     "tenant-id", "t", "client-secret-env", "X",
					     "federated-token-file", "/f", NULL};
	static const char *const wi_ok[] = {"subscription", "s", "auth", "workload-identity", NULL};
	static const char *const mi_user[] = {"subscription", "s", "client-id", "abc-123", NULL};
	char err[256];
	enum fwd_err rc;
	struct arm_cfg *ac;

	finish_fails(nosub, "subscription", "a subscription is required");
	finish_fails(cs_notenant, "tenant-id", "client secret needs a tenant");
	finish_fails(cs_two, "exactly one", "client secret from file and env at once");
	finish_fails(cs_none, "exactly one", "client secret from nowhere");
	finish_fails(mi_secret, "only apply", "secret file with managed identity");
	finish_fails(mi_tenant, "managed-identity", "tenant with managed identity");
	finish_fails(fed_cs, "workload-identity", "federated token file with a client secret");
	ac = cfg_with(wi_ok, err, sizeof(err), &rc);
	is_int(rc, 0, "workload identity may take everything from the environment");
	arm_cfg_free(ac);
	ac = cfg_with(mi_user, err, sizeof(err), &rc);
	is_int(rc, 0, "user-assigned managed identity by client-id");
	arm_cfg_free(ac);
}

int main(void)
{
	test_defaults();
	test_full();
	test_rejects();
	test_finish();
	return tap_done();
}
