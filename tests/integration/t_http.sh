# t_http.sh -- the HTTP endpoint: /metrics in the Prometheus text format
# (checked by promtool when it is installed, and by a strict parser here),
# counters against known traffic, the status page and /status.json, the
# bearer token of http-token-file (401 without it, 200 with it, /healthz and
# /readyz open, re-read on reload, never logged), the warning for a
# non-loopback http-listen without a token, /healthz and /readyz: 503 while
# the configured ARM zones have no data yet, 200 once they are synced.
# (The page in a browser: t_status_page.sh.)
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

HPORT=$((PORT + 1000))
URL=http://127.0.0.1:$HPORT
UPSTREAM=127.0.0.2@5301

# get PATH  -> H_CODE, H_BODY
get() {
	H_BODY=$(curl -sS --max-time 5 -o - -w '\n%{http_code}' "$URL$1" 2>&1)
	H_CODE=${H_BODY##*$'\n'}
	H_BODY=${H_BODY%$'\n'*}
	H_BODY=${H_BODY%$'\n'}
}

# metric TEXT NAME{LABELS}  the value of one sample ("" when absent)
metric() {
	printf '%s\n' "$1" | awk -v k="$2" 'index($0, k " ") == 1 { print $2; exit }'
}

# Parse the exposition the way a scraper does: every sample belongs to a
# family announced by # TYPE, counters are named *_total, histogram buckets
# are cumulative and end with +Inf equal to _count, no sample repeats.
cat >"$T/parse_metrics.py" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
types, seen, buckets, counts = {}, set(), {}, {}
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$')
for n, line in enumerate(text.split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        continue
    if line.startswith("# TYPE "):
        _, _, name, typ = line.split(" ", 3)
        assert name not in types, "line %d: second TYPE for %s" % (n, name)
        assert typ in ("counter", "gauge", "histogram"), line
        types[name] = typ
        continue
    m = sample.match(line)
    assert m, "line %d: not a sample: %r" % (n, line)
    name, labels, value = m.group(1), m.group(3) or "", float(m.group(4))
    assert (name, labels) not in seen, "line %d: duplicate sample" % n
    seen.add((name, labels))
    fam = re.sub(r'_(bucket|sum|count)$', '', name)
    typ = types.get(name) or types.get(fam)
    assert typ, "line %d: %s has no TYPE" % (n, name)
    if typ == "counter":
        assert name.endswith("_total") and value >= 0, "line %d: bad counter" % n
    if typ == "histogram" and name.endswith("_bucket"):
        key = (fam, re.sub(r',?le="[^"]*"', '', labels))
        prev = buckets.get(key, [])
        assert not prev or value >= prev[-1], "line %d: buckets not cumulative" % n
        buckets[key] = prev + [value]
        assert labels.endswith('le="+Inf"') or 'le="+Inf"' not in labels
    if typ == "histogram" and name.endswith("_count"):
        counts[(fam, labels)] = value
for key, vals in buckets.items():
    assert counts.get(key) == vals[-1], "%s: +Inf bucket != _count" % (key,)
print("ok %d families %d samples" % (len(types), len(seen)))
EOF

cat >"$T/lab.test.zone" <<'EOF'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.80
EOF

ok "NSD upstream starts" start_nsd "$UPSTREAM" lab.test="$T/lab.test.zone"
# a server that reads queries and never answers: its attempts time out
spawn silent python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.9", 5309))
while True:
    s.recvfrom(4096)'
cat >"$T/plinkfwd.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 2
    http-listen: 127.0.0.1@$HPORT
    upstream-timeout: 1000
    query-timeout: 2000
upstream: lab
    server: $UPSTREAM
upstream: silent
    server: 127.0.0.9@5309
forward: lab.test
    to: lab
forward: silent.test
    to: silent
zone: privatelink.openai.azure.com
    file: $SRCDIR/zones/privatelink.openai.azure.com.zone
EOF
ok "plinkfwd starts with http-listen" start_plinkfwd "$T/plinkfwd.conf"

# ------------------------------------------------------------ format
get /metrics
is "$H_CODE" 200 "/metrics: 200"
printf '%s\n' "$H_BODY" >"$T/metrics1.txt"
ctype=$(curl -sS -o /dev/null -w '%{content_type}' "$URL/metrics")
like "$ctype" '^text/plain; version=0\.0\.4' "/metrics: Prometheus text content type"
like "$(python3 "$T/parse_metrics.py" "$T/metrics1.txt" 2>&1)" '^ok [0-9]+ families' \
	"/metrics parses as the text exposition format"
if command -v promtool >/dev/null 2>&1; then
	out=$(promtool check metrics <"$T/metrics1.txt" 2>&1)
	is "$?:$out" "0:" "promtool check metrics: no problem"
else
	skip "promtool check metrics" "promtool not installed (Debian package prometheus)"
fi
for fam in plinkfwd_queries_total plinkfwd_answers_total plinkfwd_answer_duration_seconds \
	plinkfwd_upstream_answers_total plinkfwd_upstream_failures_total plinkfwd_upstream_duration_seconds \
	plinkfwd_zone_records plinkfwd_zone_serial plinkfwd_reloads_total plinkfwd_build_info; do
	like "$H_BODY" "^# TYPE $fam " "/metrics has $fam"
done
is "$(metric "$H_BODY" 'plinkfwd_zone_records{zone="privatelink.openai.azure.com.",source="file"}')" 6 \
	"zone records per zone"
is "$(metric "$H_BODY" 'plinkfwd_workers')" 2 "workers gauge"

# ------------------------------------------------------------ counters against known traffic
m1=$H_BODY
N=25
for ((i = 0; i < N; i++)); do q contoso-foundry.privatelink.openai.azure.com A; done
for i in 1 2 3; do q nothere.privatelink.openai.azure.com A; done
# four different questions: the answer cache must not turn any into a hit
q www.lab.test A
q www.lab.test AAAA
q ns.lab.test A
q ns.lab.test TXT
for i in 1 2; do q contoso-foundry.privatelink.openai.azure.com AAAA +tcp; done
q www.example.com A   # default group has no server: REFUSED by plinkfwd
get /metrics
m2=$H_BODY
printf '%s\n' "$m2" >"$T/metrics2.txt"
like "$(python3 "$T/parse_metrics.py" "$T/metrics2.txt" 2>&1)" '^ok ' "/metrics after traffic parses"
delta() { echo $(($(metric "$m2" "$1") - $(metric "$m1" "$1"))); }
is "$(delta 'plinkfwd_answers_total{transport="udp",source="local",rcode="NOERROR"}')" $N \
	"$N local answers: local NOERROR counter rose by $N"
is "$(delta 'plinkfwd_answers_total{transport="udp",source="local",rcode="NXDOMAIN"}')" 3 "NXDOMAIN counter rose by 3"
is "$(delta 'plinkfwd_answers_total{transport="udp",source="upstream",rcode="NOERROR"}')" 4 "upstream NOERROR rose by 4"
is "$(delta 'plinkfwd_answers_total{transport="tcp",source="local",rcode="NOERROR"}')" 2 "TCP answers counted apart"
is "$(delta 'plinkfwd_answers_total{transport="udp",source="error",rcode="REFUSED"}')" 1 "REFUSED by plinkfwd counted as error"
is "$(delta 'plinkfwd_queries_total{transport="udp"}')" $((N + 3 + 4 + 1)) "queries_total udp rose by every UDP query"
is "$(delta 'plinkfwd_queries_total{transport="tcp"}')" 2 "queries_total tcp rose by 2"
is "$(delta 'plinkfwd_upstream_answers_total{group="lab"}')" 4 "upstream group lab answered 4"
is "$(delta 'plinkfwd_upstream_duration_seconds_count{group="lab"}')" 4 "upstream latency histogram counted 4"
is "$(delta 'plinkfwd_answer_duration_seconds_count{source="local"}')" $((N + 3 + 2)) "answer latency histogram: local"
m1=$m2
q www.lab.test A   # asked before: answered from the cache
q www.lab.test A
get /metrics
m2=$H_BODY
is "$(delta 'plinkfwd_cache_hits_total')" 2 "two cache hits counted"
is "$(delta 'plinkfwd_answers_total{transport="udp",source="cache",rcode="NOERROR"}')" 2 "cache answers by source"
is "$(delta 'plinkfwd_upstream_answers_total{group="lab"}')" 0 "no upstream query for a cache hit"
like "$(metric "$m2" 'plinkfwd_cache_entries')" '^[1-9][0-9]*$' "cache entries gauge"
like "$(metric "$m2" 'plinkfwd_upstream_server_answered_total{server="127.0.0.2@5301"}')" '^[4-9]$' \
	"per-server answered counter"
like "$(metric "$m2" 'plinkfwd_upstream_server_srtt_seconds{server="127.0.0.2@5301"}')" '^0\.[0-9]+$' \
	"per-server smoothed RTT"
srv='server="127.0.0.2@5301"'
is "$(metric "$m2" "plinkfwd_upstream_server_rtt_seconds_count{$srv}")" \
	"$(metric "$m2" "plinkfwd_upstream_server_answered_total{$srv}")" \
	"per-server RTT histogram: one sample per answered attempt"
is "$(metric "$m2" "plinkfwd_upstream_server_rtt_seconds_bucket{$srv,le=\"+Inf\"}")" \
	"$(metric "$m2" "plinkfwd_upstream_server_rtt_seconds_count{$srv}")" "per-server RTT histogram: +Inf bucket holds every sample"
like "$(metric "$m2" "plinkfwd_upstream_server_rtt_seconds_bucket{$srv,le=\"0.1\"}")" '^[4-9]$' \
	"per-server RTT histogram: loopback answers fall below 100 ms"
is "$(metric "$m2" "plinkfwd_upstream_server_timeouts_total{$srv}")" 0 "per-server timeouts: none on a live server"
q x.silent.test A
is "$Q_STATUS" SERVFAIL "a silent server: SERVFAIL after upstream-timeout"
get /metrics
like "$(metric "$H_BODY" 'plinkfwd_upstream_server_timeouts_total{server="127.0.0.9@5309"}')" '^[1-9][0-9]*$' \
	"per-server timeouts counted for the silent server"
is "$(metric "$H_BODY" 'plinkfwd_upstream_server_rtt_seconds_count{server="127.0.0.9@5309"}')" 0 \
	"no RTT sample for attempts that timed out"
printf '%s\n' "$m2" >"$T/metrics3.txt"
ok "metrics after traffic still pass promtool" sh -c "! command -v promtool >/dev/null || promtool check metrics <'$T/metrics3.txt'"

# ------------------------------------------------------------ health, other paths
get /healthz
is "$H_CODE:$H_BODY" "200:ok" "/healthz: 200 ok with file zones"
get /readyz
is "$H_CODE" 200 "/readyz: 200 without arm"
get /nothere
is "$H_CODE" 404 "unknown path: 404"
get /
is "$H_CODE" 200 "/: 200 without http-token-file"
like "$H_BODY" '<title>plinkfwd status</title>' "/: the status page"
ctype=$(curl -sS -o /dev/null -w '%{content_type}' "$URL/")
is "$ctype" "text/html; charset=utf-8" "/: HTML"
unlike "$H_BODY" '<script [^>]*src=|<link |(src|href)=.?https?:|url\(|@import|fetch\(.https?:' \
	"/: no external asset (no script src, no stylesheet link, no remote URL fetched)"
get /status.json
is "$H_CODE" 200 "/status.json: 200"
printf '%s\n' "$H_BODY" >"$T/status.json"
like "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["ok"], s["workers"], len(s["zone_list"]), s["history"]["bucket_s"])' "$T/status.json" 2>&1)" \
	'^True 2 1 10$' "/status.json parses: 2 workers, 1 zone, 10 s buckets"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data x "$URL/metrics")
isnt "$code" 200 "POST is not served"
mark=$(log_mark)
sighup_plinkfwd
ok "SIGHUP: reloaded" wait_log 'reloaded ' 5 "$mark"
get /metrics
is "$(metric "$H_BODY" 'plinkfwd_reloads_total{result="ok"}')" 1 "reload counted"
is "$(metric "$H_BODY" 'plinkfwd_config_last_reload_successful')" 1 "last reload successful"
is "$(metric "$H_BODY" 'plinkfwd_cache_evictions_total')" 0 "no cache evictions in a 64 MiB cache"
stop_plinkfwd

# ------------------------------------------------------------ cache evictions under a tiny cache-size
# one worker (one cache shard) and 1 KiB: a handful of negative answers fit
sed -e 's/workers: 2/workers: 1/' -e '/http-listen/a\    cache-size: 1k' "$T/plinkfwd.conf" >"$T/tiny.conf"
ok "plinkfwd starts with cache-size 1k" start_plinkfwd "$T/tiny.conf"
get /metrics
e1=$(metric "$H_BODY" 'plinkfwd_cache_evictions_total')
is "$e1" 0 "tiny cache: no eviction yet"
for i in $(seq 1 20); do q "nx$i.lab.test" A; done
get /metrics
e2=$(metric "$H_BODY" 'plinkfwd_cache_evictions_total')
entries=$(metric "$H_BODY" 'plinkfwd_cache_entries')
ok "tiny cache: evictions rose (to $e2)" test "$e2" -ge 10
is "$((e2 + entries))" 20 "tiny cache: every answer stored is either still there or was evicted"
ok "tiny cache: usage within the limit" test "$(metric "$H_BODY" 'plinkfwd_cache_bytes')" -le 1024
stop_plinkfwd

# ------------------------------------------------------------ bearer token (http-token-file)
TOKEN=tok-$$-$RANDOM$RANDOM
printf '  %s  \n# anything after the first line is ignored\n' "$TOKEN" >"$T/token"
sed -e '/http-listen/a\    http-token-file: '"$T/token" "$T/plinkfwd.conf" >"$T/token.conf"
# gett PATH [CURL-ARGS...]  -> H_CODE, H_BODY, H_HEAD (response headers)
gett() {
	local p=$1
	shift
	H_BODY=$(curl -sS --max-time 5 -D "$T/head.txt" -o - -w '\n%{http_code}' "$@" "$URL$p" 2>&1)
	H_CODE=${H_BODY##*$'\n'}
	H_BODY=${H_BODY%$'\n'*}
	H_HEAD=$(tr -d '\r' <"$T/head.txt")
}
mark=$(log_mark)
ok "plinkfwd starts with http-token-file" start_plinkfwd "$T/token.conf"
for p in / /status.json /metrics; do
	gett "$p"
	is "$H_CODE" 401 "token: $p without it: 401"
	like "$H_HEAD" '^WWW-Authenticate: Bearer realm="plinkfwd"$' "token: $p without it: WWW-Authenticate: Bearer"
	gett "$p" -H "Authorization: Bearer wrong-$TOKEN"
	is "$H_CODE" 401 "token: $p with a wrong one: 401"
	like "$H_HEAD" '^WWW-Authenticate: Bearer .*error="invalid_token"' "token: $p with a wrong one: invalid_token"
	gett "$p" -H "Authorization: Bearer $TOKEN"
	is "$H_CODE" 200 "token: $p with it: 200"
done
gett /status.json -H "Authorization: Bearer ${TOKEN%?}"
is "$H_CODE" 401 "token: a prefix of it is refused"
gett /metrics -H "Authorization: bearer $TOKEN"
is "$H_CODE" 200 "token: the scheme in any case (RFC 7235)"
gett /metrics -H "Authorization: Basic $TOKEN"
is "$H_CODE" 401 "token: another scheme is refused"
gett /
like "$H_BODY" '<title>plinkfwd status</title>' "token: the 401 of / still carries the page (its script sends the token)"
unlike "$H_BODY" 'privatelink' "token: ... and no data"
like "$H_HEAD" "^Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline';" \
	"the page: a Content-Security-Policy that allows its own inline code and nothing from elsewhere"
for p in /healthz /readyz; do
	gett "$p"
	is "$H_CODE" 200 "token: $p stays open"
done
wait_log 'need the bearer token of http-token-file' 5 "$mark"
is "$?" 0 "token: the start-up log says the paths need it"
unlike "$(cat "$PLINKFWD_LOG")" "$TOKEN" "token: never logged"
unlike "$(cat "$PLINKFWD_LOG")" 'is not a loopback address' "token: no warning on loopback"

# a new token on reload
OLD=$TOKEN
TOKEN=new-$$-$RANDOM
printf '%s\n' "$TOKEN" >"$T/token"
mark=$(log_mark)
sighup_plinkfwd
ok "token: reloaded" wait_log 'reloaded ' 5 "$mark"
gett /metrics -H "Authorization: Bearer $TOKEN"
is "$H_CODE" 200 "token: after a reload the new token is accepted"
gett /metrics -H "Authorization: Bearer $OLD"
is "$H_CODE" 401 "token: ... and the old one refused"
# an unreadable token file on reload: the previous token stays
chmod 000 "$T/token"
mv "$T/token" "$T/token.moved"
mark=$(log_mark)
sighup_plinkfwd
ok "token: reloaded with the token file gone" wait_log 'reloaded ' 5 "$mark"
gett /metrics -H "Authorization: Bearer $TOKEN"
is "$H_CODE" 200 "token: a token file that cannot be read keeps the previous token"
gett /metrics
is "$H_CODE" 401 "token: ... and the page stays closed"
ok "token: the error is logged" wait_log "http-token-file $T/token: .*the previous token stays" 5 "$mark"
unlike "$(cat "$PLINKFWD_LOG")" "$TOKEN|$OLD" "token: never logged, after reloads either"
stop_plinkfwd

# an empty token file: no start
: >"$T/token"
mark=$(log_mark)
"$PLINKFWD" -f -c "$T/token.conf" >>"$PLINKFWD_LOG" 2>&1 &
wait $!
isnt "$?" 0 "token: an empty token file stops the start-up"
like "$(log_since "$mark")" "http-token-file $T/token: no token in its first line" "token: ... saying why"

# a non-loopback http-listen without a token: a warning (0.0.0.0 in this
# namespace still reaches nothing but lo)
sed -e "s/http-listen: 127.0.0.1@$HPORT/http-listen: 0.0.0.0@$HPORT/" "$T/plinkfwd.conf" >"$T/any.conf"
mark=$(log_mark)
ok "plinkfwd starts with http-listen on 0.0.0.0" start_plinkfwd "$T/any.conf"
ok "warning: not a loopback address and no token" \
	wait_log "http-listen 0.0.0.0@$HPORT is not a loopback address and no http-token-file is set" 5 "$mark"
stop_plinkfwd

# ------------------------------------------------------------ healthz before/after ARM zones are synced
if ! command -v openssl >/dev/null 2>&1; then
	skip "/healthz with ARM zones" "openssl missing (fake ARM needs a CA)"
	done_testing
fi
ok "fake ARM server starts" arm_start_fake
ok "a private DNS zone in ARM" arm_ctl '{"op":"add_zone","sub":"'$ARM_SUB'","rg":"rg-net","zone":"privatelink.blob.core.windows.net","a":{"mystorage":"10.1.2.3"},"ttl":300}'
# ARM denies the listing (403 is not retried): the first round fails and
# no zone has data yet, the case of a new instance without its role assignment.
ok "ARM refuses the zone listing" arm_ctl '{"op":"fail","match":"privateDnsZones","count":-1,"status":403,"code":"AuthorizationFailed","message":"no role assignment"}'
arm_conf "$T/arm.conf" "@http-listen: 127.0.0.1@$HPORT" "interval: 3600" "max-retries: 0"
mark=$(log_mark)
ok "plinkfwd starts with an arm: clause" start_plinkfwd "$T/arm.conf"
ok "first sync round ends (with errors)" arm_wait_sync "$mark"
get /healthz
is "$H_CODE" 503 "/healthz: 503 while no ARM zone has data"
like "$H_BODY" 'arm: no zone synced yet' "/healthz: the reason"
get /readyz
is "$H_CODE" 503 "/readyz: 503 as well"
get /metrics
is "$(metric "$H_BODY" 'plinkfwd_healthy')" 0 "plinkfwd_healthy 0"
is "$(metric "$H_BODY" 'plinkfwd_arm_sync_rounds_failed_total')" 1 "failed sync round counted"

ok "ARM allows the listing again" arm_ctl '{"op":"clear_faults"}'
mark=$(log_mark)
before_sync=$(date +%s)
arm_sigusr1
ok "the next sync round completes" arm_wait_sync "$mark"
get /healthz
is "$H_CODE:$H_BODY" "200:ok" "/healthz: 200 once the zones are synced"
get /readyz
is "$H_CODE" 200 "/readyz: 200 after a successful round"
get /metrics
is "$(metric "$H_BODY" 'plinkfwd_zone_records{zone="privatelink.blob.core.windows.net.",source="arm"}')" 2 \
	"synced zone's records (SOA + A)"
like "$(metric "$H_BODY" 'plinkfwd_zone_sync_age_seconds{zone="privatelink.blob.core.windows.net."}')" '^[0-9]+$' \
	"seconds since the last sync per synced zone"
is "$(metric "$H_BODY" 'plinkfwd_arm_sync_rounds_total')" 2 "two sync rounds"
# per zone: the round that failed the zone list touched no zone yet; the
# second one listed it
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_sync_attempts_total{zone="privatelink.blob.core.windows.net."}')" 1 \
	"per zone: one listing"
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_sync_failures_total{zone="privatelink.blob.core.windows.net."}')" 0 \
	"per zone: no failure"
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_record_sets{zone="privatelink.blob.core.windows.net."}')" 2 \
	"per zone: record sets (SOA and A)"
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_served{zone="privatelink.blob.core.windows.net."}')" 1 "per zone: served"
last_ok=$(metric "$H_BODY" 'plinkfwd_arm_zone_last_success_timestamp_seconds{zone="privatelink.blob.core.windows.net."}')
ok "per zone: last success timestamp is that of the round just run ($before_sync <= $last_ok <= now)" \
	test "${last_ok:-0}" -ge "$before_sync" -a "${last_ok:-0}" -le "$(date +%s)"

# a 429 on the zone's records (max-retries is 0 here: the listing fails),
# then malformed JSON: two failures in a row, the last good copy kept
ok "ARM throttles the zone's record listing once" arm_ctl '{"op":"fail","match":"privatelink.blob.core.windows.net/ALL","count":1,"status":429,"retry_after":1}'
mark=$(log_mark)
arm_sigusr1
ok "the throttled round ends" arm_wait_sync "$mark"
get /metrics
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_throttled_total{zone="privatelink.blob.core.windows.net."}')" 1 \
	"per zone: the 429 counted"
is "$(metric "$H_BODY" 'plinkfwd_arm_throttled_total')" 1 "the 429 counted overall too, retried or not"
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_sync_failures_total{zone="privatelink.blob.core.windows.net."}')" 1 \
	"per zone: a 429 without retries left is a failed listing"
ok "ARM sends malformed JSON for the zone" arm_ctl '{"op":"fail","match":"privatelink.blob.core.windows.net/ALL","count":-1,"malformed":true}'
sleep 1 # so that the age of the last good copy is at least a second
mark=$(log_mark)
arm_sigusr1
ok "the round with a bad zone ends" arm_wait_sync "$mark"
get /metrics
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_sync_failures_total{zone="privatelink.blob.core.windows.net."}')" 2 \
	"per zone: the failed listings counted"
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_consecutive_failures{zone="privatelink.blob.core.windows.net."}')" 2 \
	"per zone: two failures in a row"
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_sync_attempts_total{zone="privatelink.blob.core.windows.net."}')" 3 \
	"per zone: three listings"
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_last_success_timestamp_seconds{zone="privatelink.blob.core.windows.net."}')" \
	"$last_ok" "per zone: the last success is still that of the good round"
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_served{zone="privatelink.blob.core.windows.net."}')" 1 \
	"per zone: still served (the last good copy)"
ok "per zone: the age of the copy served grows" test "$(metric "$H_BODY" 'plinkfwd_zone_sync_age_seconds{zone="privatelink.blob.core.windows.net."}')" -ge 1
ok "ARM recovers" arm_ctl '{"op":"clear_faults"}'
mark=$(log_mark)
arm_sigusr1
ok "the next round completes" arm_wait_sync "$mark"
get /metrics
is "$(metric "$H_BODY" 'plinkfwd_arm_zone_consecutive_failures{zone="privatelink.blob.core.windows.net."}')" 0 \
	"per zone: a good listing resets the failures in a row"
printf '%s\n' "$H_BODY" >"$T/metrics-arm.txt"
like "$(python3 "$T/parse_metrics.py" "$T/metrics-arm.txt" 2>&1)" '^ok ' "/metrics with per-zone ARM families parses"
ok "ARM metrics pass promtool" sh -c "! command -v promtool >/dev/null || { curl -s '$URL/metrics' | promtool check metrics; }"

done_testing
