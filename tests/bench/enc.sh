# enc.sh -- DNS over TLS and DNS over HTTPS: dnsperf -m dot / -m doh against
# plinkfwd and unbound (make bench), and the cost of a TLS handshake.
#
# Two workloads, each against plinkfwd (workers: 1) and unbound
# (num-threads: 1, tls-port / https-port), over DoT and over DoH (HTTP/2,
# GET, dnsperf's default):
#   local    the demo zones (the same queries as run.sh's local workload);
#   cached   1000 names forwarded to NSD, answered from the cache (a 2 s
#            warm-up on the same names fills it first).
# dnsperf opens BENCH_CLIENTS connections and keeps them for the whole run:
# these rows are the cost of a query on an open connection.  The handshake
# is measured apart with openssl s_time against the DoT port: full TLS 1.3
# handshakes (-new) and resumed ones (-reuse, on TLS 1.2: s_time never reads
# the tickets TLS 1.3 sends after the handshake), the server's CPU time per
# connection.  Same certificate for both servers: ECDSA P-256, made here.
#
# Allocations: each server runs with tests/bench/malloc_count.c preloaded
# (built here with cc), which counts every malloc, calloc, realloc and
# aligned allocation of the process in a shared counter file; a row reports
# the count over the measured run divided by the answers, i.e. allocations
# per answer on an open connection (0 is the goal: docs/performance.md).
#
# Pinning, CPU accounting and environment as in run.sh (lib.sh).  Results:
# markdown on stdout and in $BENCH_OUT/results-enc.md.

set -u
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BENCH_TRANSPORT="DoT or DoH as the row says"
bench_init enc.sh "dnsperf and openssl s_time on CPU 0, server on CPU 1, NSD on CPU 0" \
	dnsperf unbound nsd ldns-read-zone taskset openssl cc od

DOT_PORT=5853
DOH_PORT=5443

bench_local_queries || exit 1

# ------------------------------------------------------------ allocation counter
MC_SO=$W/malloc_count.so
MC_FILE=$W/malloc-count
cc -shared -fPIC -O2 -o "$MC_SO" "$BENCH_DIR/malloc_count.c" >>"$W/cc.log" 2>&1 ||
	{ echo "enc.sh: cc could not build malloc_count.so" >&2; exit 1; }
# the server starts through env, which sets the preload for it alone
PIN_SERVER="env LD_PRELOAD=$MC_SO PLINKFWD_MALLOC_COUNT=$MC_FILE $PIN_SERVER"
mc_get() { od -An -tu8 -N8 "$MC_FILE" 2>/dev/null | tr -d ' ' || echo 0; }

# ------------------------------------------------------------ certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$W/key.pem" -out "$W/cert.pem" >>"$W/openssl.log" 2>&1 ||
	{ echo "enc.sh: openssl could not make a certificate" >&2; exit 1; }

