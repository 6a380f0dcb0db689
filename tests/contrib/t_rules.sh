#!/bin/sh
# t_rules.sh -- contrib/: the alert rules pass `promtool check rules`, their
# unit tests pass `promtool test rules`, every alert has a runbook annotation
# naming a section that docs/troubleshooting.md has, and every alert is
# tested firing and then cleared; the Grafana dashboard is JSON whose
# expressions all parse as PromQL.  (That every metric they name is one the
# daemon exports is t_metric_names.sh.)  To show that the unit tests
# bite, each alert in turn is renamed in a copy of the rules: the tests must
# then fail.  No daemon, no network; promtool is Debian's `prometheus`
# package (its points are skipped, with the reason, when it is missing).
S=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
RULES=$S/contrib/prometheus/plinkfwd.rules.yml
TESTS=$S/contrib/prometheus/plinkfwd.rules.test.yml
CHECK="python3 $S/tests/contrib/monitoring_check.py"
n=0
failed=0
ok() { # DESC CMD...
	desc=$1
	shift
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		printf '%s\n' "$out" | sed 's/^/# /'
		failed=1
	fi
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

W=$(mktemp -d "${TMPDIR:-/tmp}/plinkfwd-t_rules.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT INT TERM

$CHECK alerts "$RULES" >"$W/alerts" 2>"$W/err"
ok "the rules file reads: $(wc -l <"$W/alerts") alerts" sh -c "test -s '$W/alerts' && ! test -s '$W/err'"
$CHECK anchors "$S/docs/troubleshooting.md" >"$W/anchors"
$CHECK coverage "$TESTS" >"$W/coverage"

ok "contrib/grafana/plinkfwd.json is JSON" python3 -m json.tool "$S/contrib/grafana/plinkfwd.json"

# the alerts the issue asks for, each present
for a in PlinkfwdARMSyncFailing PlinkfwdARMSyncStale PlinkfwdZoneNearExpiry PlinkfwdUpstreamGroupDown \
	PlinkfwdUpstreamCapped PlinkfwdAzureDNSNearLimit PlinkfwdHighServfailRatio PlinkfwdServeStale \
	PlinkfwdReloadFailed; do
	ok "alert $a is defined" grep -q "^$a	" "$W/alerts"
done

while IFS='	' read -r name runbook; do
	ok "$name: runbook points at docs/troubleshooting.md#..." \
		sh -c 'case $1 in docs/troubleshooting.md#?*) exit 0 ;; *) echo "runbook: \"$1\""; exit 1 ;; esac' sh "$runbook"
	ok "$name: docs/troubleshooting.md has the section ${runbook#*#}" grep -qxF "${runbook#*#}" "$W/anchors"
	ok "$name: a unit test expects it firing" grep -q "^$name	yes	" "$W/coverage"
	ok "$name: a later unit test expects it cleared" grep -q "^$name	yes	yes$" "$W/coverage"
done <"$W/alerts"

if ! command -v promtool >/dev/null 2>&1; then
	skip "promtool check rules" "promtool not installed (Debian package prometheus)"
	skip "promtool test rules" "promtool not installed (Debian package prometheus)"
	skip "the dashboard's expressions parse" "promtool not installed (Debian package prometheus)"
else
	ok "promtool check rules" promtool check rules "$RULES"
	ok "promtool test rules: every alert fires and clears as expected" promtool test rules "$TESTS"
	$CHECK dashboard-rules "$S/contrib/grafana/plinkfwd.json" >"$W/dashboard.rules.yml"
	ok "every PromQL expression of the Grafana dashboard parses ($(grep -c 'record:' "$W/dashboard.rules.yml") of them)" \
		sh -c "grep -q 'record:' '$W/dashboard.rules.yml' && promtool check rules '$W/dashboard.rules.yml'"
	# the tests must fail when an alert is missing: rename each in a copy
	while IFS='	' read -r name runbook; do
		rm -rf "$W/m" && mkdir "$W/m"
		sed "s/^\\( *- alert: \\)$name\$/\\1Renamed$name/" "$RULES" >"$W/m/plinkfwd.rules.yml"
		cp "$TESTS" "$W/m/"
		ok "without $name the unit tests fail" \
			sh -c '! grep -q "alert: $1\$" "$2/plinkfwd.rules.yml" && ! (cd "$2" && promtool test rules plinkfwd.rules.test.yml)' \
			sh "$name" "$W/m"
	done <"$W/alerts"
fi

echo "1..$n"
exit $failed
