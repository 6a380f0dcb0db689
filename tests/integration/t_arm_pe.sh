# t_arm_pe.sh -- records from private endpoints (private-endpoints: yes),
# end to end with real dig queries: the test ARM server lists endpoints in
# the published formats (the ListAll example verbatim but for its ids, and
# endpoints made in its shape), paged with nextLink.  Approved endpoints'
# customDnsConfigs are served in the Private Link zone the catalogue pairs
# with each FQDN (public and privatelink spellings), also through the public
# CNAME splice (NSD as the "default" group serves openai.azure.com as the
# internet does); Pending endpoints are not served and say why (log,
# /metrics, explain); a private DNS zone record wins over an endpoint's
# for the same name; an FQDN no catalogue entry covers is served in an
# endpoint-zone: or skipped; a failed listing keeps the last good data; a
# restart with ARM down serves from the state directory.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

. "$LIBDIR/peers/splice/peers.sh"
start_splice_peers

ok "fake ARM server starts" arm_start_fake --dataset "pe-examples:$ARM_SUB" --set pe_page=2
# Foundry-style endpoint: the public spelling, two Private Link zones
ok "Approved endpoint pe-foundry" arm_ctl '{"op":"add_pe","sub":"'$ARM_SUB'","rg":"rg-ai","name":"pe-foundry","fqdns":{"acct.openai.azure.com":["10.5.0.4"],"acct.cognitiveservices.azure.com":["10.5.0.4"]}}'
ok "Pending (manual) endpoint pe-waiting" arm_ctl '{"op":"add_pe","sub":"'$ARM_SUB'","rg":"rg-ai","name":"pe-waiting","manual":true,"status":"Pending","fqdns":{"acct2.openai.azure.com":["10.5.0.5"]}}'
# the privatelink spelling, into a zone that ARM also has as a private DNS zone
ok "Approved endpoint pe-storage" arm_ctl '{"op":"add_pe","sub":"'$ARM_SUB'","rg":"rg-st","name":"pe-storage","fqdns":{"sa1.privatelink.blob.core.windows.net":["10.7.0.9"],"sa2.privatelink.blob.core.windows.net":["10.7.0.10"]}}'
ok "private DNS zone with sa1" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-net","zone":"privatelink.blob.core.windows.net","a":{"sa1":"10.3.0.4"},"ttl":300}'
ok "endpoint outside the catalogue" arm_ctl '{"op":"add_pe","sub":"'$ARM_SUB'","rg":"rg-app","name":"pe-corp","fqdns":{"app.corp.example":["10.8.0.1"]}}'

mkdir -p "$T/run"
HTTP=$((PORT + 1000))
arm_conf "$T/arm.conf" "interval: 3600" "private-endpoints: yes" "endpoint-zone: corp.example" \
	"@control-socket: $T/run/control.sock" "@http-listen: 127.0.0.1@$HTTP" "@workers: 1"
cat >>"$T/arm.conf" <<EOF
upstream: default
    server: 127.0.0.11@5301
EOF
mark=$(log_mark)
ok "plinkfwd starts with private-endpoints: yes" start_plinkfwd "$T/arm.conf"
ok "first sync completes" arm_wait_sync "$mark"
log=$(log_since "$mark")
like "$log" 'arm: sync done in [0-9]+ ms: 4 zones served \(4 added' \
	"four zones: openai, cognitiveservices, blob (merged) and corp.example"

# ------------------------------------------------------------ zone kinds (zones, the status page)
zj=$("$CTL" -s "$T/run/control.sock" -j zones 2>&1)
ok "zones: a zone built from endpoints alone has source endpoint, a merged one arm with endpoint_records" python3 -c '
import json, sys
z = {o["name"]: o for o in json.loads(sys.argv[1])["zones"]}
assert z["privatelink.openai.azure.com."]["source"] == "endpoint", z["privatelink.openai.azure.com."]
assert z["corp.example."]["source"] == "endpoint"
b = z["privatelink.blob.core.windows.net."]
assert b["source"] == "arm" and b.get("endpoint_records") is True, b
' "$zj"

# ------------------------------------------------------------ endpoint names served
q acct.privatelink.openai.azure.com A
is "$Q_STATUS" NOERROR "endpoint name: NOERROR"
ok "endpoint name: authoritative" q_flag aa
is "$Q_ANSWER" "acct.privatelink.openai.azure.com. 10 IN A 10.5.0.4" "endpoint address, endpoint-ttl 10"
q acct.privatelink.cognitiveservices.azure.com A
is "$Q_ANSWER" "acct.privatelink.cognitiveservices.azure.com. 10 IN A 10.5.0.4" "second FQDN of the endpoint, its own zone"
q nothere.privatelink.openai.azure.com A
is "$Q_STATUS" NXDOMAIN "a name no endpoint has: NXDOMAIN"
like "$Q_AUTHORITY" 'IN SOA azureprivatedns\.net\.' "with the zone's SOA"

