# resolve.sh -- dnsperf benchmark of the cache and splicing paths, plinkfwd
# against unbound doing the same job (make bench-resolve).
#
# Workloads, each against plinkfwd (workers: 1) and unbound (num-threads: 1),
# both forwarding to one NSD on loopback:
#   cache-hit     1000 names under a wildcard zone, answered from the cache
#                 (the 2 s warm-up fetches each name once);
#   splice-hit    1000 Azure-style names whose public answer
#                 (saN.blob.core.windows.net CNAME saN.privatelink.blob...)
#                 enters privatelink.blob.core.windows.net, whose private
#                 data a second NSD serves (plinkfwd: the catalogue sends
#                 it to the azure group; unbound: a forward-zone), answered
#                 from the cache as spliced answers.  The public NSD serves
#                 only the first CNAME (and a delegation): unbound takes a
#                 forwarder's complete chain as it is and would not splice
#                 it, so both servers must chase the target;
#   cache-miss    every query a new name (uN.wild.test, never asked before),
#                 so every answer costs one upstream round trip.
# Server CPU time is utime + stime of the server process from /proc/PID/stat
# around the measured dnsperf run, divided by the queries completed.
# dnsperf runs on CPU 0 (with NSD), the server under test on CPU 1.
#
# Environment: top_srcdir, top_builddir or PLINKFWD, BENCH_SECONDS (default
# 10), BENCH_CLIENTS (default 4), BENCH_OUT (default
# $top_builddir/tests/bench/out), BENCH_MISS_NAMES (unique names generated
# per cache-miss run, default 1500000).  Results: markdown on stdout and in
# $BENCH_OUT/resolve.md.  Everything stays on loopback, in a private network
# namespace when one can be created.

set -u
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init resolve.sh "dnsperf and NSD on CPU 0, server on CPU 1" dnsperf unbound nsd taskset
MISS_NAMES=${BENCH_MISS_NAMES:-1500000}
NSD2_ADDR=127.0.0.3
NACCT=1000

# ------------------------------------------------------------ zones and query files
SOA='@ IN SOA ns1.bench.test. hostmaster.bench.test. 1 3600 600 86400 300
@ IN NS ns1.bench.test.'
{
	echo "\$ORIGIN wild.test."
	echo "\$TTL 3600"
	echo "$SOA"
	echo "* IN A 192.0.2.1"
} >"$W/wild.test.zone"
{
	echo "\$ORIGIN blob.core.windows.net."
	echo "\$TTL 3600"
	echo "$SOA"
	echo "privatelink IN NS ns1.bench.test."
	awk -v n=$NACCT 'BEGIN { for (i = 1; i <= n; i++) printf "sa%d IN CNAME sa%d.privatelink.blob.core.windows.net.\n", i, i }'
} >"$W/blob.zone"
# the private side, on a second NSD (the "azure" group)
{
	echo "\$ORIGIN privatelink.blob.core.windows.net."
	echo "\$TTL 3600"
	echo "$SOA"
	awk -v n=$NACCT 'BEGIN { for (i = 1; i <= n; i++) printf "sa%d IN A 10.1.%d.%d\n", i, int(i / 250), i % 250 + 1 }'
} >"$W/privatelink-private.zone"

awk 'BEGIN { for (i = 1; i <= 1000; i++) printf "h%d.wild.test A\n", i }' >"$W/hit.queries"
awk -v n=$NACCT 'BEGIN { for (i = 1; i <= n; i++) printf "sa%d.blob.core.windows.net A\n", i }' >"$W/splice.queries"
# miss_file PREFIX  unique names, never asked before in this run
miss_file() {
	awk -v p="$1" -v n="$MISS_NAMES" 'BEGIN { for (i = 1; i <= n; i++) printf "%s%d.wild.test A\n", p, i }' >"$W/$1.queries"
	echo "$W/$1.queries"
}

