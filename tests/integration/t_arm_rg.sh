# t_arm_rg.sh -- discovery: resource-graph: one paged Azure Resource Graph
# query ($skipToken in the POST body) finds every private DNS zone and every
# private endpoint of the tenant, across subscriptions the config does not
# name; records-from: resource-graph takes the record sets from dnsresources
# and lists a zone from ARM when its count there differs from the zone's
# numberOfRecordSets; the quota headers (x-ms-user-quota-remaining: 0) make
# the sync wait for the reset instead of running into 429; a 429 with
# Retry-After is honoured; management-group: scopes the query.  Real dig
# queries against the daemon; the test ARM server plays Resource Graph.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

SUB2=00000000-0000-0000-0000-00000000bbbb
# 2 rows per page, 3 queries per 2-second window: the sync must page and
# wait; one request at a time, so the order of requests is the daemon's
ok "fake ARM server starts" arm_start_fake --dataset "examples:$ARM_SUB:rg-dns" \
	--set rg_page=2 --set rg_quota=3 --set rg_quota_window=2
ok "a zone in a subscription the config does not name" arm_ctl '{"op":"add_zone","sub":"'$SUB2'","rg":"rg-net","zone":"privatelink.blob.core.windows.net","a":{"sa1":"10.3.0.4","sa2":"10.3.0.5"},"ttl":300}'
ok "an Approved endpoint there" arm_ctl '{"op":"add_pe","sub":"'$SUB2'","rg":"rg-ai","name":"pe-foundry","fqdns":{"acct.openai.azure.com":["10.5.0.4"]}}'
# Resource Graph lags ARM for one zone: one record set missing there
ok "dnsresources lags for scenario_privatezone.com" arm_ctl '{"op":"set","rg_lag":{"scenario_privatezone.com":1}}'

mkdir -p "$T/run"
HTTP=$((PORT + 1000))
arm_conf "$T/rg.conf" "-subscription" "discovery: resource-graph" "records-from: resource-graph" \
	"private-endpoints: yes" "interval: 3600" "max-inflight: 1" "@http-listen: 127.0.0.1@$HTTP"
mark=$(log_mark)
ok "plinkfwd starts with discovery: resource-graph and no subscription:" start_plinkfwd "$T/rg.conf"
ok "first sync completes" arm_wait_sync "$mark" 60
log=$(log_since "$mark")
like "$log" 'arm: discovery through Resource Graph over every subscription the identity can read; record sets from dnsresources' \
	"tenant-wide discovery announced"
like "$log" 'arm: sync done in [0-9]+ ms: 4 zones served \(4 added' \
	"four zones: two of the configured-less first subscription, one of the second, one from the endpoint"

# ------------------------------------------------------------ answers
q recorda1.privatezone1.com A
like "$Q_ANSWER" 'recorda1\.privatezone1\.com\. 3600 IN A 1\.2\.3\.4$' "zone of the first subscription, records from dnsresources"
q sa2.privatelink.blob.core.windows.net A
is "$Q_ANSWER" "sa2.privatelink.blob.core.windows.net. 300 IN A 10.3.0.5" "zone of a subscription found by Resource Graph"
q acct.privatelink.openai.azure.com A
is "$Q_ANSWER" "acct.privatelink.openai.azure.com. 10 IN A 10.5.0.4" "private endpoint found by Resource Graph"
q scenario_recordset.scenario_privatezone.com A
like "$Q_ANSWER" 'IN A 1\.2\.3\.4$' "the lagging zone, listed from ARM, is complete"

# ------------------------------------------------------------ requests
is "$(arm_reqs 'r["kind"] == "arm" and r["path"].lower().split("?")[0].endswith(("/privatednszones", "/privateendpoints"))' | wc -l)" 0 \
	"no per-subscription zone or endpoint list"
rg=$(arm_reqs 'r["kind"] == "rg" and r["status"] == 200' | wc -l)
ok "Resource Graph queried page by page ($rg pages of 2 rows)" test "$rg" -ge 8
like "$(arm_reqs 'r["kind"] == "rg"' | head -1)" 'providers/Microsoft\.ResourceGraph/resources\?api-version=2024-04-01$' \
	"POST to the resources endpoint, api-version 2024-04-01"
like "$log" 'zone scenario_privatezone\.com: Resource Graph has [0-9]+ record sets, the zone says [0-9]+; listing it from ARM' \
	"count mismatch logged"