# ------------------------------------------------------------ measuring
# enc_measure WORKLOAD SERVER MODE FILE  -> a row in $W/rows
enc_measure() {
	local wl=$1 server=$2 mode=$3 file=$4 t0 t1 m0 m1 fail port=$DOT_PORT opts=()
	if [ "$mode" = doh ]; then
		port=$DOH_PORT
		opts=(-O "doh-uri=https://127.0.0.1:$DOH_PORT/dns-query")
	fi
	# warm-up: the cache, the connections' first handshakes, page faults
	$PIN_CLIENT dnsperf -m "$mode" -s 127.0.0.1 -p "$port" "${opts[@]}" -d "$file" -l 2 -c "$CLIENTS" \
		>/dev/null 2>&1
	m0=$(mc_get)
	t0=$(bench_cpu_ticks "$SERVER_PID")
	DP_OUT=$($PIN_CLIENT dnsperf -m "$mode" -s 127.0.0.1 -p "$port" "${opts[@]}" -d "$file" -l "$SECS" \
		-c "$CLIENTS" 2>&1)
	t1=$(bench_cpu_ticks "$SERVER_PID")
	m1=$(mc_get)
	printf '%s\n' "$DP_OUT" >"$OUT/dnsperf-$wl-$mode-$server.txt"
	bench_dnsperf_parse "$DP_OUT"
	fail=$(printf '%s\n' "$DP_OUT" | sed -n 's/.*Response codes: *//p' | tr ',' '\n' |
		awk '$1 != "NOERROR" && $1 != "NXDOMAIN" { n += $2 } END { print n + 0 }')
	awk -v w="$wl" -v m="$mode" -v s="$server" -v c="${DP_COMPLETED:-0}" -v lo="${DP_LOST:-?}" \
		-v q="${DP_QPS:-0}" -v lat="${DP_LAT:-0}" -v f="$fail" -v d="$((t1 - t0))" -v hz="$CLK_TCK" \
		-v secs="$SECS" -v ma="$((m1 - m0))" 'BEGIN {
		cpu = (c - f > 0) ? d / hz / (c - f) * 1e6 : 0
		al = (c > 0) ? ma / c : 0
		printf "%s\t%s\t%s\t%.0f\t%.1f\t%.2f\t%d\t%s\t%d\t%.0f%%\t%.3f\n", w, m, s, q, lat * 1e6, cpu, c, lo, f, d / hz / secs * 100, al
	}' >>"$W/rows"
}

# enc_handshake SERVER KIND  (KIND: new or reuse) -> a row in $W/hs
enc_handshake() {
	local server=$1 kind=$2 t0 t1 m0 m1 out n
	m0=$(mc_get)
	t0=$(bench_cpu_ticks "$SERVER_PID")
	# s_time reads nothing after a handshake, so it never gets TLS 1.3's
	# tickets (sent after the handshake): resumption is measured on TLS 1.2
	if [ "$kind" = reuse ]; then
		out=$($PIN_CLIENT openssl s_time -connect "127.0.0.1:$DOT_PORT" -reuse -tls1_2 -time "$SECS" 2>&1)
	else
		out=$($PIN_CLIENT openssl s_time -connect "127.0.0.1:$DOT_PORT" -new -time "$SECS" 2>&1)
	fi
	t1=$(bench_cpu_ticks "$SERVER_PID")
	m1=$(mc_get)
	printf '%s\n' "$out" >"$OUT/s_time-$kind-$server.txt"
	n=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' | tail -n 1)
	awk -v s="$server" -v k="$kind" -v n="${n:-0}" -v d="$((t1 - t0))" -v hz="$CLK_TCK" -v secs="$SECS" \
		-v ma="$((m1 - m0))" 'BEGIN {
		printf "%s\t%s\t%d\t%.0f\t%.1f\t%.0f%%\t%.0f\n", s, k, n, n / secs, n ? d / hz / n * 1e6 : 0, d / hz / secs * 100, n ? ma / n : 0
	}' >>"$W/hs"
}

: >"$W/rows"
: >"$W/hs"

# ------------------------------------------------------------ NSD for the cached workload
mkdir -p "$W/nsd"
{
	bench_nsd_conf "$W/nsd" "$NSD_ADDR"
	printf 'zone:\n    name: forward.test\n    zonefile: "%s"\n' "$BENCH_DIR/forward.test.zone"
} >"$W/nsd/nsd.conf"
bench_start_nsd nsd "$W/nsd" "$NSD_ADDR" || exit 1

