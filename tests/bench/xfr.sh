# xfr.sh -- zone transfer benchmark (make bench-xfr): plinkfwd against Knot
# serving the same zone in the same run.
#
#   axfr    AXFR of a 25,000-record zone (BENCH_XFR_RUNS times, default 5)
#           with kdig: wall time per transfer and the server's CPU time;
#   ixfr    the zone's next version differs in 10 records: IXFR from the
#           previous serial (Knot answers from its journal; plinkfwd keeps
#           no journal and answers with the whole zone, RFC 1995 sec. 4);
#   q1      dnsperf on the demo zones against plinkfwd (workers: 1): server
#           CPU per answer, alone, and while 4 AXFRs run back to back.  The
#           same thread serves both, so the daemon's CPU during the second
#           row includes the transfers' own; the AXFRs are therefore also
#           run alone for as long (the server's CPU per AXFR, with no
#           queries), each transfer completed inside the dnsperf window is
#           counted, and "net" CPU per answer is (daemon CPU - transfers
#           x CPU per AXFR alone) / answers: what the transfers cost the
#           queries, which is what the goal (at most 1.10x) is about.
#           CPU per answer also moves with the query rate (batching), so
#           the pair is run again at a fixed offered rate that both rows
#           sustain (BENCH_XFR_QPS, default 20000 qps): there the net CPU
#           per answer and the latency compare like with like.
#
# kdig and dnsperf on CPU 0, the server under test on CPU 1 (run.sh's
# pinning).  Wall times are what a secondary waits; CPU time is utime +
# stime of the server process (/proc/PID/stat) around the runs.  Results:
# markdown on stdout and in $BENCH_OUT/xfr.md.
set -u
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init xfr.sh "kdig/dnsperf on CPU 0, server on CPU 1" dnsperf knotd knotc kdig ldns-read-zone taskset

RUNS=${BENCH_XFR_RUNS:-5}
N=25000
ZONE=big.test
KPORT=5302

gen_zone() { # SERIAL CHANGED -> $W/zone-SERIAL (CHANGED: records 0..CHANGED-1 get new addresses)
	awk -v n=$N -v s="$1" -v c="$2" -v z=$ZONE 'BEGIN {
		print "$ORIGIN " z "."; print "$TTL 300"
		print "@ IN SOA ns." z ". hostmaster." z ". " s " 3600 300 86400 60"
		print "@ IN NS ns"; print "ns IN A 10.255.0.1"
		for (i = 0; i < n - 3; i++)
			printf "h%d IN A 10.%d.%d.%d\n", i, (i < c) ? 200 : int(i / 65536) % 256, int(i / 256) % 256, i % 256
	}' >"$W/zone-$1"
}
bench_local_queries || exit 1
gen_zone 1 0
gen_zone 2 10
cp "$W/zone-1" "$W/$ZONE.zone"
RR=$(ldns-read-zone "$W/$ZONE.zone" 2>/dev/null | grep -vc '^;')

axfr_once() { # PORT -> wall ns, and the record count in AXFR_RRS
	local t0 t1 out
	t0=$(date +%s%N)
	out=$($PIN_CLIENT kdig @127.0.0.1 -p "$1" +tcp +noall AXFR $ZONE +stats 2>&1)
	t1=$(date +%s%N)
	AXFR_RRS=$(printf '%s\n' "$out" | sed -n 's/.*Received .*(\([0-9]*\) messages\?, \([0-9]*\) records).*/\2/p')
	echo $((t1 - t0))
}

# measure_axfr LABEL PORT PID -> a row in $W/axfr
measure_axfr() {
	local i c0 c1 tot=0 best=0 ns
	axfr_once "$2" >/dev/null # warm-up
	c0=$(bench_cpu_ticks "$3")
	for ((i = 0; i < RUNS; i++)); do
		ns=$(axfr_once "$2")
		tot=$((tot + ns))
		[ "$best" = 0 ] || [ "$ns" -lt "$best" ] && best=$ns
	done
	c1=$(bench_cpu_ticks "$3")
	awk -v l="$1" -v t="$tot" -v b="$best" -v r="$RUNS" -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v rr="${AXFR_RRS:-?}" 'BEGIN {
		printf "%s\t%s\t%.1f\t%.1f\t%.1f\n", l, rr, t / r / 1e6, b / 1e6, d / hz / r * 1e3 }' >>"$W/axfr"
}