ok "the lagging zone listed from ARM" test "$(arm_reqs '"scenario_privatezone.com/ALL" in r["path"]' | wc -l)" -ge 1
is "$(arm_reqs '"privatezone1.com/ALL" in r["path"] and "scenario" not in r["path"]' | wc -l)" 0 \
	"a zone whose counts agree is not listed from ARM"
is "$(metric_value plinkfwd_arm_resource_graph_direct_listings_total)" 1 "/metrics: one zone listed directly"

# ------------------------------------------------------------ quota
like "$log" 'Resource Graph quota used up \(x-ms-user-quota-remaining: 0\); next query in [0-9]+ ms' "quota headers honoured"
is "$(arm_state | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["rg_throttled"])')" 0 \
	"never ran into the quota (no 429 from Resource Graph)"
ok "/metrics counts the waits" test "$(metric_value plinkfwd_arm_resource_graph_quota_waits_total)" -ge 1

# ------------------------------------------------------------ 429 with Retry-After
ok "one 429 with Retry-After: 1 from Resource Graph" arm_ctl '{"op":"fail","match":"Microsoft.ResourceGraph","count":1,"status":429,"retry_after":1}'
mark=$(log_mark)
arm_sigusr1
ok "sync after the 429 completes" arm_wait_sync "$mark" 60
like "$(log_since "$mark")" 'throttled \(HTTP 429 .*\) while querying Resource Graph.*Retry-After' "429 logged with Retry-After"
like "$(log_since "$mark")" 'sync done in' "the round completes after the retry"
ok "no Resource Graph request started before Retry-After passed" python3 - "$ARM_REQLOG" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
rg = [r for r in recs if "ResourceGraph" in r["path"]]
t429 = max(r["t"] for r in rg if r["status"] == 429)
# max-inflight: 1, so nothing was in flight beside the throttled query
later = [r for r in rg if r["t0"] > t429]
sys.exit(0 if later and all(r["t0"] >= t429 + 1.0 for r in later) else 1)
EOF
q sa1.privatelink.blob.core.windows.net A
is "$Q_ANSWER" "sa1.privatelink.blob.core.windows.net. 300 IN A 10.3.0.4" "still served"

# ------------------------------------------------------------ a failed query keeps everything
ok "Resource Graph fails" arm_ctl '{"op":"fail","match":"Microsoft.ResourceGraph","count":-1,"status":500}'
mark=$(log_mark)
arm_sigusr1
ok "failing sync completes" arm_wait_sync "$mark" 90
like "$(log_since "$mark")" 'finished with errors' "reported"
q sa1.privatelink.blob.core.windows.net A
is "$Q_ANSWER" "sa1.privatelink.blob.core.windows.net. 300 IN A 10.3.0.4" "a failed query removes nothing"
q acct.privatelink.openai.azure.com A
is "$Q_ANSWER" "acct.privatelink.openai.azure.com. 10 IN A 10.5.0.4" "nor the endpoint records"
ok "faults cleared" arm_ctl '{"op":"clear_faults"}'
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"

# ------------------------------------------------------------ management groups
ok "mg-net holds only the second subscription" arm_ctl '{"op":"set","mg":{"mg-net":["'$SUB2'"]}}'
rm -rf "$T/state"
arm_conf "$T/mg.conf" "-subscription" "discovery: resource-graph" "management-group: mg-net" "interval: 3600"
mark=$(log_mark)
ok "plinkfwd starts with management-group:" start_plinkfwd "$T/mg.conf"
ok "sync completes" arm_wait_sync "$mark" 60
like "$(log_since "$mark")" '1 zones served' "only the management group's zone"
q sa1.privatelink.blob.core.windows.net A
is "$Q_ANSWER" "sa1.privatelink.blob.core.windows.net. 300 IN A 10.3.0.4" "its zone served, records listed per zone"
q recorda1.privatezone1.com A
ok "a zone outside the management group is not served" test "$Q_STATUS" != NOERROR
stop_plinkfwd

# ------------------------------------------------------------ config checks
arm_conf "$T/bad.conf" "management-group: mg-net"
out=$("$PLINKFWD" -t -c "$T/bad.conf" 2>&1)
is "$?" 1 "management-group: without discovery: resource-graph: plinkfwd -t fails"
like "$out" 'bad\.conf:[0-9]+: arm: management-group: and records-from: resource-graph need discovery: resource-graph' \
	"... saying why, with file:line"
arm_conf "$T/bad2.conf" "discovery: resource-graph" "management-group: mg-net"
out=$("$PLINKFWD" -t -c "$T/bad2.conf" 2>&1)
like "$out" 'give subscription: or management-group: lines, not both' "subscription: and management-group: together are refused"
done_testing