# Debian builds NSD with response rate limiting: off, or the unique names of
# cache-miss (all one wildcard) are limited to 200 a second
NO_RRL=("rrl-ratelimit: 0" "rrl-whitelist-ratelimit: 0")
mkdir -p "$W/nsd" "$W/nsd2"
{
	bench_nsd_conf "$W/nsd" "$NSD_ADDR" "${NO_RRL[@]}"
	printf 'zone:\n    name: wild.test\n    zonefile: "%s"\n' "$W/wild.test.zone"
	printf 'zone:\n    name: blob.core.windows.net\n    zonefile: "%s"\n' "$W/blob.zone"
} >"$W/nsd/nsd.conf"
bench_start_nsd nsd "$W/nsd" "$NSD_ADDR" || exit 1
{
	bench_nsd_conf "$W/nsd2" "$NSD2_ADDR" "${NO_RRL[@]}"
	printf 'zone:\n    name: privatelink.blob.core.windows.net\n    zonefile: "%s"\n' "$W/privatelink-private.zone"
} >"$W/nsd2/nsd.conf"
bench_start_nsd nsd2 "$W/nsd2" "$NSD2_ADDR" || exit 1

# ------------------------------------------------------------ servers
start_plinkfwd() {
	cat >"$W/plinkfwd.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: AzureCloud
    log-level: warning
    max-pending: 8192
    # no caps: NSD on loopback is not 168.63.129.16
    upstream-max-qps: 0
    upstream-max-outstanding: 0
upstream: default
    server: $NSD_ADDR@$NSD_PORT
upstream: azure
    server: $NSD2_ADDR@$NSD_PORT
EOF
	bench_start_plinkfwd "$W/plinkfwd.conf"
}

start_unbound() {
	bench_start_unbound "server:
    outgoing-range: 8192
    num-queries-per-thread: 4096
    msg-cache-size: 64m
    rrset-cache-size: 64m
forward-zone:
    name: \"privatelink.blob.core.windows.net\"
    forward-addr: $NSD2_ADDR@$NSD_PORT
forward-zone:
    name: \".\"
    forward-addr: $NSD_ADDR@$NSD_PORT"
}

# measure LABEL SERVER WARMFILE QUERYFILE  -> a row in $W/rows
measure() {
	local label=$1 server=$2
	bench_dnsperf "$3" "$4" "$label" "$server"
	awk -v l="$label" -v s="$server" -v c="${DP_COMPLETED:-0}" -v lo="${DP_LOST:-?}" -v q="${DP_QPS:-0}" \
		-v lat="${DP_LAT:-0}" -v d="$DP_TICKS" -v hz="$CLK_TCK" -v secs="$SECS" 'BEGIN {
		cpu = (c > 0) ? d / hz / c * 1e6 : 0
		printf "%s\t%s\t%.0f\t%.1f\t%.2f\t%d\t%s\t%.0f%%\n", l, s, q, lat * 1e6, cpu, c, lo, d / hz / secs * 100
	}' >>"$W/rows"
}

# check SERVER  one spliced answer, to be sure both do the same job
check_splice() {
	local a
	a=$(dig @127.0.0.1 -p "$PORT" +short sa7.blob.core.windows.net A | tr '\n' ' ')
	echo "- $1 answers sa7.blob.core.windows.net A with: $a" >>"$W/notes"
}

: >"$W/rows"
: >"$W/notes"
for server in plinkfwd unbound; do
	"start_$server" || exit 1
	check_splice "$server"
	measure cache-hit "$server" "$W/hit.queries" "$W/hit.queries"
	measure splice-hit "$server" "$W/splice.queries" "$W/splice.queries"
	measure cache-miss "$server" "$(miss_file "w$server")" "$(miss_file "m$server")"
	rm -f "$W/w$server.queries" "$W/m$server.queries"
	bench_stop_server
done

# ------------------------------------------------------------ report
{
	bench_header "plinkfwd vs unbound: cache, splice and miss paths (dnsperf on loopback)"
	cat "$W/notes"
	echo
	echo "| workload | server | QPS | avg latency (µs) | server CPU per answer (µs) | completed | lost | server CPU busy |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$W/rows"
	echo
	echo "| workload | plinkfwd / unbound CPU per answer | target |"
	echo "|---|---:|---:|"
	awk -F'\t' '
		{ cpu[$1 "/" $2] = $5 }
		END {
			n = split("cache-hit:0.8 splice-hit:0.8 cache-miss:0.4", w, " ")
			for (i = 1; i <= n; i++) {
				split(w[i], p, ":")
				a = p[1] "/plinkfwd"; b = p[1] "/unbound"
				if (!(a in cpu) || !(b in cpu) || cpu[b] == 0) continue
				r = cpu[a] / cpu[b]
				printf "| %s | %.2f | <= %s %s |\n", p[1], r, p[2], (r <= p[2] + 0 ? "(met)" : "(missed)")
			}
		}' "$W/rows"
} | tee "$OUT/resolve.md"