ixfr_once() { # PORT -> wall ms; the records received go to $W/ixfr-rrs
	local t0 t1 out
	t0=$(date +%s%N)
	out=$($PIN_CLIENT kdig @127.0.0.1 -p "$1" +tcp +noall IXFR=1 $ZONE +stats 2>&1)
	t1=$(date +%s%N)
	printf '%s\n' "$out" | sed -n 's/.*Received .*(\([0-9]*\) messages\?, \([0-9]*\) records).*/\2/p' >"$W/ixfr-rrs"
	awk -v n=$((t1 - t0)) 'BEGIN { printf "%.1f", n / 1e6 }'
}

: >"$W/axfr"
: >"$W/ixfr"

# ------------------------------------------------------------ plinkfwd
cat >"$W/p.conf" <<EOF
server:
    listen: 127.0.0.1@$PORT
    workers: 1
    cloud: none
    log-level: warning
zone: $ZONE
    file: $W/$ZONE.zone
    allow-transfer: 127.0.0.0/8
EOF
while read -r z f; do printf 'zone: %s\n    file: %s\n' "$z" "$f"; done <<<"$ZONES" >>"$W/p.conf"
bench_start_plinkfwd "$W/p.conf" || exit 1
measure_axfr plinkfwd "$PORT" "$SERVER_PID"

# axfr_loop SECONDS FILE: AXFRs 4 at a time back to back on CPU 0; the
# end of each complete one (ns) is appended to FILE
axfr_loop() {
	local end=$(($(date +%s) + $1)) i
	while [ "$(date +%s)" -lt "$end" ]; do
		for i in 1 2 3 4; do
			$PIN_CLIENT kdig @127.0.0.1 -p "$PORT" +tcp +noall AXFR $ZONE >/dev/null 2>&1 && date +%s%N >>"$2"
		done
	done
}
# the transfers alone, as long as a q1 row: the server's CPU ticks per AXFR
: >"$W/axfr-alone"
c0=$(bench_cpu_ticks "$SERVER_PID")
axfr_loop "$SECS" "$W/axfr-alone"
c1=$(bench_cpu_ticks "$SERVER_PID")
XFR_ALONE_N=$(wc -l <"$W/axfr-alone")
XFR_ALONE_TICKS=$((c1 - c0))

# q1 alone, then with 4 AXFRs back to back on CPU 0
q1() { # LABEL [AXFRS-IN-WINDOW]
	bench_dnsperf "$W/local.queries" "$W/local.queries" "q1-$1" plinkfwd
	local nx=0
	[ -n "${2:-}" ] && nx=$(awk -v a="$DP_NS0" -v b="$DP_NS1" '$1 >= a && $1 <= b { n++ } END { print n + 0 }' "$2")
	awk -v l="$1" -v c="${DP_COMPLETED:-0}" -v q="${DP_QPS:-0}" -v lat="${DP_LAT:-0}" -v d="$DP_TICKS" -v hz="$CLK_TCK" \
		-v nx="$nx" -v xn="$XFR_ALONE_N" -v xt="$XFR_ALONE_TICKS" 'BEGIN {
		net = d - ((xn > 0) ? nx * xt / xn : 0)
		printf "%s\t%.0f\t%.1f\t%.2f\t%d\t%.2f\n", l, q, lat * 1e6, (c > 0) ? d / hz / c * 1e6 : 0, nx,
			(c > 0) ? net / hz / c * 1e6 : 0 }' >>"$W/q1"
}
: >"$W/q1"
q1 "no transfers"
: >"$W/axfr-beside"
axfr_loop $((SECS + 3)) "$W/axfr-beside" &
XPID=$!
q1 "4 AXFRs back to back" "$W/axfr-beside"
kill "$XPID" 2>/dev/null
wait "$XPID" 2>/dev/null
RATE=${BENCH_XFR_QPS:-20000}
DP_ARGS="-Q $RATE" q1 "at $RATE qps, no transfers"
: >"$W/axfr-beside"
axfr_loop $((SECS + 3)) "$W/axfr-beside" &
XPID=$!
DP_ARGS="-Q $RATE" q1 "at $RATE qps, 4 AXFRs back to back" "$W/axfr-beside"
kill "$XPID" 2>/dev/null
wait "$XPID" 2>/dev/null

# IXFR of 10 changes: the new version, then IXFR from serial 1
cp "$W/zone-2" "$W/$ZONE.zone"
kill -HUP "$SERVER_PID"
for i in $(seq 1 100); do
	[ "$(dig @127.0.0.1 -p "$PORT" +short $ZONE SOA | awk '{ print $3 }')" = 2 ] && break
	sleep 0.1
