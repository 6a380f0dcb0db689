# t_arm_faults.sh -- ARM faults: 429 + Retry-After honoured (no request
# before it passes), 5xx retried with backoff, malformed JSON and exhausted
# retries keep the last good copy, a failed zone listing deletes nothing,
# 401 gets a new token and one retry, 403/404 explain the missing
# permission, a hanging server times out and is retried.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

ok "fake ARM server starts" arm_start_fake
ok "add vault zone" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg1","zone":"privatelink.vaultcore.azure.net","a":{"kv1":"10.2.0.4"}}'
ok "add blob zone" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg1","zone":"privatelink.blob.core.windows.net","a":{"st1":"10.2.0.5"}}'
ok "429 with Retry-After: 2 on the vault listing, once" arm_ctl '{"op":"fail","match":"vaultcore.azure.net/ALL","status":429,"retry_after":2,"count":1}'
ok "500 on the blob listing, once" arm_ctl '{"op":"fail","match":"blob.core.windows.net/ALL","status":500,"count":1}'

# One request at a time: then "no request after the 429 answer" is exact
# (with several in flight, one sent before the 429 arrived may land after it).
arm_conf "$T/arm.conf" "interval: 3600" "timeout: 2" "max-retries: 3" "max-inflight: 1"
mark=$(log_mark)
ok "plinkfwd starts" start_plinkfwd "$T/arm.conf"
ok "first sync completes" arm_wait_sync "$mark" 30
log=$(log_since "$mark")
like "$log" 'throttled \(HTTP 429 SubscriptionRequestsThrottled\).*no ARM request for 2000 ms \(Retry-After\)' "429 logged with its Retry-After"
like "$log" 'HTTP 500 InternalServerError while listing record sets of zone privatelink\.blob.*retry 1 of 3' "500 retried with backoff"
like "$log" 'arm: sync done in .*2 added' "both zones published after the faults"

# No ARM request may arrive between the 429 answer and Retry-After later.
gap=$(python3 - "$ARM_REQLOG" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
t429 = [r["t"] for r in recs if r["status"] == 429][0]
early = [r for r in recs if r["kind"] == "arm" and t429 < r["t0"] < t429 + 2.0]
after = [r["t0"] for r in recs if r["kind"] == "arm" and r["t0"] > t429]
print("early=%d next_after=%.3f" % (len(early), (min(after) - t429) if after else -1))
EOF
)
like "$gap" '^early=0 ' "no ARM request before Retry-After passed ($gap)"
q kv1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.4$' "vault record served"
q st1.privatelink.blob.core.windows.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.5$' "blob record served"

# ------------------------------------------------------------ malformed JSON
ok "vault record changes in ARM" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"privatelink.vaultcore.azure.net","name":"kv1","ip":"10.2.0.44"}'
ok "malformed JSON on the vault listing, once" arm_ctl '{"op":"fail","match":"vaultcore.azure.net/ALL","malformed":true,"count":1}'
mark=$(log_mark)
arm_sigusr1
ok "sync with malformed JSON ends" arm_wait_sync "$mark"
log=$(log_since "$mark")
like "$log" 'malformed JSON from ARM while listing record sets of zone privatelink\.vaultcore\.azure\.net.*keeping the last good copy' "malformed JSON logged for that zone"
like "$log" 'sync finished with errors' "round reported as failed"
q kv1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.4$' "old answer kept after malformed JSON"
ok "daemon survived malformed JSON" plinkfwd_alive
mark=$(log_mark)
arm_sigusr1
ok "next sync completes" arm_wait_sync "$mark"
q kv1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.44$' "new answer once ARM answers properly"

# ------------------------------------------------------------ 500 until retries run out
ok "blob record changes in ARM" arm_ctl '{"op":"set_a","sub":"'$ARM_SUB'","zone":"privatelink.blob.core.windows.net","name":"st1","ip":"10.2.0.55"}'
ok "500 forever on the blob listing" arm_ctl '{"op":"fail","match":"blob.core.windows.net/ALL","status":503,"count":-1}'
mark=$(log_mark)
arm_sigusr1
ok "sync with a failing zone ends" arm_wait_sync "$mark" 60
like "$(log_since "$mark")" 'HTTP 503 .*blob.*retries exhausted' "retries exhausted logged"
q st1.privatelink.blob.core.windows.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.5$' "old answer kept after 5xx"
n503=$(arm_reqs 'r["status"] == 503' | wc -l)
is "$n503" 4 "one request plus max-retries (3) retries"
ok "clear faults" arm_ctl '{"op":"clear_faults"}'

