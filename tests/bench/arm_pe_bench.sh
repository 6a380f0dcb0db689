# arm_pe_bench.sh -- private endpoint sync benchmark against the fake ARM
# server (tests/arm): 5,000 private endpoints spread over 50 subscriptions
# (100 each, one FQDN each, all Approved), synced
#   1. per subscription: 50 endpoint lists (and 50 empty zone lists), paged
#      at 100 endpoints per page as ARM does;
#   2. through Resource Graph (discovery: resource-graph over the tenant):
#      one zone query and the endpoint query, 1,000 rows per page;
# each from a fresh start with an empty state-dir: time from sync start to
# published (the daemon's "sync done in N ms"), requests the fake server
# answered, daemon RSS after the sync and its peak.  Then DNS while syncs
# run back to back (SIGUSR1 in a loop) against idle: dnsperf on endpoint
# names, queries per second and CPU per query of the worker thread.
#
# Environment: as tests/bench/run.sh (top_srcdir, top_builddir or PLINKFWD,
# BENCH_SECONDS default 10, BENCH_OUT).  Results: markdown on stdout and in
# $BENCH_OUT/arm_pe_results.md.  Loopback only, in a private network namespace.
export PLINKFWD_KEEP_TMP=${PLINKFWD_KEEP_TMP:-0}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
export top_srcdir
. "$top_srcdir/tests/integration/lib.sh"
. "$SRCDIR/tests/arm/lib_arm.sh"
. "$SRCDIR/tests/bench/lib.sh"

SECS=${BENCH_SECONDS:-10}
OUT=${BENCH_OUT:-$BUILDDIR/tests/bench/out}
mkdir -p "$OUT"
RES=$OUT/arm_pe_results.md
NSUB=50
PER=100

rss_kb() { sed -n "s/^$2:[[:space:]]*\\([0-9]*\\) kB/\\1/p" "/proc/$1/status"; }

worker_ticks() {
	local pid=$1 t sum=0 f
	for t in /proc/"$pid"/task/*; do
		[ "${t##*/}" = "$pid" ] && continue
		f=$(sed 's/^.*) //' "$t/stat")
		set -- $f
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}

sync_ms() { log_since "$1" | sed -n 's/.*arm: sync done in \([0-9]*\) ms.*/\1/p' | tail -n 1; }
# subscription 0 is the one arm_conf always writes
sub_id() { if [ "$1" -eq 0 ]; then echo "$ARM_SUB"; else printf '00000000-0000-0000-0000-0000000001%02d' "$1"; fi; }

datasets=()
for ((i = 0; i < NSUB; i++)); do
	datasets+=(--dataset "pe-many:$(sub_id "$i"):rg-pe:$PER:$((i * PER))")
done

run_case() { # NAME CONF-KEYS...
	local name=$1 mark ms reqs before
	shift
	arm_conf "$T/bench.conf" "interval: 3600" "@workers: 1" "private-endpoints: yes" "max-inflight: 4" "$@"
	rm -rf "$T/state"
	mkdir -p "$T/state"
	before=$(wc -l <"$ARM_REQLOG")
	mark=$(log_mark)
	start_plinkfwd "$T/bench.conf" || exit 1
	arm_wait_sync "$mark" 600 || { echo "sync did not finish for $name" >&2; exit 1; }
	ms=$(sync_ms "$mark")
	reqs=$(tail -n +$((before + 1)) "$ARM_REQLOG" | grep -c '"kind": "\(arm\|rg\)"')
	printf '| %s | %s | %s | %s | %s |\n' "$name" "$ms" "$reqs" "$(($(rss_kb "$PLINKFWD_PID" VmRSS) / 1024))" \
		"$(($(rss_kb "$PLINKFWD_PID" VmHWM) / 1024))" >>"$RES"
}

arm_start_fake "${datasets[@]}" --set pe_page=100 || exit 1
{
	echo "## Private endpoint sync benchmark"
	echo
	echo "$(nproc) CPUs, $(uname -r); fake ARM over HTTPS on loopback; $((NSUB * PER)) Approved private"
	echo "endpoints in $NSUB subscriptions ($PER each, one FQDN each); ARM pages of 100 endpoints, Resource"
	echo "Graph pages of 1,000 rows; max-inflight 4; a fresh daemon and state-dir per row."
	echo
	echo "| discovery | sync start to published (ms) | requests | RSS after (MiB) | peak RSS (MiB) |"
	echo "|---|---|---|---|---|"
} >"$RES"

subs=()
for ((i = 1; i < NSUB; i++)); do subs+=("subscription: $(sub_id "$i")"); done
run_case "per subscription ($NSUB endpoint lists + $NSUB zone lists)" "${subs[@]}"
stop_plinkfwd
run_case "Resource Graph (tenant)" "-subscription" "discovery: resource-graph"

# ------------------------------------------------------------ DNS while syncs run
for i in 0 777 1500 2999 4321 4999; do
	echo "acct$i.privatelink.openai.azure.com A"
done >"$T/queries"
perf_run() {
	local t0 t1
	t0=$(worker_ticks "$PLINKFWD_PID")
	dnsperf -s 127.0.0.1 -p "$PORT" -d "$T/queries" -l "$SECS" -c 4 -t 1 >"$T/perf.out" 2>&1
	t1=$(worker_ticks "$PLINKFWD_PID")
	bench_dnsperf_parse "$(cat "$T/perf.out")"
	PERF_QPS=$DP_QPS
	PERF_DONE=$DP_COMPLETED
	PERF_LOST=$DP_LOST
	PERF_US=$(awk -v d=$((t1 - t0)) -v q="$PERF_DONE" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.2f", q ? d / hz * 1e6 / q : 0 }')
}
perf_run
idle="| idle | $PERF_QPS | $PERF_US | $PERF_LOST |"
mark=$(log_mark)
# one round after another for the whole run: SIGUSR1 during a round queues
# exactly one more (docs/bad-input.md)
(
	end=$(($(now_ms) + SECS * 1000 + 500))
	while [ "$(now_ms)" -lt "$end" ]; do
		kill -USR1 "$PLINKFWD_PID" 2>/dev/null
		sleep 0.2
	done
) &
loop=$!
perf_run
wait "$loop"
rounds=$(log_since "$mark" | grep -c 'arm: sync done in')
busy="| Resource Graph syncs back to back ($rounds rounds in the run) | $PERF_QPS | $PERF_US | $PERF_LOST |"
{
	echo
	echo "DNS (dnsperf, ${SECS} s each, 4 clients, unlimited rate, endpoint names; CPU of the worker thread only):"
	echo
	echo "| state | queries/s | worker CPU per query (us) | lost |"
	echo "|---|---|---|---|"
	echo "$idle"
	echo "$busy"
} >>"$RES"
stop_plinkfwd
cat "$RES"
