# t_metric_names.sh -- every metric name used by an expression of
# contrib/prometheus/plinkfwd.rules.yml and of contrib/grafana/plinkfwd.json
# is one the daemon exports.  The list is not written down anywhere: it is
# scraped from /metrics of a real plinkfwd started here with a zone file, an
# upstream group (a real NSD on loopback, asked once so that the per-server
# series exist), a query log and an arm: clause synced from the test ARM
# server (tests/arm/), so that every family the daemon can print is there.
# Histogram series (_bucket, _sum, _count) count as their family.  Runs in
# the integration tests' network namespace (tests/integration/lib.sh).
. "$(dirname "$0")/../integration/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"

HPORT=$((PORT + 1000))
UPSTREAM=127.0.0.2@5301
CHECK="python3 $SRCDIR/tests/contrib/monitoring_check.py"
RULES=$SRCDIR/contrib/prometheus/plinkfwd.rules.yml
DASH=$SRCDIR/contrib/grafana/plinkfwd.json

# ------------------------------------------------------------ the checker itself
# it must name what is wrong, or the test below could pass on nothing
printf '# TYPE plinkfwd_answers_total counter\n# TYPE plinkfwd_answer_duration_seconds histogram\n' >"$T/fake.metrics"
is "$($CHECK extract 'sum by (rcode, source) (rate(plinkfwd_answers_total{rcode="SERVFAIL",instance=~"$instance"}[$__rate_interval])) / ignoring(x) group_left sum(x_total offset 5m) > 1e3')" \
	"plinkfwd_answers_total x_total" "extract: metric names only (no labels, functions, keywords, variables, numbers)"
is "$($CHECK extract 'label_values(plinkfwd_build_info{job="a"}, instance)')" "plinkfwd_build_info" \
	"extract: a Grafana label_values() query names its metric, not its label"
is "$($CHECK extract 'histogram_quantile(0.9, sum by (le) (rate(plinkfwd_answer_duration_seconds_bucket[5m])))')" \
	"plinkfwd_answer_duration_seconds_bucket" "extract: histogram_quantile over buckets"
cat >"$T/bad.rules.yml" <<'BAD'
groups:
  - name: bad
    rules:
      - alert: Typo
        expr: rate(plinkfwd_answer_total[5m]) > 0
      - alert: CounterBucket
        expr: |
          plinkfwd_answers_total_bucket > 0
            and plinkfwd_answer_duration_seconds_count > 0
BAD
echo '{"panels": [{"title": "p", "targets": [{"refId": "A", "expr": "time()"}]}]}' >"$T/bad.json"
out=$($CHECK names "$T/fake.metrics" "$T/bad.rules.yml" "$T/bad.json")
like "$out" "bad rule Typo: unknown plinkfwd_answer_total" "names: a misspelt metric is reported"
like "$out" "bad rule CounterBucket: unknown plinkfwd_answers_total_bucket$" \
	"names: _bucket only for a histogram; a histogram's _count is known"
like "$out" "bad panel 'p' A: names no metric" "names: an expression that names no metric is reported"

# ------------------------------------------------------------ a daemon with every kind of metric
cat >"$T/lab.test.zone" <<'Z'
$ORIGIN lab.test.
$TTL 300
@       IN SOA  ns.lab.test. hostmaster.lab.test. 1 3600 600 86400 60
@       IN NS   ns
ns      IN A    192.0.2.53
www     IN A    192.0.2.80
Z
ok "NSD upstream starts" start_nsd "$UPSTREAM" lab.test="$T/lab.test.zone"
if ! command -v openssl >/dev/null 2>&1; then
	skip "metric names" "openssl missing (the test ARM server needs a CA)"
	done_testing
fi
ok "test ARM server starts" arm_start_fake
ok "a private DNS zone in ARM" arm_ctl '{"op":"add_zone","sub":"'"$ARM_SUB"'","rg":"rg-net","zone":"privatelink.blob.core.windows.net","a":{"mystorage":"10.1.2.3"},"ttl":300}'
arm_conf "$T/plinkfwd.conf" "@http-listen: 127.0.0.1@$HPORT" "@query-log: $T/queries.log" "interval: 3600"
cat >>"$T/plinkfwd.conf" <<EOF
upstream: lab
    server: $UPSTREAM
forward: lab.test
    to: lab
zone: privatelink.openai.azure.com
    file: $SRCDIR/zones/privatelink.openai.azure.com.zone
EOF
mark=$(log_mark)
ok "plinkfwd starts with a zone, an upstream group, a query log and arm:" start_plinkfwd "$T/plinkfwd.conf"
ok "the first ARM sync round ends" arm_wait_sync "$mark"
q www.lab.test A
is "$Q_STATUS" NOERROR "a forwarded answer (the upstream server now has series)"
q contoso-foundry.privatelink.openai.azure.com A
is "$Q_STATUS" NOERROR "a local answer"
ok "scrape /metrics" sh -c "curl -sS --max-time $WAIT_FLOOR -o '$T/metrics.txt' http://127.0.0.1:$HPORT/metrics"
M=$(cat "$T/metrics.txt")
# the scrape has what the comparison needs: families of every kind
like "$M" '^plinkfwd_arm_zone_served\{zone="privatelink\.blob\.core\.windows\.net\."\} 1$' "scrape: the synced zone"
like "$M" '^plinkfwd_zone_records\{zone="privatelink\.openai\.azure\.com\.",source="file"\} [1-9]' "scrape: the zone file"
like "$M" '^plinkfwd_upstream_server_sent_total\{server="127\.0\.0\.2@5301"\} [1-9]' "scrape: the upstream server"
like "$M" '^plinkfwd_upstream_answers_total\{group="lab"\} 1$' "scrape: the upstream group"
like "$M" '^# TYPE plinkfwd_querylog_lines_total counter$' "scrape: the query log"
like "$M" '^# TYPE plinkfwd_answer_duration_seconds histogram$' "scrape: a histogram"

# ------------------------------------------------------------ every name in every expression
$CHECK names "$T/metrics.txt" "$RULES" "$DASH" >"$T/names.out" 2>&1
nrules=$(grep -c '^ok rule ' "$T/names.out")
ndash=$(grep -c -v '^ok rule \|^bad rule ' "$T/names.out")
ok "the rules' expressions were read ($nrules)" test "$nrules" -ge 12
ok "the dashboard's expressions were read ($ndash)" test "$ndash" -ge 40
while IFS= read -r line; do
	case $line in
	ok\ *) pass "${line#ok }" ;;
	*) fail "${line#bad }" ;;
	esac
done <"$T/names.out"
stop_plinkfwd
is "$PLINKFWD_RC" 0 "plinkfwd stops cleanly"
done_testing