# ------------------------------------------------------------ failed discovery deletes nothing
ok "malformed zone list, once" arm_ctl '{"op":"fail","match":"/privateDnsZones?api","malformed":true,"count":1}'
mark=$(log_mark)
arm_sigusr1
ok "sync with a failed zone list ends" arm_wait_sync "$mark"
like "$(log_since "$mark")" '0 removed' "no zone removed when the zone list failed"
q kv1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.44$' "zones still served after a failed zone list"

# ------------------------------------------------------------ 401: new token, one retry
tokens_before=$(arm_reqs 'r["kind"] == "imds" and r["status"] == 200' | wc -l)
ok "ARM forgets every token" arm_ctl '{"op":"revoke_tokens"}'
mark=$(log_mark)
arm_sigusr1
ok "sync after token expiry completes" arm_wait_sync "$mark"
log=$(log_since "$mark")
like "$log" 'HTTP 401 ExpiredAuthenticationToken .*getting a new token and retrying once' "401 triggers a token refresh"
like "$log" 'arm: sync done' "round succeeds with the new token"
tokens_after=$(arm_reqs 'r["kind"] == "imds" and r["status"] == 200' | wc -l)
is "$((tokens_after - tokens_before))" 1 "exactly one new token fetched"

# ------------------------------------------------------------ 403 / 404
ok "403 on the zone list" arm_ctl '{"op":"fail","match":"/privateDnsZones?api","status":403,"count":1}'
mark=$(log_mark)
arm_sigusr1
ok "sync with 403 ends" arm_wait_sync "$mark"
like "$(log_since "$mark")" 'HTTP 403 AuthorizationFailed while listing private DNS zones.*Reader role.*"Private DNS Zone Contributor" is not needed' "403 names the role needed"
ok "404 subscription" arm_ctl '{"op":"fail","match":"/privateDnsZones?api","status":404,"code":"SubscriptionNotFound","message":"The subscription could not be found.","count":1}'
mark=$(log_mark)
arm_sigusr1
ok "sync with 404 ends" arm_wait_sync "$mark"
like "$(log_since "$mark")" 'HTTP 404 SubscriptionNotFound .*check the subscription id' "404 explained"
q kv1.privatelink.vaultcore.azure.net A
like "$Q_ANSWER" 'IN A 10\.2\.0\.44$' "zones kept through 403 and 404"

# ------------------------------------------------------------ a hanging server
ok "vault listing hangs 4 s, once" arm_ctl '{"op":"fail","match":"vaultcore.azure.net/ALL","hang":4,"count":1}'
mark=$(log_mark)
arm_sigusr1
ok "sync with a hang ends" arm_wait_sync "$mark" 30
log=$(log_since "$mark")
like "$log" 'listing record sets of zone privatelink\.vaultcore\.azure\.net.*failed: .*[Tt]imed? ?out.*retry 1 of 3' "timeout logged and retried"
like "$log" 'arm: sync done' "round succeeds after the timeout"

ok "daemon still running" plinkfwd_alive
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean shutdown"

# ------------------------------------------------------------ a server the CA does not vouch for
ok "a second, unrelated CA" sh "$SRCDIR/tests/arm/gen-ca.sh" "$T/ca2"
rm -rf "$T/state"
arm_conf "$T/badca.conf" "interval: 3600" "max-retries: 0"
sed -i "s|ca-file: .*|ca-file: $T/ca2/ca.pem|" "$T/badca.conf"
mark=$(log_mark)
ok "plinkfwd starts with the wrong CA" start_plinkfwd "$T/badca.conf"
ok "sync against an untrusted server ends" arm_wait_sync "$mark"
log=$(log_since "$mark")
like "$log" 'token request failed: .*(certificate|SSL)' "TLS verification failure logged"
like "$log" 'sync finished with errors' "round failed"
q kv1.privatelink.vaultcore.azure.net A
ok "nothing learnt from an untrusted server" test "$Q_STATUS" != NOERROR
stop_plinkfwd
done_testing