done
c0=$(bench_cpu_ticks "$SERVER_PID")
ms=$(ixfr_once "$PORT")
c1=$(bench_cpu_ticks "$SERVER_PID")
printf 'plinkfwd\t%s\t%s\t%.1f\n' "$(cat "$W/ixfr-rrs")" "$ms" "$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { print d / hz * 1e3 }')" >>"$W/ixfr"
bench_stop_server

# ------------------------------------------------------------ Knot
cp "$W/zone-1" "$W/$ZONE.zone"
mkdir -p "$W/knot"
cat >"$W/knot/knot.conf" <<EOF
server:
    rundir: "$W/knot"
    listen: 127.0.0.1@$KPORT
    background-workers: 1
    udp-workers: 1
    tcp-workers: 1
database:
    storage: "$W/knot"
acl:
  - id: xfr
    address: 127.0.0.0/8
    action: transfer
template:
  - id: default
    storage: "$W/knot"
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
    acl: xfr
zone:
  - domain: $ZONE
    file: "$W/$ZONE.zone"
EOF
$PIN_SERVER knotd -c "$W/knot/knot.conf" >"$W/knot/knot.log" 2>&1 &
KPID=$!
PIDS+=("$KPID")
bench_wait_dns 127.0.0.1 "$KPORT" || exit 1
for i in $(seq 1 100); do
	[ "$(dig @127.0.0.1 -p "$KPORT" +short $ZONE SOA | awk '{ print $3 }')" = 1 ] && break
	sleep 0.1
done
measure_axfr knot "$KPORT" "$KPID"
cp "$W/zone-2" "$W/$ZONE.zone"
knotc -c "$W/knot/knot.conf" zone-reload $ZONE >/dev/null 2>&1
for i in $(seq 1 100); do
	[ "$(dig @127.0.0.1 -p "$KPORT" +short $ZONE SOA | awk '{ print $3 }')" = 2 ] && break
	sleep 0.1
done
c0=$(bench_cpu_ticks "$KPID")
ms=$(ixfr_once "$KPORT")
c1=$(bench_cpu_ticks "$KPID")
printf 'knot\t%s\t%s\t%.1f\n' "$(cat "$W/ixfr-rrs")" "$ms" "$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { print d / hz * 1e3 }')" >>"$W/ixfr"
kill "$KPID" 2>/dev/null
wait "$KPID" 2>/dev/null

# ------------------------------------------------------------ report
{
	bench_header "Zone transfers: AXFR of $RR records, IXFR of 10 changes, q1 during transfers" "; Knot $(knotd -V 2>&1 | sed -n 's/.*version //p')"
	echo "- AXFR: $RUNS transfers per server with kdig over TCP after one warm-up; IXFR: one transfer"
	echo "- CPU times come in clock ticks of $((1000 / CLK_TCK)) ms: a single IXFR reads 0 when it took less than one"
	echo
	echo "| AXFR | records | mean wall ms | best wall ms | server CPU ms per AXFR |"
	echo "|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$W/axfr"
	awk -F'\t' '{ w[$1] = $3; c[$1] = $5 } END { if (w["knot"] > 0 && c["knot"] > 0)
		printf "\nplinkfwd / Knot: wall %.2fx, CPU %.2fx (goal: wall at most 1.2x)\n", w["plinkfwd"] / w["knot"], c["plinkfwd"] / c["knot"] }' "$W/axfr"
	echo
	echo "| IXFR from serial 1 (10 records changed) | records | wall ms | server CPU ms |"
	echo "|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$W/ixfr"
	echo
	awk -v n="$XFR_ALONE_N" -v t="$XFR_ALONE_TICKS" -v hz="$CLK_TCK" -v s="$SECS" 'BEGIN {
		printf "AXFRs alone for %d s: %d transfers, server CPU %.0f ms, %.2f ms per AXFR\n\n", s, n, t / hz * 1e3, (n > 0) ? t / hz / n * 1e3 : 0 }'
	echo "| q1: plinkfwd, demo zones | qps | mean latency µs | server CPU µs per answer | AXFRs in the window | net CPU µs per answer |"
	echo "|---|---|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$W/q1"
	awk -F'\t' '{ a[NR] = $4; n[NR] = $6; l[NR] = $3 } END {
		if (a[1] > 0) printf "\nCPU per answer during transfers / without, as fast as dnsperf goes: %.2fx with the transfers'"'"' own CPU, %.2fx net of it\n", a[2] / a[1], n[2] / a[1]
		if (a[3] > 0 && l[3] > 0) printf "At a fixed rate: %.2fx with, %.2fx net of the transfers'"'"' CPU (goal: at most 1.10x); latency %.2fx\n", a[4] / a[3], n[4] / a[3], l[4] / l[3] }' "$W/q1"
} | tee "$OUT/xfr.md"