# through the public CNAME: acct.openai.azure.com CNAME acct.privatelink.openai.azure.com
q acct.openai.azure.com A
is "$Q_ANSWER" "acct.openai.azure.com. 10 IN CNAME acct.privatelink.openai.azure.com.
acct.privatelink.openai.azure.com. 10 IN A 10.5.0.4" "public name: the CNAME spliced with the endpoint's address (TTL: the lower of the two)"
unlike "$Q_OUT" '192\.0\.2\.|cloudapp\.net' "no public address reaches the client"

# ------------------------------------------------------------ Pending: not served, and why
q acct2.privatelink.openai.azure.com A
is "$Q_STATUS" NXDOMAIN "Pending endpoint: its name is not served"
unlike "$Q_OUT" '10\.5\.0\.5' "Pending endpoint: its address never answered"
like "$log" "arm: acct2\.openai\.azure\.com: private endpoint pe-waiting \(subscription $ARM_SUB, resource group rg-ai\) is Pending approval: not served" \
	"Pending endpoint logged with the reason"
is "$(metric_value 'plinkfwd_arm_private_endpoints{state="pending"}')" 2 \
	"/metrics: two Pending endpoints (pe-waiting and the example's pe2)"
is "$(metric_value 'plinkfwd_arm_private_endpoints{state="approved"}')" 5 "/metrics: five Approved endpoints"
out=$("$CTL" -s "$T/run/control.sock" explain acct2.openai.azure.com 2>&1)
like "$out" "private endpoint: acct2\.openai\.azure\.com: private endpoint pe-waiting \(subscription $ARM_SUB, resource group rg-ai\) is Pending approval: not served" \
	"explain gives the reason under the public name"
out=$("$CTL" -s "$T/run/control.sock" explain acct2.privatelink.openai.azure.com 2>&1)
like "$out" 'is Pending approval: not served' "... and under the privatelink name"

# ------------------------------------------------------------ the zone rule
q sa1.privatelink.blob.core.windows.net A
is "$Q_ANSWER" "sa1.privatelink.blob.core.windows.net. 300 IN A 10.3.0.4" "same name in a private DNS zone and an endpoint: the zone's record"
q sa2.privatelink.blob.core.windows.net A
is "$Q_ANSWER" "sa2.privatelink.blob.core.windows.net. 10 IN A 10.7.0.10" "a name only the endpoint has joins the synced zone"
like "$log" "arm: sa1\.privatelink\.blob\.core\.windows\.net: private endpoint pe-storage .*the private DNS zone privatelink\.blob\.core\.windows\.net has the name \(record set /subscriptions/$ARM_SUB/resourceGroups/rg-net/providers/Microsoft\.Network/privateDnsZones/privatelink\.blob\.core\.windows\.net/A/sa1\); the zone's record wins" \
	"conflict logged, naming the zone's record set"
out=$("$CTL" -s "$T/run/control.sock" explain sa1.privatelink.blob.core.windows.net 2>&1)
like "$out" "private endpoint: .*the zone's record wins" "explain shows the conflict"
like "$out" "from ARM record set /subscriptions/$ARM_SUB/resourceGroups/rg-net/.*/A/sa1" "explain: the answer is the zone's record set"
out=$("$CTL" -s "$T/run/control.sock" explain sa2.privatelink.blob.core.windows.net 2>&1)
like "$out" "from private endpoint /subscriptions/$ARM_SUB/resourceGroups/rg-st/providers/Microsoft\.Network/privateEndpoints/pe-storage" \
	"explain: an endpoint record names its endpoint"

# ------------------------------------------------------------ FQDNs no catalogue entry covers
q app.corp.example A
is "$Q_ANSWER" "app.corp.example. 10 IN A 10.8.0.1" "endpoint-zone: the FQDN served under its own name"
q abc.cosmos.com A
ok "the example's abc.cosmos.com: not served locally" test "$Q_STATUS" != NOERROR -o -z "$Q_ANSWER"
like "$log" 'arm: abc\.cosmos\.com: private endpoint pe1 .*no Private Link zone of the catalogue and no endpoint-zone: covers the name: not served' \
	"uncovered FQDN skipped with a log line"

# ------------------------------------------------------------ paging
pages=$(arm_reqs 'r["kind"] == "arm" and "/privateEndpoints" in r["path"] and r["status"] == 200' | wc -l)
ok "endpoint list paged with nextLink ($pages pages of 2)" test "$pages" -ge 4
like "$(arm_reqs '"/privateEndpoints" in r["path"]')" 'privateEndpoints\?api-version=2026-01-01&\$skipToken=' "nextLink followed verbatim"

# ------------------------------------------------------------ state dir
ok "endpoint zone saved in state-dir" test -f "$T/state/privatelink.openai.azure.com.zone"
like "$(cat "$T/state/privatelink.openai.azure.com.zone")" \
	"; arm-id /subscriptions/$ARM_SUB/resourceGroups/rg-ai/providers/Microsoft\.Network/privateEndpoints/pe-foundry" \
	"saved file names the endpoint of each record set"
