# t_arm_auth.sh -- the three auth flows against the fake IMDS and Entra v2
# token endpoints: managed identity (user-assigned, Metadata header, one
# token for many requests), client secret from a file and from the
# environment (numbers as strings, expires_on as a date), a wrong secret,
# workload identity from the webhook's environment (authority host with a
# trailing slash, federated token file re-read at each refresh).  No secret,
# assertion or token may reach the log or the saved zones, even at debug level.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

SECRET='Zq8~kT2.pL0-vN5_secret-value'
TENANT=72f988bf-0000-0000-0000-00000000beef
APP=11111111-2222-3333-4444-555555555555

ok "fake ARM server starts" arm_start_fake
ok "add a zone" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg1","zone":"privatelink.openai.azure.com","a":{"myacct":"10.3.0.7","other":"10.3.0.8"}}'
ok "tokens need tenant, client id and secret" arm_ctl '{"op":"set","tenant":"'$TENANT'","client_id":"'$APP'","secret":"'$SECRET'","imds_client_id":"mi-client-1"}'

served() {
	q myacct.privatelink.openai.azure.com A
	printf '%s\n' "$Q_ANSWER" | grep -q 'IN A 10\.3\.0\.7$'
}

fresh_state() { rm -rf "$T/state"; mkdir -p "$T/state"; }

# ------------------------------------------------------------ managed identity
fresh_state
arm_conf "$T/mi.conf" "@log-level: debug" "client-id: mi-client-1" "interval: 3600"
mark=$(log_mark)
ok "plinkfwd starts (managed identity)" start_plinkfwd "$T/mi.conf"
ok "managed identity sync completes" arm_wait_sync "$mark"
like "$(log_since "$mark")" 'managed identity token acquired' "IMDS token acquired"
ok "zone served (managed identity)" served
imds=$(arm_reqs 'r["kind"] == "imds"')
like "$imds" '/metadata/identity/oauth2/token\?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement\.azure\.com%2F&client_id=mi-client-1$' \
	"IMDS asked for the ARM resource with the user-assigned client id"
is "$(printf '%s\n' "$imds" | wc -l)" 1 "one token for the whole round"
narm=$(arm_reqs 'r["kind"] == "arm"' | wc -l)
ok "several ARM requests used it ($narm)" test "$narm" -ge 2
stop_plinkfwd

# ------------------------------------------------------------ client secret, file
fresh_state
printf '%s\n' "$SECRET" >"$T/arm.secret"
chmod 600 "$T/arm.secret"
arm_conf "$T/cs.conf" "@log-level: debug" "auth: client-secret" "tenant-id: $TENANT" "client-id: $APP" \
	"client-secret-file: $T/arm.secret" "interval: 3600"
mark=$(log_mark)
ok "plinkfwd starts (client secret file)" start_plinkfwd "$T/cs.conf"
ok "client secret sync completes" arm_wait_sync "$mark"
like "$(log_since "$mark")" 'client secret token acquired, valid for 3599 s' "Entra v2 token acquired"
ok "zone served (client secret from a file)" served
like "$(arm_reqs 'r["kind"] == "token"')" "token /$TENANT/oauth2/v2.0/token\$" "token asked from the tenant's v2 endpoint"
stop_plinkfwd

# ------------------------------------------------------------ client secret, environment, odd number formats
fresh_state
ok "token endpoint sends strings and a date" arm_ctl '{"op":"set","v2_strings":true,"expires_on_only":true,"expires_on_date":true}'
arm_conf "$T/cse.conf" "@log-level: debug" "auth: client-secret" "tenant-id: $TENANT" "client-id: $APP" \
	"client-secret-env: PLINKFWD_TEST_ARM_SECRET" "interval: 3600"
mark=$(log_mark)
export PLINKFWD_TEST_ARM_SECRET=$SECRET
ok "plinkfwd starts (client secret from the environment)" start_plinkfwd "$T/cse.conf"
unset PLINKFWD_TEST_ARM_SECRET
ok "client secret (env) sync completes" arm_wait_sync "$mark"
like "$(log_since "$mark")" 'client secret token acquired, valid for 3[0-9][0-9][0-9] s' "expires_on date string understood"
ok "zone served (client secret from the environment)" served
stop_plinkfwd
ok "token endpoint back to numbers" arm_ctl '{"op":"set","v2_strings":false,"expires_on_only":false,"expires_on_date":false}'

# ------------------------------------------------------------ wrong secret
fresh_state
printf 'not-the-%s\n' "$SECRET" >"$T/wrong.secret"
arm_conf "$T/bad.conf" "@log-level: debug" "auth: client-secret" "tenant-id: $TENANT" "client-id: $APP" \
	"client-secret-file: $T/wrong.secret" "interval: 3600" "max-retries: 1"
mark=$(log_mark)
ok "plinkfwd starts (wrong secret)" start_plinkfwd "$T/bad.conf"
ok "sync with a wrong secret ends" arm_wait_sync "$mark"
log=$(log_since "$mark")
like "$log" 'client secret token request failed: HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided' "Entra's error is logged"
like "$log" 'sync finished with errors' "round failed"
not_ok "nothing served without a token" served
ok "daemon keeps running without a token" plinkfwd_alive
stop_plinkfwd

# ------------------------------------------------------------ workload identity
fresh_state
printf 'eyJhbGciOi.assertion-one.sig\n' >"$T/fed-token"
ok "federated assertion expected from the token file; short tokens" \
	arm_ctl '{"op":"set","assertion_file":"'"$T/fed-token"'","token_lifetime":4}'
arm_conf "$T/wi.conf" "@log-level: debug" "auth: workload-identity" "interval: 2" "-login-endpoint"
export AZURE_AUTHORITY_HOST=$ARM_URL/ AZURE_TENANT_ID=$TENANT AZURE_CLIENT_ID=$APP AZURE_FEDERATED_TOKEN_FILE=$T/fed-token
mark=$(log_mark)
ok "plinkfwd starts (workload identity)" start_plinkfwd "$T/wi.conf"
unset AZURE_AUTHORITY_HOST AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_FEDERATED_TOKEN_FILE
ok "workload identity sync completes" arm_wait_sync "$mark"
like "$(log_since "$mark")" 'workload identity token acquired, valid for 4 s' "federated token exchanged"
ok "zone served (workload identity)" served
like "$(arm_reqs 'r["kind"] == "token"' | tail -n 1)" "token /$TENANT/oauth2/v2.0/token\$" "authority host's trailing slash normalised"
# Kubernetes rotates the file: the next refresh must send the new content.
printf 'eyJhbGciOi.assertion-two.sig\n' >"$T/fed-token"
mark=$(log_mark)
ok "a later round gets a token with the rotated file" wait_log 'workload identity token acquired' 10 "$mark"
ok "and completes" arm_wait_sync "$mark"
unlike "$(log_since "$mark")" 'AADSTS70021' "no stale assertion sent"
ndig=$(arm_state | python3 -c 'import json,sys; print(len(set(json.load(sys.stdin)["assertions"])))')
is "$ndig" 2 "two different assertions sent: the file is re-read"
ok "zone still served" served
stop_plinkfwd

# ------------------------------------------------------------ secrets stay out
secrets_ok() {
	! grep -rqF -e "$SECRET" -e "assertion-one" -e "assertion-two" -e "tok-" "$PLINKFWD_LOG" "$T/state"
}
ok "no secret, assertion or token in the log or state-dir" secrets_ok
like "$(cat "$PLINKFWD_LOG")" 'arm: GET https://127\.0\.0\.1' "debug logging was on while checking"
done_testing