# ------------------------------------------------------------ plinkfwd
{
	cat <<EOF
server:
    listen: 127.0.0.1@$PORT
    listen-tls: 127.0.0.1@$DOT_PORT
    listen-https: 127.0.0.1@$DOH_PORT
    tls-cert: $W/cert.pem
    tls-key: $W/key.pem
    workers: 1
    cloud: none
    log-level: warning
    upstream-max-qps: 0
    upstream-max-outstanding: 0
upstream: default
    server: $NSD_ADDR@$NSD_PORT
EOF
	while read -r z f; do printf 'zone: %s\n    file: %s\n' "$z" "$f"; done <<<"$ZONES"
} >"$W/plinkfwd.conf"
if bench_start_plinkfwd "$W/plinkfwd.conf"; then
	for mode in dot doh; do
		enc_measure local plinkfwd "$mode" "$W/local.queries"
		enc_measure cached plinkfwd "$mode" "$BENCH_DIR/forward.queries"
	done
	enc_handshake plinkfwd new
	enc_handshake plinkfwd reuse
fi
bench_stop_server

# ------------------------------------------------------------ unbound
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
if bench_start_unbound "server:
    interface: 127.0.0.1@$DOT_PORT
    interface: 127.0.0.1@$DOH_PORT
    tls-port: $DOT_PORT
    https-port: $DOH_PORT
    tls-service-key: \"$W/key.pem\"
    tls-service-pem: \"$W/cert.pem\"
    http-endpoint: \"/dns-query\"
    incoming-num-tcp: 64
$auth
forward-zone:
    name: \"forward.test\"
    forward-addr: $NSD_ADDR@$NSD_PORT"; then
	for mode in dot doh; do
		enc_measure local unbound "$mode" "$W/local.queries"
		enc_measure cached unbound "$mode" "$BENCH_DIR/forward.queries"
	done
	enc_handshake unbound new
	enc_handshake unbound reuse
fi
bench_stop_server

# ------------------------------------------------------------ report
{
	bench_header "plinkfwd vs unbound over DoT and DoH, dnsperf on loopback" \
		"; dnsperf $(dnsperf -h 2>&1 | sed -n 's/^Version //p'); $(openssl version)"
	echo "- local: $(wc -l <"$W/local.queries") queries from the demo zones; cached: 1000 names forwarded to NSD, answered from the cache"
	echo "- connections: dnsperf -c $CLIENTS opens $CLIENTS connections and keeps them (one handshake each, during the warm-up); DoH is HTTP/2 GET"
	echo
	echo "| workload | transport | server | QPS | avg latency (µs) | server CPU per answer (µs) | completed | lost | errors | server CPU busy | allocations per answer |"
	echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$W/rows"
	echo
	echo "| workload, transport: plinkfwd / unbound | QPS ratio | CPU per answer ratio |"
	echo "|---|---:|---:|"
	awk -F'\t' '
		{ qps[$1 "/" $2 "/" $3] = $4; cpu[$1 "/" $2 "/" $3] = $6 }
		END {
			n = split("local/dot cached/dot local/doh cached/doh", ref, " ")
			for (i = 1; i <= n; i++) {
				a = ref[i] "/plinkfwd"; b = ref[i] "/unbound"
				if (!(a in qps) || !(b in qps) || qps[b] == 0 || cpu[b] == 0) continue
				split(ref[i], p, "/")
				printf "| %s, %s | %.2f | %.2f |\n", p[1], p[2], qps[a] / qps[b], cpu[a] / cpu[b]
			}
		}' "$W/rows"
	echo
	echo "TLS handshakes on the DoT port (openssl s_time, ${SECS} s, one connection at a time, no query):"
	echo
	echo "| server | handshake | connections | per second | server CPU per connection (µs) | server CPU busy | allocations per connection |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, ($2 == "new" ? "full (TLS 1.3, ECDHE + ECDSA P-256)" : "resumed (TLS 1.2 session ticket)"), $3, $4, $5, $6, $7 }' "$W/hs"
	echo
	echo "\"server CPU busy\" well below 100% means the one dnsperf (or s_time) CPU set the pace, not"
	echo "the server: compare CPU per answer (per connection) then.  \"allocations per answer\": every"
	echo "allocation of the server process during the measured run (malloc_count.c preloaded), divided"
	echo "by the answers."
} | tee "$OUT/results-enc.md"