checkzone() { nsd-checkzone "$1" "$2" >"$T/checkzone.out" 2>&1; }
ok "saved endpoint zone passes nsd-checkzone" checkzone privatelink.openai.azure.com "$T/state/privatelink.openai.azure.com.zone"

# ------------------------------------------------------------ a second round: logged once per change
mark=$(log_mark)
arm_sigusr1
ok "second sync completes" arm_wait_sync "$mark"
log2=$(log_since "$mark")
like "$log2" '0 added, 0 updated, 0 removed, 4 unchanged' "nothing changed, nothing rebuilt"
unlike "$log2" 'Pending approval|the zone.s record wins' "unchanged Pending endpoint and conflict are not logged again"

# ------------------------------------------------------------ approval
ok "pe-waiting approved in ARM" arm_ctl '{"op":"set_pe_status","sub":"'$ARM_SUB'","name":"pe-waiting","status":"Approved"}'
mark=$(log_mark)
arm_sigusr1
ok "sync after the approval completes" arm_wait_sync "$mark"
q acct2.privatelink.openai.azure.com A
is "$Q_ANSWER" "acct2.privatelink.openai.azure.com. 10 IN A 10.5.0.5" "approved endpoint: now served"
is "$(metric_value 'plinkfwd_arm_private_endpoints{state="pending"}')" 1 "/metrics: one Pending endpoint left"
ok "Rejected in ARM" arm_ctl '{"op":"set_pe_status","sub":"'$ARM_SUB'","name":"pe-waiting","status":"Rejected"}'
mark=$(log_mark)
arm_sigusr1
ok "sync after the rejection completes" arm_wait_sync "$mark"
q acct2.privatelink.openai.azure.com A
is "$Q_STATUS" NXDOMAIN "rejected endpoint: no longer served"
like "$(log_since "$mark")" 'pe-waiting .* is Rejected: not served' "the change logged once"
is "$(metric_value 'plinkfwd_arm_private_endpoints{state="rejected"}')" 1 "/metrics: one Rejected endpoint"

# ------------------------------------------------------------ a failed listing keeps the last good data
ok "endpoint listing fails from now on" arm_ctl '{"op":"fail","match":"/privateEndpoints","count":-1,"status":500}'
ok "pe-foundry deleted in ARM meanwhile" arm_ctl '{"op":"delete_pe","sub":"'$ARM_SUB'","name":"pe-foundry"}'
mark=$(log_mark)
arm_sigusr1
ok "failing sync completes" arm_wait_sync "$mark" 60
like "$(log_since "$mark")" 'finished with errors' "the round reports the failure"
q acct.privatelink.openai.azure.com A
is "$Q_ANSWER" "acct.privatelink.openai.azure.com. 10 IN A 10.5.0.4" "an incomplete listing removes nothing"
ok "listing throttled instead" arm_ctl '{"op":"clear_faults"}'
ok "429 with Retry-After on the endpoint list" arm_ctl '{"op":"fail","match":"/privateEndpoints","count":1,"status":429,"retry_after":1}'
mark=$(log_mark)
arm_sigusr1
ok "throttled sync completes" arm_wait_sync "$mark" 60
like "$(log_since "$mark")" 'sync done in' "the retried listing completes the round"
log3=$(log_since "$mark")
like "$log3" 'zone privatelink\.openai\.azure\.com is no longer in ARM' \
	"a complete listing without the endpoint removes its zone (no other name is in it)"
q acct.privatelink.openai.azure.com A
unlike "$Q_OUT" '10\.5\.0\.4' "its address is no longer served"
ok "the retry came after the 429" test "$(arm_reqs '"/privateEndpoints" in r["path"] and r["status"] == 429' | wc -l)" -ge 1

# ------------------------------------------------------------ restart with ARM down: served from disk
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit"
arm_stop_fake
mark=$(log_mark)
ok "plinkfwd starts with ARM unreachable" start_plinkfwd "$T/arm.conf"
like "$(log_since "$mark")" 'arm: loaded saved zone privatelink\.blob\.core\.windows\.net' "saved zones loaded at start-up"
q sa2.privatelink.blob.core.windows.net A
is "$Q_ANSWER" "sa2.privatelink.blob.core.windows.net. 10 IN A 10.7.0.10" "endpoint record served from disk without ARM"
q sa1.privatelink.blob.core.windows.net A
is "$Q_ANSWER" "sa1.privatelink.blob.core.windows.net. 300 IN A 10.3.0.4" "the zone rule holds in the saved copy"
q app.corp.example A
is "$Q_ANSWER" "app.corp.example. 10 IN A 10.8.0.1" "endpoint-zone: zone served from disk"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "clean exit (ARM down)"

done_testing
