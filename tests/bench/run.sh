# run.sh -- dnsperf benchmark of plinkfwd against unbound (make bench).
#
# Two workloads, each against plinkfwd (workers: 1) and unbound (num-threads: 1):
#   local    answers from the demo zones in zones/ (plinkfwd: zone:, unbound:
#            auth-zone: with the same files), a mix of names and types from
#            those files plus 10% names that do not exist;
#   forward  1000 names forwarded to one NSD on loopback serving forward.test.
#            Both servers cache, so each runs twice: as configured (answers
#            from the cache after the first pass) and with the cache off
#            (plinkfwd cache-size: 0, unbound cache-max-ttl: 0).
#
# dnsperf is pinned to CPU 0, the server under test to CPU 1 (NSD shares CPU 0
# with dnsperf: there is no third CPU to give it on a 2-CPU machine).
# Server CPU time is utime + stime of its process from /proc/PID/stat, read
# around the measured dnsperf run, divided by the queries completed.
#
# Environment: top_srcdir (default: two levels up), top_builddir or PLINKFWD,
# BENCH_SECONDS (default 10), BENCH_CLIENTS (default 4), BENCH_OUT (default
# $top_builddir/tests/bench/out).  Results: markdown on stdout and in
# $BENCH_OUT/results.md.  Everything stays on loopback, in a private network
# namespace when one can be created.

set -u
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init run.sh "dnsperf on CPU 0, server on CPU 1, NSD on CPU 0" dnsperf unbound nsd ldns-read-zone taskset

# ------------------------------------------------------------ inputs
bench_local_queries || exit 1
cp "$W/local.queries" "$OUT/local.queries"

# ------------------------------------------------------------ servers
# measure LABEL SERVER QUERYFILE  -> appends a table row to $W/rows
measure() {
	local label=$1 server=$2 fail
	bench_dnsperf "$3" "$3" "$label" "$server"
	# answers that are errors (SERVFAIL, REFUSED, ...) are not "answered"
	fail=$(printf '%s\n' "$DP_OUT" | sed -n 's/.*Response codes: *//p' | tr ',' '\n' |
		awk '$1 != "NOERROR" && $1 != "NXDOMAIN" { n += $2 } END { print n + 0 }')
	awk -v l="$label" -v s="$server" -v c="${DP_COMPLETED:-0}" -v lo="${DP_LOST:-?}" -v q="${DP_QPS:-0}" \
		-v lat="${DP_LAT:-0}" -v f="$fail" -v d="$DP_TICKS" -v hz="$CLK_TCK" -v secs="$SECS" 'BEGIN {
		cpu = (c - f > 0) ? d / hz / (c - f) * 1e6 : 0
		printf "%s\t%s\t%.0f\t%.1f\t%.2f\t%d\t%s\t%d\t%.0f%%\n", l, s, q, lat * 1e6, cpu, c, lo, f, d / hz / secs * 100
	}' >>"$W/rows"
}

: >"$W/rows"

# ---- workload 1: local-zone answers
{
	printf 'server:\n    listen: 127.0.0.1@%s\n    workers: 1\n    cloud: none\n    log-level: warning\n' "$PORT"
	while read -r z f; do printf 'zone: %s\n    file: %s\n' "$z" "$f"; done <<<"$ZONES"
} >"$W/plinkfwd-local.conf"
bench_start_plinkfwd "$W/plinkfwd-local.conf" && measure local plinkfwd "$W/local.queries"
bench_stop_server

auth=""
while read -r z f; do
	auth="${auth}auth-zone:
    name: \"$z\"
    zonefile: \"$f\"
    for-downstream: yes
    for-upstream: no
    fallback-enabled: no
"
done <<<"$ZONES"
bench_start_unbound "$auth" && measure local unbound "$W/local.queries"
bench_stop_server

# ---- workload 2: forwarded answers
mkdir -p "$W/nsd"
{
	bench_nsd_conf "$W/nsd" "$NSD_ADDR"
	printf 'zone:\n    name: forward.test\n    zonefile: "%s"\n' "$BENCH_DIR/forward.test.zone"
} >"$W/nsd/nsd.conf"
bench_start_nsd nsd "$W/nsd" "$NSD_ADDR" || exit 1

# The per-server caps protect 168.63.129.16 (1000 qps per VM); they would
# turn most of this load into SERVFAIL, so the benchmark lifts them.
cat >"$W/plinkfwd-forward.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: none
    log-level: warning
    upstream-max-qps: 0
    upstream-max-outstanding: 0
upstream: default
    server: $NSD_ADDR@$NSD_PORT
EOF
bench_start_plinkfwd "$W/plinkfwd-forward.conf" && measure forward plinkfwd "$BENCH_DIR/forward.queries"
bench_stop_server
sed 's/^server:$/server:\n    cache-size: 0/' "$W/plinkfwd-forward.conf" >"$W/plinkfwd-forward-nocache.conf"
bench_start_plinkfwd "$W/plinkfwd-forward-nocache.conf" && measure forward plinkfwd-nocache "$BENCH_DIR/forward.queries"
bench_stop_server

fwd="forward-zone:
    name: \".\"
    forward-addr: $NSD_ADDR@$NSD_PORT"
bench_start_unbound "$fwd" && measure forward unbound "$BENCH_DIR/forward.queries"
bench_stop_server
bench_start_unbound "server:
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    prefetch: no
$fwd" && measure forward unbound-nocache "$BENCH_DIR/forward.queries"
bench_stop_server

# ------------------------------------------------------------ report
{
	bench_header "plinkfwd vs unbound, dnsperf on loopback" "; dnsperf $(dnsperf -h 2>&1 | sed -n 's/^Version //p')"
	echo "- local: $(wc -l <"$W/local.queries") queries from the demo zones (10% missing names); forward: 1000 names via NSD"
	echo
	echo "| workload | server | QPS | avg latency (µs) | server CPU per answer (µs) | completed | lost | errors | server CPU busy |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$W/rows"
	echo
	echo "| workload: plinkfwd / unbound | QPS ratio | CPU per answer ratio |"
	echo "|---|---:|---:|"
	awk -F'\t' '
		{ qps[$1 "/" $2] = $3; cpu[$1 "/" $2] = $5 }
		END {
			n = split("local/plinkfwd/unbound forward/plinkfwd/unbound forward/plinkfwd-nocache/unbound-nocache", ref, " ")
			for (i = 1; i <= n; i++) {
				split(ref[i], p, "/")
				a = p[1] "/" p[2]
				ref[i] = p[1] "/" p[3]
				if (!(a in qps) || !(ref[i] in qps) || qps[ref[i]] == 0 || cpu[ref[i]] == 0) continue
				printf "| %s: %s / %s | %.2f | %.2f |\n", p[1], p[2], p[3], qps[a] / qps[ref[i]], cpu[a] / cpu[ref[i]]
			}
		}' "$W/rows"
	echo
	echo "Both servers cache: in the forward rows they answer from the cache after the first pass"
	echo "over the 1000 names. The -nocache rows send every query to NSD (plinkfwd: cache-size: 0;"
	echo "unbound: cache-max-ttl: 0), which shares CPU 0 with dnsperf."
	echo "\"errors\" counts answers other than NOERROR and NXDOMAIN (SERVFAIL, REFUSED, ...);"
	echo "they are included in completed and QPS, so a row with errors is not a fair comparison."
	echo "\"server CPU busy\" is the server's CPU time over the run time: well below 100% means the"
	echo "single dnsperf CPU, not the server, set the QPS; compare CPU per answer then."
} | tee "$OUT/results.md"
